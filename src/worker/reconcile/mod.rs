//! The reconciler: brings one Salesforce opportunity and its ACE opportunity into agreement,
//! whatever triggered it (an outbound message, an ACE event, a check it asked for itself,
//! the sweep, an operator). Level-triggered, in the manner of a Kubernetes controller: the
//! job names only the record; both sides are read as they are now, and a lost, late or
//! repeated trigger changes nothing.
//!
//! ```text
//! read the record ─▶ map + pre-flight ─▶ observe ACE ─▶ plan (pure) ─▶ act ─▶ write back
//! ```
//!
//! The steps are one file each: [`observe`], [`plan`], [`act`], [`write_back`]. Every job of
//! a record runs on the changes FIFO queue with the record as message group, so one reconcile
//! per record runs at a time across every worker process.

pub mod act;
pub mod fields;
mod metrics;
pub mod observe;
pub mod plan;
mod preview;
pub mod write_back;

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use self::act::{Acted, Origin};
pub use self::metrics::ReconcileMetrics;
use self::observe::{AceView, Needs};
use self::plan::{Action, Input, Plan, Then};
pub use self::preview::{Preview, PreviewError};
use crate::ace::mapping::{MappedOpportunity, Mapping, Phase};
use crate::ace::model::ServiceModel;
use crate::ace::opportunity::Catalog;
use crate::ace::preflight::{self, Finding};
use crate::domain::disposition::Classify;
use crate::domain::ids::{AceOpportunityId, SfOpportunityId, SfOrgId};
use crate::domain::job::Reconcile;
use crate::domain::sobject::SObject;
use crate::ports::partner_central::{AceError, PartnerCentral, TaskStatus};
use crate::ports::salesforce::{SalesforceError, SalesforceOrg};

/// A record read, mapped and checked: what it means to ACE, before ACE is asked anything.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub record: SObject,
    /// The ACE opportunity the record names.
    pub stored: Option<AceOpportunityId>,
    /// What the record maps to.
    pub mapped: MappedOpportunity,
    /// The request that passed the pre-flight check; `None` when the check found errors (then
    /// nothing is sent to ACE).
    pub checked: Option<MappedOpportunity>,
    /// The pre-flight findings: errors, or suggestions when it passed.
    pub findings: Vec<Finding>,
    /// When it was assessed (the check's "today").
    pub now: OffsetDateTime,
}

/// What comes after one reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Converged, or waiting for a trigger.
    Done,
    /// The reconciler wants to look again after this long (a submission task is running).
    CheckAgain(Duration),
    /// A transient failure: run this reconcile again after (at least) this long.
    Retry { after: Duration, reason: String },
    /// A failure that repeating cannot fix; it is recorded on the record where it could be.
    Permanent { reason: String },
}

/// Why a reconcile stopped short.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
    #[error(transparent)]
    Ace(#[from] AceError),
}

impl Failure {
    fn next(&self) -> Next {
        let reason = crate::telemetry::error_chain(self);
        let hint = match self {
            Failure::Salesforce(e) => e.retry_hint(),
            Failure::Ace(e) if write_back::create_conflict(e) => Some(Some(RETRY_CREATE_CONFLICT)),
            Failure::Ace(e) => e.retry_hint(),
        };
        match hint {
            Some(after) => Next::Retry {
                after: after.unwrap_or(Duration::ZERO),
                reason,
            },
            None => Next::Permanent { reason },
        }
    }
}

/// How long before the lookup is tried again after a create conflict (ListOpportunities may
/// not list a fresh opportunity at once).
const RETRY_CREATE_CONFLICT: Duration = Duration::from_secs(5);

/// What the reconciler works with.
pub struct Reconciler {
    sf: Arc<dyn SalesforceOrg>,
    ace: Arc<dyn PartnerCentral>,
    mapping: Arc<Mapping>,
    model: Arc<ServiceModel>,
    catalog: Catalog,
    read_fields: Vec<String>,
    owned: Vec<String>,
    metrics: ReconcileMetrics,
}

impl Reconciler {
    pub fn new(
        sf: Arc<dyn SalesforceOrg>,
        ace: Arc<dyn PartnerCentral>,
        mapping: Arc<Mapping>,
        model: Arc<ServiceModel>,
        catalog: Catalog,
        metrics: ReconcileMetrics,
    ) -> Self {
        let mut read_fields = mapping.salesforce_fields();
        for field in [
            "StageName",
            "IsClosed",
            "IsWon",
            "LastModifiedById",
            "SystemModstamp",
            "CreatedDate",
        ]
        .iter()
        .chain(fields::ALL)
        {
            if !read_fields.iter().any(|f| f == field) {
                read_fields.push((*field).to_owned());
            }
        }
        Self {
            owned: mapping.owned_paths(),
            sf,
            ace,
            mapping,
            model,
            catalog,
            read_fields,
            metrics,
        }
    }

    /// The fields read with every opportunity.
    pub fn read_fields(&self) -> &[String] {
        &self.read_fields
    }

    pub fn catalog(&self) -> Catalog {
        self.catalog
    }

    pub fn partner_central(&self) -> &Arc<dyn PartnerCentral> {
        &self.ace
    }

    pub fn salesforce(&self) -> &Arc<dyn SalesforceOrg> {
        &self.sf
    }

    /// Reconciles the job's record.
    #[tracing::instrument(skip_all, fields(sf_opportunity_id = %id, reason = job.reason.label(), ace_id = tracing::field::Empty))]
    pub async fn reconcile(&self, job: &Reconcile, id: &SfOpportunityId) -> Next {
        self.metrics.triggered(job.reason.label());
        match self.try_reconcile(job, id).await {
            Ok((outcome, next)) => {
                self.metrics.outcome(outcome);
                next
            }
            Err(failure) => {
                self.metrics.outcome("failed");
                let next = failure.next();
                tracing::warn!(error = %crate::telemetry::error_chain(&failure), ?next, "reconcile failed");
                next
            }
        }
    }

    async fn try_reconcile(
        &self,
        job: &Reconcile,
        id: &SfOpportunityId,
    ) -> Result<(&'static str, Next), Failure> {
        // The job must be for the org this worker is connected to: another org's record id
        // could name a record here only by accident, and must never be synced as ours.
        let org = self.sf.identity().await?.org_id;
        if !org.matches(&job.org_id) {
            return Ok((
                "wrong_org",
                Next::Permanent {
                    reason: format!(
                        "the job is for organization {}, but this worker is connected to {org}; check salesforce.org_ids and the connected app",
                        job.org_id
                    ),
                },
            ));
        }

        // Salesforce is the truth.
        let Some(record) = self.read(id).await? else {
            tracing::info!(
                "the opportunity is deleted or not visible to the integration user; nothing to sync"
            );
            return Ok(("deleted", Next::Done));
        };
        let assessment = self.assess(record);
        if let Some(ace) = &assessment.stored {
            tracing::Span::current().record("ace_id", ace.as_str());
        }
        if assessment.mapped.phase == Phase::NotYet && assessment.stored.is_none() {
            return Ok(("not_yet", Next::Done));
        }
        let Assessment {
            record,
            stored,
            mapped,
            checked,
            findings,
            now,
        } = &assessment;
        let (record, stored, checked, findings, now) = (
            record,
            stored.clone(),
            checked.clone(),
            findings.as_slice(),
            *now,
        );

        // ACE as it is now.
        let view = match self.observe(&assessment).await {
            Ok(view) => view,
            Err(error) if write_back::retryable(&error) => return Err(error.into()),
            Err(error) => {
                // Not one the record can wait out: say so on the record.
                let acted = Acted {
                    failure: Some(error),
                    ..Acted::default()
                };
                let view = AceView::Unlinked {
                    candidates: Vec::new(),
                };
                self.write_back(record, &view, &Plan::empty(), &acted, findings, now)
                    .await?;
                let failure = acted.failure.map(Failure::Ace);
                return Ok(("refused", failure.map_or(Next::Done, |f| f.next())));
            }
        };

        let plan = self.plan(&assessment, &view);
        tracing::debug!(actions = ?plan.actions, then = ?plan.then, "planned");
        let linked = view.linked();
        let origin = Origin {
            org: &org,
            record: id,
            linked: stored.as_ref().filter(|_| linked.is_some()),
            last_modified_date: linked.map(|l| l.opportunity.last_modified_date),
        };
        let acted = act::act(self.ace.as_ref(), origin, &plan).await;
        self.write_back(record, &view, &plan, &acted, findings, now)
            .await?;
        self.metrics
            .observe_figures(record, &view, &acted, mapped, job.changed_at, now);

        let outcome = outcome_label(&plan, &acted, checked.is_some());
        let next = match acted.failure {
            Some(error) if write_back::retryable(&error) => Failure::Ace(error).next(),
            // The rep's to fix, and now on the record.
            Some(AceError::Validation { .. }) => Next::Done,
            Some(error) => Failure::Ace(error).next(),
            // A submission task that completed at once leaves nothing to wait for.
            None if acted
                .task
                .as_ref()
                .is_some_and(|t| t.status == TaskStatus::Complete) =>
            {
                Next::Done
            }
            None => match plan.then {
                Then::Done => Next::Done,
                Then::CheckAgain(after) => Next::CheckAgain(after),
            },
        };
        Ok((outcome, next))
    }

    /// The record as Salesforce holds it now, with every field the mapping and the reconciler
    /// need; `None` when it is deleted or the integration user cannot see it.
    pub async fn read(&self, id: &SfOpportunityId) -> Result<Option<SObject>, SalesforceError> {
        match self.sf.read_opportunity(id, &self.read_fields).await {
            Ok(record) => Ok(Some(record)),
            Err(SalesforceError::NoSuchRecord { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// What the record means to ACE, and whether ACE would take it (pure: no call).
    pub fn assess(&self, record: SObject) -> Assessment {
        let mapped = self.mapping.map(&record);
        let now = OffsetDateTime::now_utc();
        let context = preflight::Context {
            today: now.date(),
            catalog: self.catalog,
        };
        let (checked, findings) = match preflight::check_mapped(
            mapped.opportunity.clone(),
            mapped.findings,
            &self.mapping,
            &self.model,
            &context,
        ) {
            Ok(checked) => (Some(checked.request), checked.warnings),
            Err(rejected) => (None, rejected.findings),
        };
        Assessment {
            stored: fields::ace_id(&record),
            record,
            mapped: mapped.opportunity,
            checked,
            findings,
            now,
        }
    }

    /// ACE's side of an assessed record, in at most two reads.
    pub async fn observe(&self, assessment: &Assessment) -> Result<AceView, AceError> {
        let needs = Needs {
            phase: assessment.mapped.phase,
            submission: assessment.mapped.submission.is_some(),
            // Nothing will be created while the pre-flight finds errors: no lookup either.
            lookup: assessment.checked.is_some(),
        };
        observe::observe(
            self.ace.as_ref(),
            &assessment.record,
            assessment.stored.as_ref(),
            needs,
        )
        .await
    }

    /// The plan for an assessed record and ACE's side (pure).
    pub fn plan(&self, assessment: &Assessment, view: &AceView) -> Plan {
        plan::plan(&self.input(
            &assessment.record,
            &assessment.mapped,
            assessment.checked.as_ref(),
            view,
        ))
    }

    /// The mapping in use (for field labels and the request's shape).
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    fn input<'a>(
        &'a self,
        record: &'a crate::domain::sobject::SObject,
        mapped: &'a crate::ace::mapping::MappedOpportunity,
        checked: Option<&'a crate::ace::mapping::MappedOpportunity>,
        view: &'a AceView,
    ) -> Input<'a> {
        Input {
            record,
            mapped,
            checked,
            ace: view,
            owned: &self.owned,
            owns_aws_products: self.mapping.aws_products.is_some(),
        }
    }

    async fn write_back(
        &self,
        record: &crate::domain::sobject::SObject,
        view: &AceView,
        plan: &Plan,
        acted: &Acted,
        findings: &[crate::ace::preflight::Finding],
        now: OffsetDateTime,
    ) -> Result<(), SalesforceError> {
        let mut desired = write_back::desired(&write_back::Outcome {
            record,
            ace: view,
            plan,
            acted,
            findings,
            mapping: &self.mapping,
            now,
        });
        if !write_back::differs(record, &desired) {
            return Ok(());
        }
        desired.insert(
            fields::LAST_SYNCED.into(),
            Some(crate::domain::sobject::FieldValue::Datetime(now)),
        );
        let outcome = self.sf.write_back(record, &desired).await?;
        tracing::debug!(?outcome, "written back to Salesforce");
        Ok(())
    }
}

/// A short label of what a reconcile did, for the outcomes metric.
fn outcome_label(plan: &Plan, acted: &Acted, checked: bool) -> &'static str {
    if !checked {
        return "needs_attention";
    }
    if let Some(failure) = &acted.failure {
        return if write_back::retryable(failure) {
            "failed"
        } else {
            "refused"
        };
    }
    let has = |f: fn(&Action) -> bool| plan.actions.iter().any(f);
    if has(|a| matches!(a, Action::Retire { .. })) {
        "resubmitted"
    } else if has(|a| matches!(a, Action::Create { .. })) {
        "created"
    } else if has(|a| matches!(a, Action::Adopt(_))) {
        "adopted"
    } else if has(|a| matches!(a, Action::Submit { .. })) {
        "submitted"
    } else if has(|a| matches!(a, Action::Update { .. })) {
        "updated"
    } else if has(|a| matches!(a, Action::Associate(_) | Action::Disassociate(_))) {
        "associated"
    } else {
        "unchanged"
    }
}

/// The org of a connection, for callers that queue jobs for it.
pub async fn connected_org(sf: &dyn SalesforceOrg) -> Result<SfOrgId, SalesforceError> {
    Ok(sf.identity().await?.org_id)
}
