//! One SQLite connection shared by an adapter, used off the async runtime's threads.

use crate::ports::{StoreError, StoreResult};
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A SQLite database in WAL mode, serialising its users through one connection.
#[derive(Clone)]
pub struct Database {
    connection: Arc<Mutex<Connection>>,
}

impl Database {
    /// Opens (creating if needed) the database at `path` and runs `schema` once.
    pub fn open(path: &Path, schema: &str) -> StoreResult<Self> {
        let connection = Connection::open(path).map_err(StoreError::backend)?;
        connection
            .execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;")
            .map_err(StoreError::backend)?;
        connection.execute_batch(schema).map_err(StoreError::backend)?;
        Ok(Database { connection: Arc::new(Mutex::new(connection)) })
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
