//! The `printcloud` command.

use clap::{Args, Parser, Subcommand, ValueEnum};
use printcloud::client::device::{self, AtPrinter, Credential, Enrollment};
use printcloud::client::print::PrintRequest;
use printcloud::client::release::{ReleasePlan, Selection};
use printcloud::client::{self, jobs, session};
use printcloud::serve::{self, ServeOptions};
use shared::fleet::printers::ReleaseApp;
use shared::identity::keys::SigningKeys;
use shared::print::options::{ColourMode, Duplex, PrintOptions};
use shared::print::release::Outcome;
use shared::wiring::LocalStorage;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

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
        /// Accept email-to-print mail over SMTP on this address (e.g. 127.0.0.1:2525).
        #[arg(long, value_name = "ADDR", env = "PRINTCLOUD_SMTP")]
        smtp: Option<SocketAddr>,
        /// Domain of the organisations' email-to-print addresses (`<local part>@<domain>`).
        #[arg(long, env = "PRINTCLOUD_MAIL_DOMAIN", default_value = "print.printcloud.local")]
        mail_domain: String,
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
        #[command(flatten)]
        engines: EngineArgs,
    },
    /// Print the OpenAPI 3.1 document of the whole API (as `api/openapi.json` holds it).
    Openapi,
    /// Token signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Sign in to a printcloud service; print, jobs use the stored session
    /// (<config dir>/session.json, or $PRINTCLOUD_CONFIG_DIR).
    Login {
        /// The service's base URL, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// Your e-mail address.
        #[arg(long)]
        email: String,
        /// Your password; asked for on the terminal when neither this nor the environment
        /// variable gives it.
        #[arg(long, env = "PRINTCLOUD_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Submit files to your print queue, to release them later at a printer.
    Print(PrintArgs),
    /// List your print queue.
    Jobs {
        /// Print the jobs as JSON (the API's job objects).
        #[arg(long)]
        json: bool,
    },
    /// A simulated printer: enroll it, then sign a user in with a badge or PIN to list and
    /// release their jobs.
    Device(DeviceArgs),
}

#[derive(Args)]
struct PrintArgs {
    /// The files; each becomes one job.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Copies (1-999).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=999))]
    copies: Option<u32>,
    /// One- or two-sided.
    #[arg(long, value_enum)]
    duplex: Option<DuplexArg>,
    /// Print in black and white.
    #[arg(long)]
    mono: bool,
    /// Pages per side (1, 2, 4, 6, 9 or 16).
    #[arg(long)]
    n_up: Option<u32>,
    /// Paper size, e.g. A4 or Letter.
    #[arg(long)]
    paper_size: Option<String>,
    /// The job's name (with a single file; default: the file's name).
    #[arg(long)]
    name: Option<String>,
    /// Seconds to wait for the service to examine the documents.
    #[arg(long, default_value_t = 30)]
    wait: u64,
    /// Do not wait for the documents to be examined.
    #[arg(long)]
    no_wait: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum DuplexArg {
    /// One-sided.
    Simplex,
    /// Two-sided, bound on the long edge.
    Long,
    /// Two-sided, bound on the short edge.
    Short,
}

#[derive(Args)]
struct DeviceArgs {
    /// The printer's serial number (names its state file).
    #[arg(long, global = true)]
    serial: Option<String>,
    /// Where the printer's state file is kept (default: the config directory).
    #[arg(long, global = true)]
    state_dir: Option<PathBuf>,
    /// The service's base URL (enroll).
    #[arg(long, global = true)]
    url: Option<String>,
    /// The organisation's enrollment code (enroll).
    #[arg(long, global = true)]
    code: Option<String>,
    /// The release app the printer reports (enroll).
    #[arg(long, global = true, value_enum, default_value_t = ReleaseAppArg::Esf)]
    release_app: ReleaseAppArg,
    #[command(subcommand)]
    action: DeviceAction,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReleaseAppArg {
    /// Print Release eSF (delegated jobs can be released).
    Esf,
    /// Cloud Print Release.
    Cloud,
}

#[derive(Subcommand)]
enum DeviceAction {
    /// Enroll the printer (--url, --code, --serial) and store its credential.
    Enroll,
    /// Sign a user in and list the jobs they can release at this printer.
    Jobs(UserArgs),
    /// Sign a user in, release their jobs (one with --job, else all), download each
    /// document to --out and report the outcome.
    Release {
        #[command(flatten)]
        user: UserArgs,
        /// The job to release.
        #[arg(long, conflicts_with = "all")]
        job: Option<String>,
        /// Release every job (the default when --job is not given).
        #[arg(long)]
        all: bool,
        /// Folder the documents are written to, as <job id>.<extension>.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// What the printer reports.
        #[arg(long, value_enum, default_value_t = OutcomeArg::Printed)]
        outcome: OutcomeArg,
    },
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct UserArgs {
    /// The user's badge number.
    #[arg(long)]
    badge: Option<String>,
    /// The user's PIN.
    #[arg(long)]
    pin: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutcomeArg {
    /// The job printed.
    Printed,
    /// The user cancelled it at the printer.
    Cancelled,
    /// The printer could not print it.
    Failed,
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

/// The Solution Center's engines on one machine (with either storage).
#[derive(Args)]
struct EngineArgs {
    /// The tesseract program used for OCR (default: `tesseract` on PATH).
    #[arg(long, value_name = "PATH", env = "PRINTCLOUD_TESSERACT", default_value = "tesseract")]
    tesseract: PathBuf,
    /// Tesseract languages OCR reads when a step names none, joined with `+`.
    #[arg(long, env = "PRINTCLOUD_OCR_LANGUAGES", default_value = "eng+nld")]
    ocr_languages: String,
    /// A LibreTranslate-compatible translation endpoint (e.g. http://127.0.0.1:5000);
    /// without one, translate steps fail with translation_unavailable.
    #[arg(long, value_name = "URL", env = "PRINTCLOUD_TRANSLATE_ENDPOINT")]
    translate_endpoint: Option<String>,
    /// The translation endpoint's API key.
    #[arg(long, env = "PRINTCLOUD_TRANSLATE_API_KEY", hide_env_values = true)]
    translate_api_key: Option<String>,
}

impl EngineArgs {
    fn options(self) -> shared::wiring::EngineOptions {
        shared::wiring::EngineOptions {
            tesseract: self.tesseract,
            ocr_languages: self.ocr_languages,
            translate_endpoint: self.translate_endpoint,
            translate_api_key: self.translate_api_key,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    shared::telemetry::init_plain();
    match Cli::parse().command {
        Command::Serve {
            data,
            listen,
            smtp,
            mail_domain,
            smtp_relay,
            admin_email,
            organisation,
            aws_endpoint,
            engines,
        } => {
            let mut options = ServeOptions::new(data, listen);
            options.smtp = smtp;
            options.mail_domain = mail_domain;
            options.storage = aws_endpoint.map_or(LocalStorage::Embedded, LocalStorage::AwsEndpoint);
            options.smtp_relay = smtp_relay;
            options.admin_email = admin_email;
            options.organisation = organisation;
            options.admin_password = std::env::var("PRINTCLOUD_ADMIN_PASSWORD").ok();
            options.engines = engines.options();
            run(options).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            print!("{}", printcloud::openapi::document_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { action: KeysAction::New } => {
            println!("{}", SigningKeys::generate()?.to_stored());
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { action: KeysAction::Rotate { data } } => {
            let dir = data.join("keys");
            let rotated = SigningKeys::load_or_create(&dir)?.rotate()?;
            rotated.store(&dir)?;
            println!("rotated the signing keys in {}; restart serve to use them", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Login { url, email, password } => Ok(reported(login(&url, &email, password).await)),
        Command::Print(args) => Ok(reported(print(args).await)),
        Command::Jobs { json } => Ok(reported(list_jobs(json).await)),
        Command::Device(args) => Ok(reported(run_device(args).await)),
    }
}

/// A client command's exit status; its error, if any, printed as `error: ...`.
fn reported(outcome: anyhow::Result<ExitCode>) -> ExitCode {
    outcome.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::FAILURE
    })
}

fn status(succeeded: bool) -> ExitCode {
    if succeeded { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// The clients' config directory: `$PRINTCLOUD_CONFIG_DIR`, else the user's.
fn config_dir() -> anyhow::Result<PathBuf> {
    match std::env::var_os(client::CONFIG_DIR_ENV).filter(|dir| !dir.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => client::default_config_dir(),
    }
}

async fn login(url: &str, email: &str, password: Option<String>) -> anyhow::Result<ExitCode> {
    let password = match password {
        Some(password) => password,
        None if std::io::stdin().is_terminal() => rpassword::prompt_password("Password: ")?,
        None => anyhow::bail!("give the password with --password or PRINTCLOUD_PASSWORD (no terminal to ask on)"),
    };
    let dir = config_dir()?;
    let stored = session::login(&dir, url, email, &password).await?;
    println!("Signed in to {} as {email}.", stored.url);
    println!("Session saved in {}.", session::session_file(&dir).display());
    Ok(ExitCode::SUCCESS)
}

async fn print(args: PrintArgs) -> anyhow::Result<ExitCode> {
    let options = PrintOptions {
        copies: args.copies,
        duplex: args.duplex.map(|duplex| match duplex {
            DuplexArg::Simplex => Duplex::Simplex,
            DuplexArg::Long => Duplex::LongEdge,
            DuplexArg::Short => Duplex::ShortEdge,
        }),
        colour_mode: args.mono.then_some(ColourMode::Mono),
        n_up: args.n_up,
        paper_size: args.paper_size,
        ..PrintOptions::default()
    };
    let request = PrintRequest {
        files: args.files,
        name: args.name,
        options,
        wait: (!args.no_wait).then(|| Duration::from_secs(args.wait)),
        show_progress: std::io::stdout().is_terminal(),
    };
    let report = printcloud::client::print::print(&config_dir()?, &request).await?;
    for file in &report.files {
        println!("{}", file.line());
    }
    Ok(status(report.succeeded()))
}

async fn list_jobs(json: bool) -> anyhow::Result<ExitCode> {
    let queue = jobs::queue(&config_dir()?).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&queue)?);
    } else {
        print!("{}", jobs::table(&queue));
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_device(args: DeviceArgs) -> anyhow::Result<ExitCode> {
    let serial = args.serial.ok_or_else(|| anyhow::anyhow!("--serial names the printer: give it"))?;
    let state_dir = match args.state_dir {
        Some(dir) => dir,
        None => config_dir()?,
    };
    match args.action {
        DeviceAction::Enroll => {
            let (Some(url), Some(code)) = (args.url, args.code) else {
                anyhow::bail!("device enroll needs --url and --code (an enrollment code of the organisation)");
            };
            let release_app = match args.release_app {
                ReleaseAppArg::Esf => ReleaseApp::PrintReleaseEsf,
                ReleaseAppArg::Cloud => ReleaseApp::CloudPrintRelease,
            };
            let enrollment = Enrollment { url, code, serial_number: serial.clone(), release_app };
            let state = device::enroll(&state_dir, &enrollment).await?;
            println!("Printer {serial} enrolled as {}.", state.printer_id);
            println!("Credential saved in {}.", device::state_file(&state_dir, &serial)?.display());
            Ok(ExitCode::SUCCESS)
        }
        DeviceAction::Jobs(user) => device_jobs(&state_dir, &serial, &credential(user)).await,
        DeviceAction::Release { user, job, all: _, out, outcome } => {
            let outcome = match outcome {
                OutcomeArg::Printed => Outcome::Printed,
                OutcomeArg::Cancelled => Outcome::Cancelled,
                OutcomeArg::Failed => Outcome::Failed,
            };
            let plan = ReleasePlan { selection: job.map_or(Selection::All, Selection::Job), out_dir: out, outcome };
            device_release(&state_dir, &serial, &credential(user), &plan).await
        }
    }
}

fn credential(user: UserArgs) -> Credential {
    match (user.badge, user.pin) {
        (Some(badge), _) => Credential::Badge(badge),
        (None, pin) => Credential::Pin(pin.unwrap_or_default()),
    }
}

async fn device_jobs(state_dir: &Path, serial: &str, who: &Credential) -> anyhow::Result<ExitCode> {
    let printer = AtPrinter::sign_in(state_dir, serial, who).await?;
    let listed: Vec<_> = printer
        .jobs()
        .await?
        .into_iter()
        .map(|listed| {
            let mut job = listed.job;
            if listed.delegated {
                job.name.push_str(" (delegated)");
            }
            job
        })
        .collect();
    println!("{} at printer {serial}:", printer.user.email);
    print!("{}", jobs::table(&listed));
    Ok(ExitCode::SUCCESS)
}

async fn device_release(
    state_dir: &Path,
    serial: &str,
    who: &Credential,
    plan: &ReleasePlan,
) -> anyhow::Result<ExitCode> {
    let printer = AtPrinter::sign_in(state_dir, serial, who).await?;
    let released = printcloud::client::release::release(&printer, plan).await?;
    if released.is_empty() {
        println!("Nothing to release for {}.", printer.user.email);
    }
    for job in &released {
        println!("{}", job.line());
    }
    Ok(status(released.iter().all(|job| job.result.is_ok())))
}

async fn run(options: ServeOptions) -> anyhow::Result<()> {
    let data = options.data_dir.clone();
    let translate = options.engines.translate_endpoint.clone();
    let running = serve::start(options).await?;
    println!("printcloud is serving");
    println!("  API:  {}", running.url);
    if let Some(smtp) = running.smtp_addr {
        println!("  SMTP: {smtp} (email-to-print)");
    }
    println!("  data: {}", data.display());
    match translate {
        Some(endpoint) => println!("  translation: {endpoint}"),
        None => println!("  translation: off (no --translate-endpoint)"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(line.split_whitespace())
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_client_commands_parse_as_documented() {
        let Command::Print(print) =
            parse("printcloud print a.pdf b.txt --copies 2 --duplex long --mono --n-up 2 --paper-size A4")
                .unwrap()
                .command
        else {
            panic!("not print")
        };
        assert_eq!(
            (print.files.len(), print.copies, print.n_up, print.mono, print.wait),
            (2, Some(2), Some(2), true, 30)
        );
        assert!(parse("printcloud print a.pdf --copies 0").is_err(), "copies are 1-999");
        assert!(parse("printcloud print").is_err(), "a file is needed");
        let Command::Device(args) =
            parse("printcloud device --url http://h --code ABC --serial SN1 --release-app cloud enroll")
                .unwrap()
                .command
        else {
            panic!("not device")
        };
        assert_eq!((args.serial.as_deref(), args.code.as_deref()), (Some("SN1"), Some("ABC")));
        assert!(matches!(args.action, DeviceAction::Enroll));
        assert!(
            parse("printcloud device --serial SN1 release --badge B --job J --out /tmp/x --outcome cancelled").is_ok()
        );
        assert!(parse("printcloud device release --serial SN1 --pin 1234 --all").is_ok(), "device flags also follow");
        assert!(parse("printcloud device --serial SN1 jobs").is_err(), "a badge or a PIN is needed");
        assert!(parse("printcloud device --serial SN1 jobs --badge B --pin 1").is_err(), "not both");
        assert!(parse("printcloud device --serial SN1 release --badge B --job J --all").is_err());
    }

    #[test]
    fn serve_takes_an_smtp_address_for_email_to_print() {
        let Command::Serve { smtp, .. } = parse("printcloud serve --smtp 127.0.0.1:2525").unwrap().command else {
            panic!("not serve")
        };
        assert_eq!(smtp, Some("127.0.0.1:2525".parse().unwrap()));
        assert!(parse("printcloud serve --smtp localhost").is_err(), "an address with a port is needed");
    }

    // D-TRANSLATE-ENGINE: the endpoint and its key are flags of serve; OCR reads eng+nld by default.
    #[test]
    fn serve_takes_the_engines_of_one_machine() {
        let line =
            "printcloud serve --translate-endpoint http://127.0.0.1:5000 --translate-api-key k --ocr-languages deu";
        let Command::Serve { engines, .. } = parse(line).unwrap().command else { panic!("not serve") };
        let options = engines.options();
        assert_eq!(options.translate_endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!((options.translate_api_key.as_deref(), options.ocr_languages.as_str()), (Some("k"), "deu"));
        assert!(!format!("{options:?}").contains("\"k\""), "the key is redacted");
        let Command::Serve { engines, .. } = parse("printcloud serve").unwrap().command else { panic!("not serve") };
        assert_eq!(engines.ocr_languages, "eng+nld");
    }
}
