//! Table port contract.

use crate::fixtures::Fixture;
use serde_json::{Value, json};
use shared::ports::table::{Condition, Index, Item, Key, Query, SortKey, Update, Write};
use shared::ports::{Clock, StoreError};

fn item(value: Value) -> Item {
    match value {
        Value::Object(map) => map,
        _ => panic!("items are objects"),
    }
}

fn keyed(pk: &str, sk: &str) -> Item {
    item(json!({"pk": pk, "sk": sk}))
}

async fn all_pages(f: &Fixture, query: Query) -> (Vec<Item>, Vec<usize>) {
    let (mut items, mut sizes, mut cursor) = (Vec::new(), Vec::new(), None);
    loop {
        let page = f.table.query(&query.clone().after(cursor)).await.unwrap();
        sizes.push(page.items.len());
        items.extend(page.items);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return (items, sizes),
        }
        assert!(sizes.len() < 100, "pagination does not end");
    }
}

fn sks(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i["sk"].as_str().unwrap().to_string()).collect()
}

pub async fn table_round_trip_keeps_json_types(f: &Fixture) {
    let stored = item(json!({
        "pk": "ORG#1", "sk": "THING#1", "name": "Ünïcode ✓", "count": 42, "ratio": 0.5,
        "on": true, "none": null, "tags": ["a", "b"], "nested": {"depth": 2, "list": [1, {"x": "y"}]}
    }));
    f.table.put(stored.clone(), Condition::Always).await.unwrap();
    assert_eq!(f.table.get(&Key::new("ORG#1", "THING#1")).await.unwrap(), Some(stored));
    assert_eq!(f.table.get(&Key::new("ORG#1", "THING#2")).await.unwrap(), None);
    let missing_key = f.table.put(item(json!({"pk": "ORG#1"})), Condition::Always).await;
    assert!(matches!(missing_key, Err(StoreError::Invalid(_))));
}

pub async fn table_conditional_put_conflict(f: &Fixture) {
    let first = item(json!({"pk": "ORG#1", "sk": "USER#1", "email": "a@example.org"}));
    f.table.put(first.clone(), Condition::Absent).await.unwrap();
    let second = item(json!({"pk": "ORG#1", "sk": "USER#1", "email": "b@example.org"}));
    assert!(matches!(f.table.put(second, Condition::Absent).await, Err(StoreError::ConditionFailed)));
    assert_eq!(f.table.get(&Key::new("ORG#1", "USER#1")).await.unwrap(), Some(first), "the loser changed nothing");
    let needs_existing = f.table.put(keyed("ORG#1", "USER#2"), Condition::Exists).await;
    assert!(matches!(needs_existing, Err(StoreError::ConditionFailed)));
}

pub async fn table_version_condition(f: &Fixture) {
    f.table.put(item(json!({"pk": "P", "sk": "S", "version": 1, "v": "one"})), Condition::Absent).await.unwrap();
    let v2 = item(json!({"pk": "P", "sk": "S", "version": 2, "v": "two"}));
    f.table.put(v2.clone(), Condition::VersionEquals(1)).await.unwrap();
    let stale = item(json!({"pk": "P", "sk": "S", "version": 2, "v": "stale"}));
    assert!(matches!(f.table.put(stale, Condition::VersionEquals(1)).await, Err(StoreError::ConditionFailed)));
    assert_eq!(f.table.get(&Key::new("P", "S")).await.unwrap(), Some(v2));
}

pub async fn table_atomic_decrement_refused_at_the_floor(f: &Fixture) {
    f.table.put(item(json!({"pk": "ORG#1", "sk": "QUOTA#u", "remaining": 5})), Condition::Absent).await.unwrap();
    let take = |n: i64| {
        Update::new(Key::new("ORG#1", "QUOTA#u")).add("remaining", -n).when(Condition::AtLeast("remaining".into(), n))
    };
    let after = f.table.update(take(3)).await.unwrap();
    assert_eq!(after["remaining"], json!(2));
    assert!(matches!(f.table.update(take(3)).await, Err(StoreError::ConditionFailed)));
    let after = f.table.update(take(2)).await.unwrap();
    assert_eq!(after["remaining"], json!(0));
    assert!(matches!(f.table.update(take(1)).await, Err(StoreError::ConditionFailed)));
    assert_eq!(f.table.get(&Key::new("ORG#1", "QUOTA#u")).await.unwrap().unwrap()["remaining"], json!(0));
}

/// A counter that starts at zero grows only while it stays at most a bound: the quota
/// reservation's write (D-QUOTA-UNIT), on a missing item, a missing attribute and a
/// stored one.
pub async fn table_counter_grows_up_to_a_ceiling(f: &Fixture) {
    let key = Key::new("ORG#1", "QUOTAUSE#u#2026-11");
    let reserve = |n: i64, limit: i64| {
        Update::new(key.clone()).add("consumed", n).when(Condition::AtMostOrAbsent("consumed".into(), limit - n))
    };
    assert_eq!(f.table.update(reserve(6, 10)).await.unwrap()["consumed"], json!(6), "no item yet");
    assert!(matches!(f.table.update(reserve(5, 10)).await, Err(StoreError::ConditionFailed)), "6 + 5 > 10");
    assert_eq!(f.table.update(reserve(4, 10)).await.unwrap()["consumed"], json!(10), "exactly the limit");
    assert!(matches!(f.table.update(reserve(1, 10)).await, Err(StoreError::ConditionFailed)));
    let other = Key::new("ORG#1", "QUOTAUSE#v#2026-11");
    f.table.put(item(json!({"pk": "ORG#1", "sk": "QUOTAUSE#v#2026-11", "used": 3})), Condition::Absent).await.unwrap();
    let first = Update::new(other.clone()).add("consumed", 2).when(Condition::AtMostOrAbsent("consumed".into(), 0));
    assert_eq!(f.table.update(first).await.unwrap()["consumed"], json!(2), "attribute missing counts as zero");
    assert_eq!(f.table.get(&key).await.unwrap().unwrap()["consumed"], json!(10));
}

pub async fn table_update_creates_missing_item(f: &Fixture) {
    let key = Key::new("ORG#1", "COUNTER#x");
    let written = f.table.update(Update::new(key.clone()).add("n", 1).set("label", "x")).await.unwrap();
    assert_eq!(written, item(json!({"pk": "ORG#1", "sk": "COUNTER#x", "n": 1, "label": "x"})));
    let written = f.table.update(Update::new(key.clone()).add("n", 4).remove("label")).await.unwrap();
    assert_eq!(written, item(json!({"pk": "ORG#1", "sk": "COUNTER#x", "n": 5})));
    let refused = f.table.update(Update::new(Key::new("ORG#1", "COUNTER#y")).add("n", 1).when(Condition::Exists)).await;
    assert!(matches!(refused, Err(StoreError::ConditionFailed)));
    assert_eq!(f.table.get(&Key::new("ORG#1", "COUNTER#y")).await.unwrap(), None);
    assert!(matches!(f.table.update(Update::new(key.clone()).set("pk", "other")).await, Err(StoreError::Invalid(_))));
    assert!(matches!(f.table.update(Update::new(key)).await, Err(StoreError::Invalid(_))));
}

pub async fn table_conditional_delete(f: &Fixture) {
    f.table.put(item(json!({"pk": "P", "sk": "S", "state": "Held"})), Condition::Absent).await.unwrap();
    let key = Key::new("P", "S");
    let wrong_state = f.table.delete(&key, Condition::Equals("state".into(), json!("Printing"))).await;
    assert!(matches!(wrong_state, Err(StoreError::ConditionFailed)));
    assert!(f.table.get(&key).await.unwrap().is_some());
    f.table.delete(&key, Condition::Equals("state".into(), json!("Held"))).await.unwrap();
    assert_eq!(f.table.get(&key).await.unwrap(), None);
    f.table.delete(&key, Condition::Always).await.unwrap();
    assert!(matches!(f.table.delete(&key, Condition::Exists).await, Err(StoreError::ConditionFailed)));
}

pub async fn table_transact_all_or_nothing(f: &Fixture) {
    f.table.put(item(json!({"pk": "ORG#1", "sk": "QUOTA#u", "remaining": 1})), Condition::Absent).await.unwrap();
    f.table.put(keyed("ORG#1", "TAKEN"), Condition::Absent).await.unwrap();
    let writes = vec![
        Write::Put { item: keyed("ORG#1", "NEW#1"), condition: Condition::Absent },
        Write::Update(
            Update::new(Key::new("ORG#1", "QUOTA#u"))
                .add("remaining", -5)
                .when(Condition::AtLeast("remaining".into(), 5)),
        ),
        Write::Delete { key: Key::new("ORG#1", "TAKEN"), condition: Condition::Always },
        Write::Check { key: Key::new("ORG#1", "NOPE"), condition: Condition::Exists },
    ];
    match f.table.transact(writes).await {
        Err(StoreError::TransactionCanceled { failed }) => assert_eq!(failed, vec![1, 3]),
        other => panic!("expected a cancelled transaction, got {other:?}"),
    }
    assert_eq!(f.table.get(&Key::new("ORG#1", "NEW#1")).await.unwrap(), None, "no write happened");
    assert!(f.table.get(&Key::new("ORG#1", "TAKEN")).await.unwrap().is_some(), "no delete happened");
    assert_eq!(f.table.get(&Key::new("ORG#1", "QUOTA#u")).await.unwrap().unwrap()["remaining"], json!(1));

    let writes = vec![
        Write::Put { item: keyed("ORG#1", "NEW#1"), condition: Condition::Absent },
        Write::Update(
            Update::new(Key::new("ORG#1", "QUOTA#u"))
                .add("remaining", -1)
                .when(Condition::AtLeast("remaining".into(), 1)),
        ),
        Write::Delete { key: Key::new("ORG#1", "TAKEN"), condition: Condition::Exists },
        Write::Check { key: Key::new("ORG#1", "NEW#1-NOT"), condition: Condition::Absent },
    ];
    f.table.transact(writes).await.unwrap();
    assert!(f.table.get(&Key::new("ORG#1", "NEW#1")).await.unwrap().is_some());
    assert_eq!(f.table.get(&Key::new("ORG#1", "TAKEN")).await.unwrap(), None);
    assert_eq!(f.table.get(&Key::new("ORG#1", "QUOTA#u")).await.unwrap().unwrap()["remaining"], json!(0));
}

pub async fn table_transact_limits(f: &Fixture) {
    let hundred: Vec<Write> = (0..100)
        .map(|i| Write::Put { item: keyed("ORG#1", &format!("ITEM#{i:03}")), condition: Condition::Absent })
        .collect();
    f.table.transact(hundred).await.unwrap();
    let (items, _) = all_pages(f, Query::partition("ORG#1").limit(1000)).await;
    assert_eq!(items.len(), 100);
    let too_many: Vec<Write> = (0..101)
        .map(|i| Write::Put { item: keyed("ORG#2", &format!("ITEM#{i}")), condition: Condition::Always })
        .collect();
    assert!(matches!(f.table.transact(too_many).await, Err(StoreError::Invalid(_))));
    let twice = vec![
        Write::Put { item: keyed("ORG#2", "A"), condition: Condition::Always },
        Write::Delete { key: Key::new("ORG#2", "A"), condition: Condition::Always },
    ];
    assert!(matches!(f.table.transact(twice).await, Err(StoreError::Invalid(_))));
    assert!(matches!(f.table.transact(Vec::new()).await, Err(StoreError::Invalid(_))));
}

async fn put_many(f: &Fixture, pk: &str, count: usize) {
    for chunk in (0..count).collect::<Vec<_>>().chunks(100) {
        let writes = chunk
            .iter()
            .map(|i| Write::Put {
                item: item(json!({"pk": pk, "sk": format!("JOB#{i:04}"), "n": i})),
                condition: Condition::Always,
            })
            .collect();
        f.table.transact(writes).await.unwrap();
    }
}

pub async fn table_query_pagination_250_both_directions(f: &Fixture) {
    put_many(f, "ORG#1", 250).await;
    f.table.put(keyed("ORG#1", "ZZZ"), Condition::Always).await.unwrap();
    f.table.put(keyed("ORG#2", "JOB#0001"), Condition::Always).await.unwrap();
    let expected: Vec<String> = (0..250).map(|i| format!("JOB#{i:04}")).collect();

    let (items, sizes) = all_pages(f, Query::partition("ORG#1").begins_with("JOB#").limit(100)).await;
    assert_eq!(sks(&items), expected);
    assert_eq!(sizes, vec![100, 100, 50]);

    let (items, sizes) = all_pages(f, Query::partition("ORG#1").begins_with("JOB#").limit(100).reverse()).await;
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(sks(&items), reversed);
    assert_eq!(sizes, vec![100, 100, 50]);

    let (items, sizes) = all_pages(f, Query::partition("ORG#1").begins_with("JOB#").limit(125)).await;
    assert_eq!(items.len(), 250);
    assert_eq!(sizes, vec![125, 125], "an exactly full last page has no cursor");
}

pub async fn table_query_sort_key_ranges(f: &Fixture) {
    put_many(f, "ORG#1", 30).await;
    let q = |sort: SortKey| Query::partition("ORG#1").sort(sort).limit(1000);
    let (items, _) = all_pages(f, q(SortKey::Between("JOB#0010".into(), "JOB#0014".into()))).await;
    assert_eq!(sks(&items), ["JOB#0010", "JOB#0011", "JOB#0012", "JOB#0013", "JOB#0014"]);
    let (items, _) = all_pages(f, q(SortKey::AtLeast("JOB#0027".into()))).await;
    assert_eq!(sks(&items), ["JOB#0027", "JOB#0028", "JOB#0029"]);
    let (items, _) = all_pages(f, q(SortKey::AtMost("JOB#0001".into()))).await;
    assert_eq!(sks(&items), ["JOB#0000", "JOB#0001"]);
    let (items, _) = all_pages(f, q(SortKey::Equals("JOB#0007".into()))).await;
    assert_eq!(sks(&items), ["JOB#0007"]);
    let (items, _) = all_pages(f, q(SortKey::BeginsWith("JOB#002".into()))).await;
    assert_eq!(items.len(), 10);
}

pub async fn table_query_secondary_indexes_paginate(f: &Fixture) {
    for i in 0..120 {
        let user = format!("USER#{:03}", i % 7);
        let stored = item(json!({
            "pk": format!("ORG#{}", i % 3), "sk": format!("JOB#{i:03}"),
            "gsi1pk": "STATE#Held", "gsi1sk": format!("2026-11-{:02}", 1 + i % 10),
            "gsi2pk": user, "gsi2sk": format!("JOB#{i:03}"),
        }));
        f.table.put(stored, Condition::Always).await.unwrap();
    }
    f.table
        .put(item(json!({"pk": "ORG#9", "sk": "NOINDEX", "gsi1pk": "STATE#Held"})), Condition::Always)
        .await
        .unwrap();

    let (items, sizes) = all_pages(f, Query::on_index(Index::Gsi1, "STATE#Held").limit(50)).await;
    assert_eq!(items.len(), 120, "items without both index keys stay out of the index");
    assert_eq!(sizes, vec![50, 50, 20]);
    let dates: Vec<&str> = items.iter().map(|i| i["gsi1sk"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "ascending by index sort key");
    let mut unique = sks(&items);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 120, "ties in the index sort key neither repeat nor lose items");

    let (items, _) = all_pages(f, Query::on_index(Index::Gsi1, "STATE#Held").limit(7).reverse()).await;
    assert_eq!(items.len(), 120);
    let dates: Vec<&str> = items.iter().map(|i| i["gsi1sk"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "descending by index sort key");

    let (items, _) = all_pages(f, Query::on_index(Index::Gsi2, "USER#003").begins_with("JOB#").limit(5)).await;
    let expected: Vec<String> = (0..120).filter(|i| i % 7 == 3).map(|i| format!("JOB#{i:03}")).collect();
    assert_eq!(sks(&items), expected);
}

/// Numbered pages (the Fleet Integration API): `skip` passes over items, alone or after a
/// cursor and on an index; `count` counts live items only.
pub async fn table_query_skip_and_count(f: &Fixture) {
    put_many(f, "ORG#1", 250).await;
    let now = f.clock.now().timestamp();
    let expired = item(json!({"pk": "ORG#1", "sk": "JOB#0100x", "ttl": now - 10}));
    f.table.put(expired, Condition::Always).await.unwrap();
    let jobs = || Query::partition("ORG#1").begins_with("JOB#");

    assert_eq!(f.table.count(&jobs()).await.unwrap(), 250, "expired items are not counted");
    assert_eq!(f.table.count(&Query::partition("ORG#404")).await.unwrap(), 0);
    let page = f.table.query(&jobs().limit(100).skip(200)).await.unwrap();
    assert_eq!(sks(&page.items), (200..250).map(|i| format!("JOB#{i:04}")).collect::<Vec<_>>());
    assert!(page.cursor.is_none());
    let page = f.table.query(&jobs().limit(2).skip(102)).await.unwrap();
    assert_eq!(sks(&page.items), ["JOB#0102", "JOB#0103"].map(String::from), "an expired item is not skipped as one");
    let page = f.table.query(&jobs().limit(2).skip(5).reverse()).await.unwrap();
    assert_eq!(sks(&page.items), ["JOB#0244", "JOB#0243"].map(String::from));
    let first = f.table.query(&jobs().limit(10)).await.unwrap();
    let page = f.table.query(&jobs().limit(2).after(first.cursor).skip(10)).await.unwrap();
    assert_eq!(sks(&page.items), ["JOB#0020", "JOB#0021"].map(String::from), "skip counts from the cursor");
    assert!(f.table.query(&jobs().skip(250)).await.unwrap().items.is_empty());
    assert!(f.table.query(&jobs().skip(10_000)).await.unwrap().items.is_empty());

    for i in 0..30 {
        let indexed = item(json!({"pk": format!("P#{i:02}"), "sk": "X", "gsi1pk": "ALL", "gsi1sk": format!("{i:02}")}));
        f.table.put(indexed, Condition::Always).await.unwrap();
    }
    assert_eq!(f.table.count(&Query::on_index(Index::Gsi1, "ALL")).await.unwrap(), 30);
    let page = f.table.query(&Query::on_index(Index::Gsi1, "ALL").limit(2).skip(28)).await.unwrap();
    let keys: Vec<&str> = page.items.iter().map(|i| i["gsi1sk"].as_str().unwrap()).collect();
    assert_eq!(keys, ["28", "29"]);
}

/// `query_json` answers the same page as `query`, with the same cursor, as JSON text.
pub async fn table_query_json_matches_query(f: &Fixture) {
    put_many(f, "ORG#1", 25).await;
    let jobs = || Query::partition("ORG#1").begins_with("JOB#").limit(10);
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let typed = f.table.query(&jobs().after(cursor.clone())).await.unwrap();
        let text = f.table.query_json(&jobs().after(cursor)).await.unwrap();
        let decoded: Vec<Item> = text.items.iter().map(|t| serde_json::from_str(t).unwrap()).collect();
        assert_eq!(decoded, typed.items);
        assert_eq!(text.cursor.is_some(), typed.cursor.is_some());
        pages += 1;
        cursor = text.cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let skipped = f.table.query_json(&jobs().skip(20)).await.unwrap();
    assert_eq!(skipped.items.len(), 5);
    assert!(skipped.items[0].contains("JOB#0020"));
}

/// `get_json` answers the item `get` answers, as JSON text, and nothing for a missing key.
pub async fn table_get_json_matches_get(f: &Fixture) {
    let stored = item(json!({"pk": "ORG#1", "sk": "JOB#1", "pages": 12, "ratio": 0.5, "tags": ["a", "b"],
        "options": {"duplex": "long", "copies": 2}, "held": true, "note": null}));
    f.table.put(stored.clone(), Condition::Always).await.unwrap();
    let key = Key::new("ORG#1", "JOB#1");
    let text = f.table.get_json(&key).await.unwrap().expect("stored item");
    let decoded: Item = serde_json::from_str(&text).unwrap();
    assert_eq!(Some(decoded), f.table.get(&key).await.unwrap());
    assert_eq!(f.table.get_json(&Key::new("ORG#1", "JOB#2")).await.unwrap(), None);
}

pub async fn table_invalid_cursor_is_refused(f: &Fixture) {
    put_many(f, "ORG#1", 3).await;
    for cursor in ["not-a-cursor", "eyJ4IjoxfQ"] {
        let result = f.table.query(&Query::partition("ORG#1").after(Some(cursor.into()))).await;
        assert!(matches!(result, Err(StoreError::Invalid(_))), "{cursor}");
    }
}

pub async fn table_expired_ttl_items_are_invisible(f: &Fixture) {
    let now = f.clock.now_epoch();
    f.table.put(item(json!({"pk": "ORG#1", "sk": "PIN#old", "ttl": now - 10})), Condition::Always).await.unwrap();
    f.table.put(item(json!({"pk": "ORG#1", "sk": "PIN#new", "ttl": now + 100})), Condition::Always).await.unwrap();
    f.table.put(item(json!({"pk": "ORG#1", "sk": "PIN#forever"})), Condition::Always).await.unwrap();
    assert_eq!(f.table.get(&Key::new("ORG#1", "PIN#old")).await.unwrap(), None);
    assert!(f.table.get(&Key::new("ORG#1", "PIN#new")).await.unwrap().is_some());
    let (items, _) = all_pages(f, Query::partition("ORG#1").limit(1)).await;
    assert_eq!(sks(&items), ["PIN#forever", "PIN#new"]);

    f.clock.advance(chrono::Duration::seconds(200));
    assert_eq!(f.table.get(&Key::new("ORG#1", "PIN#new")).await.unwrap(), None, "expires as time passes");
    let (items, _) = all_pages(f, Query::partition("ORG#1")).await;
    assert_eq!(sks(&items), ["PIN#forever"]);

    // An expired item counts as absent for conditions, and updates start from scratch.
    f.table.put(item(json!({"pk": "ORG#1", "sk": "PIN#old", "v": 2})), Condition::Absent).await.unwrap();
    let attempts = Key::new("ORG#1", "ATTEMPTS#badge");
    let expiry = f.clock.now_epoch() + 60;
    f.table
        .put(item(json!({"pk": "ORG#1", "sk": "ATTEMPTS#badge", "n": 4, "ttl": expiry})), Condition::Always)
        .await
        .unwrap();
    f.clock.advance(chrono::Duration::seconds(61));
    let restarted =
        f.table.update(Update::new(attempts.clone()).add("n", 1).set("ttl", f.clock.now_epoch() + 60)).await.unwrap();
    assert_eq!(restarted["n"], json!(1), "a counter whose window expired restarts");
    let exists = f.table.update(Update::new(Key::new("ORG#1", "PIN#new")).add("n", 1).when(Condition::Exists)).await;
    assert!(matches!(exists, Err(StoreError::ConditionFailed)), "an expired item does not exist");
}

/// The test clock's now in epoch seconds.
trait EpochNow {
    fn now_epoch(&self) -> i64;
}

impl EpochNow for shared::ports::ManualClock {
    fn now_epoch(&self) -> i64 {
        shared::ports::Clock::now(self).timestamp()
    }
}
