//! Building a [`Ctx`] from its adapters: AWS ones from a Lambda's environment, embedded
//! ones from a data directory for `printcloud serve`.

use crate::adapters::aws::{DynamoTable, S3Blobs, SesMailer, SqsQueue, endpoint_overridden};
use crate::adapters::embedded::{DirBlobs, OutboxMailer, SmtpRelayMailer, SqliteQueue, SqliteTable};
use crate::context::{Config, Ctx};
use crate::identity::keys::SigningKeys;
use crate::identity::tokens::TokenIssuer;
use crate::ports::blobs::NOTIFICATIONS;
use crate::ports::queue::QUEUES;
use crate::ports::{Clock, Ids, Mailer, Queue, StoreError, SystemClock, UlidIds};
use rand::RngCore;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a context could not be built.
pub type WiringError = Box<dyn std::error::Error + Send + Sync>;

fn env(name: &str) -> Result<String, WiringError> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

impl Ctx {
    /// The AWS context of a Lambda function: `TABLE_NAME`, `BUCKET_NAME`,
    /// `QUEUE_NAME_PREFIX`, `MAIL_FROM`, `MAIL_DOMAIN`, `PUBLIC_URL`, `TOKEN_ISSUER`, and
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
            }),
            tokens: Arc::new(tokens),
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

/// How `printcloud serve` sets up its embedded storage.
#[derive(Clone, Debug)]
pub struct EmbeddedOptions {
    /// Where everything is stored.
    pub data_dir: PathBuf,
    /// The runner's base URL, for presigned URLs and links.
    pub public_url: String,
    /// Relay outgoing mail to this SMTP URL instead of `<data>/outbox/`.
    pub smtp_relay: Option<String>,
    /// Sender address of outgoing mail.
    pub mail_from: String,
    /// Domain of the email-to-print addresses.
    pub mail_domain: String,
}

/// The embedded context plus the adapters the runner drives directly.
pub struct Embedded {
    /// The context handlers receive.
    pub ctx: Ctx,
    /// The blob store, whose presigned URLs the runner serves.
    pub blobs: Arc<DirBlobs>,
    /// The queues, which the runner polls.
    pub queue: Arc<SqliteQueue>,
}

/// Opens (creating on first use) the embedded storage under `options.data_dir`, declares
/// every queue with its dead-letter queue, and wires the ObjectCreated notifications.
pub async fn embedded(
    options: &EmbeddedOptions,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn Ids>,
) -> Result<Embedded, WiringError> {
    let data = &options.data_dir;
    std::fs::create_dir_all(data)?;
    let secret = deployment_secret(data)?;
    let queue = Arc::new(SqliteQueue::open(&data.join("queues.db"), clock.clone(), ids.clone())?);
    for spec in &QUEUES {
        queue.declare(spec).await?;
    }
    let mut blobs = DirBlobs::open(&data.join("blobs"), &options.public_url, &secret, clock.clone())?;
    for rule in NOTIFICATIONS {
        blobs = blobs.notify(rule, queue.clone() as Arc<dyn Queue>);
    }
    let blobs = Arc::new(blobs);
    let mailer: Arc<dyn Mailer> = match &options.smtp_relay {
        Some(url) => Arc::new(SmtpRelayMailer::new(url)?),
        None => Arc::new(OutboxMailer::open(&data.join("outbox"))?),
    };
    let keys = SigningKeys::load_or_create(&data.join("keys"))?;
    let ctx = Ctx {
        tokens: Arc::new(TokenIssuer::new(keys, options.public_url.clone(), TOKEN_AUDIENCE)),
        table: Arc::new(SqliteTable::open(&data.join("table.db"), clock.clone())?),
        blobs: blobs.clone(),
        queue: queue.clone(),
        mailer,
        clock,
        ids,
        config: Arc::new(Config {
            secret,
            public_url: options.public_url.clone(),
            mail_from: options.mail_from.clone(),
            mail_domain: options.mail_domain.clone(),
        }),
    };
    Ok(Embedded { ctx, blobs, queue })
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
