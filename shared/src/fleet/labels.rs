//! Labels (E-LABEL, seed L6771–L6861): custom texts with a unique name that administrators
//! put on printers to find and group them, and that notification policies and scheduled
//! tasks target (BR-LB-06). A printer may carry several labels and a label may be on many
//! printers (BR-LB-05).
//!
//! Layout:
//! - label `ORG#<org>`/`LABEL#<labelId>`;
//! - name claim `UNIQUE#LABELNAME#<org>#<lower-cased name>`/`UNIQUE` → `{orgId, labelId}`,
//!   written in the same transaction as the label, so names are unique per organisation
//!   regardless of case (BR-LB-01);
//! - each printer–label link twice, in one transaction: `ORG#<org>`/`PRINTERLABEL#<printerId>#<labelId>`
//!   (a printer's labels) and `ORG#<org>`/`LABELPRINTER#<labelId>#<printerId>` (a label's
//!   printers), both holding `{orgId, printerId, labelId}`.
//!
//! Printers themselves (`ORG#<org>`/`PRINTER#<printerId>`) belong to enrolment; attaching
//! only checks, in its transaction, that the printer exists.

use crate::Ctx;
use crate::http::Problem;
use crate::identity::store::org_partition;
use crate::ports::table::MAX_TRANSACT_WRITES;
use crate::ports::{Condition, Item, Key, Page, Query, StoreError, StoreResult, Update, Write};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A label (E-LABEL).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    /// Identifier.
    pub id: String,
    /// The organisation the label belongs to.
    pub org_id: String,
    /// Name, unique in the organisation regardless of case (BR-LB-01).
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// Longest label name, in characters.
pub const MAX_NAME: usize = 64;
/// Links removed per transaction: each takes two deletes.
const LINKS_PER_BATCH: u32 = (MAX_TRANSACT_WRITES / 2) as u32;
/// Page size when reading every link of a printer or label.
const LINK_PAGE: u32 = 1000;

fn label_key(org_id: &str, label_id: &str) -> Key {
    Key::new(org_partition(org_id), format!("LABEL#{label_id}"))
}

fn name_claim(org_id: &str, name: &str) -> Key {
    Key::new(format!("UNIQUE#LABELNAME#{org_id}#{}", name.trim().to_lowercase()), "UNIQUE")
}

fn printer_key(org_id: &str, printer_id: &str) -> Key {
    Key::new(org_partition(org_id), format!("PRINTER#{printer_id}"))
}

fn printer_link_prefix(printer_id: &str) -> String {
    format!("PRINTERLABEL#{printer_id}#")
}

fn label_link_prefix(label_id: &str) -> String {
    format!("LABELPRINTER#{label_id}#")
}

/// The two items of one printer–label link.
fn link_keys(org_id: &str, printer_id: &str, label_id: &str) -> [Key; 2] {
    [
        Key::new(org_partition(org_id), format!("{}{label_id}", printer_link_prefix(printer_id))),
        Key::new(org_partition(org_id), format!("{}{printer_id}", label_link_prefix(label_id))),
    ]
}

fn label_not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "label_not_found", "No such label.")
}

fn printer_not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "printer_not_found", "No such printer.")
}

fn name_taken() -> Problem {
    Problem::new(StatusCode::CONFLICT, "label_name_taken", "A label with this name already exists (BR-LB-01).")
}

/// Whether `id` can name a record: ids are placed in keys, where `#` separates parts.
fn usable_id(id: &str) -> bool {
    !id.is_empty() && !id.contains('#')
}

/// The trimmed name, or 400 `invalid_field` when empty, longer than 64 characters or with
/// control characters.
pub fn check_name(name: &str) -> Result<String, Problem> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("name: 1 to {MAX_NAME} characters, no control characters"),
        ));
    }
    Ok(name.to_string())
}

fn claim_write(label: &Label) -> StoreResult<Write> {
    let target = json!({"orgId": label.org_id, "labelId": label.id});
    Ok(Write::Put {
        item: to_item(&target, &name_claim(&label.org_id, &label.name), &[])?,
        condition: Condition::Absent,
    })
}

/// Creates a label named `name` in `org_id`; 409 `label_name_taken` when another label of
/// the organisation has the name in whatever case (BR-LB-01).
pub async fn create(ctx: &Ctx, org_id: &str, name: &str) -> Result<Label, Problem> {
    let label = Label {
        id: ctx.ids.new_id(),
        org_id: org_id.to_string(),
        name: check_name(name)?,
        created_at: ctx.clock.now(),
        version: 1,
    };
    let writes = vec![
        claim_write(&label)?,
        Write::Put { item: to_item(&label, &label_key(org_id, &label.id), &[])?, condition: Condition::Absent },
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(label),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(name_taken()),
        Err(other) => Err(other.into()),
    }
}

/// The label `label_id` of `org_id`, if it exists.
pub async fn find(ctx: &Ctx, org_id: &str, label_id: &str) -> StoreResult<Option<Label>> {
    if !usable_id(label_id) {
        return Ok(None);
    }
    crate::records::get(&*ctx.table, &label_key(org_id, label_id)).await
}

/// The label `label_id` of `org_id`, or 404 `label_not_found`.
pub async fn get(ctx: &Ctx, org_id: &str, label_id: &str) -> Result<Label, Problem> {
    find(ctx, org_id, label_id).await?.ok_or_else(label_not_found)
}

/// One page of the organisation's labels, in creation order (ids sort by time); pass the
/// answered cursor back for the next page.
pub async fn list(
    ctx: &Ctx,
    org_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<Label>, Option<String>), Problem> {
    let query = Query::partition(org_partition(org_id)).begins_with("LABEL#").limit(limit).after(cursor);
    let Page { items, cursor } = ctx.table.query(&query).await?;
    Ok((items.into_iter().map(from_item).collect::<Result<_, _>>()?, cursor))
}

/// Renames a label; the new name must be free regardless of case (BR-LB-01). The name
/// claim moves in the same transaction, so the old name is free again at once.
pub async fn rename(ctx: &Ctx, org_id: &str, label_id: &str, name: &str) -> Result<Label, Problem> {
    let mut label = get(ctx, org_id, label_id).await?;
    let name = check_name(name)?;
    if name == label.name {
        return Ok(label);
    }
    let change = Update::new(label_key(org_id, label_id))
        .set("name", name.clone())
        .add("version", 1)
        .when(Condition::VersionEquals(label.version));
    let mut writes = vec![Write::Update(change)];
    let moves_claim = name.to_lowercase() != label.name.to_lowercase();
    if moves_claim {
        let old_claim = name_claim(org_id, &label.name);
        label.name = name;
        writes.push(claim_write(&label)?);
        writes.push(Write::Delete { key: old_claim, condition: Condition::Equals("labelId".into(), json!(label.id)) });
    } else {
        label.name = name;
    }
    match ctx.table.transact(writes).await {
        Ok(()) => {
            label.version += 1;
            Ok(label)
        }
        Err(StoreError::TransactionCanceled { failed }) if moves_claim && failed.contains(&1) => Err(name_taken()),
        Err(other) => Err(other.into()),
    }
}

/// Deletes a label, its name claim and every link to a printer (the printers stay). The
/// label goes first, so no printer can be attached meanwhile; a deletion cut short is
/// finished by deleting again.
pub async fn delete(ctx: &Ctx, org_id: &str, label_id: &str) -> Result<(), Problem> {
    if !usable_id(label_id) {
        return Err(label_not_found());
    }
    let found = match find(ctx, org_id, label_id).await? {
        Some(label) => {
            let writes = vec![
                Write::Delete { key: label_key(org_id, label_id), condition: Condition::VersionEquals(label.version) },
                Write::Delete {
                    key: name_claim(org_id, &label.name),
                    condition: Condition::Equals("labelId".into(), json!(label.id)),
                },
            ];
            ctx.table.transact(writes).await?;
            true
        }
        None => false,
    };
    let unlinked = remove_links(ctx, org_id, &label_link_prefix(label_id)).await?;
    if found || unlinked > 0 { Ok(()) } else { Err(label_not_found()) }
}

/// Puts the label on the printer (BR-LB-05: a printer may carry several labels). Both
/// must exist (404 `printer_not_found` / `label_not_found`), checked in the transaction
/// that writes the link; attaching twice changes nothing.
pub async fn attach(ctx: &Ctx, org_id: &str, printer_id: &str, label_id: &str) -> Result<(), Problem> {
    if !usable_id(printer_id) {
        return Err(printer_not_found());
    }
    if !usable_id(label_id) {
        return Err(label_not_found());
    }
    let link = json!({"orgId": org_id, "printerId": printer_id, "labelId": label_id});
    let mut writes = vec![
        Write::Check { key: printer_key(org_id, printer_id), condition: Condition::Exists },
        Write::Check { key: label_key(org_id, label_id), condition: Condition::Exists },
    ];
    for key in link_keys(org_id, printer_id, label_id) {
        writes.push(Write::Put { item: to_item(&link, &key, &[])?, condition: Condition::Always });
    }
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(printer_not_found()),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&1) => Err(label_not_found()),
        Err(other) => Err(other.into()),
    }
}

/// Takes the label off the printer; a label that is not on the printer answers `Ok`.
pub async fn detach(ctx: &Ctx, org_id: &str, printer_id: &str, label_id: &str) -> Result<(), Problem> {
    if !usable_id(printer_id) || !usable_id(label_id) {
        return Ok(());
    }
    let writes = link_keys(org_id, printer_id, label_id)
        .into_iter()
        .map(|key| Write::Delete { key, condition: Condition::Always })
        .collect();
    ctx.table.transact(writes).await?;
    Ok(())
}

/// The ids of the labels on the printer, ordered by id.
pub async fn labels_of_printer(ctx: &Ctx, org_id: &str, printer_id: &str) -> Result<Vec<String>, Problem> {
    if !usable_id(printer_id) {
        return Ok(Vec::new());
    }
    let links = all_links(ctx, org_id, &printer_link_prefix(printer_id)).await?;
    Ok(links.iter().filter_map(|item| text(item, "labelId")).collect())
}

/// The ids of every printer carrying the label, ordered by id (all pages).
pub async fn printers_with_label(ctx: &Ctx, org_id: &str, label_id: &str) -> Result<Vec<String>, Problem> {
    if !usable_id(label_id) {
        return Ok(Vec::new());
    }
    let links = all_links(ctx, org_id, &label_link_prefix(label_id)).await?;
    Ok(links.iter().filter_map(|item| text(item, "printerId")).collect())
}

/// Takes every label off the printer; for when the printer leaves the organisation.
pub async fn remove_printer_links(ctx: &Ctx, org_id: &str, printer_id: &str) -> Result<(), Problem> {
    if usable_id(printer_id) {
        remove_links(ctx, org_id, &printer_link_prefix(printer_id)).await?;
    }
    Ok(())
}

fn text(item: &Item, attr: &str) -> Option<String> {
    item.get(attr).and_then(Value::as_str).map(String::from)
}

/// Every link item whose sort key starts with `prefix`, reading all pages.
async fn all_links(ctx: &Ctx, org_id: &str, prefix: &str) -> StoreResult<Vec<Item>> {
    let mut links = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::partition(org_partition(org_id)).begins_with(prefix).limit(LINK_PAGE).after(cursor);
        let page = ctx.table.query(&query).await?;
        links.extend(page.items);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(links),
        }
    }
}

/// Deletes the links whose sort key starts with `prefix`, both items of each link in one
/// transaction of at most 100 writes; answers how many links were removed.
async fn remove_links(ctx: &Ctx, org_id: &str, prefix: &str) -> StoreResult<usize> {
    let mut removed = 0;
    loop {
        let query = Query::partition(org_partition(org_id)).begins_with(prefix).limit(LINKS_PER_BATCH);
        let Page { items, .. } = ctx.table.query(&query).await?;
        if items.is_empty() {
            return Ok(removed);
        }
        let mut writes = Vec::with_capacity(items.len() * 2);
        for item in &items {
            let (Some(printer_id), Some(label_id)) = (text(item, "printerId"), text(item, "labelId")) else {
                // Not a link this module wrote: drop just the item so the loop ends.
                writes.push(Write::Delete { key: Key::of(item)?, condition: Condition::Always });
                continue;
            };
            for key in link_keys(org_id, &printer_id, &label_id) {
                writes.push(Write::Delete { key, condition: Condition::Always });
            }
        }
        ctx.table.transact(writes).await?;
        removed += items.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{ManualClock, SequentialIds};
    use crate::wiring::{LocalOptions, LocalStorage, local};
    use std::sync::Arc;

    /// An embedded context in a fresh directory (kept alive by the returned guard).
    async fn test_ctx() -> (Ctx, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let options = LocalOptions {
            data_dir: dir.path().to_path_buf(),
            public_url: "http://localhost".into(),
            smtp_relay: None,
            mail_from: "noreply@example.com".into(),
            mail_domain: "print.example.com".into(),
            storage: LocalStorage::Embedded,
            max_document_bytes: crate::context::DEFAULT_MAX_DOCUMENT_BYTES,
        };
        let clock = Arc::new(ManualClock::new("2025-01-01T00:00:00Z".parse().unwrap()));
        let built = local(&options, clock, Arc::new(SequentialIds::default())).await.unwrap();
        (built.ctx, dir)
    }

    async fn add_printer(ctx: &Ctx, org: &str, printer_id: &str) {
        let printer = json!({"id": printer_id, "orgId": org});
        ctx.table.put(to_item(&printer, &printer_key(org, printer_id), &[]).unwrap(), Condition::Absent).await.unwrap();
    }

    #[tokio::test]
    async fn br_lb_01_label_names_are_unique_regardless_of_case() {
        let (ctx, _dir) = test_ctx().await;
        let label = create(&ctx, "o1", "  Floor 2 ").await.unwrap();
        assert_eq!(label.name, "Floor 2");
        assert_eq!(get(&ctx, "o1", &label.id).await.unwrap(), label);
        let taken = create(&ctx, "o1", "FLOOR 2").await.unwrap_err();
        assert_eq!((taken.status, taken.code.as_str()), (409, "label_name_taken"));
        create(&ctx, "o2", "floor 2").await.expect("unique per organisation only");
        for bad in ["", "   ", "a\tb", &"x".repeat(MAX_NAME + 1)] {
            assert_eq!(create(&ctx, "o1", bad).await.unwrap_err().code, "invalid_field", "{bad:?}");
        }
        let (labels, cursor) = list(&ctx, "o1", 50, None).await.unwrap();
        assert_eq!(labels, vec![label]);
        assert_eq!(cursor, None);
    }

    #[tokio::test]
    async fn br_lb_01_rename_frees_the_old_name_and_refuses_taken_ones() {
        let (ctx, _dir) = test_ctx().await;
        let first = create(&ctx, "o1", "Finance").await.unwrap();
        let second = create(&ctx, "o1", "Sales").await.unwrap();
        let taken = rename(&ctx, "o1", &second.id, "finance").await.unwrap_err();
        assert_eq!(taken.code, "label_name_taken");
        assert_eq!(get(&ctx, "o1", &second.id).await.unwrap().name, "Sales", "unchanged");

        let renamed = rename(&ctx, "o1", &first.id, "Accounting").await.unwrap();
        assert_eq!((renamed.name.as_str(), renamed.version), ("Accounting", 2));
        assert_eq!(get(&ctx, "o1", &first.id).await.unwrap(), renamed);
        create(&ctx, "o1", "FINANCE").await.expect("the old name is free again");
        assert_eq!(create(&ctx, "o1", "accounting").await.unwrap_err().code, "label_name_taken");

        let recased = rename(&ctx, "o1", &first.id, "ACCOUNTING").await.unwrap();
        assert_eq!(recased.name, "ACCOUNTING", "a change of case keeps the claim");
        assert_eq!(create(&ctx, "o1", "Accounting").await.unwrap_err().code, "label_name_taken");
        assert_eq!(rename(&ctx, "o1", "missing", "X").await.unwrap_err().code, "label_not_found");
    }

    #[tokio::test]
    async fn br_lb_05_a_printer_carries_several_labels() {
        let (ctx, _dir) = test_ctx().await;
        add_printer(&ctx, "o1", "p1").await;
        add_printer(&ctx, "o1", "p2").await;
        let a = create(&ctx, "o1", "A").await.unwrap();
        let b = create(&ctx, "o1", "B").await.unwrap();
        attach(&ctx, "o1", "p1", &a.id).await.unwrap();
        attach(&ctx, "o1", "p1", &b.id).await.expect("an already labelled printer takes another label");
        attach(&ctx, "o1", "p1", &b.id).await.expect("idempotent");
        attach(&ctx, "o1", "p2", &a.id).await.unwrap();
        assert_eq!(labels_of_printer(&ctx, "o1", "p1").await.unwrap(), vec![a.id.clone(), b.id.clone()]);
        assert_eq!(printers_with_label(&ctx, "o1", &a.id).await.unwrap(), vec!["p1", "p2"]);
        assert_eq!(printers_with_label(&ctx, "o1", &b.id).await.unwrap(), vec!["p1"]);

        detach(&ctx, "o1", "p1", &a.id).await.unwrap();
        detach(&ctx, "o1", "p1", &a.id).await.expect("idempotent");
        assert_eq!(labels_of_printer(&ctx, "o1", "p1").await.unwrap(), vec![b.id.clone()]);
        assert_eq!(printers_with_label(&ctx, "o1", &a.id).await.unwrap(), vec!["p2"]);

        remove_printer_links(&ctx, "o1", "p1").await.unwrap();
        assert!(labels_of_printer(&ctx, "o1", "p1").await.unwrap().is_empty());
        assert!(printers_with_label(&ctx, "o1", &b.id).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn br_lb_05_attach_needs_the_printer_and_the_label_of_the_org() {
        let (ctx, _dir) = test_ctx().await;
        add_printer(&ctx, "o1", "p1").await;
        add_printer(&ctx, "o2", "p2").await;
        let label = create(&ctx, "o1", "A").await.unwrap();
        let missing_printer = attach(&ctx, "o1", "p2", &label.id).await.unwrap_err();
        assert_eq!((missing_printer.status, missing_printer.code.as_str()), (404, "printer_not_found"));
        let missing_label = attach(&ctx, "o2", "p2", &label.id).await.unwrap_err();
        assert_eq!((missing_label.status, missing_label.code.as_str()), (404, "label_not_found"));
        assert_eq!(attach(&ctx, "o1", "p1#x", &label.id).await.unwrap_err().code, "printer_not_found");
        assert!(printers_with_label(&ctx, "o1", &label.id).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn br_lb_05_deleting_a_label_unlinks_all_its_printers_and_frees_the_name() {
        let (ctx, _dir) = test_ctx().await;
        let label = create(&ctx, "o1", "Lobby").await.unwrap();
        let other = create(&ctx, "o1", "Other").await.unwrap();
        let printers: Vec<String> = (0..120).map(|i| format!("p{i:03}")).collect();
        for printer in &printers {
            add_printer(&ctx, "o1", printer).await;
            attach(&ctx, "o1", printer, &label.id).await.unwrap();
        }
        attach(&ctx, "o1", "p000", &other.id).await.unwrap();
        assert_eq!(printers_with_label(&ctx, "o1", &label.id).await.unwrap(), printers);

        delete(&ctx, "o1", &label.id).await.unwrap();
        assert_eq!(get(&ctx, "o1", &label.id).await.unwrap_err().code, "label_not_found");
        assert!(printers_with_label(&ctx, "o1", &label.id).await.unwrap().is_empty());
        assert_eq!(labels_of_printer(&ctx, "o1", "p000").await.unwrap(), vec![other.id.clone()]);
        create(&ctx, "o1", "lobby").await.expect("the name is free again");
        assert_eq!(delete(&ctx, "o1", &label.id).await.unwrap_err().code, "label_not_found");
    }
}
