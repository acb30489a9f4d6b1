//! `printcloud serve`: every function in one process on embedded storage (or on a local
//! AWS-compatible endpoint). It mounts every
//! function's router, serves presigned blob URLs, polls the queues into the queue
//! handlers, fires the schedules, receives email-to-print mail over SMTP when asked to, and
//! stops cleanly when asked.

use crate::{functions, poller, schedule, smtp};
use anyhow::Context as _;
use shared::bootstrap::{self, FirstAdmin};
use shared::function::Function;
use shared::ports::{Clock, Ids, SystemClock, UlidIds};
use shared::wiring::{self, EngineOptions, LocalOptions, LocalStorage};
use shared::{Ctx, passwords};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Everything `serve` can be told.
#[derive(Clone)]
pub struct ServeOptions {
    /// Where everything is stored.
    pub data_dir: PathBuf,
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Accept email-to-print mail over SMTP on this address (port 0 picks a free one); the
    /// listener stores each message under `mail/` as SES does on AWS. `None`: no listener.
    pub smtp: Option<SocketAddr>,
    /// What one SMTP client may ask of the listener (message size, recipients, idleness,
    /// connections).
    pub smtp_limits: smtp::Limits,
    /// Relay outgoing mail to this SMTP URL instead of writing `<data>/outbox/`.
    pub smtp_relay: Option<String>,
    /// Sender address of outgoing mail.
    pub mail_from: String,
    /// Domain of the email-to-print addresses.
    pub mail_domain: String,
    /// Name of the first organisation, made on first start.
    pub organisation: String,
    /// The first administrator's e-mail address.
    pub admin_email: String,
    /// The first administrator's password; generated when absent.
    pub admin_password: Option<String>,
    /// The clock (fixed in tests).
    pub clock: Arc<dyn Clock>,
    /// The id generator (predictable in tests).
    pub ids: Arc<dyn Ids>,
    /// Where the data lives: embedded (the default) or a local AWS-compatible endpoint.
    pub storage: LocalStorage,
    /// Largest print document accepted, in bytes.
    pub max_document_bytes: u64,
    /// The Solution Center's engines (Tesseract, a translation endpoint), used with either
    /// storage.
    pub engines: EngineOptions,
    /// Wraps the ports before anything uses them; tests inject faults with it (writes that
    /// fail once, messages delivered twice). `None` in production.
    pub decorate: Option<Decorate>,
}

/// A wrapper of the context's ports (see [`ServeOptions::decorate`]).
pub type Decorate = Arc<dyn Fn(shared::Ctx) -> shared::Ctx + Send + Sync>;

impl ServeOptions {
    /// Defaults for `data_dir` and `listen`: system clock, ULIDs, outbox mail.
    pub fn new(data_dir: PathBuf, listen: SocketAddr) -> Self {
        ServeOptions {
            data_dir,
            listen,
            smtp: None,
            smtp_limits: smtp::Limits::default(),
            smtp_relay: None,
            mail_from: "printcloud <no-reply@printcloud.local>".into(),
            mail_domain: "print.printcloud.local".into(),
            organisation: "printcloud".into(),
            admin_email: "admin@printcloud.local".into(),
            admin_password: None,
            clock: Arc::new(SystemClock),
            ids: Arc::new(UlidIds),
            storage: LocalStorage::Embedded,
            max_document_bytes: shared::context::DEFAULT_MAX_DOCUMENT_BYTES,
            engines: EngineOptions::default(),
            decorate: None,
        }
    }
}

/// A running server.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its base URL.
    pub url: String,
    /// The address the SMTP listener accepts mail on, when [`ServeOptions::smtp`] asked for
    /// one (tests and the start-up banner need the port actually bound).
    pub smtp_addr: Option<SocketAddr>,
    /// The context its handlers use (tests inspect storage through it).
    pub ctx: Ctx,
    /// The first administrator, when this start created them (shown once).
    pub first_admin: Option<FirstAdmin>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Stops accepting requests, lets in-flight work finish, and waits for every task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while let Some(result) = self.tasks.join_next().await {
            if let Err(err) = result {
                tracing::error!(error = %err, "a serve task ended abnormally");
            }
        }
    }
}

/// Starts the server; answers once it accepts requests.
pub async fn start(options: ServeOptions) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let smtp_listener = bind_smtp(options.smtp).await?;
    let smtp_addr = smtp_listener.as_ref().map(tokio::net::TcpListener::local_addr).transpose()?;
    let engines = wiring::local_engines(&options.engines)
        .map_err(|e| anyhow::anyhow!("cannot set up the Solution Center's engines: {e}"))?;
    let local = wiring::local_with_engines(
        &LocalOptions {
            data_dir: options.data_dir.clone(),
            public_url: url.clone(),
            smtp_relay: options.smtp_relay.clone(),
            mail_from: options.mail_from.clone(),
            mail_domain: options.mail_domain.clone(),
            storage: options.storage.clone(),
            max_document_bytes: options.max_document_bytes,
        },
        engines,
        options.clock.clone(),
        options.ids.clone(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot open the storage of {}: {e}", options.data_dir.display()))?;
    let ctx = match &options.decorate {
        Some(decorate) => decorate(local.ctx.clone()),
        None => local.ctx.clone(),
    };
    let first_admin = first_start(&ctx, &options).await?;
    let all = functions::all();
    let router = all
        .iter()
        .filter_map(|f| f.router.map(|build| build(ctx.clone())))
        .fold(local.storage_routes, axum::Router::merge)
        .fallback(shared::http::not_found_fallback)
        .layer(axum::middleware::from_fn(shared::http::access_log));

    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut shutdown = stopped.clone();
    tasks.spawn(async move {
        let server = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        });
        if let Err(err) = server.await {
            tracing::error!(error = %err, "HTTP server failed");
        }
    });
    if let Some(smtp_listener) = smtp_listener {
        tasks.spawn(smtp::run(smtp_listener, ctx.clone(), options.smtp_limits.clone(), stopped.clone()));
    }
    for function in &all {
        if let Some(trigger) = function.queue.clone() {
            tasks.spawn(poller::run(ctx.clone(), trigger, local.arrivals.clone(), stopped.clone()));
        }
        spawn_schedules(&mut tasks, function, &ctx, &stopped)?;
    }
    Ok(Running { addr, url, smtp_addr, ctx, first_admin, stop, tasks })
}

/// Binds the SMTP listener's address, when one is asked for.
async fn bind_smtp(addr: Option<SocketAddr>) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    let Some(addr) = addr else { return Ok(None) };
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot accept SMTP mail on {addr}"))?;
    Ok(Some(listener))
}

/// Creates the first organisation and administrator on an empty data directory.
async fn first_start(ctx: &Ctx, options: &ServeOptions) -> anyhow::Result<Option<FirstAdmin>> {
    if bootstrap::is_bootstrapped(ctx).await? {
        return Ok(None);
    }
    let admin = FirstAdmin {
        organisation: options.organisation.clone(),
        email: options.admin_email.trim().to_lowercase(),
        password: options.admin_password.clone().unwrap_or_else(passwords::generate),
    };
    Ok(bootstrap::bootstrap(ctx, &admin).await?.map(|_| admin))
}

fn spawn_schedules(
    tasks: &mut JoinSet<()>,
    function: &Function,
    ctx: &Ctx,
    stopped: &watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let Some(handler) = function.on_schedule.clone() else { return Ok(()) };
    for entry in &function.schedules {
        let every = schedule::interval(entry.expression).map_err(anyhow::Error::msg)?;
        let (ctx, handler, name, mut stop) = (ctx.clone(), handler.clone(), entry.name, stopped.clone());
        tasks.spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tokio::select! {
                    _ = stop.wait_for(|stop| *stop) => return,
                    _ = ticks.tick() => {}
                }
                let event = schedule::scheduled_event(name, ctx.clock.now(), ctx.ids.new_id());
                if let Err(err) = handler(ctx.clone(), event).await {
                    tracing::error!(schedule = name, error = %err, "scheduled run failed");
                }
            }
        });
    }
    Ok(())
}
