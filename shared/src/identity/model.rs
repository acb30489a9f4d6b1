//! The identity records: organisations (E-ORG), users (E-USER) and groups (E-GROUP).

use super::roles::{Role, Service};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// An organisation: the account of one customer (E-ORG), possibly a child of a partner's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organisation {
    /// Identifier.
    pub id: String,
    /// Unique name without special characters (BR-ORG-1).
    pub name: String,
    /// The partner organisation it was created under, if any.
    pub parent_id: Option<String>,
    /// Services the organisation may use; roles of other services do not count.
    pub entitlements: BTreeSet<Service>,
    /// IANA time zone (quota months, policy windows).
    pub time_zone: String,
    /// Roles every user of the organisation has.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Whether child organisations (and the access group) may be created (BR-GRP-2).
    #[serde(default)]
    pub sub_org_creation_enabled: bool,
    /// MPS Express management blocks deletion (BR-ORG-3).
    #[serde(default)]
    pub mps_express: bool,
    /// Deletion in progress (BR-ORG-3).
    #[serde(default)]
    pub deleting: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A user as stored: the API view plus the password hash, which never leaves storage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    /// What the API shows.
    #[serde(flatten)]
    pub user: User,
    /// argon2id PHC string; absent until a password is set.
    #[serde(default)]
    pub password_hash: Option<String>,
}

/// A user (E-USER): a member of exactly one organisation (BR-USR-1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Identifier.
    pub id: String,
    /// The organisation the user belongs to.
    pub org_id: String,
    /// Lower-cased e-mail address, unique in the deployment.
    pub email: String,
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// Name shown in messages and reports; not tied to first/last name.
    #[serde(default)]
    pub display_name: String,
    /// Short name, e.g. `jjansen`.
    #[serde(default)]
    pub short_name: String,
    /// Department (quota assignment, reporting).
    #[serde(default)]
    pub department: String,
    /// Cost centre (quota assignment, reporting).
    #[serde(default)]
    pub cost_center: String,
    /// Free metadata.
    #[serde(default)]
    pub custom_attributes: BTreeMap<String, String>,
    /// Ids of the groups the user is a member of.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Roles assigned to the user directly.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// A guest sender of email-to-print (R-GUEST-12): no e-mail address and no password;
    /// signs in at printers with the PIN mailed to them, and prints only their own jobs.
    /// Guests are not listed among the organisation's users.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guest: bool,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}
