//! One SQLite database shared by an adapter: a single writing connection used off the
//! async runtime's threads, and a small pool of read-only connections.

use crate::ports::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How many idle read connections a database keeps; more are opened under load and
/// closed when they come back to a full pool.
const IDLE_READERS: usize = 8;

/// Readers map the database file into memory (up to 1 GiB) instead of copying each page
/// through `pread`: pages of assets read megabytes of stored JSON.
const READER_PRAGMAS: &str = "PRAGMA busy_timeout=5000; PRAGMA mmap_size=1073741824;";

/// A SQLite database in WAL mode: writes go through one connection on a blocking thread;
/// reads take a read-only connection from a pool and run in place, since a point read or
/// a page of an index takes microseconds to milliseconds and WAL lets any number of
/// readers run beside the writer, so concurrent requests never wait on each other's reads.
#[derive(Clone)]
pub struct Database {
    path: Arc<PathBuf>,
    connection: Arc<Mutex<Connection>>,
    readers: Arc<Mutex<Vec<Connection>>>,
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Backend("database lock poisoned".into())
}

impl Database {
    /// Opens (creating if needed) the database at `path` and runs `schema` once.
    pub fn open(path: &Path, schema: &str) -> StoreResult<Self> {
        let connection = Connection::open(path).map_err(StoreError::backend)?;
        connection
            .execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;")
            .map_err(StoreError::backend)?;
        connection.execute_batch(schema).map_err(StoreError::backend)?;
        let database = Database {
            path: Arc::new(path.to_path_buf()),
            connection: Arc::new(Mutex::new(connection)),
            readers: Arc::new(Mutex::new(Vec::new())),
        };
        let first_reader = database.open_reader()?;
        database.readers.lock().map_err(poisoned)?.push(first_reader);
        Ok(database)
    }

    fn open_reader(&self) -> StoreResult<Connection> {
        let reader = Connection::open_with_flags(
            self.path.as_path(),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(StoreError::backend)?;
        reader.execute_batch(READER_PRAGMAS).map_err(StoreError::backend)?;
        Ok(reader)
    }

    /// Runs the read-only `work` in place on a pooled reading connection.
    pub fn read<T>(&self, work: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let pooled = self.readers.lock().map_err(poisoned)?.pop();
        let reader = match pooled {
            Some(reader) => reader,
            None => self.open_reader()?,
        };
        let result = work(&reader);
        let mut idle = self.readers.lock().map_err(poisoned)?;
        if idle.len() < IDLE_READERS {
            idle.push(reader);
        }
        result
    }

    /// Runs `work` with the connection on a blocking thread.
    pub async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = connection.lock().map_err(poisoned)?;
            work(&mut guard)
        })
        .await
        .map_err(StoreError::backend)?
    }
}

/// Maps a SQLite error onto the port's backend error.
pub fn sql(err: rusqlite::Error) -> StoreError {
    StoreError::backend(err)
}
