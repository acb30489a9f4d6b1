//! User import end to end (BR-UIMP, D-IMPORT-COLUMNS, BR-PWD): the file is checked at once,
//! applied through the `user-imports` queue in chunks, and the import log is stored, linked
//! from the import and mailed (with the log attached) to the importing administrator. Also
//! the set-password links the import mails, re-delivered chunks, tenant isolation and roles.

use e2e::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Storage, access_token, eventually, expect_problem, options_on, sign_in, start_with,
};
use printcloud::serve::Running;
use reqwest::Client;
use serde_json::{Value, json};
use shared::identity::import::USER_IMPORT_HEADER;
use shared::identity::model::{User, UserRecord};
use shared::identity::{groups, store, user_import};
use shared::ports::{Condition, ManualClock, Update};
use shared::records::to_item;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const PASSWORD: &str = "Member-Passw0rd!";
const ORG_NAME: &str = "printcloud";

/// The seed's example (L4305–L4310), rows of 9 fields under the 11-column header.
const SEED_EXAMPLE: &str = "jdoe@company.com,CREATE,,John,Doe,Johnny,jdoe,Group 1,\"{'key1':'value1','key2':'value2'}\"\n\
                            llane@company.com,UPDATE,password2,Lois,Lane,Lois,llane,,\n\
                            ckent@company.com,DELETE,,,,,,,\n";

fn header() -> String {
    USER_IMPORT_HEADER.join(",")
}

/// A mail from the outbox, parsed.
#[derive(Debug)]
struct Sent {
    subject: String,
    text: String,
    attachments: Vec<(String, Vec<u8>)>,
}

/// A runner with the first organisation's administrator signed in.
struct Env {
    running: Running,
    dir: TempDir,
    http: Client,
    org: String,
    admin: String,
}

impl Env {
    async fn new(storage: Storage) -> Env {
        let dir = tempfile::tempdir().unwrap();
        Env::started(storage, dir, None).await
    }

    async fn with_clock(storage: Storage, clock: Arc<ManualClock>) -> Env {
        let dir = tempfile::tempdir().unwrap();
        Env::started(storage, dir, Some(clock)).await
    }

    async fn started(storage: Storage, dir: TempDir, clock: Option<Arc<ManualClock>>) -> Env {
        let mut options = options_on(storage, dir.path());
        if let Some(clock) = clock {
            options.clock = clock;
        }
        let running = start_with(options).await;
        let admin = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let http = Client::new();
        let me: Value =
            http.get(format!("{}/v1/me", running.url)).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
        let org = me["organisation"]["id"].as_str().unwrap().to_string();
        Env { running, dir, http, org, admin }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url)
    }

    fn org_url(&self, path: &str) -> String {
        self.url(&format!("/v1/orgs/{}{path}", self.org))
    }

    async fn post_import(
        &self,
        token: &str,
        org: &str,
        file: impl Into<reqwest::Body>,
        link: bool,
    ) -> reqwest::Response {
        let mut url = self.url(&format!("/v1/orgs/{org}/users/import"));
        if link {
            url.push_str("?emailPasswordLink=true");
        }
        self.http.post(url).bearer_auth(token).header("content-type", "text/csv").body(file).send().await.unwrap()
    }

    /// Starts an import of `rows` (under the header) as the administrator; answers its id.
    async fn start_import(&self, rows: &str, link: bool) -> String {
        let response = self.post_import(&self.admin, &self.org, format!("{}\n{rows}", header()), link).await;
        assert_eq!(response.status().as_u16(), 202, "import accepted");
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let view: Value = response.json().await.unwrap();
        assert_eq!(view["status"], "queued");
        let id = view["importId"].as_str().unwrap().to_string();
        assert_eq!(location, format!("/v1/orgs/{}/imports/{id}", self.org));
        id
    }

    async fn import_view(&self, token: &str, org: &str, id: &str) -> reqwest::Response {
        self.http.get(self.url(&format!("/v1/orgs/{org}/imports/{id}"))).bearer_auth(token).send().await.unwrap()
    }

    /// Polls the import until it is done; answers its final view.
    async fn finished(&self, id: &str, limit: Duration) -> Value {
        eventually("the import to finish", limit, || async {
            let view: Value = self.import_view(&self.admin, &self.org, id).await.json().await.unwrap();
            assert_ne!(view["status"], "failed", "{view}");
            (view["status"] == "done").then_some(view)
        })
        .await
    }

    /// Imports `rows` and waits until done.
    async fn imported(&self, rows: &str, link: bool) -> Value {
        let id = self.start_import(rows, link).await;
        self.finished(&id, Duration::from_secs(120)).await
    }

    /// The import log behind the view's presigned URL.
    async fn log(&self, view: &Value) -> String {
        let url = view["logUrl"].as_str().unwrap_or_else(|| panic!("a log URL in {view}"));
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.text().await.unwrap()
    }

    /// Every mail in the outbox to `address`.
    fn mails_to(&self, address: &str) -> Vec<Sent> {
        let outbox = self.dir.path().join("outbox");
        let mut found = Vec::new();
        let Ok(entries) = std::fs::read_dir(&outbox) else { return found };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "eml") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let message = mail_parser::MessageParser::default().parse(&raw).expect("a mail");
            let to: Vec<String> = message
                .to()
                .map(|a| a.iter().filter_map(|addr| addr.address()).map(str::to_string).collect())
                .unwrap_or_default();
            if !to.iter().any(|t| t == address) {
                continue;
            }
            let attachments = message
                .attachments()
                .map(|part| {
                    use mail_parser::MimeHeaders;
                    (part.attachment_name().unwrap_or_default().to_string(), part.contents().to_vec())
                })
                .collect();
            found.push(Sent {
                subject: message.subject().unwrap_or_default().to_string(),
                text: message.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
                attachments,
            });
        }
        found
    }

    /// The token of the one set-password link mailed to `address`.
    fn link_token(&self, address: &str) -> String {
        let mails: Vec<Sent> = self
            .mails_to(address)
            .into_iter()
            .filter(|m| m.subject.ends_with("set your printcloud password"))
            .collect();
        assert_eq!(mails.len(), 1, "one link mail to {address}: {mails:?}");
        let text = &mails[0].text;
        let at = text.find("/v1/password?token=").unwrap_or_else(|| panic!("a link in {text}"));
        let token: String = text[at + "/v1/password?token=".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(token.len() >= 43, "{text}");
        token
    }

    async fn user(&self, email: &str) -> Option<UserRecord> {
        store::find_user_by_email(&self.running.ctx, email).await.unwrap()
    }

    async fn create_user(&self, body: Value) -> String {
        let response =
            self.http.post(self.org_url("/users")).bearer_auth(&self.admin).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 201, "user {body}");
        response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
    }

    /// A user of the organisation with `roles`, signed in; answers their token.
    async fn member_with(&self, email: &str, roles: &[&str]) -> String {
        let id = self.create_user(json!({"email": email, "password": PASSWORD})).await;
        if !roles.is_empty() {
            let response = self
                .http
                .put(self.org_url(&format!("/roles/users/{id}")))
                .bearer_auth(&self.admin)
                .json(&json!({"roles": roles}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200, "roles of {email}");
        }
        access_token(&self.running.url, email, PASSWORD).await
    }

    async fn group_names_of(&self, user: &User) -> Vec<String> {
        let mut names = Vec::new();
        for id in &user.groups {
            names.push(groups::get(&self.running.ctx, &self.org, id).await.unwrap().name);
        }
        names.sort();
        names
    }

    async fn set_password(&self, token: &str, password: &str) -> reqwest::Response {
        let body = json!({"token": token, "password": password});
        self.http.post(self.url("/v1/password")).json(&body).send().await.unwrap()
    }
}

/// The log line of file line `row`.
fn log_line(log: &str, row: usize) -> &str {
    log.lines().find(|l| l.starts_with(&format!("{row},"))).unwrap_or_else(|| panic!("line {row} in the log:\n{log}"))
}

/// BR-UIMP, D-IMPORT-COLUMNS: the seed's own example, with the link option: jdoe is created
/// with every property, the missing group and a mailed set-password link; llane's line is
/// refused for its password (BR-PWD); ckent is deleted. The log is linked and mailed.
async fn br_uimp_d_import_columns_the_seed_example_imports_line_by_line(storage: Storage) {
    let env = Env::new(storage).await;
    env.create_user(json!({"email": "llane@company.com", "firstName": "Lo"})).await;
    env.create_user(json!({"email": "ckent@company.com"})).await;

    let view = env.imported(SEED_EXAMPLE, true).await;
    assert_eq!((view["total"].as_u64(), view["done"].as_u64(), view["failed"].as_u64()), (Some(3), Some(2), Some(1)));
    assert_eq!(view["processed"], 3);
    assert_eq!(view["emailPasswordLink"], true);

    let jdoe = env.user("jdoe@company.com").await.expect("jdoe is created").user;
    assert_eq!(
        (jdoe.first_name.as_str(), jdoe.last_name.as_str(), jdoe.display_name.as_str(), jdoe.short_name.as_str()),
        ("John", "Doe", "Johnny", "jdoe")
    );
    assert_eq!(jdoe.custom_attributes.get("key1").map(String::as_str), Some("value1"));
    assert_eq!(jdoe.custom_attributes.get("key2").map(String::as_str), Some("value2"));
    assert_eq!(env.group_names_of(&jdoe).await, vec!["Group 1"], "the missing group is created and joined");
    assert!(env.user("jdoe@company.com").await.unwrap().password_hash.is_none(), "no password until the link is used");
    assert_eq!(env.user("llane@company.com").await.unwrap().user.first_name, "Lo", "a refused line changes nothing");
    assert!(env.user("ckent@company.com").await.is_none(), "ckent is deleted");

    let log = env.log(&view).await;
    assert_eq!(log.lines().next(), Some("row,email,outcome,reason"));
    assert!(log_line(&log, 2).starts_with("2,jdoe@company.com,done,"), "{log}");
    assert_eq!(
        log_line(&log, 3),
        "3,,error,\"invalid_line: PASSWORD does not meet the password requirements: it needs an uppercase letter, \
         a special character\""
    );
    assert_eq!(log_line(&log, 4), "4,ckent@company.com,done,deleted");

    let mails = env.mails_to(ADMIN_EMAIL);
    assert_eq!(mails.len(), 1, "the log is mailed to the importing administrator");
    assert_eq!(mails[0].subject, format!("{ORG_NAME}: user import: 2 done, 1 failed"));
    let id = view["importId"].as_str().unwrap();
    assert_eq!(mails[0].attachments, vec![(format!("user-import-{id}.log.csv"), log.clone().into_bytes())]);
    let token = env.link_token("jdoe@company.com");
    assert!(!token.is_empty());
    env.running.shutdown().await;
}

/// BR-UIMP: a file with bad lines imports every good line; the log names each bad line with
/// its number in the file and the reason. Also: `[delete]` clears names on UPDATE, GROUPS with
/// forbidden characters are created with `_`, addresses are lower-cased.
async fn br_uimp_bad_lines_do_not_stop_good_lines_and_the_log_names_each_one(storage: Storage) {
    let env = Env::new(storage).await;
    env.create_user(json!({"email": "keep@example.com", "firstName": "Kees", "lastName": "K", "shortName": "kk"}))
        .await;
    env.create_user(json!({"email": "gone@example.com"})).await;
    let rows = [
        "NEW1@Example.com,CREATE,Geheim12!,Ann,Smith,\"Smith, Ann\",asmith,\"Sales,R&D/Lab\",{'site':'Utrecht'},CC-1,Finance",
        "not-an-address,CREATE,Geheim12!",
        "new2@example.com,CREATE,kort",
        "new3@example.com,SHRED",
        &format!("{ADMIN_EMAIL},CREATE,Geheim12!"),
        "new1@example.com,CREATE,Geheim12!",
        "ghost@example.com,UPDATE,,Casper",
        "ghost@example.com,DELETE",
        &format!("{ADMIN_EMAIL},DELETE"),
        "keep@example.com,UPDATE,,[delete],Jansen,,[DELETE],Sales,,,Sales dept",
        "someone@example.com,DELETE,,,,,,,,,,extra",
        "new4@example.com,CREATE,Geheim12!,,,,,,,,",
        "",
        "gone@example.com,DELETE,,,,,,",
    ]
    .join("\r\n");
    let view = env.imported(&rows, false).await;
    assert_eq!((view["total"].as_u64(), view["done"].as_u64(), view["failed"].as_u64()), (Some(13), Some(4), Some(9)));

    // The good lines.
    let new1 = env.user("new1@example.com").await.expect("line 2 imported").user;
    assert_eq!((new1.display_name.as_str(), new1.short_name.as_str()), ("Smith, Ann", "asmith"));
    assert_eq!((new1.cost_center.as_str(), new1.department.as_str()), ("CC-1", "Finance"));
    assert_eq!(new1.custom_attributes.get("site").map(String::as_str), Some("Utrecht"));
    assert_eq!(env.group_names_of(&new1).await, vec!["R_D_Lab", "Sales"], "forbidden characters become `_`");
    sign_in(&env.running.url, "new1@example.com", "Geheim12!").await;
    let keep = env.user("keep@example.com").await.unwrap().user;
    assert_eq!(
        (keep.first_name.as_str(), keep.last_name.as_str(), keep.short_name.as_str(), keep.department.as_str()),
        ("", "Jansen", "", "Sales dept"),
        "[delete] clears, empty keeps, values set"
    );
    assert_eq!(env.group_names_of(&keep).await, vec!["Sales"]);
    assert!(env.user("new4@example.com").await.is_some());
    assert!(env.user("gone@example.com").await.is_none());
    // The bad lines changed nothing.
    assert!(env.user(ADMIN_EMAIL).await.is_some(), "the importer's own account stays");
    for absent in ["new2@example.com", "new3@example.com", "ghost@example.com"] {
        assert!(env.user(absent).await.is_none(), "{absent}");
    }

    let log = env.log(&view).await;
    assert_eq!(log.lines().count(), 1 + 13, "a header and one line per data line:\n{log}");
    assert!(log_line(&log, 2).starts_with("2,new1@example.com,done,created"));
    assert_eq!(log_line(&log, 3), "3,,error,invalid_line: EMAIL `not-an-address` is not an e-mail address");
    assert!(log_line(&log, 4).starts_with("4,,error,\"invalid_line: PASSWORD does not meet the password"));
    assert_eq!(log_line(&log, 5), "5,,error,\"invalid_line: OPERATION `SHRED` is not CREATE, UPDATE or DELETE\"");
    assert!(log_line(&log, 6).starts_with(&format!("6,{ADMIN_EMAIL},error,email_taken: ")));
    assert!(log_line(&log, 7).starts_with("7,new1@example.com,error,email_taken: "), "a repeated CREATE");
    assert!(log_line(&log, 8).starts_with("8,ghost@example.com,error,not_found: "));
    assert!(log_line(&log, 9).starts_with("9,ghost@example.com,error,not_found: "));
    assert!(log_line(&log, 10).starts_with(&format!("10,{ADMIN_EMAIL},error,cannot_delete_self: ")));
    assert_eq!(log_line(&log, 11), "11,keep@example.com,done,updated");
    assert!(log_line(&log, 12).starts_with("12,,error,invalid_line: the line has 12 values but the header has 11"));
    assert_eq!(log_line(&log, 13), "13,new4@example.com,done,created");
    assert_eq!(log_line(&log, 15), "15,gone@example.com,done,deleted", "line numbers count the blank line");

    let mails = env.mails_to(ADMIN_EMAIL);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, format!("{ORG_NAME}: user import: 4 done, 9 failed"));
    assert_eq!(mails[0].attachments.len(), 1);
    assert_eq!(mails[0].attachments[0].1, log.into_bytes(), "the attachment is the stored log");
    env.running.shutdown().await;
}

/// BR-UIMP, D-IMPORT-COLUMNS: a file refused as a whole answers 400 at once and nothing is
/// stored or queued: wrong (case-sensitive) header, over 1 MB, empty, no lines, and the
/// link option on a file without CREATE lines (seed L4335–L4336).
async fn br_uimp_file_level_problems_answer_400_and_import_nothing(storage: Storage) {
    let env = Env::new(storage).await;
    let (admin, org) = (env.admin.as_str(), env.org.as_str());
    let lower = format!("{}\nx@example.com,CREATE,Geheim12!\n", header().replace("EMAIL", "Email"));
    let problem = expect_problem(env.post_import(admin, org, lower, false).await, 400, "invalid_csv").await;
    assert!(problem["detail"].as_str().unwrap().contains("case-sensitive"), "{problem}");

    let mut big = format!("{}\n", header());
    while big.len() <= 1024 * 1024 {
        big.push_str("someone@example.com,DELETE,,,,,,,,,\n");
    }
    let problem = expect_problem(env.post_import(admin, org, big.clone(), false).await, 400, "invalid_csv").await;
    assert!(problem["detail"].as_str().unwrap().contains("1 MB"), "{problem}");
    let huge = big.repeat(3);
    let problem = expect_problem(env.post_import(admin, org, huge, false).await, 400, "invalid_csv").await;
    assert!(problem["detail"].as_str().unwrap().contains("1 MB"), "{problem}");

    expect_problem(env.post_import(admin, org, "", false).await, 400, "invalid_csv").await;
    expect_problem(env.post_import(admin, org, format!("{}\r\n\r\n", header()), false).await, 400, "invalid_csv").await;
    let updates_only = format!("{}\nx@example.com,UPDATE,,Jan\n", header());
    expect_problem(env.post_import(admin, org, updates_only, true).await, 400, "invalid_option").await;
    let bad_query = env.http.post(env.org_url("/users/import?emailPasswordLinks=1")).bearer_auth(admin).body("x");
    expect_problem(bad_query.send().await.unwrap(), 400, "invalid_request").await;

    assert!(env.running.ctx.blobs.list("imports/").await.unwrap().is_empty(), "no file stored");
    assert!(env.user("x@example.com").await.is_none());
    env.running.shutdown().await;
}

/// BR-UIMP with BR-PWD: a user created without a password gets a single-use link, valid for
/// 72 hours, that sets a password meeting BR-PWD; the mailed link opens a form.
async fn br_uimp_set_password_link_works_once_and_expires_after_72_hours(storage: Storage) {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let env = Env::with_clock(storage, clock.clone()).await;
    env.imported("ann@example.com,CREATE,,Ann\nbob@example.com,CREATE,,Bob\ncid@example.com,CREATE,,Cid\n", true).await;
    let ann = env.link_token("ann@example.com");
    let bob = env.link_token("bob@example.com");
    let cid = env.link_token("cid@example.com");
    let mail = &env.mails_to("ann@example.com")[0];
    assert!(mail.text.contains(&format!("{}/v1/password?token={ann}", env.running.url)), "{}", mail.text);

    let page = env.http.get(env.url(&format!("/v1/password?token={ann}"))).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().contains(&format!("name=\"token\" value=\"{ann}\"")));

    expect_problem(env.set_password(&ann, "weak").await, 400, "weak_password").await;
    assert_eq!(env.set_password(&ann, "Ann-Passw0rd!").await.status().as_u16(), 204);
    sign_in(&env.running.url, "ann@example.com", "Ann-Passw0rd!").await;
    expect_problem(env.set_password(&ann, "Other-Passw0rd!").await, 400, "invalid_link").await;
    sign_in(&env.running.url, "ann@example.com", "Ann-Passw0rd!").await;
    expect_problem(env.set_password("made-up-token", "Other-Passw0rd!").await, 400, "invalid_link").await;

    // The form posts form-encoded and is answered with HTML.
    clock.advance(chrono::Duration::hours(71));
    let form = env
        .http
        .post(env.url("/v1/password"))
        .form(&[("token", bob.as_str()), ("password", "Bob-Passw0rd!")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 200);
    assert!(form.text().await.unwrap().contains("Your password is set"));
    sign_in(&env.running.url, "bob@example.com", "Bob-Passw0rd!").await;

    clock.advance(chrono::Duration::hours(2));
    expect_problem(env.set_password(&cid, "Cid-Passw0rd!").await, 400, "invalid_link").await;
    assert!(env.user("cid@example.com").await.unwrap().password_hash.is_none());
    env.running.shutdown().await;
}

/// BR-UIMP, tenant isolation and roles: another organisation's administrator gets 404 for
/// this organisation's import routes, a plain user 403; a line about another organisation's
/// user is that line's error and changes nothing there; joining a group that carries roles
/// needs the permission to assign roles.
async fn br_uimp_imports_stay_in_their_organisation_and_need_their_roles(storage: Storage) {
    let env = Env::new(storage).await;
    let org_b = e2e::second_org(&env.running).await.0;
    let admin_b = access_token(&env.running.url, "admin@other.example", ADMIN_PASSWORD).await;
    let file = format!("{}\nx@example.com,CREATE,Geheim12!\n", header());
    expect_problem(env.post_import(&admin_b, &env.org, file.clone(), false).await, 404, "not_found").await;

    let rows =
        "admin@other.example,UPDATE,,Mallory\nadmin@other.example,DELETE\nadmin@other.example,CREATE,Geheim12!\n";
    let view = env.imported(rows, false).await;
    assert_eq!(view["failed"], 3);
    let log = env.log(&view).await;
    assert!(log_line(&log, 2).starts_with("2,admin@other.example,error,not_found: "), "{log}");
    assert!(log_line(&log, 3).starts_with("3,admin@other.example,error,not_found: "), "{log}");
    assert!(log_line(&log, 4).starts_with("4,admin@other.example,error,email_taken: "), "{log}");
    let other = env.user("admin@other.example").await.expect("B's administrator stays");
    assert_eq!((other.user.org_id.as_str(), other.user.first_name.as_str()), (org_b.as_str(), "Bea"));
    let id = view["importId"].as_str().unwrap();
    expect_problem(env.import_view(&admin_b, &env.org, id).await, 404, "not_found").await;
    expect_problem(env.import_view(&admin_b, &org_b, id).await, 404, "not_found").await;

    let user = env.member_with("plain@example.com", &[]).await;
    expect_problem(env.post_import(&user, &env.org, file.clone(), false).await, 403, "forbidden").await;
    expect_problem(env.import_view(&user, &env.org, id).await, 403, "forbidden").await;

    // A User Administrator imports users but cannot hand out the Administrator group's roles.
    let user_admin = env.member_with("useradmin@example.com", &["User Administrator"]).await;
    let rows = "boss@example.com,CREATE,Geheim12!,,,,,Administrator\nteam@example.com,CREATE,Geheim12!,,,,,Team\n";
    let response = env.post_import(&user_admin, &env.org, format!("{}\n{rows}", header()), false).await;
    assert_eq!(response.status().as_u16(), 202);
    let id = response.json::<Value>().await.unwrap()["importId"].as_str().unwrap().to_string();
    let view = env.finished(&id, Duration::from_secs(120)).await;
    let log = env.log(&view).await;
    assert!(
        log_line(&log, 2).starts_with("2,boss@example.com,error,\"forbidden: members of the group `Administrator`")
    );
    assert!(env.user("boss@example.com").await.is_none());
    let team = env.user("team@example.com").await.expect("line 3 imported").user;
    assert_eq!(env.group_names_of(&team).await, vec!["Team"]);
    assert_eq!(env.mails_to("useradmin@example.com").len(), 1, "the log goes to whoever imported");
    env.running.shutdown().await;
}

/// BR-UIMP: a chunk delivered again — after a crash before it advanced the import, with a
/// CREATE and a DELETE left half-done — creates no user twice, applies no UPDATE twice and
/// counts no line twice; an already applied chunk delivered again is ignored.
async fn br_uimp_redelivered_chunks_never_apply_a_line_twice(storage: Storage) {
    let env = Env::new(storage).await;
    env.create_user(json!({"email": "upd@example.com"})).await;
    let gone = env.create_user(json!({"email": "del@example.com"})).await;
    let rows =
        "new@example.com,CREATE,Geheim12!,,,,,Team\nupd@example.com,UPDATE,,Ursula\ndel@example.com,DELETE\nbad\n";
    let first = env.imported(rows, false).await;
    assert_eq!((first["done"].as_u64(), first["failed"].as_u64()), (Some(3), Some(1)));
    let first_log = env.log(&first).await;
    let id = first["importId"].as_str().unwrap().to_string();
    let created = env.user("new@example.com").await.unwrap().user;
    let updated = env.user("upd@example.com").await.unwrap().user;

    // As if the first chunk had crashed before advancing: the record back at line index 0,
    // the file still there, and lines 2 (CREATE with a group) and 4 (DELETE) half-done.
    let ctx = &env.running.ctx;
    let reset = Update::new(user_import::import_key(&env.org, &id))
        .set("status", "running")
        .set("nextRow", 0)
        .set("done", 0)
        .set("failed", 0)
        .remove("finishedAt")
        .when(Condition::Exists);
    ctx.table.update(reset).await.unwrap();
    let file = format!("{}\n{rows}", header());
    ctx.blobs.put(&user_import::file_key(&env.org, &id), file.into(), "text/csv").await.unwrap();
    for (row, email, user_id) in [(2, "new@example.com", &created.id), (4, "del@example.com", &gone)] {
        let pending = json!({"row": row, "email": email, "outcome": "pending", "userId": user_id});
        let item = to_item(&pending, &user_import::outcome_key(&env.org, &id, row), &[]).unwrap();
        ctx.table.put(item, Condition::Always).await.unwrap();
    }
    let message = json!({"orgId": env.org, "importId": id, "fromRow": 0}).to_string();
    user_import::handle_message(ctx, &message, "redelivered", 2).await.unwrap();
    let second = env.finished(&id, Duration::from_secs(120)).await;
    assert_eq!((second["done"].as_u64(), second["failed"].as_u64()), (Some(3), Some(1)), "no line counted twice");
    assert_eq!(env.log(&second).await, first_log);
    let again = env.user("new@example.com").await.unwrap().user;
    assert_eq!(again.id, created.id, "not created twice");
    assert_eq!(env.group_names_of(&again).await, vec!["Team"]);
    assert_eq!(env.user("upd@example.com").await.unwrap().user.version, updated.version, "UPDATE applied once");
    assert!(env.user("del@example.com").await.is_none());

    // The same message once more, now stale: nothing happens.
    user_import::handle_message(ctx, &message, "redelivered-again", 1).await.unwrap();
    let third: Value = env.import_view(&env.admin, &env.org, &id).await.json().await.unwrap();
    assert_eq!((third["status"].as_str(), third["done"].as_u64()), (Some("done"), Some(3)));
    env.running.shutdown().await;
}

/// BR-UIMP: a 10,000-line import (every line a CREATE, the same initial password) completes
/// through many chunks; every user exists and the log has every line.
/// Embedded storage only: this measures the import's throughput, which the other import
/// tests do not; on moto the same 10,000 users exhaust the emulator's memory.
#[tokio::test]
async fn br_uimp_a_ten_thousand_line_import_completes() {
    let env = Env::new(Storage::Embedded).await;
    let mut rows = String::new();
    for i in 0..10_000 {
        let group = if i % 100 == 0 { "Bulk" } else { "" };
        rows.push_str(&format!("bulk{i}@example.com,CREATE,Bulk-Passw0rd!,First{i},Last,,,{group},,CC{},\n", i % 10));
    }
    let started = Instant::now();
    let id = env.start_import(&rows, false).await;
    let view = env.finished(&id, Duration::from_secs(1200)).await;
    eprintln!("10,000-line import took {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(
        (view["total"].as_u64(), view["done"].as_u64(), view["failed"].as_u64()),
        (Some(10_000), Some(10_000), Some(0))
    );

    let log = env.log(&view).await;
    assert_eq!(log.lines().count(), 10_001);
    assert_eq!(log_line(&log, 10_001), "10001,bulk9999@example.com,done,created");
    let last = env.user("bulk9999@example.com").await.expect("the last line is imported").user;
    assert_eq!((last.first_name.as_str(), last.cost_center.as_str()), ("First9999", "CC9"));
    let grouped = env.user("bulk9900@example.com").await.unwrap().user;
    assert_eq!(env.group_names_of(&grouped).await, vec!["Bulk"]);
    sign_in(&env.running.url, "bulk4321@example.com", "Bulk-Passw0rd!").await;
    let mails = env.mails_to(ADMIN_EMAIL);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].attachments[0].1, log.into_bytes());
    env.running.shutdown().await;
}

e2e::on_both_storages!(
    br_uimp_d_import_columns_the_seed_example_imports_line_by_line,
    br_uimp_bad_lines_do_not_stop_good_lines_and_the_log_names_each_one,
    br_uimp_file_level_problems_answer_400_and_import_nothing,
    br_uimp_set_password_link_works_once_and_expires_after_72_hours,
    br_uimp_imports_stay_in_their_organisation_and_need_their_roles,
    br_uimp_redelivered_chunks_never_apply_a_line_twice,
);
