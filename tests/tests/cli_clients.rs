//! The command-line clients end to end against the in-process runner, through the same
//! functions `printcloud login`, `print`, `jobs` and `device` call: sign-in and the stored
//! session (renewal with the refresh token), submitting small files inline and large ones
//! through the upload URL, the queue, and a simulated printer that enrolls, signs a user in
//! with a badge, releases, downloads the exact bytes and completes into the history.

use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, start_on};
use printcloud::client::api::ApiProblem;
use printcloud::client::device::{self, AtPrinter, Credential, Enrollment};
use printcloud::client::print::{self, PrintRequest};
use printcloud::client::release::{self, ReleasePlan, Selection};
use printcloud::client::session::{self, StoredSession};
use printcloud::client::{files, jobs};
use printcloud::serve::Running;
use reqwest::Client;
use serde_json::{Value, json};
use shared::fleet::printers::ReleaseApp;
use shared::print::jobs::JobState;
use shared::print::options::{ColourMode, PrintOptions};
use shared::print::release::Outcome;
use shared::print::submit::MAX_INLINE_BYTES;
use std::path::{Path, PathBuf};
use std::time::Duration;

const USER_EMAIL: &str = "pat@example.org";
const USER_PASSWORD: &str = "Printer-Passw0rd!";
const BADGE: &str = "B00C4F1E";

/// One runner with a print user who has a badge; the first administrator also manages
/// print release.
struct Env {
    running: Running,
    dir: tempfile::TempDir,
    http: Client,
    admin: String,
    org: String,
}

impl Env {
    async fn start() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let running = start_on(Storage::Embedded, &dir.path().join("data")).await;
        let http = Client::new();
        let admin = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let me: Value =
            http.get(format!("{}/v1/me", running.url)).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
        let org = me["organisation"]["id"].as_str().unwrap().to_string();
        let mut env = Env { running, dir, http, admin, org };
        let admin_roles = json!({"roles": ["Organization Administrator", "Print Release Management Administrator"]});
        env.admin_ok("PUT", &format!("/roles/users/{}", me["user"]["id"].as_str().unwrap()), admin_roles).await;
        env.admin_ok("PUT", "/roles/org", json!({"roles": ["Print Release Management User"]})).await;
        env.admin = access_token(&env.running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let user = json!({"email": USER_EMAIL, "displayName": "Pat", "password": USER_PASSWORD});
        let user_id = env.admin_ok("POST", "/users", user).await["id"].as_str().unwrap().to_string();
        env.admin_ok("POST", "/badges", json!({"userId": user_id, "badge": BADGE})).await;
        env
    }

    /// An administrator request on the organisation that must succeed; answers its JSON.
    async fn admin_ok(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/v1/orgs/{}{path}", self.running.url, self.org);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = self.http.request(method, url).bearer_auth(&self.admin).json(&body).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A folder of the test's temporary directory.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file to print; answers its path.
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    async fn login(&self, config: &Path) -> StoredSession {
        session::login(config, &self.running.url, USER_EMAIL, USER_PASSWORD).await.expect("the user signs in")
    }

    /// Enrolls a simulated printer with a new organisation enrollment code.
    async fn enroll(&self, state_dir: &Path, serial: &str) {
        let code = self.admin_ok("POST", "/enrollment-codes", json!({"kind": "organisation"})).await;
        let enrollment = Enrollment {
            url: self.running.url.clone(),
            code: code["code"].as_str().unwrap().to_string(),
            serial_number: serial.into(),
            release_app: ReleaseApp::CloudPrintRelease,
        };
        let state = device::enroll(state_dir, &enrollment).await.expect("the printer enrolls");
        assert_eq!(state.serial_number, serial);
        assert!(state.client_id.starts_with(shared::fleet::credentials::CLIENT_ID_PREFIX), "{state:?}");
    }

    async fn history(&self) -> Vec<Value> {
        let token = access_token(&self.running.url, USER_EMAIL, USER_PASSWORD).await;
        let url = format!("{}/v1/me/history", self.running.url);
        let history: Value = self.http.get(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        history["items"].as_array().unwrap().clone()
    }
}

/// Bytes of each line of [`text`].
const LINE_BYTES: usize = 64;

/// Plain text of `lines` numbered lines of [`LINE_BYTES`] bytes.
fn text(lines: usize) -> Vec<u8> {
    let text: String =
        (0..lines).map(|n| format!("line {n:07} of a document printed from the command line.......\n")).collect();
    assert_eq!(text.len(), lines * LINE_BYTES);
    text.into_bytes()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn part3_2_32_print_inline_and_uploaded_then_release_at_a_simulated_printer() {
    let env = Env::start().await;
    let config = env.path("config");
    let stored = env.login(&config).await;
    assert_eq!(stored.url, env.running.url);
    assert_eq!(stored.org_id, env.org);
    let on_disk: StoredSession = files::read_json(&session::session_file(&config)).unwrap().unwrap();
    assert_eq!(on_disk, stored);
    #[cfg(unix)]
    assert_eq!(mode(&session::session_file(&config)), 0o600, "the session file is the user's only");

    let small = text(75);
    let large_lines = MAX_INLINE_BYTES / LINE_BYTES + 2_000;
    let large = text(large_lines);
    assert!(large.len() > MAX_INLINE_BYTES, "the large file goes through the upload URL");
    let request = PrintRequest {
        files: vec![env.file("notes.txt", &small), env.file("big.txt", &large)],
        options: PrintOptions { copies: Some(2), colour_mode: Some(ColourMode::Mono), ..PrintOptions::default() },
        wait: Some(Duration::from_secs(30)),
        ..PrintRequest::default()
    };
    let report = print::print(&config, &request).await.expect("the files are submitted");
    assert!(report.succeeded(), "{report:?}");
    let lines: Vec<String> = report.files.iter().map(|file| file.line()).collect();
    let large_pages = large_lines.div_ceil(60);
    assert_eq!(lines, ["notes.txt: Held, 2 pages".to_string(), format!("big.txt: Held, {large_pages} pages")]);

    let queue = jobs::queue(&config).await.unwrap();
    let held: Vec<(&str, JobState, Option<u32>)> =
        queue.iter().map(|job| (job.name.as_str(), job.state, job.pages)).collect();
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(held.contains(&("notes.txt", JobState::Held, Some(2))), "{held:?}");
    assert!(held.contains(&("big.txt", JobState::Held, Some(large_pages as u32))), "{held:?}");
    let table = jobs::table(&queue);
    assert!(table.lines().any(|line| line.starts_with("big.txt") && line.contains("Held")), "{table}");

    let state_dir = env.path("printer");
    env.enroll(&state_dir, "SIM-0001").await;
    #[cfg(unix)]
    assert_eq!(mode(&device::state_file(&state_dir, "SIM-0001").unwrap()), 0o600, "the credential is private");
    let printer = AtPrinter::sign_in(&state_dir, "SIM-0001", &Credential::Badge(BADGE.into())).await.unwrap();
    assert_eq!(printer.user.email, USER_EMAIL);
    let listed = printer.jobs().await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let notes = queue.iter().find(|job| job.name == "notes.txt").unwrap();

    let out = env.path("tray");
    let plan =
        ReleasePlan { selection: Selection::Job(notes.id.clone()), out_dir: out.clone(), outcome: Outcome::Printed };
    let released = release::release(&printer, &plan).await.unwrap();
    assert_eq!(released.len(), 1);
    let delivered = released[0].result.as_ref().expect("the small job prints");
    assert_eq!(delivered.file, out.join(format!("{}.txt", notes.id)));
    assert_eq!(std::fs::read(&delivered.file).unwrap(), small, "the printer got the exact bytes");
    let completion = &delivered.completion;
    assert_eq!((completion.mono_sides, completion.colour_sides, completion.sheets), (4, 0, 4), "2 pages x 2 copies");
    assert_eq!((delivered.completed.outcome, delivered.completed.kept), (Outcome::Printed, false));

    let plan = ReleasePlan { selection: Selection::All, out_dir: out.clone(), outcome: Outcome::Printed };
    let released = release::release(&printer, &plan).await.unwrap();
    assert_eq!(released.len(), 1, "only the large job is left");
    let delivered = released[0].result.as_ref().expect("the large job prints");
    assert_eq!(std::fs::read(&delivered.file).unwrap(), large, "the uploaded document arrives intact");
    assert!(released[0].line().starts_with("big.txt: Printed"), "{}", released[0].line());

    let history = env.history().await;
    let mut sides: Vec<u64> = history.iter().map(|row| row["printedSides"].as_u64().unwrap()).collect();
    sides.sort();
    assert_eq!(sides, [4, 2 * large_pages as u64], "{history:?}");
    assert!(jobs::queue(&config).await.unwrap().is_empty(), "printed jobs leave the queue");
    env.running.shutdown().await;
}

#[tokio::test]
async fn part3_2_32_a_rejected_file_fails_the_print_command_with_its_reason() {
    let env = Env::start().await;
    let config = env.path("config");
    env.login(&config).await;
    let request = PrintRequest {
        files: vec![
            env.file("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xffPE\0\0"),
            env.file("ok.txt", b"fine\n"),
        ],
        wait: Some(Duration::from_secs(30)),
        ..PrintRequest::default()
    };
    let report = print::print(&config, &request).await.unwrap();
    assert!(!report.succeeded(), "a rejected job makes the command fail");
    let line = report.files[0].line();
    assert!(line.starts_with("invoice.pdf: Rejected: ") && line.ends_with("(unsupported_format)"), "{line}");
    assert_eq!(report.files[1].line(), "ok.txt: Held, 1 page");

    let missing = PrintRequest { files: vec![env.path("nowhere.pdf")], wait: None, ..PrintRequest::default() };
    let report = print::print(&config, &missing).await.unwrap();
    assert!(!report.succeeded(), "a file that could not be submitted makes the command fail");
    assert!(report.files[0].line().starts_with(&format!("{}: error: ", env.path("nowhere.pdf").display())));
    env.running.shutdown().await;
}

#[tokio::test]
async fn an_expired_access_token_is_renewed_and_a_spent_refresh_token_asks_for_login() {
    let env = Env::start().await;
    let config = env.path("config");
    let first = env.login(&config).await;
    let path = session::session_file(&config);
    let expired = StoredSession { expires_at: chrono::Utc::now() - chrono::Duration::minutes(1), ..first.clone() };
    files::write_private(&path, &expired).unwrap();
    assert!(jobs::queue(&config).await.unwrap().is_empty());
    let renewed: StoredSession = files::read_json(&path).unwrap().unwrap();
    assert_ne!(renewed.refresh_token, first.refresh_token, "the new pair is stored");
    assert!(renewed.expires_at > chrono::Utc::now());

    files::write_private(&path, &expired).unwrap();
    let err = jobs::queue(&config).await.expect_err("the refresh token was spent");
    let message = format!("{err:#}");
    assert!(message.contains("run printcloud login"), "{message}");
    env.running.shutdown().await;
}

#[tokio::test]
async fn api_problems_read_as_detail_and_code() {
    let env = Env::start().await;
    let config = env.path("config");
    let err = session::login(&config, &env.running.url, USER_EMAIL, "wrong").await.expect_err("a wrong password");
    let problem = err.downcast_ref::<ApiProblem>().expect("the service's problem");
    assert_eq!((problem.status, problem.code.as_str()), (400, "invalid_grant"));
    assert_eq!(err.to_string(), format!("{} (invalid_grant)", problem.detail));
    assert!(!session::session_file(&config).exists(), "nothing is stored");

    let err = jobs::queue(&config).await.expect_err("not signed in");
    assert!(err.to_string().contains("run printcloud login"), "{err}");
    let err = AtPrinter::sign_in(&env.path("printer"), "SIM-9", &Credential::Pin("1234".into())).await.unwrap_err();
    assert!(err.to_string().contains("printcloud device enroll"), "{err}");

    let state_dir = env.path("printer");
    env.enroll(&state_dir, "SIM-0002").await;
    let err = AtPrinter::sign_in(&state_dir, "SIM-0002", &Credential::Badge("UNKNOWN".into())).await.unwrap_err();
    let problem = err.downcast_ref::<ApiProblem>().expect("the service's problem");
    assert!(format!("{err:#}").ends_with(&format!("{} ({})", problem.detail, problem.code)), "{err:#}");
    env.running.shutdown().await;
}
