//! Evaluating policies: the daily sweep's evaluation of one policy over its scope, and the
//! supplies check a telemetry report triggers for its printer (WF-NP step 2). Either way,
//! only printers (or agents) that newly match are mailed; those that stopped matching are
//! forgotten, so they are mailed again when they match again.

use super::evaluation::{Finding, agent_finding, printer_finding};
use super::policies::{self, NotificationPolicy, PolicyRule};
use super::{history, mails, matches};
use crate::Ctx;
use crate::fleet::printers::{self, Printer, PrinterFilter};
use crate::fleet::{agents, labels};
use crate::http::Problem;
use crate::identity::store;
use std::collections::BTreeSet;

/// Printers read per page while evaluating.
const PAGE: u32 = 200;

/// The organisation's printers and agents, read once for all its policies.
pub struct Fleet {
    printers: Vec<Printer>,
    agents: Vec<crate::fleet::agents::Agent>,
}

impl Fleet {
    /// Reads what `policies` need: the printers when any watches printers, the agents when
    /// any watches agents.
    pub async fn read(ctx: &Ctx, org_id: &str, policies: &[NotificationPolicy]) -> Result<Fleet, Problem> {
        let wants_agents = policies.iter().any(|p| matches!(p.rule, PolicyRule::FleetAgents { .. }));
        let wants_printers = policies.iter().any(|p| !matches!(p.rule, PolicyRule::FleetAgents { .. }));
        let agents = if wants_agents { agents::list(ctx, org_id).await? } else { Vec::new() };
        let printers = if wants_printers { all_printers(ctx, org_id).await? } else { Vec::new() };
        Ok(Fleet { printers, agents })
    }
}

/// Every printer of the organisation.
async fn all_printers(ctx: &Ctx, org_id: &str) -> Result<Vec<Printer>, Problem> {
    let mut printers = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = printers::list(ctx, org_id, &PrinterFilter::default(), PAGE, cursor).await?;
        printers.extend(page);
        cursor = next;
        if cursor.is_none() {
            return Ok(printers);
        }
    }
}

/// Evaluates `policy` over `fleet` (its organisation's); mails the printers (or agents)
/// that newly match. Answers how many were mailed about.
pub async fn evaluate(ctx: &Ctx, org_name: &str, policy: &NotificationPolicy, fleet: &Fleet) -> Result<usize, Problem> {
    let now = ctx.clock.now();
    let findings: Vec<Finding> = if let PolicyRule::FleetAgents { .. } = policy.rule {
        fleet.agents.iter().filter_map(|agent| agent_finding(&policy.rule, agent, now)).collect()
    } else {
        let scope = scope(ctx, policy).await?;
        let in_it = fleet.printers.iter().filter(|p| in_scope(&scope, p));
        in_it.filter_map(|printer| printer_finding(&policy.rule, printer, now)).collect()
    };
    let before = matches::matched(ctx, &policy.org_id, &policy.id).await?;
    let now_matching: BTreeSet<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    let gone: Vec<&String> = before.iter().filter(|id| !now_matching.contains(id.as_str())).collect();
    matches::clear_all(ctx, &policy.org_id, &policy.id, &gone).await?;
    let candidates: Vec<Finding> = findings.into_iter().filter(|f| !before.contains(&f.id)).collect();
    let newly = matches::mark_all(ctx, &policy.org_id, &policy.id, candidates).await?;
    notify(ctx, org_name, policy, newly).await
}

/// Mails `findings` for `policy` and records the mail; on a failed send the findings are
/// forgotten again, so the next evaluation retries them.
async fn notify(
    ctx: &Ctx,
    org_name: &str,
    policy: &NotificationPolicy,
    findings: Vec<Finding>,
) -> Result<usize, Problem> {
    if findings.is_empty() {
        return Ok(0);
    }
    let mail = mails::compose(&ctx.config.mail_from, org_name, policy, &findings)?;
    if let Err(err) = ctx.mailer.send(&mail).await {
        let ids: Vec<&String> = findings.iter().map(|f| &f.id).collect();
        matches::clear_all(ctx, &policy.org_id, &policy.id, &ids).await?;
        return Err(Problem::internal(err));
    }
    history::record(ctx, policy, &findings).await?;
    tracing::info!(org = %policy.org_id, policy = %policy.id, items = findings.len(), "notification sent");
    Ok(findings.len())
}

/// The printer ids of the policy's labels; `None` for all printers.
async fn scope(ctx: &Ctx, policy: &NotificationPolicy) -> Result<Option<BTreeSet<String>>, Problem> {
    if policy.labels.is_empty() {
        return Ok(None);
    }
    let mut ids = BTreeSet::new();
    for label in &policy.labels {
        ids.extend(labels::printers_with_label(ctx, &policy.org_id, label).await?);
    }
    Ok(Some(ids))
}

fn in_scope(scope: &Option<BTreeSet<String>>, printer: &Printer) -> bool {
    scope.as_ref().is_none_or(|ids| ids.contains(&printer.id))
}

/// The supplies policies' check of one printer after its telemetry arrived: a printer that
/// newly matches is mailed about at once; one that no longer matches is forgotten.
pub async fn on_telemetry(ctx: &Ctx, printer: &Printer) -> Result<(), Problem> {
    let policies = policies::list(ctx, &printer.org_id).await?;
    let supplies = policies.iter().filter(|p| p.enabled && matches!(p.rule, PolicyRule::Supplies { .. }));
    let now = ctx.clock.now();
    let mut org_name = None;
    for policy in supplies {
        if !in_scope(&scope(ctx, policy).await?, printer) {
            continue;
        }
        match printer_finding(&policy.rule, printer, now) {
            Some(finding) => {
                if matches::mark(ctx, &printer.org_id, &policy.id, &printer.id).await? {
                    if org_name.is_none() {
                        org_name =
                            Some(store::get_org(ctx, &printer.org_id).await?.map(|o| o.name).unwrap_or_default());
                    }
                    notify(ctx, org_name.as_deref().unwrap_or_default(), policy, vec![finding]).await?;
                }
            }
            None => matches::clear(ctx, &printer.org_id, &policy.id, &printer.id).await?,
        }
    }
    Ok(())
}
