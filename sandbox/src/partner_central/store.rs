//! What the simulated service remembers: opportunities, idempotency tokens, engagement
//! invitations, tasks, and the bookkeeping the control API reads (calls, faults, events). All
//! of it lives behind one mutex that is never held across an await.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use tokio::time::Instant;

use super::error::ApiError;

/// `LifeCycle.ReviewStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReviewStatus {
    PendingSubmission,
    Submitted,
    InReview,
    Approved,
    Rejected,
    ActionRequired,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingSubmission => "Pending Submission",
            Self::Submitted => "Submitted",
            Self::InReview => "In review",
            Self::Approved => "Approved",
            Self::Rejected => "Rejected",
            Self::ActionRequired => "Action Required",
        }
    }

    pub fn parse(wire: &str) -> Option<ReviewStatus> {
        [
            Self::PendingSubmission,
            Self::Submitted,
            Self::InReview,
            Self::Approved,
            Self::Rejected,
            Self::ActionRequired,
        ]
        .into_iter()
        .find(|s| s.as_str() == wire)
    }

    /// AWS is validating: the opportunity is read-only (ace-api.md §8).
    pub fn in_validation(self) -> bool {
        matches!(self, Self::Submitted | Self::InReview)
    }
}

/// The six kinds of related entity (`RelatedEntityType`), in the order of the model.
pub const RELATED_ENTITY_TYPES: [&str; 6] = [
    "AwsMarketplaceOffers",
    "AwsMarketplaceOfferSets",
    "Solutions",
    "AwsProducts",
    "AwsMarketplaceSolutions",
    "AwsMarketplaceProducts",
];

/// What a submission asked AWS for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub involvement_type: String,
    pub visibility: String,
    pub engagement_id: Option<String>,
    pub invitation_id: Option<String>,
}

/// One opportunity as the service stores it.
#[derive(Debug, Clone)]
pub struct Opportunity {
    pub id: String,
    pub arn: String,
    pub catalog: String,
    pub origin: String,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    /// The partner-written members as last sent (Create, then each full-replace Update),
    /// without the read-only parts of `LifeCycle`.
    pub body: Map<String, Value>,
    pub review_status: ReviewStatus,
    pub review_comments: Option<String>,
    pub review_status_reason: Option<String>,
    pub next_steps_history: Vec<(String, OffsetDateTime)>,
    /// Related entity ids by `RelatedEntityType`.
    pub related: BTreeMap<String, Vec<String>>,
    pub team: Vec<Value>,
    pub tags: Vec<Value>,
    pub submission: Option<Submission>,
    /// Bumped at each submission; a scheduled review step of an older round is void.
    pub review_round: u64,
    /// AWS's side, filled when AWS decides (GetAwsOpportunitySummary).
    pub aws: Option<AwsSide>,
}

/// What AWS adds to an opportunity it reviewed.
#[derive(Debug, Clone, Default)]
pub struct AwsSide {
    pub stage: Option<String>,
    pub closed_lost_reason: Option<String>,
    pub next_steps: Option<String>,
    pub next_steps_history: Vec<(String, OffsetDateTime)>,
    pub team: Vec<Value>,
    pub insights: Option<Value>,
}

impl Opportunity {
    /// A member of the stored body by dotted path.
    pub fn body_value(&self, path: &str) -> Option<&Value> {
        let mut segments = path.split('.');
        let first = segments.next()?;
        let mut current = self.body.get(first)?;
        for segment in segments {
            current = current.get(segment)?;
        }
        (!current.is_null()).then_some(current)
    }

    pub fn body_str(&self, path: &str) -> Option<&str> {
        self.body_value(path).and_then(Value::as_str)
    }

    pub fn related(&self, kind: &str) -> &[String] {
        self.related
            .get(kind)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// An engagement invitation, from AWS to us (`RECEIVER`) or from us to AWS (`SENDER`).
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: String,
    pub arn: String,
    pub catalog: String,
    pub engagement_id: String,
    pub engagement_title: String,
    pub engagement_description: Option<String>,
    pub status: String,
    pub participant_type: String,
    pub invitation_date: OffsetDateTime,
    pub expiration_date: OffsetDateTime,
    pub sender_account_id: String,
    pub sender_company_name: String,
    pub receiver_account_id: String,
    pub message: Option<String>,
    pub rejection_reason: Option<String>,
    /// `{"OpportunityInvitation": {...}}`: what the invitation shares.
    pub payload: Value,
    /// An AWS referral's opportunity body with what AWS withholds until acceptance (the
    /// customer's full address, contacts and AWS account).
    pub withheld: Option<Value>,
    /// SENDER: the opportunity submitted; RECEIVER: the opportunity created on acceptance.
    pub opportunity_id: Option<String>,
}

/// The two kinds of asynchronous task the simulator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// StartEngagementFromOpportunityTask: the submission of a partner opportunity.
    EngagementFromOpportunity,
    /// StartEngagementByAcceptingInvitationTask: the acceptance of an AWS referral.
    EngagementByAcceptingInvitation,
}

impl TaskKind {
    /// The Start…Task operation.
    pub fn operation(self) -> &'static str {
        match self {
            Self::EngagementFromOpportunity => "StartEngagementFromOpportunityTask",
            Self::EngagementByAcceptingInvitation => "StartEngagementByAcceptingInvitationTask",
        }
    }

    /// The resource kind in the task's ARN.
    pub fn arn_kind(self) -> &'static str {
        match self {
            Self::EngagementFromOpportunity => "engagement-from-opportunity-task",
            Self::EngagementByAcceptingInvitation => "engagement-by-accepting-invitation-task",
        }
    }
}

/// `TaskStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    InProgress,
    Complete,
    Failed,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "IN_PROGRESS",
            Self::Complete => "COMPLETE",
            Self::Failed => "FAILED",
        }
    }
}

/// An asynchronous task of the service: started `IN_PROGRESS`, finished later (or at once,
/// depending on the simulator's task timing) as `COMPLETE` or `FAILED`.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub arn: String,
    pub kind: TaskKind,
    pub catalog: String,
    pub start_time: OffsetDateTime,
    pub status: TaskStatus,
    pub message: Option<String>,
    pub reason_code: Option<String>,
    pub opportunity_id: Option<String>,
    pub resource_snapshot_job_id: Option<String>,
    pub engagement_id: Option<String>,
    pub engagement_invitation_id: Option<String>,
    /// The Start…Task request: what the task does when it runs.
    pub request: Value,
}

impl Task {
    /// Ends the task as `FAILED` with AWS's reason code (ace-api.md §7: task failures are not
    /// errors of the call).
    pub fn fail(&mut self, reason_code: &str, message: impl Into<String>) {
        self.status = TaskStatus::Failed;
        self.reason_code = Some(reason_code.to_owned());
        self.message = Some(message.into());
    }
}

/// A remembered `ClientToken`: the request it came with and the answer it got.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub request: Value,
    pub response: Value,
}

/// A fault the control API injected: the next `remaining` calls of an operation fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// ConflictException: as if someone changed the opportunity since the caller read it.
    Conflict,
    Throttling,
    InternalServer,
    AccessDenied,
    ServiceQuotaExceeded,
}

impl Fault {
    pub fn error(self, operation: &str) -> ApiError {
        match self {
            Self::Conflict => ApiError::Conflict(
                "The opportunity was modified after the LastModifiedDate you sent; read it again."
                    .to_owned(),
            ),
            Self::Throttling => ApiError::Throttling("Rate exceeded".to_owned()),
            Self::InternalServer => {
                ApiError::InternalServer("An internal error occurred. Try again.".to_owned())
            }
            Self::AccessDenied => ApiError::AccessDenied(format!(
                "User is not authorized to perform: partnercentral:{operation}"
            )),
            Self::ServiceQuotaExceeded => {
                ApiError::ServiceQuotaExceeded("Service quota exceeded.".to_owned())
            }
        }
    }
}

/// One answered API call, for the control API (a demo's timeline, tests that care about
/// order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCall {
    /// When the answer was ready.
    pub at: Instant,
    pub operation: String,
    /// What the call is about: the `Identifier`, `OpportunityIdentifier` or
    /// `RelatedOpportunityIdentifier` it names, or for a create, the id it created. `None` for
    /// calls that name nothing (lists).
    pub resource_id: Option<String>,
    /// The error type it was answered with (`ValidationException`, …); `None` on success.
    pub error: Option<&'static str>,
}

/// An opportunity as it stood when one of its events was published: what a subscriber to the
/// events would find if it called GetOpportunity at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpportunityChange {
    pub at: Instant,
    pub opportunity_id: String,
    /// `Opportunity Created` or `Opportunity Updated`.
    pub detail_type: &'static str,
    pub review_status: String,
    /// `LifeCycle.Stage`.
    pub stage: Option<String>,
}

/// The call log and the opportunity history keep this many entries, so a long-running
/// sandbox does not grow forever.
pub const LOG_LIMIT: usize = 10_000;

/// Appends to a bounded log, dropping the oldest tenth when it is full.
pub fn push_bounded<T>(log: &mut Vec<T>, entry: T) {
    if log.len() >= LOG_LIMIT {
        log.drain(..LOG_LIMIT / 10);
    }
    log.push(entry);
}

#[derive(Debug, Default)]
pub struct State {
    next_opportunity_number: u64,
    pub opportunities: BTreeMap<String, Opportunity>,
    /// By (operation, catalog, token).
    pub tokens: HashMap<(String, String, String), TokenRecord>,
    pub invitations: BTreeMap<String, Invitation>,
    /// StartEngagementFromOpportunityTask's tasks, in start order.
    pub from_opportunity_tasks: Vec<Task>,
    /// StartEngagementByAcceptingInvitationTask's tasks, in start order.
    pub by_invitation_tasks: Vec<Task>,
    pub calls: BTreeMap<String, u64>,
    /// The most recent calls, in arrival order.
    pub call_log: Vec<LoggedCall>,
    pub faults: HashMap<String, (Fault, u32)>,
    /// The next StartEngagementFromOpportunityTask tasks to end fail with this `ReasonCode`
    /// and `Message`, whatever the opportunity (AWS fails tasks for reasons of its own too).
    pub task_failures: std::collections::VecDeque<(String, String)>,
    /// Operations whose calls wait before being processed, until released: dropping the
    /// sender opens the gate.
    pub holds: HashMap<String, tokio::sync::watch::Sender<()>>,
    /// Calls waiting at a hold now, by operation.
    pub held: BTreeMap<String, u64>,
    pub events: Vec<Value>,
    /// Each opportunity as it stood when one of its events was published, in order.
    pub opportunity_history: Vec<OpportunityChange>,
    /// Responses that broke their output shape (a simulator bug the tests look for).
    pub output_violations: Vec<String>,
}

impl State {
    pub fn new() -> State {
        State {
            next_opportunity_number: 1_000_001,
            ..State::default()
        }
    }

    /// Opportunity ids are `O` and 7+ digits, in creation order.
    pub fn next_opportunity_id(&mut self) -> String {
        let id = format!("O{}", self.next_opportunity_number);
        self.next_opportunity_number += 1;
        id
    }

    pub fn opportunity(&self, catalog: &str, id: &str) -> Result<&Opportunity, ApiError> {
        self.opportunities
            .get(id)
            .filter(|o| o.catalog == catalog)
            .ok_or_else(|| ApiError::not_found(id))
    }

    pub fn opportunity_mut(
        &mut self,
        catalog: &str,
        id: &str,
    ) -> Result<&mut Opportunity, ApiError> {
        self.opportunities
            .get_mut(id)
            .filter(|o| o.catalog == catalog)
            .ok_or_else(|| ApiError::not_found(id))
    }

    /// An invitation by id or ARN.
    pub fn invitation_key(&self, catalog: &str, identifier: &str) -> Result<String, ApiError> {
        self.invitations
            .values()
            .find(|i| i.catalog == catalog && (i.id == identifier || i.arn == identifier))
            .map(|i| i.id.clone())
            .ok_or_else(|| ApiError::not_found(identifier))
    }

    /// The tasks of one kind, in start order.
    pub fn tasks(&self, kind: TaskKind) -> &[Task] {
        match kind {
            TaskKind::EngagementFromOpportunity => &self.from_opportunity_tasks,
            TaskKind::EngagementByAcceptingInvitation => &self.by_invitation_tasks,
        }
    }

    pub fn tasks_mut(&mut self, kind: TaskKind) -> &mut Vec<Task> {
        match kind {
            TaskKind::EngagementFromOpportunity => &mut self.from_opportunity_tasks,
            TaskKind::EngagementByAcceptingInvitation => &mut self.by_invitation_tasks,
        }
    }

    pub fn task(&self, kind: TaskKind, id: &str) -> Option<&Task> {
        self.tasks(kind).iter().find(|t| t.id == id)
    }

    pub fn task_mut(&mut self, kind: TaskKind, id: &str) -> Option<&mut Task> {
        self.tasks_mut(kind).iter_mut().find(|t| t.id == id)
    }

    /// Takes one use of an injected fault for `operation`.
    pub fn take_fault(&mut self, operation: &str) -> Option<Fault> {
        let (fault, remaining) = self.faults.get_mut(operation)?;
        let fault = *fault;
        *remaining -= 1;
        if *remaining == 0 {
            self.faults.remove(operation);
        }
        Some(fault)
    }
}

/// `n` random characters of `[0-9a-z]`, as the service's ids use.
pub fn random_id(n: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..n)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

/// Now, at the millisecond precision the service returns.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t)
}

/// The next `LastModifiedDate`: now, but always later than the previous one so a stale
/// token is detectable even within one millisecond.
pub fn next_modified(previous: OffsetDateTime) -> OffsetDateTime {
    let t = now();
    if t > previous {
        t
    } else {
        previous + time::Duration::milliseconds(1)
    }
}

/// RFC 3339 in UTC with milliseconds, as the service writes timestamps.
pub fn format_time(t: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| t.format(&Rfc3339).unwrap_or_default())
}

pub fn parse_time(raw: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(raw, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_at_millisecond_precision() {
        let t = now();
        let text = format_time(t);
        assert!(text.ends_with('Z') && text.len() == 24, "{text}");
        assert_eq!(parse_time(&text), Some(t));
        assert!(next_modified(t) > t);
        assert!(next_modified(t + time::Duration::hours(1)) > t + time::Duration::hours(1));
    }

    #[test]
    fn review_statuses_round_trip() {
        for s in [
            "Pending Submission",
            "Submitted",
            "In review",
            "Approved",
            "Rejected",
            "Action Required",
        ] {
            assert_eq!(ReviewStatus::parse(s).map(ReviewStatus::as_str), Some(s));
        }
        assert_eq!(ReviewStatus::parse("In Review"), None);
    }

    #[test]
    fn faults_are_used_up() {
        let mut state = State::new();
        state
            .faults
            .insert("GetOpportunity".into(), (Fault::Throttling, 2));
        assert_eq!(state.take_fault("GetOpportunity"), Some(Fault::Throttling));
        assert_eq!(state.take_fault("GetOpportunity"), Some(Fault::Throttling));
        assert_eq!(state.take_fault("GetOpportunity"), None);
    }
}
