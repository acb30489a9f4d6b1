//! One SQLite connection shared by an adapter, used off the async runtime's threads.

use crate::ports::{StoreError, StoreResult};
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A SQLite database in WAL mode: writes go through one connection on a blocking thread;
/// reads use a second, read-only connection and run in place, since a point read or a
/// page of an index takes microseconds and WAL lets it run beside the writer.
#[derive(Clone)]
pub struct Database {
    connection: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
}

impl Database {
    /// Opens (creating if needed) the database at `path` and runs `schema` once.
    pub fn open(path: &Path, schema: &str) -> StoreResult<Self> {
        let connection = Connection::open(path).map_err(StoreError::backend)?;
        connection
            .execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;")
            .map_err(StoreError::backend)?;
        connection.execute_batch(schema).map_err(StoreError::backend)?;
        let reader = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(StoreError::backend)?;
        reader.execute_batch("PRAGMA busy_timeout=5000;").map_err(StoreError::backend)?;
        Ok(Database { connection: Arc::new(Mutex::new(connection)), reader: Arc::new(Mutex::new(reader)) })
    }

    /// Runs the read-only `work` in place on the reading connection.
    pub fn read<T>(&self, work: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let guard = self.reader.lock().map_err(|_| StoreError::Backend("database lock poisoned".into()))?;
        work(&guard)
    }

    /// Runs `work` with the connection on a blocking thread.
    pub async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = connection.lock().map_err(|_| StoreError::Backend("database lock poisoned".into()))?;
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
