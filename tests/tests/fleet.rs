//! Fleet management end to end through HTTP against the in-process runner: enrollment with
//! the organisation's code (WF-ENROLL-NATIVE-PRE), one organisation per printer (R-ENR-3),
//! agent activation codes (BR-LA-02/03, BR-AGT-1), printer-generated codes
//! (WF-ENROLL-NATIVE-PRINTERCODE), telemetry validation (part-6 §2.5–2.9), the Fleet
//! Integration API over a parent and its children (R-API-1…5, part-6 §2.3–2.11), labels
//! and their file import (BR-LB-01/03/04), and tenant isolation of the fleet routes.

use chrono::{DateTime, Duration, Utc};
use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, expect_problem, options_on, second_org, start_with};
use printcloud::serve::Running;
use reqwest::{Client, Method, Response};
use serde_json::{Value, json};
use shared::identity::model::{Organisation, User, UserRecord};
use shared::identity::roles::{Role, Service};
use shared::identity::{groups, store};
use shared::ports::{Clock, ManualClock};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Base path of the Fleet Integration API.
const INTEGRATION: &str = "/cfm/fleetmgmt-integration-service";

/// One runner on a manual clock, signed in as the first administrator.
struct Env {
    running: Running,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
    http: Client,
    admin: String,
    org: String,
}

impl Env {
    async fn start(storage: Storage) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = options_on(storage, dir.path());
        let clock = Arc::new(ManualClock::new(Utc::now()));
        opts.clock = clock.clone();
        let running = start_with(opts).await;
        let admin = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let http = Client::new();
        let me: Value =
            http.get(format!("{}/v1/me", running.url)).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
        let org = me["organisation"]["id"].as_str().unwrap().to_string();
        Env { running, clock, _dir: dir, http, admin, org }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url)
    }

    /// `path` under organisation `org`.
    fn in_org(&self, org: &str, path: &str) -> String {
        self.url(&format!("/v1/orgs/{org}{path}"))
    }

    /// `path` under the first administrator's organisation.
    fn org_url(&self, path: &str) -> String {
        self.in_org(&self.org, path)
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves the clock on; the administrator signs in again (access tokens live 15 minutes).
    async fn advance(&mut self, by: Duration) {
        self.clock.advance(by);
        self.admin = access_token(&self.running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    }

    async fn call(&self, method: Method, url: &str, token: Option<&str>, body: Option<&Value>) -> Response {
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    async fn get(&self, url: &str, token: &str) -> Response {
        self.call(Method::GET, url, Some(token), None).await
    }

    async fn post(&self, url: &str, token: &str, body: Value) -> Response {
        self.call(Method::POST, url, Some(token), Some(&body)).await
    }

    /// The JSON of a GET that must answer 200.
    async fn get_json(&self, url: &str, token: &str) -> Value {
        let response = self.get(url, token).await;
        assert_eq!(response.status().as_u16(), 200, "GET {url}");
        response.json().await.unwrap()
    }

    /// A new enrollment or activation code of `org`, made by `token`'s holder (with its value).
    async fn new_code(&self, token: &str, org: &str, body: Value) -> Value {
        let response = self.call(Method::POST, &self.in_org(org, "/enrollment-codes"), Some(token), Some(&body)).await;
        assert_eq!(response.status().as_u16(), 201, "code {body}");
        let code: Value = response.json().await.unwrap();
        assert!(code["code"].is_string(), "the new code is shown: {code}");
        code
    }

    /// Makes (or regenerates) `org`'s enrollment code and answers its value.
    async fn org_code(&self, token: &str, org: &str) -> String {
        let code = self.new_code(token, org, json!({"kind": "organisation"})).await;
        code["code"].as_str().unwrap().to_string()
    }

    /// `POST /v1/enroll` without a bearer token.
    async fn enroll(&self, body: Value) -> Response {
        self.call(Method::POST, &self.url("/v1/enroll"), None, Some(&body)).await
    }

    /// Enrolls `printer` with `code`; answers `{printer, credential}`.
    async fn enrolled(&self, code: &str, printer: Value) -> Value {
        let response = self.enroll(json!({"code": code, "printer": printer})).await;
        assert_eq!(response.status().as_u16(), 201, "enroll {printer}");
        response.json().await.unwrap()
    }

    /// The client_credentials grant for a device credential `{clientId, clientSecret}`.
    async fn grant(&self, credential: &Value) -> Response {
        let body = json!({"grant_type": "client_credentials", "client_id": credential["clientId"],
                          "client_secret": credential["clientSecret"]});
        self.call(Method::POST, &self.url("/oauth/token"), None, Some(&body)).await
    }

    async fn device_token(&self, credential: &Value) -> String {
        let response = self.grant(credential).await;
        assert_eq!(response.status().as_u16(), 200, "device token for {credential}");
        let grant: Value = response.json().await.unwrap();
        assert_eq!(grant["token_type"], "bearer");
        assert_eq!(grant["expires_in"], 7200);
        grant["access_token"].as_str().unwrap().to_string()
    }

    async fn telemetry(&self, token: &str, body: &Value) -> Response {
        self.call(Method::POST, &self.url("/v1/device/telemetry"), Some(token), Some(body)).await
    }

    async fn telemetry_raw(&self, token: &str, body: &str) -> Response {
        let request = self.http.post(self.url("/v1/device/telemetry")).bearer_auth(token);
        request.header("content-type", "application/json").body(body.to_string()).send().await.unwrap()
    }

    async fn heartbeat(&self, token: &str) -> Response {
        self.call(Method::POST, &self.url("/v1/device/heartbeat"), Some(token), None).await
    }

    /// Serial numbers of `org`'s printer list with `query`, as `token` sees it.
    async fn listed_serials(&self, token: &str, org: &str, query: &[(&str, &str)]) -> Vec<String> {
        let response = self.http.get(self.in_org(org, "/printers")).bearer_auth(token).query(query).send();
        let response = response.await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "printer list of {org} with {query:?}");
        let page: Value = response.json().await.unwrap();
        page["items"].as_array().unwrap().iter().map(|p| p["serialNumber"].as_str().unwrap().to_string()).collect()
    }

    /// An application of `org` with `scopes`, made by `token`'s holder; answers its access token.
    async fn application_token(&self, token: &str, org: &str, name: &str, scopes: Value) -> String {
        let body = json!({"name": name, "scopes": scopes});
        let response = self.call(Method::POST, &self.in_org(org, "/applications"), Some(token), Some(&body)).await;
        assert_eq!(response.status().as_u16(), 201, "application {body}");
        let app: Value = response.json().await.unwrap();
        let grant = json!({"grant_type": "client_credentials", "client_id": app["clientId"],
                           "client_secret": app["clientSecret"]});
        let response = self.call(Method::POST, &self.url("/oauth/token"), None, Some(&grant)).await;
        assert_eq!(response.status().as_u16(), 200, "application token of {name}");
        let grant: Value = response.json().await.unwrap();
        grant["access_token"].as_str().unwrap().to_string()
    }
}

/// A printer's identity with every field part-4 §2.4 names.
fn printer(serial: &str, ip: &str) -> Value {
    json!({
        "serialNumber": serial,
        "model": "CX825",
        "manufacturer": "Lexmark",
        "ipAddress": ip,
        "macAddress": "00:21:B7:12:34:56",
        "hostname": format!("prn-{}", serial.to_lowercase()),
        "firmwareVersion": "CXTPC.081.215",
        "screenSize": 10.0,
        "color": true,
        "duplex": true,
        "releaseApp": "Print Release eSF",
        "agentType": "Native Agent",
    })
}

/// The seed's X792e counters (part-6 §2.5), in part.
fn sample_counters() -> Value {
    json!({
        "lifetimeCount": 6436, "lifetimeCountUnit": "Sides", "colorPrintSideCount": 464,
        "colorPrintSheetCount": null, "monoPrintSideCount": 2636, "printSideCount": 3100,
        "printSheetCount": 3067, "copySideCount": 225, "faxSideCount": 3093, "totalSideCount": 6418,
        "colorLargeSideCount": 0, "duplexSheetCount": 41, "totalScanCount": 1099, "blankFaxSideCount": 0,
        "paperCounts": [{"paperSheetPickedCount": null, "paperSheetSafeCount": 5370,
            "paperSideColorPickedCount": 586, "paperSideColorSafeCount": 700,
            "paperSideMonoPickedCount": 2377, "paperSideMonoSafeCount": 4711,
            "paperSize": "Letter", "paperType": "Plain"}]
    })
}

/// The counters the legacy endpoint shows for [`sample_counters`]: its legacy keys with a value.
fn sample_legacy_counters() -> Value {
    json!({
        "lifetimeCount": 6436, "colorPrintSideCount": 464, "monoPrintSideCount": 2636, "printSideCount": 3100,
        "printSheetCount": 3067, "copySideCount": 225, "faxSideCount": 3093, "totalSideCount": 6418,
        "duplexSheetCount": 41
    })
}

/// The seed's yellow toner (part-6 §2.7), every field given.
fn sample_supply() -> Value {
    json!({"serialNumber": null, "currentLevel": 50, "color": "Yellow", "description": "Yellow Cartridge",
        "maximumCapacity": 6000, "type": "Toner", "capacityUnit": "Sides", "percentRemaining": null,
        "supplyState": "AUTHENTIC", "status": "Intermediate", "coverage": 0.028, "installDate": 1568701948000_i64,
        "coverageLifetime": 6.198895, "coverageLastJob": 15, "sidesOnSupply": 31355,
        "timestamp": 1621674025052_i64, "prebate": true, "genuine": null, "daysLeft": null,
        "daysLeftLastUpdated": null})
}

/// The seed's alert with a leading space (part-6 §2.9).
fn sample_alert() -> Value {
    json!({"status": "ERROR", "issue": " [145.80A]"})
}

/// The seed's diagnostic event (part-6 §2.8), every field given.
fn sample_event() -> Value {
    json!({"dateCreated": 1639077580134_i64, "alert": "Other alert", "alertDttm": 1639077580134_i64,
        "alertId": "61b25b2cc036774096bbef91", "alertType": "Prescriptive", "collectorId": "CBR01",
        "errorCode": "202.03", "errorReason": "HC_REP", "errorType": "%202.03%", "expirationDttm": 1313123,
        "hostname": "10.99.0.60", "ipAddress": "10.99.0.60", "lpc": 505535, "model": "LEXMARK CX825",
        "serialNumber": "12345SERIALNUMBER"})
}

/// A report with all four sub-resources.
fn full_report() -> Value {
    json!({"counters": sample_counters(), "supplies": [sample_supply()], "alerts": [sample_alert()],
           "diagnosticEvents": [sample_event()]})
}

fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("a timestamp, not {value}")))
        .unwrap()
        .with_timezone(&Utc)
}

async fn status(response: Response) -> u16 {
    response.status().as_u16()
}

/// How often `"name":` occurs in a JSON text (a key must appear once per object).
fn key_count(text: &str, name: &str) -> usize {
    text.matches(&format!("\"{name}\":")).count()
}

async fn wf_enroll_native_pre_org_code_enrolls_and_credential_works_until_unenrolled(storage: Storage) {
    let env = Env::start(storage).await;
    let first = env.new_code(&env.admin, &env.org, json!({"kind": "organisation"})).await;
    assert_eq!((&first["id"], &first["kind"]), (&json!("organisation"), &json!("organisation")));
    let old = first["code"].as_str().unwrap().to_string();
    let code = env.org_code(&env.admin, &env.org).await;
    assert_ne!(old, code, "regenerating makes a new code");

    let listed = env.get(&env.org_url("/enrollment-codes"), &env.admin).await;
    assert_eq!(listed.status().as_u16(), 200);
    let text = listed.text().await.unwrap();
    assert!(!text.contains(&code) && !text.contains(&old), "codes are shown once: {text}");
    let listed: Value = serde_json::from_str(&text).unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one organisation code: {listed}");
    assert_eq!(items[0]["id"], "organisation");
    assert!(items[0].get("code").is_none());

    let replaced = env.enroll(json!({"code": old, "printer": printer("WF-PRE-1", "10.1.0.1")})).await;
    expect_problem(replaced, 400, "invalid_enrollment_code").await;
    let enrolled_at = env.now();
    let enrolled = env.enrolled(&code, printer("WF-PRE-1", "10.1.0.1")).await;
    let printer_id = enrolled["printer"]["id"].as_str().unwrap().to_string();
    assert_eq!(enrolled["printer"]["orgId"], env.org.as_str());
    assert_eq!(enrolled["printer"]["serialNumber"], "WF-PRE-1");
    assert_eq!(enrolled["printer"]["releaseApp"], "Print Release eSF");
    assert_eq!(enrolled["printer"]["agentType"], "Native Agent");
    assert_eq!(time(&enrolled["printer"]["enrolledAt"]), enrolled_at);
    let credential = enrolled["credential"].clone();
    assert!(credential["clientId"].as_str().unwrap().starts_with("device-"), "{credential}");
    assert!(credential["clientSecret"].as_str().unwrap().len() >= 43, "256 random bits: {credential}");

    let token = env.device_token(&credential).await;
    env.clock.advance(Duration::minutes(5));
    let reported_at = env.now();
    assert_eq!(status(env.telemetry(&token, &full_report()).await).await, 204);
    let detail = env.get_json(&env.org_url(&format!("/printers/{printer_id}")), &env.admin).await;
    assert_eq!(time(&detail["lastCommunication"]), reported_at, "{detail}");
    assert_eq!(time(&detail["lastDataRefresh"]), reported_at);
    assert_eq!(time(&detail["enrolledAt"]), enrolled_at);
    let telemetry = &detail["telemetry"];
    assert_eq!(telemetry["counters"]["lifetimeCount"], 6436);
    assert_eq!(telemetry["counters"]["paperCounts"], sample_counters()["paperCounts"]);
    assert_eq!(telemetry["supplies"], json!([sample_supply()]));
    assert_eq!(telemetry["alerts"], json!([sample_alert()]), "the issue keeps its space");
    assert_eq!(telemetry["diagnosticEvents"], json!([sample_event()]));
    assert_eq!(status(env.heartbeat(&token).await).await, 204);

    // BR-UE-01/05/08: unenrolling cannot be stopped, revokes the credential at once and
    // takes the printer out of the lists.
    let item = env.org_url(&format!("/printers/{printer_id}"));
    assert_eq!(status(env.call(Method::DELETE, &item, Some(&env.admin), None).await).await, 204);
    expect_problem(env.telemetry(&token, &full_report()).await, 401, "device_unenrolled").await;
    expect_problem(env.heartbeat(&token).await, 401, "device_unenrolled").await;
    expect_problem(env.grant(&credential).await, 401, "invalid_client").await;
    assert!(env.listed_serials(&env.admin, &env.org, &[]).await.is_empty(), "unenrolled printers leave the list");
    expect_problem(env.get(&item, &env.admin).await, 404, "printer_not_found").await;
    expect_problem(env.call(Method::DELETE, &item, Some(&env.admin), None).await, 404, "printer_not_found").await;
    env.running.shutdown().await;
}

async fn r_enr_3_a_printer_belongs_to_one_organisation(storage: Storage) {
    let env = Env::start(storage).await;
    let code_a = env.org_code(&env.admin, &env.org).await;
    let (org_b, _) = second_org(&env.running).await;
    let admin_b = access_token(&env.running.url, "admin@other.example", ADMIN_PASSWORD).await;
    let code_b = env.org_code(&admin_b, &org_b).await;

    let first = env.enrolled(&code_a, printer("RENR3-S", "10.2.0.1")).await;
    let printer_id = first["printer"]["id"].as_str().unwrap().to_string();
    let first_token = env.device_token(&first["credential"]).await;
    for serial in ["RENR3-S", "renr3-s"] {
        let elsewhere = env.enroll(json!({"code": code_b, "printer": printer(serial, "10.2.0.1")})).await;
        expect_problem(elsewhere, 409, "printer_enrolled_elsewhere").await;
    }
    let asked = env.enroll(json!({"requestPrinterCode": true, "printer": printer("RENR3-S", "10.2.0.1")})).await;
    assert_eq!(asked.status().as_u16(), 202);
    let asked: Value = asked.json().await.unwrap();
    let claim = json!({"code": asked["printerCode"]});
    let claimed = env.call(Method::POST, &env.in_org(&org_b, "/printers/claim"), Some(&admin_b), Some(&claim)).await;
    expect_problem(claimed, 409, "printer_enrolled_elsewhere").await;
    assert!(env.listed_serials(&admin_b, &org_b, &[]).await.is_empty());

    // Enrolling again in the same organisation replaces the credential (a reset printer).
    let again = env.enrolled(&code_a, printer("RENR3-S", "10.2.0.2")).await;
    assert_eq!(again["printer"]["id"], printer_id.as_str(), "the same printer");
    assert_eq!(again["printer"]["ipAddress"], "10.2.0.2");
    assert_ne!(again["credential"]["clientId"], first["credential"]["clientId"]);
    expect_problem(env.telemetry(&first_token, &full_report()).await, 401, "device_unenrolled").await;
    expect_problem(env.grant(&first["credential"]).await, 401, "invalid_client").await;
    let token = env.device_token(&again["credential"]).await;
    assert_eq!(status(env.telemetry(&token, &full_report()).await).await, 204);
    assert_eq!(env.listed_serials(&env.admin, &env.org, &[]).await, ["RENR3-S"]);

    let item = env.org_url(&format!("/printers/{printer_id}"));
    assert_eq!(status(env.call(Method::DELETE, &item, Some(&env.admin), None).await).await, 204);
    let moved = env.enrolled(&code_b, printer("RENR3-S", "10.9.0.1")).await;
    assert_eq!(moved["printer"]["orgId"], org_b.as_str());
    assert_eq!(env.listed_serials(&admin_b, &org_b, &[]).await, ["RENR3-S"]);
    assert!(env.listed_serials(&env.admin, &env.org, &[]).await.is_empty());
    expect_problem(env.telemetry(&token, &full_report()).await, 401, "device_unenrolled").await;
    let back = env.enroll(json!({"code": code_a, "printer": printer("RENR3-S", "10.2.0.1")})).await;
    expect_problem(back, 409, "printer_enrolled_elsewhere").await;
    env.running.shutdown().await;
}

/// Activates an agent named `name` with `code`.
async fn activate(env: &Env, code: &Value, name: &str) -> Response {
    let agent = json!({"agentType": "Fleet Agent", "name": name, "version": "3.1.0", "hostname": "fa.example.org"});
    env.enroll(json!({"code": code["code"], "agent": agent})).await
}

async fn activated(env: &Env, code: &Value, name: &str) -> Value {
    let response = activate(env, code, name).await;
    assert_eq!(response.status().as_u16(), 201, "activation of {name}");
    response.json().await.unwrap()
}

/// An agent's `POST /v1/enroll` of `printer` with its device token: status and raw JSON text.
async fn enroll_by_agent(env: &Env, token: &str, printer: Value) -> (u16, String) {
    let body = json!({"printer": printer});
    let response = env.call(Method::POST, &env.url("/v1/enroll"), Some(token), Some(&body)).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn br_la_02_03_activation_codes_expire_after_72_hours_and_limit_activations(storage: Storage) {
    let mut env = Env::start(storage).await;
    let body = json!({"kind": "agentActivation", "agentType": "Fleet Agent", "maxActivations": 2});
    let code = env.new_code(&env.admin, &env.org, body).await;
    assert_eq!(code["kind"], "agentActivation");
    assert_eq!(code["agentType"], "Fleet Agent");
    assert_eq!((&code["maxActivations"], &code["activationsLeft"]), (&json!(2), &json!(2)));
    assert_eq!(time(&code["expiresAt"]) - time(&code["createdAt"]), Duration::hours(72), "BR-LA-02");

    let first = activated(&env, &code, "Fleet server 1").await;
    assert_eq!(first["agent"]["agentType"], "Fleet Agent");
    assert_eq!(first["agent"]["orgId"], env.org.as_str());
    let second = activated(&env, &code, "Fleet server 2").await;
    expect_problem(activate(&env, &code, "Fleet server 3").await, 409, "activation_limit_reached").await;
    let codes = env.get_json(&env.org_url("/enrollment-codes"), &env.admin).await;
    let listed = codes["items"].as_array().unwrap().iter().find(|c| c["id"] == code["id"]).unwrap();
    assert_eq!(listed["activationsLeft"], 0, "{codes}");
    assert!(listed.get("code").is_none());
    let as_printer = env.enroll(json!({"code": code["code"], "printer": printer("BRLA-P0", "10.3.0.9")})).await;
    expect_problem(as_printer, 400, "wrong_code_kind").await;

    // An activated agent enrolls the printers it manages (BR-LA-05); one agent per printer (BR-AGT-1).
    let first_token = env.device_token(&first["credential"]).await;
    let second_token = env.device_token(&second["credential"]).await;
    let (status_code, text) = enroll_by_agent(&env, &first_token, printer("BRLA-P1", "10.3.0.1")).await;
    assert_eq!(status_code, 201, "{text}");
    let managed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(managed["printer"]["agentType"], "Fleet Agent", "{managed}");
    assert_eq!(managed["printer"]["agentId"], first["agent"]["id"]);
    assert_eq!(key_count(&text, "agentType"), 1, "the printer answers one agentType: {text}");
    let (status_code, text) = enroll_by_agent(&env, &second_token, printer("BRLA-P1", "10.3.0.1")).await;
    assert_eq!(status_code, 409, "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["code"], "printer_managed_by_another_agent");
    let (status_code, text) = enroll_by_agent(&env, &first_token, printer("BRLA-P1", "10.3.0.2")).await;
    assert_eq!(status_code, 201, "its own agent enrolls it again: {text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["printer"]["id"], managed["printer"]["id"]);
    let printer_token = env.device_token(&serde_json::from_str::<Value>(&text).unwrap()["credential"]).await;
    assert_eq!(status(env.telemetry(&printer_token, &full_report()).await).await, 204);

    // BR-LA-02: a code works for 72 hours, not in the 73rd.
    let body = json!({"kind": "agentActivation", "agentType": "Fleet Agent", "maxActivations": 3});
    let later = env.new_code(&env.admin, &env.org, body).await;
    env.advance(Duration::hours(71) + Duration::minutes(59)).await;
    activated(&env, &later, "Fleet server 4").await;
    env.advance(Duration::minutes(2)).await;
    expect_problem(activate(&env, &later, "Fleet server 5").await, 400, "invalid_enrollment_code").await;
    let codes = env.get_json(&env.org_url("/enrollment-codes"), &env.admin).await;
    assert!(codes["items"].as_array().unwrap().iter().all(|c| c["kind"] != "agentActivation"), "expired: {codes}");
    let agents = env.get_json(&env.org_url("/agents"), &env.admin).await;
    let mut names: Vec<&str> =
        agents["items"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Fleet server 1", "Fleet server 2", "Fleet server 4"]);
    // The managed printer's detail names its agent type once, as the managing agent's type.
    let item = env.org_url(&format!("/printers/{}", managed["printer"]["id"].as_str().unwrap()));
    let detail = env.get(&item, &env.admin).await.text().await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&detail).unwrap()["agentType"], "Fleet Agent");
    assert_eq!(key_count(&detail, "agentType"), 1, "one agentType key in the printer's detail: {detail}");
    env.running.shutdown().await;
}

async fn wf_enroll_native_printercode_printer_generated_code_flow(storage: Storage) {
    let env = Env::start(storage).await;
    let asked = env.enroll(json!({"requestPrinterCode": true, "printer": printer("PCODE-1", "10.4.0.1")})).await;
    assert_eq!(asked.status().as_u16(), 202);
    let asked: Value = asked.json().await.unwrap();
    let printer_code = asked["printerCode"].as_str().unwrap().to_string();
    let poll_secret = asked["pollSecret"].as_str().unwrap().to_string();
    assert_eq!(time(&asked["expiresAt"]) - env.now(), Duration::hours(1));
    let poll = json!({"printerCode": printer_code, "pollSecret": poll_secret});
    let claim_url = env.org_url("/printers/claim");
    let wrong_code = if printer_code == "ABCD-EFGH" { "HGFE-DCBA" } else { "ABCD-EFGH" };
    let wrong = env.call(Method::POST, &claim_url, Some(&env.admin), Some(&json!({"code": wrong_code}))).await;
    expect_problem(wrong, 404, "printer_code_not_found").await;

    let pending = env.enroll(poll.clone()).await;
    assert_eq!(pending.status().as_u16(), 202);
    assert_eq!(pending.json::<Value>().await.unwrap(), json!({"state": "pending"}));
    let guessed = env.enroll(json!({"printerCode": printer_code, "pollSecret": "A".repeat(32)})).await;
    expect_problem(guessed, 404, "printer_code_not_found").await;

    let claimed = env.call(Method::POST, &claim_url, Some(&env.admin), Some(&json!({"code": printer_code}))).await;
    assert_eq!(claimed.status().as_u16(), 202);
    let claimed: Value = claimed.json().await.unwrap();
    assert_eq!(claimed, json!({"serialNumber": "PCODE-1", "model": "CX825", "state": "claimed"}));
    let twice = env.call(Method::POST, &claim_url, Some(&env.admin), Some(&json!({"code": printer_code}))).await;
    expect_problem(twice, 404, "printer_code_not_found").await;
    assert!(env.listed_serials(&env.admin, &env.org, &[]).await.is_empty(), "enrolled at the next poll");

    let enrolled = env.enroll(poll.clone()).await;
    assert_eq!(enrolled.status().as_u16(), 201);
    let enrolled: Value = enrolled.json().await.unwrap();
    assert_eq!(enrolled["printer"]["orgId"], env.org.as_str());
    assert_eq!(enrolled["printer"]["serialNumber"], "PCODE-1");
    let token = env.device_token(&enrolled["credential"]).await;
    assert_eq!(status(env.telemetry(&token, &json!({"alerts": [sample_alert()]})).await).await, 204);
    assert_eq!(env.listed_serials(&env.admin, &env.org, &[]).await, ["PCODE-1"]);
    expect_problem(env.enroll(poll).await, 404, "printer_code_not_found").await;
    env.running.shutdown().await;
}

async fn telemetry_rejects_malformed_values_naming_the_field(storage: Storage) {
    let env = Env::start(storage).await;
    let code = env.org_code(&env.admin, &env.org).await;
    let enrolled = env.enrolled(&code, printer("TELE-1", "10.5.0.1")).await;
    let token = env.device_token(&enrolled["credential"]).await;
    assert_eq!(status(env.telemetry(&token, &full_report()).await).await, 204);
    let item = env.org_url(&format!("/printers/{}", enrolled["printer"]["id"].as_str().unwrap()));
    let before = env.get_json(&item, &env.admin).await;
    env.clock.advance(Duration::minutes(1));

    let refused = [
        (json!({"counters": {"lifetimeCount": "many"}}), "counters.lifetimeCount", "invalid type"),
        (json!({"counters": {"printSideCount": 1.5}}), "counters.printSideCount", "invalid type"),
        (json!({"supplies": [{"currentLevel": 50}, {"currentLevel": 101}]}), "supplies[1].currentLevel", "100"),
        (json!({"supplies": [{"percentRemaining": -1}]}), "supplies[0].percentRemaining", "100"),
        (json!({"supplies": [{"coverage": -0.5}]}), "supplies[0].coverage", "0 or more"),
        (json!({"alerts": [{"status": "ERROR", "isue": "typo"}]}), "alerts[0].isue", "unknown field"),
        (json!({"alerts": {"status": "ERROR"}}), "alerts", "invalid type"),
        (json!({"counters": {"paperCounts": [{"paperSize": 5}]}}), "counters.paperCounts[0].paperSize", "invalid type"),
        (json!({"diagnosticEvents": [{"expirationDttm": 1}]}), "diagnosticEvents[0]", "dateCreated"),
        (json!({"counters": sample_counters(), "suplies": []}), "suplies", "unknown field"),
    ];
    for (body, path, why) in refused {
        let problem = expect_problem(env.telemetry(&token, &body).await, 400, "invalid_field").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.starts_with(&format!("{path}: ")) && detail.contains(why), "{body}: {detail}");
    }
    let empty = expect_problem(env.telemetry(&token, &json!({})).await, 400, "empty_telemetry").await;
    assert!(empty["detail"].as_str().unwrap().contains("counters"), "{empty}");
    expect_problem(env.telemetry_raw(&token, "").await, 400, "invalid_json").await;
    expect_problem(env.telemetry_raw(&token, "{\"counters\": ").await, 400, "invalid_json").await;

    assert_eq!(env.get_json(&item, &env.admin).await, before, "refused reports change nothing");
    env.running.shutdown().await;
}

/// The exact fields of an asset (part-6 §2.4).
const ASSET_FIELDS: [&str; 17] = [
    "manufacturer",
    "modelName",
    "serialNumber",
    "accountId",
    "name",
    "description",
    "dateCreated",
    "dateModified",
    "lastCommunication",
    "lastDataRefresh",
    "communicating",
    "authenticated",
    "baseFirmwareLastModifiedDate",
    "counters",
    "diagnosticEvents",
    "supplies",
    "alerts",
];

/// The exact fields of a page (part-6 §2.10).
const PAGE_FIELDS: [&str; 11] = [
    "content",
    "pageable",
    "totalElements",
    "totalPages",
    "last",
    "sort",
    "first",
    "numberOfElements",
    "size",
    "number",
    "empty",
];

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().unwrap_or_else(|| panic!("an object, not {value}")).keys().map(String::as_str).collect()
}

fn is_millis(value: &Value) -> bool {
    value.as_i64().is_some_and(|n| n > 1_000_000_000_000)
}

/// Checks an asset's field names and types against part-6 §2.4.
fn check_asset_shape(asset: &Value) {
    assert_eq!(keys(asset), ASSET_FIELDS.into_iter().collect(), "asset fields: {asset}");
    for field in ["manufacturer", "modelName", "serialNumber", "accountId"] {
        assert!(asset[field].is_string(), "{field}: {asset}");
    }
    for field in ["name", "description"] {
        assert!(asset[field].is_null() || asset[field].is_string(), "{field}: {asset}");
    }
    for field in ["dateCreated", "dateModified", "lastDataRefresh"] {
        assert!(is_millis(&asset[field]), "{field} in epoch milliseconds: {asset}");
    }
    for field in ["lastCommunication", "baseFirmwareLastModifiedDate"] {
        assert!(asset[field].is_null() || is_millis(&asset[field]), "{field}: {asset}");
    }
    for field in ["communicating", "authenticated"] {
        assert!(asset[field].is_null() || asset[field].is_boolean(), "{field}: {asset}");
    }
    assert!(asset["counters"].is_null() || asset["counters"].is_object(), "counters: {asset}");
    for field in ["diagnosticEvents", "supplies", "alerts"] {
        assert!(asset[field].is_array(), "{field}: {asset}");
    }
}

/// Checks a page envelope (part-6 §2.10, computed correctly per §9).
fn check_page(page: &Value, number: u64, size: u64, count: u64, total: u64) {
    assert_eq!(keys(page), PAGE_FIELDS.into_iter().collect(), "page fields");
    let pages = total.div_ceil(size);
    let sort = json!({"sorted": false, "unsorted": true, "empty": true});
    assert_eq!(page["content"].as_array().unwrap().len() as u64, count, "content of page {number}");
    assert_eq!(page["numberOfElements"], count);
    assert_eq!(page["totalElements"], total);
    assert_eq!(page["totalPages"], pages);
    assert_eq!(page["number"], number);
    assert_eq!(page["size"], size);
    assert_eq!(page["first"], number == 0);
    assert_eq!(page["last"], number + 1 >= pages);
    assert_eq!(page["empty"], count == 0);
    assert_eq!(page["sort"], sort);
    let pageable = json!({"sort": sort, "pageNumber": number, "pageSize": size, "offset": number * size,
                          "paged": true, "unpaged": false});
    assert_eq!(page["pageable"], pageable);
}

/// A child organisation of `parent` with its own Organization Administrator `email`,
/// written to storage as [`second_org`] does.
async fn child_org(running: &Running, parent: &str, id: &str, email: &str) {
    let now = Utc::now();
    let org = Organisation {
        id: id.into(),
        name: format!("Child {id}"),
        parent_id: Some(parent.into()),
        entitlements: Service::ALL.into_iter().collect(),
        time_zone: "UTC".into(),
        roles: Vec::new(),
        sub_org_creation_enabled: false,
        mps_express: false,
        deleting: false,
        created_at: now,
    };
    let mut writes = store::create_org_writes(&org).unwrap();
    writes.extend(user_writes(id, email, vec![Role::OrganizationAdministrator]));
    writes.extend(groups::predefined_group_writes(id, now).unwrap());
    running.ctx.table.transact(writes).await.unwrap();
}

fn user_writes(org: &str, email: &str, roles: Vec<Role>) -> Vec<shared::ports::Write> {
    let user = UserRecord {
        user: User {
            id: format!("user-{}", email.replace(['@', '.'], "-")),
            org_id: org.into(),
            email: email.into(),
            roles,
            created_at: Utc::now(),
            version: 1,
            ..User::default()
        },
        password_hash: Some(shared::passwords::hash(ADMIN_PASSWORD)),
    };
    store::create_user_writes(&user).unwrap()
}

/// A user of `org` with `roles`, written to storage; answers their access token.
async fn user_with(running: &Running, org: &str, email: &str, roles: Vec<Role>) -> String {
    running.ctx.table.transact(user_writes(org, email, roles)).await.unwrap();
    access_token(&running.url, email, ADMIN_PASSWORD).await
}

/// One Integration API GET with `token`.
async fn integration(env: &Env, token: &str, path: &str, query: &[(&str, &str)]) -> Response {
    let url = env.url(&format!("{INTEGRATION}{path}"));
    env.http.get(url).bearer_auth(token).query(query).send().await.unwrap()
}

async fn integration_json(env: &Env, token: &str, path: &str, query: &[(&str, &str)]) -> Value {
    let response = integration(env, token, path, query).await;
    assert_eq!(response.status().as_u16(), 200, "{path} {query:?}");
    response.json().await.unwrap()
}

/// Enrolls `count` printers `<prefix>-<n>` with `code`, one after the other (moto fails
/// concurrent transactions); answers the enrollments in order.
async fn enroll_many(env: &Env, code: &str, prefix: &str, subnet: u8, count: usize) -> Vec<Value> {
    let mut enrolled = Vec::with_capacity(count);
    for n in 0..count {
        let ip = format!("10.{subnet}.{}.{}", n / 200, n % 200 + 1);
        enrolled.push(env.enrolled(code, printer(&format!("{prefix}-{n:03}"), &ip)).await);
    }
    enrolled
}

fn serial_of(enrollment: &Value) -> String {
    enrollment["printer"]["serialNumber"].as_str().unwrap().to_string()
}

async fn r_api_fleet_integration_api_pages_over_parent_and_children(storage: Storage) {
    let mut env = Env::start(storage).await;
    let parent = env.org.clone();
    child_org(&env.running, &parent, "child-1", "admin@child1.example").await;
    child_org(&env.running, &parent, "child-2", "admin@child2.example").await;
    let admin_1 = access_token(&env.running.url, "admin@child1.example", ADMIN_PASSWORD).await;
    let admin_2 = access_token(&env.running.url, "admin@child2.example", ADMIN_PASSWORD).await;
    let enrolled_at = env.now().timestamp_millis();
    let code = env.org_code(&env.admin, &parent).await;
    let in_parent = enroll_many(&env, &code, "PAR", 1, 100).await;
    let code = env.org_code(&admin_1, "child-1").await;
    let in_child_1 = enroll_many(&env, &code, "CHA", 2, 80).await;
    let code = env.org_code(&admin_2, "child-2").await;
    let in_child_2 = enroll_many(&env, &code, "CHB", 3, 70).await;
    let mut owner = BTreeMap::new();
    for (org, enrolled) in [(parent.as_str(), &in_parent), ("child-1", &in_child_1), ("child-2", &in_child_2)] {
        for enrollment in enrolled {
            owner.insert(serial_of(enrollment), org.to_string());
        }
    }
    assert_eq!(owner.len(), 250);

    let named = in_parent[1]["printer"]["id"].as_str().unwrap();
    let patch = json!({"name": "Lobby", "description": "By the door"});
    let item = env.org_url(&format!("/printers/{named}"));
    let renamed = env.call(Method::PATCH, &item, Some(&env.admin), Some(&patch)).await;
    assert_eq!(status(renamed).await, 200);
    env.advance(Duration::minutes(1)).await;
    let reported_at = env.now().timestamp_millis();
    let full = serial_of(&in_parent[0]);
    let token = env.device_token(&in_parent[0]["credential"]).await;
    assert_eq!(status(env.telemetry(&token, &full_report()).await).await, 204);
    let counted = serial_of(&in_child_2[5]);
    let token = env.device_token(&in_child_2[5]["credential"]).await;
    let counters_only = json!({"counters": sample_counters()});
    assert_eq!(status(env.telemetry(&token, &counters_only).await).await, 204);

    let app = env.application_token(&env.admin, &parent, "Fleet export", json!(["fleet-integration"])).await;
    // R-API-1/2: pages of at most 200 over the parent and its children, each printer once.
    let mut seen = BTreeMap::new();
    for (number, count) in [(0, 200), (1, 50), (2, 0)] {
        let query = [("size", "200"), ("page", &number.to_string()[..])];
        let page = integration_json(&env, &app, "/v1.0/assets", &query).await;
        check_page(&page, number, 200, count, 250);
        for asset in page["content"].as_array().unwrap() {
            check_asset_shape(asset);
            let serial = asset["serialNumber"].as_str().unwrap().to_string();
            assert_eq!(asset["accountId"], owner[&serial].as_str(), "accountId of {serial}");
            assert_eq!(asset["dateCreated"], enrolled_at, "{asset}");
            assert_eq!(asset["communicating"], true);
            assert_eq!((&asset["manufacturer"], &asset["modelName"]), (&json!("Lexmark"), &json!("CX825")));
            assert!(seen.insert(serial.clone(), asset.clone()).is_none(), "{serial} on two pages");
        }
    }
    assert_eq!(seen.keys().collect::<Vec<_>>(), owner.keys().collect::<Vec<_>>(), "every printer exactly once");
    let quiet = &seen[&serial_of(&in_parent[2])];
    assert_eq!((&quiet["lastDataRefresh"], &quiet["lastCommunication"]), (&json!(enrolled_at), &json!(enrolled_at)));
    assert_eq!((&quiet["counters"], &quiet["supplies"]), (&Value::Null, &json!([])));
    let lobby = &seen[&serial_of(&in_parent[1])];
    assert_eq!((&lobby["name"], &lobby["description"]), (&json!("Lobby"), &json!("By the door")));
    let reporting = &seen[&full];
    assert_eq!(
        (&reporting["lastDataRefresh"], &reporting["lastCommunication"]),
        (&json!(reported_at), &json!(reported_at))
    );

    let default = integration_json(&env, &app, "/v1.0/assets", &[]).await;
    check_page(&default, 0, 50, 50, 250);
    let fourth = integration_json(&env, &app, "/v1.0/assets", &[("page", "4")]).await;
    check_page(&fourth, 4, 50, 50, 250);
    for (query, code) in [
        (vec![("size", "201")], "invalid_page_size"),
        (vec![("size", "0")], "invalid_page_size"),
        (vec![("page", "first")], "invalid_query"),
        (vec![("serialNumber", "")], "invalid_query"),
    ] {
        expect_problem(integration(&env, &app, "/v1.0/assets", &query).await, 400, code).await;
    }

    // R-API-5: one asset by serial number; part-6 §2.11: each endpoint fills only its own part.
    let one = integration_json(&env, &app, "/v1.0/assets", &[("serialNumber", &counted)]).await;
    check_page(&one, 0, 50, 1, 1);
    assert_eq!(one["content"][0]["accountId"], "child-2");
    assert_eq!(one["content"][0]["counters"]["lifetimeCount"], 6436);
    let none = integration_json(&env, &app, "/v1.0/assets", &[("serialNumber", "NO-SUCH-SERIAL")]).await;
    check_page(&none, 0, 50, 0, 0);
    let counters = sample_counters();
    let projections = [
        ("/v1.0/assets", true, true, true, true),
        ("/v1.0/assets/supplies", false, true, false, false),
        ("/v1.0/assets/diagnostics", false, false, true, false),
        ("/v1.0/assets/alerts", false, false, false, true),
        ("/v1.0/assets/counters", true, false, false, false),
    ];
    for (path, has_counters, has_supplies, has_events, has_alerts) in projections {
        let page = integration_json(&env, &app, path, &[("serialNumber", &full)]).await;
        check_page(&page, 0, 50, 1, 1);
        let asset = &page["content"][0];
        check_asset_shape(asset);
        if has_counters {
            let object = asset["counters"].as_object().unwrap();
            assert_eq!(object.len(), 51, "{path}: every v1.0 counter, nulls included");
            for (name, value) in counters.as_object().unwrap() {
                assert_eq!(&object[name], value, "{path}: counters.{name}");
            }
            assert_eq!(object["copyScanCount"], Value::Null);
        } else {
            assert_eq!(asset["counters"], Value::Null, "{path}");
        }
        let expect = |served: bool, sample: Value| if served { json!([sample]) } else { json!([]) };
        assert_eq!(asset["supplies"], expect(has_supplies, sample_supply()), "{path}");
        assert_eq!(asset["diagnosticEvents"], expect(has_events, sample_event()), "{path}");
        assert_eq!(asset["alerts"], expect(has_alerts, sample_alert()), "{path}");
        let all = integration_json(&env, &app, path, &[("size", "200"), ("page", "1")]).await;
        check_page(&all, 1, 200, 50, 250);
    }

    // R-API-4: the deprecated unpaginated list, keys without a value left out.
    let legacy = integration(&env, &app, "/assets/inventory/counters", &[]).await;
    assert_eq!(legacy.status().as_u16(), 200);
    let legacy: Value = legacy.json().await.unwrap();
    let legacy = legacy.as_array().expect("a top-level array");
    assert_eq!(legacy.len(), 250);
    let mut legacy_serials = BTreeSet::new();
    for record in legacy {
        assert_eq!(keys(record), ["counters", "dateCollected", "serialNumber"].into_iter().collect(), "{record}");
        let serial = record["serialNumber"].as_str().unwrap().to_string();
        if serial == full || serial == counted {
            assert_eq!(record["counters"], sample_legacy_counters(), "{serial}");
            assert_eq!(record["dateCollected"], reported_at);
        } else {
            assert_eq!((&record["counters"], &record["dateCollected"]), (&json!({}), &Value::Null), "{serial}");
        }
        legacy_serials.insert(serial);
    }
    assert_eq!(legacy_serials.iter().collect::<Vec<_>>(), owner.keys().collect::<Vec<_>>());

    // A child organisation's application sees only its own printers.
    let child_app = env.application_token(&admin_1, "child-1", "Child export", json!(["fleet-integration"])).await;
    let page = integration_json(&env, &child_app, "/v1.0/assets", &[("size", "200")]).await;
    check_page(&page, 0, 200, 80, 80);
    assert!(page["content"].as_array().unwrap().iter().all(|a| a["accountId"] == "child-1"));
    let parent_serial = serial_of(&in_parent[0]);
    let hidden = integration_json(&env, &child_app, "/v1.0/assets", &[("serialNumber", &parent_serial)]).await;
    check_page(&hidden, 0, 50, 0, 0);
    let legacy = integration_json(&env, &child_app, "/assets/inventory/counters", &[]).await;
    assert_eq!(legacy.as_array().unwrap().len(), 80);
    // An administrator's own token reads the same scope as the organisation's applications.
    let page = integration_json(&env, &env.admin, "/v1.0/assets/alerts", &[("size", "1")]).await;
    check_page(&page, 0, 1, 1, 250);
    env.running.shutdown().await;
}

/// A label of the organisation; answers its id.
async fn create_label(env: &Env, name: &str) -> String {
    let response = env.post(&env.org_url("/labels"), &env.admin, json!({"name": name})).await;
    assert_eq!(response.status().as_u16(), 201, "label {name}");
    let label: Value = response.json().await.unwrap();
    assert_eq!(label["name"], name);
    label["id"].as_str().unwrap().to_string()
}

async fn import(env: &Env, label: &str, file_name: &str, bytes: Vec<u8>) -> Response {
    let url = env.org_url(&format!("/labels/{label}/import"));
    let request = env.http.post(url).bearer_auth(&env.admin).query(&[("fileName", file_name)]);
    request.header("content-type", "text/csv").body(bytes).send().await.unwrap()
}

async fn br_lb_03_04_label_import_seed_files_and_refusals(storage: Storage) {
    let mut env = Env::start(storage).await;
    let code = env.org_code(&env.admin, &env.org).await;
    let by_ip = env.enrolled(&code, printer("LBL-IP-1", "10.195.2.10")).await;
    let by_serial = env.enrolled(&code, printer("50621094752gk", "10.7.0.1")).await;
    env.enrolled(&code, printer("LBL-OTHER", "10.7.0.2")).await;
    let (ip_id, serial_id) = (by_ip["printer"]["id"].as_str().unwrap(), by_serial["printer"]["id"].as_str().unwrap());

    let floor = create_label(&env, "Floor 2").await;
    let seed_ips = b"IP Address\n10.195.2.10\n10.4.5.100\n10.194.8.182\n".to_vec();
    let summary = import(&env, &floor, "printers.csv", seed_ips).await;
    assert_eq!(summary.status().as_u16(), 200);
    let summary: Value = summary.json().await.unwrap();
    assert_eq!(
        summary,
        json!({"labelled": 1, "notLabelled": 2, "notLabelledEntries": ["10.4.5.100", "10.194.8.182"]}),
        "BR-LB-04"
    );
    assert_eq!(env.listed_serials(&env.admin, &env.org, &[("label", &floor)]).await, ["LBL-IP-1"]);
    let detail = env.get_json(&env.org_url(&format!("/printers/{ip_id}")), &env.admin).await;
    assert_eq!(detail["labels"], json!([floor]));

    let reception = create_label(&env, "Reception").await;
    let summary = import(&env, &reception, "serials.txt", b"Serial Number\n50621094752gk\n".to_vec()).await;
    assert_eq!(summary.status().as_u16(), 200);
    let summary: Value = summary.json().await.unwrap();
    assert_eq!(summary, json!({"labelled": 1, "notLabelled": 0, "notLabelledEntries": []}));
    assert_eq!(env.listed_serials(&env.admin, &env.org, &[("label", &reception)]).await, ["50621094752gk"]);
    let attach = env.org_url(&format!("/printers/{serial_id}/labels/{floor}"));
    assert_eq!(status(env.call(Method::PUT, &attach, Some(&env.admin), None).await).await, 204);
    let mut floor_serials = env.listed_serials(&env.admin, &env.org, &[("label", &floor)]).await;
    floor_serials.sort();
    assert_eq!(floor_serials, ["50621094752gk", "LBL-IP-1"], "BR-LB-05: several labels per printer");

    // BR-LB-03 refusals; a refused file labels nothing.
    let empty = create_label(&env, "Refused").await;
    let mut big = b"IP Address\n".to_vec();
    while big.len() <= 200 * 1024 {
        big.extend_from_slice(b"10.195.2.10\n");
    }
    let refusals: [(&str, Vec<u8>, u16, &str); 7] = [
        ("big.csv", big, 413, "file_too_large"),
        ("printers.pdf", b"IP Address\n10.195.2.10\n".to_vec(), 400, "unsupported_file_type"),
        ("printers.csv", b"Hostname\nprn-1\n".to_vec(), 400, "invalid_header"),
        ("printers.csv", b"IP Address\n10.195.2.10\n\n10.4.5.100\n".to_vec(), 400, "blank_line"),
        ("printers.csv", b"IP Address\n10.195.2.10\n10.195.2.300\n".to_vec(), 400, "invalid_ip_address"),
        ("printers.txt", b"IP Address\nprinter-one\n".to_vec(), 400, "invalid_ip_address"),
        ("printers.csv", b"IP Address\n".to_vec(), 400, "no_entries"),
    ];
    for (name, bytes, status_code, code) in refusals {
        expect_problem(import(&env, &empty, name, bytes).await, status_code, code).await;
    }
    assert!(env.listed_serials(&env.admin, &env.org, &[("label", &empty)]).await.is_empty());
    let unknown = import(&env, "no-such-label", "printers.csv", b"IP Address\n10.195.2.10\n".to_vec()).await;
    expect_problem(unknown, 404, "label_not_found").await;

    // BR-LB-01: names are unique regardless of case.
    for name in ["floor 2", " FLOOR 2 "] {
        let taken = env.post(&env.org_url("/labels"), &env.admin, json!({"name": name})).await;
        expect_problem(taken, 409, "label_name_taken").await;
    }
    // The list's other filters (part-3 §4.3): model and serial in any case, communicating within 24 hours.
    let found = env.listed_serials(&env.admin, &env.org, &[("model", "cx825"), ("serial", "lbl-ip-1")]).await;
    assert_eq!(found, ["LBL-IP-1"]);
    assert_eq!(env.listed_serials(&env.admin, &env.org, &[("communicating", "true")]).await.len(), 3);
    env.advance(Duration::hours(24) + Duration::minutes(1)).await;
    assert!(env.listed_serials(&env.admin, &env.org, &[("communicating", "true")]).await.is_empty());
    assert_eq!(env.listed_serials(&env.admin, &env.org, &[("communicating", "false")]).await.len(), 3);
    // A file far above 200 KB is refused the same way, as a problem.
    let mut huge = b"IP Address\n".to_vec();
    while huge.len() <= 300 * 1024 {
        huge.extend_from_slice(b"10.195.2.10\n");
    }
    expect_problem(import(&env, &empty, "huge.csv", huge).await, 413, "file_too_large").await;
    env.running.shutdown().await;
}

async fn fleet_routes_isolate_organisations(storage: Storage) {
    let env = Env::start(storage).await;
    let code = env.org_code(&env.admin, &env.org).await;
    let enrolled = env.enrolled(&code, printer("ISO-1", "10.8.0.1")).await;
    let printer_id = enrolled["printer"]["id"].as_str().unwrap().to_string();
    let label = create_label(&env, "Mine").await;
    let activation =
        env.new_code(&env.admin, &env.org, json!({"kind": "agentActivation", "agentType": "Fleet Agent"})).await;
    let code_id = activation["id"].as_str().unwrap().to_string();
    let (org_b, _) = second_org(&env.running).await;
    let admin_b = access_token(&env.running.url, "admin@other.example", ADMIN_PASSWORD).await;
    let before = env.get_json(&env.org_url(&format!("/printers/{printer_id}")), &env.admin).await;

    let routes = |org: &str| {
        let printer = format!("/printers/{printer_id}");
        vec![
            (Method::GET, env.in_org(org, "/printers"), None),
            (Method::GET, env.in_org(org, &printer), None),
            (Method::PATCH, env.in_org(org, &printer), Some(json!({"name": "Taken"}))),
            (Method::DELETE, env.in_org(org, &printer), None),
            (Method::GET, env.in_org(org, "/enrollment-codes"), None),
            (Method::POST, env.in_org(org, "/enrollment-codes"), Some(json!({"kind": "organisation"}))),
            (Method::DELETE, env.in_org(org, &format!("/enrollment-codes/{code_id}")), None),
            (Method::POST, env.in_org(org, "/printers/claim"), Some(json!({"code": "ABCD-EFGH"}))),
            (Method::GET, env.in_org(org, "/agents"), None),
            (Method::GET, env.in_org(org, "/labels"), None),
            (Method::POST, env.in_org(org, "/labels"), Some(json!({"name": "Intruder"}))),
            (Method::PATCH, env.in_org(org, &format!("/labels/{label}")), Some(json!({"name": "Renamed"}))),
            (Method::PUT, env.in_org(org, &format!("{printer}/labels/{label}")), None),
            (Method::DELETE, env.in_org(org, &format!("{printer}/labels/{label}")), None),
            (Method::DELETE, env.in_org(org, &format!("/labels/{label}")), None),
        ]
    };
    for (method, url, body) in routes(&env.org) {
        let response = env.call(method.clone(), &url, Some(&admin_b), body.as_ref()).await;
        assert_eq!(response.status().as_u16(), 404, "{method} {url} as organisation B's administrator");
    }
    let import = env.org_url(&format!("/labels/{label}/import"));
    let import = env.http.post(import).bearer_auth(&admin_b).body("IP Address\n10.8.0.1\n").send();
    assert_eq!(status(import.await.unwrap()).await, 404);
    // A's ids in B's own routes are unknown there.
    let in_b = env.in_org(&org_b, &format!("/printers/{printer_id}"));
    expect_problem(env.get(&in_b, &admin_b).await, 404, "printer_not_found").await;
    let in_b = env.in_org(&org_b, &format!("/printers/{printer_id}/labels/{label}"));
    assert_eq!(status(env.call(Method::PUT, &in_b, Some(&admin_b), None).await).await, 404);
    let after = env.get_json(&env.org_url(&format!("/printers/{printer_id}")), &env.admin).await;
    assert_eq!(after, before, "organisation A's printer is unchanged");
    let codes = env.get_json(&env.org_url("/enrollment-codes"), &env.admin).await;
    assert_eq!(codes["items"].as_array().unwrap().len(), 2, "A's codes are unchanged: {codes}");
    let working = env.enrolled(&code, printer("ISO-2", "10.8.0.2")).await;
    assert_eq!(working["printer"]["orgId"], env.org.as_str(), "A's organisation code was not regenerated");

    // A user with only a print role manages nothing of the fleet, nor reads it.
    let printing = user_with(&env.running, &env.org, "printing@example.org", vec![Role::PrintReleaseManagementUser]);
    let printing = printing.await;
    for (method, url, body) in routes(&env.org) {
        let response = env.call(method.clone(), &url, Some(&printing), body.as_ref()).await;
        expect_problem(response, 403, "forbidden").await;
    }
    expect_problem(integration(&env, &printing, "/v1.0/assets", &[]).await, 403, "forbidden").await;
    // A Fleet Management Viewer reads printers but makes no codes.
    let viewer = user_with(&env.running, &env.org, "viewer@example.org", vec![Role::FleetManagementViewer]).await;
    assert_eq!(env.listed_serials(&viewer, &env.org, &[]).await.len(), 2);
    let made = env.post(&env.org_url("/enrollment-codes"), &viewer, json!({"kind": "organisation"})).await;
    expect_problem(made, 403, "forbidden").await;
    assert_eq!(env.get_json(&env.org_url(&format!("/printers/{printer_id}")), &env.admin).await, before);
    // A printer's device token is no administrator's token.
    let device = env.device_token(&enrolled["credential"]).await;
    expect_problem(env.get(&env.org_url("/printers"), &device).await, 403, "forbidden").await;
    // Only applications with the fleet-integration scope read the Integration API.
    let badges = env.application_token(&env.admin, &env.org, "Badge readers", json!(["badges-auth"])).await;
    expect_problem(integration(&env, &badges, "/v1.0/assets", &[]).await, 403, "forbidden").await;
    expect_problem(integration(&env, &badges, "/assets/inventory/counters", &[]).await, 403, "forbidden").await;
    env.running.shutdown().await;
}

e2e::on_both_storages!(
    wf_enroll_native_pre_org_code_enrolls_and_credential_works_until_unenrolled,
    r_enr_3_a_printer_belongs_to_one_organisation,
    br_la_02_03_activation_codes_expire_after_72_hours_and_limit_activations,
    wf_enroll_native_printercode_printer_generated_code_flow,
    telemetry_rejects_malformed_values_naming_the_field,
    r_api_fleet_integration_api_pages_over_parent_and_children,
    br_lb_03_04_label_import_seed_files_and_refusals,
    fleet_routes_isolate_organisations,
);
