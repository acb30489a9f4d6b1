//! Solution quotas and distributions end to end (Solution Quota Manager, part-5 §2.13,
//! §4.8, W10, W11): configuration through HTTP against `printcloud serve`'s in-process
//! runner on a fixed clock; debits through `shared::solutions::quotas` with the runner's
//! own context, as the run executor makes them. Every rule of the quota item has a test
//! named after it: R-Q-1, R-Q-4 (D-QUOTA-PRECEDENCE), R-Q-5, R-Q-6, R-Q-7, R-Q-9, R-Q-11,
//! R-Q-12, R-Q-13, D-QUOTA-PERIOD, D-ALMOST-USED-UP, roles, tenant isolation, bad input and
//! concurrency.

use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, expect_problem, json_of, options_on, start_with};
use printcloud::serve::Running;
use reqwest::{Client, Method};
use serde_json::{Value, json};
use shared::http::Problem;
use shared::ports::ManualClock;
use shared::solutions::quotas::{self, SolutionService};
use std::sync::Arc;

const START: &str = "2026-03-10T12:00:00Z";
const USER_PASSWORD: &str = "Solution-Passw0rd!";

use SolutionService::{Ocr, Redact, Translate};

/// A limit of `n` pages.
fn pages(n: u64) -> Value {
    json!({"kind": "pages", "pages": n})
}

/// A limit of `n` characters.
fn chars(n: u64) -> Value {
    json!({"kind": "characters", "characters": n})
}

fn unlimited() -> Value {
    json!({"kind": "unlimited"})
}

fn limits(translate: Value, redact: Value, ocr: Value) -> Value {
    json!({"translate": translate, "redact": redact, "ocr": ocr})
}

/// A runner on a manual clock whose first administrator is Organization Administrator,
/// Partner Administrator and Solutions Quota Administrator of the partner organisation,
/// and a member of its child-organisation access group.
struct Env {
    running: Running,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
    http: Client,
    org: String,
    admin_id: String,
    admin: String,
    access_group: String,
}

impl Env {
    async fn start(storage: Storage) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mut options = options_on(storage, dir.path());
        let clock = Arc::new(ManualClock::new(START.parse().unwrap()));
        options.clock = clock.clone();
        let running = start_with(options).await;
        let http = Client::new();
        let admin = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let me = json_of(http.get(format!("{}/v1/me", running.url)).bearer_auth(&admin)).await;
        let org = me["organisation"]["id"].as_str().unwrap().to_string();
        let admin_id = me["user"]["id"].as_str().unwrap().to_string();
        let mut env = Env { running, clock, dir, http, org, admin_id, admin, access_group: String::new() };
        let group = json!({"name": "Sub-organisation access group", "kind": "childOrgAccess"});
        env.access_group = env.ok("POST", &env.at("/groups"), group).await["id"].as_str().unwrap().to_string();
        env.join_access_group(&env.admin_id.clone()).await;
        let roles =
            json!({"roles": ["Organization Administrator", "Partner Administrator", "Solutions Quota Administrator"]});
        env.ok("PUT", &env.at(&format!("/roles/users/{}", env.admin_id)), roles).await;
        let group_roles = json!({"roles": ["Organization Administrator", "Partner Administrator"]});
        env.ok("PUT", &env.at(&format!("/roles/groups/{}", env.access_group)), group_roles).await;
        env.refresh().await;
        env
    }

    /// A fresh administrator token (roles change at sign-in; tokens expire as the clock moves).
    async fn refresh(&mut self) {
        self.admin = access_token(&self.running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    }

    fn ctx(&self) -> &shared::Ctx {
        &self.running.ctx
    }

    /// The path `rest` under the partner organisation.
    fn at(&self, rest: &str) -> String {
        format!("/v1/orgs/{}{rest}", self.org)
    }

    async fn call(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> reqwest::Response {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let request = self.http.request(method, format!("{}{path}", self.running.url)).bearer_auth(token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        request.send().await.unwrap()
    }

    /// An administrator request that must succeed; answers its JSON (null when empty).
    async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let body = (method != "GET").then_some(body);
        let response = self.call(&self.admin, method, path, body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn get(&self, path: &str) -> Value {
        self.ok("GET", path, Value::Null).await
    }

    /// An administrator request that must fail with `status` and `code`.
    async fn refused(&self, method: &str, path: &str, body: Value, status: u16, code: &str) -> Value {
        let body = (method != "GET").then_some(body);
        expect_problem(self.call(&self.admin, method, path, body).await, status, code).await
    }

    async fn join_access_group(&self, user_id: &str) {
        let path = self.at(&format!("/groups/{}/members/{user_id}", self.access_group));
        assert_eq!(self.call(&self.admin, "PUT", &path, None).await.status().as_u16(), 204);
    }

    /// A user of `org` with a password; answers the id.
    async fn user(&self, org: &str, email: &str, extra: Value) -> String {
        let mut body = json!({"email": email, "password": USER_PASSWORD});
        body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        self.ok("POST", &format!("/v1/orgs/{org}/users"), body).await["id"].as_str().unwrap().to_string()
    }

    /// A user of the partner organisation with `roles` of their own, a member of the
    /// child-organisation access group when `member`; answers id and token.
    async fn user_with_roles(&self, email: &str, roles: Value, member: bool) -> (String, String) {
        let id = self.user(&self.org, email, json!({})).await;
        if member {
            self.join_access_group(&id).await;
        }
        self.ok("PUT", &self.at(&format!("/roles/users/{id}")), json!({"roles": roles})).await;
        (id, access_token(&self.running.url, email, USER_PASSWORD).await)
    }

    /// A child organisation named `name`; answers its id.
    async fn child(&self, name: &str) -> String {
        self.ok("POST", "/v1/orgs", json!({"name": name})).await["id"].as_str().unwrap().to_string()
    }

    async fn set_purchased(&self, translate: Value, redact: Value, ocr: Value) -> Value {
        self.ok("PUT", &self.at("/solution-quotas/purchased"), json!({"limits": limits(translate, redact, ocr)})).await
    }

    /// Distributes `limits` to `child` (continuous unless `extra` says otherwise).
    async fn distribute(&self, child: &str, limits: Value, extra: Value) -> Value {
        let mut body = json!({"childOrgId": child, "limits": limits});
        body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        self.ok("POST", &self.at("/distributions"), body).await
    }

    async fn debit(&self, org: &str, user: &str, service: SolutionService, n: u64, key: &str) -> Result<(), Problem> {
        quotas::debit(self.ctx(), org, user, service, n, key).await
    }

    /// The outbox mails to `to`: subject and text, oldest first (left in the outbox).
    fn mails_to(&self, to: &str) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(self.dir.path().join("outbox")).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "eml") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
            if mail.to().is_some_and(|list| list.iter().any(|a| a.address() == Some(to))) {
                let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
                let subject = mail.subject().unwrap_or_default().to_string();
                found.push((modified, subject, mail.body_text(0).unwrap_or_default().to_string()));
            }
        }
        found.sort_by_key(|(modified, _, _)| *modified);
        found.into_iter().map(|(_, subject, text)| (subject, text)).collect()
    }
}

/// The code of a refusal.
fn code(result: Result<(), Problem>) -> String {
    result.expect_err("refused").code
}

fn extension(problem: &Problem, name: &str) -> Value {
    problem.extensions.as_ref().and_then(|e| e.get(name)).cloned().unwrap_or(Value::Null)
}

/// The service entry `name` of a user's quota answer.
fn service<'a>(quota: &'a Value, name: &str) -> &'a Value {
    quota["services"].as_array().unwrap().iter().find(|s| s["service"] == name).unwrap()
}

async fn r_q_4_d_quota_precedence_personal_over_department_over_default(storage: Storage) {
    let mut env = Env::start(storage).await;
    let org = env.org.clone();
    let ann = env.user(&org, "ann@example.org", json!({"department": "Sales"})).await;
    let bob = env.user(&org, "bob@example.org", json!({"department": "sales"})).await;
    let cy = env.user(&org, "cy@example.org", json!({"department": "Support"})).await;
    let fresh = env.get(&env.at(&format!("/solution-quotas/users/{ann}"))).await;
    assert_eq!(
        (fresh["source"].as_str(), service(&fresh, "translate")["limit"]["unlimited"].as_bool()),
        (Some("default"), Some(true)),
        "R-Q-3: unlimited until set"
    );

    env.ok("PUT", &env.at("/solution-quotas"), json!({"default": limits(pages(5), unlimited(), unlimited())})).await;
    let department = json!({"limits": limits(pages(2), unlimited(), unlimited())});
    env.ok("PUT", &env.at("/solution-quotas/custom/department/Sales"), department).await;
    let personal = json!({"limits": limits(pages(1), unlimited(), unlimited())});
    env.ok("PUT", &env.at("/solution-quotas/custom/personal/bob@example.org"), personal).await;

    let expected = [(&ann, "department", 3_600), (&bob, "personal", 1_800), (&cy, "default", 9_000)];
    for (user, source, limit) in expected {
        let quota = env.get(&env.at(&format!("/solution-quotas/users/{user}"))).await;
        assert_eq!(quota["source"], source, "{quota}");
        assert_eq!(
            service(&quota, "translate")["limit"],
            json!({"unlimited": false, "characters": limit, "pages": limit / 1_800})
        );
        assert_eq!(quota["month"], "2026-03");
    }
    env.debit(&org, &ann, Translate, 3_600, "ann-1").await.unwrap();
    let problem = env.debit(&org, &ann, Translate, 1, "ann-2").await.unwrap_err();
    assert_eq!((problem.status, problem.code.as_str()), (409, "solution_quota_exceeded"));
    assert_eq!((extension(&problem, "remaining"), extension(&problem, "limitedBy")), (json!(0), json!("user")));
    let problem = env.debit(&org, &bob, Translate, 1_801, "bob-1").await.unwrap_err();
    assert_eq!(extension(&problem, "remaining"), 1_800, "the personal quota wins over the department's");
    env.debit(&org, &cy, Translate, 9_000, "cy-1").await.unwrap();
    env.debit(&org, &ann, Redact, 50_000, "ann-redact").await.expect("redaction is unlimited");

    // D-QUOTA-PERIOD: the next calendar month starts afresh (the organisation's zone is UTC).
    env.clock.set("2026-04-01T00:00:00Z".parse().unwrap());
    env.refresh().await;
    env.debit(&org, &ann, Translate, 3_600, "ann-april").await.unwrap();
    let quota = env.get(&env.at(&format!("/solution-quotas/users/{ann}"))).await;
    assert_eq!(quota["month"], "2026-04");
    assert_eq!(service(&quota, "translate")["used"]["characters"], 3_600);

    // Removing the personal quota falls back to the department's.
    env.ok("DELETE", &env.at("/solution-quotas/custom/personal/bob@example.org"), Value::Null).await;
    let quota = env.get(&env.at(&format!("/solution-quotas/users/{bob}"))).await;
    assert_eq!(quota["source"], "department");
    env.running.shutdown().await;
}

async fn r_q_5_cost_centre_and_department_quotas_are_never_both(storage: Storage) {
    let env = Env::start(storage).await;
    let body = json!({"limits": limits(pages(3), pages(3), pages(3))});
    env.ok("PUT", &env.at("/solution-quotas/custom/costCenter/CC-100"), body.clone()).await;
    env.ok("PUT", &env.at("/solution-quotas/custom/costCenter/CC-200"), body.clone()).await;
    let problem = env
        .refused(
            "PUT",
            &env.at("/solution-quotas/custom/department/Sales"),
            body.clone(),
            409,
            "custom_quota_kind_conflict",
        )
        .await;
    assert_eq!(problem["customKind"], "costCenter");
    let config = env.get(&env.at("/solution-quotas")).await;
    assert_eq!((config["customKind"].as_str(), config["custom"].as_array().unwrap().len()), (Some("costCenter"), 2));

    let dave = env.user(&env.org, "dave@example.org", json!({"costCenter": "cc-100", "department": "Sales"})).await;
    let quota = env.get(&env.at(&format!("/solution-quotas/users/{dave}"))).await;
    assert_eq!(quota["source"], "costCenter", "names match regardless of case");

    env.ok("DELETE", &env.at("/solution-quotas/custom/costCenter/CC-100"), Value::Null).await;
    env.refused(
        "PUT",
        &env.at("/solution-quotas/custom/department/Sales"),
        body.clone(),
        409,
        "custom_quota_kind_conflict",
    )
    .await;
    env.ok("DELETE", &env.at("/solution-quotas/custom/costCenter/cc-200"), Value::Null).await;
    env.ok("PUT", &env.at("/solution-quotas/custom/department/Sales"), body.clone()).await;
    env.refused("PUT", &env.at("/solution-quotas/custom/costCenter/CC-100"), body, 409, "custom_quota_kind_conflict")
        .await;
    let quota = env.get(&env.at(&format!("/solution-quotas/users/{dave}"))).await;
    assert_eq!(quota["source"], "department");
    env.refused("DELETE", &env.at("/solution-quotas/custom/costCenter/CC-100"), Value::Null, 404, "not_found").await;
    env.running.shutdown().await;
}

async fn r_q_6_a_personal_quota_needs_a_user_registered_in_the_organisation(storage: Storage) {
    let env = Env::start(storage).await;
    let child = env.child("Acme").await;
    env.user(&child, "outsider@acme.example", json!({})).await;
    let body = json!({"limits": limits(pages(1), pages(1), pages(1))});
    for unknown in ["nobody@example.org", "outsider@acme.example"] {
        let path = env.at(&format!("/solution-quotas/custom/personal/{unknown}"));
        env.refused("PUT", &path, body.clone(), 422, "user_not_registered").await;
    }
    let config = env.get(&env.at("/solution-quotas")).await;
    assert_eq!(config["custom"], json!([]), "nothing stored");
    let id = env.user(&env.org, "Eve@Example.org", json!({})).await;
    let quota = env.ok("PUT", &env.at("/solution-quotas/custom/personal/eve@example.org"), body).await;
    assert_eq!((quota["userId"].as_str(), quota["key"].as_str()), (Some(id.as_str()), Some("eve@example.org")));
    env.running.shutdown().await;
}

async fn r_q_7_every_service_can_be_unlimited(storage: Storage) {
    let env = Env::start(storage).await;
    let org = env.org.clone();
    let user = env.user(&org, "una@example.org", json!({})).await;
    env.ok("PUT", &env.at("/solution-quotas"), json!({"default": limits(unlimited(), chars(0), unlimited())})).await;
    env.debit(&org, &user, Translate, 1_000_000_000, "big").await.expect("unlimited translation");
    assert_eq!(code(env.debit(&org, &user, Redact, 1, "r").await), "solution_quota_exceeded");
    assert_eq!(
        code(quotas::ensure_available(env.ctx(), &org, &user, &[Translate, Redact]).await),
        "solution_quota_exceeded"
    );
    quotas::ensure_available(env.ctx(), &org, &user, &[Translate, Ocr]).await.unwrap();
    let quota = env.get(&env.at(&format!("/solution-quotas/users/{user}"))).await;
    assert_eq!(service(&quota, "translate")["limit"], json!({"unlimited": true}));
    assert_eq!(service(&quota, "translate")["used"]["pages"], 555_556, "1,000,000,000 characters / 1,800, rounded up");

    // Unlimited can be distributed only from an unlimited pool (R-Q-1 with R-Q-7).
    env.set_purchased(unlimited(), pages(100), unlimited()).await;
    let child = env.child("Acme").await;
    let body = json!({"childOrgId": child, "limits": limits(unlimited(), unlimited(), unlimited())});
    let problem = env.refused("POST", &env.at("/distributions"), body, 409, "distribution_exceeds_available").await;
    assert_eq!(problem["service"], "redact");
    let made = env.distribute(&child, limits(unlimited(), pages(10), unlimited()), json!({})).await;
    assert_eq!(made["remaining"]["translate"], json!({"unlimited": true}));
    env.running.shutdown().await;
}

async fn r_q_1_a_partner_cannot_distribute_more_than_it_holds(storage: Storage) {
    let env = Env::start(storage).await;
    let org = env.org.clone();
    let own = env.user(&org, "own@example.org", json!({})).await;
    let pool = env.set_purchased(pages(10), pages(10), pages(10)).await;
    assert_eq!(pool["remaining"]["translate"]["pages"], 10);
    env.debit(&org, &own, Translate, 1_800, "own-1").await.unwrap();

    let acme = env.child("Acme").await;
    let beta = env.child("Beta").await;
    let body = json!({"childOrgId": acme, "limits": limits(pages(10), pages(1), pages(1))});
    let problem = env.refused("POST", &env.at("/distributions"), body, 409, "distribution_exceeds_available").await;
    assert_eq!((problem["service"].as_str(), problem["available"].as_u64()), (Some("translate"), Some(16_200)));
    env.distribute(&acme, limits(pages(9), pages(1), pages(1)), json!({})).await;
    let body = json!({"childOrgId": beta, "limits": limits(pages(1), pages(1), pages(1))});
    let problem = env.refused("POST", &env.at("/distributions"), body, 409, "distribution_exceeds_available").await;
    assert_eq!(problem["available"], 0, "9 pages distributed and 1 used of 10");

    let pool = env.get(&env.at("/solution-quotas")).await["pool"].clone();
    assert_eq!(pool["used"]["translate"]["characters"], 1_800);
    assert_eq!(pool["distributed"]["translate"]["characters"], 16_200);
    assert_eq!(pool["remaining"]["translate"]["characters"], 0);
    let problem = env.debit(&org, &own, Translate, 1, "own-2").await.unwrap_err();
    assert_eq!(extension(&problem, "limitedBy"), "organisation", "the partner's own use is bounded by its pool too");
    env.debit(&org, &own, Redact, 1_800, "own-3").await.unwrap();
    let stale = json!({"limits": limits(pages(20), pages(10), pages(10)), "version": 99});
    env.refused("PUT", &env.at("/solution-quotas/purchased"), stale, 409, "conflict").await;
    let more = env.set_purchased(pages(20), pages(10), pages(10)).await;
    assert_eq!(more["remaining"]["translate"]["pages"], 10, "buying more makes room to distribute");
    env.distribute(&beta, limits(pages(10), pages(1), pages(1)), json!({})).await;
    env.running.shutdown().await;
}

async fn r_q_9_continuous_by_default_custom_until_its_expiry(storage: Storage) {
    let mut env = Env::start(storage).await;
    let acme = env.child("Acme").await;
    let beta = env.child("Beta").await;
    let made = env.distribute(&acme, limits(pages(5), pages(5), pages(5)), json!({})).await;
    assert_eq!((made["duration"].as_str(), made["expiry"].as_str()), (Some("continuous"), Some("continuous")));
    assert!(made.get("expiresOn").is_none());
    let custom = |expires: Value| json!({"childOrgId": beta, "limits": limits(pages(5), pages(5), pages(5)), "duration": "custom", "expiresOn": expires});
    env.refused("POST", &env.at("/distributions"), custom(Value::Null), 400, "invalid_field").await;
    env.refused("POST", &env.at("/distributions"), custom(json!("2026-03-10")), 400, "invalid_field").await;
    let continuous_with_date =
        json!({"childOrgId": beta, "limits": limits(pages(5), pages(5), pages(5)), "expiresOn": "2026-04-01"});
    env.refused("POST", &env.at("/distributions"), continuous_with_date, 400, "invalid_field").await;
    let made = env.ok("POST", &env.at("/distributions"), custom(json!("2026-03-11"))).await;
    assert_eq!((made["expiry"].as_str(), made["state"].as_str()), (Some("2026-03-11"), Some("active")));

    let worker = env.user(&beta, "worker@beta.example", json!({})).await;
    let steady = env.user(&acme, "steady@acme.example", json!({})).await;
    env.debit(&beta, &worker, Ocr, 100, "w-1").await.unwrap();
    let pool = env.get(&format!("/v1/orgs/{beta}/solution-quotas")).await["pool"].clone();
    assert_eq!(
        (pool["source"].as_str(), pool["expiresOn"].as_str()),
        (Some("distribution"), Some("2026-03-11")),
        "R-Q-14"
    );
    let pool = env.get(&format!("/v1/orgs/{acme}/solution-quotas")).await["pool"].clone();
    assert!(pool.get("expiresOn").is_none(), "a continuous distribution shows no end date (R-Q-14)");

    env.clock.set("2026-03-11T23:59:00Z".parse().unwrap());
    env.debit(&beta, &worker, Ocr, 100, "w-2").await.expect("usable through its last day");
    env.clock.set("2026-03-12T00:00:00Z".parse().unwrap());
    env.refresh().await;
    assert_eq!(code(env.debit(&beta, &worker, Ocr, 100, "w-3").await), "distribution_expired");
    assert_eq!(code(quotas::check(env.ctx(), &beta, &worker, Ocr, 1).await), "distribution_expired");
    assert_eq!(code(quotas::ensure_available(env.ctx(), &beta, &worker, &[Translate]).await), "distribution_expired");
    let listed = env.get(&env.at("/distributions")).await;
    let beta_row = listed["items"].as_array().unwrap().iter().find(|d| d["childOrgId"] == beta.as_str()).unwrap();
    assert_eq!(beta_row["state"], "expired");
    env.clock.set("2027-06-01T00:00:00Z".parse().unwrap());
    env.debit(&acme, &steady, Ocr, 1_800, "s-1").await.expect("a continuous distribution does not expire");

    // Extending the expiry revives it.
    env.refresh().await;
    let extended =
        json!({"limits": limits(pages(5), pages(5), pages(5)), "duration": "custom", "expiresOn": "2027-07-01"});
    env.ok("PUT", &env.at(&format!("/distributions/{beta}")), extended).await;
    env.debit(&beta, &worker, Ocr, 100, "w-4").await.unwrap();
    env.running.shutdown().await;
}

async fn r_q_11_the_partner_edits_a_distribution_that_ran_out(storage: Storage) {
    let env = Env::start(storage).await;
    env.set_purchased(pages(10), pages(10), pages(10)).await;
    let acme = env.child("Acme").await;
    let user = env.user(&acme, "ocr@acme.example", json!({})).await;
    let made = env.distribute(&acme, limits(pages(1), pages(1), pages(1)), json!({})).await;
    env.debit(&acme, &user, Ocr, 1_800, "o-1").await.unwrap();
    let problem = env.debit(&acme, &user, Ocr, 1, "o-2").await.unwrap_err();
    assert_eq!(
        (problem.code.as_str(), extension(&problem, "limitedBy")),
        ("solution_quota_exceeded", json!("organisation"))
    );

    let path = env.at(&format!("/distributions/{acme}"));
    let stale =
        json!({"limits": limits(pages(1), pages(1), pages(2)), "version": made["version"].as_i64().unwrap() + 7});
    env.refused("PUT", &path, stale, 409, "conflict").await;
    let raised =
        env.ok("PUT", &path, json!({"limits": limits(pages(1), pages(1), pages(2)), "version": made["version"]})).await;
    assert_eq!(raised["remaining"]["ocr"]["characters"], 1_800);
    env.debit(&acme, &user, Ocr, 1_800, "o-3").await.unwrap();
    let problem = env
        .refused("PUT", &path, json!({"limits": limits(pages(1), pages(1), pages(1))}), 409, "distribution_below_used")
        .await;
    assert_eq!((problem["service"].as_str(), problem["used"].as_u64()), (Some("ocr"), Some(3_600)));
    env.refused(
        "PUT",
        &path,
        json!({"limits": limits(pages(11), pages(1), pages(2))}),
        409,
        "distribution_exceeds_available",
    )
    .await;
    env.refused(
        "PUT",
        &path,
        json!({"childOrgId": "other", "limits": limits(pages(1), pages(1), pages(2))}),
        400,
        "invalid_field",
    )
    .await;
    let lowered = env.ok("PUT", &path, json!({"limits": limits(pages(0), pages(1), pages(2))})).await;
    assert_eq!(lowered["limits"]["translate"]["characters"], 0);
    let pool = env.get(&env.at("/solution-quotas")).await["pool"].clone();
    assert_eq!(pool["remaining"]["translate"]["pages"], 10, "a lowered limit goes back to the partner");
    assert_eq!(pool["remaining"]["ocr"]["pages"], 8);
    env.running.shutdown().await;
}

async fn r_q_12_revoking_needs_the_exact_name_and_returns_the_unused_pages(storage: Storage) {
    let env = Env::start(storage).await;
    env.set_purchased(pages(10), pages(10), pages(10)).await;
    let acme = env.child("Acme").await;
    let user = env.user(&acme, "t@acme.example", json!({})).await;
    env.distribute(&acme, limits(pages(6), pages(6), pages(6)), json!({})).await;
    env.debit(&acme, &user, Translate, 3_600, "t-1").await.unwrap();
    let pool = env.get(&env.at("/solution-quotas")).await["pool"].clone();
    assert_eq!(pool["remaining"]["translate"]["pages"], 4);

    let path = env.at(&format!("/distributions/{acme}/revoke"));
    for wrong in ["acme", " Acme", "ACME", ""] {
        env.refused("POST", &path, json!({"confirmName": wrong}), 400, "confirmation_mismatch").await;
    }
    env.refused("POST", &path, json!({}), 400, "invalid_json").await;
    let revoked = env.ok("POST", &path, json!({"confirmName": "Acme"})).await;
    assert_eq!(
        (revoked["state"].as_str(), &revoked["remaining"]["translate"]),
        (Some("revoked"), &json!({"unlimited": false, "characters": 0, "pages": 0}))
    );
    let pool = env.get(&env.at("/solution-quotas")).await["pool"].clone();
    assert_eq!(pool["remaining"]["translate"]["pages"], 8, "the 4 unused pages returned");
    assert_eq!(pool["remaining"]["ocr"]["pages"], 10);
    assert_eq!(code(env.debit(&acme, &user, Translate, 1, "t-2").await), "distribution_revoked");
    env.refused("POST", &path, json!({"confirmName": "Acme"}), 409, "distribution_revoked").await;
    env.refused(
        "PUT",
        &env.at(&format!("/distributions/{acme}")),
        json!({"limits": limits(pages(1), pages(1), pages(1))}),
        409,
        "distribution_revoked",
    )
    .await;

    let again = env.distribute(&acme, limits(pages(8), pages(1), pages(1)), json!({})).await;
    assert_eq!(again["state"], "active", "a new distribution replaces the revoked one");
    env.debit(&acme, &user, Translate, 1, "t-3").await.unwrap();
    env.running.shutdown().await;
}

async fn r_q_13_suspend_stops_the_child_and_resume_restarts_it(storage: Storage) {
    let env = Env::start(storage).await;
    let acme = env.child("Acme").await;
    let user = env.user(&acme, "r@acme.example", json!({})).await;
    env.distribute(&acme, limits(pages(5), pages(5), pages(5)), json!({})).await;
    env.debit(&acme, &user, Redact, 10, "r-1").await.unwrap();
    let suspend = env.at(&format!("/distributions/{acme}/suspend"));
    let resume = env.at(&format!("/distributions/{acme}/resume"));
    env.refused("POST", &resume, Value::Null, 409, "invalid_distribution_state").await;
    assert_eq!(env.ok("POST", &suspend, Value::Null).await["state"], "suspended");
    env.refused("POST", &suspend, Value::Null, 409, "invalid_distribution_state").await;
    for service in [Translate, Redact, Ocr] {
        assert_eq!(code(env.debit(&acme, &user, service, 10, "r-2").await), "distribution_suspended");
    }
    assert_eq!(code(quotas::check(env.ctx(), &acme, &user, Redact, 1).await), "distribution_suspended");
    assert_eq!(code(quotas::ensure_available(env.ctx(), &acme, &user, &[Ocr]).await), "distribution_suspended");
    let quota = quotas::user_status(env.ctx(), &acme, &user).await.unwrap();
    assert_eq!(quota.services[1].available, quotas::Amount::characters(0));
    assert_eq!(env.ok("POST", &resume, Value::Null).await["state"], "active");
    env.debit(&acme, &user, Redact, 10, "r-2").await.unwrap();
    let row = env.get(&env.at(&format!("/distributions/{acme}"))).await;
    assert_eq!(row["used"]["redact"]["characters"], 20);
    env.running.shutdown().await;
}

async fn d_almost_used_up_mails_once_at_ten_percent_and_once_at_nothing(storage: Storage) {
    let env = Env::start(storage).await;
    let acme = env.child("Acme").await;
    let user = env.user(&acme, "m@acme.example", json!({})).await;
    let emails = ["alerts@partner.example", "billing@partner.example"];
    let extra = json!({"notifyWhenAlmostUsedUp": true, "notificationEmails": emails});
    env.distribute(&acme, limits(unlimited(), unlimited(), chars(10_000)), extra).await;
    env.debit(&acme, &user, Ocr, 8_999, "m-1").await.unwrap();
    assert!(env.mails_to(emails[0]).is_empty(), "10.01 % left: no mail yet");
    env.debit(&acme, &user, Ocr, 1, "m-2").await.unwrap();
    env.debit(&acme, &user, Ocr, 1, "m-2").await.unwrap();
    env.debit(&acme, &user, Ocr, 400, "m-3").await.unwrap();
    for to in emails {
        let mails = env.mails_to(to);
        assert_eq!(mails.len(), 1, "once at 10 % left, to {to}");
        assert!(mails[0].0.starts_with("printcloud: the distribution to Acme is almost used up"), "{}", mails[0].0);
        assert!(
            mails[0].1.contains("OCR") && mails[0].1.contains("1 page(s) (1000 characters) left of 6 page(s)"),
            "{}",
            mails[0].1
        );
    }
    env.debit(&acme, &user, Ocr, 600, "m-4").await.unwrap();
    assert_eq!(code(env.debit(&acme, &user, Ocr, 1, "m-5").await), "solution_quota_exceeded");
    for to in emails {
        let mails = env.mails_to(to);
        assert_eq!(mails.len(), 2, "and once at nothing left, to {to}");
        let used_up = mails.iter().filter(|(subject, _)| subject.ends_with("Acme is used up")).count();
        assert_eq!(used_up, 1, "{mails:?}");
    }
    env.debit(&acme, &user, Translate, 50_000, "m-6").await.expect("unlimited services never mail");
    assert_eq!(env.mails_to(emails[1]).len(), 2);

    // An edit that adds pages clears the marks: the next crossing mails again.
    let path = env.at(&format!("/distributions/{acme}"));
    env.ok("PUT", &path, json!({"limits": limits(unlimited(), unlimited(), chars(20_000)), "notifyWhenAlmostUsedUp": true, "notificationEmails": emails})).await;
    env.debit(&acme, &user, Ocr, 8_000, "m-7").await.unwrap();
    assert_eq!(env.mails_to(emails[0]).len(), 3);
    env.running.shutdown().await;
}

async fn roles_plain_users_are_refused_and_the_quota_roles_are_kept_apart(storage: Storage) {
    let env = Env::start(storage).await;
    let acme = env.child("Acme").await;
    env.distribute(&acme, limits(pages(1), pages(1), pages(1)), json!({})).await;
    let (plain_id, plain) = env.user_with_roles("plain@example.org", json!([]), false).await;
    let routes = [
        ("GET", env.at("/solution-quotas")),
        ("PUT", env.at("/solution-quotas")),
        ("PUT", env.at("/solution-quotas/purchased")),
        ("PUT", env.at("/solution-quotas/custom/personal/plain@example.org")),
        ("DELETE", env.at("/solution-quotas/custom/department/Sales")),
        ("GET", env.at(&format!("/solution-quotas/users/{}", env.admin_id))),
        ("GET", env.at("/distributions")),
        ("POST", env.at("/distributions")),
        ("GET", env.at(&format!("/distributions/{acme}"))),
        ("PUT", env.at(&format!("/distributions/{acme}"))),
        ("POST", env.at(&format!("/distributions/{acme}/suspend"))),
        ("POST", env.at(&format!("/distributions/{acme}/resume"))),
        ("POST", env.at(&format!("/distributions/{acme}/revoke"))),
    ];
    for (method, path) in &routes {
        let body = (*method != "GET").then(|| json!({}));
        expect_problem(env.call(&plain, method, path, body).await, 403, "forbidden").await;
    }
    let own = env.call(&plain, "GET", &env.at(&format!("/solution-quotas/users/{plain_id}")), None).await;
    assert_eq!(own.status().as_u16(), 200, "users read their own quota");

    // A Solutions Quota Administrator outside the access group sees but cannot distribute.
    let (_, outside) = env.user_with_roles("sqa@example.org", json!(["Solutions Quota Administrator"]), false).await;
    assert_eq!(env.call(&outside, "GET", &env.at("/distributions"), None).await.status().as_u16(), 200);
    let beta = env.child("Beta").await;
    let body = json!({"childOrgId": beta, "limits": limits(pages(1), pages(1), pages(1))});
    expect_problem(env.call(&outside, "POST", &env.at("/distributions"), Some(body.clone())).await, 403, "forbidden")
        .await;
    let suspend = env.at(&format!("/distributions/{acme}/suspend"));
    expect_problem(env.call(&outside, "POST", &suspend, None).await, 403, "forbidden").await;
    // A Partner Administrator in the access group suspends but does not create.
    let (_, partner) = env.user_with_roles("pa@example.org", json!(["Partner Administrator"]), true).await;
    expect_problem(env.call(&partner, "POST", &env.at("/distributions"), Some(body)).await, 403, "forbidden").await;
    assert_eq!(env.call(&partner, "POST", &suspend, None).await.status().as_u16(), 200);
    let config = env.call(&partner, "GET", &env.at("/solution-quotas"), None).await;
    assert_eq!(config.status().as_u16(), 200, "Partner Administrators see the pool");
    env.running.shutdown().await;
}

async fn tenant_isolation_other_organisations_are_not_found(storage: Storage) {
    let env = Env::start(storage).await;
    let acme = env.child("Acme").await;
    env.distribute(&acme, limits(pages(1), pages(1), pages(1)), json!({})).await;
    let (org_b, user_b) = e2e::second_org(&env.running).await;
    let other = access_token(&env.running.url, "admin@other.example", ADMIN_PASSWORD).await;
    let a = |rest: &str| format!("/v1/orgs/{}{rest}", env.org);
    let routes = [
        ("GET", a("/solution-quotas")),
        ("PUT", a("/solution-quotas")),
        ("PUT", a("/solution-quotas/purchased")),
        ("PUT", a("/solution-quotas/custom/personal/admin@other.example")),
        ("GET", a(&format!("/solution-quotas/users/{}", env.admin_id))),
        ("GET", a("/distributions")),
        ("POST", a("/distributions")),
        ("PUT", a(&format!("/distributions/{acme}"))),
        ("POST", a(&format!("/distributions/{acme}/revoke"))),
        ("GET", format!("/v1/orgs/{acme}/solution-quotas")),
        ("GET", format!("/v1/orgs/{acme}/distributions")),
    ];
    for (method, path) in &routes {
        let body = (*method != "GET").then(|| json!({}));
        expect_problem(env.call(&other, method, path, body).await, 404, "not_found").await;
    }
    let b = |rest: &str| format!("/v1/orgs/{org_b}{rest}");
    for (method, path) in [
        ("GET", b("/solution-quotas")),
        ("GET", b(&format!("/solution-quotas/users/{user_b}"))),
        ("GET", b("/distributions")),
    ] {
        expect_problem(env.call(&env.admin, method, &path, None).await, 404, "not_found").await;
    }
    // A partner reaches its own child organisation through the access group.
    assert_eq!(
        env.call(&env.admin, "GET", &format!("/v1/orgs/{acme}/solution-quotas"), None).await.status().as_u16(),
        200
    );
    // Another organisation cannot be distributed to.
    let body = json!({"childOrgId": org_b, "limits": limits(pages(1), pages(1), pages(1))});
    env.refused("POST", &env.at("/distributions"), body, 404, "not_found").await;
    let body = json!({"childOrgId": env.org, "limits": limits(pages(1), pages(1), pages(1))});
    env.refused("POST", &env.at("/distributions"), body, 404, "not_found").await;
    // Debits are scoped: a user of one organisation is unknown in another.
    let problem = env.debit(&org_b, &env.admin_id, Ocr, 1, "x").await.unwrap_err();
    assert_eq!(problem.code, "not_found");
    env.running.shutdown().await;
}

/// Every item of the partition of `org`, to prove that nothing changed.
async fn partition(env: &Env, org: &str) -> Vec<shared::ports::Item> {
    let query = shared::ports::Query::partition(format!("ORG#{org}")).limit(1000);
    env.ctx().table.query(&query).await.unwrap().items
}

/// The isolation matrix for this module's routes, driven by the served OpenAPI document
/// so that every documented solution-quota and distribution operation is covered: another
/// organisation's admin gets 404, a plain user of the organisation 403, and nothing stored
/// changes (the same walk `tests/isolation.rs` makes over every organisation route).
async fn tenant_isolation_every_documented_route_hides_other_organisations_and_refuses_plain_users(storage: Storage) {
    let env = Env::start(storage).await;
    let acme = env.child("Acme").await;
    env.distribute(&acme, limits(pages(1), pages(1), pages(1)), json!({})).await;
    let (_, plain) = env.user_with_roles("plain@example.org", json!([]), false).await;
    let (org_b, user_b) = e2e::second_org(&env.running).await;
    let other = access_token(&env.running.url, "admin@other.example", ADMIN_PASSWORD).await;
    let document = json_of(env.http.get(format!("{}/openapi.json", env.running.url))).await;
    let mine = ["/v1/orgs/{orgId}/solution-quotas", "/v1/orgs/{orgId}/distributions"];
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        if !mine.iter().any(|prefix| path.starts_with(prefix)) {
            continue;
        }
        let concrete = path.replace("{userId}", &user_b).replace("{kind}", "personal").replace("{key}", "unknown");
        let concrete = concrete.replace("{childOrgId}", &acme);
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase(), concrete.clone()));
        }
    }
    assert_eq!(operations.len(), 13, "every route of this module is documented");
    let before = (partition(&env, &env.org).await, partition(&env, &org_b).await, partition(&env, &acme).await);
    for (method, path) in &operations {
        let body = (method != "GET").then(|| json!({}));
        let in_b = path.replace("{orgId}", &org_b);
        expect_problem(env.call(&env.admin, method, &in_b, body.clone()).await, 404, "not_found").await;
        let in_a = path.replace("{orgId}", &env.org);
        expect_problem(env.call(&other, method, &in_a, body.clone()).await, 404, "not_found").await;
        expect_problem(env.call(&plain, method, &in_a, body).await, 403, "forbidden").await;
    }
    let after = (partition(&env, &env.org).await, partition(&env, &org_b).await, partition(&env, &acme).await);
    assert_eq!(after, before, "nothing stored changed");
    env.running.shutdown().await;
}

async fn bad_input_answers_a_problem_with_a_stable_code_and_changes_nothing(storage: Storage) {
    let env = Env::start(storage).await;
    let acme = env.child("Acme").await;
    let before = env.get(&env.at("/solution-quotas")).await;
    let path = env.at("/solution-quotas");
    env.refused("PUT", &path, json!({}), 400, "invalid_json").await;
    env.refused("PUT", &path, json!({"default": {"translate": pages(1), "redact": pages(1)}}), 400, "invalid_json")
        .await;
    env.refused(
        "PUT",
        &path,
        json!({"default": limits(pages(1), json!({"kind": "pages", "pages": -3}), pages(1))}),
        400,
        "invalid_json",
    )
    .await;
    env.refused(
        "PUT",
        &path,
        json!({"default": limits(pages(1), json!({"kind": "lots"}), pages(1))}),
        400,
        "invalid_json",
    )
    .await;
    let problem = env
        .refused("PUT", &path, json!({"default": limits(pages(1), pages(u64::MAX), pages(1))}), 400, "invalid_field")
        .await;
    assert!(problem["detail"].as_str().unwrap().starts_with("default.redact"), "{problem}");
    env.refused("PUT", &path, json!({"default": limits(pages(1), pages(1), pages(1)), "version": 5}), 409, "conflict")
        .await;
    let untyped =
        env.http.put(format!("{}{path}", env.running.url)).bearer_auth(&env.admin).body("{}").send().await.unwrap();
    expect_problem(untyped, 415, "unsupported_media_type").await;
    let body = json!({"limits": limits(pages(1), pages(1), pages(1))});
    env.refused("PUT", &env.at("/solution-quotas/custom/group/Sales"), body.clone(), 400, "invalid_field").await;
    env.refused("PUT", &env.at("/solution-quotas/custom/department/%20"), body, 400, "invalid_field").await;
    assert_eq!(env.get(&env.at("/solution-quotas")).await, before, "nothing stored");

    let create = |extra: Value| {
        let mut body = json!({"childOrgId": acme, "limits": limits(pages(1), pages(1), pages(1))});
        body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap());
        body
    };
    let eleven: Vec<String> = (0..11).map(|n| format!("n{n}@partner.example")).collect();
    let distributions = env.at("/distributions");
    env.refused("POST", &distributions, create(json!({"notificationEmails": eleven})), 400, "invalid_field").await;
    env.refused("POST", &distributions, create(json!({"notificationEmails": ["nope"]})), 400, "invalid_field").await;
    env.refused("POST", &distributions, create(json!({"notifyWhenAlmostUsedUp": true})), 400, "invalid_field").await;
    env.refused("POST", &distributions, create(json!({"duration": "forever"})), 400, "invalid_json").await;
    env.refused(
        "POST",
        &distributions,
        create(json!({"duration": "custom", "expiresOn": "2026-13-01"})),
        400,
        "invalid_json",
    )
    .await;
    env.refused("POST", &distributions, create(json!({"childOrgId": null})), 400, "invalid_field").await;
    env.refused("POST", &distributions, create(json!({"childOrgId": "unknown"})), 404, "not_found").await;
    env.refused("POST", &distributions, create(json!({"colour": true})), 400, "invalid_json").await;
    assert_eq!(env.get(&distributions).await["items"], json!([]), "nothing stored");
    env.refused("GET", &env.at("/distributions?limit=500"), Value::Null, 400, "invalid_limit").await;
    env.refused("GET", &env.at("/distributions/unknown"), Value::Null, 404, "not_found").await;
    env.refused("POST", &env.at("/distributions/unknown/suspend"), Value::Null, 404, "not_found").await;
    env.distribute(&acme, limits(pages(1), pages(1), pages(1)), json!({})).await;
    env.refused("POST", &distributions, create(json!({})), 409, "distribution_exists").await;
    let pool = env
        .refused(
            "PUT",
            &format!("/v1/orgs/{acme}/solution-quotas/purchased"),
            json!({"limits": limits(pages(1), pages(1), pages(1))}),
            409,
            "pool_is_distribution",
        )
        .await;
    assert_eq!(pool["status"], 409);
    let user = env.user(&env.org, "u@example.org", json!({})).await;
    let problem = env.debit(&env.org, &user, Ocr, 1, "").await.unwrap_err();
    assert_eq!((problem.status, problem.code.as_str()), (400, "invalid_field"));
    env.refused("GET", &env.at("/solution-quotas/users/unknown"), Value::Null, 404, "not_found").await;
    env.running.shutdown().await;
}

/// Debits at once of `users` (each `per_user` times `size` characters) into `org`;
/// answers how many went through, failing on anything but `solution_quota_exceeded`.
async fn debit_at_once(env: &Env, org: &str, users: &[String], per_user: usize, size: u64, tag: &str) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for (u, user) in users.iter().enumerate() {
        for n in 0..per_user {
            let (ctx, org, user, key) = (env.ctx().clone(), org.to_string(), user.clone(), format!("{tag}-{u}-{n}"));
            tasks.spawn(async move { quotas::debit(&ctx, &org, &user, Ocr, size, &key).await });
        }
    }
    let mut succeeded = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(()) => succeeded += 1,
            Err(problem) => assert_eq!(problem.code, "solution_quota_exceeded", "{problem:?}"),
        }
    }
    succeeded
}

async fn concurrent_debits_never_overspend_and_each_once_key_debits_once(storage: Storage) {
    let env = Env::start(storage).await;
    let org = env.org.clone();
    let user = env.user(&org, "busy@example.org", json!({})).await;
    env.ok("PUT", &env.at("/solution-quotas"), json!({"default": limits(unlimited(), unlimited(), chars(2_000))}))
        .await;
    assert_eq!(debit_at_once(&env, &org, std::slice::from_ref(&user), 50, 100, "user").await, 20, "the user's limit");
    let quota = quotas::user_status(env.ctx(), &org, &user).await.unwrap();
    assert_eq!(quota.services[2].used, quotas::Amount::characters(2_000));

    // The pool bounds many users together: a distribution of 2,000 characters, five users.
    let acme = env.child("Acme").await;
    env.distribute(&acme, limits(unlimited(), unlimited(), chars(2_000)), json!({})).await;
    let mut users = Vec::new();
    for n in 0..5 {
        users.push(env.user(&acme, &format!("u{n}@acme.example"), json!({})).await);
    }
    assert_eq!(debit_at_once(&env, &acme, &users, 10, 100, "pool").await, 20, "the distribution's limit");
    let row = env.get(&env.at(&format!("/distributions/{acme}"))).await;
    assert_eq!(
        (row["used"]["ocr"]["characters"].as_u64(), row["remaining"]["ocr"]["characters"].as_u64()),
        (Some(2_000), Some(0))
    );

    // The same once-key, at once and again later, debits once.
    let other = env.child("Beta").await;
    let worker = env.user(&other, "w@beta.example", json!({})).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (ctx, org, user) = (env.ctx().clone(), other.clone(), worker.clone());
        tasks.spawn(async move { quotas::debit(&ctx, &org, &user, Ocr, 100, "run-1#step-0").await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().expect("every retry of the same debit answers Ok");
    }
    env.debit(&other, &worker, Ocr, 100, "run-1#step-0").await.unwrap();
    let quota = quotas::user_status(env.ctx(), &other, &worker).await.unwrap();
    assert_eq!(quota.services[2].used, quotas::Amount::characters(100));
    env.running.shutdown().await;
}

e2e::on_both_storages!(
    r_q_4_d_quota_precedence_personal_over_department_over_default,
    r_q_5_cost_centre_and_department_quotas_are_never_both,
    r_q_6_a_personal_quota_needs_a_user_registered_in_the_organisation,
    r_q_7_every_service_can_be_unlimited,
    r_q_1_a_partner_cannot_distribute_more_than_it_holds,
    r_q_9_continuous_by_default_custom_until_its_expiry,
    r_q_11_the_partner_edits_a_distribution_that_ran_out,
    r_q_12_revoking_needs_the_exact_name_and_returns_the_unused_pages,
    r_q_13_suspend_stops_the_child_and_resume_restarts_it,
    d_almost_used_up_mails_once_at_ten_percent_and_once_at_nothing,
    roles_plain_users_are_refused_and_the_quota_roles_are_kept_apart,
    tenant_isolation_other_organisations_are_not_found,
    tenant_isolation_every_documented_route_hides_other_organisations_and_refuses_plain_users,
    bad_input_answers_a_problem_with_a_stable_code_and_changes_nothing,
    concurrent_debits_never_overspend_and_each_once_key_debits_once,
);
