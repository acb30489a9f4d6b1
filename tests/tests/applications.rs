//! OAuth applications end to end through HTTP against the in-process runner: creating
//! them (secret shown once), templates, the `client_credentials` grant (part-6 §2.1–2.2,
//! R-API-6), deletion, role checks (BR-OA-03) and tenant isolation.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, expect_problem, options_on, start_on, start_with};
use reqwest::{Client, Response};
use serde_json::{Value, json};
use shared::identity::model::{Organisation, User, UserRecord};
use shared::identity::roles::{Role, Service};
use shared::identity::store;
use shared::ports::{Clock, ManualClock};
use std::sync::Arc;

async fn org_of(url: &str, token: &str) -> String {
    let body: Value =
        Client::new().get(format!("{url}/v1/me")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    body["organisation"]["id"].as_str().unwrap().to_string()
}

fn applications_url(url: &str, org: &str) -> String {
    format!("{url}/v1/orgs/{org}/applications")
}

async fn create(url: &str, org: &str, token: &str, body: Value) -> Response {
    Client::new().post(applications_url(url, org)).bearer_auth(token).json(&body).send().await.unwrap()
}

/// Creates an application and answers the 201 body (with its secret).
async fn created(url: &str, org: &str, token: &str, body: Value) -> Value {
    let response = create(url, org, token, body.clone()).await;
    assert_eq!(response.status().as_u16(), 201, "create {body}");
    response.json().await.unwrap()
}

async fn list(url: &str, org: &str, token: &str) -> Response {
    Client::new().get(applications_url(url, org)).bearer_auth(token).send().await.unwrap()
}

async fn names(url: &str, org: &str, token: &str) -> Vec<String> {
    let response = list(url, org, token).await;
    assert_eq!(response.status().as_u16(), 200);
    let page: Value = response.json().await.unwrap();
    page["items"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect()
}

async fn client_token_json(url: &str, client_id: &str, client_secret: &str) -> Response {
    Client::new()
        .post(format!("{url}/oauth/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}))
        .send()
        .await
        .unwrap()
}

fn payload(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

fn secret_of(app: &Value) -> (String, String) {
    (app["clientId"].as_str().unwrap().to_string(), app["clientSecret"].as_str().unwrap().to_string())
}

async fn put_org(running: &printcloud::serve::Running, id: &str, name: &str) {
    let org = Organisation {
        id: id.into(),
        name: name.into(),
        parent_id: None,
        entitlements: Service::ALL.into_iter().collect(),
        time_zone: "UTC".into(),
        roles: Vec::new(),
        sub_org_creation_enabled: false,
        mps_express: false,
        deleting: false,
        created_at: chrono::Utc::now(),
    };
    running.ctx.table.transact(store::create_org_writes(&org).unwrap()).await.unwrap();
}

/// Creates a user with `roles` directly in storage and answers their access token.
async fn user_with(running: &printcloud::serve::Running, org: &str, email: &str, roles: Vec<Role>) -> String {
    let user = UserRecord {
        user: User {
            id: format!("user-{}", email.split('@').next().unwrap()),
            org_id: org.into(),
            email: email.into(),
            roles,
            created_at: chrono::Utc::now(),
            version: 1,
            ..User::default()
        },
        password_hash: Some(shared::passwords::hash(ADMIN_PASSWORD)),
    };
    running.ctx.table.transact(store::create_user_writes(&user).unwrap()).await.unwrap();
    access_token(&running.url, email, ADMIN_PASSWORD).await
}

/// BR-OA-01 (client id and secret per organisation application) and R-API-6 (the token
/// call of part-6: JSON body, `expires_in` 7200, `token_type` bearer, epoch seconds).
async fn br_oa_01_r_api_6_an_application_gets_a_secret_once_and_client_tokens_with_its_scopes(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options_on(storage, dir.path());
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    opts.clock = clock.clone();
    let running = start_with(opts).await;
    let url = &running.url;
    let admin = access_token(url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let org = org_of(url, &admin).await;

    let app = created(
        url,
        &org,
        &admin,
        json!({"name": "Fleet export", "description": "Nightly asset export",
               "scopes": ["fleet-integration", "badges-auth", "fleet-integration"]}),
    )
    .await;
    let (client_id, client_secret) = secret_of(&app);
    assert!(client_id.starts_with("pc_"), "{client_id}");
    assert!(client_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "URL-safe");
    assert!(URL_SAFE_NO_PAD.decode(&client_secret).unwrap().len() >= 32, "at least 32 random bytes, base64url");
    assert_eq!(app["scopes"], json!(["badges-auth", "fleet-integration"]), "sorted, without duplicates");
    assert_eq!(app["name"], "Fleet export");
    assert_eq!(app["orgId"], org.as_str());
    assert!(app["createdAt"].is_string());
    assert!(app.get("secretHash").is_none());

    // The list never shows the secret, nor its hash.
    let listed = list(url, &org, &admin).await;
    assert_eq!(listed.status().as_u16(), 200);
    let text = listed.text().await.unwrap();
    assert!(!text.contains(&client_secret), "the secret is shown once");
    assert!(!text.contains("argon2") && !text.contains("secretHash") && !text.contains("clientSecret"), "{text}");
    let page: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(page["items"][0]["clientId"], client_id.as_str());
    assert_eq!(page["items"][0]["description"], "Nightly asset export");

    // JSON body, exactly part-6 §2.1.
    let response = client_token_json(url, &client_id, &client_secret).await;
    assert_eq!(response.status().as_u16(), 200);
    let grant: Value = response.json().await.unwrap();
    assert_eq!(grant["token_type"], "bearer");
    assert_eq!(grant["expires_in"], 7200);
    assert_eq!(grant["created_at"], clock.now().timestamp(), "epoch seconds");
    assert!(grant.get("refresh_token").is_none(), "no refresh token for applications");
    let token = grant["access_token"].as_str().unwrap().to_string();
    let claims = payload(&token);
    assert_eq!(claims["kind"], "client");
    assert_eq!(claims["sub"], client_id.as_str());
    assert_eq!(claims["org"], org.as_str());
    assert_eq!(claims["scope"], "badges-auth fleet-integration");
    assert!(claims.get("roles").is_none(), "applications have no roles");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 7200);

    // Form-encoded bodies are accepted too, and so is HTTP Basic (client_secret_basic).
    let form = Client::new()
        .post(format!("{url}/oauth/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", &client_id), ("client_secret", &client_secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 200);
    let form: Value = form.json().await.unwrap();
    let form_claims = payload(form["access_token"].as_str().unwrap());
    assert_eq!((&form_claims["kind"], &form_claims["org"]), (&json!("client"), &json!(org)));
    assert_eq!(form_claims["scope"], "badges-auth fleet-integration");
    let basic = Client::new()
        .post(format!("{url}/oauth/token"))
        .header("Authorization", format!("Basic {}", STANDARD.encode(format!("{client_id}:{client_secret}"))))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 200);

    // The token is accepted until its 7200 s are over.
    let users = format!("{url}/v1/orgs/{org}/users");
    let before = Client::new().get(&users).bearer_auth(&token).send().await.unwrap();
    expect_problem(before, 403, "forbidden").await;
    clock.advance(chrono::Duration::seconds(7200));
    let after = Client::new().get(&users).bearer_auth(&token).send().await.unwrap();
    expect_problem(after, 401, "token_expired").await;
    running.shutdown().await;
}

async fn wrong_or_unknown_client_credentials_answer_invalid_client_alike(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let url = &running.url;
    let admin = access_token(url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let org = org_of(url, &admin).await;
    let (client_id, client_secret) =
        secret_of(&created(url, &org, &admin, json!({"name": "Printers", "scopes": ["badges-auth"]})).await);

    let mut details = Vec::new();
    let unknown_id = format!("pc_{}", "A".repeat(22));
    let wrong_secret = URL_SAFE_NO_PAD.encode([7u8; 32]);
    for (id, secret) in [
        (client_id.as_str(), wrong_secret.as_str()),
        (client_id.as_str(), ""),
        (unknown_id.as_str(), client_secret.as_str()),
        ("not-a-client-id#CLIENT", client_secret.as_str()),
    ] {
        let problem = expect_problem(client_token_json(url, id, secret).await, 401, "invalid_client").await;
        details.push(problem["detail"].as_str().unwrap().to_string());
    }
    details.dedup();
    assert_eq!(details.len(), 1, "one answer for a wrong secret and an unknown client: {details:?}");

    let missing = Client::new()
        .post(format!("{url}/oauth/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": client_id}))
        .send()
        .await
        .unwrap();
    expect_problem(missing, 400, "invalid_request").await;
    assert_eq!(client_token_json(url, &client_id, &client_secret).await.status().as_u16(), 200, "still works");
    running.shutdown().await;
}

async fn a_deleted_applications_client_gets_no_more_tokens(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let url = &running.url;
    let admin = access_token(url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let org = org_of(url, &admin).await;
    let (client_id, client_secret) =
        secret_of(&created(url, &org, &admin, json!({"name": "Short-lived", "scopes": ["print-submit"]})).await);
    assert_eq!(client_token_json(url, &client_id, &client_secret).await.status().as_u16(), 200);

    let item = format!("{}/{client_id}", applications_url(url, &org));
    assert_eq!(Client::new().delete(&item).bearer_auth(&admin).send().await.unwrap().status().as_u16(), 204);
    expect_problem(client_token_json(url, &client_id, &client_secret).await, 401, "invalid_client").await;
    assert!(names(url, &org, &admin).await.is_empty());
    expect_problem(Client::new().delete(&item).bearer_auth(&admin).send().await.unwrap(), 404, "not_found").await;

    // The name is free again, with a new client id and secret.
    let again = created(url, &org, &admin, json!({"name": "short-lived", "scopes": ["print-submit"]})).await;
    assert_ne!(again["clientId"], client_id.as_str());
    expect_problem(client_token_json(url, &client_id, &client_secret).await, 401, "invalid_client").await;
    running.shutdown().await;
}

/// BR-OA-01/BR-OA-02: the seed's named applications are templates, each listing
/// `badges-auth`; names are unique per organisation, case-insensitively; scopes are known.
async fn br_oa_02_templates_fill_name_and_scopes_and_names_and_scopes_are_checked(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let url = &running.url;
    let admin = access_token(url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let org = org_of(url, &admin).await;

    let device = created(url, &org, &admin, json!({"template": "Device authentication"})).await;
    assert_eq!((&device["name"], &device["scopes"]), (&json!("Device authentication"), &json!(["badges-auth"])));
    let card = created(url, &org, &admin, json!({"template": "Card Auth-app"})).await;
    assert_eq!((&card["name"], &card["scopes"]), (&json!("Card Auth app"), &json!(["badges-auth"])));
    let storage = created(url, &org, &admin, json!({"template": "CPM advanced hybrid storage"})).await;
    assert_eq!(storage["name"], "CPM advanced hybrid storage");
    assert_eq!(storage["scopes"], json!(["badges-auth", "hybrid-storage"]));
    let (id, secret) = secret_of(&device);
    let grant: Value = client_token_json(url, &id, &secret).await.json().await.unwrap();
    assert_eq!(payload(grant["access_token"].as_str().unwrap())["scope"], "badges-auth");

    // Duplicate names, case-insensitively → 409, nothing written.
    let duplicate = create(url, &org, &admin, json!({"template": "device AUTHENTICATION"})).await;
    expect_problem(duplicate, 409, "application_name_taken").await;
    let duplicate = create(url, &org, &admin, json!({"name": " card auth APP ", "scopes": ["print-submit"]})).await;
    expect_problem(duplicate, 409, "application_name_taken").await;
    // A template with another name is a second application of that kind.
    let second =
        created(url, &org, &admin, json!({"template": "Device authentication", "name": "Lobby printers"})).await;
    assert_eq!(second["scopes"], json!(["badges-auth"]));

    for (body, code) in [
        (json!({"name": "Bad", "scopes": ["badges-auth", "admin"]}), "unknown_scope"),
        (json!({"template": "Fleet Agent"}), "unknown_template"),
        (json!({"name": "No scopes", "scopes": []}), "invalid_field"),
        (json!({"scopes": ["badges-auth"]}), "invalid_field"),
        (json!({"name": "   ", "scopes": ["badges-auth"]}), "invalid_field"),
        (json!({"name": "x".repeat(101), "scopes": ["badges-auth"]}), "invalid_field"),
        (json!({"name": "Sneaky", "scopes": ["badges-auth"], "clientSecret": "mine"}), "invalid_json"),
    ] {
        expect_problem(create(url, &org, &admin, body).await, 400, code).await;
    }
    assert_eq!(
        names(url, &org, &admin).await,
        vec!["Card Auth app", "CPM advanced hybrid storage", "Device authentication", "Lobby printers"],
        "alphabetical; refused requests wrote nothing"
    );
    running.shutdown().await;
}

/// BR-OA-03: managing applications needs the Organization Administrator; Help Desk may
/// view them (L3894); the role User and application tokens may do neither.
async fn br_oa_03_only_administrators_manage_applications_and_client_tokens_have_no_roles(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let url = &running.url;
    let http = Client::new();
    let admin = access_token(url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let org = org_of(url, &admin).await;
    let app = created(url, &org, &admin, json!({"template": "Device authentication"})).await;
    let (client_id, client_secret) = secret_of(&app);
    let item = format!("{}/{client_id}", applications_url(url, &org));

    let user = user_with(&running, &org, "user@printcloud.test", Vec::new()).await;
    let help_desk = user_with(&running, &org, "helpdesk@printcloud.test", vec![Role::HelpDesk]).await;
    let grant: Value = client_token_json(url, &client_id, &client_secret).await.json().await.unwrap();
    let client = grant["access_token"].as_str().unwrap().to_string();

    for token in [&user, &client] {
        expect_problem(list(url, &org, token).await, 403, "forbidden").await;
        let body = json!({"name": "Mine", "scopes": ["fleet-integration"]});
        expect_problem(create(url, &org, token, body).await, 403, "forbidden").await;
        expect_problem(http.delete(&item).bearer_auth(token).send().await.unwrap(), 403, "forbidden").await;
    }
    let users = http.get(format!("{url}/v1/orgs/{org}/users")).bearer_auth(&client).send().await.unwrap();
    expect_problem(users, 403, "forbidden").await;

    assert_eq!(names(url, &org, &help_desk).await, vec!["Device authentication"], "Help Desk views applications");
    let body = json!({"name": "Help Desk app", "scopes": ["badges-auth"]});
    expect_problem(create(url, &org, &help_desk, body).await, 403, "forbidden").await;
    expect_problem(http.delete(&item).bearer_auth(&help_desk).send().await.unwrap(), 403, "forbidden").await;

    assert_eq!(names(url, &org, &admin).await, vec!["Device authentication"], "nothing changed");
    assert_eq!(client_token_json(url, &client_id, &client_secret).await.status().as_u16(), 200);
    running.shutdown().await;
}

async fn another_organisations_applications_answer_404_and_stay_unchanged(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let url = &running.url;
    let http = Client::new();
    put_org(&running, "org-b", "Other Org").await;
    let admin_b = user_with(&running, "org-b", "admin@other.example", vec![Role::OrganizationAdministrator]).await;
    let app_b = created(url, "org-b", &admin_b, json!({"template": "Card Auth app"})).await;
    let (client_b, secret_b) = secret_of(&app_b);

    let admin_a = access_token(url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let org_a = org_of(url, &admin_a).await;
    expect_problem(list(url, "org-b", &admin_a).await, 404, "not_found").await;
    let body = json!({"name": "Intruder", "scopes": ["fleet-integration"]});
    expect_problem(create(url, "org-b", &admin_a, body).await, 404, "not_found").await;
    let b_item = format!("{}/{client_b}", applications_url(url, "org-b"));
    expect_problem(http.delete(&b_item).bearer_auth(&admin_a).send().await.unwrap(), 404, "not_found").await;
    // B's client id under A's own organisation is no more found than under B's.
    let via_a = format!("{}/{client_b}", applications_url(url, &org_a));
    expect_problem(http.delete(&via_a).bearer_auth(&admin_a).send().await.unwrap(), 404, "not_found").await;

    assert_eq!(names(url, "org-b", &admin_b).await, vec!["Card Auth app"], "B's applications are unchanged");
    assert!(names(url, &org_a, &admin_a).await.is_empty());
    let grant: Value = client_token_json(url, &client_b, &secret_b).await.json().await.unwrap();
    assert_eq!(payload(grant["access_token"].as_str().unwrap())["org"], "org-b", "B's client still acts in B");
    // And a client of A may use A's name for its own application: names are per organisation.
    created(url, &org_a, &admin_a, json!({"template": "Card Auth app"})).await;
    running.shutdown().await;
}

e2e::on_both_storages!(
    br_oa_01_r_api_6_an_application_gets_a_secret_once_and_client_tokens_with_its_scopes,
    wrong_or_unknown_client_credentials_answer_invalid_client_alike,
    a_deleted_applications_client_gets_no_more_tokens,
    br_oa_02_templates_fill_name_and_scopes_and_names_and_scopes_are_checked,
    br_oa_03_only_administrators_manage_applications_and_client_tokens_have_no_roles,
    another_organisations_applications_answer_404_and_stay_unchanged,
);
