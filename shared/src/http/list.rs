//! The list envelope of the API: `{"items": [...], "nextToken": "..."}` with `?limit=`
//! (default 50, at most 200) and `?nextToken=`.

use super::Problem;
use serde::{Deserialize, Serialize};

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 200;

/// The paging parameters of a list request.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    /// Page size.
    pub limit: Option<u32>,
    /// Where the previous page stopped.
    pub next_token: Option<String>,
}

impl ListParams {
    /// The page size asked for, or 400 `invalid_limit` outside 1..=200.
    pub fn limit(&self) -> Result<u32, Problem> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n @ 1..=MAX_LIMIT) => Ok(n),
            Some(_) => Err(Problem::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_limit",
                format!("limit must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }
}

/// One page of a list.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPage<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `nextToken` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
