//! The periodic reconcile sweep: the safety net for every trigger that can be missed. A Flow
//! sends no outbound message for an edit that keeps the stage, EventBridge loses events, and
//! an admin who fixed what put a record in `Error` tells nobody. Every `worker.sweep.interval`
//! each worker lists what may have changed on either side, and queues a reconcile of each
//! record on the bulk lane; the reconciler finds what (if anything) is left to do, as for any
//! other trigger.
//!
//! What one sweep lists, newest first, at most `max_records` records in all:
//! 1. Salesforce: the opportunities in the mapped stages whose `SystemModstamp` is within
//!    `lookback` (one SOQL query);
//! 2. ACE: the opportunities whose `LastModifiedDate` is within it (ListOpportunities with
//!    `AfterLastModifiedDate`, at most `max_ace_pages` reads), found in Salesforce by their
//!    `PartnerOpportunityIdentifier`, or, for an accepted AWS referral, by the record naming
//!    them;
//! 3. every `waiting_every`th sweep, the records waiting on something outside: `Waiting for
//!    AWS review` and `Error`, whatever their age;
//! 4. the open AWS referrals, as invitation jobs, when the mapping brings referrals in.
//!
//! Sweeps start on the multiples of the interval (wall-clock time), and every job carries the
//! sweep's bucket (the multiple's number) in its SQS deduplication id: replicas sweeping the
//! same bucket queue each record once, and their listings ask the same window of both sides.
//! With `ace.quota.table` set, the replicas also claim each bucket in that table first
//! (`ports::sweep_claims`): one process sweeps it and the others stand down, so the listings'
//! reads are spent once per deployment, not once per process. A claim that cannot be made
//! (DynamoDB unreachable) is logged and the bucket swept anyway.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::reconcile::fields::SyncStatus;
use super::referrals;
use crate::config::SweepSettings;
use crate::domain::ids::{SfOpportunityId, SfOrgId, SfRecordId};
use crate::domain::job::{Reason, Reconcile};
use crate::domain::lane::Lane;
use crate::health::Outages;
use crate::ports::lanes::Lanes;
use crate::ports::partner_central::PartnerCentral;
use crate::ports::queue::OutgoingMessage;
use crate::ports::salesforce::{OpportunityQuery, SalesforceError, SalesforceOrg};
use crate::ports::sweep_claims::SweepClaims;

/// Records per page of a SOQL query's answer.
const SOQL_PAGE: usize = 2000;

/// Where a swept record was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Salesforce,
    Ace,
    Waiting,
    Referrals,
}

impl Source {
    fn label(self) -> SourceLabel {
        SourceLabel {
            source: match self {
                Source::Salesforce => "salesforce",
                Source::Ace => "ace",
                Source::Waiting => "waiting",
                Source::Referrals => "referrals",
            },
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// What the sweeps cost and found.
#[derive(Debug, Clone, Default)]
pub struct SweepMetrics {
    sweeps: Family<OutcomeLabel, Counter>,
    queued: Family<SourceLabel, Counter>,
    ace_reads: Counter,
    salesforce_calls: Counter,
    last_completed: Gauge,
    read_bound: Gauge,
}

impl SweepMetrics {
    pub fn register(registry: &mut Registry, settings: &SweepSettings) -> Self {
        let metrics = Self::default();
        registry.register(
            "sweeps",
            "Reconcile sweeps, by outcome (complete, truncated: max_records or max_ace_pages cut it short, failed: a side could not be listed)",
            metrics.sweeps.clone(),
        );
        registry.register(
            "sweep_jobs",
            "Reconcile jobs the sweeps queued, by where the record was found (salesforce, ace, waiting, referrals)",
            metrics.queued.clone(),
        );
        registry.register(
            "sweep_ace_reads",
            "Partner Central reads the sweeps' listings made (the reconciles they queue read too, at most 2 each)",
            metrics.ace_reads.clone(),
        );
        registry.register(
            "sweep_salesforce_calls",
            "Salesforce API calls the sweeps' queries made",
            metrics.salesforce_calls.clone(),
        );
        registry.register(
            "sweep_last_completed_timestamp_seconds",
            "When this process last completed a sweep (Unix time); 0 before the first",
            metrics.last_completed.clone(),
        );
        registry.register(
            "sweep_ace_reads_per_day_bound",
            "The most Partner Central reads this process's sweeps can cost a day, listings and queued reconciles (worker.sweep settings)",
            metrics.read_bound.clone(),
        );
        metrics
            .read_bound
            .set(i64::try_from(settings.ace_reads_per_day_bound()).unwrap_or(i64::MAX));
        metrics
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub bucket: i64,
    /// Records queued, by where they were found first.
    pub salesforce: usize,
    pub ace: usize,
    pub waiting: usize,
    /// Invitation jobs queued (open AWS referrals).
    pub referrals: usize,
    /// Whether a limit left something for the next sweep.
    pub truncated: bool,
    /// Another process claimed this bucket: nothing was listed or queued.
    pub claimed_elsewhere: bool,
    pub ace_reads: u32,
    pub salesforce_calls: u32,
    /// What could not be listed or queued (the sweep goes on with the rest).
    pub failures: Vec<String>,
}

impl SweepReport {
    /// Record jobs queued.
    pub fn records(&self) -> usize {
        self.salesforce + self.ace + self.waiting
    }
}

/// Sweeps one org and its Partner Central catalog.
pub struct Sweeper {
    salesforce: Arc<dyn SalesforceOrg>,
    ace: Arc<dyn PartnerCentral>,
    lanes: Lanes,
    /// The Salesforce stages the mapping maps (`[[stages]]`).
    stages: Vec<String>,
    referrals: bool,
    settings: SweepSettings,
    metrics: SweepMetrics,
    outages: Outages,
    /// Who sweeps a bucket when several processes run; every process sweeps without.
    claims: Option<Arc<dyn SweepClaims>>,
}

/// What a sweep is building: the records in the order found, each once.
struct Found {
    ids: Vec<(SfRecordId, Source)>,
    seen: BTreeSet<SfRecordId>,
    limit: usize,
    truncated: bool,
}

impl Found {
    fn add(&mut self, id: SfRecordId, source: Source) {
        if self.seen.contains(&id) {
            return;
        }
        if self.ids.len() >= self.limit {
            self.truncated = true;
            return;
        }
        self.seen.insert(id.clone());
        self.ids.push((id, source));
    }

    fn full(&self) -> bool {
        self.ids.len() >= self.limit
    }
}

impl Sweeper {
    /// A sweeper of the org `salesforce` is connected to; `stages` are the Salesforce stages
    /// the mapping maps, `referrals` whether it brings AWS referrals in.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        salesforce: Arc<dyn SalesforceOrg>,
        ace: Arc<dyn PartnerCentral>,
        lanes: Lanes,
        stages: Vec<String>,
        referrals: bool,
        settings: SweepSettings,
        metrics: SweepMetrics,
        outages: Outages,
    ) -> Self {
        Self {
            salesforce,
            ace,
            lanes,
            stages,
            referrals,
            settings,
            metrics,
            outages,
            claims: None,
        }
    }

    /// Sweeps only the buckets this process claims first (`ace.quota.table` set: the
    /// deployment's replicas share it).
    pub fn with_claims(mut self, claims: Arc<dyn SweepClaims>) -> Self {
        self.claims = Some(claims);
        self
    }

    fn interval_secs(&self) -> i64 {
        i64::try_from(self.settings.interval.as_secs().max(1)).unwrap_or(i64::MAX)
    }

    /// The bucket (the number of the interval) `at` falls in.
    pub fn bucket_of(&self, at: OffsetDateTime) -> i64 {
        at.unix_timestamp().div_euclid(self.interval_secs())
    }

    fn bucket_start(&self, bucket: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(bucket.saturating_mul(self.interval_secs()))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Sweeps at the start of every bucket until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        if !self.settings.enabled() {
            return;
        }
        tracing::info!(
            interval = %humantime_serde::re::humantime::format_duration(self.settings.interval),
            lookback = %humantime_serde::re::humantime::format_duration(self.settings.lookback),
            "reconcile sweep started"
        );
        loop {
            let bucket = self.bucket_of(OffsetDateTime::now_utc()) + 1;
            let wait = self.bucket_start(bucket) - OffsetDateTime::now_utc();
            let wait = Duration::try_from(wait).unwrap_or_default();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            let report = self.sweep(bucket).await;
            if report.claimed_elsewhere {
                tracing::debug!(bucket, "another worker process sweeps this bucket");
                continue;
            }
            let level_warn = !report.failures.is_empty();
            if level_warn {
                tracing::warn!(bucket, failures = ?report.failures, "reconcile sweep incomplete");
            }
            tracing::info!(
                bucket,
                salesforce = report.salesforce,
                ace = report.ace,
                waiting = report.waiting,
                referrals = report.referrals,
                truncated = report.truncated,
                ace_reads = report.ace_reads,
                salesforce_calls = report.salesforce_calls,
                "reconcile sweep done"
            );
        }
    }

    /// One sweep of `bucket`: lists both sides over the window ending at the bucket's start
    /// and queues a reconcile of each record found.
    pub async fn sweep(&self, bucket: i64) -> SweepReport {
        let start = self.bucket_start(bucket);
        let since = start - self.settings.lookback;
        let limit = usize::try_from(self.settings.max_records).unwrap_or(usize::MAX);
        let mut report = SweepReport {
            bucket,
            ..SweepReport::default()
        };
        // The org the integration user is in: the jobs' org.
        let org_id = match self.salesforce.identity().await {
            Ok(identity) => identity.org_id,
            Err(e) => {
                report.salesforce_calls += 1;
                self.salesforce_failed("the session", &e, &mut report);
                self.finish(&report);
                return report;
            }
        };
        if let Some(claims) = &self.claims {
            match claims.claim(org_id.as_str(), bucket).await {
                Ok(true) => {}
                Ok(false) => {
                    report.claimed_elsewhere = true;
                    self.finish(&report);
                    return report;
                }
                // Sweeping twice costs reads; not sweeping loses coverage.
                Err(e) => {
                    tracing::warn!(bucket, error = %e, "claiming the sweep failed; sweeping anyway");
                }
            }
        }
        let mut found = Found {
            ids: Vec::new(),
            seen: BTreeSet::new(),
            limit,
            truncated: false,
        };

        // 1. Salesforce's side.
        let modified = OpportunityQuery {
            modified_since: Some(since),
            stages: self.stages.clone(),
            sync_statuses: Vec::new(),
            limit,
        };
        self.query(&modified, Source::Salesforce, &mut found, &mut report)
            .await;

        // 2. ACE's side.
        match self
            .ace
            .list_modified_since(since, self.settings.max_ace_pages)
            .await
        {
            Ok(listing) => {
                report.ace_reads += listing.reads;
                found.truncated |= !listing.complete;
                for summary in listing.opportunities {
                    if found.full() {
                        found.truncated = true;
                        break;
                    }
                    let named = summary
                        .partner_opportunity_identifier
                        .as_deref()
                        .and_then(|raw| SfOpportunityId::parse(raw).ok());
                    let record = match named {
                        Some(id) => Some(id),
                        // An accepted AWS referral keeps AWS's identifier: its record is the
                        // one naming the ACE id.
                        None => {
                            report.salesforce_calls += 1;
                            match referrals::events::record_of(&*self.salesforce, &summary.id).await
                            {
                                Ok(record) => record,
                                Err(e) => {
                                    self.salesforce_failed(
                                        "record of an ACE opportunity",
                                        &e,
                                        &mut report,
                                    );
                                    None
                                }
                            }
                        }
                    };
                    if let Some(record) = record {
                        found.add(record.to_record_id(), Source::Ace);
                    }
                }
            }
            Err(e) => {
                report.ace_reads += 1;
                if let Some(kind) = e.deployment_problem() {
                    self.outages
                        .report(kind, &crate::telemetry::error_chain(&e));
                }
                report.failures.push(format!(
                    "ListOpportunities: {}",
                    crate::telemetry::error_chain(&e)
                ));
            }
        }

        // 3. The records waiting on something outside, now and then.
        let waiting_every = i64::from(self.settings.waiting_every);
        if waiting_every > 0 && bucket.rem_euclid(waiting_every) == 0 && !found.full() {
            let waiting = OpportunityQuery {
                modified_since: None,
                stages: Vec::new(),
                sync_statuses: vec![
                    SyncStatus::WaitingForReview.as_str().to_owned(),
                    SyncStatus::Error.as_str().to_owned(),
                ],
                limit: limit - found.ids.len(),
            };
            self.query(&waiting, Source::Waiting, &mut found, &mut report)
                .await;
        }
        report.truncated |= found.truncated;

        // Queue them, in the bulk lane.
        let queued_at = OffsetDateTime::now_utc();
        let jobs: Vec<Reconcile> = found
            .ids
            .iter()
            .map(|(id, _)| Reconcile {
                org_id: org_id.clone(),
                record_id: id.clone(),
                reason: Reason::Sweep { bucket },
                changed_at: None,
                queued_at,
            })
            .collect();
        match self.lanes.enqueue(&jobs).await {
            Ok(()) => {
                for (_, source) in &found.ids {
                    match source {
                        Source::Salesforce => report.salesforce += 1,
                        Source::Ace => report.ace += 1,
                        _ => report.waiting += 1,
                    }
                    self.metrics.queued.get_or_create(&source.label()).inc();
                }
            }
            Err(e) => report.failures.push(format!(
                "queueing {} reconciles: {}",
                jobs.len(),
                crate::telemetry::error_chain(&e)
            )),
        }

        // 4. The open AWS referrals.
        if self.referrals {
            self.sweep_referrals(&org_id, bucket, &mut report).await;
        }
        self.finish(&report);
        report
    }

    async fn query(
        &self,
        query: &OpportunityQuery,
        source: Source,
        found: &mut Found,
        report: &mut SweepReport,
    ) {
        match self.salesforce.find_opportunity_ids(query).await {
            Ok(ids) => {
                report.salesforce_calls +=
                    1 + u32::try_from(ids.len().saturating_sub(1) / SOQL_PAGE).unwrap_or(0);
                // A full answer may have left records out.
                found.truncated |= ids.len() >= query.limit;
                for id in ids {
                    found.add(id.to_record_id(), source);
                }
            }
            Err(e) => {
                report.salesforce_calls += 1;
                self.salesforce_failed("the opportunities to sweep", &e, report);
            }
        }
    }

    fn salesforce_failed(&self, what: &str, e: &SalesforceError, report: &mut SweepReport) {
        let reason = crate::telemetry::error_chain(e);
        if let Some(kind) = e.deployment_problem() {
            self.outages.report(kind, &reason);
        }
        report
            .failures
            .push(format!("Salesforce, {what}: {reason}"));
    }

    async fn sweep_referrals(&self, org_id: &SfOrgId, bucket: i64, report: &mut SweepReport) {
        report.ace_reads += 1;
        let jobs = match referrals::sweep::sweep_jobs(&*self.ace, org_id, bucket).await {
            Ok(jobs) => jobs,
            Err(e) => {
                report.failures.push(format!(
                    "ListEngagementInvitations: {}",
                    crate::telemetry::error_chain(&e)
                ));
                return;
            }
        };
        if jobs.is_empty() {
            return;
        }
        // Referrals are a rep's work: the interactive lane.
        let messages = jobs.iter().map(OutgoingMessage::from).collect();
        match self.lanes.queue(Lane::Interactive).enqueue(messages).await {
            Ok(()) => {
                report.referrals = jobs.len();
                self.metrics
                    .queued
                    .get_or_create(&Source::Referrals.label())
                    .inc_by(jobs.len() as u64);
            }
            Err(e) => report.failures.push(format!(
                "queueing {} invitation jobs: {}",
                jobs.len(),
                crate::telemetry::error_chain(&e)
            )),
        }
    }

    fn finish(&self, report: &SweepReport) {
        let outcome = match (report.failures.is_empty(), report.truncated) {
            _ if report.claimed_elsewhere => "claimed_elsewhere",
            (false, _) => "failed",
            (true, true) => "truncated",
            (true, false) => "complete",
        };
        self.metrics
            .sweeps
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
        self.metrics.ace_reads.inc_by(u64::from(report.ace_reads));
        self.metrics
            .salesforce_calls
            .inc_by(u64::from(report.salesforce_calls));
        if report.failures.is_empty() {
            self.metrics
                .last_completed
                .set(OffsetDateTime::now_utc().unix_timestamp());
        }
    }
}
