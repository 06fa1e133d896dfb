//! `ace-sync backfill`: the first load of existing opportunities, or the move from another
//! connector (the AWS Partner CRM Connector). Every selected record gets a reconcile job on
//! the bulk lane, so the reconciler creates, links or updates it as it would on any trigger;
//! what the backfill adds is linking first: a record whose opportunity already exists in ACE
//! is pointed at it (`ACE_Opportunity_Id__c`) and never created again.
//!
//! An opportunity counts as the record's when ACE lists it with the record's id as
//! `PartnerOpportunityIdentifier` (one listing of the catalog, not a lookup per record), or when
//! the field `--link-from` names holds its id (where the previous connector kept it).
//!
//! `--dry-run` writes nothing and queues nothing: it reads both sides and prints what would be
//! created, linked and updated, with the pre-flight findings by kind.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::ace::mapping::Phase;
use crate::ace::preflight::Severity;
use crate::domain::ids::{AceOpportunityId, SfOpportunityId};
use crate::domain::job::{Reason, Reconcile};
use crate::domain::sobject::FieldValue;
use crate::ports::lanes::Lanes;
use crate::ports::partner_central::{AceError, PartnerCentral};
use crate::ports::queue::EnqueueError;
use crate::ports::salesforce::{OpportunityQuery, SalesforceError, SalesforceOrg};
use crate::worker::reconcile::fields;
use crate::worker::reconcile::{PreviewError, Reconciler};

/// Jobs per call to the queue.
const QUEUE_CHUNK: usize = 500;

/// Which records an operator command looks at.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these records; when set, the other conditions are not used.
    pub records: Vec<SfOpportunityId>,
    /// Stages (Salesforce's API values); empty means every stage the mapping maps.
    pub stages: Vec<String>,
    /// Modified (`SystemModstamp`) at or after this instant.
    pub since: Option<OffsetDateTime>,
    /// At most this many, the most recently modified first.
    pub limit: usize,
}

impl Selection {
    /// The selected records' ids (one SOQL query unless they are named).
    pub async fn ids(
        &self,
        salesforce: &dyn SalesforceOrg,
        reconciler: &Reconciler,
    ) -> Result<Vec<SfOpportunityId>, SalesforceError> {
        if !self.records.is_empty() {
            return Ok(self.records.clone());
        }
        let stages = if self.stages.is_empty() {
            reconciler
                .mapping()
                .stages
                .iter()
                .map(|s| s.salesforce.clone())
                .collect()
        } else {
            self.stages.clone()
        };
        salesforce
            .find_opportunity_ids(&OpportunityQuery {
                modified_since: self.since,
                stages,
                sync_statuses: Vec::new(),
                limit: self.limit,
            })
            .await
    }
}

/// How the backfill runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A Salesforce field (relationship paths allowed) holding the ACE id a previous connector
    /// stored.
    pub link_from: Option<String>,
    /// ListOpportunities pages (100 each) read to find the catalog's opportunities.
    pub ace_pages: u32,
    pub dry_run: bool,
}

/// Where a link was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkedBy {
    /// ACE lists it with the record's id as `PartnerOpportunityIdentifier`.
    Identifier,
    /// The `--link-from` field holds it.
    Field(String),
}

/// What the backfill does with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// CreateOpportunity, by the reconcile the backfill queues.
    Create,
    /// Point the record at its existing opportunity, then reconcile (an update if they differ).
    Link { id: AceOpportunityId, by: LinkedBy },
    /// Already linked; the reconcile would write these (ACE's fields, the record's fields).
    Update {
        ace: Vec<String>,
        record: Vec<String>,
    },
    /// Already linked and in agreement.
    Unchanged,
    /// Before the mapping's creation stage: nothing goes to ACE yet.
    NotYet,
    /// The pre-flight check found errors: the reconcile shows them on the record, sends nothing.
    Blocked,
    /// An AWS referral not yet accepted: the invitation's reconcile owns it.
    Referral,
    /// Deleted, or not visible to the integration user.
    Missing,
}

impl Decision {
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Create => "create",
            Decision::Link { .. } => "link",
            Decision::Update { .. } => "update",
            Decision::Unchanged => "unchanged",
            Decision::NotYet => "not yet",
            Decision::Blocked => "blocked",
            Decision::Referral => "referral",
            Decision::Missing => "missing",
        }
    }

    /// Whether a reconcile is queued for it.
    fn queued(&self) -> bool {
        !matches!(self, Decision::NotYet | Decision::Missing)
    }
}

/// One record's line.
#[derive(Debug, Clone)]
pub struct Line {
    pub record: SfOpportunityId,
    pub name: String,
    pub stage: String,
    pub decision: Decision,
}

/// What a backfill found and did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub lines: Vec<Line>,
    /// Pre-flight findings over every record: (severity, code) → records.
    pub findings: BTreeMap<(String, String), usize>,
    /// Whether ACE's listing reached its end (else some links may be missed: raise
    /// `--ace-pages`).
    pub listing_complete: bool,
    pub ace_reads: u32,
    /// Records pointed at their opportunity (0 in a dry run).
    pub linked: usize,
    /// Reconcile jobs queued (0 in a dry run).
    pub queued: usize,
}

impl Report {
    /// Records per decision.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for line in &self.lines {
            *counts.entry(line.decision.label()).or_default() += 1;
        }
        counts
    }

    /// The report as printed.
    pub fn render(&self, dry_run: bool) -> String {
        let mut out = String::new();
        let verb = if dry_run { "would be" } else { "are" };
        let _ = writeln!(out, "{} record(s) selected", self.lines.len());
        for line in &self.lines {
            let detail = match &line.decision {
                Decision::Link { id, by } => match by {
                    LinkedBy::Identifier => format!(" {id} (PartnerOpportunityIdentifier)"),
                    LinkedBy::Field(field) => format!(" {id} (from {field})"),
                },
                Decision::Update { ace, record } => {
                    let mut parts = Vec::new();
                    if !ace.is_empty() {
                        parts.push(format!("ACE: {}", ace.join(", ")));
                    }
                    if !record.is_empty() {
                        parts.push(format!("record: {}", record.join(", ")));
                    }
                    format!(" ({})", parts.join("; "))
                }
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {}  {:<9}{detail}  [{}] {}",
                line.record,
                line.decision.label(),
                line.stage,
                line.name
            );
        }
        let _ = writeln!(out, "what {verb} done:");
        for (label, count) in self.counts() {
            let _ = writeln!(out, "  {label:<9} {count}");
        }
        if !self.findings.is_empty() {
            let _ = writeln!(out, "pre-flight findings by kind (records):");
            for ((severity, code), count) in &self.findings {
                let _ = writeln!(out, "  {severity:<7} {code:<28} {count}");
            }
        }
        if !self.listing_complete {
            let _ = writeln!(
                out,
                "note: ACE's listing was cut short after {} page(s); records whose opportunity was not listed would be created (raise --ace-pages)",
                self.ace_reads
            );
        }
        if !dry_run {
            let _ = writeln!(
                out,
                "{} record(s) linked, {} reconcile job(s) queued on the bulk lane",
                self.linked, self.queued
            );
        }
        out
    }
}

/// Why a backfill stopped.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("Salesforce: {0}")]
    Salesforce(#[from] SalesforceError),
    #[error("Partner Central: {0}")]
    Ace(#[from] AceError),
    #[error("previewing {record}: {source}")]
    Preview {
        record: SfOpportunityId,
        #[source]
        source: PreviewError,
    },
    #[error(
        "no queue to send the reconciles to: set queue.changes_queue_url (and queue.bulk_queue_url)"
    )]
    NoQueue,
    #[error("queueing the reconciles: {0}")]
    Queue(#[from] EnqueueError),
    #[error("linking {record} to {id}: {source}")]
    Link {
        record: SfOpportunityId,
        id: AceOpportunityId,
        #[source]
        source: SalesforceError,
    },
}

/// Where the backfill reads, writes and queues. `preview` must be a reconciler that cannot
/// write (`api::read_only`); `salesforce` writes the links; `lanes` is `None` for a dry run.
pub struct Parts<'a> {
    pub preview: &'a Reconciler,
    pub salesforce: &'a dyn SalesforceOrg,
    pub ace: &'a dyn PartnerCentral,
    pub lanes: Option<&'a Lanes>,
}

/// Runs the backfill of `selection`.
pub async fn backfill(
    parts: &Parts<'_>,
    selection: &Selection,
    options: &Options,
) -> Result<Report, BackfillError> {
    let ids = selection.ids(parts.salesforce, parts.preview).await?;
    let mut report = Report::default();

    // The catalog's opportunities by the record they name.
    let listing = parts
        .ace
        .list_modified_since(OffsetDateTime::UNIX_EPOCH, options.ace_pages.max(1))
        .await?;
    report.listing_complete = listing.complete;
    report.ace_reads = listing.reads;
    let mut by_record: BTreeMap<SfOpportunityId, AceOpportunityId> = BTreeMap::new();
    for summary in listing.opportunities {
        if let Some(record) = summary
            .partner_opportunity_identifier
            .as_deref()
            .and_then(|raw| SfOpportunityId::parse(raw).ok())
        {
            // Newest first: keep the newest.
            by_record.entry(record).or_insert(summary.id);
        }
    }
    // What the records hold already, and the previous connector's field.
    let mut link_fields = vec![fields::ACE_ID.to_owned()];
    link_fields.extend(options.link_from.clone());
    let held: BTreeMap<SfOpportunityId, _> = parts
        .salesforce
        .read_opportunities(&ids, &link_fields)
        .await?
        .into_iter()
        .filter_map(|r| Some((SfOpportunityId::try_from(&r.id).ok()?, r)))
        .collect();

    let mut links = Vec::new();
    for id in ids {
        let stored = held.get(&id).and_then(|r| r.get(fields::ACE_ID)).is_some();
        let preview =
            parts
                .preview
                .preview(&id, stored)
                .await
                .map_err(|source| BackfillError::Preview {
                    record: id.clone(),
                    source,
                })?;
        let Some(preview) = preview else {
            report.lines.push(Line {
                record: id,
                name: String::new(),
                stage: String::new(),
                decision: Decision::Missing,
            });
            continue;
        };
        let assessment = &preview.assessment;
        for finding in &assessment.findings {
            let severity = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            *report
                .findings
                .entry((severity.to_owned(), finding.code.as_str().to_owned()))
                .or_default() += 1;
        }
        let text = |field: &str| {
            assessment
                .record
                .get(field)
                .map(FieldValue::to_text)
                .unwrap_or_default()
        };
        let from_field = options.link_from.as_ref().and_then(|field| {
            let value = held.get(&id)?.get(field)?.to_text();
            let parsed = AceOpportunityId::parse(&value).ok()?;
            Some((parsed, LinkedBy::Field(field.clone())))
        });
        let decision = if stored {
            match &preview.ace {
                None => Decision::Referral,
                Some(_) if preview.drifts() => Decision::Update {
                    ace: super::drift::ace_changes(&preview.plan),
                    record: preview.record_drift.keys().cloned().collect(),
                },
                Some(_) => Decision::Unchanged,
            }
        } else if let Some((ace_id, by)) = from_field.or_else(|| {
            by_record
                .get(&id)
                .map(|ace_id| (ace_id.clone(), LinkedBy::Identifier))
        }) {
            links.push((id.clone(), assessment.record.clone(), ace_id.clone()));
            Decision::Link { id: ace_id, by }
        } else if assessment.mapped.phase == Phase::NotYet {
            Decision::NotYet
        } else if assessment.checked.is_none() {
            Decision::Blocked
        } else {
            Decision::Create
        };
        report.lines.push(Line {
            record: id,
            name: text("Name"),
            stage: text("StageName"),
            decision,
        });
    }
    if options.dry_run {
        return Ok(report);
    }
    let lanes = parts.lanes.ok_or(BackfillError::NoQueue)?;

    for (id, record, ace_id) in links {
        let desired = BTreeMap::from([(
            fields::ACE_ID.to_owned(),
            Some(FieldValue::Text(ace_id.to_string())),
        )]);
        parts
            .salesforce
            .write_back(&record, &desired)
            .await
            .map_err(|source| BackfillError::Link {
                record: id,
                id: ace_id,
                source,
            })?;
        report.linked += 1;
    }
    let org_id = parts.salesforce.identity().await?.org_id;
    let queued_at = OffsetDateTime::now_utc();
    let jobs: Vec<Reconcile> = report
        .lines
        .iter()
        .filter(|line| line.decision.queued())
        .map(|line| Reconcile {
            org_id: org_id.clone(),
            record_id: line.record.to_record_id(),
            reason: Reason::Backfill,
            changed_at: None,
            queued_at,
        })
        .collect();
    for chunk in jobs.chunks(QUEUE_CHUNK) {
        lanes.enqueue(chunk).await?;
        report.queued += chunk.len();
    }
    Ok(report)
}
