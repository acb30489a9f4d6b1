//! One contract suite per port, run against both adapters: the embedded ones (SQLite, a
//! directory, an outbox) and the AWS ones against a local AWS-compatible endpoint (moto
//! server; `scripts/test` starts it and sets `PRINTCLOUD_MOTO_ENDPOINT`).

mod blobs;
mod fixtures;
mod mailer;
mod queue;
mod table;

/// Generates one `#[tokio::test]` per case for a backend; each case is an async function
/// of a fresh fixture.
macro_rules! backend {
    ($backend:ident, $make:path, [$($case:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fixture = $make().await;
                    crate::$case(&fixture).await;
                }
            )*
        }
    };
}

macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        backend!(embedded, crate::fixtures::embedded, [$($case),*]);
        backend!(aws, crate::fixtures::aws, [$($case),*]);
    };
}

use blobs::*;
use mailer::*;
use queue::*;
use table::*;

both_backends!(
    table_round_trip_keeps_json_types,
    table_conditional_put_conflict,
    table_version_condition,
    table_atomic_decrement_refused_at_the_floor,
    table_counter_grows_up_to_a_ceiling,
    table_update_creates_missing_item,
    table_conditional_delete,
    table_transact_all_or_nothing,
    table_transact_limits,
    table_query_pagination_250_both_directions,
    table_query_sort_key_ranges,
    table_query_secondary_indexes_paginate,
    table_query_skip_and_count,
    table_query_json_matches_query,
    table_get_json_matches_get,
    table_invalid_cursor_is_refused,
    table_expired_ttl_items_are_invisible,
    queue_send_receive_delete,
    queue_batch_limits,
    queue_visibility_timeout_redelivers,
    queue_change_visibility,
    queue_delay,
    queue_dead_letter_after_max_receives,
    blobs_put_get_head_list_delete,
    blobs_presigned_put_then_get,
    blobs_presigned_urls_expire,
    blobs_object_created_notifications,
    mailer_sends_rendered_mail,
);
