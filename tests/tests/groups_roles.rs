//! Groups and role assignments end to end through HTTP against the in-process runner:
//! E-GROUP (predefined groups), BR-GRP-1 (unique names, deleting unlinks), BR-GRP-2 (the
//! child-organisation access group and Partner Administrator), R-MISC / E-ROLE (effective
//! roles are the union of organisation, group and user assignments within entitlements),
//! role checks and tenant isolation.

use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, expect_problem, start_on};
use reqwest::{Client, Method};
use serde_json::{Value, json};
use shared::identity::groups;
use shared::identity::roles::{Role, Service};
use shared::identity::store;
use shared::ports::{Condition, Update};

const PASSWORD: &str = "Member-Passw0rd!";

/// The signed-in administrator's token and organisation id.
async fn admin(url: &str) -> (String, String) {
    let token = access_token(url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me: Value =
        Client::new().get(format!("{url}/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    (token, me["organisation"]["id"].as_str().unwrap().to_string())
}

async fn send(method: Method, url: &str, token: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = Client::new().request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn ok_json(response: reqwest::Response, status: u16) -> Value {
    let url = response.url().clone();
    let got = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{url}: {body}");
    body
}

async fn create_user(url: &str, org: &str, token: &str, email: &str) -> String {
    let body = json!({"email": email, "password": PASSWORD});
    let user = ok_json(send(Method::POST, &format!("{url}/v1/orgs/{org}/users"), token, Some(body)).await, 201).await;
    user["id"].as_str().unwrap().to_string()
}

async fn create_group(url: &str, org: &str, token: &str, body: Value) -> reqwest::Response {
    send(Method::POST, &format!("{url}/v1/orgs/{org}/groups"), token, Some(body)).await
}

async fn group_id(url: &str, org: &str, token: &str, body: Value) -> String {
    ok_json(create_group(url, org, token, body).await, 201).await["id"].as_str().unwrap().to_string()
}

async fn status(method: Method, url: &str, token: &str, body: Option<Value>) -> u16 {
    send(method, url, token, body).await.status().as_u16()
}

async fn effective_roles(url: &str, email: &str) -> Vec<String> {
    let token = access_token(url, email, PASSWORD).await;
    let me: Value =
        Client::new().get(format!("{url}/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    me["roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect()
}

async fn all_groups(url: &str, org: &str, token: &str) -> Vec<Value> {
    let page =
        ok_json(send(Method::GET, &format!("{url}/v1/orgs/{org}/groups?limit=200"), token, None).await, 200).await;
    page["items"].as_array().unwrap().clone()
}

async fn e_group_a_new_organisation_starts_with_the_predefined_groups(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let (token, org) = admin(&running.url).await;
    let listed = all_groups(&running.url, &org, &token).await;
    let by_name = |name: &str| {
        listed
            .iter()
            .find(|g| g["name"] == name)
            .unwrap_or_else(|| panic!("predefined group {name}: {listed:?}"))
            .clone()
    };
    assert_eq!(listed.len(), 5, "{listed:?}");
    assert_eq!(by_name("Administrator")["roles"], json!(["Organization Administrator"]));
    assert_eq!(
        by_name("Fleet Management Administrators")["roles"],
        json!(["File Service Administrator", "Fleet Management Administrator", "Fleet Management Reporting Analyst"])
    );
    assert_eq!(
        by_name("Fleet Management Viewers")["roles"],
        json!(["File Service Administrator", "Fleet Management Viewer"])
    );
    assert_eq!(by_name("Helpdesk")["roles"], json!(["Help Desk"]));
    assert_eq!(
        by_name("Reporting")["roles"],
        json!(["Fleet Management Reporting Analyst", "Print Release Management Reporting Analyst"]),
        "the seed's 'Reporting Analyst' maps to the catalogue's reporting analysts"
    );
    for group in &listed {
        assert_eq!(group["predefined"], true);
        assert_eq!(group["kind"], "regular");
    }
    running.shutdown().await;
}

async fn br_grp_1_group_names_are_unique_per_organisation_regardless_of_case(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let (org_b, _) = e2e::second_org(&running).await;
    let url = &running.url;
    let (token, org) = admin(url).await;

    let finance =
        ok_json(create_group(url, &org, &token, json!({"name": " Finance ", "description": "Money"})).await, 201).await;
    assert_eq!(finance["name"], "Finance", "names are trimmed");
    assert_eq!(finance["description"], "Money");
    assert_eq!(finance["kind"], "regular");
    assert_eq!(finance["roles"], json!([]));
    let problem =
        expect_problem(create_group(url, &org, &token, json!({"name": "FINANCE"})).await, 409, "group_name_taken")
            .await;
    assert!(problem["detail"].as_str().unwrap().contains("BR-GRP-1"));
    expect_problem(create_group(url, &org, &token, json!({"name": "helpdesk"})).await, 409, "group_name_taken").await;
    expect_problem(create_group(url, &org, &token, json!({"name": "  "})).await, 400, "invalid_field").await;
    expect_problem(create_group(url, &org, &token, json!({"name": "x", "roles": []})).await, 400, "invalid_json").await;

    let sales = group_id(url, &org, &token, json!({"name": "Sales"})).await;
    let sales_url = format!("{url}/v1/orgs/{org}/groups/{sales}");
    let rename = send(Method::PATCH, &sales_url, &token, Some(json!({"name": "finance"}))).await;
    expect_problem(rename, 409, "group_name_taken").await;
    let renamed =
        ok_json(send(Method::PATCH, &sales_url, &token, Some(json!({"name": "Sales & Marketing"}))).await, 200).await;
    assert_eq!(renamed["name"], "Sales & Marketing");
    let recased =
        ok_json(send(Method::PATCH, &sales_url, &token, Some(json!({"name": "SALES & marketing"}))).await, 200).await;
    assert_eq!(recased["name"], "SALES & marketing", "a change of case keeps the name");
    let described =
        ok_json(send(Method::PATCH, &sales_url, &token, Some(json!({"description": "Leads"}))).await, 200).await;
    assert_eq!(
        (described["name"].as_str(), described["description"].as_str()),
        (Some("SALES & marketing"), Some("Leads"))
    );
    let read = ok_json(send(Method::GET, &sales_url, &token, None).await, 200).await;
    assert_eq!(read, described);
    assert_eq!(
        ok_json(create_group(url, &org, &token, json!({"name": "Sales"})).await, 201).await["name"],
        "Sales",
        "the old name is free after a rename"
    );

    let token_b = access_token(url, "admin@other.example", ADMIN_PASSWORD).await;
    let other = create_group(url, &org_b, &token_b, json!({"name": "finance"})).await;
    assert_eq!(ok_json(other, 201).await["name"], "finance", "unique per organisation, not per deployment");
    running.shutdown().await;
}

async fn br_grp_1_deleting_a_group_unlinks_its_members_and_keeps_the_users(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let url = &running.url;
    let (token, org) = admin(url).await;
    let group = group_id(url, &org, &token, json!({"name": "Printers floor 2"})).await;
    let other = group_id(url, &org, &token, json!({"name": "Everyone"})).await;
    let members_url = format!("{url}/v1/orgs/{org}/groups/{group}/members");
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = create_user(url, &org, &token, &format!("member{i}@example.org")).await;
        assert_eq!(status(Method::PUT, &format!("{members_url}/{id}"), &token, None).await, 204);
        assert_eq!(status(Method::PUT, &format!("{members_url}/{id}"), &token, None).await, 204, "idempotent");
        assert_eq!(
            status(Method::PUT, &format!("{url}/v1/orgs/{org}/groups/{other}/members/{id}"), &token, None).await,
            204
        );
        ids.push(id);
    }
    let user_url = |id: &str| format!("{url}/v1/orgs/{org}/users/{id}");
    let user = ok_json(send(Method::GET, &user_url(&ids[0]), &token, None).await, 200).await;
    assert_eq!(user["groups"], json!([group, other]), "membership is on the user record");

    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page_url = match &next {
            Some(token) => format!("{members_url}?limit=2&nextToken={token}"),
            None => format!("{members_url}?limit=2"),
        };
        let page = ok_json(send(Method::GET, &page_url, &token, None).await, 200).await;
        seen.extend(page["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_string()));
        match page["nextToken"].as_str() {
            Some(token) => next = Some(token.to_string()),
            None => break,
        }
    }
    seen.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected);

    assert_eq!(status(Method::DELETE, &format!("{members_url}/{}", ids[2]), &token, None).await, 204);
    assert_eq!(status(Method::DELETE, &format!("{members_url}/{}", ids[2]), &token, None).await, 204, "idempotent");
    let page = ok_json(send(Method::GET, &members_url, &token, None).await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let unknown = send(Method::PUT, &format!("{members_url}/no-such-user"), &token, None).await;
    expect_problem(unknown, 404, "not_found").await;

    let group_url = format!("{url}/v1/orgs/{org}/groups/{group}");
    assert_eq!(status(Method::DELETE, &group_url, &token, None).await, 204);
    expect_problem(send(Method::GET, &group_url, &token, None).await, 404, "not_found").await;
    expect_problem(send(Method::GET, &members_url, &token, None).await, 404, "not_found").await;
    expect_problem(send(Method::DELETE, &group_url, &token, None).await, 404, "not_found").await;
    for id in &ids {
        let user = ok_json(send(Method::GET, &user_url(id), &token, None).await, 200).await;
        assert_eq!(user["groups"], json!([other]), "unlinked from the deleted group only, user kept");
    }
    let others =
        ok_json(send(Method::GET, &format!("{url}/v1/orgs/{org}/groups/{other}/members"), &token, None).await, 200)
            .await;
    assert_eq!(others["items"].as_array().unwrap().len(), 3);
    let again = create_group(url, &org, &token, json!({"name": "printers FLOOR 2"})).await;
    assert_eq!(again.status().as_u16(), 201, "the name is free again");
    running.shutdown().await;
}

async fn br_grp_2_the_access_group_needs_sub_org_creation_and_exists_once(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let (org_b, _) = e2e::second_org(&running).await;
    let url = &running.url;
    let (token, org) = admin(url).await;
    let access = json!({"name": "Sub-organisation access group", "kind": "childOrgAccess"});
    let created = ok_json(create_group(url, &org, &token, access.clone()).await, 201).await;
    assert_eq!(created["kind"], "childOrgAccess");
    let second = create_group(url, &org, &token, json!({"name": "Second access", "kind": "childOrgAccess"})).await;
    expect_problem(second, 409, "access_group_exists").await;
    let group_url = format!("{url}/v1/orgs/{org}/groups/{}", created["id"].as_str().unwrap());
    assert_eq!(status(Method::DELETE, &group_url, &token, None).await, 204);
    let again = create_group(url, &org, &token, json!({"name": "Second access", "kind": "childOrgAccess"})).await;
    assert_eq!(again.status().as_u16(), 201, "one again after deleting the first");

    let token_b = access_token(url, "admin@other.example", ADMIN_PASSWORD).await;
    let disabled = create_group(url, &org_b, &token_b, access).await;
    let problem = expect_problem(disabled, 409, "sub_org_creation_disabled").await;
    assert!(problem["detail"].as_str().unwrap().contains("BR-GRP-2"));
    let listed = all_groups(url, &org_b, &token_b).await;
    assert!(listed.iter().all(|g| g["kind"] == "regular"), "nothing was created: {listed:?}");
    running.shutdown().await;
}

async fn br_grp_2_partner_administrator_only_for_access_group_members_or_the_group(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let url = &running.url;
    let (token, org) = admin(url).await;
    let partner = json!({"roles": ["Partner Administrator"]});
    let roles_url = format!("{url}/v1/orgs/{org}/roles");
    let user = create_user(url, &org, &token, "partner@example.org").await;
    let regular = group_id(url, &org, &token, json!({"name": "Partners"})).await;
    let access = group_id(url, &org, &token, json!({"name": "Access", "kind": "childOrgAccess"})).await;

    for target in ["org".to_string(), format!("groups/{regular}"), format!("users/{user}")] {
        let refused = send(Method::PUT, &format!("{roles_url}/{target}"), &token, Some(partner.clone())).await;
        let problem = expect_problem(refused, 400, "partner_admin_needs_access_group").await;
        assert!(problem["detail"].as_str().unwrap().contains("BR-GRP-2"));
        let kept = ok_json(send(Method::GET, &format!("{roles_url}/{target}"), &token, None).await, 200).await;
        assert_eq!(kept["roles"], json!([]), "{target} unchanged");
    }

    let on_group = send(Method::PUT, &format!("{roles_url}/groups/{access}"), &token, Some(partner.clone())).await;
    assert_eq!(ok_json(on_group, 200).await["roles"], json!(["Partner Administrator"]));
    let member_url = format!("{url}/v1/orgs/{org}/groups/{access}/members/{user}");
    assert_eq!(status(Method::PUT, &member_url, &token, None).await, 204);
    let both = json!({"roles": ["Partner Administrator", "Help Desk"]});
    let on_user = send(Method::PUT, &format!("{roles_url}/users/{user}"), &token, Some(both)).await;
    assert_eq!(ok_json(on_user, 200).await["roles"], json!(["Help Desk", "Partner Administrator"]));
    let roles = effective_roles(url, "partner@example.org").await;
    assert_eq!(roles, vec!["Help Desk", "Partner Administrator", "User"]);

    assert_eq!(status(Method::DELETE, &member_url, &token, None).await, 204);
    let left = ok_json(send(Method::GET, &format!("{roles_url}/users/{user}"), &token, None).await, 200).await;
    assert_eq!(left["roles"], json!(["Help Desk"]), "leaving the access group drops Partner Administrator");
    assert_eq!(effective_roles(url, "partner@example.org").await, vec!["Help Desk", "User"]);
    running.shutdown().await;
}

async fn r_misc_effective_roles_are_the_union_of_org_group_and_user_roles_within_entitlements(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let url = &running.url;
    let (token, org) = admin(url).await;
    let email = "union@example.org";
    let user = create_user(url, &org, &token, email).await;
    assert_eq!(effective_roles(url, email).await, vec!["User"], "the default role");
    let roles_url = format!("{url}/v1/orgs/{org}/roles");
    let group = group_id(url, &org, &token, json!({"name": "Viewers"})).await;
    let member_url = format!("{url}/v1/orgs/{org}/groups/{group}/members/{user}");
    assert_eq!(status(Method::PUT, &member_url, &token, None).await, 204);

    let assign = |target: String, roles: Value| {
        let token = token.clone();
        let url = format!("{roles_url}/{target}");
        async move { ok_json(send(Method::PUT, &url, &token, Some(json!({"roles": roles}))).await, 200).await }
    };
    assert_eq!(
        assign("org".into(), json!(["Print Release Management User"])).await["roles"],
        json!(["Print Release Management User"])
    );
    assign(format!("groups/{group}"), json!(["Fleet Management Viewer"])).await;
    assign(format!("users/{user}"), json!(["Scan Management User", "Scan Management User"])).await;
    let user_level = ok_json(send(Method::GET, &format!("{roles_url}/users/{user}"), &token, None).await, 200).await;
    assert_eq!(user_level["roles"], json!(["Scan Management User"]), "duplicates are dropped");
    let org_level = ok_json(send(Method::GET, &format!("{roles_url}/org"), &token, None).await, 200).await;
    assert_eq!(org_level["roles"], json!(["Print Release Management User"]));
    let group_level = ok_json(send(Method::GET, &format!("{roles_url}/groups/{group}"), &token, None).await, 200).await;
    assert_eq!(group_level["roles"], json!(["Fleet Management Viewer"]));

    assert_eq!(
        effective_roles(url, email).await,
        vec!["User", "Fleet Management Viewer", "Print Release Management User", "Scan Management User"],
        "org + group + user, shown in the next token"
    );
    let admin_roles = effective_roles_of_token(url, &access_token(url, ADMIN_EMAIL, ADMIN_PASSWORD).await).await;
    assert!(admin_roles.contains(&"Print Release Management User".to_string()), "org roles reach every user");
    assert!(!admin_roles.contains(&"Scan Management User".to_string()), "user roles are not inherited");
    assert!(!admin_roles.contains(&"Fleet Management Viewer".to_string()), "group roles reach members only");

    // E-ROLE: roles count only where the organisation is entitled to their service.
    let entitled: Vec<Service> = Service::ALL.into_iter().filter(|s| *s != Service::ScanManagement).collect();
    let change = Update::new(store::org_key(&org)).set("entitlements", json!(entitled)).when(Condition::Exists);
    running.ctx.table.update(change).await.unwrap();
    assert_eq!(
        effective_roles(url, email).await,
        vec!["User", "Fleet Management Viewer", "Print Release Management User"]
    );
    let stored = ok_json(send(Method::GET, &format!("{roles_url}/users/{user}"), &token, None).await, 200).await;
    assert_eq!(stored["roles"], json!(["Scan Management User"]), "the assignment stays, it just does not count");

    assert_eq!(status(Method::DELETE, &member_url, &token, None).await, 204);
    assign("org".into(), json!([])).await;
    assert_eq!(effective_roles(url, email).await, vec!["User"], "removals show in the next token too");
    running.shutdown().await;
}

async fn effective_roles_of_token(url: &str, token: &str) -> Vec<String> {
    let me: Value =
        Client::new().get(format!("{url}/v1/me")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    me["roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect()
}

async fn e_role_unknown_role_names_are_refused_by_name_and_change_nothing(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let url = &running.url;
    let (token, org) = admin(url).await;
    let user = create_user(url, &org, &token, "named@example.org").await;
    let group = group_id(url, &org, &token, json!({"name": "Named"})).await;
    let roles_url = format!("{url}/v1/orgs/{org}/roles");
    for target in ["org".to_string(), format!("groups/{group}"), format!("users/{user}")] {
        let target_url = format!("{roles_url}/{target}");
        let before = json!({"roles": ["Help Desk"]});
        ok_json(send(Method::PUT, &target_url, &token, Some(before)).await, 200).await;
        let body = json!({"roles": ["Reporting Analyst", "Help Desk", "print release management user"]});
        let problem =
            expect_problem(send(Method::PUT, &target_url, &token, Some(body)).await, 400, "unknown_role").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("\"Reporting Analyst\"") && detail.contains("\"print release management user\""),
            "{detail}"
        );
        let not_a_list = send(Method::PUT, &target_url, &token, Some(json!({"roles": "Help Desk"}))).await;
        expect_problem(not_a_list, 400, "invalid_json").await;
        let kept = ok_json(send(Method::GET, &target_url, &token, None).await, 200).await;
        assert_eq!(kept["roles"], json!(["Help Desk"]), "{target} unchanged");
    }
    let missing =
        send(Method::PUT, &format!("{roles_url}/users/no-such-user"), &token, Some(json!({"roles": []}))).await;
    expect_problem(missing, 404, "not_found").await;
    let missing = send(Method::GET, &format!("{roles_url}/groups/no-such-group"), &token, None).await;
    expect_problem(missing, 404, "not_found").await;
    running.shutdown().await;
}

/// Every route of this module with a body where it takes one.
fn routes(url: &str, org: &str, group: &str, user: &str) -> Vec<(Method, String, Option<Value>)> {
    let base = format!("{url}/v1/orgs/{org}");
    vec![
        (Method::GET, format!("{base}/groups"), None),
        (Method::POST, format!("{base}/groups"), Some(json!({"name": "Intruders"}))),
        (Method::GET, format!("{base}/groups/{group}"), None),
        (Method::PATCH, format!("{base}/groups/{group}"), Some(json!({"name": "pwned"}))),
        (Method::GET, format!("{base}/groups/{group}/members"), None),
        (Method::PUT, format!("{base}/groups/{group}/members/{user}"), None),
        (Method::DELETE, format!("{base}/groups/{group}/members/{user}"), None),
        (Method::GET, format!("{base}/roles/org"), None),
        (Method::PUT, format!("{base}/roles/org"), Some(json!({"roles": ["Organization Administrator"]}))),
        (Method::GET, format!("{base}/roles/groups/{group}"), None),
        (Method::PUT, format!("{base}/roles/groups/{group}"), Some(json!({"roles": ["Organization Administrator"]}))),
        (Method::GET, format!("{base}/roles/users/{user}"), None),
        (Method::PUT, format!("{base}/roles/users/{user}"), Some(json!({"roles": ["Organization Administrator"]}))),
        (Method::DELETE, format!("{base}/groups/{group}"), None),
    ]
}

async fn a_user_role_token_is_forbidden_on_every_group_and_role_route(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let url = &running.url;
    let (token, org) = admin(url).await;
    let user = create_user(url, &org, &token, "plain@example.org").await;
    let group = group_id(url, &org, &token, json!({"name": "Plain"})).await;
    let plain = access_token(url, "plain@example.org", PASSWORD).await;
    for (method, route, body) in routes(url, &org, &group, &user) {
        let response = send(method.clone(), &route, &plain, body).await;
        expect_problem(response, 403, "forbidden").await;
    }
    assert_eq!(all_groups(url, &org, &token).await.len(), 6, "nothing was created");
    let roles =
        ok_json(send(Method::GET, &format!("{url}/v1/orgs/{org}/roles/users/{user}"), &token, None).await, 200).await;
    assert_eq!(roles["roles"], json!([]));
    assert_eq!(effective_roles(url, "plain@example.org").await, vec!["User"]);
    running.shutdown().await;
}

async fn user_administrators_manage_plain_groups_but_not_groups_that_grant_roles(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let url = &running.url;
    let (token, org) = admin(url).await;
    let user = create_user(url, &org, &token, "useradmin@example.org").await;
    let set = json!({"roles": ["User Administrator"]});
    ok_json(send(Method::PUT, &format!("{url}/v1/orgs/{org}/roles/users/{user}"), &token, Some(set)).await, 200).await;
    let user_admin = access_token(url, "useradmin@example.org", PASSWORD).await;

    let plain = group_id(url, &org, &user_admin, json!({"name": "Project X"})).await;
    let plain_member = format!("{url}/v1/orgs/{org}/groups/{plain}/members/{user}");
    assert_eq!(status(Method::PUT, &plain_member, &user_admin, None).await, 204, "plain group: ManageUsers");

    // Joining the predefined Administrator group would make them Organization Administrator.
    let escalate = format!("{url}/v1/orgs/{org}/groups/administrator/members/{user}");
    expect_problem(send(Method::PUT, &escalate, &user_admin, None).await, 403, "forbidden").await;
    let access = create_group(url, &org, &user_admin, json!({"name": "Access", "kind": "childOrgAccess"})).await;
    expect_problem(access, 403, "forbidden").await;
    let plain_roles = format!("{url}/v1/orgs/{org}/roles/groups/{plain}");
    let grant = send(Method::PUT, &plain_roles, &user_admin, Some(json!({"roles": ["Help Desk"]}))).await;
    expect_problem(grant, 403, "forbidden").await;
    let read = send(Method::GET, &plain_roles, &user_admin, None).await;
    assert_eq!(ok_json(read, 200).await["roles"], json!([]), "reading needs ViewUsers only");
    expect_problem(
        send(Method::DELETE, &format!("{url}/v1/orgs/{org}/groups/administrator"), &user_admin, None).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(effective_roles(url, "useradmin@example.org").await, vec!["User", "User Administrator"]);
    running.shutdown().await;
}

async fn another_organisations_groups_and_roles_answer_404_and_stay_unchanged(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let (org_b, user_b) = e2e::second_org(&running).await;
    let url = &running.url;
    let (admin_a, _) = admin(url).await;
    for (method, route, body) in routes(url, &org_b, "helpdesk", &user_b) {
        let response = send(method.clone(), &route, &admin_a, body).await;
        expect_problem(response, 404, "not_found").await;
    }
    let ctx = &running.ctx;
    let group = groups::find(ctx, &org_b, "helpdesk").await.unwrap().expect("B's group is untouched");
    assert_eq!((group.name.as_str(), group.roles.as_slice()), ("Helpdesk", &[Role::HelpDesk][..]));
    let admin_b = store::get_user(ctx, &org_b, &user_b).await.unwrap().unwrap().user;
    assert_eq!(admin_b.roles, vec![Role::OrganizationAdministrator]);
    assert!(admin_b.groups.is_empty());
    let org = store::get_org(ctx, &org_b).await.unwrap().unwrap();
    assert!(org.roles.is_empty());
    let token_b = access_token(url, "admin@other.example", ADMIN_PASSWORD).await;
    assert_eq!(all_groups(url, &org_b, &token_b).await.len(), 5, "no group was created in B");
    running.shutdown().await;
}

e2e::on_both_storages!(
    e_group_a_new_organisation_starts_with_the_predefined_groups,
    br_grp_1_group_names_are_unique_per_organisation_regardless_of_case,
    br_grp_1_deleting_a_group_unlinks_its_members_and_keeps_the_users,
    br_grp_2_the_access_group_needs_sub_org_creation_and_exists_once,
    br_grp_2_partner_administrator_only_for_access_group_members_or_the_group,
    r_misc_effective_roles_are_the_union_of_org_group_and_user_roles_within_entitlements,
    e_role_unknown_role_names_are_refused_by_name_and_change_nothing,
    a_user_role_token_is_forbidden_on_every_group_and_role_route,
    user_administrators_manage_plain_groups_but_not_groups_that_grant_roles,
    another_organisations_groups_and_roles_answer_404_and_stay_unchanged,
);
