//! The table port on DynamoDB. Conditions become condition expressions; TTL-expired items
//! (which DynamoDB deletes only eventually) are filtered out of every answer and count as
//! absent in every condition, like the embedded adapter.

use crate::ports::table::{
    self, Condition, Index, Item, Key, PK, Page, Query, SK, SortKey, TTL, Table, Update, VERSION, Write,
};
use crate::ports::{Clock, StoreError, StoreResult};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, Select,
    TransactWriteItem, Update as DynamoUpdate,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

type Attributes = HashMap<String, AttributeValue>;

/// The table port on a DynamoDB table with indexes `gsi1` and `gsi2` and TTL on `ttl`.
pub struct DynamoTable {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoTable {
    /// The table named `table`.
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        DynamoTable { client, table: table.into(), clock }
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }
}

fn to_attributes(item: &Item) -> StoreResult<Attributes> {
    serde_dynamo::aws_sdk_dynamodb_1::to_item(item).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn from_attributes(attributes: Attributes) -> StoreResult<Item> {
    serde_dynamo::aws_sdk_dynamodb_1::from_item(attributes).map_err(StoreError::backend)
}

fn key_attributes(key: &Key) -> Attributes {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(key.pk.clone())),
        (SK.to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

fn expired(attributes: &Attributes, now: i64) -> bool {
    matches!(attributes.get(TTL), Some(AttributeValue::N(n)) if n.parse::<i64>().is_ok_and(|ttl| ttl <= now))
}

/// Placeholder names and values of one expression.
#[derive(Default)]
struct Expression {
    names: HashMap<String, String>,
    values: Attributes,
}

impl Expression {
    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#n{}", self.names.len());
        let existing = self.names.iter().find(|(_, a)| a.as_str() == attribute).map(|(p, _)| p.clone());
        existing.unwrap_or_else(|| {
            self.names.insert(placeholder.clone(), attribute.to_string());
            placeholder
        })
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn json_value(&mut self, value: &Value) -> StoreResult<String> {
        let attribute = serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(value)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(self.value(attribute))
    }

    fn live(&mut self, now: i64) -> String {
        let ttl = self.name(TTL);
        let now = self.value(AttributeValue::N(now.to_string()));
        format!("(attribute_not_exists({ttl}) OR {ttl} > {now})")
    }

    /// The condition expression for `condition`, `None` when it always holds.
    fn condition(&mut self, condition: &Condition, now: i64) -> StoreResult<Option<String>> {
        let text = match condition {
            Condition::Always => return Ok(None),
            Condition::Absent => {
                let (pk, ttl) = (self.name(PK), self.name(TTL));
                let now = self.value(AttributeValue::N(now.to_string()));
                format!("(attribute_not_exists({pk}) OR {ttl} <= {now})")
            }
            Condition::Exists => {
                let pk = self.name(PK);
                format!("(attribute_exists({pk}) AND {})", self.live(now))
            }
            Condition::VersionEquals(n) => self.compare(VERSION, "=", &Value::from(*n), now)?,
            Condition::AtLeast(attribute, n) => self.compare(attribute, ">=", &Value::from(*n), now)?,
            Condition::Equals(attribute, value) => self.compare(attribute, "=", value, now)?,
            Condition::AtMostOrAbsent(attribute, n) => {
                let (pk, ttl, name) = (self.name(PK), self.name(TTL), self.name(attribute));
                let now = self.value(AttributeValue::N(now.to_string()));
                let n = self.value(AttributeValue::N(n.to_string()));
                format!(
                    "(attribute_not_exists({pk}) OR {ttl} <= {now} OR attribute_not_exists({name}) OR {name} <= {n})"
                )
            }
            Condition::And(all) => {
                let mut parts = Vec::new();
                for c in all {
                    parts.extend(self.condition(c, now)?);
                }
                match parts.len() {
                    0 => return Ok(None),
                    // DynamoDB refuses parentheses around a single, already parenthesised term.
                    1 => parts.remove(0),
                    _ => format!("({})", parts.join(" AND ")),
                }
            }
        };
        Ok(Some(text))
    }

    fn compare(&mut self, attribute: &str, operator: &str, value: &Value, now: i64) -> StoreResult<String> {
        let live = self.live(now);
        let name = self.name(attribute);
        let value = self.json_value(value)?;
        Ok(format!("({live} AND {name} {operator} {value})"))
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<Attributes> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// The update and condition expressions of `update`; the condition also requires the
/// stored item, if any, to be unexpired (an expired one is cleared and the update retried).
fn update_expressions(update: &Update, now: i64) -> StoreResult<(Expression, String, String)> {
    let mut e = Expression::default();
    let mut sets = Vec::new();
    for (attribute, value) in &update.set {
        let (name, value) = (e.name(attribute), e.json_value(value)?);
        sets.push(format!("{name} = {value}"));
    }
    for (attribute, by) in &update.add {
        let name = e.name(attribute);
        let zero = e.value(AttributeValue::N("0".into()));
        let by = e.value(AttributeValue::N(by.to_string()));
        sets.push(format!("{name} = if_not_exists({name}, {zero}) + {by}"));
    }
    let removes: Vec<String> = update.remove.iter().map(|a| e.name(a)).collect();
    let mut text = String::new();
    if !sets.is_empty() {
        text.push_str(&format!("SET {}", sets.join(", ")));
    }
    if !removes.is_empty() {
        text.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    let pk = e.name(PK);
    let live = e.live(now);
    let fresh = format!("(attribute_not_exists({pk}) OR {live})");
    let condition = match e.condition(&update.condition, now)? {
        Some(user) => format!("{fresh} AND {user}"),
        None => fresh,
    };
    Ok((e, text.trim().to_string(), condition))
}

fn service_code<E, R>(err: &SdkError<E, R>) -> Option<&str>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code())
}

fn map_error<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match service_code(&err) {
        Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
        Some("ResourceNotFoundException") => StoreError::NotFound("table".into()),
        Some("ValidationException") => {
            StoreError::Invalid(err.as_service_error().and_then(|e| e.message()).unwrap_or("validation").to_string())
        }
        _ => StoreError::backend(aws_sdk_dynamodb::error::DisplayErrorContext(err)),
    }
}

impl DynamoTable {
    async fn clear_expired(&self, key: &Key, now: i64) -> StoreResult<()> {
        let mut e = Expression::default();
        let ttl = e.name(TTL);
        let at = e.value(AttributeValue::N(now.to_string()));
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .condition_expression(format!("{ttl} <= {at}"))
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await;
        match result.map_err(map_error) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn try_update(&self, update: &Update, now: i64) -> StoreResult<Result<Item, Option<Attributes>>> {
        let (e, text, condition) = update_expressions(update, now)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(&update.key)))
            .update_expression(text)
            .condition_expression(condition)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Ok(from_attributes(output.attributes.unwrap_or_default())?)),
            Err(err) => match err.as_service_error() {
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e)) => {
                    Ok(Err(e.item.clone()))
                }
                _ => Err(map_error(err)),
            },
        }
    }

    fn put_request(&self, item: &Item, condition: &Condition, now: i64) -> StoreResult<Put> {
        let mut e = Expression::default();
        let condition = e.condition(condition, now)?;
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_attributes(item)?))
            .set_condition_expression(condition)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(StoreError::backend)
    }

    fn transact_item(&self, write: &Write, now: i64) -> StoreResult<TransactWriteItem> {
        let item = match write {
            Write::Put { item, condition } => TransactWriteItem::builder().put(self.put_request(item, condition, now)?),
            Write::Update(update) => {
                let (e, text, condition) = update_expressions(update, now)?;
                let request = DynamoUpdate::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attributes(&update.key)))
                    .update_expression(text)
                    .condition_expression(condition)
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .build()
                    .map_err(StoreError::backend)?;
                TransactWriteItem::builder().update(request)
            }
            Write::Delete { key, condition } => {
                let mut e = Expression::default();
                let condition = e.condition(condition, now)?;
                let request = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attributes(key)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .build()
                    .map_err(StoreError::backend)?;
                TransactWriteItem::builder().delete(request)
            }
            Write::Check { key, condition } => {
                let mut e = Expression::default();
                let condition = match e.condition(condition, now)? {
                    Some(condition) => condition,
                    None => {
                        let pk = e.name(PK);
                        format!("attribute_exists({pk}) OR attribute_not_exists({pk})")
                    }
                };
                let request = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attributes(key)))
                    .condition_expression(condition)
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .build()
                    .map_err(StoreError::backend)?;
                TransactWriteItem::builder().condition_check(request)
            }
        };
        Ok(item.build())
    }

    /// One attempt at a transaction: `Ok(Err(failed, expired))` when cancelled by
    /// conditions, with the failed indexes and the keys of expired items updates met.
    /// A cancellation only by other transactions on the same items (`TransactionConflict`,
    /// which DynamoDB answers where a single database would have waited for a lock) is
    /// retried a few times after a short random pause.
    async fn try_transact(&self, writes: &[Write], now: i64) -> StoreResult<Result<(), (Vec<usize>, Vec<Key>)>> {
        let items = writes.iter().map(|w| self.transact_item(w, now)).collect::<StoreResult<Vec<_>>>()?;
        let mut attempt = 0;
        loop {
            let result = self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let err = match result {
                Ok(_) => return Ok(Ok(())),
                Err(err) => err,
            };
            use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
            let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() else {
                return Err(map_error(err));
            };
            match classify_cancellation(cancelled.cancellation_reasons(), writes, now)? {
                Cancellation::Conditions { failed, expired_keys } => return Ok(Err((failed, expired_keys))),
                Cancellation::Conflict if attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(conflict_pause(attempt)).await;
                }
                Cancellation::Conflict | Cancellation::Other => {
                    return Err(StoreError::TransactionCanceled { failed: Vec::new() });
                }
            }
        }
    }
}

/// Times a transaction cancelled only by conflicting transactions is tried again.
const CONFLICT_RETRIES: u32 = 5;

/// The pause before conflict retry `attempt` (1-based): a random time up to 10 ms × 2^attempt,
/// so that the transactions that collided do not collide again.
fn conflict_pause(attempt: u32) -> std::time::Duration {
    let most_ms = 10u64 << attempt.min(6);
    std::time::Duration::from_millis(rand::random_range(1..=most_ms))
}

/// Why DynamoDB cancelled a transaction.
#[derive(Debug, PartialEq)]
enum Cancellation {
    /// Conditions of the writes at `failed` did not hold; `expired_keys` are the updates
    /// that met a TTL-expired item (which counts as absent and is cleared, then retried).
    Conditions { failed: Vec<usize>, expired_keys: Vec<Key> },
    /// Only other transactions on the same items were in the way: trying again may succeed.
    Conflict,
    /// Something else (capacity, validation): answered as a cancellation without failed writes.
    Other,
}

/// Reads DynamoDB's per-write cancellation reasons into a [`Cancellation`].
fn classify_cancellation(
    reasons: &[aws_sdk_dynamodb::types::CancellationReason],
    writes: &[Write],
    now: i64,
) -> StoreResult<Cancellation> {
    let mut failed = Vec::new();
    let mut expired_keys = Vec::new();
    for (index, reason) in reasons.iter().enumerate() {
        if reason.code() != Some("ConditionalCheckFailed") {
            continue;
        }
        failed.push(index);
        let old_is_expired = reason.item().is_some_and(|old| expired(old, now));
        if old_is_expired && matches!(writes[index], Write::Update(_)) {
            expired_keys.push(writes[index].key()?);
        }
    }
    if !failed.is_empty() {
        return Ok(Cancellation::Conditions { failed, expired_keys });
    }
    if reasons.iter().any(|reason| reason.code() == Some("TransactionConflict")) {
        return Ok(Cancellation::Conflict);
    }
    Ok(Cancellation::Other)
}

/// The key condition and live-item filter of `query`, with the expression that names
/// their attributes and values.
fn query_expression(query: &Query, now: i64) -> (Expression, String, String) {
    let (ipk, isk) = query.index.key_attributes();
    let mut e = Expression::default();
    let partition_name = e.name(ipk);
    let partition_value = e.value(AttributeValue::S(query.partition.clone()));
    let mut key_condition = format!("{partition_name} = {partition_value}");
    let sort_name = if query.sort == SortKey::All { String::new() } else { e.name(isk) };
    let mut sort_value = |v: &String| e.value(AttributeValue::S(v.clone()));
    let sort_clause = match &query.sort {
        SortKey::All => None,
        SortKey::Equals(v) => Some(format!("{sort_name} = {}", sort_value(v))),
        SortKey::BeginsWith(p) => Some(format!("begins_with({sort_name}, {})", sort_value(p))),
        SortKey::Between(lo, hi) => Some(format!("{sort_name} BETWEEN {} AND {}", sort_value(lo), sort_value(hi))),
        SortKey::AtLeast(lo) => Some(format!("{sort_name} >= {}", sort_value(lo))),
        SortKey::AtMost(hi) => Some(format!("{sort_name} <= {}", sort_value(hi))),
    };
    if let Some(clause) = sort_clause {
        key_condition.push_str(&format!(" AND {clause}"));
    }
    let filter = e.live(now);
    (e, key_condition, filter)
}

impl DynamoTable {
    /// A DynamoDB query selecting what `query` selects (key condition, live filter, strong
    /// reads on the table); callers add paging and what to answer. `e` must already name
    /// every attribute the caller's expressions use.
    fn query_request(
        &self,
        query: &Query,
        e: &Expression,
        key_condition: &str,
        filter: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .set_index_name(query.index.name().map(str::to_string))
            .key_condition_expression(key_condition)
            .filter_expression(filter)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .consistent_read(query.index == Index::Primary)
    }

    /// Reads (keys only) past the first `query.skip` matching items from `start`; answers
    /// the key to continue after, or `None` when fewer items match.
    async fn skip_keys(&self, query: &Query, mut start: Option<Attributes>) -> StoreResult<Option<Attributes>> {
        let (mut e, key_condition, filter) = query_expression(query, self.now());
        let (ipk, isk) = query.index.key_attributes();
        let mut projected: Vec<&str> = vec![PK, SK];
        for attribute in [ipk, isk] {
            if !projected.contains(&attribute) {
                projected.push(attribute);
            }
        }
        let projection = projected.iter().map(|a| e.name(a)).collect::<Vec<_>>().join(", ");
        let mut remaining = query.skip;
        loop {
            let output = self
                .query_request(query, &e, &key_condition, &filter)
                .projection_expression(&projection)
                .scan_index_forward(query.forward)
                .limit(remaining.min(1000) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_error)?;
            let keys = output.items.unwrap_or_default();
            remaining -= keys.len() as u64;
            if remaining == 0 {
                return Ok(keys.into_iter().last().or(output.last_evaluated_key));
            }
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(None),
            }
        }
    }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_error)?;
        match output.item {
            Some(attributes) if !expired(&attributes, self.now()) => Ok(Some(from_attributes(attributes)?)),
            _ => Ok(None),
        }
    }

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        Key::of(&item)?;
        let mut e = Expression::default();
        let condition = e.condition(&condition, self.now())?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attributes(&item)?))
            .set_condition_expression(condition)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn update(&self, update: Update) -> StoreResult<Item> {
        update.validate()?;
        let now = self.now();
        match self.try_update(&update, now).await? {
            Ok(item) => Ok(item),
            Err(Some(old)) if expired(&old, now) => {
                self.clear_expired(&update.key, now).await?;
                self.try_update(&update, now).await?.map_err(|_| StoreError::ConditionFailed)
            }
            Err(_) => Err(StoreError::ConditionFailed),
        }
    }

    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
        let mut e = Expression::default();
        let condition = e.condition(&condition, self.now())?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn query(&self, query: &Query) -> StoreResult<Page> {
        let mut start: Option<Attributes> = match &query.cursor {
            Some(cursor) => Some(
                table::decode_cursor(cursor, query.index)?
                    .into_iter()
                    .map(|(k, v)| (k, AttributeValue::S(v.as_str().unwrap_or_default().to_string())))
                    .collect(),
            ),
            None => None,
        };
        if query.skip > 0 {
            match self.skip_keys(query, start.take()).await? {
                Some(after_skipped) => start = Some(after_skipped),
                None => return Ok(Page::default()),
            }
        }
        let (e, key_condition, filter) = query_expression(query, self.now());
        let wanted = query.limit as usize + 1;
        let mut items = Vec::new();
        loop {
            let output = self
                .query_request(query, &e, &key_condition, &filter)
                .scan_index_forward(query.forward)
                .limit((wanted - items.len()) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_error)?;
            for attributes in output.items.unwrap_or_default() {
                items.push(from_attributes(attributes)?);
            }
            start = output.last_evaluated_key;
            if items.len() >= wanted || start.is_none() {
                break;
            }
        }
        let more = items.len() > query.limit as usize;
        items.truncate(query.limit as usize);
        let cursor = more.then(|| table::cursor_for(items.last().expect("a full page"), query.index));
        Ok(Page { items, cursor })
    }

    async fn count(&self, query: &Query) -> StoreResult<u64> {
        let (e, key_condition, filter) = query_expression(query, self.now());
        let mut start: Option<Attributes> = None;
        let mut total = 0u64;
        loop {
            let output = self
                .query_request(query, &e, &key_condition, &filter)
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_error)?;
            total += output.count.max(0) as u64;
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(total);
            }
        }
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        table::validate_transaction(&writes)?;
        let now = self.now();
        match self.try_transact(&writes, now).await? {
            Ok(()) => Ok(()),
            Err((failed, expired_keys)) if expired_keys.is_empty() => Err(StoreError::TransactionCanceled { failed }),
            Err((_, expired_keys)) => {
                for key in &expired_keys {
                    self.clear_expired(key, now).await?;
                }
                self.try_transact(&writes, now).await?.map_err(|(failed, _)| StoreError::TransactionCanceled { failed })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::CancellationReason;

    fn reasons(codes: &[&str]) -> Vec<CancellationReason> {
        codes.iter().map(|code| CancellationReason::builder().code(*code).build()).collect()
    }

    fn updates(count: usize) -> Vec<Write> {
        (0..count).map(|i| Write::Update(Update::new(Key::new(format!("P#{i}"), "S")))).collect()
    }

    // Issue [5 of 8]: two releases reserving on one user's usage item at once must not
    // answer `conflict` on DynamoDB; a conflict-only cancellation is retried.
    #[test]
    fn a_conflict_only_cancellation_is_retryable() {
        let conflict = reasons(&["None", "TransactionConflict", "None"]);
        assert_eq!(classify_cancellation(&conflict, &updates(3), 0).unwrap(), Cancellation::Conflict);
    }

    #[test]
    fn a_failed_condition_wins_over_a_conflict() {
        let mixed = reasons(&["ConditionalCheckFailed", "TransactionConflict"]);
        let expected = Cancellation::Conditions { failed: vec![0], expired_keys: Vec::new() };
        assert_eq!(classify_cancellation(&mixed, &updates(2), 0).unwrap(), expected);
    }

    #[test]
    fn other_cancellations_are_not_retried() {
        let throttled = reasons(&["None", "ThrottlingError"]);
        assert_eq!(classify_cancellation(&throttled, &updates(2), 0).unwrap(), Cancellation::Other);
    }

    #[test]
    fn conflict_pauses_grow_and_stay_bounded() {
        for attempt in 1..=CONFLICT_RETRIES {
            let pause = conflict_pause(attempt);
            assert!(pause >= std::time::Duration::from_millis(1));
            assert!(pause <= std::time::Duration::from_millis(10 << attempt));
        }
    }
}
