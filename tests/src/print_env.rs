//! The set-up the print end-to-end tests share: a runner on a manual clock with a print
//! user, a badge and an enrolled printer, and the HTTP calls those tests make.

use crate::{ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, eventually, json_of, options_on, start_with};
use printcloud::serve::Running;
use reqwest::Client;
use serde_json::{Value, json};
use shared::ports::ManualClock;
use std::sync::Arc;

pub const USER_PASSWORD: &str = "Printer-Passw0rd!";
pub const USER_EMAIL: &str = "pat@example.org";
pub const BADGE: &str = "B00C4F1E";

/// A PDF of `pages` blank pages, with a correct cross-reference table.
pub fn pdf(pages: usize) -> Vec<u8> {
    pdf_drawing(pages, None)
}

/// A PDF of `pages` pages that each fill a red square: a colour document.
pub fn colour_pdf(pages: usize) -> Vec<u8> {
    pdf_drawing(pages, Some("1 0 0 rg 0 0 10 10 re f"))
}

/// A PDF of `pages` pages whose pages share the content stream `content`, if any.
pub fn pdf_drawing(pages: usize, content: Option<&str>) -> Vec<u8> {
    let contents_id = pages + 3;
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!(
            "<< /Type /Pages /Count {pages} /Kids [{}] >>",
            (0..pages).map(|p| format!("{} 0 R", p + 3)).collect::<Vec<_>>().join(" ")
        ),
    ];
    let contents = content.map(|_| format!(" /Contents {contents_id} 0 R")).unwrap_or_default();
    for _ in 0..pages {
        objects.push(format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]{contents} >>"));
    }
    if let Some(content) = content {
        objects.push(format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()));
    }
    pdf_of(&objects.iter().map(|object| object.as_bytes().to_vec()).collect::<Vec<_>>())
}

/// A PDF of `objects` (numbered from 1; object 1 is the catalog) with a correct
/// cross-reference table.
pub fn pdf_of(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (n, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", n + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

/// One runner on a manual clock with a print user, a badge and an enrolled printer.
pub struct PrintEnv {
    pub running: Running,
    pub clock: Arc<ManualClock>,
    /// Keeps the data directory until the runner is dropped.
    pub _dir: tempfile::TempDir,
    pub http: Client,
    pub admin: String,
    pub org: String,
    pub user_id: String,
    pub device: String,
    pub device_grant: Value,
    pub printer_ip: String,
}

impl PrintEnv {
    pub async fn start(storage: Storage) -> PrintEnv {
        PrintEnv::start_at(storage, chrono::Utc::now()).await
    }

    /// A runner whose clock starts at `now`.
    pub async fn start_at(storage: Storage, now: chrono::DateTime<chrono::Utc>) -> PrintEnv {
        PrintEnv::start_configured(storage, now, shared::context::DEFAULT_MAX_DOCUMENT_BYTES).await
    }

    /// A runner whose clock starts at `now`, accepting documents up to `max_document_bytes`.
    pub async fn start_configured(
        storage: Storage,
        now: chrono::DateTime<chrono::Utc>,
        max_document_bytes: u64,
    ) -> PrintEnv {
        PrintEnv::start_customised(storage, now, |opts| opts.max_document_bytes = max_document_bytes).await
    }

    /// A runner whose clock starts at `now`, with its options changed by `customise`.
    pub async fn start_customised(
        storage: Storage,
        now: chrono::DateTime<chrono::Utc>,
        customise: impl FnOnce(&mut printcloud::serve::ServeOptions),
    ) -> PrintEnv {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = options_on(storage, dir.path());
        let clock = Arc::new(ManualClock::new(now));
        opts.clock = clock.clone();
        // After the clock: a benchmark may run the runner on the system clock instead.
        customise(&mut opts);
        let running = start_with(opts).await;
        let http = Client::new();
        let first = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let me: Value =
            http.get(format!("{}/v1/me", running.url)).bearer_auth(&first).send().await.unwrap().json().await.unwrap();
        let org = me["organisation"]["id"].as_str().unwrap().to_string();
        let mut env = PrintEnv {
            running,
            clock,
            _dir: dir,
            http,
            admin: first,
            org,
            user_id: String::new(),
            device: String::new(),
            device_grant: Value::Null,
            printer_ip: "10.1.2.3".into(),
        };
        let admin_roles = json!({"roles": ["Organization Administrator", "Print Release Management Administrator"]});
        env.send_ok("PUT", &format!("/roles/users/{}", me["user"]["id"].as_str().unwrap()), admin_roles).await;
        env.send_ok("PUT", "/roles/org", json!({"roles": ["Print Release Management User"]})).await;
        env.admin = access_token(&env.running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let user = json!({"email": USER_EMAIL, "displayName": "Pat", "password": USER_PASSWORD});
        env.user_id = env.send_ok("POST", "/users", user).await["id"].as_str().unwrap().to_string();
        env.send_ok("POST", "/badges", json!({"userId": env.user_id, "badge": BADGE})).await;
        env.device_grant = env.enroll_with("PRN-0001", &env.printer_ip.clone(), "Print Release eSF").await;
        env.device = env.grant(&env.device_grant).await;
        env
    }

    /// A new user with the print role's org-level assignment and `badge`; answers the id.
    pub async fn add_user(&self, email: &str, badge: &str) -> String {
        let user = json!({"email": email, "displayName": email, "password": USER_PASSWORD});
        let id = self.send_ok("POST", "/users", user).await["id"].as_str().unwrap().to_string();
        self.send_ok("POST", "/badges", json!({"userId": id, "badge": badge})).await;
        id
    }

    /// A fresh device token of the first printer (tokens expire when the clock moves on).
    pub async fn device_token(&self) -> String {
        self.grant(&self.device_grant).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url)
    }

    pub fn org_url(&self, path: &str) -> String {
        self.url(&format!("/v1/orgs/{}{path}", self.org))
    }

    /// An administrator request on the organisation that must succeed; answers its JSON.
    pub async fn send_ok(&self, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response =
            self.http.request(method, self.org_url(path)).bearer_auth(&self.admin).json(&body).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Enrolls a printer with the Print Release eSF app; answers its device token.
    pub async fn enroll(&self, serial: &str, ip: &str) -> String {
        let grant = self.enroll_with(serial, ip, "Print Release eSF").await;
        self.grant(&grant).await
    }

    /// Enrolls a printer with `app`; answers the client-credentials grant of its credential.
    pub async fn enroll_with(&self, serial: &str, ip: &str, app: &str) -> Value {
        let code = self.send_ok("POST", "/enrollment-codes", json!({"kind": "organisation"})).await;
        let printer = json!({"serialNumber": serial, "model": "CX825", "manufacturer": "Lexmark", "ipAddress": ip,
            "releaseApp": app});
        let enrolled =
            json_of(self.http.post(self.url("/v1/enroll")).json(&json!({"code": code["code"], "printer": printer})))
                .await;
        json!({"grant_type": "client_credentials", "client_id": enrolled["credential"]["clientId"],
            "client_secret": enrolled["credential"]["clientSecret"]})
    }

    /// The device token of a printer's credential.
    pub async fn grant(&self, grant: &Value) -> String {
        let token: Value =
            self.http.post(self.url("/oauth/token")).json(grant).send().await.unwrap().json().await.unwrap();
        token["access_token"].as_str().unwrap().to_string()
    }

    pub async fn user_token(&self) -> String {
        access_token(&self.running.url, USER_EMAIL, USER_PASSWORD).await
    }

    /// A fresh administrator token (tokens expire when the clock moves on).
    pub async fn refresh_admin(&mut self) {
        self.admin = access_token(&self.running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    }

    pub async fn print_settings(&self, settings: Value) {
        self.send_ok("PUT", "/settings/print", settings).await;
    }

    /// Submits `bytes` through the upload URL; answers the job id.
    pub async fn submit_uploaded(&self, name: &str, bytes: Vec<u8>) -> String {
        let token = self.user_token().await;
        let body = json!({"name": name, "source": "Web", "options": {"duplex": "simplex"}});
        let submitted = json_of(self.http.post(self.org_url("/jobs")).bearer_auth(&token).json(&body)).await;
        assert_eq!(submitted["job"]["state"], "Uploading", "{submitted}");
        let url = submitted["uploadUrl"].as_str().unwrap();
        assert!(self.http.put(url).body(bytes).send().await.unwrap().status().is_success());
        submitted["job"]["id"].as_str().unwrap().to_string()
    }

    /// Submits `bytes` inline; answers the job id.
    pub async fn submit_inline(&self, name: &str, bytes: &[u8]) -> String {
        self.submit_inline_as(&self.user_token().await, name, bytes).await
    }

    /// Submits `bytes` inline with the user token `token`; answers the job id.
    pub async fn submit_inline_as(&self, token: &str, name: &str, bytes: &[u8]) -> String {
        use base64::Engine;
        let document = base64::engine::general_purpose::STANDARD.encode(bytes);
        let body = json!({"name": name, "source": "Mobile", "document": document});
        let response = self.http.post(self.org_url("/jobs")).bearer_auth(token).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let submitted: Value = response.json().await.unwrap();
        assert!(submitted.get("uploadUrl").is_none());
        submitted["job"]["id"].as_str().unwrap().to_string()
    }

    /// The job once ingest has moved it out of `Uploading`.
    pub async fn ingested(&self, job_id: &str) -> Value {
        self.ingested_of(&self.user_id, job_id).await
    }

    /// The job of `owner` once ingest has moved it out of `Uploading`.
    pub async fn ingested_of(&self, owner: &str, job_id: &str) -> Value {
        let url = self.org_url(&format!("/users/{owner}/jobs/{job_id}"));
        eventually("the job to be ingested", std::time::Duration::from_secs(20), || async {
            let job: Value = self.http.get(&url).bearer_auth(&self.admin).send().await.ok()?.json().await.ok()?;
            (job["state"] != "Uploading").then_some(job)
        })
        .await
    }

    /// A session of the user at the printer of `device`, signed in with the badge.
    pub async fn session(&self, device: &str) -> String {
        self.session_of(device, BADGE).await
    }

    /// A session at the printer of `device`, signed in with `badge`.
    pub async fn session_of(&self, device: &str, badge: &str) -> String {
        let response = self
            .http
            .post(self.url("/v1/device/sessions"))
            .bearer_auth(device)
            .json(&json!({"badge": badge}))
            .send()
            .await
            .unwrap();
        let session: Value = response.json().await.unwrap();
        session["sessionToken"].as_str().unwrap_or_else(|| panic!("no session: {session}")).to_string()
    }

    pub async fn device_post(&self, session: &str, path: &str, body: Value) -> reqwest::Response {
        self.http.post(self.url(path)).bearer_auth(session).json(&body).send().await.unwrap()
    }
}

/// A held job of `owner` as ingest leaves it: `pages` pages of a `size`-byte PDF, printed
/// simplex in mono, kept until `expires_at`; [`store_held`] sets its organisation.
pub fn held_job(
    ctx: &shared::Ctx,
    owner: &str,
    name: String,
    pages: u32,
    size: usize,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> shared::print::jobs::Job {
    use shared::print::jobs::{Job, JobSource, JobState};
    use shared::print::options::{ColourMode, Duplex, PrintOptions};
    let requested =
        PrintOptions { duplex: Some(Duplex::Simplex), colour_mode: Some(ColourMode::Mono), ..PrintOptions::default() };
    Job {
        id: ctx.ids.new_id(),
        org_id: String::new(),
        owner_id: owner.to_string(),
        name,
        description: None,
        source: JobSource::Web,
        state: JobState::Held,
        options: Some(requested.effective()),
        requested,
        format: Some(shared::print::documents::DocumentFormat::Pdf),
        pages: Some(pages),
        uses_colour: Some(false),
        size_bytes: Some(size as u64),
        policy_changes: Vec::new(),
        rejection: None,
        lease: None,
        times_printed: 0,
        created_at: ctx.clock.now(),
        expires_at,
        version: 1,
    }
}

/// Stores `jobs` in organisation `org` with `document` as each one's document, as ingest
/// would leave them, 50 jobs to a transaction.
pub async fn store_held(
    ctx: &shared::Ctx,
    org: &str,
    jobs: &mut [shared::print::jobs::Job],
    document: bytes::Bytes,
) -> anyhow::Result<()> {
    use shared::ports::{Condition, Write};
    use shared::print::jobs::{document_key, job_item};
    for job in jobs.iter_mut() {
        job.org_id = org.to_string();
    }
    for chunk in jobs.chunks(50) {
        let writes = chunk
            .iter()
            .map(|job| Ok(Write::Put { item: job_item(job)?, condition: Condition::Absent }))
            .collect::<anyhow::Result<Vec<_>>>()?;
        ctx.table.transact(writes).await?;
    }
    for job in jobs.iter() {
        ctx.blobs.put(&document_key(org, &job.id), document.clone(), "application/pdf").await?;
    }
    Ok(())
}
