//! A queue's default print settings (part-3 §2.33, "Standaardafdrukinstellingen"): the
//! options applied to every incoming job of one user's queue where the job leaves them out.
//! Stored as `ORG#<org>`/`PRINTDEFAULTS#<user>`; none saved means none.

use super::options::PrintOptions;
use crate::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::ports::{Condition, Key};
use crate::records::{from_item, to_item};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A user's queue defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrintDefaults {
    /// The options; each one left out falls back to the service's default.
    pub options: PrintOptions,
    /// When they were last saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

fn defaults_key(org_id: &str, user_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("PRINTDEFAULTS#{user_id}"))
}

/// The queue defaults of `user_id` (empty when none were saved).
pub async fn get(ctx: &Ctx, org_id: &str, user_id: &str) -> Result<PrintDefaults, Problem> {
    match ctx.table.get(&defaults_key(org_id, user_id)).await? {
        Some(item) => Ok(from_item(item)?),
        None => Ok(PrintDefaults::default()),
    }
}

/// Replaces the queue defaults of `user_id` with `options` (validated).
pub async fn put(ctx: &Ctx, org_id: &str, user_id: &str, options: PrintOptions) -> Result<PrintDefaults, Problem> {
    options.validate("options")?;
    let defaults = PrintDefaults { options, updated_at: Some(ctx.clock.now()) };
    ctx.table.put(to_item(&defaults, &defaults_key(org_id, user_id), &[])?, Condition::Always).await?;
    Ok(defaults)
}
