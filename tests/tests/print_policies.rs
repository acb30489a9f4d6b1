//! Print policies end to end through HTTP against the in-process runner (part-3 §2.29–2.30):
//! BR-PP-01 (writes need print policies on), BR-PP-02…06 (rules and windows, invalid ones
//! named), BR-PP-09 (unique names, duplicate), BR-PP-10 (assignment kinds follow the
//! assignment mode), BR-PP-11 (personal overrides cost centre, read through
//! `effective_policy` on the runner's context), BR-PP-12 (assignments listed by policy and
//! removed), the default policy, roles and tenant isolation.

use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, expect_problem, second_org, start_on};
use reqwest::{Client, Method};
use serde_json::{Value, json};
use shared::identity::store;
use shared::print::policies::effective_policy;

const PASSWORD: &str = "Member-Passw0rd!";

/// The token and organisation of `email`, an Organization Administrator, after making them a
/// Print Release Management Administrator too (print policies need `ManagePrintRelease`).
async fn print_admin(url: &str, email: &str) -> (String, String) {
    let token = access_token(url, email, ADMIN_PASSWORD).await;
    let me: Value =
        Client::new().get(format!("{url}/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let (org, id) = (me["organisation"]["id"].as_str().unwrap(), me["user"]["id"].as_str().unwrap());
    let roles = json!({"roles": ["Organization Administrator", "Print Release Management Administrator"]});
    let path = format!("{url}/v1/orgs/{org}/roles/users/{id}");
    ok_json(send(Method::PUT, &path, &token, Some(roles)).await, 200).await;
    (access_token(url, email, ADMIN_PASSWORD).await, org.to_string())
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

/// The organisation's print-policy API.
struct Api {
    url: String,
    org: String,
    token: String,
}

impl Api {
    fn at(&self, path: &str) -> String {
        format!("{}/v1/orgs/{}{path}", self.url, self.org)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        send(method, &self.at(path), &self.token, body).await
    }

    async fn settings(&self, body: Value) {
        ok_json(self.call(Method::PUT, "/settings/print", Some(body)).await, 200).await;
    }

    async fn create(&self, body: Value) -> Value {
        ok_json(self.call(Method::POST, "/print-policies", Some(body)).await, 201).await
    }

    async fn names(&self) -> Vec<String> {
        let page = ok_json(self.call(Method::GET, "/print-policies", None).await, 200).await;
        page["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
    }

    async fn duplicate(&self, policy_id: &str, name: &str) -> reqwest::Response {
        let path = format!("/print-policies/{policy_id}/duplicate");
        self.call(Method::POST, &path, Some(json!({"name": name}))).await
    }

    async fn assign(&self, kind: &str, key: &str, policy_id: &str) -> reqwest::Response {
        let path = format!("/print-policy-assignments/{kind}/{key}");
        self.call(Method::PUT, &path, Some(json!({"policyId": policy_id}))).await
    }

    async fn assignments(&self, query: &str) -> Vec<Value> {
        let page = ok_json(self.call(Method::GET, &format!("/print-policy-assignments{query}"), None).await, 200).await;
        page["items"].as_array().unwrap().clone()
    }

    async fn create_user(&self, email: &str, cost_center: &str) -> String {
        let body = json!({"email": email, "password": PASSWORD, "costCenter": cost_center});
        let user = ok_json(self.call(Method::POST, "/users", Some(body)).await, 201).await;
        user["id"].as_str().unwrap().to_string()
    }
}

async fn api(running: &printcloud::serve::Running) -> Api {
    let (token, org) = print_admin(&running.url, ADMIN_EMAIL).await;
    Api { url: running.url.clone(), org, token }
}

const ENABLE: &str = r#"{"printPolicies": true, "policyAssignment": "costCenterOrPersonal"}"#;

fn enable() -> Value {
    serde_json::from_str(ENABLE).unwrap()
}

async fn br_pp_01_writes_need_print_policies_on_and_reads_still_work(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let api = api(&running).await;
    let listed = ok_json(api.call(Method::GET, "/print-policies", None).await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let default = &listed["items"][0];
    assert_eq!((default["id"].as_str(), default["name"].as_str()), (Some("default"), Some("Default")));
    assert_eq!((default["forceMono"].is_null(), default["printWindow"].is_null()), (true, true));
    assert_eq!(default["version"], 0);

    let refused = api.call(Method::POST, "/print-policies", Some(json!({"name": "Eco"}))).await;
    expect_problem(refused, 409, "print_policies_disabled").await;
    let refused = api.call(Method::PUT, "/print-policies/default", Some(json!({"forceMono": {}}))).await;
    expect_problem(refused, 409, "print_policies_disabled").await;
    expect_problem(api.assign("personal", "anyone", "default").await, 409, "print_policies_disabled").await;
    ok_json(api.call(Method::GET, "/print-policies/default", None).await, 200).await;
    assert!(api.assignments("").await.is_empty());

    api.settings(enable()).await;
    let eco = api.create(json!({"name": "Eco", "forceMono": {"minPages": 3}})).await;
    assert_eq!(eco["forceMono"], json!({"minPages": 3}));
    api.settings(json!({"printPolicies": false})).await;
    let refused = api.call(Method::DELETE, &format!("/print-policies/{}", eco["id"].as_str().unwrap()), None).await;
    expect_problem(refused, 409, "print_policies_disabled").await;
    assert_eq!(api.names().await, vec!["Default", "Eco"], "reads work while policies are off");
    running.shutdown().await;
}

async fn br_pp_09_policies_are_created_changed_duplicated_and_deleted_with_unique_names(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let api = api(&running).await;
    api.settings(enable()).await;
    let rules = json!({
        "name": " Night shift ",
        "forceMono": {},
        "forceDuplex": {"binding": "shortEdge", "scope": {"kind": "allJobs", "monoMinPages": 2, "colourMinPages": 4}},
        "printWindow": {"kind": "weekdays", "start": "22:00", "end": "30:00"}
    });
    let night = api.create(rules).await;
    let id = night["id"].as_str().unwrap().to_string();
    assert_eq!((night["name"].as_str(), night["version"].as_i64()), (Some("Night shift"), Some(1)));
    assert_eq!(night["forceDuplex"]["scope"], json!({"kind": "allJobs", "monoMinPages": 2, "colourMinPages": 4}));
    assert_eq!(night["printWindow"], json!({"kind": "weekdays", "start": "22:00", "end": "30:00"}));
    assert_eq!(ok_json(api.call(Method::GET, &format!("/print-policies/{id}"), None).await, 200).await, night);

    let taken = api.call(Method::POST, "/print-policies", Some(json!({"name": "NIGHT SHIFT"}))).await;
    expect_problem(taken, 409, "name_taken").await;
    let taken = api.call(Method::POST, "/print-policies", Some(json!({"name": "default"}))).await;
    expect_problem(taken, 409, "name_taken").await;

    expect_problem(api.duplicate(&id, "night shift").await, 409, "name_taken").await;
    let copy = ok_json(api.duplicate(&id, "Nights 2").await, 201).await;
    assert_ne!(copy["id"], night["id"]);
    for rule in ["forceMono", "forceDuplex", "printWindow"] {
        assert_eq!(copy[rule], night[rule], "{rule} is copied");
    }

    let change = json!({"name": "Evening", "forceMono": {"minPages": 10}, "version": 1});
    let changed = ok_json(api.call(Method::PUT, &format!("/print-policies/{id}"), Some(change)).await, 200).await;
    assert_eq!((changed["name"].as_str(), changed["version"].as_i64()), (Some("Evening"), Some(2)));
    assert!(changed["forceDuplex"].is_null() && changed["printWindow"].is_null(), "rules left out are cleared");
    let stale = api.call(Method::PUT, &format!("/print-policies/{id}"), Some(json!({"version": 1}))).await;
    expect_problem(stale, 409, "conflict").await;
    let taken = api.call(Method::PUT, &format!("/print-policies/{id}"), Some(json!({"name": "nights 2"}))).await;
    expect_problem(taken, 409, "name_taken").await;
    api.create(json!({"name": "night shift"})).await;

    let default = json!({"forceMono": {}, "version": 0});
    let default = ok_json(api.call(Method::PUT, "/print-policies/default", Some(default)).await, 200).await;
    assert_eq!((default["name"].as_str(), default["version"].as_i64()), (Some("Default"), Some(1)));
    let rename = api.call(Method::PUT, "/print-policies/default", Some(json!({"name": "Base"}))).await;
    assert!(expect_problem(rename, 400, "invalid_field").await["detail"].as_str().unwrap().starts_with("name:"));
    expect_problem(api.call(Method::DELETE, "/print-policies/default", None).await, 409, "default_policy").await;
    assert_eq!(api.names().await, vec!["Default", "Evening", "night shift", "Nights 2"]);

    assert_eq!(api.call(Method::DELETE, &format!("/print-policies/{id}"), None).await.status().as_u16(), 204);
    expect_problem(api.call(Method::GET, &format!("/print-policies/{id}"), None).await, 404, "not_found").await;
    expect_problem(api.call(Method::DELETE, &format!("/print-policies/{id}"), None).await, 404, "not_found").await;
    api.create(json!({"name": "Evening"})).await;
    running.shutdown().await;
}

async fn br_pp_04_invalid_rules_answer_400_naming_the_field(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let api = api(&running).await;
    api.settings(enable()).await;
    for (rules, field) in [
        (json!({"printWindow": {"kind": "everyDay", "start": "25:00", "end": "26:00"}}), "printWindow.start"),
        (json!({"printWindow": {"kind": "everyDay", "start": "08:00", "end": "48:00"}}), "printWindow.end"),
        (json!({"printWindow": {"kind": "weekdays", "start": "18:00", "end": "08:00"}}), "printWindow.end"),
        (json!({"printWindow": {"kind": "custom", "days": []}}), "printWindow.days"),
        (
            json!({"printWindow": {"kind": "custom", "days": [{"day": "friday", "start": "8:00", "end": "12:00"}]}}),
            "printWindow.days[0].start",
        ),
        (json!({"forceMono": {"minPages": 0}}), "forceMono.minPages"),
        (
            json!({"forceDuplex": {"binding": "longEdge", "scope": {"kind": "colourJobs", "minPages": 0}}}),
            "forceDuplex.scope.minPages",
        ),
        (json!({"name": "  "}), "name"),
    ] {
        let mut body = json!({"name": "Rules"});
        body.as_object_mut().unwrap().extend(rules.as_object().unwrap().clone());
        let problem = expect_problem(api.call(Method::POST, "/print-policies", Some(body)).await, 400, "invalid_field");
        let detail = problem.await["detail"].as_str().unwrap().to_string();
        assert_eq!(detail.split(':').next(), Some(field), "{detail}");
    }
    let missing = api.call(Method::POST, "/print-policies", Some(json!({"forceMono": {}}))).await;
    expect_problem(missing, 400, "invalid_field").await;
    let unknown = api.call(Method::POST, "/print-policies", Some(json!({"name": "X", "forceColour": {}}))).await;
    expect_problem(unknown, 400, "invalid_json").await;
    let bad_window = json!({"printWindow": {"kind": "everyDay", "start": "08:00", "end": "07:00"}});
    let problem = api.call(Method::PUT, "/print-policies/default", Some(bad_window)).await;
    expect_problem(problem, 400, "invalid_field").await;
    assert_eq!(api.names().await, vec!["Default"], "nothing was stored");
    running.shutdown().await;
}

async fn br_pp_10_assignment_kinds_follow_the_assignment_mode(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let api = api(&running).await;
    api.settings(enable()).await;
    let eco = api.create(json!({"name": "Eco", "forceMono": {}})).await;
    let eco = eco["id"].as_str().unwrap().to_string();
    let ann = api.create_user("ann@example.org", "Sales").await;

    let assigned = ok_json(api.assign("costCenter", "Sales", &eco).await, 200).await;
    assert_eq!((assigned["kind"].as_str(), assigned["key"].as_str()), (Some("costCenter"), Some("Sales")));
    assert_eq!(assigned["policyId"], eco.as_str());
    expect_problem(api.assign("department", "Ops", &eco).await, 409, "assignment_kind_not_enabled").await;
    ok_json(api.assign("personal", &ann, "default").await, 200).await;
    expect_problem(api.assign("personal", "no-such-user", &eco).await, 404, "not_found").await;
    expect_problem(api.assign("costCenter", "Finance", "no-such-policy").await, 404, "not_found").await;
    expect_problem(api.assign("group", "Sales", &eco).await, 400, "invalid_field").await;

    api.settings(json!({"policyAssignment": "departmentOrPersonal"})).await;
    ok_json(api.assign("department", "Ops", &eco).await, 200).await;
    expect_problem(api.assign("costCenter", "Finance", &eco).await, 409, "assignment_kind_not_enabled").await;

    api.settings(json!({"policyAssignment": "personalOnly"})).await;
    expect_problem(api.assign("department", "Ops", &eco).await, 409, "assignment_kind_not_enabled").await;
    ok_json(api.assign("personal", &ann, &eco).await, 200).await;

    // BR-PP-12: the assignments of a policy, and removing them.
    let of_eco = api.assignments(&format!("?policyId={eco}")).await;
    let keys: Vec<&str> = of_eco.iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(keys, vec!["Sales", "Ops", ann.as_str()], "ordered by kind, then key");
    assert!(api.assignments("?policyId=default").await.is_empty(), "ann moved from the default to Eco");
    assert_eq!(api.assignments("?kind=personal").await.len(), 1);
    assert_eq!(api.assignments("").await.len(), 3);
    assert_eq!(api.assignments("?limit=2").await.len(), 2);
    expect_problem(api.call(Method::GET, "/print-policy-assignments?kind=group", None).await, 400, "invalid_field")
        .await;

    let in_use = api.call(Method::DELETE, &format!("/print-policies/{eco}"), None).await;
    let in_use = expect_problem(in_use, 409, "policy_in_use").await;
    assert!(in_use["detail"].as_str().unwrap().contains("3 time"), "{in_use}");
    for (kind, key) in [("costCenter", "SALES"), ("department", "ops"), ("personal", ann.as_str())] {
        let path = format!("/print-policy-assignments/{kind}/{key}");
        assert_eq!(api.call(Method::DELETE, &path, None).await.status().as_u16(), 204, "{path}");
        expect_problem(api.call(Method::DELETE, &path, None).await, 404, "not_found").await;
    }
    assert!(api.assignments("").await.is_empty());
    assert_eq!(api.call(Method::DELETE, &format!("/print-policies/{eco}"), None).await.status().as_u16(), 204);
    running.shutdown().await;
}

async fn br_pp_11_personal_overrides_cost_centre_which_overrides_the_default(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let api = api(&running).await;
    let ann = api.create_user("ann@example.org", "Sales").await;
    let bob = api.create_user("bob@example.org", "sales").await;
    let user = |id: String| {
        let ctx = running.ctx.clone();
        let org = api.org.clone();
        async move { store::get_user(&ctx, &org, &id).await.unwrap().unwrap().user }
    };
    let effective = |id: String| {
        let ctx = running.ctx.clone();
        let org = api.org.clone();
        let user = user(id);
        async move { effective_policy(&ctx, &org, &user.await).await.unwrap().map(|p| p.name) }
    };
    assert_eq!(effective(ann.clone()).await, None, "print policies are off (BR-PP-01)");
    api.settings(enable()).await;
    assert_eq!(effective(ann.clone()).await.as_deref(), Some("Default"));

    let centre = api.create(json!({"name": "Centre", "forceMono": {}})).await;
    let personal = api.create(json!({"name": "Personal", "forceMono": {"minPages": 5}})).await;
    ok_json(api.assign("costCenter", "Sales", centre["id"].as_str().unwrap()).await, 200).await;
    assert_eq!(effective(ann.clone()).await.as_deref(), Some("Centre"));
    assert_eq!(effective(bob.clone()).await.as_deref(), Some("Centre"), "cost centres match regardless of case");
    ok_json(api.assign("personal", &ann, personal["id"].as_str().unwrap()).await, 200).await;
    assert_eq!(effective(ann.clone()).await.as_deref(), Some("Personal"));
    assert_eq!(effective(bob.clone()).await.as_deref(), Some("Centre"));

    api.settings(json!({"policyAssignment": "personalOnly"})).await;
    assert_eq!(effective(bob.clone()).await.as_deref(), Some("Default"), "cost centres do not count now");
    assert_eq!(effective(ann.clone()).await.as_deref(), Some("Personal"));
    running.shutdown().await;
}

async fn print_policies_are_hidden_from_other_organisations_and_need_print_release_management(storage: Storage) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(storage, dir.path()).await;
    let api = api(&running).await;
    api.settings(enable()).await;
    let eco = api.create(json!({"name": "Eco", "forceMono": {}})).await;
    let eco = eco["id"].as_str().unwrap().to_string();
    let ann = api.create_user("ann@example.org", "Sales").await;

    second_org(&running).await;
    let (token_b, org_b) = print_admin(&running.url, "admin@other.example").await;
    let other = Api { url: running.url.clone(), org: org_b, token: token_b.clone() };
    other.settings(enable()).await;
    let theirs = Api { url: running.url.clone(), org: api.org.clone(), token: token_b };
    for (method, path, body) in [
        (Method::GET, "/print-policies".to_string(), None),
        (Method::POST, "/print-policies".to_string(), Some(json!({"name": "Mine"}))),
        (Method::GET, format!("/print-policies/{eco}"), None),
        (Method::PUT, format!("/print-policies/{eco}"), Some(json!({}))),
        (Method::DELETE, format!("/print-policies/{eco}"), None),
        (Method::POST, format!("/print-policies/{eco}/duplicate"), Some(json!({"name": "Copy"}))),
        (Method::GET, "/print-policy-assignments".to_string(), None),
        (Method::PUT, format!("/print-policy-assignments/personal/{ann}"), Some(json!({"policyId": eco}))),
    ] {
        expect_problem(theirs.call(method, &path, body).await, 404, "not_found").await;
    }
    // Organisation A's ids mean nothing in B.
    expect_problem(other.call(Method::GET, &format!("/print-policies/{eco}"), None).await, 404, "not_found").await;
    expect_problem(other.duplicate(&eco, "Copy").await, 404, "not_found").await;
    expect_problem(other.assign("costCenter", "Sales", &eco).await, 404, "not_found").await;
    expect_problem(other.assign("personal", &ann, "default").await, 404, "not_found").await;
    assert_eq!(other.names().await, vec!["Default"]);

    let plain = Api {
        url: running.url.clone(),
        org: api.org.clone(),
        token: access_token(&running.url, "ann@example.org", PASSWORD).await,
    };
    expect_problem(plain.call(Method::GET, "/print-policies", None).await, 403, "forbidden").await;
    expect_problem(plain.assign("personal", &ann, "default").await, 403, "forbidden").await;
    assert_eq!(api.names().await, vec!["Default", "Eco"], "nothing changed");
    running.shutdown().await;
}

e2e::on_both_storages!(
    br_pp_01_writes_need_print_policies_on_and_reads_still_work,
    br_pp_09_policies_are_created_changed_duplicated_and_deleted_with_unique_names,
    br_pp_04_invalid_rules_answer_400_naming_the_field,
    br_pp_10_assignment_kinds_follow_the_assignment_mode,
    br_pp_11_personal_overrides_cost_centre_which_overrides_the_default,
    print_policies_are_hidden_from_other_organisations_and_need_print_release_management,
);
