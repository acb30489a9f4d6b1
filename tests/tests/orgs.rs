//! Child organisations end to end (D-SUBORG, BR-ORG-1…5, WF-SUBORG-GROUP).

use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, expect_problem, start_on};
use reqwest::Client;
use serde_json::{Value, json};

struct Partner {
    url: String,
    org: String,
    token: String,
    http: Client,
}

impl Partner {
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.url)).bearer_auth(&self.token).json(&body).send().await.unwrap()
    }
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.url)).bearer_auth(&self.token).send().await.unwrap()
    }
    async fn delete(&self, path: &str, body: Value) -> reqwest::Response {
        self.http.delete(format!("{}{path}", self.url)).bearer_auth(&self.token).json(&body).send().await.unwrap()
    }
}

/// The first administrator, made a member of the child-organisation access group whose
/// roles are `access_roles`, signed in again so the token is current.
async fn partner(running: &printcloud::serve::Running, access_roles: Value) -> Partner {
    let http = Client::new();
    let url = running.url.clone();
    let token = access_token(&url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me: Value = http.get(format!("{url}/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let org = me["organisation"]["id"].as_str().unwrap().to_string();
    let user = me["user"]["id"].as_str().unwrap().to_string();
    let group: Value = http
        .post(format!("{url}/v1/orgs/{org}/groups"))
        .bearer_auth(&token)
        .json(&json!({"name": "Sub-organisation access group", "kind": "childOrgAccess"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let group_id = group["id"].as_str().expect("the access group").to_string();
    let added = http.put(format!("{url}/v1/orgs/{org}/groups/{group_id}/members/{user}")).bearer_auth(&token).send();
    assert_eq!(added.await.unwrap().status().as_u16(), 204);
    let roles = http
        .put(format!("{url}/v1/orgs/{org}/roles/groups/{group_id}"))
        .bearer_auth(&token)
        .json(&json!({"roles": access_roles}))
        .send();
    assert_eq!(roles.await.unwrap().status().as_u16(), 200);
    let token = access_token(&url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    Partner { url, org, token, http }
}

async fn d_suborg_only_access_group_administrators_create_child_organisations(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let http = Client::new();
    let outsider = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let refused =
        http.post(format!("{}/v1/orgs", running.url)).bearer_auth(&outsider).json(&json!({"name": "Acme"})).send();
    expect_problem(refused.await.unwrap(), 403, "forbidden").await;

    let partner = partner(&running, json!(["Partner Administrator", "Organization Administrator"])).await;
    let created =
        partner.post("/v1/orgs", json!({"name": "  Acme   Retail ", "entitlements": ["Print Management"]})).await;
    assert_eq!(created.status().as_u16(), 201);
    let child: Value = created.json().await.unwrap();
    assert_eq!(child["name"], "Acme Retail");
    assert_eq!(child["parentId"], partner.org.as_str());
    assert_eq!(child["entitlements"], json!(["Print Management"]));
    let listed: Value = partner.get(&format!("/v1/orgs/{}/children", partner.org)).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let groups: Value =
        partner.get(&format!("/v1/orgs/{}/groups", child["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(groups["items"].as_array().unwrap().len(), 5, "a new organisation starts with the predefined groups");
    running.shutdown().await;
}

async fn br_org_1_names_are_unique_and_without_special_characters(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let partner = partner(&running, json!(["Partner Administrator"])).await;
    for bad in ["Acme!", "a/b", "", "   ", "Acme <script>"] {
        expect_problem(partner.post("/v1/orgs", json!({"name": bad})).await, 400, "invalid_org_name").await;
    }
    assert_eq!(partner.post("/v1/orgs", json!({"name": "Acme"})).await.status().as_u16(), 201);
    expect_problem(partner.post("/v1/orgs", json!({"name": "ACME"})).await, 409, "org_name_taken").await;
    expect_problem(partner.post("/v1/orgs", json!({"name": "printcloud"})).await, 409, "org_name_taken").await;
    let too_many =
        partner.post("/v1/orgs", json!({"name": "Wider", "entitlements": ["Print Management", "Fleet Management"]}));
    assert_eq!(too_many.await.status().as_u16(), 201, "the first organisation has every service");
    running.shutdown().await;
}

async fn wf_suborg_group_partners_reach_child_organisations_through_the_access_group(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let partner = partner(&running, json!(["Partner Administrator", "User Administrator"])).await;
    let child: Value = partner.post("/v1/orgs", json!({"name": "Acme"})).await.json().await.unwrap();
    let child_id = child["id"].as_str().unwrap();
    let created = partner.post(&format!("/v1/orgs/{child_id}/users"), json!({"email": "boss@acme.example"})).await;
    assert_eq!(created.status().as_u16(), 201, "User Administrator through the access group");
    let users: Value = partner.get(&format!("/v1/orgs/{child_id}/users")).await.json().await.unwrap();
    assert_eq!(users["items"][0]["email"], "boss@acme.example");
    assert_eq!(partner.get(&format!("/v1/orgs/{child_id}")).await.status().as_u16(), 200);

    let member = partner
        .post(
            &format!("/v1/orgs/{}/users", partner.org),
            json!({"email": "plain@example.org", "password": "Plain-User-1!"}),
        )
        .await;
    assert_eq!(member.status().as_u16(), 201);
    let plain = access_token(&partner.url, "plain@example.org", "Plain-User-1!").await;
    let hidden = partner.http.get(format!("{}/v1/orgs/{child_id}/users", partner.url)).bearer_auth(&plain).send();
    expect_problem(hidden.await.unwrap(), 404, "not_found").await;
    let hidden = partner.http.get(format!("{}/v1/orgs/{child_id}", partner.url)).bearer_auth(&plain).send();
    expect_problem(hidden.await.unwrap(), 404, "not_found").await;
    running.shutdown().await;
}

async fn br_org_4_and_5_deleting_needs_the_typed_name_and_removes_everything(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let partner = partner(&running, json!(["Partner Administrator", "Organization Administrator"])).await;
    let child: Value = partner.post("/v1/orgs", json!({"name": "Acme"})).await.json().await.unwrap();
    let child_id = child["id"].as_str().unwrap().to_string();
    for i in 0..30 {
        let created =
            partner.post(&format!("/v1/orgs/{child_id}/users"), json!({"email": format!("u{i}@acme.example")})).await;
        assert_eq!(created.status().as_u16(), 201);
    }
    let app =
        partner.post(&format!("/v1/orgs/{child_id}/applications"), json!({"template": "Device authentication"})).await;
    assert_eq!(app.status().as_u16(), 201);

    let wrong = partner.delete(&format!("/v1/orgs/{child_id}"), json!({"confirmName": "acme"})).await;
    expect_problem(wrong, 400, "confirmation_mismatch").await;
    let own = partner.delete(&format!("/v1/orgs/{}", partner.org), json!({"confirmName": "printcloud"})).await;
    expect_problem(own, 404, "not_found").await;
    let deleted = partner.delete(&format!("/v1/orgs/{child_id}"), json!({"confirmName": "Acme"})).await;
    assert_eq!(deleted.status().as_u16(), 204);

    expect_problem(partner.get(&format!("/v1/orgs/{child_id}")).await, 404, "not_found").await;
    let leftovers = running.ctx.table.query(&shared::ports::Query::partition(format!("ORG#{child_id}"))).await.unwrap();
    assert!(leftovers.items.is_empty(), "users, groups, applications are gone: {:?}", leftovers.items);
    let email = shared::identity::store::find_user_by_email(&running.ctx, "u7@acme.example").await.unwrap();
    assert!(email.is_none(), "the addresses are free again");
    assert_eq!(partner.post("/v1/orgs", json!({"name": "Acme"})).await.status().as_u16(), 201, "so is the name");
    running.shutdown().await;
}

async fn br_org_2_and_3_mps_managed_or_deleting_organisations_are_not_deleted(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let partner = partner(&running, json!(["Partner Administrator"])).await;
    let managed: Value = partner.post("/v1/orgs", json!({"name": "Managed"})).await.json().await.unwrap();
    let managed_id = managed["id"].as_str().unwrap();
    let key = shared::identity::store::org_key(managed_id);
    running.ctx.table.update(shared::ports::Update::new(key.clone()).set("mpsExpress", true)).await.unwrap();
    let refused = partner.delete(&format!("/v1/orgs/{managed_id}"), json!({"confirmName": "Managed"})).await;
    expect_problem(refused, 409, "org_mps_managed").await;

    running
        .ctx
        .table
        .update(shared::ports::Update::new(key).set("mpsExpress", false).set("deleting", true))
        .await
        .unwrap();
    let refused = partner.delete(&format!("/v1/orgs/{managed_id}"), json!({"confirmName": "Managed"})).await;
    expect_problem(refused, 409, "org_deleting").await;

    let other: Value = partner.post("/v1/orgs", json!({"name": "Other"})).await.json().await.unwrap();
    let slot = serde_json::json!({"pk": format!("ORG#{}", partner.org), "sk": "DELETING", "orgId": "someone"});
    let serde_json::Value::Object(slot) = slot else { unreachable!() };
    running.ctx.table.put(slot, shared::ports::Condition::Always).await.unwrap();
    let busy =
        partner.delete(&format!("/v1/orgs/{}", other["id"].as_str().unwrap()), json!({"confirmName": "Other"})).await;
    expect_problem(busy, 409, "deletion_in_progress").await;
    running.shutdown().await;
}

e2e::on_both_storages!(
    d_suborg_only_access_group_administrators_create_child_organisations,
    br_org_1_names_are_unique_and_without_special_characters,
    wf_suborg_group_partners_reach_child_organisations_through_the_access_group,
    br_org_4_and_5_deleting_needs_the_typed_name_and_removes_everything,
    br_org_2_and_3_mps_managed_or_deleting_organisations_are_not_deleted,
);
