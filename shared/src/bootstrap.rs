//! First start of a deployment: the first organisation and its administrator, created
//! exactly once (a marker item written in the same transaction guards against a second).

use crate::Ctx;
use crate::identity::model::{Organisation, User, UserRecord};
use crate::identity::roles::{Role, Service};
use crate::identity::store;
use crate::passwords;
use crate::ports::{Condition, Key, StoreError, Write};

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
    let now = ctx.clock.now();
    let org = Organisation {
        id: org_id.clone(),
        name: admin.organisation.clone(),
        parent_id: None,
        entitlements: Service::ALL.into_iter().collect(),
        time_zone: "UTC".into(),
        roles: Vec::new(),
        sub_org_creation_enabled: true,
        mps_express: false,
        deleting: false,
        created_at: now,
    };
    let user = UserRecord {
        user: User {
            id: user_id.clone(),
            org_id: org_id.clone(),
            email,
            display_name: "Administrator".into(),
            roles: vec![Role::OrganizationAdministrator],
            created_at: now,
            ..User::default()
        },
        password_hash: Some(passwords::hash(&admin.password)),
    };
    let marker_item = serde_json::json!({"pk": "DEPLOYMENT", "sk": "BOOTSTRAP", "orgId": org_id, "userId": user_id});
    let serde_json::Value::Object(marker_item) = marker_item else { unreachable!("an object") };
    let mut writes = vec![Write::Put { item: marker_item, condition: Condition::Absent }];
    writes.extend(store::create_org_writes(&org)?);
    writes.extend(store::create_user_writes(&user)?);
    // The groups every organisation starts with (E-GROUP, L4184–L4193): 10 more writes.
    writes.extend(crate::identity::groups::predefined_group_writes(&org_id, now)?);
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(Some(Created { org_id, user_id })),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Ok(None),
        Err(other) => Err(other.into()),
    }
}
