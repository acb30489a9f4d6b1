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

/// Evaluates `policy` over every printer (or agent) in its scope; mails those that newly
/// match. Answers how many were mailed about.
pub async fn evaluate(ctx: &Ctx, org_name: &str, policy: &NotificationPolicy) -> Result<usize, Problem> {
    let findings = current_findings(ctx, policy).await?;
    let before = matches::matched(ctx, &policy.org_id, &policy.id).await?;
    let now_matching: BTreeSet<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    for gone in before.iter().filter(|id| !now_matching.contains(id.as_str())) {
        matches::clear(ctx, &policy.org_id, &policy.id, gone).await?;
    }
    let mut newly = Vec::new();
    for finding in findings.into_iter().filter(|f| !before.contains(&f.id)) {
        if matches::mark(ctx, &policy.org_id, &policy.id, &finding.id).await? {
            newly.push(finding);
        }
    }
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
        for finding in &findings {
            matches::clear(ctx, &policy.org_id, &policy.id, &finding.id).await?;
        }
        return Err(Problem::internal(err));
    }
    history::record(ctx, policy, &findings).await?;
    tracing::info!(org = %policy.org_id, policy = %policy.id, items = findings.len(), "notification sent");
    Ok(findings.len())
}

/// The printers (or agents) of the policy's scope that match now.
async fn current_findings(ctx: &Ctx, policy: &NotificationPolicy) -> Result<Vec<Finding>, Problem> {
    let now = ctx.clock.now();
    if let PolicyRule::FleetAgents { .. } = policy.rule {
        let agents = agents::list(ctx, &policy.org_id).await?;
        return Ok(agents.iter().filter_map(|agent| agent_finding(&policy.rule, agent, now)).collect());
    }
    let scope = scope(ctx, policy).await?;
    let mut findings = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = printers::list(ctx, &policy.org_id, &PrinterFilter::default(), PAGE, cursor).await?;
        for printer in page.iter().filter(|p| in_scope(&scope, p)) {
            findings.extend(printer_finding(&policy.rule, printer, now));
        }
        cursor = next;
        if cursor.is_none() {
            return Ok(findings);
        }
    }
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
