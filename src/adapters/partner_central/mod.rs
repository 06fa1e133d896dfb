//! The Partner Central port on `aws-sdk-partnercentralselling` (=1.84.0): the default AWS
//! credential chain, region and catalog from the `[ace]` settings, an endpoint override for
//! the simulator.
//!
//! Every call goes through [`PartnerCentralClient::call`]: writes first wait for the shared
//! [`WriteLimiter`] (1 write/s per account, ace-api.md §10), throttling and transient failures
//! are retried with exponential back-off (the SDK's own retries are off, so every attempt of a
//! write passes the limiter), and each attempt is counted by operation and outcome.

pub mod convert;
pub mod error;
pub mod limiter;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_partnercentralselling::Client;
use aws_sdk_partnercentralselling::config::http::HttpResponse;
use aws_sdk_partnercentralselling::error::SdkError;
use aws_sdk_partnercentralselling::types as sdk;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use time::OffsetDateTime;

use self::convert::{MissingMember, body_to_sdk, from_datetime, to_datetime};
use self::error::{OperationError, classify};
pub use self::limiter::WriteLimiter;
use crate::ace::mapping::Submission;
use crate::ace::opportunity::{
    AceOpportunity, Catalog, LifeCycle, Opportunity, ReviewStatus, stage,
};
use crate::ace::update::{self, Editability};
use crate::config::AceSettings;
use crate::domain::ids::{AceOpportunityId, ClientToken, TokenPurpose};
use crate::ports::partner_central::{
    AceError, AwsSummary, AwsTeamMember, Closing, CreateRequest, Created, EngagementTask,
    FieldError, FindHint, Invitation, InvitationSummary, OpportunitySummary, PartnerCentral,
    UpdateOutcome,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

/// ACE call counters.
#[derive(Debug, Clone, Default)]
pub struct PartnerCentralMetrics {
    calls: Family<CallLabels, Counter>,
    throttles: Family<OperationLabels, Counter>,
    deferred: Counter,
}

impl PartnerCentralMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "ace_calls",
            "Partner Central API call attempts by operation and outcome (ok, validation, not_found, access_denied, conflict, throttled, quota, unavailable, unexpected)",
            metrics.calls.clone(),
        );
        registry.register(
            "ace_throttles",
            "ThrottlingException answers from Partner Central, by operation (each one slows every write of the process)",
            metrics.throttles.clone(),
        );
        registry.register(
            "ace_updates_deferred",
            "Updates not sent because AWS was reviewing the opportunity (Submitted / In review)",
            metrics.deferred.clone(),
        );
        metrics
    }

    fn call(&self, operation: &'static str, outcome: &'static str) {
        self.calls
            .get_or_create(&CallLabels { operation, outcome })
            .inc();
    }
}

fn outcome(result: &Result<impl Sized, AceError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(AceError::Validation { .. }) => "validation",
        Err(AceError::NotFound { .. }) => "not_found",
        Err(AceError::AccessDenied { .. }) => "access_denied",
        Err(AceError::Conflict { .. }) => "conflict",
        Err(AceError::Throttled { .. }) => "throttled",
        Err(AceError::QuotaExceeded { .. }) => "quota",
        Err(AceError::Unavailable { .. }) => "unavailable",
        Err(AceError::Unexpected { .. } | AceError::Incomplete { .. }) => "unexpected",
    }
}

/// Whether a call spends the write quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

/// An SDK client from the default AWS credential chain, with the configured region, call
/// timeout and (for the simulator) endpoint.
pub async fn sdk_client(settings: &AceSettings) -> Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(settings.region.clone()))
        .load()
        .await;
    Client::from_conf(sdk_config(settings, &shared).build())
}

/// The service configuration over a shared AWS configuration (credentials, region): timeouts
/// from the settings, the endpoint override, and no SDK retries — the adapter retries itself,
/// so that every attempt of a write waits for the write limiter.
pub fn sdk_config(
    settings: &AceSettings,
    shared: &aws_config::SdkConfig,
) -> aws_sdk_partnercentralselling::config::Builder {
    use aws_sdk_partnercentralselling::config::retry::RetryConfig;
    use aws_sdk_partnercentralselling::config::timeout::TimeoutConfig;
    let mut config = aws_sdk_partnercentralselling::config::Builder::from(shared)
        .region(aws_sdk_partnercentralselling::config::Region::new(
            settings.region.clone(),
        ))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(settings.call_timeout.min(Duration::from_secs(5)))
                .operation_attempt_timeout(settings.call_timeout)
                .build(),
        )
        .retry_config(RetryConfig::disabled());
    if let Some(endpoint) = &settings.endpoint_url {
        config = config.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    config
}

/// How calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
}

impl RetryPolicy {
    /// Exponential with jitter: between half and all of `base · 2^(attempt-1)`, at most 20 s.
    fn delay(&self, attempt: u32) -> Duration {
        let full = self
            .base_delay
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(Duration::from_secs(20));
        let half = full / 2;
        half + full.mul_f64(fastrand::f64() * 0.5)
    }
}

/// The Partner Central client. Cheap to clone; clones share the SDK client, the write
/// limiter and the metrics.
#[derive(Clone)]
pub struct PartnerCentralClient {
    client: Client,
    catalog: Catalog,
    limiter: Arc<WriteLimiter>,
    metrics: PartnerCentralMetrics,
    retry: RetryPolicy,
    find_max_pages: u32,
}

impl std::fmt::Debug for PartnerCentralClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerCentralClient")
            .field("catalog", &self.catalog)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

/// The write limiter for these settings; build one per process and share it.
pub fn write_limiter(settings: &AceSettings) -> Arc<WriteLimiter> {
    Arc::new(WriteLimiter::new(
        settings.writes_per_second,
        settings.write_burst,
    ))
}

impl PartnerCentralClient {
    pub fn new(
        client: Client,
        settings: &AceSettings,
        limiter: Arc<WriteLimiter>,
        metrics: PartnerCentralMetrics,
    ) -> Self {
        Self {
            client,
            catalog: settings.catalog,
            limiter,
            metrics,
            retry: RetryPolicy {
                max_attempts: settings.max_attempts.max(1),
                base_delay: settings.retry_base_delay,
            },
            find_max_pages: settings.find_max_pages.max(1),
        }
    }

    pub fn catalog(&self) -> Catalog {
        self.catalog
    }

    /// One logical call: waits for the write limiter (writes), retries throttling and
    /// transient failures with back-off, counts every attempt.
    async fn call<T, E, F, Fut>(
        &self,
        operation: &'static str,
        kind: Kind,
        attempt_once: F,
    ) -> Result<T, AceError>
    where
        E: OperationError,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let mut attempt = 1;
        loop {
            if kind == Kind::Write {
                self.limiter.acquire().await;
            }
            let result = attempt_once().await.map_err(|e| classify(operation, e));
            self.metrics.call(operation, outcome(&result));
            let err = match result {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let throttled = matches!(err, AceError::Throttled { .. });
            if throttled {
                self.metrics
                    .throttles
                    .get_or_create(&OperationLabels { operation })
                    .inc();
            }
            let retryable = matches!(
                err,
                AceError::Throttled { .. } | AceError::Unavailable { .. }
            );
            if !retryable || attempt >= self.retry.max_attempts {
                return Err(err);
            }
            let delay = self.retry.delay(attempt);
            tracing::warn!(
                operation,
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %crate::telemetry::error_chain(&err),
                "Partner Central call failed; retrying"
            );
            if throttled {
                // The quota is the account's: every task of the process waits, not just this one.
                self.limiter.back_off(tokio::time::Instant::now(), delay);
            } else {
                tokio::time::sleep(delay).await;
            }
            attempt += 1;
        }
    }

    fn invalid_request(operation: &'static str, missing: MissingMember) -> AceError {
        AceError::Validation {
            operation,
            reason: "REQUEST_VALIDATION_FAILED".to_owned(),
            message: format!(
                "the request was not sent: {} (checked before sending)",
                missing
            ),
            errors: vec![FieldError {
                field_name: Some(missing.field.to_owned()),
                message: missing.to_string(),
                code: "REQUIRED_FIELD_MISSING".to_owned(),
            }],
        }
    }

    fn parse_id(operation: &'static str, raw: &str) -> Result<AceOpportunityId, AceError> {
        AceOpportunityId::parse(raw).map_err(|e| AceError::Unexpected {
            operation,
            what: e.to_string(),
        })
    }

    async fn create_opportunity(
        &self,
        body: &Opportunity,
        token: &ClientToken,
    ) -> Result<(AceOpportunityId, Option<OffsetDateTime>), AceError> {
        const OP: &str = "CreateOpportunity";
        let b = body_to_sdk(body).map_err(|m| Self::invalid_request(OP, m))?;
        let request = self
            .client
            .create_opportunity()
            .catalog(self.catalog.as_str())
            .client_token(token.as_str())
            // "For Catalog AWS must be Partner Referral" (ace-api.md §3).
            .origin(sdk::OpportunityOrigin::PartnerReferral)
            .set_primary_needs_from_aws(b.primary_needs_from_aws)
            .set_national_security(b.national_security)
            .set_partner_opportunity_identifier(b.partner_opportunity_identifier)
            .set_customer(b.customer)
            .set_project(b.project)
            .set_opportunity_type(b.opportunity_type)
            .set_marketing(b.marketing)
            .set_software_revenue(b.software_revenue)
            .set_life_cycle(b.life_cycle);
        let out = self
            .call(OP, Kind::Write, || request.clone().send())
            .await?;
        let id = Self::parse_id(OP, out.id())?;
        Ok((id, out.last_modified_date().and_then(from_datetime)))
    }

    async fn send_update(
        &self,
        id: &AceOpportunityId,
        body: &Opportunity,
        last_modified_date: OffsetDateTime,
    ) -> Result<OffsetDateTime, AceError> {
        const OP: &str = "UpdateOpportunity";
        let b = body_to_sdk(body).map_err(|m| Self::invalid_request(OP, m))?;
        let request = self
            .client
            .update_opportunity()
            .catalog(self.catalog.as_str())
            .identifier(id.as_str())
            .last_modified_date(to_datetime(last_modified_date))
            .set_primary_needs_from_aws(b.primary_needs_from_aws)
            .set_national_security(b.national_security)
            .set_partner_opportunity_identifier(b.partner_opportunity_identifier)
            .set_customer(b.customer)
            .set_project(b.project)
            .set_opportunity_type(b.opportunity_type)
            .set_marketing(b.marketing)
            .set_software_revenue(b.software_revenue)
            .set_life_cycle(b.life_cycle);
        let out = self
            .call(OP, Kind::Write, || request.clone().send())
            .await?;
        from_datetime(out.last_modified_date()).ok_or(AceError::Unexpected {
            operation: OP,
            what: "LastModifiedDate out of range".to_owned(),
        })
    }

    /// AssociateOpportunity for one related entity.
    pub async fn associate(
        &self,
        id: &AceOpportunityId,
        entity_type: sdk::RelatedEntityType,
        entity: &str,
    ) -> Result<(), AceError> {
        let request = self
            .client
            .associate_opportunity()
            .catalog(self.catalog.as_str())
            .opportunity_identifier(id.as_str())
            .related_entity_type(entity_type)
            .related_entity_identifier(entity);
        self.call("AssociateOpportunity", Kind::Write, || {
            request.clone().send()
        })
        .await?;
        Ok(())
    }

    fn submission_to_sdk(
        operation: &'static str,
        submission: &Submission,
    ) -> Result<sdk::AwsSubmission, AceError> {
        sdk::AwsSubmission::builder()
            .involvement_type(sdk::SalesInvolvementType::from(
                submission.involvement_type.as_str(),
            ))
            .visibility(sdk::Visibility::from(submission.visibility.as_str()))
            .build()
            .map_err(|e| AceError::Unexpected {
                operation,
                what: format!("AwsSubmission: {e}"),
            })
    }
}

fn task_from(
    task_id: Option<&str>,
    status: Option<&sdk::TaskStatus>,
    reason: Option<&sdk::ReasonCode>,
    message: Option<&str>,
    opportunity_id: Option<&str>,
    engagement_id: Option<&str>,
    invitation_id: Option<&str>,
) -> EngagementTask {
    EngagementTask {
        task_id: task_id.map(str::to_owned),
        status: status.map(|s| s.as_str().to_owned()),
        reason_code: reason.map(|r| r.as_str().to_owned()),
        message: message.map(str::to_owned),
        opportunity_id: opportunity_id.map(str::to_owned),
        engagement_id: engagement_id.map(str::to_owned),
        engagement_invitation_id: invitation_id.map(str::to_owned),
    }
}

fn incomplete(id: &AceOpportunityId, step: &'static str) -> impl FnOnce(AceError) -> AceError {
    let id = id.clone();
    move |source| AceError::Incomplete {
        id,
        step,
        source: Box::new(source),
    }
}

#[async_trait]
impl PartnerCentral for PartnerCentralClient {
    async fn find_by_partner_id(
        &self,
        partner_id: &str,
        hint: &FindHint,
    ) -> Result<Option<OpportunitySummary>, AceError> {
        const OP: &str = "ListOpportunities";
        let mut next_token: Option<String> = None;
        for page in 1..=self.find_max_pages {
            let mut request = self
                .client
                .list_opportunities()
                .catalog(self.catalog.as_str())
                .max_results(100)
                .set_next_token(next_token.clone());
            if let Some(name) = &hint.customer_company_name {
                request = request.customer_company_name(name);
            }
            if let Some(after) = hint.modified_after {
                request = request.last_modified_date(
                    sdk::LastModifiedDate::builder()
                        .after_last_modified_date(to_datetime(after))
                        .build(),
                );
            }
            let out = self.call(OP, Kind::Read, || request.clone().send()).await?;
            for summary in out.opportunity_summaries() {
                if summary.partner_opportunity_identifier() != Some(partner_id) {
                    continue;
                }
                let Some(raw_id) = summary.id() else { continue };
                let life_cycle = summary.life_cycle();
                return Ok(Some(OpportunitySummary {
                    id: Self::parse_id(OP, raw_id)?,
                    partner_opportunity_identifier: Some(partner_id.to_owned()),
                    last_modified_date: summary.last_modified_date().and_then(from_datetime),
                    stage: life_cycle
                        .and_then(|l| l.stage())
                        .map(|s| s.as_str().to_owned()),
                    review_status: life_cycle
                        .and_then(|l| l.review_status())
                        .map(|r| ReviewStatus::parse(r.as_str())),
                    company_name: summary
                        .customer()
                        .and_then(|c| c.account())
                        .map(|a| a.company_name().to_owned()),
                }));
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(None),
            }
            if page == self.find_max_pages {
                tracing::warn!(
                    partner_id,
                    pages = page,
                    "ListOpportunities still had pages after ace.find_max_pages; the opportunity was not found in them"
                );
            }
        }
        Ok(None)
    }

    async fn create(&self, request: &CreateRequest) -> Result<Created, AceError> {
        let origin = &request.origin;
        let token = ClientToken::derive(
            &origin.org,
            &origin.record,
            TokenPurpose::CreateOpportunity,
            origin.generation,
        );
        let (id, mut last_modified_date, existed) =
            match self.create_opportunity(&request.body, &token).await {
                Ok((id, last_modified)) => (id, last_modified, false),
                // The same token with another body ("Conflicting client token submitted for a
                // new request body", ace-api.md §6): we created it before, with older data.
                Err(conflict @ AceError::Conflict { .. }) => {
                    let partner_id = request
                        .body
                        .partner_opportunity_identifier
                        .clone()
                        .unwrap_or_else(|| origin.record.to_string());
                    let hint = FindHint {
                        customer_company_name: request
                            .body
                            .customer
                            .as_ref()
                            .and_then(|c| c.account.as_ref())
                            .and_then(|a| a.company_name.clone()),
                        modified_after: None,
                    };
                    match self.find_by_partner_id(&partner_id, &hint).await? {
                        Some(found) => (found.id, found.last_modified_date, true),
                        None => return Err(conflict),
                    }
                }
                Err(e) => return Err(e),
            };

        // Resume at the first step not done: what is associated, whether it was submitted.
        let current = self
            .get(&id)
            .await
            .map_err(incomplete(&id, "GetOpportunity"))?;
        last_modified_date = Some(current.last_modified_date).or(last_modified_date);
        let mut associated = Vec::new();
        for solution in &request.solutions {
            if current.related.solutions.contains(solution) {
                continue;
            }
            self.associate(&id, sdk::RelatedEntityType::Solutions, solution)
                .await
                .map_err(incomplete(&id, "AssociateOpportunity"))?;
            associated.push(solution.clone());
        }
        for product in &request.aws_products {
            if current.related.aws_products.contains(product) {
                continue;
            }
            self.associate(&id, sdk::RelatedEntityType::AwsProducts, product)
                .await
                .map_err(incomplete(&id, "AssociateOpportunity"))?;
            associated.push(product.clone());
        }
        let not_yet_submitted = matches!(
            current.body.review_status(),
            None | Some(ReviewStatus::PendingSubmission)
        );
        let submission = match &request.submission {
            Some(submission) if not_yet_submitted => {
                // Keyed to the opportunity and its LastModifiedDate: a retry of this submission
                // replays the same task, while a submission after the opportunity changed (a rep
                // fixed what a failed task reported) is a new one.
                let token = ClientToken::derive_versioned(
                    &origin.org,
                    &origin.record,
                    TokenPurpose::StartEngagementFromOpportunity,
                    origin.generation,
                    &format!("{id}@{}", current.last_modified_date.unix_timestamp_nanos()),
                );
                let task = self
                    .submit(&id, submission, &token)
                    .await
                    .map_err(incomplete(&id, "StartEngagementFromOpportunityTask"))?;
                Some(task)
            }
            _ => None,
        };
        tracing::info!(
            ace_opportunity = %id,
            salesforce_opportunity = %origin.record,
            existed,
            associated = associated.len(),
            submitted = submission.is_some(),
            "opportunity created in ACE"
        );
        Ok(Created {
            id,
            last_modified_date: last_modified_date.unwrap_or(current.last_modified_date),
            existed,
            associated,
            submission,
        })
    }

    async fn get(&self, id: &AceOpportunityId) -> Result<AceOpportunity, AceError> {
        const OP: &str = "GetOpportunity";
        let request = self
            .client
            .get_opportunity()
            .catalog(self.catalog.as_str())
            .identifier(id.as_str());
        let out = self.call(OP, Kind::Read, || request.clone().send()).await?;
        let out_of_range = |what: &str| AceError::Unexpected {
            operation: OP,
            what: format!("{what} out of range"),
        };
        Ok(AceOpportunity {
            id: Self::parse_id(OP, out.id())?,
            arn: out.arn().map(str::to_owned),
            created_date: from_datetime(out.created_date())
                .ok_or_else(|| out_of_range("CreatedDate"))?,
            last_modified_date: from_datetime(out.last_modified_date())
                .ok_or_else(|| out_of_range("LastModifiedDate"))?,
            related: convert::related_from_sdk(out.related_entity_identifiers()),
            opportunity_team: out
                .opportunity_team()
                .iter()
                .map(convert::contact_from_sdk)
                .collect(),
            body: convert::body_from_get(&out),
        })
    }

    async fn update(
        &self,
        id: &AceOpportunityId,
        desired: &Opportunity,
    ) -> Result<UpdateOutcome, AceError> {
        // A stale LastModifiedDate answers ConflictException: fetch again and retry, once.
        let mut conflict = None;
        for _ in 0..2 {
            let current = self.get(id).await?;
            let review_status = current.body.review_status();
            let editable = update::editability(review_status.as_ref(), current.body.stage());
            match editable {
                Editability::Deferred => {
                    self.metrics.deferred.inc();
                    let review_status = review_status.unwrap_or(ReviewStatus::Submitted);
                    tracing::info!(opportunity = %id, %review_status, "update deferred: AWS is reviewing the opportunity");
                    return Ok(UpdateOutcome::Deferred { review_status });
                }
                Editability::Closed => {
                    return Ok(UpdateOutcome::Closed {
                        review_status,
                        stage: current.body.stage().map(str::to_owned),
                    });
                }
                _ => {}
            }
            let merge = update::merge(&current.body, desired, &editable);
            if merge.changed.is_empty() {
                return Ok(UpdateOutcome::Unchanged {
                    withheld: merge.withheld,
                });
            }
            match self
                .send_update(id, &merge.payload, current.last_modified_date)
                .await
            {
                Ok(last_modified_date) => {
                    tracing::info!(
                        ace_opportunity = %id,
                        changed = ?merge.changed,
                        withheld = ?merge.withheld,
                        "opportunity updated in ACE"
                    );
                    return Ok(UpdateOutcome::Updated {
                        last_modified_date,
                        changed: merge.changed,
                        withheld: merge.withheld,
                    });
                }
                Err(e @ AceError::Conflict { .. }) => {
                    tracing::info!(ace_opportunity = %id, "stale LastModifiedDate; fetching again");
                    conflict = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(conflict.unwrap_or(AceError::Conflict {
            operation: "UpdateOpportunity",
            message: "the opportunity kept changing while we updated it".to_owned(),
        }))
    }

    async fn submit(
        &self,
        id: &AceOpportunityId,
        submission: &Submission,
        token: &ClientToken,
    ) -> Result<EngagementTask, AceError> {
        let request = self
            .client
            .start_engagement_from_opportunity_task()
            .catalog(self.catalog.as_str())
            .client_token(token.as_str())
            .identifier(id.as_str())
            .aws_submission(Self::submission_to_sdk(
                "StartEngagementFromOpportunityTask",
                submission,
            )?);
        let out = self
            .call("StartEngagementFromOpportunityTask", Kind::Write, || {
                request.clone().send()
            })
            .await?;
        let task = task_from(
            out.task_id(),
            out.task_status(),
            out.reason_code(),
            out.message(),
            out.opportunity_id(),
            out.engagement_id(),
            out.engagement_invitation_id(),
        );
        // A task that ends FAILED is an answer, not an API error (ace-api.md §7); for the sync
        // it is a refused submission, with AWS's reason.
        if task.failed() {
            return Err(AceError::Validation {
                operation: "StartEngagementFromOpportunityTask",
                reason: task
                    .reason_code
                    .clone()
                    .unwrap_or_else(|| "OpportunitySubmissionFailed".to_owned()),
                message: task.message.clone().unwrap_or_default(),
                errors: Vec::new(),
            });
        }
        Ok(task)
    }

    async fn resubmit(
        &self,
        id: &AceOpportunityId,
        submission: &Submission,
    ) -> Result<(), AceError> {
        let request = self
            .client
            .submit_opportunity()
            .catalog(self.catalog.as_str())
            .identifier(id.as_str())
            .involvement_type(sdk::SalesInvolvementType::from(
                submission.involvement_type.as_str(),
            ))
            .visibility(sdk::Visibility::from(submission.visibility.as_str()));
        self.call("SubmitOpportunity", Kind::Write, || request.clone().send())
            .await?;
        Ok(())
    }

    async fn close(
        &self,
        id: &AceOpportunityId,
        closing: &Closing,
    ) -> Result<UpdateOutcome, AceError> {
        let life_cycle = match closing {
            Closing::Won => LifeCycle {
                stage: Some(stage::LAUNCHED.to_owned()),
                ..Default::default()
            },
            Closing::Lost { reason } => LifeCycle {
                stage: Some(stage::CLOSED_LOST.to_owned()),
                closed_lost_reason: Some(reason.clone()),
                ..Default::default()
            },
        };
        let desired = Opportunity {
            life_cycle: Some(life_cycle),
            ..Default::default()
        };
        self.update(id, &desired).await
    }

    async fn aws_summary(&self, id: &AceOpportunityId) -> Result<AwsSummary, AceError> {
        let request = self
            .client
            .get_aws_opportunity_summary()
            .catalog(self.catalog.as_str())
            .related_opportunity_identifier(id.as_str());
        let out = self
            .call("GetAwsOpportunitySummary", Kind::Read, || {
                request.clone().send()
            })
            .await?;
        let life_cycle = out.life_cycle();
        let insights = out.insights();
        Ok(AwsSummary {
            involvement_type: out.involvement_type().map(|i| i.as_str().to_owned()),
            involvement_type_change_reason: out
                .involvement_type_change_reason()
                .map(|r| r.as_str().to_owned()),
            visibility: out.visibility().map(|v| v.as_str().to_owned()),
            stage: life_cycle
                .and_then(|l| l.stage())
                .map(|s| s.as_str().to_owned()),
            closed_lost_reason: life_cycle
                .and_then(|l| l.closed_lost_reason())
                .map(|r| r.as_str().to_owned()),
            next_steps: life_cycle.and_then(|l| l.next_steps()).map(str::to_owned),
            target_close_date: life_cycle
                .and_then(|l| l.target_close_date())
                .map(str::to_owned),
            team: out
                .opportunity_team()
                .iter()
                .map(|m| AwsTeamMember {
                    email: m.email().map(str::to_owned),
                    first_name: m.first_name().map(str::to_owned),
                    last_name: m.last_name().map(str::to_owned),
                    business_title: m.business_title().map(|t| t.as_str().to_owned()),
                })
                .collect(),
            engagement_score: insights
                .and_then(|i| i.engagement_score())
                .map(|s| s.as_str().to_owned()),
            next_best_actions: insights
                .and_then(|i| i.next_best_actions())
                .map(str::to_owned),
        })
    }

    async fn list_invitations(
        &self,
        statuses: &[&str],
    ) -> Result<Vec<InvitationSummary>, AceError> {
        let mut out_list = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..self.find_max_pages {
            let request = self
                .client
                .list_engagement_invitations()
                .catalog(self.catalog.as_str())
                .participant_type(sdk::ParticipantType::Receiver)
                .max_results(100)
                .set_status((!statuses.is_empty()).then(|| {
                    statuses
                        .iter()
                        .map(|s| sdk::InvitationStatus::from(*s))
                        .collect()
                }))
                .set_next_token(next_token.clone());
            let out = self
                .call("ListEngagementInvitations", Kind::Read, || {
                    request.clone().send()
                })
                .await?;
            out_list.extend(out.engagement_invitation_summaries().iter().map(|s| {
                InvitationSummary {
                    id: s.id().to_owned(),
                    arn: s.arn().map(str::to_owned),
                    status: s.status().map(|v| v.as_str().to_owned()),
                    payload_type: s.payload_type().map(|p| p.as_str().to_owned()),
                    engagement_title: s.engagement_title().map(str::to_owned),
                    sender_company_name: s.sender_company_name().map(str::to_owned),
                    invitation_date: s.invitation_date().and_then(from_datetime),
                    expiration_date: s.expiration_date().and_then(from_datetime),
                }
            }));
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(out_list)
    }

    async fn get_invitation(&self, id: &str) -> Result<Invitation, AceError> {
        let request = self
            .client
            .get_engagement_invitation()
            .catalog(self.catalog.as_str())
            .identifier(id);
        let out = self
            .call("GetEngagementInvitation", Kind::Read, || {
                request.clone().send()
            })
            .await?;
        let payload = out
            .payload()
            .and_then(|p| p.as_opportunity_invitation().ok());
        let customer = payload.and_then(|p| p.customer());
        let project = payload.and_then(|p| p.project());
        Ok(Invitation {
            summary: InvitationSummary {
                id: out.id().to_owned(),
                arn: out.arn().map(str::to_owned),
                status: out.status().map(|s| s.as_str().to_owned()),
                payload_type: out.payload_type().map(|p| p.as_str().to_owned()),
                engagement_title: out.engagement_title().map(str::to_owned),
                sender_company_name: out.sender_company_name().map(str::to_owned),
                invitation_date: out.invitation_date().and_then(from_datetime),
                expiration_date: out.expiration_date().and_then(from_datetime),
            },
            invitation_message: out.invitation_message().map(str::to_owned),
            rejection_reason: out.rejection_reason().map(str::to_owned),
            customer_company_name: customer.map(|c| c.company_name().to_owned()),
            customer_industry: customer.map(|c| c.industry().as_str().to_owned()),
            customer_website_url: customer.map(|c| c.website_url().to_owned()),
            customer_country_code: customer.map(|c| c.country_code().as_str().to_owned()),
            project_title: project.map(|p| p.title().to_owned()),
            business_problem: project.map(|p| p.business_problem().to_owned()),
            target_completion_date: project.map(|p| p.target_completion_date().to_owned()),
        })
    }

    async fn accept_invitation(
        &self,
        id: &str,
        token: &ClientToken,
    ) -> Result<EngagementTask, AceError> {
        let request = self
            .client
            .start_engagement_by_accepting_invitation_task()
            .catalog(self.catalog.as_str())
            .client_token(token.as_str())
            .identifier(id);
        let out = self
            .call(
                "StartEngagementByAcceptingInvitationTask",
                Kind::Write,
                || request.clone().send(),
            )
            .await?;
        Ok(task_from(
            out.task_id(),
            out.task_status(),
            out.reason_code(),
            out.message(),
            out.opportunity_id(),
            None,
            out.engagement_invitation_id(),
        ))
    }

    async fn reject_invitation(&self, id: &str, reason: Option<&str>) -> Result<(), AceError> {
        let request = self
            .client
            .reject_engagement_invitation()
            .catalog(self.catalog.as_str())
            .identifier(id)
            .set_rejection_reason(reason.map(str::to_owned));
        self.call("RejectEngagementInvitation", Kind::Write, || {
            request.clone().send()
        })
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
        };
        for attempt in 1..=3 {
            let full = Duration::from_millis(200 << (attempt - 1));
            let delay = policy.delay(attempt);
            assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        }
        assert!(policy.delay(30) <= Duration::from_secs(20));
    }
}
