//! Fleet notification policies end to end on `serve` with a fixed clock (issue [7 of 8]):
//! policies through HTTP, supplies checked as telemetry arrives, the sweep for printer
//! data, the mails in the outbox (recipients, subject, body, CSV / JSON attachments) and
//! the 30-day history.

use e2e::print_env::PrintEnv as Env;
use e2e::{Storage, expect_problem, json_of};
use serde_json::{Value, json};
use shared::notifications::sweep;
use std::time::Duration;

const FLEET: &str = "fleet@example.org";
const PARTNER: &str = "supplies@partner.example.net";

/// A mail of the outbox, read back.
struct SentMail {
    to: Vec<String>,
    subject: String,
    text: String,
    attachments: Vec<(String, Vec<u8>)>,
}

/// Every mail in the outbox addressed to `to`, removed from it.
fn take_mails(env: &Env, to: &str) -> Vec<SentMail> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(env._dir.path().join("outbox")).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let recipients: Vec<String> = parsed
            .to()
            .map(|list| list.iter().filter_map(|a| a.address().map(str::to_string)).collect())
            .unwrap_or_default();
        if !recipients.iter().any(|r| r == to) {
            continue;
        }
        let attachments = parsed
            .attachments()
            .map(|part| {
                use mail_parser::MimeHeaders;
                (part.attachment_name().unwrap_or_default().to_string(), part.contents().to_vec())
            })
            .collect();
        found.push(SentMail {
            to: recipients,
            subject: parsed.subject().unwrap_or_default().to_string(),
            text: parsed.body_text(0).unwrap_or_default().to_string(),
            attachments,
        });
        std::fs::remove_file(path).unwrap();
    }
    found
}

fn cyan_at(percent: i64) -> Value {
    json!({"supplies": [
        {"color": "Cyan", "description": "Cyan Cartridge", "type": "Toner", "percentRemaining": percent},
        {"color": "Black", "description": "Black Cartridge", "type": "Toner", "percentRemaining": 60}]})
}

async fn telemetry(env: &Env, device: &str, body: &Value) {
    let response = env.http.post(env.url("/v1/device/telemetry")).bearer_auth(device).json(body).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
}

async fn history(env: &Env) -> Vec<Value> {
    let page = json_of(env.http.get(env.org_url("/notification-history")).bearer_auth(&env.admin)).await;
    page["items"].as_array().unwrap_or_else(|| panic!("a history page: {page}")).clone()
}

// BR-NP-02, BR-NP-07 (JSON attachment), WF-NP: supplies are checked as telemetry arrives
// and a printer that keeps matching is mailed once; BR-NP-12: history kept 30 days.
#[tokio::test]
async fn a_low_cartridge_mails_the_supplies_policy_once() {
    let mut env = Env::start(Storage::Embedded).await;
    let policy = json!({"name": "Low toner", "rule": {"category": "supplies", "supplyTypes": ["toner"],
        "thresholdPercent": 5, "attachJson": true}, "recipients": [FLEET, PARTNER], "extraText": "Order from stock."});
    let created =
        json_of(env.http.post(env.org_url("/notification-policies")).bearer_auth(&env.admin).json(&policy)).await;
    assert_eq!(created["name"], "Low toner", "{created}");
    let device = env.device_token().await;
    telemetry(&env, &device, &cyan_at(20)).await;
    assert!(take_mails(&env, FLEET).is_empty(), "20 % is above the threshold");

    telemetry(&env, &device, &cyan_at(4)).await;
    let mails = take_mails(&env, FLEET);
    assert_eq!(mails.len(), 1, "one mail to both recipients");
    let mail = &mails[0];
    assert_eq!(mail.to, [FLEET, PARTNER]);
    assert!(mail.subject.contains("Low toner") && mail.subject.contains("printcloud"), "{}", mail.subject);
    assert!(mail.text.contains("PRN-0001") && mail.text.contains("Cyan Cartridge: 4 % left"), "{}", mail.text);
    assert!(mail.text.contains("Order from stock.") && !mail.text.contains("Black Cartridge"), "{}", mail.text);
    let (name, json_bytes) = &mail.attachments[0];
    assert_eq!(name, "notification.json");
    let data: Value = serde_json::from_slice(json_bytes).unwrap();
    assert_eq!(data["printers"][0]["supplies"][0]["percentRemaining"], 4, "{data}");

    telemetry(&env, &device, &cyan_at(4)).await;
    sweep::sweep(&env.running.ctx, Duration::from_secs(60)).await.unwrap();
    assert!(take_mails(&env, FLEET).is_empty(), "a printer that keeps matching is not mailed again");
    telemetry(&env, &device, &cyan_at(100)).await;
    telemetry(&env, &device, &cyan_at(3)).await;
    assert_eq!(take_mails(&env, FLEET).len(), 1, "replaced, then low again: mailed again");

    let sent = history(&env).await;
    assert_eq!(sent.len(), 2);
    assert_eq!((&sent[0]["policyName"], &sent[0]["items"][0]["name"]), (&json!("Low toner"), &json!("PRN-0001")));
    env.clock.advance(chrono::Duration::days(31));
    env.refresh_admin().await;
    assert!(history(&env).await.is_empty(), "BR-NP-12: gone after 30 days");
}

// BR-NP-03, BR-NP-08, BR-NP-09 / ER-NP-02: the sweep mails printers silent past the
// threshold once; above 15 printers the CSV is attached although not asked for.
#[tokio::test]
async fn silent_printers_are_mailed_by_the_sweep_with_a_csv_above_fifteen() {
    let mut env = Env::start(Storage::Embedded).await;
    for n in 2..=20 {
        env.enroll(&format!("PRN-{n:04}"), &format!("10.1.3.{n}")).await;
    }
    let policy = json!({"name": "Silent printers", "rule": {"category": "printerInformation",
        "condition": "lastCommunicated", "days": 2}, "recipients": [FLEET]});
    let response = env.http.post(env.org_url("/notification-policies")).bearer_auth(&env.admin).json(&policy);
    assert_eq!(response.send().await.unwrap().status().as_u16(), 201);
    let ctx = env.running.ctx.clone();
    let report = sweep::sweep(&ctx, Duration::from_secs(60)).await.unwrap();
    assert!(report.complete && report.notified == 0, "{report:?}");

    env.clock.advance(chrono::Duration::days(3));
    env.refresh_admin().await;
    let report = sweep::sweep(&ctx, Duration::from_secs(60)).await.unwrap();
    assert_eq!(report.notified, 20, "{report:?}");
    let mails = take_mails(&env, FLEET);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("and 5 more"), "{}", mails[0].text);
    assert_eq!(mails[0].text.matches("no communication since").count(), 15, "{}", mails[0].text);
    let (name, csv) = &mails[0].attachments[0];
    assert_eq!(name, "notification.csv");
    assert_eq!(String::from_utf8_lossy(csv).lines().count(), 21, "a header and 20 printers");

    assert_eq!(sweep::sweep(&ctx, Duration::from_secs(60)).await.unwrap().policies, 0, "the day's pass is done");
    env.clock.advance(chrono::Duration::days(1));
    let next_day = sweep::sweep(&ctx, Duration::from_secs(60)).await.unwrap();
    assert_eq!((next_day.policies, next_day.notified), (1, 0), "still silent: not mailed again");
    assert!(take_mails(&env, FLEET).is_empty());
}

// BR-NP-04, BR-NP-05, BR-NP-11 / ER-NP-01: limits and the duplicate rule through HTTP.
#[tokio::test]
async fn policies_are_validated_and_duplicates_must_differ() {
    let env = Env::start(Storage::Embedded).await;
    let url = env.org_url("/notification-policies");
    let policy = json!({"name": "Agents", "rule": {"category": "fleetAgents", "days": 1}, "recipients": [FLEET]});
    let created = json_of(env.http.post(&url).bearer_auth(&env.admin).json(&policy)).await;
    let again = env.http.post(&url).bearer_auth(&env.admin).json(&policy).send().await.unwrap();
    expect_problem(again, 409, "name_taken").await;
    let eleven: Vec<String> = (0..11).map(|n| format!("r{n}@example.org")).collect();
    let too_many = json!({"name": "Many", "rule": {"category": "fleetAgents", "days": 1}, "recipients": eleven});
    let refused = env.http.post(&url).bearer_auth(&env.admin).json(&too_many).send().await.unwrap();
    assert!(expect_problem(refused, 400, "invalid_field").await["detail"].as_str().unwrap().starts_with("recipients"));

    let duplicate_url = format!("{url}/{}/duplicate", created["id"].as_str().unwrap());
    let renamed = json!({"name": "Agents copy", "rule": {"category": "fleetAgents", "days": 1}, "recipients": [FLEET]});
    let refused = env.http.post(&duplicate_url).bearer_auth(&env.admin).json(&renamed).send().await.unwrap();
    expect_problem(refused, 422, "duplicate_only_renamed").await;
    let changed = json!({"name": "Agents copy", "rule": {"category": "fleetAgents", "days": 3}, "recipients": [FLEET]});
    let copy = env.http.post(&duplicate_url).bearer_auth(&env.admin).json(&changed).send().await.unwrap();
    assert_eq!(copy.status().as_u16(), 201);
    let listed = json_of(env.http.get(&url).bearer_auth(&env.admin)).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
}

/// An SES client of the tests' moto server, whose sender identity `from` is verified.
async fn moto_ses(from: &str) -> aws_sdk_sesv2::Client {
    let credentials = aws_sdk_sesv2::config::Credentials::new("test", "test", None, None, "e2e");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(e2e::moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    ses.create_email_identity().email_identity(from).send().await.unwrap();
    ses
}

/// The raw mails moto's SES has accepted whose text contains `marker`.
async fn moto_sent_containing(marker: &str) -> Vec<String> {
    let url = format!("{}/moto-api/data.json", e2e::moto_endpoint());
    let state = reqwest::get(url).await.unwrap().text().await.unwrap();
    let mut found = Vec::new();
    let mut rest = state.as_str();
    while let Some(start) = rest.find("\"raw_data\": \"") {
        let tail = &rest[start + "\"raw_data\": ".len()..];
        let value: String = serde_json::Deserializer::from_str(tail).into_iter::<String>().next().unwrap().unwrap();
        if value.contains(marker) {
            found.push(value);
        }
        rest = &tail[1..];
    }
    found
}

// WF-NP on the AWS adapters: the sweep over DynamoDB sends its mail through SES (moto).
#[tokio::test]
async fn the_sweep_on_the_aws_adapters_mails_through_ses() {
    let mut env = Env::start(Storage::Aws).await;
    let marker = format!("Silent {}", env.running.ctx.ids.new_id());
    let policy = json!({"name": marker, "rule": {"category": "printerInformation", "condition": "lastDataRefresh",
        "days": 2, "attachCsv": true}, "recipients": [FLEET]});
    let response = env.http.post(env.org_url("/notification-policies")).bearer_auth(&env.admin).json(&policy);
    assert_eq!(response.send().await.unwrap().status().as_u16(), 201);
    env.clock.advance(chrono::Duration::days(3));
    env.refresh_admin().await;
    let ses = moto_ses("no-reply@printcloud.local").await;
    let ctx = shared::Ctx {
        mailer: std::sync::Arc::new(shared::adapters::aws::SesMailer::new(ses)),
        ..env.running.ctx.clone()
    };
    let report = sweep::sweep(&ctx, Duration::from_secs(60)).await.unwrap();
    assert_eq!(report.notified, 1, "{report:?}");
    let sent = moto_sent_containing(&marker).await;
    assert_eq!(sent.len(), 1, "one mail through SES");
    let parsed = mail_parser::MessageParser::default().parse(sent[0].as_bytes()).unwrap();
    assert_eq!(parsed.to().unwrap().first().unwrap().address(), Some(FLEET));
    assert!(parsed.subject().unwrap().contains(&marker));
    assert!(parsed.body_text(0).unwrap().contains("PRN-0001"), "{}", parsed.body_text(0).unwrap());
    assert_eq!(parsed.attachments().count(), 1, "the CSV the policy asks for");
    assert_eq!(history(&env).await[0]["policyName"], json!(marker));
}

// BR-NP-03 (fleet agents), BR-NP-07 (CSV on request): an agent silent past the threshold
// is mailed about by the sweep, with the CSV the policy asks for.
#[tokio::test]
async fn a_silent_fleet_agent_is_mailed_about() {
    let mut env = Env::start(Storage::Embedded).await;
    let body = json!({"kind": "agentActivation", "agentType": "Fleet Agent", "maxActivations": 1});
    let code = json_of(env.http.post(env.org_url("/enrollment-codes")).bearer_auth(&env.admin).json(&body)).await;
    let agent =
        json!({"agentType": "Fleet Agent", "name": "Fleet server 1", "version": "3.1.0", "hostname": "fa.example.org"});
    let activated =
        env.http.post(env.url("/v1/enroll")).json(&json!({"code": code["code"], "agent": agent})).send().await;
    assert_eq!(activated.unwrap().status().as_u16(), 201);
    let policy = json!({"name": "Quiet agents", "rule": {"category": "fleetAgents", "days": 2, "attachCsv": true},
        "recipients": [FLEET]});
    let response = env.http.post(env.org_url("/notification-policies")).bearer_auth(&env.admin).json(&policy);
    assert_eq!(response.send().await.unwrap().status().as_u16(), 201);
    sweep::sweep(&env.running.ctx, Duration::from_secs(60)).await.unwrap();
    assert!(take_mails(&env, FLEET).is_empty(), "the agent just activated");

    env.clock.advance(chrono::Duration::days(3));
    env.refresh_admin().await;
    sweep::sweep(&env.running.ctx, Duration::from_secs(60)).await.unwrap();
    let mails = take_mails(&env, FLEET);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("Fleet server 1") && mails[0].text.contains("no communication since"));
    assert_eq!(mails[0].attachments[0].0, "notification.csv");
}

// Issue [7 of 8] item 4: a pass cut off (here by a zero time budget, after one page of 25
// organisations) resumes where it stopped on the next run, and a finished day is not
// evaluated again.
#[tokio::test]
async fn a_sweep_cut_off_resumes_where_it_stopped() {
    use shared::notifications::policies;
    let env = Env::start(Storage::Embedded).await;
    let ctx = env.running.ctx.clone();
    let input: policies::PolicyInput = serde_json::from_value(json!({"name": "Silent", "rule": {"category":
        "printerInformation", "condition": "lastCommunicated", "days": 1}, "recipients": [FLEET]}))
    .unwrap();
    for n in 0..30 {
        let org = e2e::organisation(&format!("sweep-org-{n:02}"), &format!("Sweep Org {n:02}"));
        ctx.table.transact(shared::identity::store::create_org_writes(&org).unwrap()).await.unwrap();
        policies::create(&ctx, &org.id, input.clone()).await.unwrap();
    }
    let first = sweep::sweep(&ctx, Duration::ZERO).await.unwrap();
    assert_eq!((first.organisations, first.complete), (25, false), "{first:?}");
    let second = sweep::sweep(&ctx, Duration::ZERO).await.unwrap();
    assert_eq!((second.organisations, second.complete), (5, true), "{second:?}");
    let third = sweep::sweep(&ctx, Duration::ZERO).await.unwrap();
    assert_eq!((third.organisations, third.complete), (0, true), "the day is done: {third:?}");
}
