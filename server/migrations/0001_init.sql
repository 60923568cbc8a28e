-- The relay's tables (docs/self-hosting.md, "Postgres"). Applied once, at
-- start-up, by the first relay to reach the database (under an advisory
-- lock, so relays starting together do not race).

CREATE TABLE vaults (
    vault      text   PRIMARY KEY,
    token_hash bytea  NOT NULL,
    created    bigint NOT NULL
);

-- Every sealed record. relay_seq is arrival order, which the backlog
-- follows. The unique key is what makes an append idempotent: one
-- (vault, device, seq) holds one set of bytes, whichever relay stored it.
CREATE TABLE records (
    relay_seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vault     text   NOT NULL,
    device    text   NOT NULL,
    seq       bigint NOT NULL CHECK (seq >= 1),
    kind      text   NOT NULL,
    payload   bytea  NOT NULL,
    CONSTRAINT records_vault_device_seq UNIQUE (vault, device, seq)
);

-- A device is listed once the relay holds a record of it.
CREATE TABLE devices (
    vault     text   NOT NULL,
    device    text   NOT NULL,
    last_seq  bigint NOT NULL,
    last_seen bigint NOT NULL,
    PRIMARY KEY (vault, device)
);

-- One snapshot per vault: the relay's CBOR of the wire snapshot.
CREATE TABLE snapshots (
    vault text  PRIMARY KEY,
    body  bytea NOT NULL
);

-- One-time registration codes (`interlog relay invite --store URL`).
CREATE TABLE invites (
    code    text   PRIMARY KEY,
    created bigint NOT NULL,
    used    bigint
);

-- One append: the checks and the write in one call, so a batch of appends
-- is one statement and one commit. Outcomes: stored (with relay_seq),
-- duplicate, conflict, gap (with the seq expected), too_many_devices.
--
-- Concurrency between relays: a device's row is locked before its record
-- is looked for, so two appends of one device (two connections, two
-- relays) are checked one after the other; a device's first record also
-- takes the vault's advisory lock, so the device cap holds. Each statement
-- here sees what committed before it (READ COMMITTED), so the second of
-- two racing appends finds the first one's record. The unique key stays
-- the last word.
CREATE FUNCTION interlog_append(
    p_vault text, p_device text, p_seq bigint, p_kind text, p_payload bytea,
    p_now bigint, p_max_devices int, p_notify text
) RETURNS TABLE (outcome text, relay_seq bigint, expected bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_last bigint;
    v_kind text;
    v_payload bytea;
    v_at bigint;
BEGIN
    IF p_seq = 1 THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('interlog-vault:' || p_vault, 0));
    END IF;
    SELECT d.last_seq INTO v_last FROM devices d
        WHERE d.vault = p_vault AND d.device = p_device FOR UPDATE;
    SELECT r.kind, r.payload INTO v_kind, v_payload FROM records r
        WHERE r.vault = p_vault AND r.device = p_device AND r.seq = p_seq;
    IF FOUND THEN
        IF v_kind = p_kind AND v_payload = p_payload THEN
            RETURN QUERY SELECT 'duplicate'::text, NULL::bigint, NULL::bigint;
        ELSE
            RETURN QUERY SELECT 'conflict'::text, NULL::bigint, NULL::bigint;
        END IF;
        RETURN;
    END IF;
    v_last := coalesce(v_last, 0);
    IF p_seq <> v_last + 1 THEN
        RETURN QUERY SELECT 'gap'::text, NULL::bigint, v_last + 1;
        RETURN;
    END IF;
    IF v_last = 0 AND (SELECT count(*) FROM devices d WHERE d.vault = p_vault) >= p_max_devices THEN
        RETURN QUERY SELECT 'too_many_devices'::text, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO records (vault, device, seq, kind, payload)
        VALUES (p_vault, p_device, p_seq, p_kind, p_payload)
        RETURNING records.relay_seq INTO v_at;
    INSERT INTO devices (vault, device, last_seq, last_seen)
        VALUES (p_vault, p_device, p_seq, p_now)
        ON CONFLICT ON CONSTRAINT devices_pkey
        DO UPDATE SET last_seq = EXCLUDED.last_seq, last_seen = EXCLUDED.last_seen;
    -- Delivered when the batch commits, once per vault and batch: other
    -- relays wake their live devices of this vault, which read from
    -- their cursors. Only a wake-up: nothing is lost if it is missed.
    PERFORM pg_notify('interlog_records', p_notify || ' ' || p_vault);
    RETURN QUERY SELECT 'stored'::text, v_at, NULL::bigint;
END
$$;
