//! The simulated service behind the wire: one call goes through call counting, injected
//! faults, quotas, the model's request validation and the catalog rule, then to its operation;
//! the answer is checked against the operation's output shape. Also what several operations
//! share: ARNs, publishing events, ClientToken idempotency, and how answers are built and
//! lists paged.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use ace_sync::ace::model::{ServiceModel, Violation, ViolationCode};

use super::SimConfig;
use super::error::{ApiError, ValidationReason};
use super::events::{DetailType, EventBus, EventContext, SimEvent};
use super::quotas::{QuotaExceeded, Quotas};
use super::reference_data::ReferenceData;
use super::review::ReviewConfig;
use super::rules::{self, RuleContext};
use super::store::{self, State};
use super::tasks::TaskTiming;
use super::timers::Timer;

/// The simulated Partner Central account.
#[derive(Debug)]
pub(super) struct Sim {
    pub model: Arc<ServiceModel>,
    pub account_id: String,
    pub region: String,
    pub review: ReviewConfig,
    pub reference: ReferenceData,
    /// When Start…Task tasks end.
    pub tasks: TaskTiming,
    /// How long a referral waits for an answer, unless its spec says.
    pub invitation_expiry: Duration,
    state: Mutex<State>,
    quotas: Mutex<Quotas>,
    events: EventBus,
    pub(super) timers: mpsc::UnboundedSender<Timer>,
}

impl Sim {
    /// The account `config` describes, validating against `model`, publishing on `events`
    /// and scheduling on `timers`.
    pub fn new(
        model: Arc<ServiceModel>,
        config: &SimConfig,
        events: EventBus,
        timers: mpsc::UnboundedSender<Timer>,
    ) -> Sim {
        Sim {
            model,
            account_id: config.account_id.clone(),
            region: config.region.clone(),
            review: config.review.clone(),
            tasks: config.tasks,
            invitation_expiry: config.invitation_expiry,
            reference: ReferenceData::load(),
            state: Mutex::new(State::new()),
            quotas: Mutex::new(Quotas::new(config.quotas)),
            events,
            timers,
        }
    }

    /// The store; a panic elsewhere never makes it unusable for the control API.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// One API call, after the wire layer found its operation and parsed its body; logged
    /// with its answer.
    pub fn call(&self, operation: &str, input: &Value) -> Result<Value, ApiError> {
        let result = self.answer(operation, input);
        let resource_id = [
            "Identifier",
            "OpportunityIdentifier",
            "RelatedOpportunityIdentifier",
        ]
        .iter()
        .find_map(|member| input.get(*member).and_then(Value::as_str))
        .or_else(|| {
            result
                .as_ref()
                .ok()
                .and_then(|output| output.get("Id"))
                .and_then(Value::as_str)
        })
        .map(str::to_owned);
        let entry = store::LoggedCall {
            at: tokio::time::Instant::now(),
            operation: operation.to_owned(),
            resource_id,
            error: result.as_ref().err().map(ApiError::type_name),
        };
        store::push_bounded(&mut self.state().call_log, entry);
        result
    }

    fn answer(&self, operation: &str, input: &Value) -> Result<Value, ApiError> {
        let op = self
            .model
            .operation(operation)
            .ok_or(ApiError::UnknownOperation)?;
        let fault = {
            let mut state = self.state();
            *state.calls.entry(operation.to_owned()).or_default() += 1;
            state.take_fault(operation)
        };
        if let Some(fault) = fault {
            return Err(fault.error(operation));
        }
        let admitted = self
            .quotas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(operation, tokio::time::Instant::now());
        match admitted {
            Ok(()) => {}
            Err(QuotaExceeded::Rate) => {
                return Err(ApiError::Throttling("Rate exceeded".to_owned()));
            }
            // Only some operations declare ServiceQuotaExceededException; the others hear
            // about a spent daily quota as throttling (`declared_for`).
            Err(QuotaExceeded::Daily) => {
                return Err(ApiError::ServiceQuotaExceeded(format!(
                    "The daily quota of {operation} requests for this account is exhausted; it refills over a rolling 24 hours."
                )));
            }
        }
        let violations = self.model.validate_input(operation, input);
        if !violations.is_empty() {
            return Err(ApiError::validation(
                ValidationReason::RequestValidationFailed,
                violations,
            ));
        }
        if let Some(v) = input
            .get("Catalog")
            .and_then(Value::as_str)
            .and_then(rules::catalog_rule)
        {
            return Err(ApiError::validation(
                ValidationReason::BusinessValidationFailed,
                vec![v],
            ));
        }
        let output = self.dispatch(operation, input)?;
        if let Some(shape) = &op.output {
            let problems = self.model.validate_shape(shape, &output);
            if !problems.is_empty() {
                tracing::error!(
                    operation,
                    ?problems,
                    "simulator answer breaks its output shape"
                );
                self.state()
                    .output_violations
                    .extend(problems.into_iter().map(|p| format!("{operation}: {p}")));
            }
        }
        Ok(output)
    }

    fn dispatch(&self, operation: &str, input: &Value) -> Result<Value, ApiError> {
        match operation {
            "CreateOpportunity" => self.create_opportunity(input),
            "UpdateOpportunity" => self.update_opportunity(input),
            "GetOpportunity" => self.get_opportunity(input),
            "ListOpportunities" => self.list_opportunities(input),
            "AssociateOpportunity" => self.associate_opportunity(input, true),
            "DisassociateOpportunity" => self.associate_opportunity(input, false),
            "SubmitOpportunity" => self.submit_opportunity(input),
            "StartEngagementFromOpportunityTask" => self.start_engagement_from_opportunity(input),
            "ListEngagementFromOpportunityTasks" => {
                self.list_engagement_from_opportunity_tasks(input)
            }
            "GetAwsOpportunitySummary" => self.get_aws_opportunity_summary(input),
            "ListSolutions" => self.list_solutions(input),
            "ListEngagementInvitations" => self.list_engagement_invitations(input),
            "GetEngagementInvitation" => self.get_engagement_invitation(input),
            "StartEngagementByAcceptingInvitationTask" => {
                self.start_engagement_by_accepting_invitation(input)
            }
            "ListEngagementByAcceptingInvitationTasks" => {
                self.list_engagement_by_accepting_invitation_tasks(input)
            }
            "RejectEngagementInvitation" => self.reject_engagement_invitation(input),
            other => Err(ApiError::AccessDenied(format!(
                "The Partner Central simulator does not implement {other}."
            ))),
        }
    }

    pub fn rule_context(&self, is_update: bool) -> RuleContext {
        RuleContext {
            today: time::OffsetDateTime::now_utc().date(),
            is_update,
            at_submission: false,
        }
    }

    pub fn opportunity_arn(&self, catalog: &str, id: &str) -> String {
        format!(
            "arn:aws:partnercentral:{}:{}:catalog/{catalog}/opportunity/{id}",
            self.region, self.account_id
        )
    }

    pub fn arn(&self, catalog: &str, kind: &str, id: &str) -> String {
        format!(
            "arn:aws:partnercentral:{}:{}:catalog/{catalog}/{kind}/{id}",
            self.region, self.account_id
        )
    }

    /// Records and publishes an event.
    pub fn publish(&self, state: &mut State, event: SimEvent) {
        state.events.push(event.json.clone());
        self.events.publish(event);
    }

    pub fn event_context<'a>(&'a self, time: &'a str) -> EventContext<'a> {
        EventContext {
            account_id: &self.account_id,
            region: &self.region,
            time,
        }
    }

    pub fn publish_opportunity(
        &self,
        state: &mut State,
        detail_type: DetailType,
        catalog: &str,
        id: &str,
    ) {
        let time = store::format_time(store::now());
        let arn = self.opportunity_arn(catalog, id);
        let event =
            SimEvent::opportunity(self.event_context(&time), detail_type, catalog, id, &arn);
        if let Some(o) = state.opportunities.get(id) {
            let change = store::OpportunityChange {
                at: tokio::time::Instant::now(),
                opportunity_id: id.to_owned(),
                detail_type: detail_type.as_str(),
                review_status: o.review_status.as_str().to_owned(),
                stage: o.body_str("LifeCycle.Stage").map(str::to_owned),
            };
            store::push_bounded(&mut state.opportunity_history, change);
        }
        self.publish(state, event);
    }

    /// ClientToken idempotency (ace-api.md §6): the same token with the same body answers
    /// what the first call answered; with a different body it is a conflict.
    pub fn replay(
        &self,
        state: &State,
        operation: &str,
        input: &Value,
    ) -> Result<Option<Value>, ApiError> {
        let Some(key) = token_key(operation, input) else {
            return Ok(None);
        };
        match state.tokens.get(&key) {
            None => Ok(None),
            Some(record) if record.request == *input => Ok(Some(record.response.clone())),
            Some(_) => Err(ApiError::Conflict(
                "Conflicting client token submitted for a new request body.".to_owned(),
            )),
        }
    }

    pub fn remember(&self, state: &mut State, operation: &str, input: &Value, response: &Value) {
        if let Some(key) = token_key(operation, input) {
            state.tokens.insert(
                key,
                store::TokenRecord {
                    request: input.clone(),
                    response: response.clone(),
                },
            );
        }
    }
}

fn token_key(operation: &str, input: &Value) -> Option<(String, String, String)> {
    let catalog = input.get("Catalog")?.as_str()?;
    let token = input.get("ClientToken")?.as_str()?;
    Some((operation.to_owned(), catalog.to_owned(), token.to_owned()))
}

/// `{"Member": value}` without the members that are `None`.
pub(super) fn object(members: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        members
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect(),
    )
}

pub(super) fn text(v: impl Into<String>) -> Option<Value> {
    Some(Value::String(v.into()))
}

pub(super) fn opt_text(v: Option<&str>) -> Option<Value> {
    v.map(|s| json!(s))
}

/// One page of `items` as `MaxResults`/`NextToken` ask (the token is the offset of the page).
pub(super) fn page<T>(
    items: Vec<T>,
    input: &Value,
    default_max: usize,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let max = input
        .get("MaxResults")
        .and_then(Value::as_u64)
        .map_or(default_max, |m| m as usize);
    let offset = match input.get("NextToken").and_then(Value::as_str) {
        None => 0,
        Some(token) => token
            .strip_prefix("pc-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| {
                ApiError::validation(
                    ValidationReason::RequestValidationFailed,
                    vec![Violation::new(
                        "NextToken",
                        ViolationCode::InvalidValue,
                        "Field NextToken is not a token this operation returned.",
                    )],
                )
            })?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(offset).take(max).collect();
    let next = (offset + page.len() < total).then(|| format!("pc-{}", offset + page.len()));
    Ok((page, next))
}

/// `Sort.SortOrder` is `DESCENDING`.
pub(super) fn descending(input: &Value, default: bool) -> bool {
    input
        .get("Sort")
        .and_then(|s| s.get("SortOrder"))
        .and_then(Value::as_str)
        .map_or(default, |o| o == "DESCENDING")
}

/// The strings of a list member, if the request filters on it.
pub(super) fn filter_list(input: &Value, member: &str) -> Option<Vec<String>> {
    let items = input.get(member)?.as_array()?;
    (!items.is_empty()).then(|| {
        items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

/// A string member of a request; absent reads as empty (the model's validation already
/// refused a missing required member).
pub(super) fn str_of<'v>(input: &'v Value, member: &str) -> &'v str {
    input
        .get(member)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A ValidationException for broken business rules.
pub(super) fn business(violations: Vec<Violation>) -> ApiError {
    ApiError::validation(ValidationReason::BusinessValidationFailed, violations)
}
