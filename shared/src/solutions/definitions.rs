//! Solutions (part-4 §2.14, §4.14): named workflows of at most 10 steps (R-SC-5), each step
//! one or more actions and at least one destination (R-SC-4), the whole ending with a
//! destination (R-SC-6). A solution is personal (its creator only, R-SC-2), organisational
//! (every user of the organisation) or shared with one child organisation.
//!
//! Who: Solution Center Administrators and Advanced Users create personal solutions;
//! organisational ones need the Administrator; sharing with a child organisation needs the
//! Administrator who is also Partner Administrator (part-4 §3). Running needs the Solution
//! Center User role (or one of the other two).
//!
//! Layout: `ORG#<org>`/`SOLUTION#<id>`; a solution shared with a child also has
//! `ORG#<child>`/`SOLUTIONSHARE#<id>` naming the owning organisation, written in the same
//! transaction, so the child lists and runs it.

use super::detectors::PiiType;
use super::steps::{StepItem, invalid, unprocessable};
use crate::Ctx;
use crate::http::{Caller, Problem};
use crate::identity::roles::{Permission, Role};
use crate::identity::store;
use crate::ports::{Condition, Key, Query, StoreError, Write};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Most steps of a solution (R-SC-5).
pub const MAX_STEPS: usize = 10;
/// Most actions and destinations of one step.
pub const MAX_ITEMS_PER_STEP: usize = 10;
/// Longest solution name.
pub const MAX_NAME: usize = 128;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 1024;
/// Longest default file name.
pub const MAX_FILE_NAME: usize = 200;
/// Most solutions one organisation keeps.
pub const MAX_SOLUTIONS: u32 = 1000;

/// Who sees and runs a solution (L11896–L11902).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SolutionType {
    /// "Persoonlijk": its creator only (R-SC-2).
    Personal,
    /// "Organisatorisch": every user of the organisation.
    Organisational,
    /// "Gedeeld": every user of the child organisation named in `sharedWith`.
    Shared,
}

/// One step: its actions and destinations, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    /// Actions and destinations; at least one destination (R-SC-4).
    pub items: Vec<StepItem>,
}

/// A solution as created or replaced.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SolutionInput {
    /// 1–128 characters.
    pub name: String,
    /// At most 1,024 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Personal (default), organisational or shared.
    #[serde(rename = "type", default = "personal")]
    pub kind: SolutionType,
    /// The child organisation a shared solution is for.
    #[serde(default)]
    pub shared_with: Option<String>,
    /// 1–10 steps.
    pub steps: Vec<Step>,
    /// Name of the documents a run makes, without extension (default: the input's name).
    #[serde(default)]
    pub file_name: Option<String>,
    /// For a replacement: the version it is based on (409 when another change came first).
    #[serde(default)]
    pub version: Option<i64>,
}

fn personal() -> SolutionType {
    SolutionType::Personal
}

/// A stored solution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Solution {
    /// Identifier.
    pub id: String,
    /// The organisation that owns it.
    pub org_id: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Personal, organisational or shared.
    #[serde(rename = "type")]
    pub kind: SolutionType,
    /// The child organisation of a shared solution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_with: Option<String>,
    /// The steps.
    pub steps: Vec<Step>,
    /// Default name of the documents a run makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The user who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Solution {
    /// Every item of every step, with its step and item index.
    pub fn items(&self) -> impl Iterator<Item = (usize, usize, &StepItem)> {
        self.steps
            .iter()
            .enumerate()
            .flat_map(|(s, step)| step.items.iter().enumerate().map(move |(i, item)| (s, i, item)))
    }
}

fn solution_key(org_id: &str, solution_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("SOLUTION#{solution_id}"))
}

fn share_key(child_org_id: &str, solution_id: &str) -> Key {
    Key::new(store::org_partition(child_org_id), format!("SOLUTIONSHARE#{solution_id}"))
}

fn not_found() -> Problem {
    Problem::not_found("No such solution.")
}

/// Checks the shape of a solution: names, step count (R-SC-5), a destination in every step
/// (R-SC-4), a destination at the end (R-SC-6), each item's values, one OCR action at most,
/// the formats the actions need (R-SC-11, R-SC-13) and that this deployment can find every
/// PII type named.
pub fn check(input: &SolutionInput, supported_pii: &[PiiType]) -> Result<(), Problem> {
    check_texts(input)?;
    if input.steps.is_empty() {
        return Err(unprocessable("steps_required", "A solution has at least one step."));
    }
    if input.steps.len() > MAX_STEPS {
        return Err(unprocessable("too_many_steps", format!("A solution has at most {MAX_STEPS} steps (R-SC-5).")));
    }
    for (index, step) in input.steps.iter().enumerate() {
        check_step(index, step)?;
    }
    let last = input.steps.last().and_then(|step| step.items.last());
    if !last.is_some_and(StepItem::is_destination) {
        return Err(unprocessable(
            "must_end_with_destination",
            "A solution ends with a destination (R-SC-6): move the last action before a destination.",
        ));
    }
    let items: Vec<&StepItem> = input.steps.iter().flat_map(|step| &step.items).collect();
    if items.iter().filter(|item| matches!(item, StepItem::Ocr { .. })).count() > 1 {
        return Err(unprocessable(
            "ocr_twice",
            "A solution has at most one OCR action; it always runs first (R-SC-7).",
        ));
    }
    super::formats::check_flow(&items, None)?;
    check_pii_supported(&items, supported_pii)
}

fn check_texts(input: &SolutionInput) -> Result<(), Problem> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(invalid("name", format!("1 to {MAX_NAME} characters")));
    }
    if input.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        return Err(invalid("description", format!("at most {MAX_DESCRIPTION} characters")));
    }
    if let Some(file_name) = &input.file_name {
        let unsafe_char = |c: char| c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|');
        if file_name.trim().is_empty()
            || file_name.chars().count() > MAX_FILE_NAME
            || file_name.chars().any(unsafe_char)
        {
            return Err(invalid(
                "fileName",
                format!("1 to {MAX_FILE_NAME} characters, no path or reserved characters"),
            ));
        }
    }
    match (input.kind, &input.shared_with) {
        (SolutionType::Shared, None) => Err(invalid("sharedWith", "a shared solution names the child organisation")),
        (SolutionType::Personal | SolutionType::Organisational, Some(_)) => {
            Err(invalid("sharedWith", "only a shared solution names a child organisation"))
        }
        _ => Ok(()),
    }
}

fn check_step(index: usize, step: &Step) -> Result<(), Problem> {
    if step.items.is_empty() || step.items.len() > MAX_ITEMS_PER_STEP {
        return Err(invalid(&format!("steps[{index}].items"), format!("1 to {MAX_ITEMS_PER_STEP} items")));
    }
    if !step.items.iter().any(StepItem::is_destination) {
        return Err(unprocessable(
            "destination_required",
            format!("steps[{index}]: every step has at least one destination (R-SC-4)."),
        ));
    }
    for (item_index, item) in step.items.iter().enumerate() {
        item.check(&format!("steps[{index}].items[{item_index}]"), false)?;
    }
    Ok(())
}

fn check_pii_supported(items: &[&StepItem], supported: &[PiiType]) -> Result<(), Problem> {
    for item in items {
        if let StepItem::Redact { pii: Some(kinds), .. } = item
            && let Some(kind) = kinds.iter().find(|kind| !supported.contains(kind))
        {
            return Err(unprocessable(
                "pii_type_unavailable",
                format!("This deployment cannot find {kind:?} (it needs Amazon Comprehend); choose other types."),
            ));
        }
    }
    Ok(())
}

/// Whether the caller may create or change a solution of `kind` (part-4 §3): personal needs
/// an Advanced User or Administrator, the others the Administrator, sharing also the
/// Partner Administrator role.
fn check_author(caller: &Caller, kind: SolutionType) -> Result<(), Problem> {
    let forbidden = |why: &str| Problem::new(StatusCode::FORBIDDEN, "forbidden", why.to_string());
    match kind {
        SolutionType::Personal if !caller.allows(Permission::CreatePersonalSolutions) => {
            Err(forbidden("Creating solutions needs the Solution Center Advanced User or Administrator role (R-SC-1)."))
        }
        SolutionType::Organisational | SolutionType::Shared if !caller.allows(Permission::ManageSolutions) => {
            Err(forbidden("Organisational and shared solutions need the Solution Center Administrator role."))
        }
        SolutionType::Shared if !caller.roles.contains(&Role::PartnerAdministrator) => {
            Err(forbidden("Sharing with a child organisation also needs the Partner Administrator role."))
        }
        _ => Ok(()),
    }
}

/// A shared solution's organisation must be a child of the caller's.
async fn check_child(ctx: &Ctx, org_id: &str, input: &SolutionInput) -> Result<(), Problem> {
    let Some(child) = &input.shared_with else { return Ok(()) };
    let org = store::get_org(ctx, child).await?;
    if org.is_none_or(|org| org.parent_id.as_deref() != Some(org_id)) {
        return Err(invalid("sharedWith", "not a child organisation of this organisation"));
    }
    Ok(())
}

/// Creates a solution in the caller's organisation.
pub async fn create(ctx: &Ctx, caller: &Caller, org_id: &str, input: SolutionInput) -> Result<Solution, Problem> {
    let user_id = caller.require_user()?.to_string();
    check_author(caller, input.kind)?;
    check(&input, &ctx.pii.supported())?;
    check_child(ctx, org_id, &input).await?;
    let now = ctx.clock.now();
    let solution = Solution {
        id: ctx.ids.new_id(),
        org_id: org_id.to_string(),
        created_by: user_id,
        created_at: now,
        version: 1,
        ..from_input(input, now)
    };
    let mut writes = vec![Write::Put { item: item(&solution)?, condition: Condition::Absent }];
    writes.extend(share_writes(&solution, None)?);
    ctx.table.transact(writes).await?;
    Ok(solution)
}

fn from_input(input: SolutionInput, now: DateTime<Utc>) -> Solution {
    Solution {
        id: String::new(),
        org_id: String::new(),
        name: input.name.trim().to_string(),
        description: input.description,
        kind: input.kind,
        shared_with: input.shared_with,
        steps: input.steps,
        file_name: input.file_name.map(|name| name.trim().to_string()),
        created_by: String::new(),
        created_at: now,
        updated_at: now,
        version: 0,
    }
}

fn item(solution: &Solution) -> Result<crate::ports::Item, StoreError> {
    to_item(solution, &solution_key(&solution.org_id, &solution.id), &[])
}

/// The share pointer writes when a solution's child organisation changes from `before`.
fn share_writes(solution: &Solution, before: Option<&str>) -> Result<Vec<Write>, StoreError> {
    let after = solution.shared_with.as_deref();
    let mut writes = Vec::new();
    if let Some(old) = before.filter(|old| Some(*old) != after) {
        writes.push(Write::Delete { key: share_key(old, &solution.id), condition: Condition::Always });
    }
    if let Some(child) = after {
        let pointer = json!({"solutionId": solution.id, "ownerOrgId": solution.org_id});
        let item = to_item(&pointer, &share_key(child, &solution.id), &[])?;
        writes.push(Write::Put { item, condition: Condition::Always });
    }
    Ok(writes)
}

/// Whether `caller` (of `org_id`) may see and run `solution`: their own personal ones,
/// organisational ones of their organisation, and those shared with it.
fn visible(caller: &Caller, org_id: &str, solution: &Solution) -> bool {
    match solution.kind {
        SolutionType::Personal => solution.org_id == org_id && caller.user_id() == Some(solution.created_by.as_str()),
        SolutionType::Organisational => solution.org_id == org_id,
        SolutionType::Shared => solution.org_id == org_id || solution.shared_with.as_deref() == Some(org_id),
    }
}

/// Whether `caller` may change or delete `solution`: its creator for a personal one, a
/// Solution Center Administrator of the owning organisation for the others.
fn editable(caller: &Caller, org_id: &str, solution: &Solution) -> bool {
    solution.org_id == org_id
        && match solution.kind {
            SolutionType::Personal => caller.user_id() == Some(solution.created_by.as_str()),
            SolutionType::Organisational | SolutionType::Shared => caller.allows(Permission::ManageSolutions),
        }
}

/// The solutions `caller` sees in `org_id`, by name: their personal ones, the
/// organisation's, and those shared with it by its parent.
pub async fn list(ctx: &Ctx, caller: &Caller, org_id: &str) -> Result<Vec<Solution>, Problem> {
    let partition = store::org_partition(org_id);
    let own = ctx.table.query(&Query::partition(&partition).begins_with("SOLUTION#").limit(MAX_SOLUTIONS)).await?;
    let mut solutions: Vec<Solution> = own.items.into_iter().map(from_item).collect::<Result<_, _>>()?;
    let shares =
        ctx.table.query(&Query::partition(&partition).begins_with("SOLUTIONSHARE#").limit(MAX_SOLUTIONS)).await?;
    for share in shares.items {
        if let Some(solution) = shared_solution(ctx, &share).await? {
            solutions.push(solution);
        }
    }
    solutions.retain(|solution| visible(caller, org_id, solution));
    solutions.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
    Ok(solutions)
}

async fn shared_solution(ctx: &Ctx, share: &crate::ports::Item) -> Result<Option<Solution>, Problem> {
    let text = |name: &str| share.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    Ok(crate::records::get(&*ctx.table, &solution_key(&text("ownerOrgId"), &text("solutionId"))).await?)
}

/// The solution `solution_id` as `caller` of `org_id` sees it (its own or shared with it),
/// or 404 — also for a personal solution of someone else, whose existence is not revealed.
pub async fn get(ctx: &Ctx, caller: &Caller, org_id: &str, solution_id: &str) -> Result<Solution, Problem> {
    let own: Option<Solution> = crate::records::get(&*ctx.table, &solution_key(org_id, solution_id)).await?;
    let solution = match own {
        Some(solution) => Some(solution),
        None => match ctx.table.get(&share_key(org_id, solution_id)).await? {
            Some(share) => shared_solution(ctx, &share).await?,
            None => None,
        },
    };
    solution.filter(|solution| visible(caller, org_id, solution)).ok_or_else(not_found)
}

/// Replaces a solution the caller may edit (R-SC-21).
pub async fn replace(
    ctx: &Ctx,
    caller: &Caller,
    org_id: &str,
    solution_id: &str,
    input: SolutionInput,
) -> Result<Solution, Problem> {
    let current = get(ctx, caller, org_id, solution_id).await?;
    if !editable(caller, org_id, &current) {
        return Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", "You may run this solution but not change it."));
    }
    check_author(caller, input.kind)?;
    check(&input, &ctx.pii.supported())?;
    check_child(ctx, org_id, &input).await?;
    if input.version.is_some_and(|version| version != current.version) {
        return Err(conflict());
    }
    let now = ctx.clock.now();
    let solution = Solution {
        id: current.id.clone(),
        org_id: current.org_id.clone(),
        created_by: current.created_by.clone(),
        created_at: current.created_at,
        version: current.version + 1,
        ..from_input(input, now)
    };
    let mut writes = vec![Write::Put { item: item(&solution)?, condition: Condition::VersionEquals(current.version) }];
    writes.extend(share_writes(&solution, current.shared_with.as_deref())?);
    ctx.table.transact(writes).await.map_err(|err| match err {
        StoreError::TransactionCanceled { .. } => conflict(),
        other => other.into(),
    })?;
    Ok(solution)
}

fn conflict() -> Problem {
    Problem::new(StatusCode::CONFLICT, "conflict", "The solution changed since you read it; read it again.")
}

/// Deletes a solution the caller may edit, with its share pointer (R-SC-21). Runs already
/// started finish with the steps they were started with.
pub async fn delete(ctx: &Ctx, caller: &Caller, org_id: &str, solution_id: &str) -> Result<(), Problem> {
    let current = get(ctx, caller, org_id, solution_id).await?;
    if !editable(caller, org_id, &current) {
        return Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", "You may run this solution but not delete it."));
    }
    let mut writes = vec![Write::Delete { key: solution_key(org_id, solution_id), condition: Condition::Exists }];
    if let Some(child) = &current.shared_with {
        writes.push(Write::Delete { key: share_key(child, solution_id), condition: Condition::Always });
    }
    ctx.table.transact(writes).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(steps: serde_json::Value) -> SolutionInput {
        serde_json::from_value(json!({"name": "Brieven", "steps": steps})).expect("well-formed")
    }

    fn code(steps: serde_json::Value) -> String {
        check(&input(steps), &PiiType::PATTERNS).map_err(|p| p.code).err().unwrap_or_default()
    }

    #[test]
    fn a_complete_solution_passes() {
        let steps = json!([{"items": [
            {"type": "ocr", "format": "docx", "locked": true},
            {"type": "redact", "pii": ["iban", "email"], "language": "nl"},
            {"type": "footer", "text": "Vertrouwelijk"},
            {"type": "email", "sendCopy": true}
        ]}]);
        assert_eq!(code(steps), "");
    }

    #[test]
    fn r_sc_5_at_most_ten_steps() {
        let step = json!({"items": [{"type": "download"}]});
        assert_eq!(code(json!(vec![step.clone(); 10])), "");
        assert_eq!(code(json!(vec![step; 11])), "too_many_steps");
        assert_eq!(code(json!([])), "steps_required");
    }

    #[test]
    fn r_sc_4_every_step_has_a_destination() {
        let steps = json!([{"items": [{"type": "ocr", "format": "txt"}]}, {"items": [{"type": "download"}]}]);
        assert_eq!(code(steps), "destination_required");
    }

    #[test]
    fn r_sc_6_the_solution_ends_with_a_destination() {
        let steps = json!([{"items": [{"type": "download"}, {"type": "footer", "text": "x"}]}]);
        assert_eq!(code(steps), "must_end_with_destination");
        let middle = json!([{"items": [{"type": "download"}, {"type": "footer", "text": "x"}]}, {"items": [{"type": "printQueue"}]}]);
        assert_eq!(code(middle), "");
    }

    #[test]
    fn r_sc_7_one_ocr_action_at_most() {
        let steps = json!([{"items": [{"type": "ocr", "format": "txt"}, {"type": "download"}]},
                           {"items": [{"type": "ocr", "format": "txt"}, {"type": "download"}]}]);
        assert_eq!(code(steps), "ocr_twice");
    }

    #[test]
    fn r_sc_13_footer_after_ocr_needs_docx_output() {
        let steps = json!([{"items": [{"type": "ocr", "format": "pdf"}, {"type": "footer", "text": "x"}, {"type": "download"}]}]);
        assert_eq!(code(steps), "requires_docx");
    }

    #[test]
    fn pii_types_this_deployment_cannot_find_are_refused() {
        let steps = json!([{"items": [{"type": "redact", "pii": ["iban"]}, {"type": "download"}]}]);
        let refused = check(&input(steps), &[PiiType::Email]).unwrap_err();
        assert_eq!(refused.code, "pii_type_unavailable");
    }

    #[test]
    fn shared_solutions_name_their_child_and_only_they_do() {
        let mut shared = input(json!([{"items": [{"type": "download"}]}]));
        shared.kind = SolutionType::Shared;
        assert!(check(&shared, &[]).unwrap_err().detail.starts_with("sharedWith"));
        shared.kind = SolutionType::Personal;
        shared.shared_with = Some("child".into());
        assert!(check(&shared, &[]).unwrap_err().detail.starts_with("sharedWith"));
    }
}
