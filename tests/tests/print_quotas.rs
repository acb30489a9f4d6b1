//! Print quotas end to end through HTTP against the in-process runner: definitions and the
//! default quota, assignments and their precedence, the reservation a release makes (and
//! its refusals), and settlement through the `quota-events` queue.

use e2e::print_env::{PrintEnv as Env, USER_EMAIL, colour_pdf, pdf};
use e2e::{Storage, eventually, expect_problem, json_of};
use serde_json::{Value, json};
use std::time::Duration;

/// The same limits every month: `total` sides (or `"unlimited"` / `"disabled"`), `colour`
/// a number of sides or `"allow"` / `"deny"`.
fn every_month(total: Value, colour: Value) -> Value {
    let limit = |value: Value| match value {
        Value::Number(sides) => json!({"kind": "limit", "sides": sides}),
        other => json!({"kind": other}),
    };
    json!({"kind": "sameEveryMonth", "limits": {"total": limit(total), "colour": limit(colour)}})
}

/// A runner with print quotas on and `default` as the organisation's default quota.
async fn with_default_quota(storage: Storage, default: Value) -> Env {
    let env = Env::start(storage).await;
    env.print_settings(json!({"printQuotas": true})).await;
    env.send_ok("PUT", "/quota-default", json!({"limits": default})).await;
    env
}

/// Submits `document` for the user and waits until it is held; answers the job id.
async fn held(env: &Env, name: &str, document: Vec<u8>) -> String {
    let job_id = env.submit_uploaded(name, document).await;
    assert_eq!(env.ingested(&job_id).await["state"], "Held");
    job_id
}

/// Releases `job_id` at the first printer with `changes`; answers the response.
async fn release(env: &Env, job_id: &str, changes: Value) -> reqwest::Response {
    let session = env.session(&env.device_token().await).await;
    env.device_post(&session, &format!("/v1/device/jobs/{job_id}/release"), changes).await
}

/// Reports the release `granted` of `job_id` with `outcome` and the sides printed.
async fn complete(env: &Env, job_id: &str, granted: &Value, outcome: &str, mono: u64, colour: u64) {
    let session = env.session(&env.device_token().await).await;
    let body = json!({"leaseId": granted["leaseId"], "outcome": outcome, "monoSides": mono, "colourSides": colour,
        "sheets": mono + colour});
    let path = format!("/v1/device/jobs/{job_id}/complete");
    let response = env.device_post(&session, &path, body).await;
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap());
}

/// Releases and completes `job_id` as printed in mono; answers nothing, fails otherwise.
async fn print_mono(env: &Env, job_id: &str, sides: u64) {
    let response = release(env, job_id, json!({})).await;
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap());
    let granted: Value = response.json().await.unwrap();
    complete(env, job_id, &granted, "printed", sides, 0).await;
}

/// Releases `job_id` again and again until the release is granted (a settlement that
/// returns sides arrives through the queue); answers the grant.
async fn released_once_settled(env: &Env, job_id: &str) -> Value {
    eventually("the reservation to be returned", Duration::from_secs(20), || async {
        let response = release(env, job_id, json!({})).await;
        (response.status().as_u16() == 200).then_some(())?;
        response.json::<Value>().await.ok()
    })
    .await
}

async fn d_quota_unit_a_job_larger_than_what_is_left_is_refused_and_cancel_returns_sides(storage: Storage) {
    let env = with_default_quota(storage, every_month(json!(20), json!("allow"))).await;
    let first = held(&env, "ten.pdf", pdf(10)).await;
    print_mono(&env, &first, 10).await;

    let twelve = held(&env, "twelve.pdf", pdf(12)).await;
    let refused = release(&env, &twelve, json!({})).await;
    let problem = expect_problem(refused, 403, "quota_exceeded").await;
    assert_eq!(problem["remaining"], 10, "{problem}");

    let eight = held(&env, "eight.pdf", pdf(8)).await;
    let granted: Value = release(&env, &eight, json!({})).await.json().await.unwrap();
    let three = held(&env, "three.pdf", pdf(3)).await;
    expect_problem(release(&env, &three, json!({})).await, 403, "quota_exceeded").await;
    complete(&env, &eight, &granted, "cancelled", 0, 0).await;
    let granted = released_once_settled(&env, &three).await;
    complete(&env, &three, &granted, "printed", 3, 0).await;
    env.running.shutdown().await;
}

async fn br_qt_03_printing_disabled_refuses_every_release(storage: Storage) {
    let env = with_default_quota(storage, every_month(json!("disabled"), json!("allow"))).await;
    let one = held(&env, "one.pdf", pdf(1)).await;
    let problem = expect_problem(release(&env, &one, json!({})).await, 403, "quota_exceeded").await;
    assert_eq!(problem["remaining"], 0);
    env.running.shutdown().await;
}

async fn d_quota_colour_a_colour_job_past_the_colour_limit_prints_in_mono(storage: Storage) {
    let env = with_default_quota(storage, every_month(json!(100), json!(5))).await;
    let job = held(&env, "poster.pdf", colour_pdf(6)).await;
    let problem = expect_problem(release(&env, &job, json!({})).await, 403, "colour_quota_exceeded").await;
    assert_eq!((&problem["remainingColour"], &problem["remaining"]), (&json!(5), &json!(100)), "{problem}");
    let response = release(&env, &job, json!({"colourMode": "mono"})).await;
    assert_eq!(response.status().as_u16(), 200, "ER-QT-02: mono within the total");
    let granted: Value = response.json().await.unwrap();
    complete(&env, &job, &granted, "printed", 6, 0).await;
    let small = held(&env, "small.pdf", colour_pdf(5)).await;
    let response = release(&env, &small, json!({})).await;
    assert_eq!(response.status().as_u16(), 200, "the mono job used none of the colour limit");
    env.running.shutdown().await;
}

async fn d_quota_precedence_personal_over_department_over_default(storage: Storage) {
    let env = with_default_quota(storage, every_month(json!(100), json!("allow"))).await;
    env.print_settings(json!({"quotaAssignment": "departmentOrPersonal"})).await;
    env.send_ok("PATCH", &format!("/users/{}", env.user_id), json!({"department": "Finance"})).await;
    let department = env
        .send_ok(
            "POST",
            "/quota-definitions",
            json!({"name": "Finance",
        "limits": every_month(json!(5), json!("allow"))}),
        )
        .await;
    let personal = env
        .send_ok(
            "POST",
            "/quota-definitions",
            json!({"name": "Pat",
        "limits": every_month(json!(3), json!("allow"))}),
        )
        .await;
    env.send_ok("PUT", "/quota-assignments/department/finance", json!({"definitionId": department["id"]})).await;
    let six = held(&env, "six.pdf", pdf(6)).await;
    let problem = expect_problem(release(&env, &six, json!({})).await, 403, "quota_exceeded").await;
    assert_eq!(problem["remaining"], 5, "the department's quota applies");
    env.send_ok("PUT", &format!("/quota-assignments/personal/{USER_EMAIL}"), json!({"definitionId": personal["id"]}))
        .await;
    let four = held(&env, "four.pdf", pdf(4)).await;
    let problem = expect_problem(release(&env, &four, json!({})).await, 403, "quota_exceeded").await;
    assert_eq!(problem["remaining"], 3, "the personal quota overrides the department's");
    env.send_ok("DELETE", &format!("/quota-assignments/personal/{USER_EMAIL}"), Value::Null).await;
    assert_eq!(release(&env, &four, json!({})).await.status().as_u16(), 200, "back to the department's 5");
    env.running.shutdown().await;
}

async fn br_qt_01_and_er_qt_01_definitions_and_assignments_are_validated(storage: Storage) {
    let env = Env::start(storage).await;
    let definition = json!({"name": "Staff", "limits": every_month(json!(500), json!(50))});
    let off = env.http.post(env.org_url("/quota-definitions")).bearer_auth(&env.admin).json(&definition);
    expect_problem(off.send().await.unwrap(), 409, "print_quotas_disabled").await;
    env.print_settings(json!({"printQuotas": true})).await;
    let staff = env.send_ok("POST", "/quota-definitions", definition).await;
    let again = json!({"name": "STAFF", "limits": every_month(json!("unlimited"), json!("allow"))});
    let twice = env.http.post(env.org_url("/quota-definitions")).bearer_auth(&env.admin).json(&again);
    expect_problem(twice.send().await.unwrap(), 409, "name_taken").await;
    let too_much_colour = json!({"name": "Odd", "limits": every_month(json!(10), json!(20))});
    let odd = env.http.post(env.org_url("/quota-definitions")).bearer_auth(&env.admin).json(&too_much_colour);
    let problem = expect_problem(odd.send().await.unwrap(), 400, "invalid_field").await;
    assert!(problem["detail"].as_str().unwrap().contains("colour"), "{problem}");
    let nowhere = env
        .http
        .put(env.org_url("/quota-assignments/costCenter/Nowhere"))
        .bearer_auth(&env.admin)
        .json(&json!({"definitionId": staff["id"]}));
    expect_problem(nowhere.send().await.unwrap(), 422, "unknown_cost_center").await;
    env.send_ok("PATCH", &format!("/users/{}", env.user_id), json!({"costCenter": "CC-100"})).await;
    env.send_ok("PUT", "/quota-assignments/costCenter/CC-100", json!({"definitionId": staff["id"]})).await;
    let used = env.http.delete(env.org_url(&format!("/quota-definitions/{}", staff["id"].as_str().unwrap())));
    expect_problem(used.bearer_auth(&env.admin).send().await.unwrap(), 409, "quota_in_use").await;
    env.running.shutdown().await;
}

/// The user's own quota row.
async fn my_quota(env: &Env) -> Value {
    let token = env.user_token().await;
    env.http.get(env.url("/v1/me/quota")).bearer_auth(&token).send().await.unwrap().json().await.unwrap()
}

async fn d_quota_status_thresholds_filters_and_csv_export(storage: Storage) {
    let env = with_default_quota(storage, every_month(json!(100), json!("allow"))).await;
    let fresh = my_quota(&env).await;
    assert_eq!(
        (&fresh["status"], &fresh["totalRemaining"], &fresh["type"]),
        (&json!("OK"), &json!(100), &json!("Default"))
    );
    let steps = [(89, "OK", 11), (1, "Warning", 10), (10, "Exceeded", 0)];
    for (n, (pages, status, left)) in steps.into_iter().enumerate() {
        let job = held(&env, &format!("part {n}.pdf"), pdf(pages)).await;
        print_mono(&env, &job, pages as u64).await;
        let mine = my_quota(&env).await;
        assert_eq!((&mine["status"], &mine["totalRemaining"]), (&json!(status), &json!(left)), "BR-QT-10: {mine}");
    }
    let exceeded = json_of(env.http.get(env.org_url("/quota-status?status=Exceeded")).bearer_auth(&env.admin)).await;
    let emails: Vec<&str> =
        exceeded["items"].as_array().unwrap().iter().map(|r| r["email"].as_str().unwrap()).collect();
    assert_eq!(emails, [USER_EMAIL], "only the user who used everything: {exceeded}");
    let csv = env.http.get(env.org_url("/quota-status")).bearer_auth(&env.admin).header("accept", "text/csv");
    let csv = csv.send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    assert_eq!(lines.next(), Some("User,Status,Total remaining,Colour remaining,Quota definition,Type,Month"));
    let row = lines.find(|line| line.starts_with(USER_EMAIL)).expect("the user's row");
    assert!(row.starts_with(&format!("{USER_EMAIL},Exceeded,0,0,Default,Default,")), "{row}");
    let bad = env.http.get(env.org_url("/quota-status?status=Fine")).bearer_auth(&env.admin).send().await.unwrap();
    expect_problem(bad, 400, "invalid_field").await;
    env.running.shutdown().await;
}

async fn d_quota_unit_a_lapsed_lease_returns_its_reservation_an_hour_later(storage: Storage) {
    let env = with_default_quota(storage, every_month(json!(10), json!("allow"))).await;
    let eight = held(&env, "eight.pdf", pdf(8)).await;
    assert_eq!(release(&env, &eight, json!({})).await.status().as_u16(), 200);
    let five = held(&env, "five.pdf", pdf(5)).await;
    let problem = expect_problem(release(&env, &five, json!({})).await, 403, "quota_exceeded").await;
    assert_eq!(problem["remaining"], 2, "the unreported release still holds its 8 sides");
    env.clock.advance(chrono::Duration::minutes(30));
    let sweep = || shared::print::retention::sweep(&env.running.ctx);
    assert_eq!(sweep().await.unwrap().reservations, 0, "a completion may still be on its way");
    expect_problem(release(&env, &five, json!({})).await, 403, "quota_exceeded").await;
    env.clock.advance(chrono::Duration::hours(2));
    assert_eq!(sweep().await.unwrap().reservations, 1, "returned an hour after the lease lapsed");
    assert_eq!(release(&env, &five, json!({})).await.status().as_u16(), 200, "the 8 sides are back");
    assert_eq!(sweep().await.unwrap().reservations, 0, "returned once");
    env.running.shutdown().await;
}

async fn d_quota_period_a_new_month_starts_afresh_with_its_own_limits(storage: Storage) {
    let eve = chrono::DateTime::parse_from_rfc3339("2026-11-30T23:00:00Z").unwrap().to_utc();
    let env = Env::start_at(storage, eve).await;
    env.print_settings(json!({"printQuotas": true})).await;
    let months = json!({"kind": "perMonth", "months": [
        {"month": 11, "limits": {"total": {"kind": "limit", "sides": 10}, "colour": {"kind": "allow"}}},
        {"month": 12, "limits": {"total": {"kind": "limit", "sides": 3}, "colour": {"kind": "allow"}}}]});
    env.send_ok("PUT", "/quota-default", json!({"limits": months})).await;
    let ten = held(&env, "ten.pdf", pdf(10)).await;
    print_mono(&env, &ten, 10).await;
    let four = held(&env, "four.pdf", pdf(4)).await;
    let three = held(&env, "three.pdf", pdf(3)).await;
    let problem = expect_problem(release(&env, &four, json!({})).await, 403, "quota_exceeded").await;
    assert_eq!(problem["remaining"], 0, "November is used up");
    env.clock.advance(chrono::Duration::hours(2));
    let problem = expect_problem(release(&env, &four, json!({})).await, 403, "quota_exceeded").await;
    assert_eq!(problem["remaining"], 3, "December has its own limit of 3, nothing used yet (BR-QT-02)");
    assert_eq!(release(&env, &three, json!({})).await.status().as_u16(), 200);
    let mine = my_quota(&env).await;
    assert_eq!(
        (&mine["month"], &mine["totalRemaining"], &mine["status"]),
        (&json!("2026-12"), &json!(0), &json!("Exceeded"))
    );
    env.running.shutdown().await;
}

e2e::on_both_storages!(
    d_quota_unit_a_job_larger_than_what_is_left_is_refused_and_cancel_returns_sides,
    br_qt_03_printing_disabled_refuses_every_release,
    d_quota_colour_a_colour_job_past_the_colour_limit_prints_in_mono,
    d_quota_precedence_personal_over_department_over_default,
    br_qt_01_and_er_qt_01_definitions_and_assignments_are_validated,
    d_quota_status_thresholds_filters_and_csv_export,
    d_quota_unit_a_lapsed_lease_returns_its_reservation_an_hour_later,
    d_quota_period_a_new_month_starts_afresh_with_its_own_limits,
);
