// An in-memory relay that speaks protocol v1 like server/src/conn.rs, for
// testing the phone's sync without a network: per-device logs with
// idempotent appends, snapshots, live forwarding, and knobs to misbehave.
// Like the real relay, it answers `unknown_vault` to a token no vault has
// (after `wipe()`, say), registers a vault on `register: true` (by invite
// when `invites` is set), names the vault of a hello by key, and refuses a
// snapshot that claims more than it holds.
import { bytesToHex, derive, tokenHash } from "../src/crypto";
import type { Dial } from "../src/sync";
import { decode, encode, type Frame, type WireRecord, type WireSnapshot } from "../src/wire";

interface Peer {
  device: string;
  live: boolean;
  deliver: (f: Frame) => void;
  close: (reason: string) => void;
}

export class FakeRelay {
  logs = new Map<string, WireRecord[]>();
  snapshot: WireSnapshot | null = null;
  peers = new Set<Peer>();
  appends: WireRecord[] = [];
  /** Drop the connection instead of acknowledging the next append (after storing it). */
  dropBeforeAck = false;
  /** Records sent in reply to sync in place of the real backlog. */
  forgedBacklog: WireRecord[] | null = null;
  reachable = true;
  /** Serve at most this seq of a device's log, live or not: a relay that lost or withholds the rest. */
  withhold: Record<string, number> = {};
  /** In reply to the next sync, send only this many backlog records, one per frame, then drop the connection. */
  cutAfter: number | null = null;
  /** Whether the vault is registered here; `wipe()` forgets it. */
  registered = true;
  /** Registration by invite: the codes it takes (each once); `null`: open. */
  invites: Set<string> | null = null;
  /** Every hello, as the relay saw it. */
  hellos: Extract<Frame, { type: "hello" }>[] = [];
  private tokenHash: string;

  constructor(
    readonly vault: string,
    vaultKey: Uint8Array,
  ) {
    this.tokenHash = bytesToHex(tokenHash(derive(vaultKey).token));
  }

  /** Deletes everything, as `rm -r` of the relay's data and a restart would. */
  wipe(): void {
    this.dropAll();
    this.logs.clear();
    this.snapshot = null;
    this.registered = false;
  }

  /** Keeps only the first `n` records of `device`'s log, as a relay restored from an older backup. */
  truncate(device: string, n: number): void {
    this.dropAll();
    this.logs.set(device, (this.logs.get(device) ?? []).slice(0, n));
  }

  /** The last seq held of each device. */
  held(): Record<string, number> {
    return Object.fromEntries([...this.logs].map(([d, log]) => [d, log.length]));
  }

  /** What another device appends, forwarded to live subscribers. */
  store(r: WireRecord): void {
    const log = this.logs.get(r.device) ?? [];
    log.push(r);
    this.logs.set(r.device, log);
    if (this.serves(r)) this.forward(r);
  }

  private serves(r: WireRecord): boolean {
    return r.seq <= (this.withhold[r.device] ?? Infinity);
  }

  private forward(r: WireRecord): void {
    for (const p of this.peers) if (p.live && p.device !== r.device) p.deliver({ type: "records", records: [r] });
  }

  /** Serves a withheld log again, forwarding what was held back to live subscribers. */
  release(device: string): void {
    const from = this.withhold[device] ?? Infinity;
    delete this.withhold[device];
    for (const r of this.logs.get(device) ?? []) if (r.seq > from) this.forward(r);
  }

  dial(): Dial {
    return async (onBytes, onClose) => {
      if (!this.reachable) throw new Error("could not reach the relay");
      let peer: Peer | null = null;
      const send = (f: Frame) => queueMicrotask(() => onBytes(encode(f)));
      const close = (reason: string) => {
        if (peer) this.peers.delete(peer);
        queueMicrotask(() => onClose(reason));
      };
      const handle = (f: Frame) => {
        if (!peer) {
          if (f.type !== "hello") return close("bad_frame");
          this.hellos.push(f);
          const ours = bytesToHex(tokenHash(f.token)) === this.tokenHash;
          const byKey = f.vault === "_by_key";
          if (!this.registered && ours && f.register && f.vault === this.vault) {
            if (this.invites && !(f.invite && this.invites.delete(f.invite))) {
              send({ type: "error", code: "unauthorized", message: "this relay registers vaults by invite: ask its operator for a code" });
              return close("unauthorized");
            }
            this.registered = true;
          }
          if (!this.registered || !ours) {
            send({ type: "error", code: "unknown_vault", message: "this relay holds no vault with this key" });
            return close("unknown_vault");
          }
          if (!byKey && f.vault !== this.vault) {
            send({ type: "error", code: "unauthorized", message: "unknown vault or wrong token" });
            return close("unauthorized");
          }
          peer = { device: f.device, live: false, deliver: send, close };
          this.peers.add(peer);
          const devices = Object.entries(this.held()).map(([device, last_seq]) => ({ device, last_seq, last_seen: 0 }));
          if (!devices.some((d) => d.device === f.device)) devices.push({ device: f.device, last_seq: 0, last_seen: 0 });
          return send({ type: "welcome", version: 1, capabilities: ["snapshot", "live"], devices, ...(byKey ? { vault: this.vault } : {}) });
        }
        switch (f.type) {
          case "append": {
            const log = this.logs.get(f.record.device) ?? [];
            const have = log[f.record.seq - 1];
            if (have) {
              if (bytesToHex(have.payload) !== bytesToHex(f.record.payload)) {
                send({ type: "error", code: "device_id_reused", message: "reused" });
                return close("reused");
              }
            } else if (f.record.seq !== log.length + 1) {
              send({ type: "error", code: "out_of_order", message: `expected record ${log.length + 1}` });
              return close("out_of_order");
            } else {
              this.appends.push(f.record);
              this.store(f.record);
            }
            if (this.dropBeforeAck) {
              this.dropBeforeAck = false;
              return close("dropped");
            }
            return send({ type: "ack", device: f.record.device, seq: f.record.seq });
          }
          case "sync": {
            peer.live = f.live;
            const covers = f.want_snapshot && this.snapshot ? this.snapshot.covers : {};
            if (f.want_snapshot && this.snapshot) send({ type: "snapshot", snapshot: this.snapshot });
            const backlog =
              this.forgedBacklog ??
              [...this.logs.values()]
                .flat()
                .filter((r) => r.device !== peer!.device && this.serves(r) && r.seq > Math.max(f.cursors[r.device] ?? 0, covers[r.device] ?? 0));
            if (this.cutAfter !== null) {
              const n = this.cutAfter;
              this.cutAfter = null;
              for (const r of backlog.slice(0, n)) send({ type: "records", records: [r] });
              return close("cut off");
            }
            if (backlog.length) send({ type: "records", records: backlog });
            return send({ type: "caught_up" });
          }
          case "snapshot": {
            const held = this.held();
            const beyond = Object.entries(f.snapshot.covers).find(([d, seq]) => seq > (held[d] ?? 0));
            if (beyond) {
              send({ type: "error", code: "snapshot_refused", message: `the snapshot claims to cover record ${beyond[1]} of device ${beyond[0]}` });
              return close("snapshot_refused");
            }
            this.snapshot = f.snapshot;
            return send({ type: "snapshot_ack", id: f.snapshot.id });
          }
          default:
            return close("bad_frame");
        }
      };
      return {
        send: (b) => queueMicrotask(() => handle(decode(b))),
        close: () => close("closed by the client"),
      };
    };
  }

  /** Closes every connection, as a relay restart would. */
  dropAll(): void {
    for (const p of [...this.peers]) p.close("the relay went away");
  }
}
