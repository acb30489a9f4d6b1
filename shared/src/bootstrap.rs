//! First start of a deployment: the first organisation and its administrator, created
//! exactly once (a marker item written in the same transaction guards against a second).

use crate::Ctx;
use crate::passwords;
use crate::ports::{Condition, Key, StoreError, Write};
use serde_json::{Value, json};

/// Every service an organisation can be entitled to (part-2 §3: a role only counts where
/// the organisation is entitled to its service). The first organisation gets them all.
pub const SERVICES: [&str; 9] = [
    "Print Management",
    "Fleet Management",
    "Hybrid Print Management",
    "Direct Print Management",
    "Scan Management",
    "Translation Assistant",
    "Solution Center",
    "Redaction Assistant",
    "Announcement Center",
];

/// Who the first administrator is, and what they log in with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstAdmin {
    /// The organisation's name.
    pub organisation: String,
    /// The administrator's e-mail address (lower-cased).
    pub email: String,
    /// The password (generated unless given); shown once, stored only as a hash.
    pub password: String,
}

/// What bootstrapping created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    /// The new organisation's id.
    pub org_id: String,
    /// The administrator's user id.
    pub user_id: String,
}

/// Why bootstrapping failed.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The given password breaks BR-PWD.
    #[error("the administrator password needs {}", .0.join(", "))]
    WeakPassword(Vec<&'static str>),
    /// The given e-mail address is not one.
    #[error("`{0}` is not an e-mail address")]
    BadEmail(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn marker() -> Key {
    Key::new("DEPLOYMENT", "BOOTSTRAP")
}

/// Whether the deployment already has its first organisation.
pub async fn is_bootstrapped(ctx: &Ctx) -> Result<bool, StoreError> {
    Ok(ctx.table.get(&marker()).await?.is_some())
}

/// Creates the first organisation and its Organization Administrator, unless done before
/// (then `Ok(None)`).
pub async fn bootstrap(ctx: &Ctx, admin: &FirstAdmin) -> Result<Option<Created>, BootstrapError> {
    let email = admin.email.trim().to_lowercase();
    if !email.contains('@') || email.starts_with('@') || email.ends_with('@') || email.contains(char::is_whitespace) {
        return Err(BootstrapError::BadEmail(admin.email.clone()));
    }
    let weak = passwords::problems(&admin.password);
    if !weak.is_empty() {
        return Err(BootstrapError::WeakPassword(weak));
    }
    let (org_id, user_id) = (ctx.ids.new_id(), ctx.ids.new_id());
    let now = ctx.clock.now().to_rfc3339();
    let org_pk = format!("ORG#{org_id}");
    let writes = vec![
        put(json!({"pk": "DEPLOYMENT", "sk": "BOOTSTRAP", "orgId": org_id, "userId": user_id, "createdAt": now})),
        put(json!({
            "pk": org_pk, "sk": "ORG", "kind": "org", "id": org_id, "name": admin.organisation,
            "parentId": null, "entitlements": SERVICES, "timeZone": "UTC", "createdAt": now,
            "gsi1pk": "ORGS", "gsi1sk": admin.organisation.to_lowercase(),
        })),
        put(
            json!({"pk": format!("UNIQUE#ORGNAME#{}", admin.organisation.to_lowercase()), "sk": "UNIQUE", "orgId": org_id}),
        ),
        put(json!({
            "pk": org_pk, "sk": format!("USER#{user_id}"), "kind": "user", "id": user_id, "orgId": org_id,
            "email": email, "firstName": "", "lastName": "", "displayName": "Administrator",
            "passwordHash": passwords::hash(&admin.password), "roles": ["Organization Administrator"],
            "createdAt": now, "gsi1pk": format!("EMAIL#{email}"), "gsi1sk": "USER",
        })),
        put(json!({"pk": format!("UNIQUE#EMAIL#{email}"), "sk": "UNIQUE", "orgId": org_id, "userId": user_id})),
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(Some(Created { org_id, user_id })),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

fn put(item: Value) -> Write {
    let Value::Object(item) = item else { unreachable!("items are objects") };
    Write::Put { item, condition: Condition::Absent }
}
