//! Managing users (E-USER, WF-USER-CRUD): create with a password (BR-PWD) or a mailed
//! link to set one, change, delete (BR-USR-3), list.

use super::model::{User, UserRecord};
use super::store;
use crate::Ctx;
use crate::http::Problem;
use crate::passwords;
use crate::ports::{Condition, Key, Page, Query, StoreError, Write};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use serde::Deserialize;
use std::collections::BTreeMap;

/// What an administrator gives to create a user.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    /// E-mail address (stored lower-cased).
    pub email: String,
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Short name.
    #[serde(default)]
    pub short_name: String,
    /// Department.
    #[serde(default)]
    pub department: String,
    /// Cost centre.
    #[serde(default)]
    pub cost_center: String,
    /// Free metadata.
    #[serde(default)]
    pub custom_attributes: BTreeMap<String, String>,
    /// Initial password (BR-PWD); leave out to have none until one is set.
    #[serde(default)]
    pub password: Option<String>,
    /// Instead of a password, mail the user a single-use link (valid 72 hours) to set one
    /// (L4252–L4253).
    #[serde(default)]
    pub send_password_link: bool,
}

/// What an administrator may change of a user; absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPatch {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Short name.
    pub short_name: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Cost centre.
    pub cost_center: Option<String>,
    /// Free metadata (replaces the whole map).
    pub custom_attributes: Option<BTreeMap<String, String>>,
    /// New password (BR-PWD).
    pub password: Option<String>,
}

const MAX_FIELD: usize = 256;

/// Whether `email` looks like an address: one `@`, a local part, a dotted domain.
pub fn is_email(email: &str) -> bool {
    let mut parts = email.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain.contains('.')
                && domain.split('.').all(|p| !p.is_empty())
                && !email.chars().any(char::is_whitespace)
                && email.len() <= 254
        }
        _ => false,
    }
}

fn invalid(field: &str, why: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

fn check_text(field: &str, value: &str) -> Result<(), Problem> {
    if value.chars().count() > MAX_FIELD || value.chars().any(char::is_control) {
        return Err(invalid(field, "at most 256 characters, no control characters"));
    }
    Ok(())
}

fn check_password(password: &str) -> Result<String, Problem> {
    let missing = passwords::problems(password);
    if !missing.is_empty() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "weak_password",
            format!("password: needs {} (BR-PWD)", missing.join(", ")),
        ));
    }
    Ok(passwords::hash(password))
}

/// Creates a user in `org_id` (BR-USR-1: the address must not belong to any user yet).
pub async fn create(ctx: &Ctx, org_id: &str, new: NewUser) -> Result<User, Problem> {
    let email = new.email.trim().to_lowercase();
    if !is_email(&email) {
        return Err(invalid("email", "not an e-mail address"));
    }
    for (field, value) in [
        ("firstName", &new.first_name),
        ("lastName", &new.last_name),
        ("displayName", &new.display_name),
        ("shortName", &new.short_name),
        ("department", &new.department),
        ("costCenter", &new.cost_center),
    ] {
        check_text(field, value)?;
    }
    if new.send_password_link && new.password.is_some() {
        return Err(invalid("sendPasswordLink", "give either a password or ask for a link, not both"));
    }
    let password_hash = new.password.as_deref().map(check_password).transpose()?;
    let user = User {
        id: ctx.ids.new_id(),
        org_id: org_id.to_string(),
        email,
        first_name: new.first_name.trim().to_string(),
        last_name: new.last_name.trim().to_string(),
        display_name: new.display_name.trim().to_string(),
        short_name: new.short_name.trim().to_string(),
        department: new.department.trim().to_string(),
        cost_center: new.cost_center.trim().to_string(),
        custom_attributes: new.custom_attributes,
        groups: Vec::new(),
        roles: Vec::new(),
        guest: false,
        version: 1,
        created_at: ctx.clock.now(),
    };
    let record = UserRecord { user: user.clone(), password_hash };
    match ctx.table.transact(store::create_user_writes(&record)?).await {
        Ok(()) if new.send_password_link => {
            let org = store::get_org(ctx, org_id).await?.map(|o| o.name).unwrap_or_default();
            let token = super::password_links::issue(ctx, org_id, &user.id).await?;
            super::password_links::mail_link(ctx, &org, &user, &token).await?;
            Ok(user)
        }
        Ok(()) => Ok(user),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(Problem::new(
            StatusCode::CONFLICT,
            "email_taken",
            "A user with this e-mail address already exists (a user belongs to one organisation).",
        )),
        Err(other) => Err(other.into()),
    }
}

/// The user `user_id` of `org_id`, or 404.
pub async fn get(ctx: &Ctx, org_id: &str, user_id: &str) -> Result<UserRecord, Problem> {
    store::get_user(ctx, org_id, user_id).await?.ok_or_else(|| Problem::not_found("No such user."))
}

/// Applies `patch` to the user, refusing the write if someone changed the user meanwhile.
pub async fn update(ctx: &Ctx, org_id: &str, user_id: &str, patch: UserPatch) -> Result<User, Problem> {
    let mut record = get(ctx, org_id, user_id).await?;
    let previous = record.user.version;
    let user = &mut record.user;
    for (field, change, target) in [
        ("firstName", patch.first_name, &mut user.first_name),
        ("lastName", patch.last_name, &mut user.last_name),
        ("displayName", patch.display_name, &mut user.display_name),
        ("shortName", patch.short_name, &mut user.short_name),
        ("department", patch.department, &mut user.department),
        ("costCenter", patch.cost_center, &mut user.cost_center),
    ] {
        if let Some(value) = change {
            check_text(field, &value)?;
            *target = value.trim().to_string();
        }
    }
    if let Some(attributes) = patch.custom_attributes {
        user.custom_attributes = attributes;
    }
    if let Some(password) = patch.password.as_deref() {
        record.password_hash = Some(check_password(password)?);
    }
    record.user.version = previous + 1;
    let item = to_item(&record, &store::user_key(org_id, user_id), &[])?;
    ctx.table.put(item, Condition::VersionEquals(previous)).await?;
    Ok(record.user)
}

/// Deletes the user and frees the address. Their print history stays, without name and
/// e-mail address (BR-USR-3): history rows refer to the user id only.
pub async fn delete(ctx: &Ctx, org_id: &str, user_id: &str) -> Result<(), Problem> {
    let record = get(ctx, org_id, user_id).await?;
    let writes = vec![
        Write::Delete { key: store::user_key(org_id, user_id), condition: Condition::Exists },
        Write::Delete {
            key: Key::new(format!("UNIQUE#EMAIL#{}", record.user.email), "UNIQUE"),
            condition: Condition::Always,
        },
    ];
    ctx.table.transact(writes).await?;
    Ok(())
}

/// One page of the organisation's users, in creation order. Guests of email-to-print are
/// left out, so a page may hold fewer than `limit` users while a cursor follows.
pub async fn list(
    ctx: &Ctx,
    org_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<User>, Option<String>), Problem> {
    let query = Query::partition(store::org_partition(org_id)).begins_with("USER#").limit(limit).after(cursor);
    let Page { items, cursor } = ctx.table.query(&query).await?;
    let users = items
        .into_iter()
        .map(|item| from_item::<UserRecord>(item).map(|r| r.user))
        .filter(|user| !user.as_ref().is_ok_and(|user| user.guest))
        .collect::<Result<_, _>>()?;
    Ok((users, cursor))
}
