//! Badges, PINs, secure login codes and printer sign-in end to end through HTTP against the
//! in-process runner: the printer login configuration (E-PRINTERLOGIN, BR-PIN-3), badges
//! (BR-BDG-1, BR-BDG-2, BR-BDG-4), PINs (BR-PIN-1, BR-USR-2), login codes (BR-LC-1), the
//! badge/PIN import with the seed's own examples (BR-BIMP, BR-PIN-4), the printer lockout,
//! storage without secrets in clear, and tenant isolation.

use chrono::Duration;
use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, expect_problem, options_on, start_with};
use printcloud::serve::Running;
use reqwest::{Client, Response};
use serde_json::{Value, json};
use shared::identity::roles::Role;
use shared::identity::store;
use shared::identity::tokens::{NewToken, TokenKind};
use shared::ports::{ManualClock, Query};
use std::sync::Arc;

const USER_PASSWORD: &str = "Printer-Passw0rd!";

/// One runner on a manual clock, signed in as the first administrator.
struct Env {
    running: Running,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
    http: Client,
    admin: String,
    org: String,
}

impl Env {
    async fn start(storage: Storage) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = options_on(storage, dir.path());
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        opts.clock = clock.clone();
        let running = start_with(opts).await;
        let admin = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let http = Client::new();
        let me: Value =
            http.get(format!("{}/v1/me", running.url)).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
        let org = me["organisation"]["id"].as_str().unwrap().to_string();
        Env { running, clock, dir, http, admin, org }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url)
    }

    fn org_url(&self, path: &str) -> String {
        self.url(&format!("/v1/orgs/{}{path}", self.org))
    }

    /// Moves the clock on; the administrator signs in again (access tokens live 15 minutes).
    async fn advance(&mut self, by: Duration) {
        self.clock.advance(by);
        self.admin = access_token(&self.running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    }

    async fn configure(&self, config: Value) -> Value {
        let response =
            self.http.put(self.org_url("/settings/printer-login")).bearer_auth(&self.admin).json(&config).send();
        let response = response.await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "configuration {config}");
        response.json().await.unwrap()
    }

    async fn create_user(&self, email: &str) -> String {
        let body = json!({"email": email, "displayName": email.split('@').next().unwrap(), "password": USER_PASSWORD});
        let response = self.http.post(self.org_url("/users")).bearer_auth(&self.admin).json(&body).send();
        let response = response.await.unwrap();
        assert_eq!(response.status().as_u16(), 201, "create {email}");
        let user: Value = response.json().await.unwrap();
        user["id"].as_str().unwrap().to_string()
    }

    async fn user_token(&self, email: &str) -> String {
        access_token(&self.running.url, email, USER_PASSWORD).await
    }

    /// A printer application's token (kind Client, scope `badges-auth`), valid for two days.
    fn client_token(&self) -> String {
        client_token(&self.running, &self.org, &self.clock)
    }

    async fn register_badge(&self, body: Value) -> Response {
        self.http.post(self.org_url("/badges")).bearer_auth(&self.admin).json(&body).send().await.unwrap()
    }

    async fn set_pin(&self, user_id: &str, body: Option<Value>) -> Response {
        let request = self.http.put(self.org_url(&format!("/users/{user_id}/pin"))).bearer_auth(&self.admin);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        request.send().await.unwrap()
    }

    async fn sign_in_at_printer(&self, body: Value) -> Response {
        let request = self.http.post(self.url("/v1/device/sessions")).bearer_auth(self.client_token()).json(&body);
        request.send().await.unwrap()
    }

    async fn badges(&self, query: &[(&str, &str)]) -> Vec<Value> {
        let response = self.http.get(self.org_url("/badges")).bearer_auth(&self.admin).query(query).send();
        let page: Value = response.await.unwrap().json().await.unwrap();
        page["items"].as_array().unwrap().clone()
    }

    async fn import(&self, csv: &str) -> Value {
        let request = self.http.post(self.org_url("/badges/import")).bearer_auth(&self.admin);
        let response = request.header("content-type", "text/csv").body(csv.to_string()).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "import of {csv}");
        response.json().await.unwrap()
    }

    /// The PIN mailed to `email` (the only unread mail to that address), removing the mail.
    fn take_mailed_pin(&self, email: &str) -> String {
        let outbox = self.dir.path().join("outbox");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&outbox).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "eml") {
                let text = std::fs::read_to_string(&path).unwrap().replace("=\r\n", "");
                if text.contains(&format!("To: {email}")) {
                    found.push((path, text));
                }
            }
        }
        assert_eq!(found.len(), 1, "one mail to {email}");
        let (path, text) = found.pop().unwrap();
        std::fs::remove_file(path).unwrap();
        let pin = text.lines().map(str::trim).find(|l| l.len() >= 4 && l.bytes().all(|b| b.is_ascii_digit()));
        pin.unwrap_or_else(|| panic!("a PIN in {text}")).to_string()
    }
}

fn client_token(running: &Running, org: &str, clock: &ManualClock) -> String {
    use shared::ports::Clock;
    let token = NewToken {
        sub: "test-client".into(),
        org: org.into(),
        kind: TokenKind::Client,
        scope: vec!["badges-auth".into()],
        jti: running.ctx.ids.new_id(),
        printer: None,
        agent: None,
        family: None,
        roles: Vec::new(),
    };
    running.ctx.tokens.issue(token, Duration::hours(48), clock.now()).unwrap()
}

async fn status(response: Response) -> u16 {
    response.status().as_u16()
}

/// Every item of the organisation's partition, as JSON text.
async fn partition_dump(running: &Running, org: &str) -> String {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::partition(store::org_partition(org)).limit(1000).after(cursor);
        let page = running.ctx.table.query(&query).await.unwrap();
        all.extend(page.items);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    serde_json::to_string(&all).unwrap()
}

async fn br_pin_3_printer_login_configuration_validates_and_keeps_versions(storage: Storage) {
    let env = Env::start(storage).await;
    let url = env.org_url("/settings/printer-login");
    let default: Value = env.http.get(&url).bearer_auth(&env.admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(default["mode"], "standard");
    assert_eq!(default["methods"], json!(["badge"]), "badge login only until configured");
    assert_eq!(default["pinExpiry"], "never");
    assert_eq!(default["version"], 0);

    let refused = [
        (json!({"mode": "standard", "methods": ["pin"], "pinExpiry": {"after": 8, "unit": "hours"}}), "pinExpiry"),
        (json!({"mode": "standard", "methods": []}), "methods"),
        (json!({"mode": "badgeAndPin", "methods": ["badge"]}), "methods"),
        (json!({"mode": "standard", "methods": ["pin"], "pinLength": 3}), "pinLength"),
        (json!({"mode": "standard", "methods": ["pin"], "pinLength": 17}), "pinLength"),
    ];
    for (body, field) in refused {
        let response = env.http.put(&url).bearer_auth(&env.admin).json(&body).send().await.unwrap();
        let problem = expect_problem(response, 400, "invalid_field").await;
        assert!(problem["detail"].as_str().unwrap().starts_with(field), "{body}: {problem}");
    }
    let response = env.http.put(&url).bearer_auth(&env.admin).json(&json!({"mode": "sometimes"})).send();
    expect_problem(response.await.unwrap(), 400, "invalid_json").await;

    let saved = env
        .configure(json!({"mode": "standard", "methods": ["pin", "secureLogin"], "pinLength": 8,
                          "pinGeneration": "setByUser", "pinExpiry": {"after": 30, "unit": "days"}}))
        .await;
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["methods"], json!(["pin", "secureLogin"]));
    assert_eq!(saved["pinExpiry"], json!({"after": 30, "unit": "days"}));
    let read: Value = env.http.get(&url).bearer_auth(&env.admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(read, saved);

    let stale = env.http.put(&url).bearer_auth(&env.admin).json(&json!({"mode": "standard", "methods": ["badge"],
        "version": 0}));
    expect_problem(stale.send().await.unwrap(), 409, "conflict").await;
    let second = env.configure(json!({"mode": "badgeAndPin", "methods": ["secureLogin"], "version": 1})).await;
    assert_eq!(second["version"], 2);
    assert_eq!(second["pinGeneration"], "autoGenerateAndEmail", "left-out PIN details take their defaults");
    env.running.shutdown().await;
}

async fn br_bdg_4_badges_are_masked_and_found_only_by_full_email_or_number(storage: Storage) {
    let env = Env::start(storage).await;
    let jan = env.create_user("jan@example.org").await;
    env.create_user("piet@example.org").await;
    let created =
        env.register_badge(json!({"email": "Jan@Example.org", "badge": "20171a", "description": "blue fob"})).await;
    assert_eq!(created.status().as_u16(), 201);
    let badge: Value = created.json().await.unwrap();
    assert_eq!(badge["maskedBadge"], "****1a");
    assert_eq!(badge["userId"], jan.as_str());
    assert_eq!(badge["temporary"], false);
    assert!(badge.get("badge").is_none() && !badge.to_string().contains("20171a"), "{badge}");
    let by_id = env.register_badge(json!({"userId": jan, "badge": "99887766"})).await;
    assert_eq!(by_id.status().as_u16(), 201);

    let again = env.register_badge(json!({"email": "piet@example.org", "badge": " 20171A "})).await;
    expect_problem(again, 409, "badge_taken").await;
    let nobody = env.register_badge(json!({"email": "nobody@example.org", "badge": "5555"})).await;
    expect_problem(nobody, 404, "not_found").await;
    let empty = env.register_badge(json!({"email": "jan@example.org", "badge": "  "})).await;
    expect_problem(empty, 400, "invalid_field").await;

    assert_eq!(env.badges(&[]).await.len(), 2);
    assert_eq!(env.badges(&[("email", "jan@example.org")]).await.len(), 2, "full address");
    assert_eq!(env.badges(&[("email", "jan@example")]).await.len(), 0, "BR-BDG-4: no partial address");
    assert_eq!(env.badges(&[("email", "piet@example.org")]).await.len(), 0);
    let found = env.badges(&[("badge", "20171A")]).await;
    assert_eq!(found.len(), 1, "full number, any case");
    assert_eq!(found[0]["id"], badge["id"]);
    assert_eq!(env.badges(&[("badge", "2017")]).await.len(), 0, "BR-BDG-4: no partial number");
    assert_eq!(env.badges(&[("badge", "20171a"), ("email", "piet@example.org")]).await.len(), 0);

    let one = env.url(&format!("/v1/orgs/{}/badges/{}", env.org, badge["id"].as_str().unwrap()));
    assert_eq!(status(env.http.delete(&one).bearer_auth(&env.admin).send().await.unwrap()).await, 204);
    expect_problem(env.http.delete(&one).bearer_auth(&env.admin).send().await.unwrap(), 404, "not_found").await;
    let reuse = env.register_badge(json!({"email": "piet@example.org", "badge": "20171a"})).await;
    assert_eq!(reuse.status().as_u16(), 201, "a deleted badge's number is free again");
    env.running.shutdown().await;
}

async fn br_bdg_2_temporary_badges_expire_after_24_hours(storage: Storage) {
    let mut env = Env::start(storage).await;
    env.create_user("temp@example.org").await;
    let created =
        env.register_badge(json!({"email": "temp@example.org", "badge": "TEMP-0001", "temporary": true})).await;
    let badge: Value = created.json().await.unwrap();
    assert_eq!(badge["temporary"], true);
    assert!(badge["expiresAt"].is_string());
    let login = json!({"printerId": "printer-1", "badge": "TEMP-0001"});
    assert_eq!(status(env.sign_in_at_printer(login.clone()).await).await, 201);

    env.advance(Duration::hours(23) + Duration::minutes(59)).await;
    assert_eq!(status(env.sign_in_at_printer(login.clone()).await).await, 201, "still valid just before 24 h");
    assert_eq!(env.badges(&[]).await.len(), 1);

    env.advance(Duration::minutes(1)).await;
    assert!(env.badges(&[]).await.is_empty(), "BR-BDG-2: gone after 24 hours");
    expect_problem(env.sign_in_at_printer(login).await, 404, "badge_not_registered").await;
    let reuse = env.register_badge(json!({"email": "temp@example.org", "badge": "temp-0001"})).await;
    assert_eq!(reuse.status().as_u16(), 201, "the number is free again");
    env.running.shutdown().await;
}

async fn br_bdg_1_an_unknown_badge_is_registered_at_the_printer_on_first_use(storage: Storage) {
    let env = Env::start(storage).await;
    let user = env.create_user("first@example.org").await;
    let login = json!({"printerId": "printer-7", "badge": "CAFE0042"});
    expect_problem(env.sign_in_at_printer(login.clone()).await, 404, "badge_not_registered").await;

    let register = |password: &str| {
        let body = json!({"printerId": "printer-7", "badge": "CAFE0042", "email": "First@Example.org",
                          "password": password});
        env.http.post(env.url("/v1/device/badges")).bearer_auth(env.client_token()).json(&body).send()
    };
    expect_problem(register("Wrong-Passw0rd!").await.unwrap(), 401, "invalid_credentials").await;
    let registered = register(USER_PASSWORD).await.unwrap();
    assert_eq!(registered.status().as_u16(), 201);
    let badge: Value = registered.json().await.unwrap();
    assert_eq!(badge["userId"], user.as_str());
    assert_eq!(badge["maskedBadge"], "****42");
    expect_problem(register(USER_PASSWORD).await.unwrap(), 409, "badge_taken").await;

    let session = env.sign_in_at_printer(login).await;
    assert_eq!(session.status().as_u16(), 201);
    let session: Value = session.json().await.unwrap();
    assert_eq!(session["expiresIn"], 600);
    assert_eq!(session["user"], json!({"id": user, "email": "first@example.org", "displayName": "first"}));
    use shared::ports::Clock;
    let claims = env.running.ctx.tokens.verify(session["sessionToken"].as_str().unwrap(), env.clock.now()).unwrap();
    assert_eq!(claims.kind, TokenKind::DeviceSession);
    assert_eq!(claims.printer.as_deref(), Some("printer-7"));
    assert_eq!(claims.org, env.org);
    assert_eq!(claims.sub, user);
    assert!(claims.roles.contains(&Role::User));

    // Only a printer application may do this: a person's token is refused.
    let person = env.user_token("first@example.org").await;
    let response = env.http.post(env.url("/v1/device/sessions")).bearer_auth(&person);
    let response = response.json(&json!({"printerId": "printer-7", "badge": "CAFE0042"})).send().await.unwrap();
    expect_problem(response, 403, "forbidden").await;
    // A device session cannot mint login codes for itself.
    let code = env.http.post(env.url("/v1/me/login-code")).bearer_auth(session["sessionToken"].as_str().unwrap());
    expect_problem(code.send().await.unwrap(), 403, "forbidden").await;
    env.running.shutdown().await;
}

async fn br_pin_1_generated_pins_are_mailed_and_never_answered(storage: Storage) {
    let env = Env::start(storage).await;
    env.configure(json!({"mode": "standard", "methods": ["pin"], "pinGeneration": "autoGenerateAndEmail"})).await;
    let user = env.create_user("auto@example.org").await;
    let response = env.set_pin(&user, None).await;
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    let first = env.take_mailed_pin("auto@example.org");
    assert_eq!(first.len(), 6);
    assert!(!text.contains(&first), "the answer never holds the PIN: {text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["emailed"], true);
    let typed = env.set_pin(&user, Some(json!({"pin": "123456"}))).await;
    expect_problem(typed, 400, "invalid_pin").await;

    let session = env.sign_in_at_printer(json!({"printerId": "p1", "pin": first})).await;
    assert_eq!(session.status().as_u16(), 201);

    // The user resets their own PIN: a new one is generated and mailed (BR-PIN-1).
    let token = env.user_token("auto@example.org").await;
    let reset = env.http.put(env.url("/v1/me/pin")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(reset.status().as_u16(), 200);
    let second = env.take_mailed_pin("auto@example.org");
    assert!(!reset.text().await.unwrap().contains(&second));
    if second != first {
        expect_problem(
            env.sign_in_at_printer(json!({"printerId": "p1", "pin": first})).await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    assert_eq!(status(env.sign_in_at_printer(json!({"printerId": "p1", "pin": second})).await).await, 201);
    env.running.shutdown().await;
}

async fn br_usr_2_administrators_set_pins_only_with_pin_login_and_manual_pins(storage: Storage) {
    let env = Env::start(storage).await;
    let jan = env.create_user("jan@example.org").await;
    let piet = env.create_user("piet@example.org").await;
    // Default configuration: badge login only.
    expect_problem(env.set_pin(&jan, Some(json!({"pin": "123456"}))).await, 409, "pin_not_settable").await;
    env.configure(json!({"mode": "standard", "methods": ["pin"], "pinGeneration": "setByUser"})).await;
    expect_problem(env.set_pin(&jan, Some(json!({"pin": "123456"}))).await, 409, "pin_not_settable").await;

    env.configure(json!({"mode": "standard", "methods": ["pin"], "pinGeneration": "setByAdmin"})).await;
    expect_problem(env.set_pin(&jan, None).await, 400, "invalid_pin").await;
    expect_problem(env.set_pin(&jan, Some(json!({"pin": "12345"}))).await, 400, "invalid_pin").await;
    expect_problem(env.set_pin(&jan, Some(json!({"pin": "12345x"}))).await, 400, "invalid_pin").await;
    expect_problem(env.set_pin("no-such-user", Some(json!({"pin": "123456"}))).await, 404, "not_found").await;
    let set = env.set_pin(&jan, Some(json!({"pin": "123456"}))).await;
    assert_eq!(set.status().as_u16(), 200);
    let set: Value = set.json().await.unwrap();
    assert_eq!(set["emailed"], false);
    assert!(set.get("expiresAt").is_none(), "never expires by default");
    // PIN-only login: PINs are unique in the organisation.
    expect_problem(env.set_pin(&piet, Some(json!({"pin": "123456"}))).await, 409, "pin_taken").await;
    assert_eq!(status(env.set_pin(&jan, Some(json!({"pin": "123456"}))).await).await, 200, "same user again");
    // The user cannot set their own PIN when administrators set them.
    let token = env.user_token("jan@example.org").await;
    let own = env.http.put(env.url("/v1/me/pin")).bearer_auth(&token).json(&json!({"pin": "654321"})).send();
    expect_problem(own.await.unwrap(), 409, "pin_not_settable").await;

    let session: Value =
        env.sign_in_at_printer(json!({"printerId": "p1", "pin": "123456"})).await.json().await.unwrap();
    assert_eq!(session["user"]["id"], jan.as_str());

    // A changed PIN frees the old one.
    assert_eq!(status(env.set_pin(&jan, Some(json!({"pin": "111111"}))).await).await, 200);
    assert_eq!(status(env.set_pin(&piet, Some(json!({"pin": "123456"}))).await).await, 200);
    let session: Value =
        env.sign_in_at_printer(json!({"printerId": "p1", "pin": "123456"})).await.json().await.unwrap();
    assert_eq!(session["user"]["id"], piet.as_str());

    // Under badge + PIN, the badge names the user, so two users may share a PIN.
    env.configure(json!({"mode": "badgeAndPin", "pinGeneration": "setByAdmin"})).await;
    assert_eq!(status(env.set_pin(&jan, Some(json!({"pin": "123456"}))).await).await, 200);
    // Back to PIN-only: the shared PIN signs nobody in rather than the wrong person.
    env.configure(json!({"mode": "standard", "methods": ["pin"], "pinGeneration": "setByAdmin"})).await;
    expect_problem(
        env.sign_in_at_printer(json!({"printerId": "p2", "pin": "123456"})).await,
        401,
        "invalid_credentials",
    )
    .await;

    let pin_url = env.org_url(&format!("/users/{piet}/pin"));
    assert_eq!(status(env.http.delete(&pin_url).bearer_auth(&env.admin).send().await.unwrap()).await, 204);
    let session: Value =
        env.sign_in_at_printer(json!({"printerId": "p3", "pin": "123456"})).await.json().await.unwrap();
    assert_eq!(session["user"]["id"], jan.as_str(), "unambiguous again once piet's PIN is gone");
    env.running.shutdown().await;
}

async fn br_pin_3_user_set_pins_expire_after_the_configured_time(storage: Storage) {
    let mut env = Env::start(storage).await;
    env.configure(json!({"mode": "standard", "methods": ["pin"], "pinLength": 4, "pinGeneration": "setByUser",
                         "pinExpiry": {"after": 2, "unit": "hours"}}))
        .await;
    let user = env.create_user("own@example.org").await;
    let token = env.user_token("own@example.org").await;
    let set = env.http.put(env.url("/v1/me/pin")).bearer_auth(&token).json(&json!({"pin": "0042"})).send();
    let set: Value = set.await.unwrap().json().await.unwrap();
    assert_eq!(set["userId"], user.as_str());
    assert!(set["expiresAt"].is_string(), "{set}");
    let short = env.http.put(env.url("/v1/me/pin")).bearer_auth(&token).json(&json!({"pin": "42"})).send();
    expect_problem(short.await.unwrap(), 400, "invalid_pin").await;
    expect_problem(env.set_pin(&user, Some(json!({"pin": "1234"}))).await, 409, "pin_not_settable").await;

    let login = json!({"printerId": "p1", "pin": "0042"});
    assert_eq!(status(env.sign_in_at_printer(login.clone()).await).await, 201);
    env.advance(Duration::hours(2)).await;
    expect_problem(env.sign_in_at_printer(login).await, 401, "invalid_credentials").await;
    env.running.shutdown().await;
}

async fn badge_and_pin_mode_needs_both_and_refuses_other_combinations(storage: Storage) {
    let env = Env::start(storage).await;
    env.configure(json!({"mode": "badgeAndPin", "pinGeneration": "setByAdmin"})).await;
    let user = env.create_user("two@example.org").await;
    assert_eq!(status(env.register_badge(json!({"userId": user, "badge": "B-778899"})).await).await, 201);
    assert_eq!(status(env.set_pin(&user, Some(json!({"pin": "246810"}))).await).await, 200);

    for body in [
        json!({"printerId": "p1", "badge": "B-778899"}),
        json!({"printerId": "p1", "pin": "246810"}),
        json!({"printerId": "p1", "loginCode": "ABCDEFGH"}),
        json!({"printerId": "p1"}),
    ] {
        expect_problem(env.sign_in_at_printer(body).await, 400, "login_method_not_allowed").await;
    }
    let bad_printer = json!({"printerId": "a printer", "badge": "B-778899", "pin": "246810"});
    expect_problem(env.sign_in_at_printer(bad_printer).await, 400, "invalid_field").await;
    let wrong = json!({"printerId": "p1", "badge": "B-778899", "pin": "000000"});
    expect_problem(env.sign_in_at_printer(wrong).await, 401, "invalid_credentials").await;
    let unknown = json!({"printerId": "p1", "badge": "B-000000", "pin": "246810"});
    expect_problem(env.sign_in_at_printer(unknown).await, 404, "badge_not_registered").await;
    let both = env.sign_in_at_printer(json!({"printerId": "p1", "badge": "b-778899", "pin": "246810"})).await;
    assert_eq!(both.status().as_u16(), 201);
    env.running.shutdown().await;
}

async fn br_lc_1_login_codes_work_once_for_15_minutes_and_replace_each_other(storage: Storage) {
    let mut env = Env::start(storage).await;
    env.configure(json!({"mode": "standard", "methods": ["badge", "secureLogin"]})).await;
    let user = env.create_user("code@example.org").await;
    let issue = |token: String| {
        let request = env.http.post(env.url("/v1/me/login-code")).bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 201);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["expiresIn"], 900);
            body["loginCode"].as_str().unwrap().to_string()
        }
    };
    let token = env.user_token("code@example.org").await;
    let code = issue(token.clone()).await;
    assert_eq!(code.len(), 8);
    let session = env.sign_in_at_printer(json!({"printerId": "p1", "loginCode": code.to_lowercase()})).await;
    assert_eq!(session.status().as_u16(), 201);
    let session: Value = session.json().await.unwrap();
    assert_eq!(session["user"]["id"], user.as_str());
    // Single use.
    expect_problem(
        env.sign_in_at_printer(json!({"printerId": "p1", "loginCode": code})).await,
        401,
        "invalid_credentials",
    )
    .await;

    // A new code replaces the previous one.
    let first = issue(token.clone()).await;
    let second = issue(token.clone()).await;
    expect_problem(
        env.sign_in_at_printer(json!({"printerId": "p2", "loginCode": first})).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(status(env.sign_in_at_printer(json!({"printerId": "p2", "loginCode": second})).await).await, 201);

    // Valid for 15 minutes.
    let late = issue(token).await;
    env.advance(Duration::minutes(15)).await;
    expect_problem(
        env.sign_in_at_printer(json!({"printerId": "p3", "loginCode": late})).await,
        401,
        "invalid_credentials",
    )
    .await;
    // A PIN is not accepted where the configuration does not allow it.
    let pin = json!({"printerId": "p3", "pin": "123456"});
    expect_problem(env.sign_in_at_printer(pin).await, 400, "login_method_not_allowed").await;
    env.running.shutdown().await;
}

async fn five_wrong_attempts_lock_the_printer_for_15_minutes(storage: Storage) {
    let mut env = Env::start(storage).await;
    env.configure(json!({"mode": "standard", "methods": ["badge", "pin"], "pinGeneration": "setByAdmin"})).await;
    let user = env.create_user("lock@example.org").await;
    assert_eq!(status(env.set_pin(&user, Some(json!({"pin": "975310"}))).await).await, 200);
    let good = json!({"printerId": "printer-9", "pin": "975310"});
    let wrong = |n: usize| json!({"printerId": "printer-9", "pin": format!("00000{n}")});

    for n in 0..3 {
        expect_problem(env.sign_in_at_printer(wrong(n)).await, 401, "invalid_credentials").await;
    }
    let unknown_badge = json!({"printerId": "printer-9", "badge": "NOPE-1234"});
    expect_problem(env.sign_in_at_printer(unknown_badge).await, 404, "badge_not_registered").await;
    expect_problem(env.sign_in_at_printer(wrong(4)).await, 429, "pin_locked").await;
    expect_problem(env.sign_in_at_printer(good.clone()).await, 429, "pin_locked").await;
    let elsewhere = json!({"printerId": "printer-10", "pin": "975310"});
    assert_eq!(status(env.sign_in_at_printer(elsewhere).await).await, 201, "only that printer is locked");

    env.advance(Duration::minutes(14)).await;
    expect_problem(env.sign_in_at_printer(good.clone()).await, 429, "pin_locked").await;
    env.advance(Duration::minutes(1)).await;
    assert_eq!(status(env.sign_in_at_printer(good).await).await, 201, "unlocked after 15 minutes");
    expect_problem(env.sign_in_at_printer(wrong(5)).await, 401, "invalid_credentials").await;
    env.running.shutdown().await;
}

/// An enrolled printer's own device token signs users in at that printer: the lockout is
/// the printer's whatever `printerId` the body claims, and once the printer is unenrolled
/// its token signs nobody in (`device_unenrolled`).
async fn enrolled_printers_sign_users_in_with_their_device_token(storage: Storage) {
    let env = Env::start(storage).await;
    env.configure(json!({"mode": "standard", "methods": ["badge", "pin"], "pinGeneration": "setByAdmin"})).await;
    let user = env.create_user("device@example.org").await;
    assert_eq!(status(env.set_pin(&user, Some(json!({"pin": "864209"}))).await).await, 200);
    let code: Value = env
        .http
        .post(env.org_url("/enrollment-codes"))
        .bearer_auth(&env.admin)
        .json(&json!({"kind": "organisation"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let printer = json!({"serialNumber": "DEV-0001", "model": "CX825", "manufacturer": "Lexmark"});
    let enrolled: Value = env
        .http
        .post(env.url("/v1/enroll"))
        .json(&json!({"code": code["code"], "printer": printer}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grant = json!({"grant_type": "client_credentials", "client_id": enrolled["credential"]["clientId"],
        "client_secret": enrolled["credential"]["clientSecret"]});
    let token: Value = env.http.post(env.url("/oauth/token")).json(&grant).send().await.unwrap().json().await.unwrap();
    let device = token["access_token"].as_str().unwrap().to_string();
    let sign_in = |body: Value| env.http.post(env.url("/v1/device/sessions")).bearer_auth(&device).json(&body).send();

    let session: Value = sign_in(json!({"pin": "864209"})).await.unwrap().json().await.unwrap();
    let printer_id = enrolled["printer"]["id"].as_str().unwrap();
    assert_eq!(session["user"]["id"], user.as_str(), "{session}");
    for n in 0..5 {
        // The body's printerId does not move the guesses to another printer's counter.
        let guess = json!({"printerId": format!("elsewhere-{n}"), "pin": format!("00000{n}")});
        let _ = sign_in(guess).await.unwrap();
    }
    expect_problem(sign_in(json!({"pin": "864209"})).await.unwrap(), 429, "pin_locked").await;
    let unenrolled = env.http.delete(env.org_url(&format!("/printers/{printer_id}"))).bearer_auth(&env.admin);
    assert_eq!(unenrolled.send().await.unwrap().status().as_u16(), 204);
    expect_problem(sign_in(json!({"pin": "864209"})).await.unwrap(), 401, "device_unenrolled").await;
    env.running.shutdown().await;
}

async fn br_bimp_seed_badge_only_example_imports_end_to_end(storage: Storage) {
    let env = Env::start(storage).await;
    let jdoe = env.create_user("jdoe@company.com").await;
    let llane = env.create_user("llane@company.com").await;
    let ckent = env.create_user("ckent@company.com").await;
    assert_eq!(status(env.register_badge(json!({"userId": ckent, "badge": "20173c"})).await).await, 201);
    // Seed L5212–L5215, trailing spaces included.
    let report = env
        .import(
            "BADGE,OPERATION,EMAIL,TEMPORARY,PIN \n20171a,CREATE,jdoe@company.com,true, \n\
             20172b,CREATE,llane@company.com,true, \n20173c,DELETE,ckent@company.com,false,\n",
        )
        .await;
    assert_eq!((report["succeeded"].as_u64(), report["failed"].as_u64()), (Some(3), Some(0)), "{report}");
    assert_eq!(report["rows"][0]["maskedBadge"], "****1a");
    assert_eq!(report["rows"][2]["operation"], "DELETE");
    assert!(!report.to_string().contains("20171a"), "badge numbers are masked in the log");
    let jdoe_badges = env.badges(&[("email", "jdoe@company.com")]).await;
    assert_eq!(jdoe_badges.len(), 1);
    assert_eq!(jdoe_badges[0]["temporary"], true);
    assert_eq!(jdoe_badges[0]["userId"], jdoe.as_str());
    assert_eq!(env.badges(&[("badge", "20172b")]).await[0]["userId"], llane.as_str());
    assert!(env.badges(&[("email", "ckent@company.com")]).await.is_empty());
    let session: Value =
        env.sign_in_at_printer(json!({"printerId": "p1", "badge": "20171a"})).await.json().await.unwrap();
    assert_eq!(session["user"]["id"], jdoe.as_str());

    // The import never creates users; the same badge twice is refused for that line only.
    let report = env
        .import(
            "BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n30001,CREATE,new@company.com,false,\n\
             20171a,CREATE,llane@company.com,false,\n30002,CREATE,llane@company.com,false,\n",
        )
        .await;
    assert_eq!((report["succeeded"].as_u64(), report["failed"].as_u64()), (Some(1), Some(2)), "{report}");
    assert!(report["rows"][0]["detail"].as_str().unwrap().contains("does not create users"));
    assert!(store::find_user_by_email(&env.running.ctx, "new@company.com").await.unwrap().is_none());
    assert_eq!(report["rows"][0]["status"], "error");
    assert_eq!(report["rows"][2]["status"], "ok");
    env.running.shutdown().await;
}

async fn br_bimp_br_pin_4_seed_pin_only_examples_import_end_to_end(storage: Storage) {
    let env = Env::start(storage).await;
    env.configure(json!({"mode": "standard", "methods": ["pin"], "pinGeneration": "setByAdmin"})).await;
    let jdoe = env.create_user("jdoe@company.com").await;
    let llane = env.create_user("llane@company.com").await;
    let ckent = env.create_user("ckent@company.com").await;
    assert_eq!(status(env.set_pin(&ckent, Some(json!({"pin": "345678"}))).await).await, 200);
    // Seed L5218–L5221.
    let report = env
        .import(
            "BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n,CREATE,jdoe@company.com,,123456\n\
             ,CREATE,llane@company.com,,234567\n,DELETE,ckent@company.com,,345678\n",
        )
        .await;
    assert_eq!((report["succeeded"].as_u64(), report["failed"].as_u64()), (Some(3), Some(0)), "{report}");
    assert!(!report.to_string().contains("123456"), "PINs are not echoed");
    for (pin, user) in [("123456", &jdoe), ("234567", &llane)] {
        let session: Value = env.sign_in_at_printer(json!({"printerId": "p1", "pin": pin})).await.json().await.unwrap();
        assert_eq!(session["user"]["id"], user.as_str());
    }
    expect_problem(
        env.sign_in_at_printer(json!({"printerId": "p2", "pin": "345678"})).await,
        401,
        "invalid_credentials",
    )
    .await;

    // Seed L5232–L5235: the same with reordered columns; BR-PIN-4: users must exist.
    let report = env
        .import(
            "PIN,OPERATION,EMAIL,BADGE,TEMPORARY\n123456,CREATE,jdoe@company.com,,\n\
             234567,CREATE,llane@company.com,,\n345678,DELETE,ckent@company.com,,\n\
             456789,CREATE,ghost@company.com,,\n12345,CREATE,ckent@company.com,,\n",
        )
        .await;
    let statuses: Vec<&str> =
        report["rows"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["ok", "ok", "error", "error", "error"], "{report}");
    assert!(report["rows"][2]["detail"].as_str().unwrap().contains("no PIN"), "{report}");
    assert!(report["rows"][3]["detail"].as_str().unwrap().contains("BR-PIN-4"), "{report}");
    assert!(report["rows"][4]["detail"].as_str().unwrap().contains("6 digits"), "{report}");

    // PINs are imported only where administrators set them (BR-USR-2).
    env.configure(json!({"mode": "standard", "methods": ["pin"], "pinGeneration": "setByUser"})).await;
    let report = env.import("BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n,CREATE,ckent@company.com,,999999\n").await;
    assert_eq!(report["rows"][0]["status"], "error", "{report}");
    assert!(report["rows"][0]["detail"].as_str().unwrap().contains("setByAdmin"));
    env.running.shutdown().await;
}

async fn br_bimp_seed_badge_and_pin_example_imports_end_to_end(storage: Storage) {
    let env = Env::start(storage).await;
    env.configure(json!({"mode": "badgeAndPin", "pinGeneration": "setByAdmin"})).await;
    let jdoe = env.create_user("jdoe@company.com").await;
    env.create_user("llane@company.com").await;
    let ckent = env.create_user("ckent@company.com").await;
    assert_eq!(status(env.register_badge(json!({"userId": ckent, "badge": "20173c"})).await).await, 201);
    assert_eq!(status(env.set_pin(&ckent, Some(json!({"pin": "345678"}))).await).await, 200);
    // Seed L5224–L5227, including the stray space before `20172b`.
    let report = env
        .import(
            "BADGE,OPERATION,EMAIL,TEMPORARY,PIN\r\n20171a,CREATE,jdoe@company.com,true,123456\r\n \
             20172b,CREATE,llane@company.com,true,234567\r\n20173c,DELETE,ckent@company.com,false,345678\r\n",
        )
        .await;
    assert_eq!((report["succeeded"].as_u64(), report["failed"].as_u64()), (Some(3), Some(0)), "{report}");
    let session: Value = env
        .sign_in_at_printer(json!({"printerId": "p1", "badge": "20171a", "pin": "123456"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["id"], jdoe.as_str());
    let ckent_login = json!({"printerId": "p1", "badge": "20173c", "pin": "345678"});
    expect_problem(env.sign_in_at_printer(ckent_login).await, 404, "badge_not_registered").await;

    // A line without the badge the mode requires is refused (ERR-16); the file as a whole
    // needs the five columns; files over 1 MB are refused.
    let report = env.import("BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n,CREATE,jdoe@company.com,,123456\n").await;
    assert_eq!(report["rows"][0]["status"], "error");
    let bad_header = env.http.post(env.org_url("/badges/import")).bearer_auth(&env.admin).body("BADGE,EMAIL\n");
    expect_problem(bad_header.send().await.unwrap(), 400, "invalid_csv").await;
    let mut big = String::from("BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n");
    while big.len() <= 1024 * 1024 {
        big.push_str("20171a,CREATE,jdoe@company.com,true,123456\n");
    }
    let too_big = env.http.post(env.org_url("/badges/import")).bearer_auth(&env.admin).body(big);
    expect_problem(too_big.send().await.unwrap(), 413, "file_too_large").await;
    env.running.shutdown().await;
}

async fn badge_numbers_pins_and_login_codes_are_never_stored_in_clear(storage: Storage) {
    let env = Env::start(storage).await;
    env.configure(json!({"mode": "standard", "methods": ["badge", "pin", "secureLogin"], "pinLength": 12,
                         "pinGeneration": "setByAdmin"}))
        .await;
    let user = env.create_user("secret@example.org").await;
    let badge = "SECRETBADGE-4711";
    let pin = "918273645501";
    assert_eq!(status(env.register_badge(json!({"userId": user, "badge": badge, "temporary": true})).await).await, 201);
    env.import(&format!("BADGE,OPERATION,EMAIL,TEMPORARY,PIN\nIMPORTED-BADGE-0815,CREATE,secret@example.org,,{pin}\n"))
        .await;
    let token = env.user_token("secret@example.org").await;
    let code: Value =
        env.http.post(env.url("/v1/me/login-code")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let code = code["loginCode"].as_str().unwrap().to_string();
    assert_eq!(status(env.sign_in_at_printer(json!({"printerId": "p1", "pin": pin})).await).await, 201);
    assert_eq!(status(env.sign_in_at_printer(json!({"printerId": "p1", "badge": badge})).await).await, 201);
    let fresh: Value =
        env.http.post(env.url("/v1/me/login-code")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let fresh = fresh["loginCode"].as_str().unwrap().to_string();

    let dump = partition_dump(&env.running, &env.org).await;
    assert!(dump.contains("BADGEID#") && dump.contains("USERPIN#") && dump.contains("LOGINCODE#"), "{dump}");
    for secret in [badge, "IMPORTED-BADGE-0815", pin, &code, &fresh] {
        assert!(!dump.to_uppercase().contains(&secret.to_uppercase()), "{secret} is stored in clear: {dump}");
    }
    env.running.shutdown().await;
}

async fn other_organisations_answer_404_and_users_without_the_role_403(storage: Storage) {
    let env = Env::start(storage).await;
    let org_b = e2e::second_org(&env.running).await.0;
    let http = &env.http;
    let admin_b = access_token(&env.running.url, "admin@other.example", ADMIN_PASSWORD).await;
    let b = |path: &str| env.url(&format!("/v1/orgs/{org_b}{path}"));
    let created =
        http.post(b("/badges")).bearer_auth(&admin_b).json(&json!({"userId": "user-b", "badge": "B-BADGE-01"}));
    let badge_b: Value = created.send().await.unwrap().json().await.unwrap();
    let badge_b_url = b(&format!("/badges/{}", badge_b["id"].as_str().unwrap()));

    // Organisation A's administrator on B's badges, settings and PINs: 404, nothing changes.
    let admin_a = &env.admin;
    let attempts = [
        http.get(b("/badges")).bearer_auth(admin_a),
        http.post(b("/badges")).bearer_auth(admin_a).json(&json!({"userId": "user-b", "badge": "INTRUDER-1"})),
        http.delete(&badge_b_url).bearer_auth(admin_a),
        http.post(b("/badges/import"))
            .bearer_auth(admin_a)
            .body("BADGE,OPERATION,EMAIL,TEMPORARY,PIN\nB-BADGE-01,DELETE,,,\n"),
        http.get(b("/settings/printer-login")).bearer_auth(admin_a),
        http.put(b("/settings/printer-login"))
            .bearer_auth(admin_a)
            .json(&json!({"mode": "standard", "methods": ["pin"]})),
        http.put(b("/users/user-b/pin")).bearer_auth(admin_a).json(&json!({"pin": "123456"})),
        http.delete(b("/users/user-b/pin")).bearer_auth(admin_a),
    ];
    for attempt in attempts {
        expect_problem(attempt.send().await.unwrap(), 404, "not_found").await;
    }
    let badges_b: Value = http.get(b("/badges")).bearer_auth(&admin_b).send().await.unwrap().json().await.unwrap();
    assert_eq!(badges_b["items"].as_array().unwrap().len(), 1, "B's badge is still there: {badges_b}");
    let config_b: Value =
        http.get(b("/settings/printer-login")).bearer_auth(&admin_b).send().await.unwrap().json().await.unwrap();
    assert_eq!(config_b["version"], 0, "B's configuration is unchanged");
    // A's printers cannot use B's badges.
    let login = json!({"printerId": "p1", "badge": "B-BADGE-01"});
    expect_problem(env.sign_in_at_printer(login.clone()).await, 404, "badge_not_registered").await;
    let b_printer = client_token(&env.running, &org_b, &env.clock);
    let at_b = http.post(env.url("/v1/device/sessions")).bearer_auth(b_printer).json(&login).send();
    assert_eq!(status(at_b.await.unwrap()).await, 201);

    // A user with only the User role: 403 on the administrative routes of their own organisation.
    let user = env.create_user("plain@example.org").await;
    let token = env.user_token("plain@example.org").await;
    let forbidden = [
        http.get(env.org_url("/badges")).bearer_auth(&token),
        http.post(env.org_url("/badges")).bearer_auth(&token).json(&json!({"userId": user, "badge": "MINE-0001"})),
        http.delete(env.org_url("/badges/some-badge")).bearer_auth(&token),
        http.post(env.org_url("/badges/import")).bearer_auth(&token).body("BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n"),
        http.get(env.org_url("/settings/printer-login")).bearer_auth(&token),
        http.put(env.org_url("/settings/printer-login")).bearer_auth(&token).json(&json!({"mode": "standard",
            "methods": ["pin"]})),
        http.put(env.org_url(&format!("/users/{user}/pin"))).bearer_auth(&token).json(&json!({"pin": "123456"})),
        http.delete(env.org_url(&format!("/users/{user}/pin"))).bearer_auth(&token),
    ];
    for attempt in forbidden {
        expect_problem(attempt.send().await.unwrap(), 403, "forbidden").await;
    }
    assert!(env.badges(&[]).await.is_empty());
    env.running.shutdown().await;
}

e2e::on_both_storages!(
    br_pin_3_printer_login_configuration_validates_and_keeps_versions,
    br_bdg_4_badges_are_masked_and_found_only_by_full_email_or_number,
    br_bdg_2_temporary_badges_expire_after_24_hours,
    br_bdg_1_an_unknown_badge_is_registered_at_the_printer_on_first_use,
    br_pin_1_generated_pins_are_mailed_and_never_answered,
    br_usr_2_administrators_set_pins_only_with_pin_login_and_manual_pins,
    br_pin_3_user_set_pins_expire_after_the_configured_time,
    badge_and_pin_mode_needs_both_and_refuses_other_combinations,
    br_lc_1_login_codes_work_once_for_15_minutes_and_replace_each_other,
    five_wrong_attempts_lock_the_printer_for_15_minutes,
    enrolled_printers_sign_users_in_with_their_device_token,
    br_bimp_seed_badge_only_example_imports_end_to_end,
    br_bimp_br_pin_4_seed_pin_only_examples_import_end_to_end,
    br_bimp_seed_badge_and_pin_example_imports_end_to_end,
    badge_numbers_pins_and_login_codes_are_never_stored_in_clear,
    other_organisations_answer_404_and_users_without_the_role_403,
);
