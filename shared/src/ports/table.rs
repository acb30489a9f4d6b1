//! The single-table store: every record of the deployment lives in one table keyed by
//! `pk`/`sk`, with two secondary indexes (`gsi1pk`/`gsi1sk`, `gsi2pk`/`gsi2sk`) and a `ttl`
//! attribute (epoch seconds). Keys are namespaced by organisation (`ORG#<id>#...`).
//!
//! The semantics here are the contract both adapters follow (DynamoDB and SQLite); the
//! shared helpers below (liveness, condition evaluation, cursors, validation) keep the two
//! adapters from drifting apart.

use super::{StoreError, StoreResult};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// Partition key attribute.
pub const PK: &str = "pk";
/// Sort key attribute.
pub const SK: &str = "sk";
/// First secondary index: partition and sort key attributes.
pub const GSI1PK: &str = "gsi1pk";
/// First secondary index sort key attribute.
pub const GSI1SK: &str = "gsi1sk";
/// Second secondary index partition key attribute.
pub const GSI2PK: &str = "gsi2pk";
/// Second secondary index sort key attribute.
pub const GSI2SK: &str = "gsi2sk";
/// Expiry in epoch seconds; an item whose `ttl` is at or before now is never returned.
pub const TTL: &str = "ttl";
/// Optimistic-concurrency counter used by [`Condition::VersionEquals`].
pub const VERSION: &str = "version";

/// Most writes one transaction may hold (DynamoDB's limit).
pub const MAX_TRANSACT_WRITES: usize = 100;
/// Largest page a query returns.
pub const MAX_PAGE: u32 = 1000;

/// A stored record: a JSON object holding at least `pk` and `sk` as strings.
pub type Item = Map<String, Value>;

/// The primary key of an item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
}

impl Key {
    /// A key from its two parts.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key { pk: pk.into(), sk: sk.into() }
    }

    /// The key of an item, or `Invalid` when `pk`/`sk` are missing or not strings.
    pub fn of(item: &Item) -> StoreResult<Key> {
        let part = |name: &str| match item.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(StoreError::Invalid(format!("item needs a non-empty string `{name}`"))),
        };
        Ok(Key { pk: part(PK)?, sk: part(SK)? })
    }
}

/// A condition a write requires of the item currently stored under its key.
///
/// Expired items (TTL in the past) count as absent everywhere, so `Absent` succeeds over an
/// expired item and every attribute condition fails on one.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Condition {
    /// No condition.
    #[default]
    Always,
    /// No live item is stored under the key.
    Absent,
    /// A live item is stored under the key.
    Exists,
    /// A live item whose `version` equals the number.
    VersionEquals(i64),
    /// A live item whose numeric attribute is at least the number (e.g. `remaining >= n`).
    AtLeast(String, i64),
    /// A live item whose attribute equals the value.
    Equals(String, Value),
    /// No live item, or one whose numeric attribute is absent or at most the number: a
    /// counter that starts at zero may grow to the number (e.g. `consumed <= limit - n`).
    AtMostOrAbsent(String, i64),
    /// Every condition holds.
    And(Vec<Condition>),
}

impl Condition {
    /// Whether the condition holds for the live item (or `None`) under the key. Adapters
    /// that evaluate conditions themselves (SQLite) use this; DynamoDB translates them.
    pub fn holds(&self, current: Option<&Item>) -> bool {
        match self {
            Condition::Always => true,
            Condition::Absent => current.is_none(),
            Condition::Exists => current.is_some(),
            Condition::VersionEquals(n) => current.and_then(|i| i.get(VERSION)).and_then(Value::as_i64) == Some(*n),
            Condition::AtLeast(attr, n) => {
                current.and_then(|i| i.get(attr)).and_then(Value::as_f64).is_some_and(|v| v >= *n as f64)
            }
            Condition::Equals(attr, value) => current.and_then(|i| i.get(attr)) == Some(value),
            Condition::AtMostOrAbsent(attr, n) => {
                current.and_then(|i| i.get(attr)).and_then(Value::as_f64).is_none_or(|v| v <= *n as f64)
            }
            Condition::And(all) => all.iter().all(|c| c.holds(current)),
        }
    }
}

/// A partial update of one item. Like DynamoDB's `UpdateItem`, it creates the item when
/// none is stored (unless the condition forbids it) and answers the item as written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Update {
    /// The item to update.
    pub key: Key,
    /// Attributes to set to a value.
    pub set: Vec<(String, Value)>,
    /// Numeric attributes to add to atomically (a missing attribute counts as 0).
    pub add: Vec<(String, i64)>,
    /// Attributes to remove.
    pub remove: Vec<String>,
    /// What the stored item must satisfy.
    pub condition: Condition,
}

impl Update {
    /// An update of the item under `key` that changes nothing yet.
    pub fn new(key: Key) -> Self {
        Update { key, ..Update::default() }
    }

    /// Sets `attr` to `value`.
    pub fn set(mut self, attr: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set.push((attr.into(), value.into()));
        self
    }

    /// Adds `by` (may be negative) to the numeric attribute `attr`.
    pub fn add(mut self, attr: impl Into<String>, by: i64) -> Self {
        self.add.push((attr.into(), by));
        self
    }

    /// Removes `attr`.
    pub fn remove(mut self, attr: impl Into<String>) -> Self {
        self.remove.push(attr.into());
        self
    }

    /// Requires `condition` of the stored item.
    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = condition;
        self
    }

    /// Applies the update to the live item (or a fresh one) and returns the result.
    /// Adapters that evaluate updates themselves (SQLite) use this.
    pub fn apply_to(&self, current: Option<Item>) -> Item {
        let mut item = current.unwrap_or_else(|| {
            let mut fresh = Item::new();
            fresh.insert(PK.into(), Value::String(self.key.pk.clone()));
            fresh.insert(SK.into(), Value::String(self.key.sk.clone()));
            fresh
        });
        for (attr, value) in &self.set {
            item.insert(attr.clone(), value.clone());
        }
        for (attr, by) in &self.add {
            let old = item.get(attr).and_then(Value::as_i64).unwrap_or(0);
            item.insert(attr.clone(), Value::from(old + by));
        }
        for attr in &self.remove {
            item.remove(attr);
        }
        item
    }

    /// Refuses updates that change nothing, touch the key or name an attribute twice.
    pub fn validate(&self) -> StoreResult<()> {
        if self.set.is_empty() && self.add.is_empty() && self.remove.is_empty() {
            return Err(StoreError::Invalid("an update must change at least one attribute".into()));
        }
        let mut seen = std::collections::HashSet::new();
        let names = self.set.iter().map(|(a, _)| a).chain(self.add.iter().map(|(a, _)| a));
        for attr in names.chain(self.remove.iter()) {
            if attr == PK || attr == SK {
                return Err(StoreError::Invalid("an update cannot change pk or sk".into()));
            }
            if !seen.insert(attr.as_str()) {
                return Err(StoreError::Invalid(format!("attribute `{attr}` named twice in one update")));
            }
        }
        Ok(())
    }
}

/// One write of a transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Store the whole item if the condition holds.
    Put { item: Item, condition: Condition },
    /// Update one item.
    Update(Update),
    /// Delete the item if the condition holds.
    Delete { key: Key, condition: Condition },
    /// Write nothing, but require the condition.
    Check { key: Key, condition: Condition },
}

impl Write {
    /// The key this write touches.
    pub fn key(&self) -> StoreResult<Key> {
        match self {
            Write::Put { item, .. } => Key::of(item),
            Write::Update(update) => Ok(update.key.clone()),
            Write::Delete { key, .. } | Write::Check { key, .. } => Ok(key.clone()),
        }
    }
}

/// Refuses transactions DynamoDB would refuse: empty, more than 100 writes, or two writes
/// on the same item. Both adapters call this so they agree.
pub fn validate_transaction(writes: &[Write]) -> StoreResult<()> {
    if writes.is_empty() || writes.len() > MAX_TRANSACT_WRITES {
        return Err(StoreError::Invalid(format!(
            "a transaction holds 1 to {MAX_TRANSACT_WRITES} writes, not {}",
            writes.len()
        )));
    }
    let mut keys = std::collections::HashSet::new();
    for write in writes {
        if let Write::Update(update) = write {
            update.validate()?;
        }
        if !keys.insert(write.key()?) {
            return Err(StoreError::Invalid("a transaction touches the same item twice".into()));
        }
    }
    Ok(())
}

/// Which key structure a query reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Index {
    /// The table itself (`pk`/`sk`).
    #[default]
    Primary,
    /// `gsi1pk`/`gsi1sk`.
    Gsi1,
    /// `gsi2pk`/`gsi2sk`.
    Gsi2,
}

impl Index {
    /// The partition and sort key attributes of this index.
    pub fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Index::Primary => (PK, SK),
            Index::Gsi1 => (GSI1PK, GSI1SK),
            Index::Gsi2 => (GSI2PK, GSI2SK),
        }
    }

    /// The DynamoDB index name, `None` for the table itself.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Index::Primary => None,
            Index::Gsi1 => Some("gsi1"),
            Index::Gsi2 => Some("gsi2"),
        }
    }
}

/// Which sort keys a query selects within its partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// Every item of the partition.
    #[default]
    All,
    /// Exactly this sort key.
    Equals(String),
    /// Sort keys starting with the prefix.
    BeginsWith(String),
    /// Sort keys from the first to the second, both included.
    Between(String, String),
    /// Sort keys at or after the value.
    AtLeast(String),
    /// Sort keys at or before the value.
    AtMost(String),
}

impl SortKey {
    /// Whether `sk` is selected; used by adapters that filter themselves and by tests.
    pub fn matches(&self, sk: &str) -> bool {
        match self {
            SortKey::All => true,
            SortKey::Equals(v) => sk == v,
            SortKey::BeginsWith(p) => sk.starts_with(p.as_str()),
            SortKey::Between(lo, hi) => lo.as_str() <= sk && sk <= hi.as_str(),
            SortKey::AtLeast(lo) => lo.as_str() <= sk,
            SortKey::AtMost(hi) => sk <= hi.as_str(),
        }
    }
}

/// A query of one partition of the table or of an index, one page at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The table or index to read.
    pub index: Index,
    /// The partition key value.
    pub partition: String,
    /// Which sort keys to select.
    pub sort: SortKey,
    /// Ascending sort-key order when true, descending otherwise.
    pub forward: bool,
    /// Largest number of items in the page.
    pub limit: u32,
    /// Where the previous page stopped (its [`Page::cursor`]).
    pub cursor: Option<String>,
    /// How many matching items to pass over before the page starts, for APIs that page
    /// by number (the Fleet Integration API). Skipped items are read as keys only; on
    /// DynamoDB the cost still grows with the number skipped.
    pub skip: u64,
}

impl Query {
    /// All items of partition `pk` of the table, ascending, 50 per page.
    pub fn partition(pk: impl Into<String>) -> Self {
        Query {
            index: Index::Primary,
            partition: pk.into(),
            sort: SortKey::All,
            forward: true,
            limit: 50,
            cursor: None,
            skip: 0,
        }
    }

    /// Reads the partition `pk` of a secondary index instead.
    pub fn on_index(index: Index, pk: impl Into<String>) -> Self {
        Query { index, ..Query::partition(pk) }
    }

    /// Selects sort keys.
    pub fn sort(mut self, sort: SortKey) -> Self {
        self.sort = sort;
        self
    }

    /// Selects sort keys starting with `prefix`.
    pub fn begins_with(self, prefix: impl Into<String>) -> Self {
        self.sort(SortKey::BeginsWith(prefix.into()))
    }

    /// Descending sort-key order.
    pub fn reverse(mut self) -> Self {
        self.forward = false;
        self
    }

    /// At most `limit` items per page (clamped to 1..=1000).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit.clamp(1, MAX_PAGE);
        self
    }

    /// Continues after the page that answered `cursor`.
    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }

    /// Passes over the first `skip` matching items.
    pub fn skip(mut self, skip: u64) -> Self {
        self.skip = skip;
        self
    }
}

/// One page of a query.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    /// The items, in query order.
    pub items: Vec<Item>,
    /// Pass to [`Query::after`] for the next page; `None` when this was the last page.
    pub cursor: Option<String>,
}

/// One page of a query with each item as its JSON text, for hot read paths that decode
/// straight into a record type instead of building an [`Item`] first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JsonPage {
    /// The items' JSON objects, in query order.
    pub items: Vec<String>,
    /// Pass to [`Query::after`] for the next page; `None` when this was the last page.
    pub cursor: Option<String>,
}

/// The attributes a cursor records: the item's table key plus its index key.
pub fn cursor_for(item: &Item, index: Index) -> String {
    let (ipk, isk) = index.key_attributes();
    let mut fields = Map::new();
    for attr in [PK, SK, ipk, isk] {
        if let Some(value) = item.get(attr) {
            fields.insert(attr.to_string(), value.clone());
        }
    }
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&fields).expect("cursor serialises"))
}

/// Decodes a cursor made by [`cursor_for`]; a cursor that is not one answers `Invalid`.
pub fn decode_cursor(cursor: &str, index: Index) -> StoreResult<Map<String, Value>> {
    let invalid = || StoreError::Invalid("the pagination cursor is not valid".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let fields: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let (ipk, isk) = index.key_attributes();
    for attr in [PK, SK, ipk, isk] {
        if !fields.get(attr).is_some_and(Value::is_string) {
            return Err(invalid());
        }
    }
    Ok(fields)
}

/// Whether an item is live at `now_epoch` (no `ttl`, or `ttl` after now).
pub fn is_live(item: &Item, now_epoch: i64) -> bool {
    match item.get(TTL).and_then(Value::as_i64) {
        Some(ttl) => ttl > now_epoch,
        None => true,
    }
}

/// The single-table store.
#[async_trait]
pub trait Table: Send + Sync {
    /// The live item under `key`, if any.
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>>;

    /// The live item under `key` as JSON text, for callers that decode it straight into a
    /// record. Adapters that store JSON answer it without decoding; the default encodes
    /// the item [`Table::get`] answers.
    async fn get_json(&self, key: &Key) -> StoreResult<Option<String>> {
        self.get(key).await?.map(|item| serde_json::to_string(&item).map_err(StoreError::backend)).transpose()
    }

    /// Stores `item` whole, if `condition` holds; else `ConditionFailed`.
    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()>;

    /// Applies `update` if its condition holds and answers the item as written.
    async fn update(&self, update: Update) -> StoreResult<Item>;

    /// Deletes the item under `key` if `condition` holds (deleting nothing is fine with
    /// `Condition::Always`).
    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()>;

    /// One page of a query.
    async fn query(&self, query: &Query) -> StoreResult<Page>;

    /// The same page as [`Table::query`], each item as JSON text. Adapters that store JSON
    /// answer it without decoding; the default encodes the items of `query`.
    async fn query_json(&self, query: &Query) -> StoreResult<JsonPage> {
        let page = self.query(query).await?;
        let items =
            page.items.iter().map(serde_json::to_string).collect::<Result<_, _>>().map_err(StoreError::backend)?;
        Ok(JsonPage { items, cursor: page.cursor })
    }

    /// How many live items `query` selects (its `limit`, `cursor` and `skip` are ignored).
    async fn count(&self, query: &Query) -> StoreResult<u64>;

    /// All writes or none: if any condition fails, nothing is written and the answer is
    /// `TransactionCanceled` naming the failed writes.
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()>;
}
