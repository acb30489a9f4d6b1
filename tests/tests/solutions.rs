//! Solution Center end to end through HTTP against `printcloud serve` (issue [8 of 8]):
//! solutions and their validation (R-SC-2/4/5/6/19, roles), runs through the
//! `workflow-steps` queue with real OCR (Tesseract), redaction, footer and the three
//! destinations (R-SC-14/15/16), solution quotas debited by characters (D-SOLUTION-UNIT),
//! retries and failures.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use e2e::print_env::{PrintEnv, USER_PASSWORD};
use e2e::solution_env::{KEPT, REDACTED, dutch_letter_png, solution_env, solution_env_with};
use e2e::{Storage, access_token, eventually, expect_problem, on_both_storages};
use mail_parser::MimeHeaders;
use serde_json::{Value, json};
use shared::ports::{EngineError, Ocr, Recognised, ScanFormat};
use shared::solutions::docx;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const FOOTER: &str = "Vertrouwelijk - verwerkt door printcloud";
const ARCHIVE: &str = "archief@example.org";

async fn json_ok(env: &PrintEnv, method: &str, url: &str, token: &str, body: Value) -> Value {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = env.http.request(method, url).bearer_auth(token);
    if !body.is_null() {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn characters(count: u64) -> Value {
    json!({"kind": "characters", "characters": count})
}

/// Sets the organisation's default user quota, in characters (`None`: unlimited).
async fn default_quota(env: &PrintEnv, ocr: Option<u64>, redact: Option<u64>, translate: Option<u64>) {
    let limit = |value: Option<u64>| value.map_or(json!({"kind": "unlimited"}), characters);
    let body = json!({"default": {"ocr": limit(ocr), "redact": limit(redact), "translate": limit(translate)}});
    env.send_ok("PUT", "/solution-quotas", body).await;
}

/// Characters the user used this month per service.
async fn used(env: &PrintEnv) -> (u64, u64, u64) {
    let status = env.send_ok("GET", &format!("/solution-quotas/users/{}", env.user_id), Value::Null).await;
    let of = |service: &str| {
        let entry = status["services"].as_array().unwrap().iter().find(|s| s["service"] == service).unwrap();
        entry["used"]["characters"].as_u64().unwrap_or(0)
    };
    (of("ocr"), of("redact"), of("translate"))
}

/// The letter solution of the acceptance test: OCR to DOCX → redact (IBAN, e-mail, phone and
/// the file number by expression) → footer → e-mail to the archive with a copy.
fn letter_solution() -> Value {
    json!({
        "name": "Brieven anonimiseren",
        "type": "organisational",
        "steps": [{"items": [
            {"type": "ocr", "format": "docx", "locked": true},
            {"type": "redact", "language": "nl", "pii": ["iban", "email", "phoneNumber"],
             "custom": [{"text": "DOS-\\d{4}-\\d{4}", "mode": "advanced"}], "locked": true},
            {"type": "footer", "text": FOOTER, "locked": true},
            {"type": "email", "recipients": [ARCHIVE], "sendCopy": true, "locked": true}
        ]}]
    })
}

async fn create_solution(env: &PrintEnv, solution: Value) -> String {
    env.send_ok("POST", "/solutions", solution).await["id"].as_str().unwrap().to_string()
}

/// Starts a run as the print user with `document` inline; answers the run id.
async fn start_run(env: &PrintEnv, solution_id: &str, document: &[u8], values: Value) -> String {
    let body = json!({"fileName": "brief.png", "document": STANDARD.encode(document), "values": values});
    let token = env.user_token().await;
    let url = env.org_url(&format!("/solutions/{solution_id}/runs"));
    let started = json_ok(env, "POST", &url, &token, body).await;
    started["run"]["id"].as_str().unwrap().to_string()
}

/// The run once it has finished (succeeded or failed).
async fn finished(env: &PrintEnv, run_id: &str) -> Value {
    let token = env.user_token().await;
    eventually("the run finishes", Duration::from_secs(180), || async {
        let run = json_ok(env, "GET", &env.org_url(&format!("/runs/{run_id}")), &token, Value::Null).await;
        matches!(run["status"].as_str(), Some("succeeded" | "failed")).then_some(run)
    })
    .await
}

/// The DOCX attachments of the outbox mails to `to`.
fn mailed_docx(env: &PrintEnv, to: &str) -> Vec<Vec<u8>> {
    let outbox = env._dir.path().join("outbox");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&outbox).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        if !parsed.to().is_some_and(|list| list.iter().any(|a| a.address() == Some(to))) {
            continue;
        }
        for attachment in parsed.attachments() {
            if attachment.attachment_name().is_some_and(|name| name.ends_with(".docx")) {
                found.push(attachment.contents().to_vec());
            }
        }
    }
    found
}

/// Every entry of a DOCX (a zip), decompressed, as one byte string.
fn every_entry(docx: &[u8]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut all = Vec::new();
    for index in 0..archive.len() {
        archive.by_index(index).unwrap().read_to_end(&mut all).unwrap();
    }
    all
}

/// Acceptance: a scanned-style PNG of a Dutch letter runs through OCR → redact → footer →
/// e-mail; the mailed DOCX holds the rest of the letter and none of the redacted strings
/// (R-SC-12: really removed, in no part of the file), carries the footer (R-SC-13); the
/// user's OCR and redaction quotas went down by the characters processed (D-SOLUTION-UNIT,
/// R-SC-8, R-SC-11); the copy goes to the runner (R-SC-14).
async fn w13_scanned_letter_ocr_redact_footer_email(storage: Storage) {
    let env = solution_env(storage).await;
    default_quota(&env, Some(100_000), Some(100_000), Some(0)).await;
    let solution = create_solution(&env, letter_solution()).await;
    let run_id = start_run(&env, &solution, &dutch_letter_png(), json!([])).await;
    let run = finished(&env, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let kinds: Vec<&str> =
        run["steps"].as_array().unwrap().iter().map(|s| s["action"]["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ocr", "redact", "footer", "email"]);
    assert!(run["steps"].as_array().unwrap().iter().all(|s| s["status"] == "succeeded"));

    let mailed = mailed_docx(&env, ARCHIVE);
    assert_eq!(mailed.len(), 1, "one mail with one DOCX to the archive");
    let text = docx::body_text(&mailed[0]).unwrap();
    for kept in KEPT {
        assert!(text.contains(kept), "{kept:?} is kept in:\n{text}");
    }
    let everything = String::from_utf8_lossy(&every_entry(&mailed[0])).to_string();
    for gone in REDACTED {
        assert!(!everything.contains(gone), "{gone:?} is removed from every part of the DOCX:\n{text}");
    }
    assert!(text.contains("[REDACTED]"));
    assert!(docx::all_text(&mailed[0]).unwrap().contains(FOOTER), "the footer is on the document");
    assert_eq!(mailed_docx(&env, e2e::print_env::USER_EMAIL), mailed, "the runner gets a copy of the same mail");

    let ocr_characters = run["steps"][0]["characters"].as_u64().unwrap();
    let redact_characters = run["steps"][1]["characters"].as_u64().unwrap();
    assert!(ocr_characters > 500 && redact_characters > 500, "{ocr_characters} {redact_characters}");
    assert_eq!(used(&env).await, (ocr_characters, redact_characters, 0));
}

/// A run whose redaction needs more characters than the user has left fails at that step
/// with `solution_quota_exceeded` before redacting: nothing is mailed and nothing of the
/// redaction quota is used. With no OCR quota at all, the run is refused when it starts.
async fn d_solution_unit_too_little_quota_fails_before_work(storage: Storage) {
    let env = solution_env(storage).await;
    default_quota(&env, Some(100_000), Some(100), None).await;
    let solution = create_solution(&env, letter_solution()).await;
    let run_id = start_run(&env, &solution, &dutch_letter_png(), json!([])).await;
    let run = finished(&env, &run_id).await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error"]["code"], "solution_quota_exceeded", "{run:#}");
    assert_eq!(run["error"]["step"], 1);
    assert_eq!(run["steps"][2]["status"], "pending", "nothing after the failed step ran");
    assert!(mailed_docx(&env, ARCHIVE).is_empty(), "nothing was delivered");
    let (ocr, redact, _) = used(&env).await;
    assert_eq!(redact, 0);
    assert_eq!(ocr, run["steps"][0]["characters"].as_u64().unwrap());

    default_quota(&env, Some(0), None, None).await;
    let body = json!({"fileName": "brief.png", "document": STANDARD.encode(dutch_letter_png())});
    let token = env.user_token().await;
    let response = env
        .http
        .post(env.org_url(&format!("/solutions/{solution}/runs")))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_problem(response, 409, "solution_quota_exceeded").await;
}

on_both_storages!(w13_scanned_letter_ocr_redact_footer_email, d_solution_unit_too_little_quota_fails_before_work);

/// The problem code a solution body gets from `POST /solutions`.
async fn refused(env: &PrintEnv, token: &str, solution: Value) -> (u16, String) {
    let response = env.http.post(env.org_url("/solutions")).bearer_auth(token).json(&solution).send().await.unwrap();
    let status = response.status().as_u16();
    let problem: Value = response.json().await.unwrap_or(Value::Null);
    (status, problem["code"].as_str().unwrap_or_default().to_string())
}

fn with_steps(steps: Value) -> Value {
    json!({"name": "Check", "steps": steps})
}

/// Item 1 of the issue through HTTP: R-SC-4, R-SC-5, R-SC-6, R-SC-13, R-SC-14, R-SC-19 and
/// D-REDACT-CUSTOM refusals with their codes.
#[tokio::test]
async fn r_sc_4_5_6_19_solution_validation_over_http() {
    let env = solution_env(Storage::Embedded).await;
    let admin = env.admin.clone();
    let download = json!({"items": [{"type": "download"}]});
    let cases = [
        (with_steps(json!(vec![download.clone(); 11])), 422, "too_many_steps"),
        (with_steps(json!([])), 422, "steps_required"),
        (with_steps(json!([{"items": [{"type": "ocr", "format": "txt"}]}])), 422, "destination_required"),
        (
            with_steps(json!([{"items": [{"type": "download"}, {"type": "footer", "text": "x"}]}])),
            422,
            "must_end_with_destination",
        ),
        (
            with_steps(json!([{"items": [{"type": "footer", "locked": true}, {"type": "download"}]}])),
            422,
            "value_required",
        ),
        (
            with_steps(json!([{"items": [{"type": "footer", "text": "x".repeat(513)}, {"type": "download"}]}])),
            400,
            "invalid_field",
        ),
        (
            with_steps(
                json!([{"items": [{"type": "email", "recipients": (0..51).map(|n| format!("u{n}@x.nl")).collect::<Vec<_>>()}]}]),
            ),
            400,
            "invalid_field",
        ),
        (
            with_steps(
                json!([{"items": [{"type": "redact", "custom": [{"text": "(", "mode": "advanced"}]}, {"type": "download"}]}]),
            ),
            400,
            "invalid_field",
        ),
        (
            with_steps(
                json!([{"items": [{"type": "ocr", "format": "pdf"}, {"type": "footer", "text": "x"}, {"type": "download"}]}]),
            ),
            422,
            "requires_docx",
        ),
        (
            with_steps(
                json!([{"items": [{"type": "translate", "targets": ["de", "fr", "en", "es", "it", "pt"]}, {"type": "download"}]}]),
            ),
            400,
            "invalid_field",
        ),
    ];
    for (solution, status, code) in cases {
        assert_eq!(refused(&env, &admin, solution.clone()).await, (status, code.to_string()), "{solution}");
    }
    let ten = with_steps(json!(vec![download; 10]));
    assert_eq!(refused(&env, &admin, ten).await.0, 201, "ten steps are allowed (R-SC-5)");
}

/// Roles (part-4 §3, R-SC-1, R-SC-2): a Solution Center User runs but does not create; an
/// Advanced User creates personal solutions only, which nobody else sees; organisational
/// solutions are seen by every user; sharing needs a child organisation.
#[tokio::test]
async fn r_sc_1_2_roles_and_visibility() {
    let env = solution_env(Storage::Embedded).await;
    let user = env.user_token().await;
    let personal = with_steps(json!([{"items": [{"type": "download"}]}]));
    assert_eq!(refused(&env, &user, personal.clone()).await, (403, "forbidden".to_string()));

    let advanced_id = env.add_user("adv@example.org", "B0AD0001").await;
    env.send_ok("PUT", &format!("/roles/users/{advanced_id}"), json!({"roles": ["Solution Center Advanced User"]}))
        .await;
    let advanced = access_token(&env.running.url, "adv@example.org", USER_PASSWORD).await;
    let mine = json_ok(&env, "POST", &env.org_url("/solutions"), &advanced, personal.clone()).await;
    let mut organisational = personal.clone();
    organisational["type"] = json!("organisational");
    assert_eq!(refused(&env, &advanced, organisational.clone()).await, (403, "forbidden".to_string()));

    let shared_org = create_solution(&env, organisational).await;
    let listed = json_ok(&env, "GET", &env.org_url("/solutions"), &user, Value::Null).await;
    let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [shared_org.as_str()], "the user sees the organisational solution, not the personal one");
    let other = env.http.get(env.org_url(&format!("/solutions/{}", mine["id"].as_str().unwrap()))).bearer_auth(&user);
    expect_problem(other.send().await.unwrap(), 404, "not_found").await;
    let change = env.http.put(env.org_url(&format!("/solutions/{shared_org}"))).bearer_auth(&advanced).json(&personal);
    expect_problem(change.send().await.unwrap(), 403, "forbidden").await;

    let mut shared = personal.clone();
    shared["type"] = json!("shared");
    shared["sharedWith"] = json!("not-a-child");
    // Sharing with a child organisation also needs the Partner Administrator role.
    assert_eq!(refused(&env, &env.admin, shared).await, (403, "forbidden".to_string()));
}

/// R-SC-19 at run time: values of a locked item cannot be changed (`value_locked`); an
/// unlocked e-mail destination takes the recipients the runner gives, and cannot run
/// without any (R-SC-14).
#[tokio::test]
async fn r_sc_19_run_time_values_only_for_unlocked_items() {
    let env = solution_env(Storage::Embedded).await;
    default_quota(&env, None, None, None).await;
    let solution = create_solution(
        &env,
        json!({"name": "Notes", "type": "organisational", "steps": [{"items": [
            {"type": "footer", "text": "Intern", "locked": true},
            {"type": "email"}
        ]}]}),
    )
    .await;
    let note = docx::from_text("Notulen van de vergadering");
    let token = env.user_token().await;
    let url = env.org_url(&format!("/solutions/{solution}/runs"));
    let run = |values: Value| {
        env.http.post(&url).bearer_auth(&token).json(&json!({"fileName": "notes.docx",
            "document": STANDARD.encode(&note), "values": values}))
    };
    let locked = run(json!([{"step": 0, "item": 0, "text": "Extern"}])).send().await.unwrap();
    expect_problem(locked, 422, "value_locked").await;
    let nobody = run(json!([])).send().await.unwrap();
    expect_problem(nobody, 422, "value_required").await;
    let wrong = run(json!([{"step": 0, "item": 1, "targets": ["en"]}])).send().await.unwrap();
    expect_problem(wrong, 400, "invalid_field").await;
    let started: Value = run(json!([{"step": 0, "item": 1, "recipients": ["board@example.org"]}]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let done = finished(&env, started["run"]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let mailed = mailed_docx(&env, "board@example.org");
    assert_eq!(mailed.len(), 1);
    assert!(docx::all_text(&mailed[0]).unwrap().contains("Intern"));
}

/// R-SC-15 and R-SC-16: a download destination answers a short-lived link to the document;
/// the cloud print queue destination makes a held job in the runner's queue, and needs the
/// Print Management User role.
#[tokio::test]
async fn r_sc_15_16_download_link_and_cloud_print_queue() {
    let env = solution_env(Storage::Embedded).await;
    let solution = create_solution(
        &env,
        json!({"name": "Print", "type": "organisational", "steps": [{"items": [
            {"type": "ocr", "format": "pdf", "locked": true}, {"type": "download"}, {"type": "printQueue"}
        ]}]}),
    )
    .await;
    let run_id = start_run(&env, &solution, &dutch_letter_png(), json!([])).await;
    let run = finished(&env, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let link = run["downloads"][0]["url"].as_str().unwrap();
    let pdf = env.http.get(link).send().await.unwrap().bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"), "the download is the searchable PDF");
    let job_id = run["steps"][2]["delivered"][0].as_str().unwrap();
    let token = env.user_token().await;
    let job = eventually("the job is held", Duration::from_secs(30), || async {
        let url = env.org_url(&format!("/users/{}/jobs/{job_id}", env.user_id));
        let job = json_ok(&env, "GET", &url, &token, Value::Null).await;
        (job["state"] == "Held").then_some(job)
    })
    .await;
    assert_eq!(job["source"], "Solution Center");

    let no_print_id = env.add_user("scan@example.org", "B0AD0002").await;
    env.send_ok("PUT", "/roles/org", json!({"roles": ["Solution Center User"]})).await;
    let _ = no_print_id;
    let no_print = access_token(&env.running.url, "scan@example.org", USER_PASSWORD).await;
    let body = json!({"fileName": "a.png", "document": STANDARD.encode(dutch_letter_png())});
    let response =
        env.http.post(env.org_url(&format!("/solutions/{solution}/runs"))).bearer_auth(&no_print).json(&body).send();
    expect_problem(response.await.unwrap(), 403, "print_role_required").await;
}

/// D-TRANSLATE-ENGINE: with no translation endpoint configured, a translate step fails with
/// `translation_unavailable` and nothing of the translation quota is used.
#[tokio::test]
async fn d_translate_engine_without_an_endpoint_translation_is_unavailable() {
    let env = solution_env(Storage::Embedded).await;
    default_quota(&env, None, None, Some(100_000)).await;
    let solution = create_solution(
        &env,
        json!({"name": "Vertalen", "type": "organisational", "steps": [{"items": [
            {"type": "translate", "targets": ["en"], "locked": true}, {"type": "download"}
        ]}]}),
    )
    .await;
    let run_id = start_run(&env, &solution, &docx::from_text("Goedemorgen"), json!([])).await;
    let run = finished(&env, &run_id).await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error"]["code"], "translation_unavailable");
    assert_eq!(used(&env).await.2, 0);
}

/// Large documents go to the upload URL; the upload starts the run. A document over the
/// solution's cap (25 MB with an e-mail destination, R-SCE-11, D-SCAN-CAP) fails the run.
#[tokio::test]
async fn r_sce_11_uploaded_documents_start_their_run_and_are_capped() {
    let env = solution_env(Storage::Embedded).await;
    let solution = create_solution(
        &env,
        json!({"name": "Mail", "type": "organisational", "steps": [{"items": [
            {"type": "email", "sendCopy": true, "locked": true}
        ]}]}),
    )
    .await;
    let token = env.user_token().await;
    let url = env.org_url(&format!("/solutions/{solution}/runs"));
    for (bytes, status) in [(b"Korte notitie".to_vec(), "succeeded"), (vec![b'a'; 26 * 1024 * 1024], "failed")] {
        let started = json_ok(&env, "POST", &url, &token, json!({"fileName": "notitie.txt"})).await;
        assert_eq!(started["run"]["status"], "uploading");
        let upload = env.http.put(started["uploadUrl"].as_str().unwrap()).body(bytes).send().await.unwrap();
        assert!(upload.status().is_success());
        let run = finished(&env, started["run"]["id"].as_str().unwrap()).await;
        assert_eq!(run["status"], status, "{run:#}");
        if status == "failed" {
            assert_eq!(run["error"]["code"], "document_too_large");
        }
    }
}

/// OCR that fails with a passing error the first `failures` times, then reads as `inner`.
struct FlakyOcr {
    inner: Arc<dyn Ocr>,
    failures: AtomicU32,
}

#[async_trait::async_trait]
impl Ocr for FlakyOcr {
    async fn recognise(
        &self,
        document: &[u8],
        format: ScanFormat,
        languages: &[String],
        searchable_pdf: bool,
    ) -> Result<Recognised, EngineError> {
        let failing = self.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1));
        if failing.is_ok() {
            return Err(EngineError::transient("ocr_failed", "the engine is busy"));
        }
        self.inner.recognise(document, format, languages, searchable_pdf).await
    }
}

/// Moves the runner's clock a second on every 100 ms, until aborted.
fn tick(env: &PrintEnv) -> tokio::task::JoinHandle<()> {
    let clock = env.clock.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            clock.advance(chrono::Duration::seconds(1));
        }
    })
}

/// Aborts the task when dropped, also when an assertion fails.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn flaky_env(failures: u32) -> PrintEnv {
    let env = solution_env_with(Storage::Embedded, move |options| {
        options.decorate = Some(Arc::new(move |ctx: shared::Ctx| shared::Ctx {
            ocr: Arc::new(FlakyOcr { inner: ctx.ocr.clone(), failures: AtomicU32::new(failures) }),
            ..ctx
        }));
    })
    .await;
    default_quota(&env, None, None, None).await;
    env
}

/// W13 retries: a step failing for a passing reason is tried again and the run succeeds;
/// one that keeps failing fails the run with its error after the third attempt, and the
/// destination after it never ran (nothing half-delivered).
#[tokio::test]
async fn w13_a_failing_step_is_retried_then_fails_the_run() {
    // Retries wait on the runner's clock: let it run a second ahead every 100 ms.
    let env = flaky_env(1).await;
    let ticking = AbortOnDrop(tick(&env));
    let solution = create_solution(&env, letter_solution()).await;
    let run = finished(&env, &start_run(&env, &solution, &dutch_letter_png(), json!([])).await).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["steps"][0]["attempts"], 2);

    drop(ticking);
    let env = flaky_env(u32::MAX).await;
    let _ticking = AbortOnDrop(tick(&env));
    let solution = create_solution(&env, letter_solution()).await;
    let run = finished(&env, &start_run(&env, &solution, &dutch_letter_png(), json!([])).await).await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error"]["code"], "ocr_failed");
    assert_eq!(run["steps"][0]["attempts"], 3);
    assert_eq!(run["steps"][3]["status"], "pending");
    assert!(mailed_docx(&env, ARCHIVE).is_empty());
    assert_eq!(used(&env).await, (0, 0, 0), "a failed OCR debits nothing");
}

/// A LibreTranslate-compatible endpoint for the tests: "translates" by upper-casing each
/// text and prefixing the target language, and detects Dutch.
async fn fake_translation_endpoint() -> String {
    async fn translate(axum::Json(request): axum::Json<Value>) -> axum::Json<Value> {
        let target = request["target"].as_str().unwrap_or_default().to_string();
        let texts: Vec<Value> = request["q"]
            .as_array()
            .unwrap()
            .iter()
            .map(|text| json!(format!("{target}: {}", text.as_str().unwrap().to_uppercase())))
            .collect();
        let detected: Vec<Value> = texts.iter().map(|_| json!({"language": "nl", "confidence": 90})).collect();
        axum::Json(json!({"translatedText": texts, "detectedLanguage": detected}))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/translate", axum::routing::post(translate));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

/// R-SC-10 with a translation endpoint (D-TRANSLATE-ENGINE): one document per target
/// language, DOCX in and out, and the translation quota debited by the characters
/// translated for every language (D-SOLUTION-UNIT).
#[tokio::test]
async fn r_sc_10_translation_makes_one_document_per_language() {
    let endpoint = fake_translation_endpoint().await;
    let env = solution_env_with(Storage::Embedded, |options| options.engines.translate_endpoint = Some(endpoint)).await;
    default_quota(&env, None, None, Some(100_000)).await;
    let solution = create_solution(
        &env,
        json!({"name": "Vertalen", "type": "organisational", "steps": [{"items": [
            {"type": "translate", "targets": ["en", "de"], "locked": true}, {"type": "download"}
        ]}]}),
    )
    .await;
    let run_id = start_run(&env, &solution, &docx::from_text("Goedemorgen\nTot ziens"), json!([])).await;
    let run = finished(&env, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["steps"][0]["characters"], 2 * ("Goedemorgen".len() + "Tot ziens".len()));
    assert_eq!(used(&env).await.2, 40);
    let mut texts = Vec::new();
    for download in run["downloads"].as_array().unwrap() {
        let bytes = env.http.get(download["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
        texts.push((download["name"].as_str().unwrap().to_string(), docx::body_text(&bytes).unwrap()));
    }
    texts.sort();
    assert_eq!(
        texts,
        [
            ("brief-de.docx".to_string(), "de: GOEDEMORGEN\nde: TOT ZIENS".to_string()),
            ("brief-en.docx".to_string(), "en: GOEDEMORGEN\nen: TOT ZIENS".to_string())
        ]
    );
}

/// Run documents are personal data: kept 7 days, then the `solution-retention` sweep
/// deletes the input and every step's output (the bucket's lifecycle rules do the same on
/// AWS).
#[tokio::test]
async fn run_documents_are_deleted_after_seven_days() {
    let env = solution_env(Storage::Embedded).await;
    default_quota(&env, None, None, None).await;
    let solution = create_solution(&env, letter_solution()).await;
    let run = finished(&env, &start_run(&env, &solution, &dutch_letter_png(), json!([])).await).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let documents = |env: &PrintEnv| {
        let ctx = env.running.ctx.clone();
        async move { ctx.blobs.list("solutions/").await.unwrap().len() }
    };
    assert!(documents(&env).await >= 4, "the input and each action's output are stored");
    env.clock.advance(chrono::Duration::days(6));
    shared::solutions::retention::sweep(&env.running.ctx).await.unwrap();
    assert!(documents(&env).await >= 4, "kept for 7 days");
    env.clock.advance(chrono::Duration::days(2));
    let removed = shared::solutions::retention::sweep(&env.running.ctx).await.unwrap();
    assert!(removed >= 4);
    assert_eq!(documents(&env).await, 0, "nothing of the run's documents is left");
}
