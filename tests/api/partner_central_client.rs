//! The Partner Central client — the real `aws-sdk-partnercentralselling` client inside the
//! adapter — against the Partner Central simulator: every operation the sync uses, every error
//! it can produce and how it is classified, idempotent creation, conflict handling, review
//! locks, and the write-rate limiter under a burst, observed from the simulator's side.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ace_sync::ace::mapping::{Mapping, Submission};
use ace_sync::ace::model::ServiceModel;
use ace_sync::ace::opportunity::{Catalog, Opportunity, ReviewStatus};
use ace_sync::ace::preflight;
use ace_sync::adapters::partner_central::{
    PartnerCentralClient, PartnerCentralMetrics, WriteLimiter, sdk_config, write_limiter,
};
use ace_sync::config::{AceSettings, Settings};
use ace_sync::domain::disposition::Classify;
use ace_sync::domain::ids::{
    AceOpportunityId, ClientToken, SfOpportunityId, SfOrgId, TokenPurpose,
};
use ace_sync::metrics::MetricsRegistry;
use ace_sync::ports::partner_central::{
    AceError, Closing, CreateRequest, FindHint, Origin, PartnerCentral, UpdateOutcome,
};
use ace_sync_sandbox::partner_central::{
    self as sim, Fault, InvitationSpec, QuotaConfig, RateQuota, ReviewDecision, SimConfig,
    SimHandle,
};
use aws_sdk_partnercentralselling::config::{
    ConfigBag, Credentials, Intercept, RuntimeComponents, SharedInterceptor,
    interceptors::BeforeSerializationInterceptorContextMut,
};
use aws_sdk_partnercentralselling::operation::update_opportunity::UpdateOpportunityInput;
use aws_sdk_partnercentralselling::primitives::DateTime;
use futures_util::future::join_all;
use time::OffsetDateTime;

use crate::ace_mapping::{good_record, text, with};

const ORG: &str = "00D5g00000ABCdeEAH";

/// A client for a running simulator, with its metrics.
struct Client {
    client: PartnerCentralClient,
    metrics: MetricsRegistry,
}

impl Client {
    /// The value of a counter family line, e.g. `ace_sync_ace_throttles_total{operation="X"}`.
    fn counter(&self, prefix: &str) -> u64 {
        self.metrics
            .encode()
            .lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}

fn ace_settings(sim: &SimHandle, extra: &str) -> AceSettings {
    Settings::from_toml_layers(&[
        &format!(
            "[ace]\nendpoint_url = \"{}\"\nwrites_per_second = 1000\nwrite_burst = 1000\nretry_base_delay = \"5ms\"\ncall_timeout = \"5s\"",
            sim.endpoint_url()
        ),
        &format!("[ace]\n{extra}"),
    ])
    .expect("test settings load")
    .ace
}

async fn client_with(
    settings: &AceSettings,
    limiter: Arc<WriteLimiter>,
    interceptor: Option<SharedInterceptor>,
) -> Client {
    // Static credentials for the local simulator; everything else as in production.
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await;
    let mut config = sdk_config(settings, &shared);
    if let Some(interceptor) = interceptor {
        config = config.interceptor(interceptor);
    }
    let sdk = aws_sdk_partnercentralselling::Client::from_conf(config.build());
    let mut registry = ace_sync::metrics::registry();
    let metrics = PartnerCentralMetrics::register(&mut registry);
    Client {
        client: PartnerCentralClient::new(sdk, settings, limiter, metrics),
        metrics: MetricsRegistry::new(registry),
    }
}

async fn client(sim: &SimHandle, extra: &str) -> Client {
    let settings = ace_settings(sim, extra);
    client_with(&settings, write_limiter(&settings), None).await
}

async fn start(config: SimConfig) -> SimHandle {
    sim::start(config).await.expect("simulator starts")
}

fn origin(record: &str, generation: u32) -> Origin {
    Origin {
        org: SfOrgId::parse(ORG).unwrap(),
        record: SfOpportunityId::parse(record).unwrap(),
        generation,
    }
}

/// The default mapping's request for `record`, checked by the pre-flight.
fn request_for(record: &ace_sync::domain::sobject::SObject, generation: u32) -> CreateRequest {
    let model = ServiceModel::load().unwrap();
    let ctx = preflight::Context {
        today: OffsetDateTime::now_utc().date(),
        catalog: Catalog::Sandbox,
    };
    let checked = preflight::check(record, &Mapping::default_mapping(), &model, &ctx)
        .unwrap_or_else(|r| panic!("the test record passes the pre-flight: {:#?}", r.findings));
    let request = checked.request;
    CreateRequest {
        origin: origin(record.id.as_str(), generation),
        body: request.body,
        solutions: request.solutions,
        aws_products: request.aws_products,
        submission: request.submission,
    }
}

fn id_of(record: &str) -> ace_sync::domain::sobject::SObject {
    let mut r = good_record();
    r.id = ace_sync::domain::ids::SfRecordId::parse(record).unwrap();
    r
}

fn sim_opportunity(sim: &SimHandle, id: &AceOpportunityId) -> serde_json::Value {
    sim.control().opportunity(id.as_str()).expect("stored")
}

#[tokio::test]
async fn create_associate_submit_read_update_and_close_against_the_simulator() {
    let sim = start(SimConfig::for_tests()).await;
    let Client { client, .. } = client(&sim, "").await;
    let request = request_for(&good_record(), 0);
    assert!(request.submission.is_some());

    // Create → Associate (solution, products) → StartEngagementFromOpportunityTask.
    let created = client.create(&request).await.expect("created");
    assert!(!created.existed);
    assert_eq!(
        created.associated,
        ["S-1234567", "AmazonTextract", "AmazonS3"]
    );
    let task = created.submission.expect("submitted");
    assert_eq!(task.status.as_deref(), Some("COMPLETE"));
    assert!(task.engagement_id.is_some());
    let control = sim.control();
    assert_eq!(control.call_count("CreateOpportunity"), 1);
    assert_eq!(control.call_count("AssociateOpportunity"), 3);
    assert_eq!(control.call_count("StartEngagementFromOpportunityTask"), 1);

    // Get: the review status, the associations and our body as ACE holds them.
    let got = client.get(&created.id).await.expect("get");
    assert_eq!(got.body.review_status(), Some(ReviewStatus::Submitted));
    assert_eq!(got.related.solutions, ["S-1234567"]);
    assert_eq!(got.related.aws_products, ["AmazonTextract", "AmazonS3"]);
    assert_eq!(
        got.body.partner_opportunity_identifier.as_deref(),
        Some("0065g00000QrStUAAV")
    );
    assert!(got.last_modified_date >= got.created_date);

    // Find by the Salesforce id: ListOpportunities has no such filter, so it pages and matches.
    let hint = FindHint {
        customer_company_name: Some("Acme Insurance".into()),
        modified_after: None,
    };
    let found = client
        .find_by_partner_id("0065g00000QrStUAAV", &hint)
        .await
        .expect("list")
        .expect("found");
    assert_eq!(found.id, created.id);
    assert_eq!(found.review_status, Some(ReviewStatus::Submitted));
    assert_eq!(
        client
            .find_by_partner_id("0065g00000ZZZZZAAA", &FindHint::default())
            .await
            .expect("list"),
        None
    );

    // AWS approves; its side of the opportunity becomes readable.
    let steps = control.complete_reviews();
    assert_eq!(
        steps.last().map(|s| s.to.as_str()),
        Some("Approved"),
        "{steps:?}"
    );
    let summary = client.aws_summary(&created.id).await.expect("summary");
    assert_eq!(summary.involvement_type.as_deref(), Some("Co-Sell"));
    assert!(
        !summary.team.is_empty(),
        "an approved opportunity has an AWS team"
    );

    // Update after approval: the stage moves, the locked title is withheld, not sent.
    let mut desired = request.body.clone();
    desired.life_cycle.as_mut().unwrap().stage = Some("Committed".into());
    desired.project.as_mut().unwrap().title = Some("Renamed after approval".into());
    let outcome = client.update(&created.id, &desired).await.expect("update");
    let UpdateOutcome::Updated {
        changed,
        withheld,
        last_modified_date,
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(changed, ["LifeCycle.Stage"]);
    assert_eq!(withheld, ["Project.Title"]);
    let stored = sim_opportunity(&sim, &created.id);
    assert_eq!(stored["LifeCycle"]["Stage"], "Committed");
    assert_eq!(stored["Project"]["Title"], "Acme - Claims data platform");
    assert_eq!(
        client.get(&created.id).await.unwrap().last_modified_date,
        last_modified_date
    );

    // The same desired state again: nothing to send.
    let updates = control.call_count("UpdateOpportunity");
    let outcome = client.update(&created.id, &desired).await.expect("update");
    assert_eq!(
        outcome,
        UpdateOutcome::Unchanged {
            withheld: vec!["Project.Title".into()]
        }
    );
    assert_eq!(
        control.call_count("UpdateOpportunity"),
        updates,
        "no call when ACE agrees"
    );

    // Closed Won → Launched; afterwards only the few post-launch fields would be sent.
    let outcome = client
        .close(&created.id, &Closing::Won)
        .await
        .expect("close");
    assert!(
        matches!(outcome, UpdateOutcome::Updated { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        sim_opportunity(&sim, &created.id)["LifeCycle"]["Stage"],
        "Launched"
    );
    desired.life_cycle.as_mut().unwrap().next_steps = Some("Quarterly business review".into());
    let outcome = client.update(&created.id, &desired).await.expect("update");
    let UpdateOutcome::Unchanged { withheld } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        withheld.contains(&"LifeCycle.NextSteps".to_owned()),
        "{withheld:?}"
    );
    assert!(
        control.output_violations().is_empty(),
        "{:?}",
        control.output_violations()
    );
    sim.stop().await;
}

#[tokio::test]
async fn updates_are_deferred_while_aws_reviews_and_restricted_in_action_required() {
    let sim = start(SimConfig::for_tests()).await;
    let Client { client, metrics } = client(&sim, "").await;
    let control = sim.control();
    let request = request_for(&good_record(), 0);
    let created = client.create(&request).await.expect("created");
    let mut desired = request.body.clone();
    desired.life_cycle.as_mut().unwrap().next_steps = Some("Follow-up call".into());

    // Submitted, then In review: no UpdateOpportunity is even sent.
    let outcome = client.update(&created.id, &desired).await.expect("update");
    assert_eq!(
        outcome,
        UpdateOutcome::Deferred {
            review_status: ReviewStatus::Submitted
        }
    );
    control.advance_reviews();
    assert_eq!(
        control.review_status(created.id.as_str()).as_deref(),
        Some("In review")
    );
    let outcome = client.update(&created.id, &desired).await.expect("update");
    assert_eq!(
        outcome,
        UpdateOutcome::Deferred {
            review_status: ReviewStatus::InReview
        }
    );
    assert_eq!(control.call_count("UpdateOpportunity"), 0);
    let deferred = metrics.encode();
    assert!(
        deferred.contains("ace_sync_ace_updates_deferred_total 2"),
        "{deferred}"
    );

    // AWS asks for action: only the whitelisted fields go out (ace-api.md §8).
    control.decide_review(
        created.id.as_str(),
        ReviewDecision::ActionRequired {
            reason: "Clarify Revenue".into(),
            comments: "Please confirm the postal code.".into(),
        },
    );
    let got = client.get(&created.id).await.unwrap();
    assert_eq!(got.body.review_status(), Some(ReviewStatus::ActionRequired));
    assert_eq!(
        got.body
            .life_cycle
            .as_ref()
            .unwrap()
            .review_comments
            .as_deref(),
        Some("Please confirm the postal code.")
    );
    let mut fix = desired.clone();
    fix.customer
        .as_mut()
        .unwrap()
        .account
        .as_mut()
        .unwrap()
        .address
        .as_mut()
        .unwrap()
        .postal_code = Some("98121".into());
    let outcome = client.update(&created.id, &fix).await.expect("update");
    let UpdateOutcome::Updated {
        changed, withheld, ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(changed, ["Customer.Account.Address.PostalCode"]);
    assert_eq!(withheld, ["LifeCycle.NextSteps"]);
    // The update re-enters validation.
    assert_eq!(
        control.review_status(created.id.as_str()).as_deref(),
        Some("Submitted")
    );

    // Rejected: read-only for good.
    control.decide_review(
        created.id.as_str(),
        ReviewDecision::Reject {
            reason: "Other".into(),
            comments: "Duplicate".into(),
        },
    );
    let outcome = client.update(&created.id, &desired).await.expect("update");
    assert_eq!(
        outcome,
        UpdateOutcome::Closed {
            review_status: Some(ReviewStatus::Rejected),
            stage: Some("Qualified".into())
        }
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_replayed_client_token_never_creates_a_second_opportunity() {
    let sim = start(SimConfig::for_tests()).await;
    let Client { client, .. } = client(&sim, "").await;
    let control = sim.control();
    // Not submitted, so that the replays below can also resume the later steps.
    let mut request = request_for(&good_record(), 0);
    request.submission = None;

    // A worker that crashed after CreateOpportunity retries with the same derived token.
    let first = client.create(&request).await.expect("first");
    let again = client.create(&request).await.expect("replay");
    assert_eq!(again.id, first.id);
    assert!(!again.existed);
    assert!(
        again.associated.is_empty(),
        "associations already made are not repeated"
    );
    assert_eq!(control.call_count("CreateOpportunity"), 2);
    assert_eq!(control.opportunities().len(), 1);

    // The rep edited the record before the retry: same token, another body. ACE answers
    // Conflict; the client finds the opportunity by its Salesforce id instead.
    let edited = request_for(
        &with(
            good_record(),
            &[("NextStep", Some(text("Pricing call on Tuesday")))],
        ),
        0,
    );
    let edited = CreateRequest {
        submission: None,
        ..edited
    };
    let found = client.create(&edited).await.expect("found after conflict");
    assert_eq!(found.id, first.id);
    assert!(found.existed, "the caller updates it next");
    assert_eq!(control.opportunities().len(), 1);

    // A new generation is a deliberate second opportunity (e.g. after a rejection).
    let second = client
        .create(&CreateRequest {
            origin: origin("0065g00000QrStUAAV", 1),
            ..request.clone()
        })
        .await
        .expect("generation 1");
    assert_ne!(second.id, first.id);
    assert_eq!(control.opportunities().len(), 2);

    // Two records, two opportunities.
    let other = request_for(&id_of("0065g00000QrStVAAV"), 0);
    let other = client
        .create(&CreateRequest {
            submission: None,
            ..other
        })
        .await
        .unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(control.opportunities().len(), 3);
    sim.stop().await;
}

/// Sends the first `remaining` UpdateOpportunity calls with a stale LastModifiedDate, as if
/// someone changed the opportunity between our GetOpportunity and our UpdateOpportunity.
#[derive(Debug)]
struct StaleUpdates {
    remaining: AtomicU32,
}

impl Intercept for StaleUpdates {
    fn name(&self) -> &'static str {
        "StaleUpdates"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(input) = context.input_mut().downcast_mut::<UpdateOpportunityInput>() {
            let take = self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if take {
                input.last_modified_date = Some(DateTime::from_secs(1_700_000_000));
            }
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_stale_update_is_refetched_and_retried_once() {
    let sim = start(SimConfig::for_tests()).await;
    let settings = ace_settings(&sim, "");
    let stale = Arc::new(StaleUpdates {
        remaining: AtomicU32::new(0),
    });
    let Client { client, .. } = client_with(
        &settings,
        write_limiter(&settings),
        Some(SharedInterceptor::new(ArcIntercept(stale.clone()))),
    )
    .await;
    let control = sim.control();
    let mut request = request_for(&good_record(), 0);
    request.submission = None;
    let created = client.create(&request).await.unwrap();
    let mut desired = request.body.clone();

    // One conflict: refetched, merged again and sent again.
    stale.remaining.store(1, Ordering::SeqCst);
    desired.life_cycle.as_mut().unwrap().next_steps = Some("First change".into());
    let gets = control.call_count("GetOpportunity");
    let outcome = client.update(&created.id, &desired).await.expect("retried");
    assert!(
        matches!(outcome, UpdateOutcome::Updated { .. }),
        "{outcome:?}"
    );
    assert_eq!(control.call_count("UpdateOpportunity"), 2);
    assert_eq!(control.call_count("GetOpportunity"), gets + 2);
    assert_eq!(
        sim_opportunity(&sim, &created.id)["LifeCycle"]["NextSteps"],
        "First change"
    );

    // A conflict that persists is permanent.
    stale.remaining.store(2, Ordering::SeqCst);
    desired.life_cycle.as_mut().unwrap().next_steps = Some("Second change".into());
    let err = client.update(&created.id, &desired).await.unwrap_err();
    assert!(matches!(err, AceError::Conflict { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(control.call_count("UpdateOpportunity"), 4);
    sim.stop().await;
}

/// `SharedInterceptor::new` takes the interceptor by value; the test keeps a handle on it.
#[derive(Debug)]
struct ArcIntercept(Arc<StaleUpdates>);

impl Intercept for ArcIntercept {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0
            .modify_before_serialization(context, runtime_components, cfg)
    }
}

#[tokio::test]
async fn every_error_is_typed_and_classified() {
    let sim = start(SimConfig::for_tests()).await;
    let c = client(&sim, "max_attempts = 3").await;
    let client = &c.client;
    let control = sim.control();

    // Validation, with ACE's ErrorList kept typed: permanent.
    let bad = CreateRequest {
        origin: origin("0065g00000QrStUAAV", 0),
        body: Opportunity::from_json(serde_json::json!({"Project": {"Title": "Only a title"}}))
            .unwrap(),
        solutions: vec![],
        aws_products: vec![],
        submission: None,
    };
    let err = client.create(&bad).await.unwrap_err();
    let AceError::Validation { reason, errors, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(reason, "BUSINESS_VALIDATION_FAILED");
    assert!(
        errors
            .iter()
            .any(|e| e.field_name.as_deref() == Some("Customer.Account.CompanyName")),
        "{errors:?}"
    );
    assert!(!err.is_retryable());

    // Not found: permanent.
    let missing = AceOpportunityId::parse("O9999999").unwrap();
    let err = client.get(&missing).await.unwrap_err();
    assert!(matches!(err, AceError::NotFound { .. }), "{err:?}");
    assert!(!err.is_retryable());

    // Access denied: permanent.
    control.inject_fault("GetOpportunity", Fault::AccessDenied, 1);
    let err = client.get(&missing).await.unwrap_err();
    assert!(matches!(err, AceError::AccessDenied { .. }), "{err:?}");
    assert!(!err.is_retryable());

    // Throttling: retried with back-off inside the client; after the last attempt, retryable.
    let before = control.call_count("GetOpportunity");
    control.inject_fault("GetOpportunity", Fault::Throttling, 10);
    let err = client.get(&missing).await.unwrap_err();
    assert!(matches!(err, AceError::Throttled { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(
        control.call_count("GetOpportunity"),
        before + 3,
        "max_attempts = 3"
    );
    assert_eq!(c.counter("ace_sync_ace_throttles_total"), 3);
    control.clear_faults();

    // A transient throttle or 5xx is absorbed: the caller never sees it.
    let mut request = request_for(&good_record(), 0);
    request.submission = None;
    let creates = control.call_count("CreateOpportunity");
    control.inject_fault("CreateOpportunity", Fault::Throttling, 1);
    control.inject_fault("AssociateOpportunity", Fault::InternalServer, 2);
    let created = client.create(&request).await.expect("absorbed");
    assert_eq!(control.call_count("CreateOpportunity"), creates + 2);
    assert_eq!(control.opportunities().len(), 1);

    // 5xx that persists: Unavailable, retryable.
    control.inject_fault("GetOpportunity", Fault::InternalServer, 10);
    let err = client.get(&created.id).await.unwrap_err();
    assert!(matches!(err, AceError::Unavailable { .. }), "{err:?}");
    assert!(err.is_retryable());
    control.clear_faults();

    // A step after creation fails: the id is kept and the cause decides. Then a retry resumes
    // where it stopped.
    let other = request_for(&id_of("0065g00000QrStVAAV"), 0);
    control.inject_fault("AssociateOpportunity", Fault::AccessDenied, 1);
    let err = client.create(&other).await.unwrap_err();
    let AceError::Incomplete { id, step, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*step, "AssociateOpportunity");
    assert!(matches!(err.root(), AceError::AccessDenied { .. }));
    assert!(!err.is_retryable());
    let stopped_at = id.clone();
    let resumed = client.create(&other).await.expect("resumed");
    assert_eq!(resumed.id, stopped_at);
    assert_eq!(
        resumed.associated,
        ["S-1234567", "AmazonTextract", "AmazonS3"]
    );
    assert!(resumed.submission.is_some());

    // A quota exceeded on the submission: retryable, much later.
    let third = request_for(&id_of("0065g00000QrStWAAV"), 0);
    control.inject_fault(
        "StartEngagementFromOpportunityTask",
        Fault::ServiceQuotaExceeded,
        1,
    );
    let err = client.create(&third).await.unwrap_err();
    assert!(
        matches!(err.root(), AceError::QuotaExceeded { .. }),
        "{err:?}"
    );
    assert_eq!(err.retry_hint(), Some(Some(Duration::from_secs(15 * 60))));
    assert!(err.created_id().is_some());

    // A refused submission (a FAILED task) is a validation error with AWS's reason.
    let no_problem = request_for(&id_of("0065g00000QrStXAAV"), 0);
    let mut refused = no_problem.clone();
    refused.solutions.clear();
    let err = client.create(&refused).await.unwrap_err();
    let AceError::Validation {
        operation, reason, ..
    } = err.root()
    else {
        panic!("{err:?}")
    };
    assert_eq!(*operation, "StartEngagementFromOpportunityTask");
    assert_eq!(reason, "OpportunityValidationFailed");

    // Nobody listening: dispatch failure, retryable.
    let dead = client_with(
        &Settings::from_toml_layers(&[
            "[ace]\nendpoint_url = \"http://127.0.0.1:9\"\nmax_attempts = 1\ncall_timeout = \"2s\"",
        ])
        .unwrap()
        .ace,
        Arc::new(WriteLimiter::new(1000.0, 1000)),
        None,
    )
    .await;
    let err = dead.client.get(&missing).await.unwrap_err();
    assert!(matches!(err, AceError::Unavailable { .. }), "{err:?}");
    assert!(err.is_retryable());

    // A server that accepts and never answers: the attempt times out, retryable.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let hanging = client_with(
        &Settings::from_toml_layers(&[&format!(
            "[ace]\nendpoint_url = \"http://127.0.0.1:{port}\"\nmax_attempts = 1\ncall_timeout = \"300ms\""
        )])
        .unwrap()
        .ace,
        Arc::new(WriteLimiter::new(1000.0, 1000)),
        None,
    )
    .await;
    let err = hanging.client.get(&missing).await.unwrap_err();
    assert!(matches!(err, AceError::Unavailable { .. }), "{err:?}");
    assert!(err.is_retryable());
    let chain = ace_sync::telemetry::error_chain(&err);
    assert!(
        chain.to_lowercase().contains("timeout") || chain.to_lowercase().contains("timed out"),
        "{chain}"
    );
    drop(silent);

    // Every attempt was counted by operation and outcome.
    let text = c.metrics.encode();
    for line in [
        r#"ace_sync_ace_calls_total{operation="CreateOpportunity",outcome="validation"} 1"#,
        r#"ace_sync_ace_calls_total{operation="GetOpportunity",outcome="not_found"} 1"#,
        r#"ace_sync_ace_calls_total{operation="GetOpportunity",outcome="access_denied"} 1"#,
        r#"ace_sync_ace_calls_total{operation="AssociateOpportunity",outcome="unavailable"} 2"#,
        r#"ace_sync_ace_calls_total{operation="StartEngagementFromOpportunityTask",outcome="quota"} 1"#,
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn a_burst_of_20_writes_stays_within_the_quota() {
    // The simulator enforces a write quota of 20/s (a bucket of 2, for loopback jitter);
    // every write it refuses is a ThrottlingException and shows in its call count.
    const RATE: f64 = 20.0;
    let quotas = QuotaConfig {
        enabled: true,
        write: RateQuota {
            per_second: RATE,
            burst: 2,
            per_day: 10_000,
        },
        read: RateQuota {
            per_second: 10_000.0,
            burst: 10_000,
            per_day: 1_000_000,
        },
    };
    let sim = start(SimConfig {
        quotas,
        ..SimConfig::for_tests()
    })
    .await;
    let settings = ace_settings(
        &sim,
        "writes_per_second = 20\nwrite_burst = 1\nmax_attempts = 5",
    );
    // One limiter for the whole process, shared by every clone of the client.
    let c = client_with(&settings, write_limiter(&settings), None).await;
    let requests: Vec<CreateRequest> = (0..20)
        .map(|i| {
            let record = format!("0065g00000Qr{:03}", 100 + i);
            let record = ace_sync::domain::ids::SfRecordId::parse(&record).unwrap();
            let mut r = good_record();
            r.id = record;
            CreateRequest {
                submission: None,
                solutions: vec![],
                aws_products: vec![],
                ..request_for(&r, 0)
            }
        })
        .collect();
    let tasks = requests.iter().map(|r| {
        let client = c.client.clone();
        async move { client.create(r).await }
    });
    let results = join_all(tasks).await;
    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    let control = sim.control();
    assert_eq!(control.opportunities().len(), 20);
    // Every write was admitted by the simulator's quota at the first attempt: the calls it saw
    // were never closer together than the quota allows.
    assert_eq!(control.call_count("CreateOpportunity"), 20);
    assert_eq!(c.counter("ace_sync_ace_throttles_total"), 0);

    // The same burst without the limiter is throttled: the simulator does enforce the quota.
    let once = ace_settings(&sim, "max_attempts = 1");
    let unlimited = client_with(&once, Arc::new(WriteLimiter::new(1000.0, 1000)), None).await;
    let burst = (0..20).map(|i| {
        let client = unlimited.client.clone();
        async move {
            let record = format!("0065g00000Qs{:03}", 100 + i);
            let mut r = good_record();
            r.id = ace_sync::domain::ids::SfRecordId::parse(&record).unwrap();
            let request = CreateRequest {
                submission: None,
                solutions: vec![],
                aws_products: vec![],
                ..request_for(&r, 0)
            };
            client.create(&request).await
        }
    });
    join_all(burst).await;
    assert!(
        unlimited.counter("ace_sync_ace_throttles_total") > 0,
        "the simulator throttles bursts"
    );
    sim.stop().await;
}

#[tokio::test]
async fn engagement_invitations_are_listed_read_accepted_and_rejected() {
    let sim = start(SimConfig::for_tests()).await;
    let Client { client, .. } = client(&sim, "").await;
    let control = sim.control();
    let first = control
        .create_aws_invitation(&InvitationSpec::default())
        .expect("a valid referral");
    let second = control
        .create_aws_invitation(&InvitationSpec {
            title: "Data lake for claims".into(),
            ..InvitationSpec::default()
        })
        .expect("a valid referral");

    let pending = client.list_invitations(&["PENDING"]).await.expect("list");
    let mut ids: Vec<&str> = pending.iter().map(|i| i.id.as_str()).collect();
    ids.sort();
    let mut expected = vec![first.as_str(), second.as_str()];
    expected.sort();
    assert_eq!(ids, expected);

    let invitation = client.get_invitation(&first).await.expect("get");
    assert_eq!(invitation.summary.status.as_deref(), Some("PENDING"));
    assert_eq!(
        invitation.project_title.as_deref(),
        Some("Contact center modernization")
    );
    assert_eq!(
        invitation.customer_company_name.as_deref(),
        Some("Northwind Traders")
    );

    let token = ClientToken::derive(
        &SfOrgId::parse(ORG).unwrap(),
        &SfOpportunityId::parse("0065g00000QrStUAAV").unwrap(),
        TokenPurpose::StartEngagementByAcceptingInvitation,
        0,
    );
    let task = client
        .accept_invitation(&first, &token)
        .await
        .expect("accept");
    assert!(task.opportunity_id.is_some(), "{task:?}");
    assert_eq!(
        control.invitation_status(&first).as_deref(),
        Some("ACCEPTED")
    );
    // Accepting is idempotent with the same token.
    let again = client
        .accept_invitation(&first, &token)
        .await
        .expect("replay");
    assert_eq!(again.task_id, task.task_id);

    client
        .reject_invitation(&second, Some("Customer problem unclear"))
        .await
        .expect("reject");
    assert_eq!(
        control.invitation_status(&second).as_deref(),
        Some("REJECTED")
    );
    assert!(
        client
            .list_invitations(&["PENDING"])
            .await
            .unwrap()
            .is_empty()
    );
    sim.stop().await;
}

#[tokio::test]
async fn submit_opportunity_submits_without_an_engagement_task() {
    let sim = start(SimConfig::for_tests()).await;
    let Client { client, .. } = client(&sim, "").await;
    let mut request = request_for(&good_record(), 0);
    let submission = request.submission.take().unwrap();
    let created = client.create(&request).await.unwrap();
    assert_eq!(
        sim.control().review_status(created.id.as_str()).as_deref(),
        Some("Pending Submission")
    );
    client
        .resubmit(&created.id, &submission)
        .await
        .expect("submit");
    assert_eq!(
        sim.control().review_status(created.id.as_str()).as_deref(),
        Some("Submitted")
    );
    // Submitting what AWS is reviewing is refused with a typed validation error.
    let err = client
        .resubmit(&created.id, &Submission { ..submission })
        .await
        .unwrap_err();
    assert!(matches!(err, AceError::Validation { .. }), "{err:?}");
    sim.stop().await;
}
