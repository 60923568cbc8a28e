//! `sync`, `pair`, `join` and `devices`: the network commands. The rest of
//! the CLI never touches the network; these start a small tokio runtime of
//! their own.

use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use interlog_core::crypto::VaultKey;
use interlog_core::store::SledStorage;
use interlog_core::sync::{
    self, device_name, JoinCode, LastSync, Membership, Session, SyncError, SyncState,
};
use interlog_core::tls::{self, Pin};
use interlog_core::ReadJournal as _;
use serde_json::json;

use super::Ctx;
use crate::args::{SyncArgs, SyncCmd};
use crate::home::{self, DeviceVault, Home};
use crate::{lending, out};

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the network runtime")
}

/// What `sync`'s flags say about the relay: its URL, how to trust it, and
/// the invite to register with (without the pin it may carry).
#[derive(Default)]
struct RelayFlags {
    url: Option<String>,
    /// `--pin`; `Some(None)`: back to the CA roots (`--pin none`).
    pin: Option<Option<Pin>>,
    /// The pin an invite code carried: trusted only by a device that has
    /// no relay yet, so a code cannot move a device to another key.
    invite_pin: Option<Pin>,
    invite: Option<String>,
    /// Whether the plaintext warning was printed (once per command).
    warned: std::cell::Cell<bool>,
}

impl RelayFlags {
    fn of(a: &SyncArgs) -> Result<RelayFlags> {
        let (invite, invite_pin) = match &a.invite {
            Some(code) => {
                let (code, pin) = tls::split_invite(code)?;
                (Some(code), pin)
            }
            None => (None, None),
        };
        let pin = match a.pin.as_deref() {
            Some("none") => Some(None),
            Some(pin) => Some(Some(pin.parse::<Pin>()?)),
            None => None,
        };
        Ok(RelayFlags {
            url: a.relay.clone(),
            pin,
            invite_pin,
            invite,
            warned: Default::default(),
        })
    }
}

/// The membership to sync with, and whether `--relay` or `--pin` changed
/// it. A change is remembered only once the relay has answered
/// ([`Chosen::remember`]): a mistyped URL or a wrong pin must not replace a
/// relay that works.
struct Chosen {
    m: Membership,
    changed: bool,
}

impl Chosen {
    /// Saves a changed relay or pin to the key file, once the relay answered.
    fn remember(&mut self, ctx: &Ctx) -> Result<()> {
        if self.changed {
            self.m.save(&home::key_file(&ctx.home))?;
            self.changed = false;
        }
        Ok(())
    }
}

/// The device's membership, set up from `--relay` (and `--pin`) on the first
/// sync, or as the key file has it, with the flags' changes not yet saved.
fn choose(ctx: &Ctx, vault_id: &str, flags: &RelayFlags) -> Result<Chosen> {
    let path = home::key_file(&ctx.home);
    let chosen = match (Membership::load(&path)?, &flags.url) {
        (None, None) => return Err(SyncError::NotConfigured.into()),
        (None, Some(url)) => {
            // A new vault key is saved at once: once the relay has seen it
            // (a registration), losing it would lock this device out.
            let m = Membership {
                relay: url.clone(),
                pin: flags.pin.unwrap_or(flags.invite_pin),
                vault: vault_id.to_string(),
                key: VaultKey::generate()?,
            };
            m.save(&path)?;
            Chosen { m, changed: false }
        }
        (Some(mut m), url) => {
            let relay = url.clone().unwrap_or_else(|| m.relay.clone());
            // Another relay has another key: its pin must be given anew.
            let kept = if relay == m.relay { m.pin } else { None };
            let pin = flags.pin.unwrap_or(kept);
            let changed = (&relay, pin) != (&m.relay, m.pin);
            (m.relay, m.pin) = (relay, pin);
            Chosen { m, changed }
        }
    };
    if chosen.m.vault != vault_id {
        bail!(
            "the key file {} is for vault {}, but this device holds vault {vault_id}; nothing was sent. Move the key file aside, or use the home that matches it",
            path.display(),
            chosen.m.vault,
        );
    }
    if let Some(warning) = sync::plaintext_warning(&chosen.m.relay) {
        if !flags.warned.replace(true) {
            out::warn(&warning);
        }
    }
    Ok(chosen)
}

/// The device's membership as the key file has it.
fn membership(ctx: &Ctx, vault_id: &str) -> Result<Membership> {
    Ok(choose(ctx, vault_id, &RelayFlags::default())?.m)
}

/// How long a one-shot sync waits for the relay to make progress:
/// `sync::STALL`, or `INTERLOG_SYNC_STALL_SECS` (for tests).
fn stall() -> Duration {
    std::env::var("INTERLOG_SYNC_STALL_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(sync::STALL, Duration::from_secs)
}

/// Opens the store of the vault in this home, for a sync that opens it
/// only when it must.
fn store_opener(ctx: &Ctx) -> impl FnMut() -> Result<SledStorage, SyncError> {
    let home = ctx.home.clone();
    move || {
        home.open_store()
            .map(|(storage, _)| storage)
            .map_err(|e| SyncError::Other(format!("{e:#}")))
    }
}

/// A one-shot sync of the vault in this home (see `sync::run`): the store
/// is open only while the sync works on it locally, so other commands run
/// meanwhile. Remembers a changed relay once it answered, and records the
/// outcome for `sync status`.
fn one_shot(
    ctx: &Ctx,
    flags: &RelayFlags,
    force_snapshot: bool,
) -> Result<(Membership, sync::Report)> {
    let mut device = sync::OnDisk::new(home::store_path(&ctx.home), store_opener(ctx));
    let mut chosen = choose(ctx, &device.vault_id()?, flags)?;
    let options = sync::Options {
        invite: flags.invite.clone(),
        force_snapshot,
        stall: stall(),
        ..sync::Options::default()
    };
    let result = runtime()?.block_on(sync::run(&mut device, &chosen.m, options));
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            LastSync::record(&ctx.home, Some(e.to_string()));
            return Err(e.into());
        }
    };
    chosen.remember(ctx)?;
    LastSync::record(&ctx.home, None);
    Ok((chosen.m, report))
}

pub fn sync(ctx: &Ctx, a: SyncArgs) -> Result<()> {
    match &a.action {
        Some(SyncCmd::Status) => return status(ctx),
        Some(SyncCmd::Move { url, pin, invite }) => {
            return move_relay(ctx, url, pin.as_deref(), invite.as_deref())
        }
        None => {}
    }
    let flags = RelayFlags::of(&a)?;
    if a.watch {
        let rt = runtime()?;
        let mut chosen = {
            let v = ctx.open()?;
            choose(ctx, &v.vault_id(), &flags)?
        };
        return rt.block_on(async {
            tokio::select! {
                r = watch(ctx, &mut chosen, flags.invite) => r,
                _ = tokio::signal::ctrl_c() => Ok(()),
            }
        });
    }
    let (m, report) = one_shot(ctx, &flags, false)?;
    print_sync(ctx, &m, &report)?;
    remind_words(ctx);
    let Some(to) = report.moved_to else {
        return Ok(());
    };
    if flags.url.is_some() {
        // The user chose this relay over the one the journal names: the
        // journal names it now, and the other devices follow.
        record_relay(ctx, &m.relay, m.pin.map(|p| p.to_string()).as_deref())?;
        let (m, report) = one_shot(ctx, &RelayFlags::default(), false)?;
        return print_sync(ctx, &m, &report);
    }
    // Another device moved the vault: follow it, once.
    out::note(&format!(
        "this vault moved to {} (`interlog sync move` on another device); syncing there",
        out::safe(&to.relay)
    ));
    let follow = RelayFlags {
        url: Some(to.relay.clone()),
        pin: Some(to.pin.as_deref().map(str::parse::<Pin>).transpose()?),
        ..RelayFlags::default()
    };
    let (m, report) = one_shot(ctx, &follow, false).with_context(|| {
        format!(
            "could not sync with the relay this vault moved to ({}); this device still syncs with {} until then",
            out::safe(&to.relay),
            out::safe(&m.relay)
        )
    })?;
    print_sync(ctx, &m, &report)
}

/// Prints what a one-shot sync did, and its warnings.
fn print_sync(ctx: &Ctx, m: &Membership, report: &sync::Report) -> Result<()> {
    if ctx.json {
        return out::json(report);
    }
    println!(
        "synced with {}: sent {} change record(s), received {}{}",
        out::safe(&m.relay),
        report.pushed,
        report.pulled,
        if report.snapshot_uploaded {
            ", uploaded a snapshot"
        } else {
            ""
        }
    );
    for w in report.warnings() {
        out::warn(&w);
    }
    Ok(())
}

/// Records in the journal where the vault's devices meet from now on.
fn record_relay(ctx: &Ctx, url: &str, pin: Option<&str>) -> Result<()> {
    let mut v = ctx.open()?;
    v.doc.set_relay(url, pin)?;
    ctx.save(&mut v, "the vault moved to another relay")
}

/// `interlog sync move URL`: registers the vault on the new relay with
/// everything this device has, and records the new address in the journal
/// (sent to the old relay first, so the devices that still sync there
/// follow).
pub fn move_relay(ctx: &Ctx, url: &str, pin: Option<&str>, invite: Option<&str>) -> Result<()> {
    let args = SyncArgs {
        relay: Some(url.to_string()),
        invite: invite.map(str::to_string),
        pin: pin.map(str::to_string),
        watch: false,
        action: None,
    };
    let to = RelayFlags::of(&args)?;
    let pin = match &to.pin {
        Some(p) => *p,
        None => to.invite_pin,
    };
    let old = {
        let v = ctx.open()?;
        membership(ctx, &v.vault_id())?
    };
    if old.relay == url {
        bail!(
            "this vault already syncs with {}; nothing was changed",
            out::safe(url)
        );
    }
    record_relay(ctx, url, pin.map(|p| p.to_string()).as_deref())?;
    // The old relay first, so the devices still syncing there learn where
    // the vault went. One that is gone is not needed: the new relay gets
    // everything anyway.
    let told_old = match one_shot(ctx, &RelayFlags::default(), false) {
        Ok(_) => true,
        Err(e) => {
            out::warn(&format!(
                "could not tell the old relay ({e:#}); devices that sync only with it will not follow by themselves: run `interlog sync --relay {}` on them",
                out::safe(url)
            ));
            false
        }
    };
    let to = RelayFlags {
        pin: Some(pin),
        ..to
    };
    let (m, report) = one_shot(ctx, &to, false)?;
    if ctx.json {
        return out::json(&json!({"relay": m.relay, "told_old_relay": told_old, "sync": report}));
    }
    println!(
        "Moved to {}: {}; the other devices and the phone switch at their next sync{}.",
        out::safe(&m.relay),
        if report.reseeded {
            "registered the vault there with everything this device has"
        } else {
            "the vault was already there"
        },
        if told_old {
            format!(" with {}", out::safe(&old.relay))
        } else {
            String::new()
        }
    );
    for w in report.warnings() {
        out::warn(&w);
    }
    Ok(())
}

/// Stays connected, reconnecting with backoff; Ctrl-C stops it.
async fn watch(ctx: &Ctx, chosen: &mut Chosen, invite: Option<String>) -> Result<()> {
    let mut backoff = Duration::from_millis(250);
    let mut invite = invite;
    let mut wake = lending::marker_wakeups(&ctx.home);
    let lender = lending::Lender::bind(&ctx.home)?;
    loop {
        let started = std::time::Instant::now();
        let err = match watch_once(ctx, chosen, invite.take(), &mut wake, &lender).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        LastSync::record(&ctx.home, Some(format!("{err:#}")));
        // Problems that retrying cannot fix stop the watch.
        if err
            .downcast_ref::<SyncError>()
            .is_some_and(SyncError::is_permanent)
        {
            return Err(err);
        }
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_millis(250);
        }
        out::warn(&format!(
            "{err:#}; retrying in {:.1}s",
            backoff.as_secs_f64()
        ));
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

fn changed_at(ctx: &Ctx) -> Option<SystemTime> {
    std::fs::metadata(home::changed_marker(&ctx.home))
        .and_then(|m| m.modified())
        .ok()
}

/// The device's side of `sync --watch` (see `sync::Local`): the vault,
/// kept loaded throughout, with its store open between events and lent to
/// any command that asks for it (without a lender, closed after each event
/// instead); the `changed` marker that says a command wrote; and what to
/// print.
struct Watcher<'a, F: FnMut() -> Result<SledStorage, SyncError>> {
    ctx: &'a Ctx,
    chosen: &'a mut Chosen,
    store: sync::Reopening<SledStorage, F>,
    lender: &'a lending::Lender,
    borrower: Option<lending::Borrower>,
    wake: &'a mut tokio::sync::mpsc::Receiver<()>,
    tick: tokio::time::Interval,
    seen: Option<SystemTime>,
}

impl<F: FnMut() -> Result<SledStorage, SyncError>> sync::Local<SledStorage> for Watcher<'_, F> {
    fn vault(&mut self) -> Result<&mut DeviceVault, SyncError> {
        self.store.vault()
    }

    fn release(&mut self) {
        self.store.release()
    }

    async fn wait(&mut self) -> sync::Happened {
        let Watcher {
            ctx,
            lender,
            borrower,
            wake,
            tick,
            seen,
            ..
        } = self;
        loop {
            let check = async {
                tokio::select! {
                    _ = tick.tick() => {}
                    Some(()) = wake.recv() => {}
                }
            };
            tokio::select! {
                b = lender.request(), if borrower.is_none() => {
                    *borrower = Some(b);
                    return sync::Happened::Asked;
                }
                staged = lending::returned(borrower) => {
                    *borrower = None;
                    return sync::Happened::Returned(staged);
                }
                () = check, if borrower.is_none() => {
                    let now = changed_at(ctx);
                    if now != *seen {
                        *seen = now;
                        return sync::Happened::Wrote;
                    }
                }
            }
        }
    }

    async fn lend(&mut self) {
        if let Some(b) = &mut self.borrower {
            b.lend().await;
        }
    }

    fn holds(&self) -> bool {
        self.lender.holds()
    }

    fn tell(&mut self, news: sync::News<'_>) -> Result<(), SyncError> {
        let ctx = self.ctx;
        let note = |what: String| {
            if !ctx.json {
                out::note(&what);
            }
        };
        match news {
            sync::News::CaughtUp(report) => {
                self.chosen
                    .remember(ctx)
                    .map_err(|e| SyncError::Other(format!("{e:#}")))?;
                for w in report.warnings() {
                    out::warn(&w);
                }
            }
            sync::News::Watching => {
                note(format!(
                    "watching {} for changes (Ctrl-C to stop)",
                    self.chosen.m.relay
                ));
                // Writes from now on are news.
                self.seen = changed_at(ctx);
                self.tick = tokio::time::interval(Duration::from_millis(50));
            }
            sync::News::Sent(n) => note(format!("sent {n} change record(s)")),
            sync::News::Received(n) => {
                note(format!("received {n} change record(s)"));
                // So the next read answers from the view.
                if let Some(v) = self.store.opened() {
                    home::refresh_view(v);
                }
            }
            sync::News::Synced => LastSync::record(&ctx.home, None),
        }
        Ok(())
    }
}

/// One live sync (see `sync::run`), until it fails or the vault moves.
async fn watch_once(
    ctx: &Ctx,
    chosen: &mut Chosen,
    invite: Option<String>,
    wake: &mut tokio::sync::mpsc::Receiver<()>,
    lender: &lending::Lender,
) -> Result<()> {
    let m = chosen.m.clone();
    let mut watcher = Watcher {
        ctx,
        chosen,
        store: sync::Reopening::new(store_opener(ctx)),
        lender,
        borrower: None,
        wake,
        tick: tokio::time::interval(Duration::from_millis(50)),
        seen: changed_at(ctx),
    };
    let options = sync::Options {
        mode: sync::Mode::Live,
        invite,
        stall: stall(),
        ..sync::Options::default()
    };
    let report = sync::run(&mut watcher, &m, options).await?;
    // A live sync ends without an error only when the vault moved.
    let Some(to) = report.moved_to else {
        return Ok(());
    };
    chosen.m.relay = to.relay;
    chosen.m.pin = to.pin.as_deref().map(str::parse::<Pin>).transpose()?;
    chosen.changed = true;
    bail!(
        "this vault moved to {} (`interlog sync move` on another device); reconnecting there",
        out::safe(&chosen.m.relay)
    );
}

fn status(ctx: &Ctx) -> Result<()> {
    let mut v = ctx.open()?;
    let m = Membership::load(&home::key_file(&ctx.home))?;
    let state = SyncState::load(v.storage())?;
    let last_sync = LastSync::load(&ctx.home, &state);
    let pending = v.doc.changes_since(&state.pushed_heads) + usize::from(state.outbox.is_some());
    let device = device_name(v.device_id());
    if ctx.json {
        return out::json(&json!({
            "relay": m.as_ref().map(|m| out::safe(&m.relay)),
            "pin": m.as_ref().and_then(|m| m.pin).map(|p| p.to_string()),
            "vault": v.vault_id(),
            "device": device,
            // Device ids came from the relay: escaped like the error.
            "cursors": state.cursors.iter().map(|(d, seq)| (out::safe(d), *seq)).collect::<std::collections::BTreeMap<_, _>>(),
            "next_seq": state.next_seq,
            "pending_changes": pending,
            "last_sync": last_sync.at,
            // A relay's words, stored: escaped again when shown (a file
            // from an older version holds them raw).
            "last_error": last_sync.error.as_deref().map(out::safe),
            "withheld": state.withheld(&device),
        }));
    }
    let last = last_sync
        .at
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "never".into());
    let mut t = out::table(["", ""]);
    if let Some(pin) = m.as_ref().and_then(|m| m.pin) {
        t.add_row(["relay's pinned key".to_string(), pin.to_string()]);
    }
    t.add_row([
        "relay".to_string(),
        m.map_or("not set up (interlog sync --relay URL)".into(), |m| m.relay),
    ]);
    t.add_row(["vault".to_string(), v.vault_id()]);
    t.add_row(["this device".to_string(), device.clone()]);
    t.add_row(["records sent".to_string(), (state.next_seq - 1).to_string()]);
    t.add_row(["pending local changes".to_string(), pending.to_string()]);
    t.add_row(["last sync".to_string(), last]);
    t.add_row([
        "last error".to_string(),
        last_sync.error.unwrap_or_else(|| "none".into()),
    ]);
    for w in state.withheld(&device) {
        t.add_row(["warning".to_string(), w.to_string()]);
    }
    for (d, seq) in &state.cursors {
        t.add_row([
            format!("received from {}", interlog_core::peer_id(d, 12)),
            format!("up to record {seq}"),
        ]);
    }
    out::print_table(&t, "");
    Ok(())
}

pub fn pair(ctx: &Ctx) -> Result<()> {
    // Sync and upload a fresh snapshot, so the new device starts from it
    // instead of replaying every record.
    let (m, report) = one_shot(ctx, &RelayFlags::default(), true)?;
    for w in report.warnings() {
        out::warn(&w);
    }
    remind_words(ctx);
    let code = JoinCode::new(&m).encode();
    if ctx.json {
        return out::json(&json!({"code": code}));
    }
    println!("On the new device, run:\n\n  interlog join {code}\n");
    println!("or scan this code with the phone app:\n");
    let qr = qrcode::QrCode::new(code.as_bytes())
        .map_err(|e| anyhow!("could not draw the QR code: {e}"))?;
    let art = qr
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build();
    println!("{art}");
    println!("\nKeep this code secret: it holds the key to your journal.");
    Ok(())
}

/// `interlog join CODE`: makes this home a new device of the code's vault.
///
/// Join changes nothing in a home that already holds anything: a vault, a
/// store that does not open, a key file, any file at all. Such a home may
/// hold the only copy of some entries (or the only copy of a key), and a
/// join there once deleted `vault.key` and rewrote the sync state of a store
/// it could not open. The one exception is what an interrupted join of
/// its own left (its marker, and a store that holds no vault): that holds
/// nothing of the user's, and is cleared so the join can simply be run
/// again. A join that fails removes what it wrote, so the home is as empty
/// as it was.
pub fn join(ctx: &Ctx, code: &str, name: Option<&str>) -> Result<()> {
    join_code(ctx, JoinCode::parse(code)?, false, name)
}

/// [`join`] with a parsed code; `recovered` when it came from the words.
fn join_code(ctx: &Ctx, code: JoinCode, recovered: bool, name: Option<&str>) -> Result<()> {
    let home = &ctx.home;
    let names = interlog_core::home::entries(home)?;
    if !names.is_empty() {
        check_home_for_join(ctx, &code, &names)?;
    }
    if let Some(warning) = sync::plaintext_warning(&code.membership().relay) {
        out::warn(&warning);
    }
    let created = interlog_core::home::create(home)?;
    interlog_core::home::mark_joining(home)?;
    let (mut v, report) = match join_into(home, &code) {
        Ok(ok) => ok,
        Err(e) => {
            undo_join(home, created);
            return Err(e);
        }
    };
    // Done: the marker goes last, so an interrupted join is always known.
    let _ = std::fs::remove_file(home::join_marker(home));
    LastSync::record(&ctx.home, None);
    // The vault is this device's now; its name is an ordinary change.
    super::name_device(ctx, &mut v, name)?;
    if ctx.json {
        return out::json(&json!({"vault": v.vault_id(), "received": report.pulled}));
    }
    for w in report.warnings() {
        out::warn(&w);
    }
    println!(
        "{} vault {} through {}; this device has everything now ({} record(s) after the snapshot).",
        if recovered { "Recovered" } else { "Joined" },
        v.vault_id(),
        out::safe(&code.membership().relay),
        report.pulled
    );
    Ok(())
}

/// `interlog recover --relay URL`: restores the whole journal in this
/// (empty) home from the recovery words, read from the terminal or from
/// standard input, and the relay's address.
pub fn recover(ctx: &Ctx, relay: &str, pin: Option<&str>) -> Result<()> {
    let pin = pin.map(str::parse::<Pin>).transpose()?;
    let names = interlog_core::home::entries(&ctx.home)?;
    if !names.is_empty() && !interlog_core::home::only_join_leftovers(&names) {
        bail!(
            "the home {} already holds files ({}); recover changes nothing in a home that holds anything, so nothing was changed. Recover into a new, empty directory: `interlog --home NEW_DIR recover --relay URL` (or set INTERLOG_HOME)",
            ctx.home.display(),
            names.join(", ")
        );
    }
    let words = read_words()?;
    let key = VaultKey::from_words(&words)?;
    if let Some(warning) = sync::plaintext_warning(relay) {
        out::warn(&warning);
    }
    let m = runtime()?.block_on(sync::find_vault(relay, pin, &key))?;
    join_code(ctx, JoinCode::new(&m), true, None)
}

/// The recovery words: typed at a prompt on a terminal (until 24 words
/// came), or all of standard input otherwise. At most 4 KiB is read.
fn read_words() -> Result<String> {
    use std::io::{BufRead, IsTerminal, Read};
    let stdin = std::io::stdin();
    let mut words = String::new();
    if stdin.is_terminal() {
        eprintln!("Type the 24 recovery words (from `interlog key`), then press Enter:");
        let mut lines = stdin.lock().take(4096);
        while words.split_whitespace().count() < 24 {
            let mut line = String::new();
            if lines.read_line(&mut line)? == 0 {
                break;
            }
            words.push_str(&line);
            words.push(' ');
        }
    } else {
        stdin
            .lock()
            .take(4096)
            .read_to_string(&mut words)
            .context("could not read the recovery words from standard input")?;
    }
    if words.trim().is_empty() {
        bail!("no recovery words were given: type them at the prompt, or pipe them in (`interlog recover --relay URL < words.txt`)");
    }
    Ok(words)
}

/// `interlog key`: the vault key as 24 recovery words.
pub fn key(ctx: &Ctx) -> Result<()> {
    let Some(m) = Membership::load(&home::key_file(&ctx.home))? else {
        bail!("this device has no vault key yet: it gets one at its first `interlog sync --relay URL` (or with `interlog join`)");
    };
    let words = m.key.to_words();
    words_reminded(ctx);
    if ctx.json {
        return out::json(&json!({
            "words": words.split(' ').collect::<Vec<_>>(),
            "relay": m.relay,
            "pin": m.pin.map(|p| p.to_string()),
        }));
    }
    println!("The recovery words of this vault's key:\n");
    let list: Vec<&str> = words.split(' ').collect();
    for row in 0..6 {
        let cells: Vec<String> = (0..4)
            .map(|col| {
                let i = col * 6 + row;
                format!("{:>2}. {:<10}", i + 1, list[i])
            })
            .collect();
        println!("  {}", cells.join("  ").trim_end());
    }
    println!("\nRelay: {}", out::safe(&m.relay));
    if let Some(pin) = m.pin {
        println!("Pin:   {pin}");
    }
    println!("\nWrite them down and keep them offline. With them and the relay's address, `interlog recover --relay URL` restores the whole journal on a new device. Anyone who has them and can reach the relay can read the journal.");
    Ok(())
}

/// Reminds the user, once per home, to write the recovery words down
/// (after the sync that made the key, or a `pair`).
fn remind_words(ctx: &Ctx) {
    if home::words_marker(&ctx.home).exists() || !home::key_file(&ctx.home).exists() {
        return;
    }
    out::note("write down this vault's recovery words (`interlog key`): with them and the relay's address, `interlog recover` restores the journal if every device is lost");
    words_reminded(ctx);
}

fn words_reminded(ctx: &Ctx) {
    let _ = interlog_core::files::owner_only(&home::words_marker(&ctx.home), true);
}

/// The join proper, into a home that holds only its marker.
fn join_into(home: &Home, code: &JoinCode) -> Result<(DeviceVault, sync::Report)> {
    let rt = runtime()?;
    let storage = home.create_store()?;
    // The key file before the vault: a join killed after the vault is
    // committed has its key.
    code.membership().save(&home::key_file(home))?;
    Ok(rt.block_on(sync::join(code, storage))?)
}

/// Refuses a join into a home that holds anything (see [`join`]), saying
/// why and what to do; clears what an interrupted join left.
fn check_home_for_join(ctx: &Ctx, code: &JoinCode, names: &[String]) -> Result<()> {
    let home = &ctx.home;
    let vault = &code.membership().vault;
    // The whole vault, document and all: a store whose vault id reads but
    // whose document does not load does not open either.
    let held = if names.iter().any(|n| n == "store") {
        Some(home.open().map(|v| v.vault_id()))
    } else {
        None
    };
    let interrupted = names.iter().any(|n| n == "join.pending");
    match &held {
        Some(Ok(id)) => {
            if interrupted {
                // The join committed its vault and was stopped just before
                // it removed its marker: it is complete.
                let _ = std::fs::remove_file(home::join_marker(home));
            }
            if id == vault {
                bail!("this device is already a member of that vault; run `interlog sync`");
            }
            bail!(
                "this device already holds vault {id}, not the vault of that code; nothing was changed. Use another --home for the other vault"
            );
        }
        Some(Err(e))
            if interrupted && is_no_vault(e) && interlog_core::home::only_join_leftovers(names) =>
        {
            // An earlier join here stopped before it committed the vault:
            // nothing in the home is the user's. Start over.
            undo_join(home, false);
            return Ok(());
        }
        None if interrupted && interlog_core::home::only_join_leftovers(names) => {
            undo_join(home, false);
            return Ok(());
        }
        _ => {}
    }
    use interlog_core::store::StoreError;
    let why = match &held {
        Some(Err(e)) => match e.downcast_ref::<StoreError>() {
            Some(StoreError::NoVault { .. }) => String::new(),
            Some(StoreError::Corrupt { detail, .. }) => {
                format!("; its store does not open ({detail})")
            }
            Some(StoreError::Busy { .. }) => {
                "; its store is in use by another interlog process".to_string()
            }
            _ => format!("; its store does not open ({e:#})"),
        },
        _ => String::new(),
    };
    bail!(
        "the home {} already holds files ({}){why}. Join changes nothing in a home that holds anything, so nothing was changed. Keep that home as it is (it may hold entries or a key that no other device has), and join into a new, empty directory instead: `interlog --home NEW_DIR join CODE` (or set INTERLOG_HOME). docs/reliability.md (\"A store that does not open\") says how to recover a home whose store does not open",
        home.display(),
        names.join(", ")
    )
}

fn is_no_vault(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<interlog_core::store::StoreError>(),
        Some(interlog_core::store::StoreError::NoVault { .. })
    )
}

/// Removes what a join wrote in `home` (which held nothing of the user's
/// when it began, or only an interrupted join's files), the marker last, so
/// a join stopped in here is still known as one. Not a store that holds a
/// vault: a join that got that far is complete. Best effort.
fn undo_join(home: &Home, created: bool) {
    let store = home::store_path(home);
    if store.exists() {
        match home.open_store() {
            Ok(_) => {
                let _ = std::fs::remove_file(home::join_marker(home));
                return;
            }
            Err(e) if is_no_vault(&e) => {}
            // Busy, or unreadable: leave it, and the marker, to the next join.
            Err(_) => return,
        }
        let _ = std::fs::remove_dir_all(&store);
    }
    let _ = std::fs::remove_file(home::key_file(home));
    let key = home::key_file(home);
    let _ = std::fs::remove_file(interlog_core::files::temp_of(&key));
    let _ = std::fs::remove_file(key.with_extension("tmp"));
    let _ = std::fs::remove_file(home::join_marker(home));
    if created {
        let _ = std::fs::remove_dir(home);
    }
}

pub fn devices(ctx: &Ctx) -> Result<()> {
    let v = ctx.open()?;
    let m = membership(ctx, &v.vault_id())?;
    let me = device_name(v.device_id());
    let registered = SyncState::load(v.storage())?.registered;
    let names = v.doc.device_names();
    drop(v);
    if !registered {
        bail!("this vault is not on the relay yet; run `interlog sync` first");
    }
    let rt = runtime()?;
    let session = rt.block_on(Session::open(&m, &me, false, None))?;
    let mut devices = session.devices.clone();
    devices.sort_by_key(|d| std::cmp::Reverse(d.last_seen));
    // The list is the relay's word, unchecked (docs/security.md): its ids
    // are printed escaped, in JSON too.
    for d in &mut devices {
        if d.device != me {
            d.device = out::safe(&d.device);
        }
    }
    if ctx.json {
        let mut rows = serde_json::to_value(&devices)?;
        for row in rows.as_array_mut().into_iter().flatten() {
            let name = row["device"].as_str().and_then(|d| names.get(d)).cloned();
            row["name"] = name.map_or(serde_json::Value::Null, serde_json::Value::String);
        }
        return out::json(&rows);
    }
    let mut t = out::table(["device", "name", "records", "last seen", ""]);
    for d in devices {
        let seen = jiff::Timestamp::from_second(d.last_seen)
            .map(|t| {
                t.to_zoned(jiff::tz::TimeZone::system())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        let this = if d.device == me { "this device" } else { "" };
        t.add_row([
            interlog_core::peer_id(&d.device, 12),
            names.get(&d.device).cloned().unwrap_or_default(),
            d.last_seq.to_string(),
            seen,
            this.into(),
        ]);
    }
    out::print_table(&t, "No devices yet.");
    Ok(())
}
