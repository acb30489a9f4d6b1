//! Delegates end to end through HTTP against the in-process runner: the organisation switch
//! (BR-DL-01), adding, listing and removing with expiry (BR-DL-04/05), the mails to the
//! delegate (BR-OS-06, BR-DL-06), expiry with the sweep (W7), who may manage whose delegates,
//! and tenant isolation.

use chrono::Duration;
use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, expect_problem, options_on, start_with};
use printcloud::serve::Running;
use reqwest::{Client, Response};
use serde_json::{Value, json};
use shared::ports::ManualClock;
use shared::print::delegates;
use std::sync::Arc;

const PASSWORD: &str = "Delegate-Passw0rd!";

/// A mail from the outbox, parsed.
#[derive(Debug)]
struct Sent {
    subject: String,
    text: String,
    html: String,
}

/// A runner on a manual clock whose users all may release print jobs, with the first
/// administrator also a Print Release Management Administrator.
struct Env {
    running: Running,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
    http: Client,
    admin: String,
    org: String,
    org_name: String,
}

impl Env {
    async fn start(storage: Storage) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mut options = options_on(storage, dir.path());
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        options.clock = clock.clone();
        let running = start_with(options).await;
        let http = Client::new();
        let admin = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let me: Value =
            http.get(format!("{}/v1/me", running.url)).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
        let org = me["organisation"]["id"].as_str().unwrap().to_string();
        let org_name = me["organisation"]["name"].as_str().unwrap().to_string();
        let admin_id = me["user"]["id"].as_str().unwrap().to_string();
        let mut env = Env { running, clock, dir, http, admin, org, org_name };
        env.put_roles("/roles/org", json!({"roles": ["Print Release Management User"]})).await;
        let admin_roles = json!({"roles": ["Organization Administrator", "Print Release Management Administrator"]});
        env.put_roles(&format!("/roles/users/{admin_id}"), admin_roles).await;
        env.admin = access_token(&env.running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        env
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url)
    }

    fn org_url(&self, path: &str) -> String {
        self.url(&format!("/v1/orgs/{}{path}", self.org))
    }

    fn delegates_url(&self, owner: &str) -> String {
        self.org_url(&format!("/users/{owner}/delegates"))
    }

    async fn put_roles(&self, path: &str, body: Value) {
        let response = self.http.put(self.org_url(path)).bearer_auth(&self.admin).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "roles {path}");
    }

    async fn print_settings(&self, body: Value) {
        let request = self.http.put(self.org_url("/settings/print")).bearer_auth(&self.admin).json(&body);
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "print settings {body}");
    }

    /// Creates a user; answers their id and a token.
    async fn user(&self, name: &str) -> (String, String) {
        let email = format!("{name}@example.org");
        let body = json!({"email": email, "displayName": name, "password": PASSWORD});
        let response = self.http.post(self.org_url("/users")).bearer_auth(&self.admin).json(&body).send().await;
        let response = response.unwrap();
        assert_eq!(response.status().as_u16(), 201, "create {name}");
        let user: Value = response.json().await.unwrap();
        (user["id"].as_str().unwrap().to_string(), access_token(&self.running.url, &email, PASSWORD).await)
    }

    async fn add(&self, token: &str, owner: &str, delegate: &str, days: Option<i64>) -> Response {
        let body = json!({"delegateUserId": delegate, "expiresAfterDays": days});
        self.http.post(self.delegates_url(owner)).bearer_auth(token).json(&body).send().await.unwrap()
    }

    async fn remove(&self, token: &str, owner: &str, delegate: &str) -> Response {
        let url = format!("{}/{delegate}", self.delegates_url(owner));
        self.http.delete(url).bearer_auth(token).send().await.unwrap()
    }

    async fn get(&self, token: &str, url: &str) -> Response {
        self.http.get(url).bearer_auth(token).send().await.unwrap()
    }

    /// The items of a list answer, after checking it is a 200.
    async fn items(&self, token: &str, url: &str) -> Vec<Value> {
        let response = self.get(token, url).await;
        assert_eq!(response.status().as_u16(), 200, "{url}");
        let page: Value = response.json().await.unwrap();
        page["items"].as_array().unwrap().clone()
    }

    /// Every mail in the outbox to `address`, taking them out of the outbox.
    fn take_mails_to(&self, address: &str) -> Vec<Sent> {
        let mut found = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.dir.path().join("outbox")) else { return found };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "eml") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let message = mail_parser::MessageParser::default().parse(&raw).expect("a mail");
            let to_address =
                message.to().is_some_and(|to| to.iter().any(|a| a.address().is_some_and(|a| a == address)));
            if to_address {
                found.push(Sent {
                    subject: message.subject().unwrap_or_default().to_string(),
                    text: message.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
                    html: message.body_html(0).map(|t| t.to_string()).unwrap_or_default(),
                });
                std::fs::remove_file(path).unwrap();
            }
        }
        found
    }

    fn take_one_mail_to(&self, address: &str) -> Sent {
        let mut mails = self.take_mails_to(address);
        assert_eq!(mails.len(), 1, "one mail to {address}: {mails:?}");
        mails.pop().unwrap()
    }
}

fn ids(items: &[Value], side: &str) -> Vec<String> {
    items.iter().map(|d| d[side]["id"].as_str().unwrap().to_string()).collect()
}

async fn br_dl_05_users_add_list_and_remove_their_delegates(storage: Storage) {
    let env = Env::start(storage).await;
    let (boss, boss_token) = env.user("boss").await;
    let (aide, aide_token) = env.user("aide").await;
    let (clerk, _) = env.user("clerk").await;

    let problem = expect_problem(env.add(&boss_token, &boss, &aide, None).await, 409, "delegation_disabled").await;
    assert!(problem["detail"].as_str().unwrap().contains("BR-DL-01"));
    env.print_settings(json!({"delegation": true, "delegateEmailNotifications": true})).await;

    let added = env.add(&boss_token, &boss, &aide, Some(3)).await;
    assert_eq!(added.status().as_u16(), 201);
    let added: Value = added.json().await.unwrap();
    assert_eq!((added["owner"]["id"].as_str(), added["delegate"]["id"].as_str()), (Some(&*boss), Some(&*aide)));
    assert_eq!(added["expiresAfterDays"], 3);
    let expires_at: chrono::DateTime<chrono::Utc> = added["expiresAt"].as_str().unwrap().parse().unwrap();
    let created_at: chrono::DateTime<chrono::Utc> = added["createdAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_at - created_at, Duration::days(3), "BR-DL-04");
    let mail = env.take_one_mail_to("aide@example.org");
    assert!(mail.subject.contains(&env.org_name), "the organisation in the subject: {}", mail.subject);
    assert!(mail.subject.contains("now a print delegate of boss"), "{}", mail.subject);
    let until = expires_at.format("%Y-%m-%d %H:%M UTC").to_string();
    assert!(mail.text.contains(&format!("expires on {until}")), "expiry date and time: {}", mail.text);
    assert!(mail.html.contains(&until), "and in the HTML part: {}", mail.html);

    let never = env.add(&env.admin, &boss, &clerk, None).await;
    assert_eq!(never.status().as_u16(), 201, "an administrator adds for any user");
    let never: Value = never.json().await.unwrap();
    assert_eq!((&never["expiresAfterDays"], &never["expiresAt"]), (&Value::Null, &Value::Null));
    assert!(env.take_one_mail_to("clerk@example.org").text.contains("does not expire"));

    let listed = env.items(&boss_token, &env.delegates_url(&boss)).await;
    let mut expected = vec![aide.clone(), clerk.clone()];
    expected.sort();
    assert_eq!(ids(&listed, "delegate"), expected);
    assert_eq!(env.items(&boss_token, &env.url("/v1/me/delegates")).await, listed);
    assert_eq!(env.items(&env.admin, &env.delegates_url(&boss)).await, listed, "the administrator sees them");
    let delegators = env.items(&aide_token, &env.url("/v1/me/delegators")).await;
    assert_eq!(ids(&delegators, "owner"), vec![boss.clone()]);
    assert_eq!(delegators[0]["expiresAt"], added["expiresAt"]);
    assert!(env.items(&aide_token, &env.url("/v1/me/delegates")).await.is_empty());

    let renewed = env.add(&boss_token, &boss, &aide, Some(10)).await;
    assert_eq!(renewed.status().as_u16(), 201);
    let renewed: Value = renewed.json().await.unwrap();
    assert_eq!((&renewed["expiresAfterDays"], &renewed["createdAt"]), (&json!(10), &added["createdAt"]));
    assert_eq!(env.items(&boss_token, &env.delegates_url(&boss)).await.len(), 2, "updated, not doubled");
    assert_eq!(env.take_mails_to("aide@example.org").len(), 1, "the new expiry is mailed");

    let response = env.add(&boss_token, &boss, &boss, None).await;
    let problem = expect_problem(response, 400, "invalid_field").await;
    assert!(problem["detail"].as_str().unwrap().starts_with("delegateUserId"), "{problem}");
    for days in [0, 366] {
        expect_problem(env.add(&boss_token, &boss, &aide, Some(days)).await, 400, "invalid_field").await;
    }
    expect_problem(env.add(&boss_token, &boss, "no-such-user", None).await, 404, "not_found").await;

    assert_eq!(env.remove(&boss_token, &boss, &aide).await.status().as_u16(), 204);
    let mail = env.take_one_mail_to("aide@example.org");
    assert!(mail.subject.contains(&env.org_name) && mail.subject.contains("no longer"), "{}", mail.subject);
    expect_problem(env.remove(&boss_token, &boss, &aide).await, 404, "not_found").await;
    assert!(env.items(&aide_token, &env.url("/v1/me/delegators")).await.is_empty());

    env.print_settings(json!({"delegation": false})).await;
    expect_problem(env.add(&boss_token, &boss, &aide, None).await, 409, "delegation_disabled").await;
    assert_eq!(env.items(&boss_token, &env.delegates_url(&boss)).await.len(), 1, "listing still works");
    assert!(!delegates::is_delegate(&env.running.ctx, &env.org, &boss, &clerk).await.unwrap(), "BR-DL-01");
    assert_eq!(env.remove(&env.admin, &boss, &clerk).await.status().as_u16(), 204, "removing still works");
    assert_eq!(env.take_mails_to("clerk@example.org").len(), 1, "removal mailed");
    env.running.shutdown().await;
}

async fn br_dl_05_only_the_user_or_a_print_administrator_manages_delegates(storage: Storage) {
    let env = Env::start(storage).await;
    let (org_b, user_b) = e2e::second_org(&env.running).await;
    let (boss, boss_token) = env.user("boss").await;
    let (aide, aide_token) = env.user("aide").await;
    env.print_settings(json!({"delegation": true})).await;
    assert_eq!(env.add(&boss_token, &boss, &aide, None).await.status().as_u16(), 201);

    expect_problem(env.add(&aide_token, &boss, &aide, None).await, 403, "forbidden").await;
    expect_problem(env.remove(&aide_token, &boss, &aide).await, 403, "forbidden").await;
    expect_problem(env.get(&aide_token, &env.delegates_url(&boss)).await, 403, "forbidden").await;
    expect_problem(env.add(&boss_token, &boss, &user_b, None).await, 404, "not_found").await;
    expect_problem(env.get(&env.admin, &env.delegates_url(&user_b)).await, 404, "not_found").await;

    let other_admin = access_token(&env.running.url, "admin@other.example", ADMIN_PASSWORD).await;
    expect_problem(env.get(&other_admin, &env.delegates_url(&boss)).await, 404, "not_found").await;
    expect_problem(env.remove(&other_admin, &boss, &aide).await, 404, "not_found").await;
    let own_url = env.url(&format!("/v1/orgs/{org_b}/users/{user_b}/delegates"));
    expect_problem(env.get(&aide_token, &own_url).await, 404, "not_found").await;
    let unauthenticated = env.http.get(env.url("/v1/me/delegates")).send().await.unwrap();
    expect_problem(unauthenticated, 401, "unauthenticated").await;
    assert_eq!(env.items(&boss_token, &env.delegates_url(&boss)).await.len(), 1, "nothing changed");
    env.running.shutdown().await;
}

async fn br_dl_04_expired_delegates_disappear_and_are_mailed_once(storage: Storage) {
    let env = Env::start(storage).await;
    let (boss, _) = env.user("boss").await;
    let (aide, _) = env.user("aide").await;
    env.print_settings(json!({"delegation": true, "delegateEmailNotifications": true})).await;
    assert_eq!(env.add(&env.admin, &boss, &aide, Some(2)).await.status().as_u16(), 201);
    env.take_one_mail_to("aide@example.org");
    let ctx = &env.running.ctx;
    assert_eq!(delegates::owners_of(ctx, &env.org, &aide).await.unwrap(), vec![boss.clone()]);

    env.clock.advance(Duration::days(1));
    assert_eq!(delegates::sweep_expired_all(ctx).await.unwrap(), 0, "not due yet");
    assert!(env.take_mails_to("aide@example.org").is_empty());

    env.clock.advance(Duration::days(1) + Duration::minutes(1));
    let admin = access_token(&env.running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let aide_token = access_token(&env.running.url, "aide@example.org", PASSWORD).await;
    assert!(env.items(&admin, &env.delegates_url(&boss)).await.is_empty(), "gone before any sweep");
    assert!(env.items(&aide_token, &env.url("/v1/me/delegators")).await.is_empty());
    assert!(delegates::owners_of(ctx, &env.org, &aide).await.unwrap().is_empty());
    assert!(!delegates::is_delegate(ctx, &env.org, &boss, &aide).await.unwrap());

    assert_eq!(delegates::sweep_expired_all(ctx).await.unwrap(), 1);
    assert_eq!(delegates::sweep_expired_all(ctx).await.unwrap(), 0, "each expiry once");
    let mail = env.take_one_mail_to("aide@example.org");
    assert!(mail.subject.contains(&env.org_name) && mail.subject.contains("has expired"), "{}", mail.subject);
    assert!(mail.text.contains("boss"), "{}", mail.text);
    assert!(!mail.html.is_empty());
    env.running.shutdown().await;
}

e2e::on_both_storages!(
    br_dl_05_users_add_list_and_remove_their_delegates,
    br_dl_05_only_the_user_or_a_print_administrator_manages_delegates,
    br_dl_04_expired_delegates_disappear_and_are_mailed_once,
);
