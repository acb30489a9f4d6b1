//! One SQLite database shared by an adapter: a single writing connection that callers take
//! in turn, small pools of read-only connections (plain, and memory-mapped for large
//! pages), and a background connection that checkpoints the write-ahead log.

use crate::ports::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How many idle read connections each pool of a database keeps; more are opened under
/// load and closed when they come back to a full pool.
const IDLE_READERS: usize = 8;

/// Point reads and small queries read pages with `pread`: every commit makes a reader
/// drop its page cache and, when memory-mapped, unmap the whole file at its next read, so
/// under concurrent writes a mapping costs an `munmap`, a remap and a page fault per page
/// touched — more than the few page reads it saves.
const PLAIN_PRAGMAS: &str = "PRAGMA busy_timeout=5000; PRAGMA mmap_size=0;";

/// Readers of large pages map the database file into memory (up to 1 GiB) instead of
/// copying each page through `pread`: pages of assets read megabytes of stored JSON.
const MAPPED_PRAGMAS: &str = "PRAGMA busy_timeout=5000; PRAGMA mmap_size=1073741824;";

/// How often a background connection copies the write-ahead log into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Pragmas of the writing connection. Checkpoints run on their own connection and thread
/// (see [`Database::open`]), so a commit never waits for one and its `fsync`; the writer
/// checkpoints only as a safety net should the log reach about 80 MB.
const WRITER_PRAGMAS: &str =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA wal_autocheckpoint=20000;";

/// Idle read-only connections opened with the same pragmas.
struct ReaderPool {
    pragmas: &'static str,
    idle: Mutex<Vec<Connection>>,
}

/// A SQLite database in WAL mode: writes go through one connection, taken in turn; reads
/// take a read-only connection from a pool and run in place, since a point read or
/// a page of an index takes microseconds to milliseconds and WAL lets any number of
/// readers run beside the writer, so concurrent requests never wait on each other's reads.
#[derive(Clone)]
pub struct Database {
    path: Arc<PathBuf>,
    connection: Arc<Mutex<Connection>>,
    readers: Arc<ReaderPool>,
    mapped_readers: Arc<ReaderPool>,
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Backend("database lock poisoned".into())
}

impl Database {
    /// Opens (creating if needed) the database at `path`, runs `schema` once, and starts
    /// the thread that checkpoints it while the database is open.
    pub fn open(path: &Path, schema: &str) -> StoreResult<Self> {
        let connection = Connection::open(path).map_err(StoreError::backend)?;
        connection.execute_batch(WRITER_PRAGMAS).map_err(StoreError::backend)?;
        connection.execute_batch(schema).map_err(StoreError::backend)?;
        let pool = |pragmas| Arc::new(ReaderPool { pragmas, idle: Mutex::new(Vec::new()) });
        let database = Database {
            path: Arc::new(path.to_path_buf()),
            connection: Arc::new(Mutex::new(connection)),
            readers: pool(PLAIN_PRAGMAS),
            mapped_readers: pool(MAPPED_PRAGMAS),
        };
        let first_reader = database.open_reader(PLAIN_PRAGMAS)?;
        database.readers.idle.lock().map_err(poisoned)?.push(first_reader);
        spawn_checkpointer(path, Arc::downgrade(&database.connection))?;
        Ok(database)
    }

    fn open_reader(&self, pragmas: &str) -> StoreResult<Connection> {
        let reader = Connection::open_with_flags(
            self.path.as_path(),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(StoreError::backend)?;
        reader.execute_batch(pragmas).map_err(StoreError::backend)?;
        Ok(reader)
    }

    /// Runs the read-only `work` in place on a pooled reading connection.
    pub fn read<T>(&self, work: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.read_from(&self.readers, work)
    }

    /// [`Database::read`] on a memory-mapped connection, for reads of many large rows.
    pub fn read_mapped<T>(&self, work: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.read_from(&self.mapped_readers, work)
    }

    fn read_from<T>(&self, pool: &ReaderPool, work: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let pooled = pool.idle.lock().map_err(poisoned)?.pop();
        let reader = match pooled {
            Some(reader) => reader,
            None => self.open_reader(pool.pragmas)?,
        };
        let result = work(&reader);
        let mut idle = pool.idle.lock().map_err(poisoned)?;
        if idle.len() < IDLE_READERS {
            idle.push(reader);
        }
        result
    }

    /// Runs `work` with the writing connection: in place when it is free — a write
    /// transaction takes tens of microseconds (commits do not wait for the disk,
    /// checkpoints run elsewhere), less than handing it to another thread and waking the
    /// caller again would — and on a blocking thread when another write holds it, so
    /// writers queueing for the connection never stall the runtime's worker threads.
    pub async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        match self.connection.try_lock() {
            Ok(mut guard) => return work(&mut guard),
            Err(std::sync::TryLockError::Poisoned(poison)) => return Err(poisoned(poison)),
            Err(std::sync::TryLockError::WouldBlock) => {}
        }
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = connection.lock().map_err(poisoned)?;
            work(&mut guard)
        })
        .await
        .map_err(StoreError::backend)?
    }
}

/// Every [`CHECKPOINT_EVERY`], copies what the log holds into the database file without
/// blocking readers or the writer (a passive checkpoint), until the database `open` is
/// dropped. A failed checkpoint is logged and tried again at the next tick.
fn spawn_checkpointer(path: &Path, open: Weak<Mutex<Connection>>) -> StoreResult<()> {
    let connection = Connection::open(path).map_err(StoreError::backend)?;
    connection.execute_batch("PRAGMA busy_timeout=5000;").map_err(StoreError::backend)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    std::thread::Builder::new()
        .name(format!("checkpoint {name}"))
        .spawn(move || {
            while open.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(error) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(database = %name, %error, "checkpoint failed");
                }
            }
        })
        .map_err(StoreError::backend)?;
    Ok(())
}

/// Maps a SQLite error onto the port's backend error.
pub fn sql(err: rusqlite::Error) -> StoreError {
    StoreError::backend(err)
}
