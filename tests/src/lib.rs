//! Helpers for the end-to-end tests: start the one-process runner on a data directory and
//! an unused port, and wait (boundedly) for asynchronous outcomes.

pub mod faults;
pub mod mail_env;
pub mod measured;
pub mod print_env;
pub mod solution_env;

use printcloud::serve::{self, Running, ServeOptions};
use shared::wiring::LocalStorage;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

/// The first administrator's password the tests start with (satisfies BR-PWD).
pub const ADMIN_PASSWORD: &str = "Test-Passw0rd!";

/// The first administrator's e-mail address the tests start with.
pub const ADMIN_EMAIL: &str = "admin@printcloud.test";

/// Which adapters a test's runner keeps its data in: tests whose outcome depends on storage
/// semantics (conditional writes, uniqueness claims, transactions, TTL, paging, queues) run
/// on both, through [`on_both_storages!`](crate::on_both_storages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// SQLite and files in the data directory.
    Embedded,
    /// DynamoDB, S3 and SQS of the moto server `scripts/test` starts.
    Aws,
}

impl Storage {
    /// The runner's storage setting.
    pub fn local(self) -> LocalStorage {
        match self {
            Storage::Embedded => LocalStorage::Embedded,
            Storage::Aws => LocalStorage::AwsEndpoint(moto_endpoint()),
        }
    }
}

/// The moto server of `scripts/test`.
pub fn moto_endpoint() -> String {
    std::env::var("PRINTCLOUD_MOTO_ENDPOINT").expect(
        "PRINTCLOUD_MOTO_ENDPOINT is not set: run the tests with scripts/test, which installs and starts moto server",
    )
}

/// Runs each named scenario, an `async fn(Storage)` of the calling test file, as two
/// tests: `embedded_storage::<name>` and `aws_storage::<name>`.
#[macro_export]
macro_rules! on_both_storages {
    ($($scenario:ident),+ $(,)?) => {
        mod embedded_storage {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario($crate::Storage::Embedded).await
                }
            )+
        }
        mod aws_storage {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario($crate::Storage::Aws).await
                }
            )+
        }
    };
}

/// Options for a runner on `data_dir` with embedded storage, listening on a free port of
/// 127.0.0.1, with a known administrator password.
pub fn options(data_dir: &Path) -> ServeOptions {
    options_on(Storage::Embedded, data_dir)
}

/// [`options`] with the data in `storage`.
pub fn options_on(storage: Storage, data_dir: &Path) -> ServeOptions {
    let mut options = ServeOptions::new(data_dir.to_path_buf(), "127.0.0.1:0".parse().expect("a socket address"));
    options.admin_email = ADMIN_EMAIL.into();
    options.admin_password = Some(ADMIN_PASSWORD.into());
    options.storage = storage.local();
    options
}

/// Starts a runner with [`options`] on `data_dir`.
pub async fn start(data_dir: &Path) -> Running {
    start_with(options(data_dir)).await
}

/// Starts a runner with [`options_on`] `storage` and `data_dir`.
pub async fn start_on(storage: Storage, data_dir: &Path) -> Running {
    start_with(options_on(storage, data_dir)).await
}

/// Starts a runner with `options`, failing the test if it does not start.
pub async fn start_with(options: ServeOptions) -> Running {
    let dir = options.data_dir.display().to_string();
    serve::start(options).await.unwrap_or_else(|e| panic!("the runner does not start on {dir}: {e:#}"))
}

/// Checks `probe` every 100 ms until it answers `Some`, and answers that. Fails the test
/// with `what` if `limit` passes first.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("gave up after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The JSON body of a problem answer, after checking its status, content type and `code`.
pub async fn expect_problem(response: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    let url = response.url().clone();
    assert_eq!(response.status().as_u16(), status, "status of {url}");
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(content_type, "application/problem+json", "content type of {url}");
    let body: serde_json::Value = response.json().await.expect("a JSON problem");
    assert_eq!(body["code"], code, "problem of {url}: {body}");
    assert_eq!(body["status"], status, "problem of {url}: {body}");
    body
}

/// Signs in with the password grant; answers the token response.
pub async fn sign_in(url: &str, email: &str, password: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{url}/oauth/token"))
        .json(&serde_json::json!({"grant_type": "password", "username": email, "password": password}))
        .send()
        .await
        .expect("the token endpoint answers");
    assert_eq!(response.status().as_u16(), 200, "sign-in of {email}");
    response.json().await.expect("a token response")
}

/// The access token of a password sign-in.
pub async fn access_token(url: &str, email: &str, password: &str) -> String {
    sign_in(url, email, password).await["access_token"].as_str().expect("an access token").to_string()
}

/// Another organisation, `org-b` ("Other Org", child organisations disabled), with its own
/// Organization Administrator `user-b` (`admin@other.example`, [`ADMIN_PASSWORD`]) and the
/// predefined groups, written directly to storage: the other tenant of isolation tests.
/// A top-level organisation `id` named `name`, entitled to every service, in UTC, made now
/// (written straight to storage by tests and benchmarks that need many).
pub fn organisation(id: &str, name: &str) -> shared::identity::model::Organisation {
    shared::identity::model::Organisation {
        id: id.into(),
        name: name.into(),
        parent_id: None,
        entitlements: shared::identity::roles::Service::ALL.into_iter().collect(),
        time_zone: "UTC".into(),
        roles: Vec::new(),
        sub_org_creation_enabled: false,
        mps_express: false,
        deleting: false,
        created_at: chrono::Utc::now(),
    }
}

pub async fn second_org(running: &printcloud::serve::Running) -> (String, String) {
    use shared::identity::model::{User, UserRecord};
    use shared::identity::roles::Role;
    use shared::identity::{groups, store};
    let now = chrono::Utc::now();
    let org = organisation("org-b", "Other Org");
    let admin = UserRecord {
        user: User {
            id: "user-b".into(),
            org_id: "org-b".into(),
            email: "admin@other.example".into(),
            first_name: "Bea".into(),
            roles: vec![Role::OrganizationAdministrator],
            created_at: now,
            version: 1,
            ..User::default()
        },
        password_hash: Some(shared::passwords::hash(ADMIN_PASSWORD)),
    };
    let mut writes = store::create_org_writes(&org).expect("organisation writes");
    writes.extend(store::create_user_writes(&admin).expect("user writes"));
    writes.extend(groups::predefined_group_writes("org-b", now).expect("group writes"));
    running.ctx.table.transact(writes).await.expect("the second organisation is stored");
    ("org-b".into(), "user-b".into())
}

/// Sends `request` and answers its JSON body (tests fail on a transport error or a body
/// that is not JSON).
pub async fn json_of(request: reqwest::RequestBuilder) -> serde_json::Value {
    request.send().await.expect("the request is answered").json().await.expect("a JSON answer")
}
