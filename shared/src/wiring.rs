//! Building a [`Ctx`] from its adapters: AWS ones from a Lambda's environment; for
//! `printcloud serve`, embedded ones in a data directory or those of a local
//! AWS-compatible endpoint, with the one-machine engines (Tesseract, a translation
//! endpoint, pattern detectors) in both cases.

use crate::adapters::aws::provision::{self, ResourceNames};
use crate::adapters::aws::{
    AwsTranslator, ComprehendPii, DynamoTable, S3Blobs, SesMailer, SqsQueue, TextractOcr, endpoint_overridden,
};
use crate::adapters::embedded::tesseract::DEFAULT_OCR_LANGUAGES;
use crate::adapters::embedded::{
    DirBlobs, NoTranslator, OutboxMailer, PatternPii, SmtpRelayMailer, SqliteQueue, SqliteTable, TesseractConfig,
    TesseractOcr, TranslationEndpoint, blob_routes,
};
use crate::context::{Config, Ctx};
use crate::identity::keys::SigningKeys;
use crate::identity::tokens::TokenIssuer;
use crate::ports::blobs::NOTIFICATIONS;
use crate::ports::queue::QUEUES;
use crate::ports::{
    Blobs, Clock, Ids, Mailer, Ocr, PiiDetector, Queue, StoreError, SystemClock, Table, Translator, UlidIds,
};
use rand::RngCore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Notify;

/// Why a context could not be built.
pub type WiringError = Box<dyn std::error::Error + Send + Sync>;

fn env(name: &str) -> Result<String, WiringError> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

/// A whole number from the environment, when the variable is set.
fn optional_env_number(name: &str) -> Result<Option<u64>, WiringError> {
    match std::env::var(name) {
        Ok(text) => text.parse().map(Some).map_err(|_| format!("environment variable {name} is not a number").into()),
        Err(_) => Ok(None),
    }
}

impl Ctx {
    /// The AWS context of a Lambda function: `TABLE_NAME`, `BUCKET_NAME`,
    /// `QUEUE_NAME_PREFIX`, `MAIL_FROM`, `MAIL_DOMAIN`, `PUBLIC_URL`, `TOKEN_ISSUER`, optionally
    /// `MAX_DOCUMENT_BYTES`, and
    /// two secrets read once at cold start from Secrets Manager (never from the
    /// environment, where they would be visible): the deployment secret
    /// (`PRINTCLOUD_SECRET_ARN`) and the token signing keys (`PRINTCLOUD_SIGNING_KEYS_ARN`,
    /// as `printcloud keys new` prints them).
    pub async fn from_aws_env() -> Result<Ctx, WiringError> {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let s3_config = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(endpoint_overridden(&sdk)).build();
        let keys = SigningKeys::from_stored(&secret_string(&sdk, &env("PRINTCLOUD_SIGNING_KEYS_ARN")?).await?)?;
        let tokens = TokenIssuer::new(keys, env("TOKEN_ISSUER")?, TOKEN_AUDIENCE);
        Ok(Ctx {
            table: Arc::new(DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), env("TABLE_NAME")?, clock.clone())),
            blobs: Arc::new(S3Blobs::new(aws_sdk_s3::Client::from_conf(s3_config), env("BUCKET_NAME")?)),
            queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), env("QUEUE_NAME_PREFIX")?)),
            mailer: Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&sdk))),
            clock,
            ids: Arc::new(UlidIds),
            config: Arc::new(Config {
                secret: secret_string(&sdk, &env("PRINTCLOUD_SECRET_ARN")?).await?.into_bytes(),
                public_url: env("PUBLIC_URL")?,
                mail_from: env("MAIL_FROM")?,
                mail_domain: env("MAIL_DOMAIN")?,
                max_document_bytes: optional_env_number("MAX_DOCUMENT_BYTES")?
                    .unwrap_or(crate::context::DEFAULT_MAX_DOCUMENT_BYTES),
            }),
            tokens: Arc::new(tokens),
            ocr: Arc::new(TextractOcr::new(aws_sdk_textract::Client::new(&sdk))),
            translator: Arc::new(AwsTranslator::new(aws_sdk_translate::Client::new(&sdk))),
            pii: Arc::new(ComprehendPii::new(aws_sdk_comprehend::Client::new(&sdk))),
        })
    }
}

/// A Secrets Manager secret's string, refused when shorter than [`MIN_SECRET_BYTES`].
async fn secret_string(sdk: &aws_config::SdkConfig, arn: &str) -> Result<String, WiringError> {
    let output = aws_sdk_secretsmanager::Client::new(sdk).get_secret_value().secret_id(arn).send().await?;
    let secret = output.secret_string().ok_or_else(|| format!("the secret {arn} has no string value"))?;
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!("the secret {arn} must hold at least {MIN_SECRET_BYTES} characters").into());
    }
    Ok(secret.to_string())
}

/// Audience of every token the deployment issues.
pub const TOKEN_AUDIENCE: &str = "printcloud";

/// Where `printcloud serve` keeps the table, the documents and the queues.
#[derive(Clone, Debug, Default)]
pub enum LocalStorage {
    /// SQLite and plain files under the data directory: nothing else to run.
    #[default]
    Embedded,
    /// DynamoDB, S3 and SQS of an AWS-compatible endpoint (moto, LocalStack) at this URL,
    /// provisioned on start as the template would; for checking the AWS adapters on one
    /// machine.
    AwsEndpoint(String),
}

/// How `printcloud serve` sets up its storage.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// Where everything (or, on an AWS endpoint, the secret, keys and outbox) is stored.
    pub data_dir: PathBuf,
    /// The runner's base URL, for presigned URLs and links.
    pub public_url: String,
    /// Relay outgoing mail to this SMTP URL instead of `<data>/outbox/`.
    pub smtp_relay: Option<String>,
    /// Sender address of outgoing mail.
    pub mail_from: String,
    /// Domain of the email-to-print addresses.
    pub mail_domain: String,
    /// Which adapters hold the data.
    pub storage: LocalStorage,
    /// Largest print document accepted, in bytes.
    pub max_document_bytes: u64,
}

/// How `printcloud serve` reaches the Solution Center's engines.
#[derive(Clone)]
pub struct EngineOptions {
    /// The `tesseract` program (a bare name is looked up on `PATH`).
    pub tesseract: PathBuf,
    /// Tesseract languages used when a step names none, joined with `+` ("eng+nld").
    pub ocr_languages: String,
    /// A LibreTranslate-compatible translation endpoint; without one, translate steps
    /// fail with `translation_unavailable` (D-TRANSLATE-ENGINE).
    pub translate_endpoint: Option<String>,
    /// The endpoint's API key; a secret, never logged.
    pub translate_api_key: Option<String>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            tesseract: "tesseract".into(),
            ocr_languages: DEFAULT_OCR_LANGUAGES.into(),
            translate_endpoint: None,
            translate_api_key: None,
        }
    }
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("tesseract", &self.tesseract)
            .field("ocr_languages", &self.ocr_languages)
            .field("translate_endpoint", &self.translate_endpoint)
            .field("translate_api_key", &self.translate_api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The Solution Center's engines of one machine.
pub struct Engines {
    /// Tesseract.
    pub ocr: Arc<dyn Ocr>,
    /// The configured translation endpoint, or none (D-TRANSLATE-ENGINE).
    pub translator: Arc<dyn Translator>,
    /// The pattern detectors.
    pub pii: Arc<dyn PiiDetector>,
}

/// The one-machine engines `options` describe; a translation endpoint that is not an
/// http(s) URL is refused here, at start, rather than at the first translation.
pub fn local_engines(options: &EngineOptions) -> Result<Engines, WiringError> {
    let ocr = TesseractOcr::new(TesseractConfig {
        tesseract: options.tesseract.clone(),
        default_languages: options.ocr_languages.clone(),
        ..TesseractConfig::default()
    });
    let translator: Arc<dyn Translator> = match &options.translate_endpoint {
        Some(endpoint) => Arc::new(TranslationEndpoint::new(endpoint, options.translate_api_key.clone())?),
        None => Arc::new(NoTranslator),
    };
    Ok(Engines { ocr: Arc::new(ocr), translator, pii: Arc::new(PatternPii) })
}

/// The context of `printcloud serve` plus what the runner drives directly.
pub struct Local {
    /// The context handlers receive.
    pub ctx: Ctx,
    /// Routes the storage itself needs served (the embedded presigned blob URLs).
    pub storage_routes: axum::Router,
    /// Woken when a message is queued, so pollers need not wait for their next look.
    pub arrivals: Arc<Notify>,
}

/// Opens (creating on first use) the storage `options` chooses, declares every queue with
/// its dead-letter queue, and wires the ObjectCreated notifications; the engines are the
/// default ones (Tesseract on `PATH`, no translation endpoint, pattern detectors).
pub async fn local(options: &LocalOptions, clock: Arc<dyn Clock>, ids: Arc<dyn Ids>) -> Result<Local, WiringError> {
    local_with_engines(options, local_engines(&EngineOptions::default())?, clock, ids).await
}

/// [`local`] with `engines` (see [`local_engines`]).
pub async fn local_with_engines(
    options: &LocalOptions,
    engines: Engines,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn Ids>,
) -> Result<Local, WiringError> {
    let data = &options.data_dir;
    std::fs::create_dir_all(data)?;
    let secret = deployment_secret(data)?;
    let mailer: Arc<dyn Mailer> = match &options.smtp_relay {
        Some(url) => Arc::new(SmtpRelayMailer::new(url)?),
        None => Arc::new(OutboxMailer::open(&data.join("outbox"))?),
    };
    let keys = SigningKeys::load_or_create(&data.join("keys"))?;
    let storage = match &options.storage {
        LocalStorage::Embedded => embedded_storage(options, &secret, clock.clone(), ids.clone()).await?,
        LocalStorage::AwsEndpoint(endpoint) => aws_endpoint_storage(data, endpoint, clock.clone()).await?,
    };
    let ctx = Ctx {
        tokens: Arc::new(TokenIssuer::new(keys, options.public_url.clone(), TOKEN_AUDIENCE)),
        table: storage.table,
        blobs: storage.blobs,
        queue: storage.queue,
        mailer,
        clock,
        ids,
        config: Arc::new(Config {
            secret,
            public_url: options.public_url.clone(),
            mail_from: options.mail_from.clone(),
            mail_domain: options.mail_domain.clone(),
            max_document_bytes: options.max_document_bytes,
        }),
        ocr: engines.ocr,
        translator: engines.translator,
        pii: engines.pii,
    };
    Ok(Local { ctx, storage_routes: storage.routes, arrivals: storage.arrivals })
}

/// The storage half of a local context.
struct Storage {
    table: Arc<dyn Table>,
    blobs: Arc<dyn Blobs>,
    queue: Arc<dyn Queue>,
    routes: axum::Router,
    arrivals: Arc<Notify>,
}

async fn embedded_storage(
    options: &LocalOptions,
    secret: &[u8],
    clock: Arc<dyn Clock>,
    ids: Arc<dyn Ids>,
) -> Result<Storage, WiringError> {
    let data = &options.data_dir;
    let queue = Arc::new(SqliteQueue::open(&data.join("queues.db"), clock.clone(), ids)?);
    for spec in &QUEUES {
        queue.declare(spec).await?;
    }
    let mut blobs = DirBlobs::open(&data.join("blobs"), &options.public_url, secret, clock.clone())?;
    for rule in NOTIFICATIONS {
        blobs = blobs.notify(rule, queue.clone() as Arc<dyn Queue>);
    }
    let blobs = Arc::new(blobs);
    Ok(Storage {
        table: Arc::new(SqliteTable::open(&data.join("table.db"), clock)?),
        routes: blob_routes(blobs.clone()),
        blobs,
        arrivals: queue.arrivals(),
        queue,
    })
}

/// The resources of an AWS-compatible endpoint, named once per data directory (in
/// `<data>/aws-resources.json`) and provisioned on every start.
async fn aws_endpoint_storage(data: &Path, endpoint: &str, clock: Arc<dyn Clock>) -> Result<Storage, WiringError> {
    let names_file = data.join("aws-resources.json");
    let names = match std::fs::read_to_string(&names_file) {
        Ok(text) => serde_json::from_str(&text)?,
        Err(_) => {
            let names = ResourceNames::with_stem(&format!("printcloud-{}", ulid::Ulid::new()));
            write_private(data, &names_file, serde_json::to_string(&names)?.as_bytes())?;
            names
        }
    };
    let sdk = local_endpoint_config(endpoint).await;
    provision::provision(&sdk, &names).await?;
    let s3_config = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build();
    Ok(Storage {
        table: Arc::new(DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), names.table, clock)),
        blobs: Arc::new(S3Blobs::new(aws_sdk_s3::Client::from_conf(s3_config), names.bucket)),
        queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), names.queue_prefix)),
        routes: axum::Router::new(),
        arrivals: Arc::new(Notify::new()),
    })
}

/// SDK configuration for a local AWS-compatible endpoint: credentials and region from the
/// environment when set, otherwise placeholders (local emulators accept any).
async fn local_endpoint_config(endpoint: &str) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url(endpoint);
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        let placeholder = aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "printcloud-serve");
        loader = loader.credentials_provider(placeholder);
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    loader.load().await
}

/// Shortest deployment secret accepted: a shorter key would make HMACs (presigned URLs,
/// badge and PIN hashes) guessable.
pub const MIN_SECRET_BYTES: usize = 32;

/// The deployment secret in `<data>/secret.key`, made (32 random bytes, owner-only,
/// written whole or not at all) on first start.
fn deployment_secret(data: &Path) -> Result<Vec<u8>, StoreError> {
    let path = data.join("secret.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let secret = hex::decode(text.trim()).unwrap_or_default();
        if secret.len() < MIN_SECRET_BYTES {
            return Err(StoreError::Invalid(format!(
                "{} must hold a hex key of at least {MIN_SECRET_BYTES} bytes",
                path.display()
            )));
        }
        return Ok(secret);
    }
    let mut secret = vec![0u8; MIN_SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    write_private(data, &path, hex::encode(&secret).as_bytes()).map_err(StoreError::backend)?;
    Ok(secret)
}

/// Writes an owner-only file through a temporary file and a rename, so a crash never
/// leaves it half-written.
fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let staging = dir.join(format!(".{}.tmp", ulid::Ulid::new()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&staging)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&staging, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_secret_is_made_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let made = deployment_secret(dir.path()).unwrap();
        assert_eq!(made.len(), MIN_SECRET_BYTES);
        assert_eq!(deployment_secret(dir.path()).unwrap(), made);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_short_or_damaged_secret_is_refused() {
        for content in ["", "abcd", "not hex at all", &"ab".repeat(31)] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("secret.key"), content).unwrap();
            assert!(matches!(deployment_secret(dir.path()), Err(StoreError::Invalid(_))), "{content:?}");
        }
    }
}
