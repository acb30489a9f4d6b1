//! Fleet notification policies (part-3 §4 BR-NP-*, WF-NP): who is mailed when supplies run
//! low, printers stop sending data or stop calling in, or fleet agents go silent.
//!
//! A policy has a unique name, a rule of one of the three categories (BR-NP-01…03), a
//! scope (all printers, or those with any of at most 10 labels, BR-NP-04), at most 10
//! recipients, external addresses allowed (BR-NP-05), optional extra text for the mail
//! (BR-NP-06) and an attachment choice (BR-NP-07). A duplicate must differ in more than its
//! name (BR-NP-11, ER-NP-01).
//!
//! Layout: `ORG#<org>`/`NPOLICY#<id>`; the name claim `ORG#<org>`/`NPOLICYNAME#<lower name>`
//! in the same transaction; and `NPORGS`/`<org>`, which lists the organisations the daily
//! sweep visits.

use crate::Ctx;
use crate::fleet::labels;
use crate::http::Problem;
use crate::identity::store;
use crate::ports::{Condition, Key, Query, StoreError, Write};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Most labels a policy's scope names (BR-NP-04, D-POLICY-LIMITS).
pub const MAX_LABELS: usize = 10;
/// Most recipients of a policy (BR-NP-05, D-POLICY-LIMITS).
pub const MAX_RECIPIENTS: usize = 10;
/// Longest policy name.
pub const MAX_NAME: usize = 128;
/// Longest extra text.
pub const MAX_EXTRA_TEXT: usize = 2000;
/// Most policies of one organisation.
pub const MAX_POLICIES: usize = 100;
/// Most days a printer-data threshold may be.
pub const MAX_DAYS: u32 = 365;
/// The partition listing organisations that have policies.
pub const ORGS_WITH_POLICIES: &str = "NPORGS";

/// The supplies a supplies policy watches (BR-NP-02).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SupplyType {
    /// Toner cartridges.
    Toner,
    /// The fuser.
    Fuser,
    /// The transfer module.
    TransferModule,
    /// The waste toner bottle.
    WasteTonerBottle,
    /// The maintenance kit.
    MaintenanceKit,
    /// The photoconductor (imaging unit).
    Photoconductor,
}

impl SupplyType {
    /// Whether a supply whose telemetry `type` is `reported` is of this type (spaces,
    /// dashes, underscores and case ignored: `"Waste Toner Bottle"`, `"waste_toner_bottle"`).
    pub fn is(self, reported: &str) -> bool {
        let plain: String = reported.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
        let wanted = match self {
            SupplyType::Toner => &["toner", "tonercartridge", "cartridge"][..],
            SupplyType::Fuser => &["fuser"],
            SupplyType::TransferModule => &["transfermodule"],
            SupplyType::WasteTonerBottle => &["wastetonerbottle", "wastebottle"],
            SupplyType::MaintenanceKit => &["maintenancekit"],
            SupplyType::Photoconductor => &["photoconductor", "imagingunit"],
        };
        wanted.contains(&plain.as_str())
    }
}

/// What a printer-information policy watches (BR-NP-03).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PrinterCondition {
    /// "Laatste gegevensvernieuwing": no telemetry for the number of days.
    LastDataRefresh,
    /// "Laatst gecommuniceerd": no contact at all for the number of days.
    LastCommunicated,
}

/// A policy's rule: its category and what makes a printer (or agent) match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "category", rename_all = "camelCase", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum PolicyRule {
    /// A watched supply at or below `thresholdPercent` remaining (BR-NP-02).
    Supplies {
        /// The supplies watched, at least one.
        supply_types: Vec<SupplyType>,
        /// Percent remaining at or below which the supply matches, 0–100.
        threshold_percent: u8,
        /// Attach the notification data as JSON (BR-NP-07).
        #[serde(default)]
        attach_json: bool,
    },
    /// A printer without data refresh, or without contact, for `days` days (BR-NP-03).
    PrinterInformation {
        /// Which of the two.
        condition: PrinterCondition,
        /// Days, 1–365.
        days: u32,
        /// Attach the printers as CSV (BR-NP-07; forced above 15 printers, BR-NP-09).
        #[serde(default)]
        attach_csv: bool,
    },
    /// A fleet agent without contact for `days` days (BR-NP-03).
    FleetAgents {
        /// Days, 1–365.
        days: u32,
        /// Attach the agents as CSV (BR-NP-07; forced above 15, BR-NP-09).
        #[serde(default)]
        attach_csv: bool,
    },
}

/// A policy as created, replaced or duplicated.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyInput {
    /// Unique in the organisation, 1–128 characters.
    pub name: String,
    /// What the policy watches.
    pub rule: PolicyRule,
    /// Label ids; empty for all printers of the organisation (at most 10).
    #[serde(default)]
    pub labels: Vec<String>,
    /// 1–10 e-mail addresses, external ones allowed.
    pub recipients: Vec<String>,
    /// Text added to the mail, at most 2,000 characters.
    #[serde(default)]
    pub extra_text: Option<String>,
    /// Whether the policy is evaluated (default true).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// For a replacement: the version it is based on (409 when another change came first).
    #[serde(default)]
    pub version: Option<i64>,
}

fn enabled_by_default() -> bool {
    true
}

/// A notification policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPolicy {
    /// Identifier.
    pub id: String,
    /// Its organisation.
    pub org_id: String,
    /// Unique name.
    pub name: String,
    /// What it watches.
    pub rule: PolicyRule,
    /// Label ids of its scope; empty for all printers.
    pub labels: Vec<String>,
    /// Who is mailed (lower-cased).
    pub recipients: Vec<String>,
    /// Text added to the mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_text: Option<String>,
    /// Whether it is evaluated.
    pub enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl NotificationPolicy {
    /// The same policy under another name, for the duplicate check (BR-NP-11).
    fn same_but_name(&self, input: &PolicyInput) -> bool {
        self.rule == input.rule
            && self.labels == input.labels
            && self.recipients == input.recipients
            && self.extra_text == input.extra_text
            && self.enabled == input.enabled
    }
}

fn invalid(field: &str, why: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

/// Whether `address` looks like `local@domain.tld` (no spaces, one `@`).
fn is_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && address.len() <= 254
        && address.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | ',' | ';' | '"'))
}

/// Checks `input` and answers it normalised (trimmed name, lower-cased unique recipients,
/// unique labels), or 400 naming the field.
pub fn validate(mut input: PolicyInput) -> Result<PolicyInput, Problem> {
    input.name = input.name.trim().to_string();
    if input.name.is_empty() || input.name.chars().count() > MAX_NAME {
        return Err(invalid("name", format!("1 to {MAX_NAME} characters")));
    }
    match &mut input.rule {
        PolicyRule::Supplies { supply_types, threshold_percent, .. } => {
            supply_types.sort();
            supply_types.dedup();
            if supply_types.is_empty() {
                return Err(invalid("rule.supplyTypes", "at least one supply type"));
            }
            if *threshold_percent > 100 {
                return Err(invalid("rule.thresholdPercent", "0 to 100"));
            }
        }
        PolicyRule::PrinterInformation { days, .. } | PolicyRule::FleetAgents { days, .. } => {
            if !(1..=MAX_DAYS).contains(days) {
                return Err(invalid("rule.days", format!("1 to {MAX_DAYS}")));
            }
        }
    }
    input.labels.dedup();
    if input.labels.len() > MAX_LABELS {
        return Err(invalid("labels", format!("at most {MAX_LABELS} labels (BR-NP-04)")));
    }
    if matches!(input.rule, PolicyRule::FleetAgents { .. }) && !input.labels.is_empty() {
        return Err(invalid("labels", "fleet agent policies cover every agent of the organisation"));
    }
    let mut recipients: Vec<String> = Vec::new();
    for (index, address) in input.recipients.iter().enumerate() {
        let address = address.trim().to_lowercase();
        if !is_address(&address) {
            return Err(invalid(&format!("recipients[{index}]"), "not a valid e-mail address"));
        }
        if !recipients.contains(&address) {
            recipients.push(address);
        }
    }
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return Err(invalid("recipients", format!("1 to {MAX_RECIPIENTS} addresses (BR-NP-05)")));
    }
    input.recipients = recipients;
    input.extra_text = input.extra_text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    if input.extra_text.as_ref().is_some_and(|t| t.chars().count() > MAX_EXTRA_TEXT) {
        return Err(invalid("extraText", format!("at most {MAX_EXTRA_TEXT} characters")));
    }
    Ok(input)
}

fn policy_key(org_id: &str, policy_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("NPOLICY#{policy_id}"))
}

fn name_claim(org_id: &str, name: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("NPOLICYNAME#{}", name.to_lowercase()))
}

fn not_found() -> Problem {
    Problem::not_found("No such notification policy.")
}

fn changed_meanwhile() -> Problem {
    Problem::new(StatusCode::CONFLICT, "conflict", "The policy changed meanwhile; reload it and try again.")
}

fn name_taken() -> Problem {
    Problem::new(StatusCode::CONFLICT, "name_taken", "name: another notification policy has this name.")
}

/// The organisation's policies, by name.
pub async fn list(ctx: &Ctx, org_id: &str) -> Result<Vec<NotificationPolicy>, Problem> {
    let query = Query::partition(store::org_partition(org_id)).begins_with("NPOLICY#").limit(MAX_POLICIES as u32);
    let page = ctx.table.query(&query).await?;
    let mut policies: Vec<NotificationPolicy> = page.items.into_iter().map(from_item).collect::<Result<_, _>>()?;
    policies.sort_by_key(|p| p.name.to_lowercase());
    Ok(policies)
}

/// The policy `policy_id`, or 404.
pub async fn get(ctx: &Ctx, org_id: &str, policy_id: &str) -> Result<NotificationPolicy, Problem> {
    crate::records::get(&*ctx.table, &policy_key(org_id, policy_id)).await?.ok_or_else(not_found)
}

/// Every label of `input` must exist in the organisation.
async fn check_labels(ctx: &Ctx, org_id: &str, input: &PolicyInput) -> Result<(), Problem> {
    for (index, label) in input.labels.iter().enumerate() {
        if labels::find(ctx, org_id, label).await?.is_none() {
            return Err(invalid(&format!("labels[{index}]"), "no such label"));
        }
    }
    Ok(())
}

/// Creates a policy (WF-NP step 1).
pub async fn create(ctx: &Ctx, org_id: &str, input: PolicyInput) -> Result<NotificationPolicy, Problem> {
    let input = validate(input)?;
    check_labels(ctx, org_id, &input).await?;
    if list(ctx, org_id).await?.len() >= MAX_POLICIES {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "too_many_policies",
            format!("An organisation has at most {MAX_POLICIES} notification policies."),
        ));
    }
    let now = ctx.clock.now();
    let policy = NotificationPolicy {
        id: ctx.ids.new_id(),
        org_id: org_id.to_string(),
        name: input.name,
        rule: input.rule,
        labels: input.labels,
        recipients: input.recipients,
        extra_text: input.extra_text,
        enabled: input.enabled,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let writes = vec![
        Write::Put {
            item: to_item(&json!({"policyId": policy.id}), &name_claim(org_id, &policy.name), &[])?,
            condition: Condition::Absent,
        },
        Write::Put { item: to_item(&policy, &policy_key(org_id, &policy.id), &[])?, condition: Condition::Absent },
        Write::Put {
            item: to_item(&json!({"orgId": org_id}), &Key::new(ORGS_WITH_POLICIES, org_id), &[])?,
            condition: Condition::Always,
        },
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(policy),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(name_taken()),
        Err(other) => Err(other.into()),
    }
}

/// Replaces the policy `policy_id` with `input`.
pub async fn replace(
    ctx: &Ctx,
    org_id: &str,
    policy_id: &str,
    input: PolicyInput,
) -> Result<NotificationPolicy, Problem> {
    let input = validate(input)?;
    check_labels(ctx, org_id, &input).await?;
    let current = get(ctx, org_id, policy_id).await?;
    if input.version.is_some_and(|v| v != current.version) {
        return Err(changed_meanwhile());
    }
    let next = NotificationPolicy {
        name: input.name,
        rule: input.rule,
        labels: input.labels,
        recipients: input.recipients,
        extra_text: input.extra_text,
        enabled: input.enabled,
        updated_at: ctx.clock.now(),
        version: current.version + 1,
        ..current.clone()
    };
    let mut writes = vec![Write::Put {
        item: to_item(&next, &policy_key(org_id, policy_id), &[])?,
        condition: Condition::VersionEquals(current.version),
    }];
    let renamed = next.name.to_lowercase() != current.name.to_lowercase();
    if renamed {
        writes.push(Write::Put {
            item: to_item(&json!({"policyId": policy_id}), &name_claim(org_id, &next.name), &[])?,
            condition: Condition::Absent,
        });
        writes.push(Write::Delete { key: name_claim(org_id, &current.name), condition: Condition::Always });
    }
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(next),
        Err(StoreError::TransactionCanceled { failed }) if renamed && failed.contains(&1) => Err(name_taken()),
        Err(StoreError::TransactionCanceled { .. }) => Err(changed_meanwhile()),
        Err(other) => Err(other.into()),
    }
}

/// Makes a new policy from `policy_id` with the changes in `input`; refused when only the
/// name differs (BR-NP-11, ER-NP-01).
pub async fn duplicate(
    ctx: &Ctx,
    org_id: &str,
    policy_id: &str,
    input: PolicyInput,
) -> Result<NotificationPolicy, Problem> {
    let source = get(ctx, org_id, policy_id).await?;
    let input = validate(input)?;
    if source.same_but_name(&input) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "duplicate_only_renamed",
            "A duplicate must differ from its policy in more than the name (ER-NP-01).",
        ));
    }
    create(ctx, org_id, input).await
}

/// Deletes the policy and what the sweep remembered of it.
pub async fn delete(ctx: &Ctx, org_id: &str, policy_id: &str) -> Result<(), Problem> {
    let current = get(ctx, org_id, policy_id).await?;
    ctx.table
        .transact(vec![
            Write::Delete { key: policy_key(org_id, policy_id), condition: Condition::VersionEquals(current.version) },
            Write::Delete { key: name_claim(org_id, &current.name), condition: Condition::Always },
        ])
        .await?;
    super::matches::forget_policy(ctx, org_id, policy_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(value: serde_json::Value) -> PolicyInput {
        serde_json::from_value(value).expect("a well-formed policy")
    }

    fn supplies() -> serde_json::Value {
        json!({"name": " Low toner ", "rule": {"category": "supplies", "supplyTypes": ["toner", "toner"], "thresholdPercent": 5},
            "recipients": ["Ops@Example.org", "ops@example.org", "partner@elsewhere.net"]})
    }

    #[test]
    fn br_np_02_05_a_valid_policy_is_normalised() {
        let valid = validate(input(supplies())).unwrap();
        assert_eq!(valid.name, "Low toner");
        assert_eq!(valid.recipients, ["ops@example.org", "partner@elsewhere.net"]);
        assert!(
            matches!(valid.rule, PolicyRule::Supplies { ref supply_types, .. } if supply_types == &[SupplyType::Toner])
        );
        assert!(valid.enabled);
    }

    #[test]
    fn br_np_03_04_05_limits_are_enforced_naming_the_field() {
        let mut too_many = supplies();
        too_many["recipients"] = json!((0..11).map(|n| format!("r{n}@example.org")).collect::<Vec<_>>());
        assert!(validate(input(too_many)).unwrap_err().detail.starts_with("recipients:"));
        let mut bad = supplies();
        bad["recipients"] = json!(["not an address"]);
        assert!(validate(input(bad)).unwrap_err().detail.starts_with("recipients[0]:"));
        let mut labels = supplies();
        labels["labels"] = json!((0..11).map(|n| format!("l{n}")).collect::<Vec<_>>());
        assert!(validate(input(labels)).unwrap_err().detail.starts_with("labels:"));
        let mut threshold = supplies();
        threshold["rule"]["thresholdPercent"] = json!(101);
        assert!(validate(input(threshold)).unwrap_err().detail.starts_with("rule.thresholdPercent:"));
        let days = json!({"name": "Silent", "rule": {"category": "printerInformation", "condition": "lastCommunicated",
            "days": 0}, "recipients": ["a@example.org"]});
        assert!(validate(input(days)).unwrap_err().detail.starts_with("rule.days:"));
    }

    #[test]
    fn br_np_02_supply_types_match_telemetry_names() {
        assert!(SupplyType::Toner.is("Toner"));
        assert!(SupplyType::WasteTonerBottle.is("Waste Toner Bottle"));
        assert!(SupplyType::MaintenanceKit.is("maintenance_kit"));
        assert!(!SupplyType::Fuser.is("Toner"));
    }

    #[test]
    fn br_np_11_a_copy_that_changes_only_the_name_is_the_same_policy() {
        let now = Utc::now();
        let valid = validate(input(supplies())).unwrap();
        let policy = NotificationPolicy {
            id: "p".into(),
            org_id: "o".into(),
            name: valid.name.clone(),
            rule: valid.rule.clone(),
            labels: valid.labels.clone(),
            recipients: valid.recipients.clone(),
            extra_text: None,
            enabled: true,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let renamed = PolicyInput { name: "Another".into(), ..valid.clone() };
        assert!(policy.same_but_name(&renamed));
        let changed = PolicyInput { recipients: vec!["x@example.org".into()], ..renamed };
        assert!(!policy.same_but_name(&changed));
    }
}
