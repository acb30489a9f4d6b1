//! The tenant-isolation matrix of [2 of 8], driven by the served OpenAPI document so that
//! every organisation route is covered, including routes added later:
//! - a token of organisation A on organisation B's resources answers 404 (never revealing
//!   that they exist) and changes nothing stored in B;
//! - a token of a user with only the default role `User` answers 403 on every
//!   administration route of their own organisation, and changes nothing.
//!
//! Requests carry an empty JSON object as body: the tenant and role checks run before the
//! body is judged, so no route can answer a body error first.

use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, second_org, start_on};
use reqwest::{Client, Method};
use serde_json::{Value, json};
use shared::ports::{Item, Query};

/// Every item of an organisation's partition, to prove that nothing changed.
async fn partition(running: &printcloud::serve::Running, org: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::partition(format!("ORG#{org}")).limit(1000).after(cursor);
        let page = running.ctx.table.query(&query).await.unwrap();
        items.extend(page.items);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return items,
        }
    }
}

/// Every documented operation under `/v1/orgs/{orgId}`, with the path's other parameters
/// filled in from `ids`.
fn organisation_operations(document: &Value, org: &str, ids: &[(&str, &str)]) -> Vec<(Method, String)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(rest) = path.strip_prefix("/v1/orgs/{orgId}") else { continue };
        let mut concrete = format!("/v1/orgs/{org}{rest}");
        for (name, value) in ids {
            concrete = concrete.replace(&format!("{{{name}}}"), value);
        }
        assert!(!concrete.contains('{'), "no test value for a parameter of {path}");
        for method in item.as_object().unwrap().keys() {
            operations.push((Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), concrete.clone()));
        }
    }
    assert!(operations.len() >= 30, "the organisation routes of auth are all documented");
    operations
}

async fn call(http: &Client, url: &str, token: &str, method: &Method, path: &str) -> (u16, Value) {
    let request = http.request(method.clone(), format!("{url}{path}")).bearer_auth(token);
    let request = if *method == Method::GET { request } else { request.json(&json!({})) };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn every_organisation_route_hides_other_organisations_and_refuses_plain_users(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let http = Client::new();
    let url = running.url.clone();
    let admin = access_token(&url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me: Value = http.get(format!("{url}/v1/me")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let org_a = me["organisation"]["id"].as_str().unwrap().to_string();
    let created = http
        .post(format!("{url}/v1/orgs/{org_a}/users"))
        .bearer_auth(&admin)
        .json(&json!({"email": "plain@example.org", "password": "Plain-User-1!"}))
        .send()
        .await
        .unwrap();
    let plain_id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let plain = access_token(&url, "plain@example.org", "Plain-User-1!").await;
    let (org_b, user_b) = second_org(&running).await;
    let document: Value = http.get(format!("{url}/openapi.json")).send().await.unwrap().json().await.unwrap();

    // Test values of the other path parameters, the same in both halves.
    let ids = [
        ("userId", user_b.as_str()),
        ("groupId", "administrator"),
        ("clientId", "pc_unknown"),
        ("badgeId", "unknown"),
        ("importId", "unknown"),
        ("codeId", "unknown"),
        ("printerId", "unknown"),
        ("labelId", "unknown"),
        ("jobId", "unknown"),
        ("policyId", "default"),
        ("kind", "personal"),
        ("key", "unknown"),
        ("delegateUserId", "unknown"),
        ("definitionId", "unknown"),
        ("childOrgId", "unknown"),
        ("solutionId", "unknown"),
        ("runId", "unknown"),
    ];
    let before = partition(&running, &org_b).await;
    for (method, path) in organisation_operations(&document, &org_b, &ids) {
        let (status, body) = call(&http, &url, &admin, &method, &path).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{method} {path} as org A's admin");
    }
    assert_eq!(partition(&running, &org_b).await, before, "nothing of organisation B changed");

    let before = partition(&running, &org_a).await;
    for (method, path) in organisation_operations(&document, &org_a, &ids) {
        let (status, body) = call(&http, &url, &plain, &method, &path).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{method} {path} as a plain user");
    }
    let own = format!("/v1/orgs/{org_a}/users/{plain_id}");
    assert_eq!(call(&http, &url, &plain, &Method::GET, &own).await.0, 200, "a user reads their own account");
    let after = partition(&running, &org_a).await;
    let changed: Vec<_> = after.iter().filter(|item| !before.contains(item)).collect();
    assert!(changed.is_empty(), "nothing of the user's own organisation changed: {changed:?}");
    running.shutdown().await;
}

e2e::on_both_storages!(every_organisation_route_hides_other_organisations_and_refuses_plain_users,);
