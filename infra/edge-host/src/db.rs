//! The SQLite files under the state directory, shared by every request: a
//! pool of connections handed out exclusively, WAL mode, and checkpoints in
//! a background thread.
//!
//! Why a pool with exclusive checkout? Spin gives each `open` its own
//! connection, so a transaction begun in one `execute` call continues in the
//! next, and `changes()` / `last_insert_rowid()` describe that caller's last
//! statement. Sharing one connection between concurrent requests would mix
//! those up; opening a fresh connection per request costs a file open and
//! schema parse each time. A checked-out connection is given back when the
//! guest drops its handle (or its instance dies), after rolling back any
//! transaction the guest left open. A connection whose session state the
//! guest changed (a `PRAGMA` assignment, a TEMP object) is closed instead of
//! pooled, so the next `open` starts as clean as Spin's fresh connection.
//!
//! Why checkpoint in the background? In WAL mode SQLite checkpoints inline,
//! in whichever writer's commit crosses the auto-checkpoint threshold, while
//! holding the write lock: that one request, and every writer queued behind
//! it, pays for copying the WAL into the database. Measured here, that moved
//! a write path's p99 from about 5 ms to hundreds of milliseconds. Pool
//! connections therefore run with `wal_autocheckpoint=0` and a dedicated
//! thread runs a PASSIVE checkpoint (which never blocks writers) every
//! 200 ms.
//!
//! Why a custom busy handler? SQLite's default `busy_timeout` sleeps in
//! growing steps (up to 100 ms at a time), so a writer that finds the lock
//! taken by a sub-millisecond commit can sleep far longer than the wait it
//! needed. The handler here polls at fine grain first and backs off to 1 ms,
//! still giving up after about five seconds, as a 5 s busy timeout would.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

/// How often the background thread checkpoints the WAL.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);
/// Idle connections kept per database beyond which returns are closed.
const MAX_IDLE: usize = 64;
/// Prepared statements cached per connection (the components' queries are a
/// small fixed set, so re-preparing them each request would be waste).
const STATEMENT_CACHE: usize = 128;

/// One SQLite file and its pool of connections.
pub struct Database {
    path: PathBuf,
    idle: Mutex<Vec<Pooled>>,
    /// The write gate: see [`Database::writer`].
    writer: Arc<tokio::sync::Mutex<()>>,
    checkpointer: Mutex<Option<Checkpointer>>,
}

struct Pooled {
    conn: Connection,
    /// Set by the authorizer when the guest changes session state.
    tainted: Arc<AtomicBool>,
    /// Set when the guest changed a setting the pool knows how to restore
    /// ([`RESTORABLE_PRAGMAS`]).
    retuned: Arc<AtomicBool>,
    /// Set when the guest replaced the busy handler (`PRAGMA busy_timeout`).
    busy_replaced: Arc<AtomicBool>,
}

/// Session settings a guest may change without costing its connection:
/// the pool sets its own values again when the connection comes back. The
/// components set both before their first write, for Spin's sake (see
/// `omni_shared::storage::spin`); closing the connection for that would
/// give every write request a fresh connection here too.
const RESTORABLE_PRAGMAS: [&str; 2] = ["busy_timeout", "synchronous"];

/// A connection checked out of a [`Database`] for exclusive use; it goes back
/// to the pool when dropped.
pub struct PooledConnection {
    pooled: Option<Pooled>,
    db: Arc<Database>,
}

/// Why a database cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite refused to open or configure the file.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

impl Database {
    /// Opens (creating if needed) the file, switches it to WAL, runs `schema`
    /// once and starts the checkpoint thread.
    pub fn open(path: &Path, schema: &str) -> Result<Arc<Self>, DbError> {
        let err = |source| DbError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let db = Arc::new(Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
            writer: Arc::new(tokio::sync::Mutex::new(())),
            checkpointer: Mutex::new(None),
        });
        let first = db.connect().map_err(err)?;
        // WAL is a property of the file: set once, it stays.
        first
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
            .map_err(err)?;
        if !schema.is_empty() {
            first.conn.execute_batch(schema).map_err(err)?;
        }
        // The set-up statements above are the host's, not a guest's.
        first.tainted.store(false, Ordering::Relaxed);
        db.idle.lock().expect("pool lock").push(first);
        let checkpointer = Checkpointer::start(path).map_err(err)?;
        *db.checkpointer.lock().expect("checkpointer lock") = Some(checkpointer);
        Ok(db)
    }

    /// The write gate: writers queue here, first come first served, before
    /// SQLite's own lock.
    ///
    /// Why, when SQLite already serialises writers? A writer that finds the
    /// lock taken waits in the busy handler, polling: with sixteen writers
    /// queued on two cores the pollers take the CPU the lock holder needs,
    /// and the order in which they win is luck, which is what made write
    /// paths' p99 hundreds of milliseconds. Queued here, they sleep until
    /// their turn, in arrival order. SQLite's lock still decides: the gate
    /// only makes the wait cheap and fair.
    pub fn writer(&self) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(&self.writer)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes a connection for exclusive use (blocking: call it off the async
    /// executor).
    pub fn checkout(self: &Arc<Self>) -> rusqlite::Result<PooledConnection> {
        let reused = self.idle.lock().expect("pool lock").pop();
        let pooled = match reused {
            Some(p) => p,
            None => self.connect()?,
        };
        Ok(PooledConnection {
            pooled: Some(pooled),
            db: Arc::clone(self),
        })
    }

    /// Stops the checkpoint thread after a final checkpoint that empties the
    /// WAL, so a cleanly stopped host leaves a self-contained database file.
    pub fn shutdown(&self) {
        if let Some(c) = self.checkpointer.lock().expect("checkpointer lock").take() {
            c.stop();
        }
        self.idle.lock().expect("pool lock").clear();
        if let Ok(conn) = Connection::open(&self.path) {
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }

    fn connect(&self) -> rusqlite::Result<Pooled> {
        let conn = Connection::open(&self.path)?;
        conn.busy_handler(Some(busy_wait))?;
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let tainted = Arc::new(AtomicBool::new(false));
        let retuned = Arc::new(AtomicBool::new(false));
        let busy_replaced = Arc::new(AtomicBool::new(false));
        let flags = Flags {
            tainted: Arc::clone(&tainted),
            retuned: Arc::clone(&retuned),
            busy_replaced: Arc::clone(&busy_replaced),
        };
        conn.authorizer(Some(move |ctx: AuthContext<'_>| authorize(&ctx, &flags)));
        Ok(Pooled {
            conn,
            tainted,
            retuned,
            busy_replaced,
        })
    }

    fn give_back(&self, pooled: Pooled) {
        if !pooled.conn.is_autocommit() && pooled.conn.execute_batch("ROLLBACK").is_err() {
            return;
        }
        if pooled.tainted.load(Ordering::Relaxed) {
            return;
        }
        if pooled.retuned.swap(false, Ordering::Relaxed) {
            // `PRAGMA busy_timeout` replaced the busy handler.
            let restored = pooled.conn.busy_handler(Some(busy_wait)).is_ok()
                && pooled
                    .conn
                    .execute_batch("PRAGMA synchronous=NORMAL")
                    .is_ok();
            if !restored {
                return;
            }
        }
        let mut idle = self.idle.lock().expect("pool lock");
        if idle.len() < MAX_IDLE {
            idle.push(pooled);
        }
    }
}

impl PooledConnection {
    /// Puts the pool's busy handler back after a guest's `PRAGMA
    /// busy_timeout`, at once. Why override the guest? The components set
    /// `busy_timeout = 0` and wait in their own loop for Spin's sake (its
    /// handler sleeps up to 100 ms); this host's handler already polls
    /// every 50 us, finer than any guest loop, and lone writes do not queue
    /// at the gate, so keeping it gives single-statement writes the
    /// shortest wait.
    pub fn keep_host_busy_handler(&self) {
        if let Some(p) = &self.pooled
            && p.busy_replaced.swap(false, Ordering::Relaxed)
        {
            let _ = p.conn.busy_handler(Some(busy_wait));
        }
    }
}

impl std::ops::Deref for PooledConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self
            .pooled
            .as_ref()
            .expect("connection present until drop")
            .conn
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        if let Some(p) = self.pooled.take() {
            self.db.give_back(p);
        }
    }
}

/// Refuses ATTACH/DETACH (a guest must not reach other files, as in Spin) and
/// notes session-state changes that make a connection unfit for reuse.
/// What the authorizer notes about a guest's statements.
struct Flags {
    tainted: Arc<AtomicBool>,
    retuned: Arc<AtomicBool>,
    busy_replaced: Arc<AtomicBool>,
}

fn authorize(ctx: &AuthContext<'_>, flags: &Flags) -> Authorization {
    let (tainted, retuned) = (&flags.tainted, &flags.retuned);
    match ctx.action {
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => Authorization::Deny,
        AuthAction::Pragma {
            pragma_name,
            pragma_value: Some(_),
        } if ctx.database_name.is_none_or(|db| db == "main")
            && RESTORABLE_PRAGMAS
                .iter()
                .any(|p| p.eq_ignore_ascii_case(pragma_name)) =>
        {
            retuned.store(true, Ordering::Relaxed);
            if pragma_name.eq_ignore_ascii_case("busy_timeout") {
                flags.busy_replaced.store(true, Ordering::Relaxed);
            }
            Authorization::Allow
        }
        AuthAction::Pragma {
            pragma_value: Some(_),
            ..
        }
        | AuthAction::CreateTempTable { .. }
        | AuthAction::CreateTempIndex { .. }
        | AuthAction::CreateTempTrigger { .. }
        | AuthAction::CreateTempView { .. } => {
            tainted.store(true, Ordering::Relaxed);
            Authorization::Allow
        }
        _ => Authorization::Allow,
    }
}

/// SQLite busy handler: retry for about five seconds, polling finely first.
fn busy_wait(attempt: i32) -> bool {
    let micros: u64 = match attempt {
        0..=19 => 50,
        20..=99 => 200,
        _ => 1_000,
    };
    // 20 * 50us + 80 * 200us + 4_983 * 1 ms ~= 5 s.
    if attempt > 5_082 {
        return false;
    }
    std::thread::sleep(Duration::from_micros(micros));
    true
}

/// The background WAL checkpoint thread of one database.
struct Checkpointer {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_handler(Some(busy_wait))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let name = format!(
            "checkpoint-{}",
            path.file_stem().and_then(|s| s.to_str()).unwrap_or("db")
        );
        let handle = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::park_timeout(CHECKPOINT_INTERVAL);
                    // PASSIVE never waits for readers or writers: it copies
                    // what it can and leaves the rest for the next round.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .expect("spawn checkpoint thread");
        Ok(Self { stop, handle })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.thread().unpark();
        let _ = self.handle.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Arc<Database>) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(
            &dir.path().join("t.db"),
            "CREATE TABLE IF NOT EXISTS t (x INTEGER)",
        )
        .unwrap();
        (dir, db)
    }

    #[test]
    fn the_file_is_switched_to_wal() {
        let (_dir, db) = db();
        let conn = db.checkout().unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn attach_is_refused() {
        let (dir, db) = db();
        let conn = db.checkout().unwrap();
        let other = dir.path().join("other.db");
        let err = conn
            .execute(&format!("ATTACH DATABASE '{}' AS o", other.display()), [])
            .unwrap_err();
        assert!(err.to_string().contains("not authorized"), "{err}");
        assert!(!other.exists());
    }

    #[test]
    fn an_open_transaction_is_rolled_back_when_the_connection_returns() {
        let (_dir, db) = db();
        {
            let conn = db.checkout().unwrap();
            conn.execute_batch("BEGIN; INSERT INTO t VALUES (1);")
                .unwrap();
        }
        let conn = db.checkout().unwrap();
        assert!(conn.is_autocommit());
        let n: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn concurrent_checkouts_get_distinct_connections() {
        let (_dir, db) = db();
        let a = db.checkout().unwrap();
        let b = db.checkout().unwrap();
        a.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
            .unwrap();
        // b does not see a's uncommitted row: they are different connections.
        let n: i64 = b
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        a.execute_batch("COMMIT").unwrap();
        let n: i64 = b
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_connection_whose_pragmas_were_changed_is_not_reused() {
        let (_dir, db) = db();
        {
            let conn = db.checkout().unwrap();
            conn.execute_batch("PRAGMA cache_size=-1234").unwrap();
        }
        let conn = db.checkout().unwrap();
        let size: i64 = conn
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap();
        assert_ne!(size, -1234);
    }

    #[test]
    fn a_connection_whose_write_settings_were_changed_is_restored_and_reused() {
        let (_dir, db) = db();
        {
            let conn = db.checkout().unwrap();
            conn.execute_batch("PRAGMA busy_timeout = 0; PRAGMA synchronous = FULL;")
                .unwrap();
        }
        assert_eq!(
            db.idle.lock().unwrap().len(),
            1,
            "the connection went back to the pool"
        );
        let conn = db.checkout().unwrap();
        let synchronous: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(synchronous, 1, "NORMAL again");
        // The pool's busy handler is back: a writer waits for a lock held
        // elsewhere instead of failing at once.
        let other = db.checkout().unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let waiter = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let outcome = conn.execute_batch("INSERT INTO t VALUES (2)");
            (outcome.is_ok(), started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(100));
        other.execute_batch("COMMIT").unwrap();
        let (ok, waited) = waiter.join().unwrap();
        assert!(
            ok && waited >= Duration::from_millis(90),
            "{ok} after {waited:?}"
        );
    }

    #[test]
    fn a_guest_busy_timeout_gives_way_to_the_host_busy_handler_at_once() {
        let (_dir, db) = db();
        let conn = db.checkout().unwrap();
        conn.execute_batch("PRAGMA busy_timeout = 0").unwrap();
        conn.keep_host_busy_handler();
        let other = db.checkout().unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let waiter =
            std::thread::spawn(move || conn.execute_batch("INSERT INTO t VALUES (3)").is_ok());
        std::thread::sleep(Duration::from_millis(100));
        other.execute_batch("COMMIT").unwrap();
        assert!(
            waiter.join().unwrap(),
            "the write waited for the lock instead of failing at once"
        );
    }
}
