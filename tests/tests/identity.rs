//! Identity end to end through HTTP against the in-process runner: tokens, `/v1/me`,
//! users, tenant isolation and role checks.

use e2e::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, expect_problem, options_on, sign_in, start_on, start_with,
};
use reqwest::Client;
use serde_json::{Value, json};
use shared::identity::store;
use shared::ports::ManualClock;
use std::sync::Arc;

async fn me(url: &str, token: &str) -> reqwest::Response {
    Client::new().get(format!("{url}/v1/me")).bearer_auth(token).send().await.unwrap()
}

async fn org_of(url: &str, token: &str) -> String {
    let body: Value = me(url, token).await.json().await.unwrap();
    body["organisation"]["id"].as_str().unwrap().to_string()
}

async fn password_grant_issues_tokens_in_the_documented_shape(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let grant = sign_in(&running.url, "ADMIN@printcloud.test", ADMIN_PASSWORD).await;
    assert_eq!(grant["token_type"], "bearer");
    assert_eq!(grant["expires_in"], 900);
    assert!(grant["created_at"].as_i64().unwrap() > 1_700_000_000, "epoch seconds (part-6 §2.2)");
    assert!(grant["refresh_token"].is_string());

    let form = Client::new()
        .post(format!("{}/oauth/token", running.url))
        .form(&[("grant_type", "password"), ("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 200, "form-encoded bodies are accepted too");

    for (username, password) in [(ADMIN_EMAIL, "Wrong-Passw0rd!"), ("nobody@printcloud.test", ADMIN_PASSWORD)] {
        let refused = Client::new()
            .post(format!("{}/oauth/token", running.url))
            .json(&json!({"grant_type": "password", "username": username, "password": password}))
            .send()
            .await
            .unwrap();
        let problem = expect_problem(refused, 400, "invalid_grant").await;
        assert_eq!(problem["detail"], "The e-mail address or password is wrong.", "same answer for both");
    }
    let unsupported = Client::new()
        .post(format!("{}/oauth/token", running.url))
        .json(&json!({"grant_type": "implicit"}))
        .send()
        .await
        .unwrap();
    expect_problem(unsupported, 400, "unsupported_grant_type").await;
    let missing = Client::new()
        .post(format!("{}/oauth/token", running.url))
        .json(&json!({"grant_type": "password", "username": ADMIN_EMAIL}))
        .send()
        .await
        .unwrap();
    expect_problem(missing, 400, "invalid_request").await;
    running.shutdown().await;
}

async fn me_shows_the_caller_their_organisation_and_effective_roles(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let token = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let response = me(&running.url, &token).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    assert!(body["user"].get("passwordHash").is_none(), "the hash never leaves storage");
    assert_eq!(body["roles"], json!(["Organization Administrator", "User"]));
    assert_eq!(body["organisation"]["name"], "printcloud");
    let anonymous = Client::new().get(format!("{}/v1/me", running.url)).send().await.unwrap();
    expect_problem(anonymous, 401, "unauthenticated").await;
    running.shutdown().await;
}

async fn refresh_tokens_rotate_and_reuse_revokes_the_family(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let first = sign_in(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let refresh = |token: Value| {
        let url = running.url.clone();
        async move {
            Client::new()
                .post(format!("{url}/oauth/token"))
                .json(&json!({"grant_type": "refresh_token", "refresh_token": token}))
                .send()
                .await
                .unwrap()
        }
    };
    let second = refresh(first["refresh_token"].clone()).await;
    assert_eq!(second.status().as_u16(), 200);
    let second: Value = second.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"], "refresh tokens rotate");
    assert_eq!(me(&running.url, second["access_token"].as_str().unwrap()).await.status().as_u16(), 200);

    let reused = refresh(first["refresh_token"].clone()).await;
    expect_problem(reused, 400, "invalid_grant").await;
    let revoked = refresh(second["refresh_token"].clone()).await;
    expect_problem(revoked, 400, "invalid_grant").await;

    let access_as_refresh = refresh(second["access_token"].clone()).await;
    expect_problem(access_as_refresh, 400, "invalid_grant").await;
    let refresh_as_access = me(&running.url, second["refresh_token"].as_str().unwrap()).await;
    expect_problem(refresh_as_access, 401, "invalid_token").await;
    running.shutdown().await;
}

async fn tokens_are_refused_when_tampered_unsigned_or_expired(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options_on(storage, dir.path());
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    opts.clock = clock.clone();
    let running = start_with(opts).await;
    let token = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let parts: Vec<&str> = token.split('.').collect();

    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    payload["roles"] = json!(["Organization Administrator", "Partner Administrator"]);
    let tampered = format!("{}.{}.{}", parts[0], engine.encode(payload.to_string()), parts[2]);
    expect_problem(me(&running.url, &tampered).await, 401, "invalid_token").await;

    let none_header = engine.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    expect_problem(me(&running.url, &unsigned).await, 401, "invalid_token").await;

    assert_eq!(me(&running.url, &token).await.status().as_u16(), 200);
    clock.advance(chrono::Duration::minutes(16));
    expect_problem(me(&running.url, &token).await, 401, "token_expired").await;
    running.shutdown().await;
}

async fn discovery_documents_name_the_issuer_and_its_keys(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let http = Client::new();
    let config: Value = http
        .get(format!("{}/.well-known/openid-configuration", running.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["issuer"], running.url);
    assert_eq!(config["token_endpoint"], format!("{}/oauth/token", running.url));
    let jwks: Value =
        http.get(format!("{}/.well-known/jwks.json", running.url)).send().await.unwrap().json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "current and next");
    let token = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    use base64::Engine;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], keys[0]["kid"], "signed with the current key");
    running.shutdown().await;
}

async fn administrators_manage_users_and_users_see_only_themselves(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let http = Client::new();
    let admin = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let org = org_of(&running.url, &admin).await;
    let users_url = format!("{}/v1/orgs/{org}/users", running.url);

    let weak =
        http.post(&users_url).bearer_auth(&admin).json(&json!({"email": "a@example.org", "password": "weak"})).send();
    let problem = expect_problem(weak.await.unwrap(), 400, "weak_password").await;
    assert!(problem["detail"].as_str().unwrap().contains("BR-PWD"));
    let bad_email = http.post(&users_url).bearer_auth(&admin).json(&json!({"email": "not-an-address"})).send();
    expect_problem(bad_email.await.unwrap(), 400, "invalid_field").await;
    let unknown_field =
        http.post(&users_url).bearer_auth(&admin).json(&json!({"email": "a@example.org", "admin": true})).send();
    expect_problem(unknown_field.await.unwrap(), 400, "invalid_json").await;

    let created = http
        .post(&users_url)
        .bearer_auth(&admin)
        .json(&json!({"email": "Jan.Jansen@Example.org", "firstName": "Jan", "lastName": "Jansen",
                      "displayName": "Jan J.", "department": "Finance", "password": "Jansen-2026!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let jan: Value = created.json().await.unwrap();
    assert_eq!(jan["email"], "jan.jansen@example.org", "addresses are lower-cased");
    let again = http.post(&users_url).bearer_auth(&admin).json(&json!({"email": "jan.jansen@example.org"})).send();
    // BR-USR-1: an address belongs to one user in one organisation, deployment-wide.
    expect_problem(again.await.unwrap(), 409, "email_taken").await;

    for i in 0..4 {
        let response =
            http.post(&users_url).bearer_auth(&admin).json(&json!({"email": format!("user{i}@example.org")})).send();
        assert_eq!(response.await.unwrap().status().as_u16(), 201);
    }
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut request = http.get(&users_url).bearer_auth(&admin).query(&[("limit", "2")]);
        if let Some(token) = &next {
            request = request.query(&[("nextToken", token)]);
        }
        let page: Value = request.send().await.unwrap().json().await.unwrap();
        seen.extend(page["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_string()));
        match page["nextToken"].as_str() {
            Some(token) => next = Some(token.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    let too_big = http.get(&users_url).bearer_auth(&admin).query(&[("limit", "201")]).send();
    expect_problem(too_big.await.unwrap(), 400, "invalid_limit").await;

    let user = access_token(&running.url, "jan.jansen@example.org", "Jansen-2026!").await;
    let jan_url = format!("{users_url}/{}", jan["id"].as_str().unwrap());
    assert_eq!(http.get(&jan_url).bearer_auth(&user).send().await.unwrap().status().as_u16(), 200, "own account");
    expect_problem(http.get(&users_url).bearer_auth(&user).send().await.unwrap(), 403, "forbidden").await;
    let patch = http.patch(&jan_url).bearer_auth(&user).json(&json!({"department": "IT"})).send();
    expect_problem(patch.await.unwrap(), 403, "forbidden").await;

    let changed: Value = http
        .patch(&jan_url)
        .bearer_auth(&admin)
        .json(&json!({"department": "IT"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(changed["department"], "IT");
    assert_eq!(changed["firstName"], "Jan", "fields left out stay");
    // BR-USR-3: the user record and its address go; history rows refer to the user id only.
    assert_eq!(http.delete(&jan_url).bearer_auth(&admin).send().await.unwrap().status().as_u16(), 204);
    expect_problem(http.get(&jan_url).bearer_auth(&admin).send().await.unwrap(), 404, "not_found").await;
    let reuse = http.post(&users_url).bearer_auth(&admin).json(&json!({"email": "jan.jansen@example.org"})).send();
    assert_eq!(reuse.await.unwrap().status().as_u16(), 201, "a deleted user's address is free again");
    running.shutdown().await;
}

async fn another_organisations_users_answer_404_and_stay_unchanged(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let (org_b, user_b) = e2e::second_org(&running).await;
    let http = Client::new();
    let admin_a = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let users_b = format!("{}/v1/orgs/{org_b}/users", running.url);
    let user_b_url = format!("{users_b}/{user_b}");
    expect_problem(http.get(&users_b).bearer_auth(&admin_a).send().await.unwrap(), 404, "not_found").await;
    let create = http.post(&users_b).bearer_auth(&admin_a).json(&json!({"email": "intruder@example.org"})).send();
    expect_problem(create.await.unwrap(), 404, "not_found").await;
    expect_problem(http.get(&user_b_url).bearer_auth(&admin_a).send().await.unwrap(), 404, "not_found").await;
    let patch = http.patch(&user_b_url).bearer_auth(&admin_a).json(&json!({"displayName": "pwned"})).send();
    expect_problem(patch.await.unwrap(), 404, "not_found").await;
    expect_problem(http.delete(&user_b_url).bearer_auth(&admin_a).send().await.unwrap(), 404, "not_found").await;

    let stored = store::get_user(&running.ctx, &org_b, &user_b).await.unwrap().expect("B's admin is untouched");
    assert_eq!(stored.user.display_name, "");
    assert!(store::find_user_by_email(&running.ctx, "intruder@example.org").await.unwrap().is_none());
    let admin_b = access_token(&running.url, "admin@other.example", ADMIN_PASSWORD).await;
    assert_eq!(http.get(&users_b).bearer_auth(&admin_b).send().await.unwrap().status().as_u16(), 200);
    running.shutdown().await;
}

/// WF-USER-CRUD (L4252–L4253): instead of a password, the new user is mailed a single-use
/// link to set one.
async fn a_new_user_can_be_mailed_a_link_to_set_the_password(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let http = Client::new();
    let admin = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let org = org_of(&running.url, &admin).await;
    let users_url = format!("{}/v1/orgs/{org}/users", running.url);
    let both = http
        .post(&users_url)
        .bearer_auth(&admin)
        .json(&json!({"email": "x@example.org", "password": "Both-Given-1!", "sendPasswordLink": true}));
    expect_problem(both.send().await.unwrap(), 400, "invalid_field").await;
    let created = http
        .post(&users_url)
        .bearer_auth(&admin)
        .json(&json!({"email": "linked@example.org", "sendPasswordLink": true}));
    assert_eq!(created.send().await.unwrap().status().as_u16(), 201);

    let outbox = dir.path().join("outbox");
    let mail = std::fs::read_dir(&outbox)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .find(|text| text.contains("linked@example.org"))
        .expect("the link mail is in the outbox");
    let unfolded = mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let at = unfolded.find("/v1/password?token=").expect("a set-password link");
    let token: String = unfolded[at + "/v1/password?token=".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let set = |password: &str| {
        http.post(format!("{}/v1/password", running.url)).json(&json!({"token": token, "password": password})).send()
    };
    assert_eq!(set("Linked-Passw0rd!").await.unwrap().status().as_u16(), 204);
    expect_problem(set("Another-Passw0rd!").await.unwrap(), 400, "invalid_link").await;
    access_token(&running.url, "linked@example.org", "Linked-Passw0rd!").await;
    running.shutdown().await;
}

e2e::on_both_storages!(
    password_grant_issues_tokens_in_the_documented_shape,
    me_shows_the_caller_their_organisation_and_effective_roles,
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    tokens_are_refused_when_tampered_unsigned_or_expired,
    discovery_documents_name_the_issuer_and_its_keys,
    administrators_manage_users_and_users_see_only_themselves,
    another_organisations_users_answer_404_and_stay_unchanged,
    a_new_user_can_be_mailed_a_link_to_set_the_password,
);
