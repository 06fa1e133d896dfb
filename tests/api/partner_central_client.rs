//! The Partner Central client — the real `aws-sdk-partnercentralselling` client inside the
//! adapter — against the Partner Central simulator: every operation the reconciler uses, every
//! error it can produce and how it is classified, idempotent creation and submission,
//! optimistic concurrency on update, and the write-rate limiter under a burst, observed from
//! the simulator's side.

use std::sync::Arc;
use std::time::Duration;

use ace_sync::ace::mapping::{MappedOpportunity, Mapping};
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
use ace_sync::ports::partner_central::{AceError, PartnerCentral, RelatedEntity, TaskStatus};
use ace_sync_sandbox::partner_central::{
    self as sim, Fault, InvitationSpec, QuotaConfig, RateQuota, ReviewDecision, SimConfig,
    SimHandle,
};
use aws_sdk_partnercentralselling::config::{Credentials, SharedInterceptor};
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

/// The creation token of generation `generation` of `record`.
fn token(record: &str, generation: u32) -> ClientToken {
    ClientToken::derive(
        &SfOrgId::parse(ORG).unwrap(),
        &SfOpportunityId::parse(record).unwrap(),
        TokenPurpose::CreateOpportunity,
        generation,
    )
}

/// The default mapping's request for `record`, checked by the pre-flight.
fn request_for(record: &ace_sync::domain::sobject::SObject) -> MappedOpportunity {
    let model = ServiceModel::load().unwrap();
    let ctx = preflight::Context {
        today: OffsetDateTime::now_utc().date(),
        catalog: Catalog::Sandbox,
    };
    preflight::check(record, &Mapping::default_mapping(), &model, &ctx)
        .unwrap_or_else(|r| panic!("the test record passes the pre-flight: {:#?}", r.findings))
        .request
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
async fn every_operation_the_reconciler_uses_against_the_simulator() {
    let sim = start(SimConfig::for_tests()).await;
    let Client { client, .. } = client(&sim, "").await;
    let control = sim.control();
    let request = request_for(&good_record());
    let record = good_record().id.to_string();
    let submission = request.submission.clone().expect("the good record submits");

    // CreateOpportunity: Pending Submission, our identifier on it.
    let created = client
        .create(&request.body, &token(&record, 0))
        .await
        .expect("created");
    let fetched = client.get(&created.id).await.expect("get");
    assert_eq!(
        fetched.body.review_status(),
        Some(ReviewStatus::PendingSubmission)
    );
    assert_eq!(
        fetched.body.partner_opportunity_identifier.as_deref(),
        Some(record.as_str())
    );
    assert_eq!(Some(fetched.last_modified_date), created.last_modified_date);

    // Found again by its Salesforce id, among the opportunities modified since a moment.
    let before = fetched.created_date - time::Duration::minutes(1);
    let found = client
        .find_by_partner_id(&record, Some(before))
        .await
        .expect("list");
    let found: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(found, [created.id.as_str()]);
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    assert!(
        client
            .find_by_partner_id(&record, Some(later))
            .await
            .unwrap()
            .is_empty(),
        "the date filter is ACE's"
    );
    assert!(
        client
            .find_by_partner_id("0065g00000ZZZZZAAA", None)
            .await
            .unwrap()
            .is_empty()
    );

    // Associations, one call each, both ways.
    for entity in [
        RelatedEntity::Solution("S-1234567".into()),
        RelatedEntity::AwsProduct("AmazonS3".into()),
        RelatedEntity::AwsProduct("AmazonTextract".into()),
    ] {
        client
            .associate(&created.id, &entity)
            .await
            .expect("associate");
    }
    client
        .disassociate(
            &created.id,
            &RelatedEntity::AwsProduct("AmazonTextract".into()),
        )
        .await
        .expect("disassociate");
    let related = client.get(&created.id).await.unwrap().related;
    assert_eq!(related.solutions, ["S-1234567"]);
    assert_eq!(related.aws_products, ["AmazonS3"]);

    // UpdateOpportunity replaces the record, guarded by the LastModifiedDate that was read.
    let current = client.get(&created.id).await.unwrap();
    let mut body = current.body.without_read_only();
    body.life_cycle.as_mut().unwrap().next_steps = Some("Pricing call on Tuesday".into());
    let version = client
        .update(&created.id, &body, current.last_modified_date)
        .await
        .expect("update");
    assert!(version >= current.last_modified_date);
    assert_eq!(
        sim_opportunity(&sim, &created.id)["LifeCycle"]["NextSteps"],
        "Pricing call on Tuesday"
    );
    // The same write with the old LastModifiedDate: someone (we) changed it since.
    if version != current.last_modified_date {
        let err = client
            .update(&created.id, &body, current.last_modified_date)
            .await
            .unwrap_err();
        assert!(matches!(err, AceError::Conflict { .. }), "{err:?}");
        assert!(
            err.is_retryable(),
            "a stale update is read again and replanned"
        );
    }

    // Submission: a task, found again as the opportunity's latest.
    assert_eq!(
        client.latest_engagement_task(&created.id).await.unwrap(),
        None
    );
    let submit_token = ClientToken::derive_versioned(
        &SfOrgId::parse(ORG).unwrap(),
        &SfOpportunityId::parse(&record).unwrap(),
        TokenPurpose::StartEngagementFromOpportunity,
        0,
        "v1",
    );
    let task = client
        .start_engagement(&created.id, &submission, &submit_token)
        .await
        .expect("submitted");
    assert!(task.task_id.is_some(), "{task:?}");
    assert_ne!(task.status, TaskStatus::Failed, "{task:?}");
    let latest = client
        .latest_engagement_task(&created.id)
        .await
        .unwrap()
        .expect("the task is listed");
    assert_eq!(latest.task_id, task.task_id);
    // A repeat with the same token is the same task, not a second submission.
    let again = client
        .start_engagement(&created.id, &submission, &submit_token)
        .await
        .expect("replayed");
    assert_eq!(again.task_id, task.task_id);

    // AWS approves; its side of the opportunity becomes readable.
    control.decide_review(created.id.as_str(), ReviewDecision::Approve);
    let summary = client.aws_summary(&created.id).await.expect("summary");
    assert!(!summary.team.is_empty(), "{summary:?}");
    sim.stop().await;
}

#[tokio::test]
async fn a_replayed_client_token_never_creates_a_second_opportunity() {
    let sim = start(SimConfig::for_tests()).await;
    let Client { client, .. } = client(&sim, "").await;
    let control = sim.control();
    let record = good_record().id.to_string();
    let request = request_for(&good_record());

    // A worker that crashed after CreateOpportunity retries with the same derived token.
    let first = client
        .create(&request.body, &token(&record, 0))
        .await
        .unwrap();
    let again = client
        .create(&request.body, &token(&record, 0))
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(control.opportunities().len(), 1);

    // The rep edited the record before the retry: same token, another body. ACE answers
    // Conflict (the reconciler's lookup finds the opportunity instead).
    let edited = request_for(&with(
        good_record(),
        &[("NextStep", Some(text("Pricing call on Tuesday")))],
    ));
    let err = client
        .create(&edited.body, &token(&record, 0))
        .await
        .unwrap_err();
    assert!(matches!(err, AceError::Conflict { .. }), "{err:?}");
    assert!(
        !err.is_retryable(),
        "a reused token does not go away by itself"
    );
    assert_eq!(control.opportunities().len(), 1);

    // A new generation is a deliberate second opportunity (after a rejection).
    let second = client
        .create(&request.body, &token(&record, 1))
        .await
        .unwrap();
    assert_ne!(second.id, first.id);
    // Two records, two opportunities.
    let other = request_for(&id_of("0065g00000QrStVAAV"));
    let other = client
        .create(&other.body, &token("0065g00000QrStVAAV", 0))
        .await
        .unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(control.opportunities().len(), 3);
    sim.stop().await;
}

#[tokio::test]
async fn every_error_is_typed_and_classified() {
    let sim = start(SimConfig::for_tests()).await;
    let c = client(&sim, "max_attempts = 3").await;
    let client = &c.client;
    let control = sim.control();

    // Validation, with ACE's ErrorList kept typed: permanent.
    let bad =
        Opportunity::from_json(serde_json::json!({"Project": {"Title": "Only a title"}})).unwrap();
    let err = client
        .create(&bad, &token("0065g00000QrStUAAV", 0))
        .await
        .unwrap_err();
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
    let request = request_for(&good_record());
    let creates = control.call_count("CreateOpportunity");
    control.inject_fault("CreateOpportunity", Fault::Throttling, 1);
    let created = client
        .create(&request.body, &token("0065g00000QrStUAAV", 0))
        .await
        .expect("absorbed");
    assert_eq!(control.call_count("CreateOpportunity"), creates + 2);
    control.inject_fault("AssociateOpportunity", Fault::InternalServer, 2);
    client
        .associate(&created.id, &RelatedEntity::Solution("S-1234567".into()))
        .await
        .expect("absorbed");
    assert_eq!(control.opportunities().len(), 1);

    // 5xx that persists: Unavailable, retryable.
    control.inject_fault("GetOpportunity", Fault::InternalServer, 10);
    let err = client.get(&created.id).await.unwrap_err();
    assert!(matches!(err, AceError::Unavailable { .. }), "{err:?}");
    assert!(err.is_retryable());
    control.clear_faults();

    // Access denied on a write: permanent.
    control.inject_fault("AssociateOpportunity", Fault::AccessDenied, 1);
    let err = client
        .associate(&created.id, &RelatedEntity::AwsProduct("AmazonS3".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, AceError::AccessDenied { .. }), "{err:?}");
    assert!(!err.is_retryable());

    // A quota exceeded on the submission: retryable, much later.
    let submission = request.submission.clone().unwrap();
    let submit_token = ClientToken::derive_versioned(
        &SfOrgId::parse(ORG).unwrap(),
        &SfOpportunityId::parse("0065g00000QrStUAAV").unwrap(),
        TokenPurpose::StartEngagementFromOpportunity,
        0,
        "v1",
    );
    control.inject_fault(
        "StartEngagementFromOpportunityTask",
        Fault::ServiceQuotaExceeded,
        1,
    );
    let err = client
        .start_engagement(&created.id, &submission, &submit_token)
        .await
        .unwrap_err();
    assert!(matches!(err, AceError::QuotaExceeded { .. }), "{err:?}");
    assert_eq!(err.retry_hint(), Some(Some(Duration::from_secs(15 * 60))));

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
        r#"ace_sync_ace_calls_total{operation="AssociateOpportunity",outcome="access_denied"} 1"#,
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
    let requests: Vec<(Opportunity, ClientToken)> = (0..20)
        .map(|i| {
            let record = format!("0065g00000Qr{:03}", 100 + i);
            (request_for(&id_of(&record)).body, token(&record, 0))
        })
        .collect();
    let tasks = requests.iter().map(|(body, token)| {
        let client = c.client.clone();
        async move { client.create(body, token).await }
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
            let body = request_for(&id_of(&record)).body;
            client.create(&body, &token(&record, 0)).await
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
