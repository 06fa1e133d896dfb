//! Act: carries out a plan's ACE writes, in order, through the port; stops at the first
//! failure and says how far it got, so that what was done (an opportunity created) is written
//! back even when a later step failed.
//!
//! Every write is safe to repeat: CreateOpportunity and StartEngagementFromOpportunityTask
//! carry ClientTokens derived from the org, the record, its generation and (for a submission)
//! the opportunity's version; UpdateOpportunity carries the `LastModifiedDate` the plan was
//! made from, so a change made meanwhile by someone else is refused, not overwritten.

use time::OffsetDateTime;

use super::plan::{Action, Plan};
use crate::ace::opportunity::Opportunity;
use crate::domain::ids::{AceOpportunityId, ClientToken, SfOpportunityId, SfOrgId, TokenPurpose};
use crate::ports::partner_central::{AceError, EngagementTask, PartnerCentral};

/// What acting did.
#[derive(Debug, Default)]
pub struct Acted {
    /// The opportunity the record points at now, when acting changed it (created, adopted).
    pub linked: Option<AceOpportunityId>,
    /// The record's previous ids, when a rejected opportunity was retired.
    pub previous_ids: Option<Vec<String>>,
    /// The body created, when this reconcile created the opportunity.
    pub created: Option<Opportunity>,
    /// The payload sent, when the opportunity was updated.
    pub updated: Option<Opportunity>,
    /// The submission task this reconcile started.
    pub task: Option<EngagementTask>,
    /// Writes ACE accepted.
    pub writes: u32,
    /// Why acting stopped short.
    pub failure: Option<AceError>,
}

/// Whom the ClientTokens are derived for.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub org: &'a SfOrgId,
    pub record: &'a SfOpportunityId,
    /// The opportunity the record points at when acting starts, if any.
    pub linked: Option<&'a AceOpportunityId>,
    /// Its `LastModifiedDate` as observed.
    pub last_modified_date: Option<OffsetDateTime>,
}

/// Carries out `plan`.
pub async fn act(ace: &dyn PartnerCentral, origin: Origin<'_>, plan: &Plan) -> Acted {
    let mut acted = Acted::default();
    let mut current = origin.linked.cloned();
    let mut version = origin.last_modified_date;
    for action in &plan.actions {
        let result = step(ace, &origin, action, &mut current, &mut version, &mut acted).await;
        if let Err(error) = result {
            tracing::info!(
                step = action_name(action),
                error = %crate::telemetry::error_chain(&error),
                "acting stopped"
            );
            acted.failure = Some(error);
            break;
        }
    }
    acted
}

async fn step(
    ace: &dyn PartnerCentral,
    origin: &Origin<'_>,
    action: &Action,
    current: &mut Option<AceOpportunityId>,
    version: &mut Option<OffsetDateTime>,
    acted: &mut Acted,
) -> Result<(), AceError> {
    let linked = |current: &Option<AceOpportunityId>| {
        current.clone().ok_or(AceError::Unexpected {
            operation: action_name(action),
            what: "the plan acts on an opportunity before it has one".to_owned(),
        })
    };
    match action {
        Action::Adopt(id) => {
            tracing::info!(ace_id = %id, "found the ACE opportunity created for this record earlier");
            *current = Some(id.clone());
            acted.linked = Some(id.clone());
        }
        Action::Retire {
            rejected,
            previous_ids,
        } => {
            tracing::info!(rejected = %rejected, "AWS rejected the opportunity and the record changed since: resubmitting it as a new one");
            *current = None;
            acted.previous_ids = Some(previous_ids.clone());
        }
        Action::Create { body, generation } => {
            let token = ClientToken::derive(
                origin.org,
                origin.record,
                TokenPurpose::CreateOpportunity,
                *generation,
            );
            let created = ace.create(body, &token).await?;
            tracing::Span::current().record("ace_id", created.id.as_str());
            tracing::info!(ace_id = %created.id, "opportunity created in ACE");
            *version = created.last_modified_date;
            *current = Some(created.id.clone());
            acted.linked = Some(created.id);
            acted.created = Some(body.clone());
            acted.writes += 1;
        }
        Action::Update {
            payload,
            last_modified_date,
            changed,
        } => {
            let id = linked(current)?;
            let new_version = ace.update(&id, payload, *last_modified_date).await?;
            tracing::info!(ace_id = %id, ?changed, "opportunity updated in ACE");
            *version = Some(new_version);
            acted.updated = Some(payload.clone());
            acted.writes += 1;
        }
        Action::Associate(entity) => {
            let id = linked(current)?;
            ace.associate(&id, entity).await?;
            tracing::debug!(ace_id = %id, %entity, "associated");
            acted.writes += 1;
        }
        Action::Disassociate(entity) => {
            let id = linked(current)?;
            ace.disassociate(&id, entity).await?;
            tracing::debug!(ace_id = %id, %entity, "disassociated");
            acted.writes += 1;
        }
        Action::Submit {
            submission,
            generation,
            after_task,
        } => {
            let id = linked(current)?;
            // Keyed to the opportunity as it stands and to the failed task this one follows:
            // a retry of this submission is the same task, a submission of a changed
            // opportunity (or after a transient failure) is a new one.
            let stamp = version
                .map(|v| v.unix_timestamp_nanos())
                .unwrap_or_default();
            let token = ClientToken::derive_versioned(
                origin.org,
                origin.record,
                TokenPurpose::StartEngagementFromOpportunity,
                *generation,
                &format!("{id}@{stamp}/{}", after_task.as_deref().unwrap_or("-")),
            );
            let task = ace.start_engagement(&id, submission, &token).await?;
            tracing::info!(ace_id = %id, status = ?task.status, "submitted to AWS");
            acted.task = Some(task);
            acted.writes += 1;
        }
    }
    Ok(())
}

fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Adopt(_) => "adopt",
        Action::Retire { .. } => "retire",
        Action::Create { .. } => "CreateOpportunity",
        Action::Update { .. } => "UpdateOpportunity",
        Action::Associate(_) => "AssociateOpportunity",
        Action::Disassociate(_) => "DisassociateOpportunity",
        Action::Submit { .. } => "StartEngagementFromOpportunityTask",
    }
}
