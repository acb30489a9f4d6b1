//! Email-to-print and guest printing end to end (issue [6 of 8]): mail sent with a real
//! SMTP client (Python's `smtplib`) to `serve`'s SMTP listener on embedded storage, or
//! stored in the bucket as SES stores it on the AWS adapters (moto) — either way the
//! `inbound-mail` queue runs `email-inbound`, whose jobs go through the normal ingest.

use e2e::mail_env::{Attached, pin_in, raw_mail, send_smtp, take_mails_to};
use e2e::print_env::{PrintEnv as Env, USER_EMAIL, pdf};
use e2e::{Storage, eventually, expect_problem, json_of, second_org};
use serde_json::{Value, json};
use std::time::Duration;

/// The deployment's print address domain under the tests' runner (`ServeOptions` default).
const DOMAIN: &str = "print.printcloud.local";
const PRINT_ADDRESS: &str = "acme@print.printcloud.local";
const GUEST: &str = "Visitor@Example.NET";

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8,
    6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1,
    0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A runner with an SMTP listener and e-mail submission on at [`PRINT_ADDRESS`].
async fn with_email(storage: Storage, extra: Value) -> Env {
    let env = Env::start_customised(storage, chrono::Utc::now(), |options| {
        options.smtp = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let mut settings = json!({"emailSubmission": true, "emailLocalPart": "acme"});
    settings.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    env.print_settings(settings).await;
    env
}

/// Printers accept badges and PINs alone; PINs expire after `hours` (guests' PINs too,
/// which the service always makes itself).
async fn pin_login(env: &Env, hours: u32) {
    let config = json!({"mode": "standard", "methods": ["badge", "pin"], "pinGeneration": "setByAdmin",
        "pinExpiry": {"after": hours, "unit": "hours"}});
    env.send_ok("PUT", "/settings/printer-login", config).await;
}

/// Delivers `raw` to the print address: over SMTP on embedded storage; on the AWS adapters
/// as SES does, the raw message stored in the bucket under `mail/` (its S3 event feeds
/// `inbound-mail`).
async fn deliver(env: &Env, storage: Storage, from: &str, to: &str, raw: Vec<u8>) {
    match storage {
        Storage::Embedded => {
            let smtp = env.running.smtp_addr.expect("the SMTP listener runs");
            tokio::task::spawn_blocking({
                let (from, to) = (from.to_string(), to.to_string());
                move || send_smtp(smtp, &from, &to, &raw)
            })
            .await
            .unwrap();
        }
        Storage::Aws => {
            let key = format!("mail/ses-{}", env.running.ctx.ids.new_id());
            env.running.ctx.blobs.put(&key, bytes::Bytes::from(raw), "message/rfc822").await.unwrap();
        }
    }
}

/// The queue of `owner` once it holds `count` jobs, all ingested.
async fn queue_of(env: &Env, owner: &str, count: usize) -> Vec<Value> {
    let url = env.org_url(&format!("/users/{owner}/jobs"));
    eventually(&format!("{count} ingested jobs"), Duration::from_secs(30), || async {
        let queue: Value = env.http.get(&url).bearer_auth(&env.admin).send().await.ok()?.json().await.ok()?;
        let items = queue["items"].as_array()?.clone();
        (items.len() == count && items.iter().all(|job| job["state"] != "Uploading")).then_some(items)
    })
    .await
}

/// Waits until the outbox holds a mail to `to`; answers the mails taken.
async fn mails_to(env: &Env, to: &str) -> Vec<String> {
    eventually(&format!("a mail to {to}"), Duration::from_secs(30), || async {
        let mails = take_mails_to(env._dir.path(), to);
        (!mails.is_empty()).then_some(mails)
    })
    .await
}

/// Waits until no raw mail is left in the bucket (each is deleted once handled).
async fn all_mail_handled(env: &Env) {
    eventually("every stored mail handled and deleted", Duration::from_secs(30), || async {
        env.running.ctx.blobs.list("mail/").await.ok()?.is_empty().then_some(())
    })
    .await
}

fn by_name<'a>(jobs: &'a [Value], name: &str) -> &'a Value {
    jobs.iter().find(|job| job["name"] == name).unwrap_or_else(|| panic!("a job {name} in {jobs:?}"))
}

// BR-OS-14, R-GUEST-4 (each attachment a job), BR-OS-15 (the body a job when on).
async fn a_users_mail_becomes_one_job_per_attachment_and_the_body(storage: Storage) {
    let env = with_email(storage, json!({})).await;
    let attachments = [
        Attached { name: "report.pdf", mime: "application/pdf", bytes: &pdf(3) },
        Attached { name: "photo.png", mime: "image/png", bytes: PNG },
    ];
    let raw = raw_mail(USER_EMAIL, PRINT_ADDRESS, "Quarterly", "Please print.", &attachments);
    deliver(&env, storage, USER_EMAIL, PRINT_ADDRESS, raw.clone()).await;
    let jobs = queue_of(&env, &env.user_id, 2).await;
    let (report, photo) = (by_name(&jobs, "report.pdf"), by_name(&jobs, "photo.png"));
    assert_eq!((&report["state"], &report["pages"], &report["source"]), (&json!("Held"), &json!(3), &json!("E-mail")));
    assert_eq!((&photo["state"], &photo["pages"]), (&json!("Held"), &json!(1)));

    env.print_settings(json!({"emailBodyPrinting": true})).await;
    let raw = raw_mail(USER_EMAIL, PRINT_ADDRESS, "Second", "Print this text too.", &attachments);
    deliver(&env, storage, USER_EMAIL, PRINT_ADDRESS, raw).await;
    let jobs = queue_of(&env, &env.user_id, 5).await;
    let body = by_name(&jobs, "Second.txt");
    assert_eq!((&body["state"], &body["pages"]), (&json!("Held"), &json!(1)));
    all_mail_handled(&env).await;
    assert!(take_mails_to(env._dir.path(), USER_EMAIL).is_empty(), "a registered user's printable mail gets no reply");
}

// W6, R-GUEST-7 (same PIN again), R-GUEST-6 (jobs live until the PIN expires), R-GUEST-13.
async fn a_guest_gets_a_pin_releases_with_it_and_keeps_it(storage: Storage) {
    let env = with_email(storage, json!({})).await;
    pin_login(&env, 7).await;
    env.print_settings(json!({"guestSubmission": true})).await;
    let attachments = [Attached { name: "ticket.pdf", mime: "application/pdf", bytes: &pdf(1) }];
    deliver(&env, storage, GUEST, PRINT_ADDRESS, raw_mail(GUEST, PRINT_ADDRESS, "Ticket", "hi", &attachments)).await;
    let guest = GUEST.to_lowercase();
    let first = mails_to(&env, &guest).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].contains("ticket.pdf"), "{}", first[0]);
    let pin = pin_in(&first[0]);
    assert_no_trace_of(&env, &guest).await;

    let session: Value = json_of(
        env.http.post(env.url("/v1/device/sessions")).bearer_auth(&env.device_token().await).json(&json!({"pin": pin})),
    )
    .await;
    let session = session["sessionToken"].as_str().unwrap_or_else(|| panic!("a guest session: {session}")).to_string();
    let job = eventually("the guest's held job", Duration::from_secs(30), || async {
        let listed: Value = json_of(env.http.get(env.url("/v1/device/jobs")).bearer_auth(&session)).await;
        listed["items"].as_array()?.first().map(|item| item["job"].clone())
    })
    .await;
    assert_eq!((&job["name"], &job["state"], &job["pages"]), (&json!("ticket.pdf"), &json!("Held"), &json!(1)));
    let expires = chrono::DateTime::parse_from_rfc3339(job["expiresAt"].as_str().unwrap()).unwrap();
    let pin_expiry = chrono::Utc::now() + chrono::Duration::hours(7);
    assert!(expires <= pin_expiry + chrono::Duration::minutes(1), "R-GUEST-6: {expires} after the PIN's {pin_expiry}");
    let path = format!("/v1/device/jobs/{}/release", job["id"].as_str().unwrap());
    assert_eq!(env.device_post(&session, &path, json!({})).await.status().as_u16(), 200);

    let second = [Attached { name: "map.pdf", mime: "application/pdf", bytes: &pdf(2) }];
    deliver(&env, storage, GUEST, PRINT_ADDRESS, raw_mail(GUEST, PRINT_ADDRESS, "Map", "again", &second)).await;
    let again = mails_to(&env, &guest).await;
    assert_eq!(pin_in(&again[0]), pin, "R-GUEST-7: the same PIN while it is valid");
    // R-GUEST-7: the second mail's job is in the same queue, seen by the same PIN session.
    eventually("the second guest job", Duration::from_secs(30), || async {
        let listed: Value = json_of(env.http.get(env.url("/v1/device/jobs")).bearer_auth(&session)).await;
        listed["items"].as_array()?.iter().any(|item| item["job"]["name"] == "map.pdf").then_some(())
    })
    .await;
    let users: Value = json_of(env.http.get(env.org_url("/users")).bearer_auth(&env.admin)).await;
    assert!(
        users["items"].as_array().unwrap().iter().all(|user| user["guest"] != true && user["email"] != ""),
        "guests are not listed among users: {users}"
    );
}

/// D-GUEST-HASH, R-GUEST-11: nothing the organisation stores names `address`.
async fn assert_no_trace_of(env: &Env, address: &str) {
    use shared::ports::Query;
    let mut cursor = None;
    loop {
        let query = Query::partition(format!("ORG#{}", env.org)).limit(500).after(cursor);
        let page = env.running.ctx.table.query(&query).await.unwrap();
        for item in &page.items {
            let text = serde_json::to_string(item).unwrap().to_lowercase();
            assert!(!text.contains(address), "the guest's address is stored: {text}");
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return;
        }
    }
}

/// Signs in at the first printer with `pin`; answers the session's user id.
async fn pin_user(env: &Env, pin: &str) -> String {
    let request = env.http.post(env.url("/v1/device/sessions")).bearer_auth(env.device_token().await);
    let session = json_of(request.json(&json!({"pin": pin}))).await;
    session["user"]["id"].as_str().unwrap_or_else(|| panic!("a guest session: {session}")).to_string()
}

// R-GUEST-8, R-GUEST-7: after the PIN expired a new mail keeps the guest's queue with a new
// PIN; once the guest was silent for more than 14 days a mail makes a new guest.
#[tokio::test]
async fn a_guest_is_kept_fourteen_days_after_their_last_mail() {
    let mut env = with_email(Storage::Embedded, json!({})).await;
    pin_login(&env, 7).await;
    env.print_settings(json!({"guestSubmission": true})).await;
    let guest = GUEST.to_lowercase();
    let attachments = [Attached { name: "a.pdf", mime: "application/pdf", bytes: &pdf(1) }];
    let mail = || raw_mail(GUEST, PRINT_ADDRESS, "Doc", "x", &attachments);
    deliver(&env, Storage::Embedded, GUEST, PRINT_ADDRESS, mail()).await;
    let first_pin = pin_in(&mails_to(&env, &guest).await[0]);
    let first_user = pin_user(&env, &first_pin).await;

    env.clock.advance(chrono::Duration::hours(8));
    env.refresh_admin().await;
    deliver(&env, Storage::Embedded, GUEST, PRINT_ADDRESS, mail()).await;
    let renewed = mails_to(&env, &guest).await;
    assert!(!renewed[0].contains("still the one"), "the first PIN expired: {}", renewed[0]);
    assert_eq!(pin_user(&env, &pin_in(&renewed[0])).await, first_user, "the same guest queue");

    env.clock.advance(chrono::Duration::days(15));
    env.refresh_admin().await;
    deliver(&env, Storage::Embedded, GUEST, PRINT_ADDRESS, mail()).await;
    let later = mails_to(&env, &guest).await;
    assert_ne!(pin_user(&env, &pin_in(&later[0])).await, first_user, "a new guest after 14 silent days");
}

// R-GUEST-3: an unsupported attachment gets one reply listing the supported formats.
async fn an_unsupported_attachment_gets_the_formats_reply(storage: Storage) {
    let env = with_email(storage, json!({})).await;
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8\x00\x00\x00";
    let attachments = [Attached { name: "setup.exe", mime: "application/octet-stream", bytes: exe }];
    deliver(&env, storage, USER_EMAIL, PRINT_ADDRESS, raw_mail(USER_EMAIL, PRINT_ADDRESS, "Tool", "x", &attachments))
        .await;
    let replies = mails_to(&env, USER_EMAIL).await;
    assert_eq!(replies.len(), 1);
    assert!(
        replies[0].contains("setup.exe") && replies[0].contains("PDF") && replies[0].contains("XLSX"),
        "{}",
        replies[0]
    );
    all_mail_handled(&env).await;
    let queue: Value =
        json_of(env.http.get(env.org_url(&format!("/users/{}/jobs", env.user_id))).bearer_auth(&env.admin)).await;
    assert_eq!(queue["items"], json!([]));
}

// Routing: an address no organisation has leaves nothing but a log line; nobody is answered.
async fn an_unknown_print_address_leaves_no_trace(storage: Storage) {
    let env = with_email(storage, json!({})).await;
    let to = format!("nobody@{DOMAIN}");
    let attachments = [Attached { name: "a.pdf", mime: "application/pdf", bytes: &pdf(1) }];
    deliver(&env, storage, USER_EMAIL, &to, raw_mail(USER_EMAIL, &to, "Lost", "x", &attachments)).await;
    all_mail_handled(&env).await;
    let queue: Value =
        json_of(env.http.get(env.org_url(&format!("/users/{}/jobs", env.user_id))).bearer_auth(&env.admin)).await;
    assert_eq!(queue["items"], json!([]));
    assert!(take_mails_to(env._dir.path(), USER_EMAIL).is_empty(), "no bounce to a possibly forged sender");
}

// R-GUEST-5: a guest job over the page limit is not processed at all; the guest is told.
// BR-OS-16 (guests only when allowed): without guest printing, a stranger is told they may not print.
async fn guests_are_limited_by_pages_and_strangers_may_not_print(storage: Storage) {
    let env = with_email(storage, json!({})).await;
    let attachments = [Attached { name: "long.pdf", mime: "application/pdf", bytes: &pdf(5) }];
    let raw = || raw_mail(GUEST, PRINT_ADDRESS, "Long", "x", &attachments);
    deliver(&env, storage, GUEST, PRINT_ADDRESS, raw()).await;
    let refused = mails_to(&env, &GUEST.to_lowercase()).await;
    assert!(refused[0].contains("not allowed to print"), "{}", refused[0]);

    pin_login(&env, 24).await;
    env.print_settings(json!({"guestSubmission": true, "guestPageLimit": 4})).await;
    deliver(&env, storage, GUEST, PRINT_ADDRESS, raw()).await;
    let told = mails_to(&env, &GUEST.to_lowercase()).await;
    assert!(told[0].contains("long.pdf") && told[0].contains("5 pages"), "{}", told[0]);
    assert!(!told[0].contains("PIN"), "no guest is made for nothing to print: {}", told[0]);
}

// R-GUEST-10, BR-OS-17: guests count against the cost centre the organisation chose.
async fn guests_count_against_their_cost_centre_quota(storage: Storage) {
    let env = with_email(storage, json!({})).await;
    pin_login(&env, 24).await;
    let visitor = json!({"email": "host@example.org", "displayName": "Host", "costCenter": "Visitors"});
    env.send_ok("POST", "/users", visitor).await;
    env.print_settings(json!({"guestSubmission": true, "guestChargedTo": {"kind": "costCenter", "name": "Visitors"},
        "printQuotas": true, "quotaAssignment": "costCenterOrPersonal"}))
        .await;
    let limits = json!({"kind": "sameEveryMonth", "limits": {"total": {"kind": "limit", "sides": 2},
        "colour": {"kind": "allow"}}});
    let definition = env.send_ok("POST", "/quota-definitions", json!({"name": "Visitors", "limits": limits})).await;
    env.send_ok("PUT", "/quota-assignments/costCenter/Visitors", json!({"definitionId": definition["id"]})).await;
    let attachments = [Attached { name: "three.pdf", mime: "application/pdf", bytes: &pdf(3) }];
    deliver(&env, storage, GUEST, PRINT_ADDRESS, raw_mail(GUEST, PRINT_ADDRESS, "Three", "x", &attachments)).await;
    let pin = pin_in(&mails_to(&env, &GUEST.to_lowercase()).await[0]);
    let session: Value = json_of(
        env.http.post(env.url("/v1/device/sessions")).bearer_auth(&env.device_token().await).json(&json!({"pin": pin})),
    )
    .await;
    let session = session["sessionToken"].as_str().unwrap().to_string();
    let job_id = eventually("the guest's held job", Duration::from_secs(30), || async {
        let listed: Value = json_of(env.http.get(env.url("/v1/device/jobs")).bearer_auth(&session)).await;
        listed["items"][0]["job"]["id"].as_str().map(str::to_string)
    })
    .await;
    let refused = env.device_post(&session, &format!("/v1/device/jobs/{job_id}/release"), json!({})).await;
    let problem = expect_problem(refused, 403, "quota_exceeded").await;
    assert_eq!(problem["remaining"], 2, "{problem}");
}

// BR-OS-14 (one address per organisation), ER-OS-03, R-GUEST-1/2: the settings refuse
// what cannot work, naming the field.
async fn email_settings_are_validated(storage: Storage) {
    let env = Env::start(storage).await;
    let put = |body: Value| env.http.put(env.org_url("/settings/print")).bearer_auth(&env.admin).json(&body).send();
    expect_problem(put(json!({"emailBodyPrinting": true})).await.unwrap(), 422, "requires_email_submission").await;
    expect_problem(put(json!({"emailSubmission": true})).await.unwrap(), 400, "invalid_field").await;
    expect_problem(put(json!({"emailLocalPart": "no spaces"})).await.unwrap(), 400, "invalid_field").await;
    let saved: Value =
        put(json!({"emailSubmission": true, "emailLocalPart": "Acme"})).await.unwrap().json().await.unwrap();
    assert_eq!(saved["emailAddress"], PRINT_ADDRESS, "{saved}");
    expect_problem(put(json!({"guestSubmission": true})).await.unwrap(), 409, "pin_login_required").await;
    let off: Value = put(json!({"emailSubmission": false})).await.unwrap().json().await.unwrap();
    assert_eq!((&off["emailSubmission"], &off["emailAddress"]), (&json!(false), &json!(PRINT_ADDRESS)));

    let (other_org, other_admin) = second_org(&env.running).await;
    let other = e2e::access_token(&env.running.url, "admin@other.example", e2e::ADMIN_PASSWORD).await;
    let roles = json!({"roles": ["Organization Administrator", "Print Release Management Administrator"]});
    let url = env.url(&format!("/v1/orgs/{other_org}/roles/users/{other_admin}"));
    assert!(env.http.put(&url).bearer_auth(&other).json(&roles).send().await.unwrap().status().is_success());
    let other = e2e::access_token(&env.running.url, "admin@other.example", e2e::ADMIN_PASSWORD).await;
    let url = env.url(&format!("/v1/orgs/{other_org}/settings/print"));
    let taken = env.http.put(&url).bearer_auth(&other).json(&json!({"emailLocalPart": "acme"})).send().await.unwrap();
    expect_problem(taken, 409, "email_address_taken").await;
}

e2e::on_both_storages!(
    a_users_mail_becomes_one_job_per_attachment_and_the_body,
    a_guest_gets_a_pin_releases_with_it_and_keeps_it,
    an_unsupported_attachment_gets_the_formats_reply,
    an_unknown_print_address_leaves_no_trace,
    guests_are_limited_by_pages_and_strangers_may_not_print,
    guests_count_against_their_cost_centre_quota,
    email_settings_are_validated,
);

/// Runs the inbound handler on `raw` stored under a fresh key, as the queue would (outside
/// `mail/`, so the runner's own queue does not handle it as well).
async fn process_raw(env: &Env, raw: Vec<u8>) -> Vec<shared::email::inbound::Outcome> {
    let key = format!("direct/{}", env.running.ctx.ids.new_id());
    env.running.ctx.blobs.put(&key, bytes::Bytes::from(raw), "message/rfc822").await.unwrap();
    let outcomes = shared::email::inbound::process(&env.running.ctx, &key).await.expect("handled");
    assert_eq!(env.running.ctx.blobs.head(&key).await.unwrap(), None, "the raw mail is deleted once handled");
    outcomes
}

// Abuse limits: more than 20 attachments are refused with a reply; a sender's 61st mail in
// an hour is dropped without one.
#[tokio::test]
async fn too_many_attachments_and_too_many_mails_are_refused() {
    use shared::email::inbound::{MAX_ATTACHMENTS, Outcome, SENDER_MAILS_PER_HOUR};
    let env = with_email(Storage::Embedded, json!({})).await;
    let text = b"one line\n";
    let names: Vec<String> = (0..=MAX_ATTACHMENTS).map(|n| format!("part{n}.txt")).collect();
    let many: Vec<Attached> = names.iter().map(|name| Attached { name, mime: "text/plain", bytes: text }).collect();
    let outcomes = process_raw(&env, raw_mail(USER_EMAIL, PRINT_ADDRESS, "Many", "x", &many)).await;
    assert_eq!(outcomes, [Outcome::Refused("too many attachments")]);
    assert!(take_mails_to(env._dir.path(), USER_EMAIL)[0].contains("more than 20 attachments"));

    let one = [Attached { name: "a.txt", mime: "text/plain", bytes: text }];
    for n in 1..SENDER_MAILS_PER_HOUR {
        let outcome = process_raw(&env, raw_mail(USER_EMAIL, PRINT_ADDRESS, &format!("m{n}"), "x", &one)).await;
        assert!(matches!(outcome[..], [Outcome::Queued { .. }]), "mail {n}: {outcome:?}");
    }
    let over = process_raw(&env, raw_mail(USER_EMAIL, PRINT_ADDRESS, "over", "x", &one)).await;
    assert_eq!(over, [Outcome::Dropped("over the hourly mail limit")]);
}

// Bad input: mutated and hostile mails addressed to a real print address go through the
// whole handler (routing, guests, jobs, replies, storage) without a panic or an error, and
// each raw mail is deleted. The parse alone is fuzzed with 100,000 inputs in
// shared/tests/inbound_fuzz.rs.
#[tokio::test]
async fn hostile_mails_to_a_real_address_never_break_the_handler() {
    let env = with_email(Storage::Embedded, json!({"emailBodyPrinting": true})).await;
    pin_login(&env, 24).await;
    env.print_settings(json!({"guestSubmission": true, "guestPageLimit": 2})).await;
    let pdf_bytes = pdf(3);
    let attachments = [
        Attached { name: "../../x.pdf", mime: "application/pdf", bytes: &pdf_bytes },
        Attached { name: "a.png", mime: "image/png", bytes: PNG },
    ];
    let seeds = [
        raw_mail(USER_EMAIL, PRINT_ADDRESS, "User", "body", &attachments),
        raw_mail(GUEST, PRINT_ADDRESS, "Guest", "body", &attachments),
    ];
    let mut state: u64 = 0x5eed;
    let mut random = move |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    };
    for case in 0..300 {
        let mut raw = seeds[case % 2].clone();
        for _ in 0..1 + random(6) {
            let at = random(raw.len());
            match random(4) {
                0 => raw[at] ^= 1 << random(8),
                1 => raw.truncate(at.max(200)),
                2 => raw.splice(at..at, b"\r\n--=_printcloud_test_boundary\r\n".iter().copied()).for_each(drop),
                _ => raw.splice(at..at, b"Content-Type: message/rfc822\r\n\r\n".iter().copied()).for_each(drop),
            }
        }
        process_raw(&env, raw).await;
    }
}
