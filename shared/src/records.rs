//! Typed records in the single table: a domain struct serialised as the item's attributes,
//! plus the key and index attributes that place it.

use crate::ports::Table;
use crate::ports::table::{Item, Key, PK, SK};
use crate::ports::{StoreError, StoreResult};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The item storing `record` under `key`, with extra attributes (index keys, `ttl`).
pub fn to_item<T: Serialize>(record: &T, key: &Key, extra: &[(&str, Value)]) -> StoreResult<Item> {
    let Value::Object(mut item) = serde_json::to_value(record).map_err(StoreError::backend)? else {
        return Err(StoreError::Invalid("a record must serialise to an object".into()));
    };
    item.insert(PK.into(), Value::String(key.pk.clone()));
    item.insert(SK.into(), Value::String(key.sk.clone()));
    for (name, value) in extra {
        item.insert((*name).to_string(), value.clone());
    }
    Ok(item)
}

/// The record stored in `item` (key and index attributes are ignored).
pub fn from_item<T: DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_json::from_value(Value::Object(item)).map_err(StoreError::backend)
}

/// The record stored as the JSON text of an item (from [`crate::ports::Table::query_json`]).
pub fn from_json<T: DeserializeOwned>(item: &str) -> StoreResult<T> {
    serde_json::from_str(item).map_err(StoreError::backend)
}

/// The record stored under `key`, if any, decoded straight from the stored JSON (no
/// intermediate attribute map): the point read of every hot path.
pub async fn get<T: DeserializeOwned>(table: &dyn Table, key: &Key) -> StoreResult<Option<T>> {
    table.get_json(key).await?.map(|json| from_json(&json)).transpose()
}
