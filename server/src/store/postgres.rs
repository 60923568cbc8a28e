//! The relay's store in Postgres, for a relay run for many people: several
//! relay processes share one database, any of them can die, and the
//! database is backed up while it runs.
//!
//! What it must guarantee is the [`RelayStore`] contract, the same suite
//! as sled and memory, plus two things of its own:
//! - **Idempotent appends across relays.** (vault, device, seq) is a
//!   unique key in the database, and one SQL function checks and writes an
//!   append (`migrations/0001_init.sql`), so two relays racing with the
//!   same record store it once, and different bytes are refused.
//! - **An ack means committed.** `append` returns only once the
//!   transaction holding the record has committed (with the server's
//!   `synchronous_commit`; Postgres' default is on, a flushed WAL).
//!
//! Appends that arrive together are one statement and one commit: each
//! goes to a batcher task, which takes everything waiting (up to
//! [`MAX_BATCH`] records or [`MAX_BATCH_BYTES`]) and calls the append
//! function once per record inside one `SELECT`.
//!
//! Each stored append sends a `NOTIFY` (channel `interlog_records`, payload
//! the relay's instance id and the vault), delivered when its batch
//! commits. [`RelayStore::changes`] listens on its own connection and
//! tells the relay which vaults changed elsewhere; the relay then wakes its
//! live devices of that vault, which read from their cursors. A missed
//! notification (the listening connection broke) is made up for by waking
//! every live device once it listens again.
//!
//! The trait is synchronous (the relay calls it on blocking threads), the
//! driver async: each call runs its future on the runtime the store was
//! opened on, with a deadline. Never call it from inside that runtime's
//! async tasks.

use std::collections::BTreeMap;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use futures_util::StreamExt;
use interlog_core::wire::{DeviceInfo, RecordKind, SealedRecord, Snapshot, MAX_DEVICES};
use interlog_core::wire::{MAX_PAYLOAD_BYTES, MAX_RECORDS_PER_FRAME};
use serde_bytes::ByteBuf;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{AsyncMessage, Config, NoTls};

use super::{cbor, uncbor, Appended, Change, Page, RelayStore, RelayStoreError, VaultMeta};

/// Records per append statement.
pub const MAX_BATCH: usize = 256;
/// Payload bytes per append statement (a larger record goes alone).
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Connections in the pool, per relay process.
const POOL_SIZE: usize = 16;
/// How long any one call may take, waiting for a connection included.
const DEADLINE: Duration = Duration::from_secs(30);
/// The `NOTIFY` channel.
const CHANNEL: &str = "interlog_records";
/// Held while migrations run, so relays starting together take turns.
const MIGRATION_LOCK: i64 = 0x696e_7465_726c_6f67; // "interlog"

/// The migrations, in order; each runs once, in a transaction.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_token_index.sql")),
];

/// A record waiting for the batcher.
struct Pending {
    vault: String,
    record: SealedRecord,
    now: i64,
    done: oneshot::Sender<Result<Appended, RelayStoreError>>,
}

/// The Postgres store; see the module's header.
pub struct PostgresRelayStore {
    pool: Pool,
    config: Config,
    rt: tokio::runtime::Handle,
    /// Names this process in its notifications, so it skips its own.
    instance: String,
    appends: mpsc::Sender<Pending>,
    /// Host and database, for messages: never the password.
    target: String,
}

/// Where a URL points, without its user or password.
fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    format!(
        "postgres {host}/{}",
        config.get_dbname().unwrap_or("(default database)")
    )
}

fn db_error(target: &str, e: impl std::fmt::Display) -> RelayStoreError {
    RelayStoreError::Io {
        path: target.to_string(),
        detail: e.to_string(),
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn kind_of(s: &str) -> Result<RecordKind, RelayStoreError> {
    match s {
        "change" => Ok(RecordKind::Change),
        "envelope" => Ok(RecordKind::Envelope),
        other => Err(RelayStoreError::Corrupt(format!(
            "a record of unknown kind {other:?}"
        ))),
    }
}

impl PostgresRelayStore {
    /// Connects to `url` (`postgres://…` or `postgresql://…`), applies the
    /// migrations this relay knows and the database lacks, and starts the
    /// append batcher. Must run inside a multi-threaded tokio runtime, which
    /// the store then uses for every call.
    pub async fn connect(url: &str) -> Result<Self, RelayStoreError> {
        let mut config: Config = url.parse().map_err(|e| {
            db_error(
                "postgres",
                format!("the database URL is not valid ({e}); it looks like postgres://USER:PASSWORD@HOST:PORT/DATABASE"),
            )
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("interlog-relay");
        }
        let target = describe(&config);
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .timeouts(Timeouts {
                wait: Some(DEADLINE),
                create: Some(Duration::from_secs(10)),
                recycle: Some(Duration::from_secs(10)),
            })
            .build()
            .map_err(|e| db_error(&target, e))?;
        migrate(&pool, &target).await?;
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| db_error(&target, e))?;
        let instance = hex::encode(id);
        let (appends, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(batcher(pool.clone(), rx, instance.clone(), target.clone()));
        tracing::info!(store = %target, "relay store: Postgres");
        Ok(PostgresRelayStore {
            pool,
            config,
            rt: tokio::runtime::Handle::current(),
            instance,
            appends,
            target,
        })
    }

    /// Runs `f` with a pooled connection on the store's runtime, within
    /// [`DEADLINE`].
    fn call<T>(
        &self,
        f: impl AsyncFnOnce(&deadpool_postgres::Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, RelayStoreError> {
        let target = &self.target;
        self.rt.block_on(async {
            tokio::time::timeout(DEADLINE, async {
                let client = self.pool.get().await.map_err(|e| db_error(target, e))?;
                f(&client).await.map_err(|e| db_error(target, e))
            })
            .await
            .map_err(|_| db_error(target, format!("no answer within {DEADLINE:?}")))?
        })
    }
}

/// Applies every migration the database has not seen, under an advisory
/// lock (relays starting together take turns; the later ones find nothing
/// to do).
async fn migrate(pool: &Pool, target: &str) -> Result<(), RelayStoreError> {
    let err = |e: tokio_postgres::Error| db_error(target, e);
    let mut client = pool.get().await.map_err(|e| db_error(target, e))?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(err)?;
    let result = async {
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS interlog_migrations (
                    version int PRIMARY KEY,
                    applied timestamptz NOT NULL DEFAULT now())",
            )
            .await?;
        let done: Option<i32> = client
            .query_one("SELECT max(version) FROM interlog_migrations", &[])
            .await?
            .get(0);
        let done = done.unwrap_or(0);
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > done) {
            let tx = client.transaction().await?;
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO interlog_migrations (version) VALUES ($1)",
                &[version],
            )
            .await?;
            tx.commit().await?;
            tracing::info!(version, "applied a migration to the relay's database");
        }
        Ok::<_, tokio_postgres::Error>(done)
    }
    .await;
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let done = result.map_err(err)?;
    let newest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if done > newest {
        return Err(db_error(
            target,
            format!("the database was migrated to version {done} by a newer relay; this one knows up to {newest}: upgrade this relay"),
        ));
    }
    Ok(())
}

/// Takes appends as they arrive and stores each run of them with one
/// statement (one commit); see the module's header.
async fn batcher(pool: Pool, mut rx: mpsc::Receiver<Pending>, instance: String, target: String) {
    while let Some(first) = rx.recv().await {
        let mut bytes = first.record.payload.len();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(p) if bytes + p.record.payload.len() <= MAX_BATCH_BYTES => {
                    bytes += p.record.payload.len();
                    batch.push(p);
                }
                Ok(p) => {
                    // Too big for this batch: it goes first in the next.
                    store_batch(&pool, std::mem::take(&mut batch), &instance, &target).await;
                    bytes = p.record.payload.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        store_batch(&pool, batch, &instance, &target).await;
    }
}

const APPEND_BATCH: &str = "
    SELECT o.outcome, o.relay_seq, o.expected
    FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::bytea[], $6::int8[])
         WITH ORDINALITY AS a(vault, device, seq, kind, payload, now, n)
    CROSS JOIN LATERAL interlog_append(a.vault, a.device, a.seq, a.kind, a.payload, a.now, $7, $8) AS o
    ORDER BY a.n";

async fn store_batch(pool: &Pool, batch: Vec<Pending>, instance: &str, target: &str) {
    if batch.is_empty() {
        return;
    }
    let mut result = Err(db_error(target, "not tried"));
    // Two batches on two relays can lock the same devices in opposite
    // orders; Postgres breaks the deadlock by failing one, which tries again.
    for attempt in 0..4 {
        result = try_batch(pool, &batch, instance, target).await;
        match &result {
            Err(RelayStoreError::Io { detail, .. })
                if detail.contains("deadlock") || detail.contains("could not serialize") =>
            {
                tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
            }
            _ => break,
        }
    }
    match result {
        Ok(outcomes) => {
            for (p, outcome) in batch.into_iter().zip(outcomes) {
                let _ = p.done.send(Ok(outcome));
            }
        }
        Err(e) => {
            tracing::error!("storing {} appends failed: {e}", batch.len());
            for p in batch {
                let _ = p.done.send(Err(db_error(target, &e)));
            }
        }
    }
}

async fn try_batch(
    pool: &Pool,
    batch: &[Pending],
    instance: &str,
    target: &str,
) -> Result<Vec<Appended>, RelayStoreError> {
    let client = pool.get().await.map_err(|e| db_error(target, e))?;
    let vaults: Vec<&str> = batch.iter().map(|p| p.vault.as_str()).collect();
    let devices: Vec<&str> = batch.iter().map(|p| p.record.device.as_str()).collect();
    let seqs: Vec<i64> = batch.iter().map(|p| to_i64(p.record.seq)).collect();
    let kinds: Vec<&str> = batch.iter().map(|p| p.record.kind.as_str()).collect();
    let payloads: Vec<&[u8]> = batch.iter().map(|p| p.record.payload.as_slice()).collect();
    let nows: Vec<i64> = batch.iter().map(|p| p.now).collect();
    let max = MAX_DEVICES as i32;
    let rows = client
        .query(
            APPEND_BATCH,
            &[
                &vaults, &devices, &seqs, &kinds, &payloads, &nows, &max, &instance,
            ],
        )
        .await
        .map_err(|e| db_error(target, e))?;
    if rows.len() != batch.len() {
        return Err(RelayStoreError::Corrupt(format!(
            "{} outcomes for {} appends",
            rows.len(),
            batch.len()
        )));
    }
    rows.iter()
        .map(|row| {
            let outcome: &str = row.get(0);
            Ok(match outcome {
                "stored" => Appended::Stored(row.get::<_, i64>(1) as u64),
                "duplicate" => Appended::Duplicate,
                "conflict" => Appended::Conflict,
                "gap" => Appended::Gap {
                    expected: row.get::<_, i64>(2) as u64,
                },
                "too_many_devices" => Appended::TooManyDevices,
                other => {
                    return Err(RelayStoreError::Corrupt(format!(
                        "unknown append outcome {other:?}"
                    )))
                }
            })
        })
        .collect()
}

/// Records above the cursors, in arrival order, with each one's size
/// computed in the database: payloads that do not go in this page never
/// leave it.
const PAGE: &str = "
    WITH c AS (
        SELECT * FROM unnest($2::text[], $3::int8[]) AS c(device, after)
    ), wanted AS (
        SELECT r.relay_seq, octet_length(r.payload) AS len
        FROM devices d
        LEFT JOIN c ON c.device = d.device
        CROSS JOIN LATERAL (
            SELECT r.relay_seq, r.payload FROM records r
            WHERE r.vault = d.vault AND r.device = d.device
              AND r.seq > coalesce(c.after, 0) AND r.relay_seq >= $4
        ) r
        WHERE d.vault = $1 AND d.last_seq > coalesce(c.after, 0)
        ORDER BY r.relay_seq
        LIMIT $5
    ), sized AS (
        SELECT relay_seq,
               row_number() OVER (ORDER BY relay_seq) AS n,
               sum(len) OVER (ORDER BY relay_seq) AS upto
        FROM wanted
    )
    SELECT s.relay_seq, r.device, r.seq, r.kind,
           CASE WHEN s.n = 1 OR (s.n <= $6 AND s.upto <= $7) THEN r.payload END
    FROM sized s JOIN records r ON r.relay_seq = s.relay_seq
    ORDER BY s.relay_seq";

impl RelayStore for PostgresRelayStore {
    fn vault(&self, vault: &str) -> Result<Option<VaultMeta>, RelayStoreError> {
        let row = self.call(async |c| {
            c.query_opt(
                "SELECT token_hash, created FROM vaults WHERE vault = $1",
                &[&vault],
            )
            .await
        })?;
        Ok(row.map(|r| VaultMeta {
            token_hash: r.get(0),
            created: r.get(1),
        }))
    }

    fn vault_by_token(&self, token_hash: &[u8]) -> Result<Option<String>, RelayStoreError> {
        let row = self.call(async |c| {
            c.query_opt(
                "SELECT vault FROM vaults WHERE token_hash = $1 LIMIT 1",
                &[&token_hash],
            )
            .await
        })?;
        Ok(row.map(|r| r.get(0)))
    }

    fn create_vault(&self, vault: &str, meta: &VaultMeta) -> Result<(), RelayStoreError> {
        self.call(async |c| {
            c.execute(
                "INSERT INTO vaults (vault, token_hash, created) VALUES ($1, $2, $3)
                 ON CONFLICT (vault) DO UPDATE SET token_hash = EXCLUDED.token_hash, created = EXCLUDED.created",
                &[&vault, &meta.token_hash, &meta.created],
            )
            .await
        })?;
        Ok(())
    }

    fn append(
        &self,
        vault: &str,
        record: &SealedRecord,
        now: i64,
    ) -> Result<Appended, RelayStoreError> {
        if record.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(RelayStoreError::Corrupt(format!(
                "a record of {} bytes, over the limit",
                record.payload.len()
            )));
        }
        if i64::try_from(record.seq).is_err() {
            // Beyond the database's integers, and far beyond any real log.
            let last: Option<i64> = self
                .call(async |c| {
                    c.query_opt(
                        "SELECT last_seq FROM devices WHERE vault = $1 AND device = $2",
                        &[&vault, &record.device],
                    )
                    .await
                })?
                .map(|r| r.get(0));
            return Ok(Appended::Gap {
                expected: last.unwrap_or(0) as u64 + 1,
            });
        }
        let (done, outcome) = oneshot::channel();
        let pending = Pending {
            vault: vault.to_string(),
            record: record.clone(),
            now,
            done,
        };
        let target = &self.target;
        self.rt.block_on(async {
            tokio::time::timeout(DEADLINE, async {
                self.appends
                    .send(pending)
                    .await
                    .map_err(|_| db_error(target, "the append batcher stopped"))?;
                outcome
                    .await
                    .map_err(|_| db_error(target, "the append batcher stopped"))?
            })
            .await
            .map_err(|_| db_error(target, format!("no answer within {DEADLINE:?}")))?
        })
    }

    fn page(
        &self,
        vault: &str,
        cursors: &BTreeMap<String, u64>,
        from: u64,
        max_bytes: usize,
    ) -> Result<Page, RelayStoreError> {
        let devices: Vec<&str> = cursors.keys().map(String::as_str).collect();
        let afters: Vec<i64> = cursors.values().map(|v| to_i64(*v)).collect();
        let from = to_i64(from);
        let limit = MAX_RECORDS_PER_FRAME as i64 + 1;
        let per_frame = MAX_RECORDS_PER_FRAME as i64;
        let max_bytes = to_i64(max_bytes as u64);
        let rows = self.call(async |c| {
            c.query(
                PAGE,
                &[
                    &vault, &devices, &afters, &from, &limit, &per_frame, &max_bytes,
                ],
            )
            .await
        })?;
        let mut records = Vec::new();
        for row in rows {
            let relay_seq: i64 = row.get(0);
            let payload: Option<Vec<u8>> = row.get(4);
            let Some(payload) = payload else {
                return Ok(Page {
                    records,
                    next: Some(relay_seq as u64),
                });
            };
            let kind: &str = row.get(3);
            records.push(SealedRecord {
                device: row.get(1),
                seq: row.get::<_, i64>(2) as u64,
                kind: kind_of(kind)?,
                payload: ByteBuf::from(payload),
            });
        }
        Ok(Page {
            records,
            next: None,
        })
    }

    fn put_snapshot(&self, vault: &str, snapshot: &Snapshot) -> Result<(), RelayStoreError> {
        let body = cbor(snapshot);
        self.call(async |c| {
            c.execute(
                "INSERT INTO snapshots (vault, body) VALUES ($1, $2)
                 ON CONFLICT (vault) DO UPDATE SET body = EXCLUDED.body",
                &[&vault, &body],
            )
            .await
        })?;
        Ok(())
    }

    fn snapshot(&self, vault: &str) -> Result<Option<Snapshot>, RelayStoreError> {
        let row = self.call(async |c| {
            c.query_opt("SELECT body FROM snapshots WHERE vault = $1", &[&vault])
                .await
        })?;
        match row {
            Some(r) => Ok(Some(uncbor(r.get::<_, &[u8]>(0))?)),
            None => Ok(None),
        }
    }

    fn devices(&self, vault: &str) -> Result<Vec<DeviceInfo>, RelayStoreError> {
        let max = MAX_DEVICES as i64;
        let rows = self.call(async |c| {
            c.query(
                "SELECT device, last_seq, last_seen FROM devices WHERE vault = $1
                 ORDER BY device LIMIT $2",
                &[&vault, &max],
            )
            .await
        })?;
        Ok(rows
            .iter()
            .map(|r| DeviceInfo {
                device: r.get(0),
                last_seq: r.get::<_, i64>(1) as u64,
                last_seen: r.get(2),
            })
            .collect())
    }

    fn touch(&self, vault: &str, device: &str, now: i64) -> Result<(), RelayStoreError> {
        self.call(async |c| {
            c.execute(
                "UPDATE devices SET last_seen = greatest(last_seen, $3)
                 WHERE vault = $1 AND device = $2",
                &[&vault, &device, &now],
            )
            .await
        })?;
        Ok(())
    }

    fn keeps_invites(&self) -> bool {
        true
    }

    fn add_invite(&self, code: &str, now: i64) -> Result<(), RelayStoreError> {
        self.call(async |c| {
            c.execute(
                "INSERT INTO invites (code, created) VALUES ($1, $2)",
                &[&code, &now],
            )
            .await
        })?;
        Ok(())
    }

    fn take_invite(&self, code: &str, now: i64) -> Result<bool, RelayStoreError> {
        let n = self.call(async |c| {
            c.execute(
                "UPDATE invites SET used = $2 WHERE code = $1 AND used IS NULL",
                &[&code, &now],
            )
            .await
        })?;
        Ok(n == 1)
    }

    fn changes(&self) -> Option<mpsc::Receiver<Change>> {
        let (tx, rx) = mpsc::channel(1024);
        self.rt.spawn(listen(
            self.config.clone(),
            self.instance.clone(),
            self.target.clone(),
            tx,
        ));
        Some(rx)
    }
}

/// Listens for other relays' appends until the receiver goes away; after a
/// broken connection, listens again and says that anything may have changed.
async fn listen(config: Config, instance: String, target: String, tx: mpsc::Sender<Change>) {
    let mut backoff = Duration::from_millis(250);
    let mut first = true;
    while !tx.is_closed() {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (ntx, mut nrx) = mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(m) = messages.next().await {
                        match m {
                            Ok(AsyncMessage::Notification(n)) => {
                                if ntx.send(n).is_err() {
                                    break;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(
                                    "the relay's Postgres listener lost its connection: {e}"
                                );
                                break;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        backoff = Duration::from_millis(250);
                        if !first {
                            tracing::info!(store = %target, "listening to other relays again");
                            if tx.send(Change::Everything).await.is_err() {
                                return;
                            }
                        }
                        first = false;
                        loop {
                            tokio::select! {
                                n = nrx.recv() => {
                                    let Some(n) = n else { break };
                                    let Some((from, vault)) = n.payload().split_once(' ') else { continue };
                                    if from != instance
                                        && tx.send(Change::Vault(vault.to_string())).await.is_err()
                                    {
                                        driver.abort();
                                        return;
                                    }
                                }
                                _ = tx.closed() => {
                                    driver.abort();
                                    return;
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(store = %target, "could not listen for other relays' appends: {e}")
                    }
                }
                driver.abort();
            }
            Err(e) => {
                tracing::warn!(store = %target, "could not connect to listen for other relays' appends: {e}")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = tx.closed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// A URL with its database replaced by `name` (`scheme://authority/name?query`).
fn with_database(url: &str, name: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    let mut out = format!("{scheme}://{authority}/{name}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

/// Throwaway databases, for tests and benchmarks.
pub mod testing {
    use super::*;

    /// The environment variable naming a Postgres the tests may create
    /// databases in (`.ci/postgres start` sets it; CI always does).
    pub const URL_VAR: &str = "INTERLOG_TEST_DATABASE_URL";

    /// A database made for one test or run, dropped (with any connection
    /// still open to it) when this is dropped.
    pub struct ScratchDatabase {
        admin: String,
        name: String,
        url: String,
    }

    impl ScratchDatabase {
        /// A new, empty database on the server `admin_url` points at.
        pub fn create(admin_url: &str) -> Result<Self, RelayStoreError> {
            let mut id = [0u8; 6];
            getrandom::fill(&mut id).map_err(|e| db_error("postgres", e))?;
            let name = format!("interlog_test_{}", hex::encode(id));
            let url = with_database(admin_url, &name).ok_or_else(|| {
                db_error("postgres", "the database URL is not postgres://…/DATABASE")
            })?;
            admin(admin_url, &format!("CREATE DATABASE {name}"))?;
            Ok(ScratchDatabase {
                admin: admin_url.to_string(),
                name,
                url,
            })
        }

        /// Its URL, for `--store`.
        pub fn url(&self) -> &str {
            &self.url
        }

        /// A scratch database on the server [`URL_VAR`] names; `None`,
        /// after saying so, when it is not set (outside CI only: in CI that
        /// is a failure).
        pub fn from_env(what: &str) -> Option<Self> {
            match std::env::var(URL_VAR) {
                Ok(url) if !url.is_empty() => {
                    Some(Self::create(&url).expect("create a scratch database"))
                }
                _ => {
                    assert!(
                        std::env::var_os("CI").is_none(),
                        "{what}: CI must set {URL_VAR} (.ci/run starts a Postgres)"
                    );
                    eprintln!(
                        "SKIPPED {what}: no Postgres (set {URL_VAR}, e.g. with `eval \"$(bash .ci/postgres start)\"`)"
                    );
                    None
                }
            }
        }
    }

    impl Drop for ScratchDatabase {
        fn drop(&mut self) {
            let _ = admin(
                &self.admin,
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            );
        }
    }

    /// One statement on the server, outside any relay's runtime.
    fn admin(url: &str, sql: &str) -> Result<(), RelayStoreError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| db_error("postgres", e))?;
        rt.block_on(async {
            let (client, connection) = url
                .parse::<Config>()
                .map_err(|e| db_error("postgres", e))?
                .connect(NoTls)
                .await
                .map_err(|e| db_error("postgres", e))?;
            let driver = tokio::spawn(connection);
            let r = client
                .batch_execute(sql)
                .await
                .map_err(|e| db_error("postgres", e));
            drop(client);
            let _ = driver.await;
            r
        })
    }

    /// A store on a scratch database, with the runtime it runs on; for the
    /// contract suite.
    pub struct ScratchStore {
        // Dropped in this order: the store's runtime, then the database.
        _rt: tokio::runtime::Runtime,
        _db: ScratchDatabase,
    }

    /// A Postgres store on a fresh database, or `None` (said) without one.
    pub fn scratch_store() -> Option<(PostgresRelayStore, ScratchStore)> {
        let db = ScratchDatabase::from_env("the Postgres store's contract tests")?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let store = rt
            .block_on(PostgresRelayStore::connect(db.url()))
            .expect("connect to the scratch database");
        Some((store, ScratchStore { _rt: rt, _db: db }))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Two relays' stores on one database, with their runtime.
        fn two_stores() -> Option<(PostgresRelayStore, PostgresRelayStore, ScratchStore)> {
            let db = ScratchDatabase::from_env("two relays on one Postgres")?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            let a = rt.block_on(PostgresRelayStore::connect(db.url())).unwrap();
            let b = rt.block_on(PostgresRelayStore::connect(db.url())).unwrap();
            Some((a, b, ScratchStore { _rt: rt, _db: db }))
        }

        fn rec(device: &str, seq: u64, body: u8) -> SealedRecord {
            SealedRecord {
                device: device.into(),
                seq,
                kind: RecordKind::Envelope,
                payload: ByteBuf::from(vec![body; 64]),
            }
        }

        /// The same record sent to two relays at once (a device that
        /// reconnected to the other relay and re-sent its outbox) is stored
        /// once and acknowledged by both; other bytes under its seq are
        /// refused by either; appends of many devices on both relays at once
        /// all land, each device's log without a hole.
        #[test]
        fn two_relays_store_a_record_once_and_refuse_other_bytes_under_its_seq() {
            let Some((a, b, _keep)) = two_stores() else {
                return;
            };
            let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
            for seq in 1..=20 {
                let r = rec("dev", seq, seq as u8);
                let (ra, rb) = (r.clone(), r.clone());
                let (sa, sb) = (a.clone(), b.clone());
                let ta = std::thread::spawn(move || sa.append("v", &ra, 1).unwrap());
                let tb = std::thread::spawn(move || sb.append("v", &rb, 1).unwrap());
                let mut got = [ta.join().unwrap(), tb.join().unwrap()];
                got.sort_by_key(|o| matches!(o, Appended::Duplicate));
                assert!(
                    matches!(got, [Appended::Stored(_), Appended::Duplicate]),
                    "seq {seq}: {got:?}"
                );
                assert_eq!(
                    b.append("v", &rec("dev", seq, 0xff), 1).unwrap(),
                    Appended::Conflict
                );
            }
            let writers: Vec<_> = (0..8)
                .map(|w| {
                    let s = if w % 2 == 0 { a.clone() } else { b.clone() };
                    std::thread::spawn(move || {
                        for seq in 1..=25 {
                            let o = s.append("v", &rec(&format!("w{w}"), seq, 1), 2).unwrap();
                            assert!(matches!(o, Appended::Stored(_)), "{o:?}");
                        }
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
            let page = a.page("v", &BTreeMap::new(), 0, usize::MAX).unwrap();
            assert_eq!(page.records.len(), 20 + 8 * 25);
            let mut last: BTreeMap<String, u64> = BTreeMap::new();
            for r in &page.records {
                let l = last.entry(r.device.clone()).or_insert(0);
                assert_eq!(r.seq, *l + 1, "{}'s log in arrival order", r.device);
                *l = r.seq;
            }
        }

        /// What one relay stores wakes the other (the vault's name, not the
        /// records), and a relay hears nothing of its own appends.
        #[test]
        fn a_relay_hears_of_the_other_relay_s_appends_and_not_of_its_own() {
            let Some((a, b, keep)) = two_stores() else {
                return;
            };
            let mut heard_by_a = a.changes().unwrap();
            let mut heard_by_b = b.changes().unwrap();
            // The listeners connect in the background; append until heard.
            let rt = &keep._rt;
            let mut seq = 0;
            let heard = loop {
                seq += 1;
                a.append("vault-1", &rec("d", seq, 1), 1).unwrap();
                let got = rt.block_on(async {
                    tokio::time::timeout(Duration::from_millis(200), heard_by_b.recv()).await
                });
                if let Ok(change) = got {
                    break change;
                }
                assert!(seq < 50, "relay b never heard of relay a's appends");
            };
            assert_eq!(heard, Some(Change::Vault("vault-1".into())));
            let own = rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(300), heard_by_a.recv()).await
            });
            assert!(own.is_err(), "relay a heard its own append: {own:?}");
        }

        /// A page holds at most MAX_RECORDS_PER_FRAME records, however
        /// small, and the next one starts where it stopped (the records are
        /// written in bulk: 4,100 appends one by one take half a minute).
        #[test]
        fn a_page_holds_at_most_a_frame_s_records() {
            let Some((s, keep)) = scratch_store() else {
                return;
            };
            let n = MAX_RECORDS_PER_FRAME as i64 + 4;
            keep._rt
                .block_on(async {
                    let c = s.pool.get().await.unwrap();
                    c.execute(
                        "INSERT INTO records (vault, device, seq, kind, payload)
                         SELECT 'v', 'd', g, 'envelope', '\\x01' FROM generate_series(1, $1::int8) g",
                        &[&n],
                    )
                    .await?;
                    c.execute("INSERT INTO devices VALUES ('v', 'd', $1, 1)", &[&n])
                        .await
                })
                .unwrap();
            let first = s.page("v", &BTreeMap::new(), 0, usize::MAX).unwrap();
            assert_eq!(first.records.len(), MAX_RECORDS_PER_FRAME);
            assert_eq!(
                first.records.last().map(|r| r.seq),
                Some(MAX_RECORDS_PER_FRAME as u64)
            );
            let rest = s
                .page("v", &BTreeMap::new(), first.next.unwrap(), usize::MAX)
                .unwrap();
            assert_eq!(rest.records.len(), 4);
            assert!(rest.next.is_none());
        }

        #[test]
        fn urls_get_another_database() {
            assert_eq!(
                with_database("postgresql://u@localhost/postgres?host=/tmp/x", "d").as_deref(),
                Some("postgresql://u@localhost/d?host=/tmp/x")
            );
            assert_eq!(
                with_database("postgres://u:p@h:5432", "d").as_deref(),
                Some("postgres://u:p@h:5432/d")
            );
        }
    }
}
