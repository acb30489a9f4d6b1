//! The table port on SQLite: one row per item, the item as JSON, key and index columns
//! beside it. Conditions and updates are evaluated in Rust inside an immediate
//! transaction, with the same helpers the contract defines, so behaviour matches DynamoDB.
//!
//! Bodies are large (a printer with its telemetry is several kB), so counting and skipping
//! never touch them: `items_live` holds the keys and expiry of every row, which makes
//! `count` and the skipped part of a `skip` query index-only reads.

use super::sqlite::{Database, sql};
use crate::ports::table::{
    self, Condition, GSI1PK, GSI1SK, GSI2PK, GSI2SK, Index, Item, JsonPage, Key, PK, Page, Query, SK, SortKey, TTL,
    Table, Update, Write,
};
use crate::ports::{Clock, StoreError, StoreResult};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params, types::Value as SqlValue};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    gsi1pk TEXT,
    gsi1sk TEXT,
    gsi2pk TEXT,
    gsi2sk TEXT,
    ttl INTEGER,
    body TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk, pk, sk) WHERE gsi2pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_live ON items (pk, sk, ttl);
";

/// Pages that ask for more items than this are read through a memory-mapped connection:
/// copying megabytes through `pread` costs more than mapping, while small pages, read
/// between frequent commits, would pay for remapping the file each time.
const MAPPED_PAGE_ITEMS: u32 = 100;

/// The table port on a SQLite file.
pub struct SqliteTable {
    db: Database,
    clock: Arc<dyn Clock>,
}

impl SqliteTable {
    /// Opens (creating if needed) the table stored at `path`.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> StoreResult<Self> {
        Ok(SqliteTable { db: Database::open(path, SCHEMA)?, clock })
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// The stored JSON of one page of `query`, and whether more items follow it. Pages
    /// of more than [`MAPPED_PAGE_ITEMS`] read through a memory-mapped connection.
    fn page_bodies(&self, query: &Query) -> StoreResult<(Vec<String>, bool)> {
        let after = query.cursor.as_deref().map(|c| table::decode_cursor(c, query.index)).transpose()?;
        let now = self.now();
        let work = |conn: &rusqlite::Connection| {
            let (text, args) = page_sql(query, now, after.as_ref());
            let mut statement = conn.prepare_cached(&text).map_err(sql)?;
            let rows =
                statement.query_map(rusqlite::params_from_iter(args), |row| row.get::<_, String>(0)).map_err(sql)?;
            let mut bodies = rows.collect::<Result<Vec<_>, _>>().map_err(sql)?;
            let more = bodies.len() > query.limit as usize;
            bodies.truncate(query.limit as usize);
            Ok((bodies, more))
        };
        if query.limit > MAPPED_PAGE_ITEMS { self.db.read_mapped(work) } else { self.db.read(work) }
    }
}

/// The live item under `key` (inside a write transaction, or on the reading connection).
fn load(tx: &rusqlite::Connection, key: &Key, now: i64) -> StoreResult<Option<Item>> {
    load_json(tx, key, now)?.map(|b| parse(&b)).transpose()
}

/// The stored JSON of the live item under `key`.
fn load_json(tx: &rusqlite::Connection, key: &Key, now: i64) -> StoreResult<Option<String>> {
    tx.prepare_cached("SELECT body FROM items WHERE pk = ?1 AND sk = ?2 AND (ttl IS NULL OR ttl > ?3)")
        .map_err(sql)?
        .query_row(params![key.pk, key.sk, now], |row| row.get(0))
        .optional()
        .map_err(sql)
}

fn parse(body: &str) -> StoreResult<Item> {
    serde_json::from_str(body).map_err(StoreError::backend)
}

/// An index key column value: present only when both index attributes are strings, as an
/// item only appears in a DynamoDB index when it has both its key attributes.
fn index_keys(item: &Item, pk: &str, sk: &str) -> (Option<String>, Option<String>) {
    match (item.get(pk), item.get(sk)) {
        (Some(Value::String(p)), Some(Value::String(s))) => (Some(p.clone()), Some(s.clone())),
        _ => (None, None),
    }
}

fn store(tx: &Transaction<'_>, item: &Item) -> StoreResult<()> {
    let key = Key::of(item)?;
    let (g1p, g1s) = index_keys(item, GSI1PK, GSI1SK);
    let (g2p, g2s) = index_keys(item, GSI2PK, GSI2SK);
    let ttl = item.get(TTL).and_then(Value::as_i64);
    let body = serde_json::to_string(item).map_err(StoreError::backend)?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO items (pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, ttl, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .map_err(sql)?
    .execute(params![key.pk, key.sk, g1p, g1s, g2p, g2s, ttl, body])
    .map_err(sql)?;
    Ok(())
}

fn remove(tx: &Transaction<'_>, key: &Key) -> StoreResult<()> {
    tx.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
        .map_err(sql)?
        .execute(params![key.pk, key.sk])
        .map_err(sql)?;
    Ok(())
}

/// Checks one write's condition against the stored state; answers the item to store
/// (`Some`), the key to delete (`None` with a delete), or nothing for a check.
enum Planned {
    Store(Item),
    Remove(Key),
    Nothing,
}

fn plan(tx: &Transaction<'_>, write: &Write, now: i64) -> StoreResult<Option<Planned>> {
    if let Write::Put { item, condition: Condition::Always } = write {
        return Ok(Some(Planned::Store(item.clone())));
    }
    let key = write.key()?;
    let current = load(tx, &key, now)?;
    let (condition, planned) = match write {
        Write::Put { item, condition } => (condition, Planned::Store(item.clone())),
        Write::Update(update) => (&update.condition, Planned::Store(update.apply_to(current.clone()))),
        Write::Delete { condition, .. } => (condition, Planned::Remove(key)),
        Write::Check { condition, .. } => (condition, Planned::Nothing),
    };
    Ok(condition.holds(current.as_ref()).then_some(planned))
}

fn execute(tx: &Transaction<'_>, planned: &Planned) -> StoreResult<()> {
    match planned {
        Planned::Store(item) => store(tx, item),
        Planned::Remove(key) => remove(tx, key),
        Planned::Nothing => Ok(()),
    }
}

/// Runs one conditional write in its own immediate transaction.
fn write_one(conn: &mut rusqlite::Connection, write: Write, now: i64) -> StoreResult<Option<Item>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
    let planned = plan(&tx, &write, now)?.ok_or(StoreError::ConditionFailed)?;
    execute(&tx, &planned)?;
    tx.commit().map_err(sql)?;
    Ok(match planned {
        Planned::Store(item) => Some(item),
        _ => None,
    })
}

/// The `WHERE` conditions of a query (live items of its partition and sort-key range,
/// after `after` when given), with their parameters.
fn query_filter(query: &Query, now: i64, after: Option<&serde_json::Map<String, Value>>) -> (String, Vec<SqlValue>) {
    let (ipk, isk) = query.index.key_attributes();
    let mut clauses = vec![format!("{ipk} = ?"), "(ttl IS NULL OR ttl > ?)".to_string()];
    let mut args: Vec<SqlValue> = vec![query.partition.clone().into(), now.into()];
    let mut bind = |clause: String, values: Vec<&String>| {
        clauses.push(clause);
        args.extend(values.into_iter().map(|v| SqlValue::from(v.clone())));
    };
    match &query.sort {
        SortKey::All => {}
        SortKey::Equals(v) => bind(format!("{isk} = ?"), vec![v]),
        SortKey::BeginsWith(p) => bind(format!("{isk} >= ? AND substr({isk}, 1, length(?)) = ?"), vec![p, p, p]),
        SortKey::Between(lo, hi) => bind(format!("{isk} BETWEEN ? AND ?"), vec![lo, hi]),
        SortKey::AtLeast(lo) => bind(format!("{isk} >= ?"), vec![lo]),
        SortKey::AtMost(hi) => bind(format!("{isk} <= ?"), vec![hi]),
    }
    let cmp = if query.forward { ">" } else { "<" };
    let text = |attr: &str| after.and_then(|a| a.get(attr)).and_then(Value::as_str).unwrap_or_default().to_string();
    if after.is_some() {
        if query.index == Index::Primary {
            bind(format!("sk {cmp} ?"), vec![&text(SK)]);
        } else {
            bind(format!("({isk}, pk, sk) {cmp} (?, ?, ?)"), vec![&text(isk), &text(PK), &text(SK)]);
        }
    }
    (clauses.join(" AND "), args)
}

/// The SQL that selects one page of a query, with its parameters. A page after skipped
/// items finds its keys on the indexes first and reads only the bodies it returns.
fn page_sql(query: &Query, now: i64, after: Option<&serde_json::Map<String, Value>>) -> (String, Vec<SqlValue>) {
    let (_, isk) = query.index.key_attributes();
    let (filter, args) = query_filter(query, now, after);
    let direction = if query.forward { "ASC" } else { "DESC" };
    let order = if query.index == Index::Primary {
        format!("{isk} {direction}")
    } else {
        format!("{isk} {direction}, pk {direction}, sk {direction}")
    };
    let window = format!("LIMIT {} OFFSET {}", query.limit as usize + 1, query.skip);
    let sql = if query.skip == 0 {
        format!("SELECT body FROM items WHERE {filter} ORDER BY {order} {window}")
    } else {
        format!(
            "SELECT body FROM items WHERE (pk, sk) IN \
             (SELECT pk, sk FROM items WHERE {filter} ORDER BY {order} {window}) ORDER BY {order}"
        )
    };
    (sql, args)
}

#[async_trait]
impl Table for SqliteTable {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        let now = self.now();
        self.db.read(|conn| load(conn, key, now))
    }

    async fn get_json(&self, key: &Key) -> StoreResult<Option<String>> {
        let now = self.now();
        self.db.read(|conn| load_json(conn, key, now))
    }

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        Key::of(&item)?;
        let now = self.now();
        self.db.run(move |conn| write_one(conn, Write::Put { item, condition }, now).map(|_| ())).await
    }

    async fn update(&self, update: Update) -> StoreResult<Item> {
        update.validate()?;
        let now = self.now();
        self.db
            .run(move |conn| {
                write_one(conn, Write::Update(update), now)?
                    .ok_or_else(|| StoreError::Backend("update wrote no item".into()))
            })
            .await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
        let key = key.clone();
        let now = self.now();
        self.db.run(move |conn| write_one(conn, Write::Delete { key, condition }, now).map(|_| ())).await
    }

    async fn query(&self, query: &Query) -> StoreResult<Page> {
        let (bodies, more) = self.page_bodies(query)?;
        let items = bodies.iter().map(|body| parse(body)).collect::<StoreResult<Vec<_>>>()?;
        let cursor = more.then(|| table::cursor_for(items.last().expect("a full page"), query.index));
        Ok(Page { items, cursor })
    }

    async fn query_json(&self, query: &Query) -> StoreResult<JsonPage> {
        let (items, more) = self.page_bodies(query)?;
        let cursor = match items.last() {
            Some(last) if more => Some(table::cursor_for(&parse(last)?, query.index)),
            _ => None,
        };
        Ok(JsonPage { items, cursor })
    }

    async fn count(&self, query: &Query) -> StoreResult<u64> {
        let now = self.now();
        self.db.read(|conn| {
            let (filter, args) = query_filter(query, now, None);
            let mut statement =
                conn.prepare_cached(&format!("SELECT COUNT(*) FROM items WHERE {filter}")).map_err(sql)?;
            let count: i64 = statement.query_row(rusqlite::params_from_iter(args), |row| row.get(0)).map_err(sql)?;
            Ok(count.max(0) as u64)
        })
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        table::validate_transaction(&writes)?;
        let now = self.now();
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
                let mut planned = Vec::with_capacity(writes.len());
                let mut failed = Vec::new();
                for (index, write) in writes.iter().enumerate() {
                    match plan(&tx, write, now)? {
                        Some(p) => planned.push(p),
                        None => failed.push(index),
                    }
                }
                if !failed.is_empty() {
                    return Err(StoreError::TransactionCanceled { failed });
                }
                for p in &planned {
                    execute(&tx, p)?;
                }
                tx.commit().map_err(sql)
            })
            .await
    }
}
