//! The `printcloud` command.

use clap::{Parser, Subcommand};
use printcloud::serve::{self, ServeOptions};
use shared::identity::keys::SigningKeys;
use shared::wiring::LocalStorage;
use std::net::SocketAddr;
use std::path::PathBuf;

/// printcloud: self-hostable cloud print management.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every function in one process on embedded storage (or a local AWS endpoint).
    Serve {
        /// Data directory (created on first start).
        #[arg(long, default_value = "./data", env = "PRINTCLOUD_DATA")]
        data: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "PRINTCLOUD_LISTEN")]
        listen: SocketAddr,
        /// Relay outgoing mail to this SMTP URL (e.g. smtp://127.0.0.1:25) instead of
        /// writing .eml files to <data>/outbox/.
        #[arg(long, env = "PRINTCLOUD_SMTP_RELAY")]
        smtp_relay: Option<String>,
        /// E-mail address of the first administrator (first start only).
        #[arg(long, env = "PRINTCLOUD_ADMIN_EMAIL", default_value = "admin@printcloud.local")]
        admin_email: String,
        /// Name of the first organisation (first start only).
        #[arg(long, env = "PRINTCLOUD_ORGANISATION", default_value = "printcloud")]
        organisation: String,
        /// Keep the table, documents and queues on this AWS-compatible endpoint (moto,
        /// LocalStack; e.g. http://127.0.0.1:5000) instead of in the data directory;
        /// the resources are created on start.
        #[arg(long, env = "PRINTCLOUD_AWS_ENDPOINT")]
        aws_endpoint: Option<String>,
    },
    /// Print the OpenAPI 3.1 document of the whole API (as `api/openapi.json` holds it).
    Openapi,
    /// Token signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Print a new pair of signing keys (current and next) in the form the AWS secret
    /// `SigningKeysSecret` holds.
    New,
    /// Rotate the keys of a `serve` data directory: next becomes current, the old current
    /// only verifies (until the following rotation), a new next is made; restart `serve`.
    Rotate {
        /// Data directory of `serve`.
        #[arg(long, default_value = "./data", env = "PRINTCLOUD_DATA")]
        data: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init_plain();
    match Cli::parse().command {
        Command::Serve { data, listen, smtp_relay, admin_email, organisation, aws_endpoint } => {
            let mut options = ServeOptions::new(data, listen);
            options.storage = aws_endpoint.map_or(LocalStorage::Embedded, LocalStorage::AwsEndpoint);
            options.smtp_relay = smtp_relay;
            options.admin_email = admin_email;
            options.organisation = organisation;
            options.admin_password = std::env::var("PRINTCLOUD_ADMIN_PASSWORD").ok();
            run(options).await
        }
        Command::Openapi => {
            print!("{}", printcloud::openapi::document_json());
            Ok(())
        }
        Command::Keys { action: KeysAction::New } => {
            println!("{}", SigningKeys::generate()?.to_stored());
            Ok(())
        }
        Command::Keys { action: KeysAction::Rotate { data } } => {
            let dir = data.join("keys");
            let rotated = SigningKeys::load_or_create(&dir)?.rotate()?;
            rotated.store(&dir)?;
            println!("rotated the signing keys in {}; restart serve to use them", dir.display());
            Ok(())
        }
    }
}

async fn run(options: ServeOptions) -> anyhow::Result<()> {
    let data = options.data_dir.clone();
    let running = serve::start(options).await?;
    println!("printcloud is serving");
    println!("  API:  {}", running.url);
    println!("  data: {}", data.display());
    if let Some(admin) = &running.first_admin {
        println!("First start: created organisation \"{}\" and its administrator.", admin.organisation);
        println!("  e-mail:   {}", admin.email);
        println!("  password: {}   (shown only now; store it safely)", admin.password);
    }
    tokio::signal::ctrl_c().await?;
    println!("stopping...");
    running.shutdown().await;
    Ok(())
}
