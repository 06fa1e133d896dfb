//! The Salesforce client and the Salesforce simulator together, over real HTTP: the JWT bearer
//! flow and its refusals, the single-flight re-mint, reads with relationship fields,
//! write-backs that send only what changed, sObject Collections, error classification, and
//! outbound messages fired by the workflow rule, retried until acknowledged, and delivered into
//! the real ingress.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ace_sync::adapters::salesforce::{ClientConfig, SalesforceClient, SalesforceMetrics};
use ace_sync::config::Settings;
use ace_sync::domain::disposition::Classify;
use ace_sync::domain::ids::{SfOpportunityId, SfRecordId};
use ace_sync::domain::sobject::{Decimal, FieldValue, SObject, parse_datetime};
use ace_sync::ports::salesforce::{
    ErrorCode, LIMIT_EXCEEDED_BACKOFF, SalesforceError, SalesforceOrg, TokenErrorCode, WriteOutcome,
};
use ace_sync_sandbox::salesforce::{
    DeliveryOutcome, KeyPair, NotificationState, OutboundConfig, SalesforceSim, Seed, SimConfig,
};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::future::join_all;
use tokio::sync::{Notify, mpsc};
use url::Url;

const ACME_MIGRATION: &str = "0065g00000QrStUAAV";
const ACME_RENEWAL: &str = "0065g00000QrStVAAV";
const GLOBEX_PILOT: &str = "0065g00000QrStWAAV";
const WAIT: Duration = Duration::from_secs(15);

fn opp(id: &str) -> SfOpportunityId {
    SfOpportunityId::parse(id).unwrap()
}

fn rec(id: &str) -> SfRecordId {
    SfRecordId::parse(id).unwrap()
}

fn text(s: &str) -> Option<FieldValue> {
    Some(FieldValue::Text(s.to_owned()))
}

fn fields(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

async fn sim_with(change: impl FnOnce(&mut SimConfig)) -> SalesforceSim {
    let mut config = SimConfig::new(Seed::small());
    change(&mut config);
    SalesforceSim::start(config).await.expect("start simulator")
}

async fn sim() -> SalesforceSim {
    sim_with(|_| {}).await
}

fn settings_for(sim: &SalesforceSim, extra: &str) -> Settings {
    Settings::from_toml_layers(&[&sim.settings_toml(), extra]).expect("settings")
}

fn client_from(settings: &Settings) -> Result<SalesforceClient, SalesforceError> {
    let config = ClientConfig::from_settings(settings)?;
    let mut registry = ace_sync::metrics::registry();
    SalesforceClient::new(&config, SalesforceMetrics::register(&mut registry))
}

fn client(sim: &SalesforceSim) -> SalesforceClient {
    client_from(&settings_for(sim, "")).expect("client")
}

fn client_with(sim: &SalesforceSim, extra: &str) -> SalesforceClient {
    client_from(&settings_for(sim, extra)).expect("client")
}

fn refusal(err: SalesforceError) -> (TokenErrorCode, String) {
    match err {
        SalesforceError::TokenRefused { error, description } => (error, description),
        other => panic!("expected a token refusal, got {other:?}"),
    }
}

fn codes(err: &SalesforceError) -> Vec<ErrorCode> {
    err.codes().into_iter().cloned().collect()
}

// ---------------------------------------------------------------------------------------
// JWT bearer flow

#[tokio::test]
async fn the_jwt_bearer_flow_yields_the_org_user_and_instance() {
    let sim = sim().await;
    let client = client(&sim);
    let identity = client.identity().await.expect("identity");
    assert!(identity.org_id.matches(&sim.org_id()));
    assert_eq!(&identity.user_id, sim.integration_user_id());
    assert_eq!(identity.instance_url.as_str(), sim.base_url().as_str());
    client.identity().await.expect("identity again");
    assert_eq!(sim.token_requests(), 1, "the token is cached");
    assert_eq!(client.metrics().token_mints("ok"), 1);
    let debug = format!("{client:?}");
    assert!(
        !debug.contains(&format!("{}!", sim.org_id().key15())),
        "no token: {debug}"
    );
    assert!(
        !debug.contains("PRIVATE KEY") && debug.contains("[redacted]"),
        "{debug}"
    );
}

#[tokio::test]
async fn the_token_answer_has_the_documented_shape() {
    let sim = sim().await;
    let body = token_request(
        &sim,
        &assertion(&sim, sim.consumer_key(), sim.username(), 120),
    )
    .await;
    assert_eq!(body.0, 200, "{}", body.1);
    let json: serde_json::Value = serde_json::from_str(&body.1).unwrap();
    let token = json["access_token"].as_str().unwrap();
    assert!(
        token.starts_with(&format!("{}!", sim.org_id().key15())),
        "{token}"
    );
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(
        json["id"].as_str().unwrap(),
        format!(
            "{}/id/{}/{}",
            sim.base_url().as_str().trim_end_matches('/'),
            sim.org_id(),
            sim.integration_user_id()
        )
    );
    assert!(json.get("refresh_token").is_none() && json.get("expires_in").is_none());
}

#[tokio::test]
async fn a_key_the_connected_app_does_not_know_is_an_invalid_assertion() {
    let sim = sim().await;
    let other = KeyPair::generate().unwrap();
    let mut settings = settings_for(&sim, "");
    settings.salesforce.private_key_path = None;
    settings.salesforce.private_key = Some(other.private_pem().clone());
    let err = client_from(&settings)
        .unwrap()
        .identity()
        .await
        .unwrap_err();
    assert!(!err.is_retryable());
    assert_eq!(
        refusal(err),
        (TokenErrorCode::InvalidGrant, "invalid assertion".to_owned())
    );
}

#[tokio::test]
async fn an_unknown_consumer_key_is_refused() {
    let sim = sim().await;
    let err = client_with(&sim, "[salesforce]\nconsumer_key = \"3MVG9.someone-else\"")
        .identity()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(err),
        (
            TokenErrorCode::InvalidClientId,
            "client identifier invalid".to_owned()
        )
    );
}

#[tokio::test]
async fn a_wrong_audience_is_refused_and_login_test_and_my_domain_are_accepted() {
    let sim = sim().await;
    let err = client_with(
        &sim,
        "[salesforce]\naudience = \"https://login.example.com\"",
    )
    .identity()
    .await
    .unwrap_err();
    assert_eq!(
        refusal(err),
        (
            TokenErrorCode::InvalidGrant,
            "audience is invalid".to_owned()
        )
    );
    for audience in [
        "https://login.salesforce.com",
        "https://test.salesforce.com",
    ] {
        client_with(&sim, &format!("[salesforce]\naudience = \"{audience}\""))
            .identity()
            .await
            .unwrap_or_else(|e| panic!("{audience}: {e}"));
    }
}

#[tokio::test]
async fn an_unknown_user_is_refused() {
    let sim = sim().await;
    let err = client_with(&sim, "[salesforce]\nusername = \"nobody@acme.example\"")
        .identity()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(err),
        (
            TokenErrorCode::InvalidGrant,
            "user hasn't approved this consumer".to_owned()
        )
    );
}

/// The client always signs a valid `exp`; these assertions are made by hand.
#[tokio::test]
async fn expired_and_far_future_assertions_are_refused() {
    let sim = sim().await;
    let (status, body) = token_request(
        &sim,
        &assertion(&sim, sim.consumer_key(), sim.username(), -10),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        r#"{"error":"invalid_grant","error_description":"expired authorization code"}"#
    );
    // 190 rather than 181: the assertion is signed a moment before the simulator reads its
    // clock, and a second boundary between the two must not let it through.
    for ahead in [3600, 190] {
        let (status, body) = token_request(
            &sim,
            &assertion(&sim, sim.consumer_key(), sim.username(), ahead),
        )
        .await;
        assert_eq!(status, 400, "{ahead}");
        assert_eq!(
            body,
            r#"{"error":"invalid_grant","error_description":"invalid assertion"}"#
        );
    }
    let (status, _) = token_request(&sim, "not.a.jwt").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_token_for_an_org_outside_org_ids_is_refused() {
    let sim = sim().await;
    let err = client_with(&sim, "[salesforce]\norg_ids = [\"00D5g00000XYZzz\"]")
        .identity()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SalesforceError::OrgNotAllowed { org_id } if org_id.matches(&sim.org_id())),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_key_that_is_not_pem_is_a_configuration_error_at_start() {
    let sim = sim().await;
    let mut settings = settings_for(&sim, "");
    settings.salesforce.private_key_path = None;
    settings.salesforce.private_key = Some(ace_sync::secret::Secret::new("not a key"));
    let err = client_from(&settings).unwrap_err();
    assert!(matches!(err, SalesforceError::Config { .. }), "{err:?}");
    assert!(!format!("{err:?}").contains("not a key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_after_session_expiry_mint_exactly_one_token() {
    let sim = sim().await;
    let client = Arc::new(client(&sim));
    client.identity().await.expect("first token");
    assert_eq!(sim.token_requests(), 1);
    sim.expire_all_sessions();
    // Through the port, as the worker will hold it, on parallel tasks.
    let org: Arc<dyn SalesforceOrg> = client.clone();
    let reads = (0..20).map(|i| {
        let org = org.clone();
        let id = opp([ACME_MIGRATION, ACME_RENEWAL, GLOBEX_PILOT][i % 3]);
        tokio::spawn(async move { org.read_opportunity(&id, &fields(&["Name"])).await })
    });
    for result in join_all(reads).await {
        result
            .expect("task")
            .expect("every read succeeds after the re-mint");
    }
    assert_eq!(sim.token_requests(), 2, "one re-mint for twenty callers");
    let unauthorized = sim.requests().iter().filter(|r| r.status == 401).count();
    assert!((1..=20).contains(&unauthorized), "{unauthorized}");
    assert_eq!(client.metrics().token_mints("ok"), 2);
}

// ---------------------------------------------------------------------------------------
// Reads

#[tokio::test]
async fn a_read_brings_relationship_fields_in_one_query() {
    let sim = sim().await;
    let client = client(&sim);
    let record = client
        .read_opportunity(
            &opp(ACME_MIGRATION),
            &fields(&[
                "Name",
                "StageName",
                "Amount",
                "CloseDate",
                "Use_Cases__c",
                "LastModifiedDate",
                "Account.Name",
                "Account.BillingCountry",
                "Account.Website",
                "NextStep",
            ]),
        )
        .await
        .expect("read");
    let calls_before = sim.api_calls();
    assert_eq!(record.id, rec(ACME_MIGRATION));
    assert_eq!(
        record.text("Name").as_deref(),
        Some("Acme - Data Platform Migration")
    );
    assert_eq!(
        record.get("Amount"),
        Some(&FieldValue::Number(Decimal::parse("125000").unwrap()))
    );
    assert_eq!(
        record
            .get("CloseDate")
            .and_then(FieldValue::as_date)
            .map(|d| d.to_string()),
        Some("2026-09-30".into())
    );
    assert!(
        record
            .get("LastModifiedDate")
            .and_then(FieldValue::as_datetime)
            .is_some()
    );
    assert_eq!(
        record.get("Use_Cases__c"),
        Some(&FieldValue::Multi(vec![
            "Migration".into(),
            "Analytics".into()
        ]))
    );
    assert_eq!(
        record.text("Account.Name").as_deref(),
        Some("Acme Corporation")
    );
    assert_eq!(
        record.text("Account.BillingCountry").as_deref(),
        Some("Germany")
    );
    assert_eq!(
        record.text("Account.Website").as_deref(),
        Some("https://acme.example")
    );
    assert!(record.get("NextStep").is_none(), "nulls are absent");
    let queries: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.soql.is_some())
        .collect();
    assert_eq!(queries.len(), 1);
    assert_eq!(
        queries[0].soql.as_deref(),
        Some(
            "SELECT Id,Name,StageName,Amount,CloseDate,Use_Cases__c,LastModifiedDate,Account.Name,Account.BillingCountry,Account.Website,NextStep FROM Opportunity WHERE Id = '0065g00000QrStUAAV'"
        )
    );
    assert_eq!(calls_before, 1);
}

#[tokio::test]
async fn a_list_of_ids_is_read_across_result_pages() {
    let sim = sim_with(|c| c.query_page_size = 2).await;
    let client = client(&sim);
    let ids = [
        opp(ACME_MIGRATION),
        opp(ACME_RENEWAL),
        opp(GLOBEX_PILOT),
        opp("0065g00000ZzZzZ"),
    ];
    let records = client
        .read_opportunities(&ids, &fields(&["Name", "Account.Name"]))
        .await
        .expect("read");
    let mut got: Vec<_> = records.iter().map(|r| r.id.to_string()).collect();
    got.sort();
    assert_eq!(got, vec![ACME_MIGRATION, ACME_RENEWAL, GLOBEX_PILOT]);
    assert_eq!(
        records
            .iter()
            .find(|r| r.id == rec(GLOBEX_PILOT))
            .and_then(|r| r.text("Account.Name")),
        Some("Globex".into())
    );
    let paths: Vec<String> = sim.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(
        paths[1].starts_with("/services/data/v67.0/query/01g"),
        "{paths:?}"
    );
}

#[tokio::test]
async fn missing_and_deleted_records_are_permanent_no_such_record() {
    let sim = sim().await;
    let client = client(&sim);
    sim.delete(&rec(ACME_RENEWAL)).unwrap();
    for id in ["0065g00000ZzZzZ", ACME_RENEWAL] {
        let err = client.read_opportunity(&opp(id), &[]).await.unwrap_err();
        assert!(
            matches!(err, SalesforceError::NoSuchRecord { .. }),
            "{err:?}"
        );
        assert!(!err.is_retryable());
    }
}

// ---------------------------------------------------------------------------------------
// Write-back

fn desired(pairs: &[(&str, Option<FieldValue>)]) -> BTreeMap<String, Option<FieldValue>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[tokio::test]
async fn a_write_back_sends_only_changed_fields_and_nothing_when_unchanged() {
    let sim = sim().await;
    let started = tokio::time::Instant::now();
    let client = client(&sim);
    let wanted = fields(&[
        "Name",
        "ACE_Opportunity_Id__c",
        "ACE_Sync_Status__c",
        "ACE_Last_Synced__c",
        "Description",
        "LastModifiedById",
    ]);
    let current = client
        .read_opportunity(&opp(ACME_MIGRATION), &wanted)
        .await
        .unwrap();
    let synced_at = parse_datetime("2026-08-14T18:30:00.000Z").unwrap();
    let change = desired(&[
        ("Name", text("Acme - Data Platform Migration")),
        ("ACE_Opportunity_Id__c", text("O1234567")),
        ("ACE_Sync_Status__c", text("Synced")),
        ("ACE_Last_Synced__c", Some(FieldValue::Datetime(synced_at))),
        ("NextStep", None),
    ]);
    let outcome = client.write_back(&current, &change).await.expect("write");
    assert_eq!(
        outcome,
        WriteOutcome::Updated {
            fields: fields(&[
                "ACE_Last_Synced__c",
                "ACE_Opportunity_Id__c",
                "ACE_Sync_Status__c"
            ])
        }
    );
    let patch = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .expect("a PATCH");
    assert_eq!(
        patch.path,
        "/services/data/v67.0/sobjects/Opportunity/0065g00000QrStUAAV"
    );
    assert_eq!(
        patch.body.as_deref(),
        Some(
            r#"{"ACE_Last_Synced__c":"2026-08-14T18:30:00.000+0000","ACE_Opportunity_Id__c":"O1234567","ACE_Sync_Status__c":"Synced"}"#
        )
    );
    // The log says when each request was answered, in order.
    let log = sim.requests();
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(patch.at >= started && patch.at <= tokio::time::Instant::now());
    let stored = sim.record(&rec(ACME_MIGRATION)).unwrap();
    assert_eq!(
        stored.fields["ACE_Opportunity_Id__c"],
        FieldValue::Text("O1234567".into())
    );
    let written = |s: &SalesforceSim| {
        s.record(&rec(ACME_MIGRATION)).is_some_and(|r| {
            r.fields
                .get("ACE_Opportunity_Id__c")
                .map(FieldValue::to_text)
                .as_deref()
                == Some("O1234567")
        })
    };
    assert!(sim.wait_until(WAIT, written).await);
    assert!(
        !sim.wait_until(Duration::from_millis(20), |s| !written(s))
            .await,
        "false once the deadline passes"
    );
    assert_eq!(
        stored.fields["LastModifiedById"].to_text(),
        sim.integration_user_id().as_str()
    );

    let reread = client
        .read_opportunity(&opp(ACME_MIGRATION), &wanted)
        .await
        .unwrap();
    let identity = client.identity().await.unwrap();
    assert!(client.is_own_change(&reread, &identity));
    let calls = sim.api_calls();
    assert_eq!(
        client.write_back(&reread, &change).await.unwrap(),
        WriteOutcome::Unchanged
    );
    assert_eq!(sim.api_calls(), calls, "no call when nothing differs");
}

#[tokio::test]
async fn numbers_keep_every_digit_both_ways() {
    let sim = sim().await;
    let client = client(&sim);
    let current = client
        .read_opportunity(&opp(ACME_RENEWAL), &fields(&["Amount"]))
        .await
        .unwrap();
    let exact = Decimal::parse("1234567890123456.78").unwrap();
    client
        .write_back(
            &current,
            &desired(&[("Amount", Some(FieldValue::Number(exact.clone())))]),
        )
        .await
        .unwrap();
    let back = client
        .read_opportunity(&opp(ACME_RENEWAL), &fields(&["Amount"]))
        .await
        .unwrap();
    assert_eq!(back.get("Amount"), Some(&FieldValue::Number(exact)));
}

#[tokio::test]
async fn collections_report_each_record_in_request_order() {
    let sim = sim().await;
    let client = client(&sim);
    let ids = [ACME_MIGRATION, ACME_RENEWAL, GLOBEX_PILOT];
    let records = client
        .read_opportunities(&ids.map(opp), &fields(&["Name", "NextStep"]))
        .await
        .unwrap();
    let by_id = |id: &str| records.iter().find(|r| r.id == rec(id)).cloned().unwrap();
    let changes: Vec<(SObject, BTreeMap<String, Option<FieldValue>>)> = vec![
        (
            by_id(ACME_MIGRATION),
            desired(&[("NextStep", text("Send the proposal"))]),
        ),
        (
            by_id(ACME_RENEWAL),
            desired(&[("NextStep", text(&"x".repeat(256)))]),
        ),
        (
            by_id(GLOBEX_PILOT),
            desired(&[("ACE_Sync_Status__c", text("Almost"))]),
        ),
        (
            by_id(GLOBEX_PILOT),
            desired(&[("Name", text("Globex - Pilot"))]),
        ),
    ];
    let before = sim.requests().len();
    let results = client
        .write_back_many(changes)
        .await
        .expect("the call succeeds");
    assert_eq!(results.len(), 4);
    assert_eq!(
        results[0].as_ref().unwrap(),
        &WriteOutcome::Updated {
            fields: fields(&["NextStep"])
        }
    );
    let too_long = results[1].as_ref().unwrap_err();
    assert_eq!(codes(too_long), vec![ErrorCode::StringTooLong]);
    match too_long {
        SalesforceError::RecordFailed { id, errors } => {
            assert_eq!(id, ACME_RENEWAL);
            assert_eq!(errors[0].fields, fields(&["NextStep"]));
            assert!(
                errors[0].message.contains("max length=255"),
                "{}",
                errors[0].message
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!too_long.is_retryable());
    assert_eq!(
        codes(results[2].as_ref().unwrap_err()),
        vec![ErrorCode::InvalidOrNullForRestrictedPicklist]
    );
    assert_eq!(results[3].as_ref().unwrap(), &WriteOutcome::Unchanged);
    let calls: Vec<_> = sim.requests().into_iter().skip(before).collect();
    assert_eq!(calls.len(), 1, "one Collections call");
    assert_eq!(calls[0].path, "/services/data/v67.0/composite/sobjects");
    assert!(
        calls[0]
            .body
            .as_deref()
            .unwrap_or("")
            .contains(r#""allOrNone":false"#)
    );
    assert_eq!(
        sim.record(&rec(ACME_MIGRATION)).unwrap().fields["NextStep"],
        FieldValue::Text("Send the proposal".into())
    );
}

// ---------------------------------------------------------------------------------------
// Error classification

#[tokio::test]
async fn lock_contention_is_retryable_with_400_or_500() {
    let sim = sim().await;
    let client = client(&sim);
    let current = client
        .read_opportunity(&opp(ACME_MIGRATION), &fields(&["NextStep"]))
        .await
        .unwrap();
    let change = desired(&[("NextStep", text("Call"))]);
    for status in [400, 500] {
        sim.set_faults(|f| {
            f.lock_failures = 1;
            f.lock_status = status;
        });
        let err = client.write_back(&current, &change).await.unwrap_err();
        assert_eq!(codes(&err), vec![ErrorCode::UnableToLockRow], "{status}");
        assert_eq!(err.retry_hint(), Some(None), "{status}");
    }
    client
        .write_back(&current, &change)
        .await
        .expect("the lock is gone");
}

#[tokio::test]
async fn maintenance_pages_limits_timeouts_and_refused_connections_are_retryable() {
    let sim = sim().await;
    let client = client_with(&sim, "[salesforce]\nrequest_timeout = \"300ms\"");
    let id = opp(ACME_MIGRATION);
    client.read_opportunity(&id, &[]).await.unwrap();

    sim.set_faults(|f| f.server_errors = 1);
    let err = client.read_opportunity(&id, &[]).await.unwrap_err();
    match &err {
        SalesforceError::Api {
            status: 503,
            errors,
            body_excerpt: Some(body),
            ..
        } => {
            assert!(errors.is_empty());
            assert!(body.contains("Down for maintenance"), "{body}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());

    let used = sim.api_calls();
    sim.set_daily_api_limit(used);
    let err = client.read_opportunity(&id, &[]).await.unwrap_err();
    assert_eq!(codes(&err), vec![ErrorCode::RequestLimitExceeded]);
    assert_eq!(err.retry_hint(), Some(Some(LIMIT_EXCEEDED_BACKOFF)));
    let used = used as i64;
    assert_eq!(
        client.metrics().api_usage(),
        (used, used),
        "Sforce-Limit-Info feeds the gauges"
    );
    sim.set_daily_api_limit(15_000);

    sim.set_faults(|f| f.latency = Duration::from_secs(3));
    let err = client.read_opportunity(&id, &[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            SalesforceError::Timeout {
                operation: "query",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    sim.set_faults(|f| f.latency = Duration::ZERO);

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut settings = settings_for(&sim, "");
    settings.salesforce.login_url = Url::parse(&format!("http://127.0.0.1:{closed}")).unwrap();
    let err = client_from(&settings)
        .unwrap()
        .identity()
        .await
        .unwrap_err();
    assert!(matches!(err, SalesforceError::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn record_and_request_errors_are_permanent_and_keep_salesforce_codes() {
    let sim = sim().await;
    let client = client(&sim);
    let current = client
        .read_opportunity(&opp(ACME_RENEWAL), &[])
        .await
        .unwrap();

    let err = client
        .read_opportunity(&opp(ACME_RENEWAL), &fields(&["Nope__c"]))
        .await
        .unwrap_err();
    assert_eq!(codes(&err), vec![ErrorCode::InvalidField]);
    assert!(
        format!("{err}").contains("No such column 'Nope__c'"),
        "{err}"
    );
    assert!(!err.is_retryable());

    for (field, value, code) in [
        ("Nope__c", text("x"), ErrorCode::InvalidField),
        (
            "ACE_Sync_Status__c",
            text("Done-ish"),
            ErrorCode::InvalidOrNullForRestrictedPicklist,
        ),
        (
            "ACE_Opportunity_Id__c",
            text("O123456789012345678901"),
            ErrorCode::StringTooLong,
        ),
        (
            "IsWon",
            Some(FieldValue::Bool(true)),
            ErrorCode::InvalidFieldForInsertUpdate,
        ),
    ] {
        let err = client
            .write_back(&current, &desired(&[(field, value)]))
            .await
            .unwrap_err();
        assert_eq!(codes(&err), vec![code.clone()], "{field}");
        assert!(!err.is_retryable(), "{field}");
        if code == ErrorCode::StringTooLong {
            let SalesforceError::Api { errors, status, .. } = &err else {
                panic!("{err:?}")
            };
            assert_eq!((*status, errors[0].fields.clone()), (400, fields(&[field])));
        }
    }

    let mut wrong_type = current.clone();
    wrong_type.id = rec("0015g00000LmNoPAAV");
    let err = client
        .write_back(&wrong_type, &desired(&[("NextStep", text("x"))]))
        .await
        .unwrap_err();
    assert_eq!(codes(&err), vec![ErrorCode::MalformedId]);

    sim.delete(&rec(ACME_RENEWAL)).unwrap();
    let err = client
        .write_back(&current, &desired(&[("NextStep", text("x"))]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SalesforceError::Api { status: 404, .. }),
        "{err:?}"
    );
    assert_eq!(codes(&err), vec![ErrorCode::EntityIsDeleted]);
    assert!(!err.is_retryable());
}

// ---------------------------------------------------------------------------------------
// Outbound messages

/// How the test endpoint answers one POST.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Ack,
    Status(u16),
    /// 200 with an ack in the wrong namespace (a widely copied mistake).
    WrongNamespace,
    /// Tell the test the POST arrived, wait for its go, then answer 500.
    HoldThenFail,
}

#[derive(Debug, Clone)]
struct Received {
    content_type: String,
    soap_action: String,
    body: String,
}

struct EndpointState {
    script: Mutex<VecDeque<Answer>>,
    received: Mutex<Vec<Received>>,
    arrived: mpsc::UnboundedSender<()>,
    release: Notify,
}

/// A stand-in for a receiver, answering POSTs as scripted (then acking).
struct Endpoint {
    url: Url,
    state: Arc<EndpointState>,
    arrived: mpsc::UnboundedReceiver<()>,
    server: actix_web::dev::ServerHandle,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}

const ACK: &str = include_str!("../../sandbox/src/salesforce/testdata/ack.xml");

async fn answer(state: web::Data<EndpointState>, req: HttpRequest, body: String) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    state.received.lock().unwrap().push(Received {
        content_type: header("content-type"),
        soap_action: header("soapaction"),
        body,
    });
    let next = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Answer::Ack);
    let xml = |status: u16, body: String| {
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
            .content_type("text/xml; charset=utf-8")
            .body(body)
    };
    match next {
        Answer::Ack => xml(200, ACK.to_owned()),
        Answer::Status(status) => xml(status, "<html>no</html>".to_owned()),
        Answer::WrongNamespace => xml(200, ACK.replace("notificationsResponse", "notifications")),
        Answer::HoldThenFail => {
            let _ = state.arrived.send(());
            state.release.notified().await;
            xml(500, "<soapenv:Fault/>".to_owned())
        }
    }
}

async fn endpoint(script: &[Answer]) -> Endpoint {
    let (arrived_tx, arrived) = mpsc::unbounded_channel();
    let state = Arc::new(EndpointState {
        script: Mutex::new(script.iter().copied().collect()),
        received: Mutex::new(Vec::new()),
        arrived: arrived_tx,
        release: Notify::new(),
    });
    let data = web::Data::from(state.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/om", web::post().to(answer))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Endpoint {
        url: Url::parse(&format!("http://127.0.0.1:{port}/om")).unwrap(),
        state,
        arrived,
        server: handle,
    }
}

fn fast_outbound(url: Url) -> OutboundConfig {
    let mut config = OutboundConfig::new(url);
    config.retry_base = Duration::from_millis(20);
    config.retry_cap = Duration::from_millis(200);
    config.send_timeout = Duration::from_secs(5);
    config
}

fn all_delivered(n: usize) -> impl Fn(&[ace_sync_sandbox::salesforce::NotificationStatus]) -> bool {
    move |list| list.len() == n && list.iter().all(|s| s.state == NotificationState::Delivered)
}

#[tokio::test]
async fn a_reps_stage_change_fires_an_outbound_message_and_the_integration_users_does_not() {
    let receiver = endpoint(&[]).await;
    let url = receiver.url.clone();
    let sim = sim_with(|c| c.outbound = Some(fast_outbound(url))).await;
    let id = rec(ACME_MIGRATION);

    // The integration user moving the stage (directly, and through the client's PATCH) and a
    // rep editing another field: no notification.
    sim.update_as_integration_user(&id, &[("StageName", text("Negotiation/Review"))])
        .unwrap();
    let client = client(&sim);
    let current = client
        .read_opportunity(&opp(ACME_MIGRATION), &fields(&["StageName"]))
        .await
        .unwrap();
    client
        .write_back(
            &current,
            &desired(&[("StageName", text("Value Proposition"))]),
        )
        .await
        .unwrap();
    sim.update_as_user(&id, &[("NextStep", text("Call"))])
        .unwrap();
    assert!(sim.notifications().is_empty(), "{:?}", sim.notifications());

    sim.update_as_user(&id, &[("StageName", text("Closed Won"))])
        .unwrap();
    assert!(
        sim.wait_for_notifications(WAIT, all_delivered(1)).await,
        "{:?}",
        sim.notifications()
    );
    let received = receiver.state.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let om = &received[0];
    assert_eq!(om.content_type, "text/xml; charset=utf-8");
    assert_eq!(om.soap_action, "\"\"");
    let notification = &sim.notifications()[0];
    assert!(
        om.body.contains(&format!("<Id>{}</Id>", notification.id)),
        "{}",
        om.body
    );
    assert!(om.body.contains("<sf:StageName>Closed Won</sf:StageName>"));
    assert!(om.body.contains("<sf:IsWon>true</sf:IsWon>"));
    assert!(om.body.contains(&format!(
        "<sf:LastModifiedById>{}</sf:LastModifiedById>",
        sim.sales_rep_id()
    )));
    assert!(om.body.contains("<SessionId xsi:nil=\"true\"/>"));
    assert!(om.body.contains(&format!(
        "/services/Soap/c/62.0/{}</EnterpriseUrl>",
        sim.org_id().key15()
    )));
}

#[tokio::test]
async fn deliveries_are_retried_until_acked_and_carry_the_latest_data() {
    let mut receiver = endpoint(&[Answer::HoldThenFail, Answer::WrongNamespace]).await;
    let url = receiver.url.clone();
    let sim = sim_with(|c| c.outbound = Some(fast_outbound(url))).await;
    let id = rec(GLOBEX_PILOT);
    sim.update_as_user(&id, &[("StageName", text("Needs Analysis"))])
        .unwrap();

    // While the first attempt is in flight, the integration user renames the record, which
    // does not fire the rule but changes what the retry carries.
    tokio::time::timeout(WAIT, receiver.arrived.recv())
        .await
        .expect("first attempt")
        .unwrap();
    sim.update_as_integration_user(&id, &[("Name", text("Globex - Pilot (renamed)"))])
        .unwrap();
    receiver.state.release.notify_one();

    assert!(
        sim.wait_for_notifications(WAIT, all_delivered(1)).await,
        "{:?}",
        sim.notifications()
    );
    let log = sim.deliveries();
    let outcomes: Vec<_> = log
        .iter()
        .map(|a| (a.notifications.len(), a.outcome.clone()))
        .collect();
    let first = sim.notifications()[0].clone();
    assert_eq!(first.record_id, id);
    assert_eq!(first.attempts, 3, "{outcomes:?}");
    assert_eq!(log.len(), 3, "{outcomes:?}");
    assert_eq!(
        log[0].outcome,
        DeliveryOutcome::Failed {
            reason: "HTTP 500".into()
        }
    );
    assert!(log[0].body.contains("<sf:Name>Globex - Pilot</sf:Name>"));
    // The retry carries the record as it is at send time.
    let retried: Vec<_> = log
        .iter()
        .skip(1)
        .filter(|a| a.notifications.contains(&first.id))
        .collect();
    assert_eq!(retried.len(), 2, "{outcomes:?}");
    assert!(retried.iter().all(|a| {
        a.body
            .contains("<sf:Name>Globex - Pilot (renamed)</sf:Name>")
    }));
    assert_eq!(
        retried[0].outcome,
        DeliveryOutcome::Failed {
            reason: "the answer is not an acknowledgement".into()
        }
    );
    assert_eq!(retried[1].outcome, DeliveryOutcome::Acked);
    // The first attempt was held until the rename; each retry starts after the answer before.
    assert!(log[0].answered_at > log[0].sent_at);
    assert!(log.windows(2).all(|w| w[0].answered_at <= w[1].sent_at));
}

#[tokio::test]
async fn notifications_due_together_are_batched_into_one_message() {
    let mut receiver = endpoint(&[Answer::HoldThenFail]).await;
    let url = receiver.url.clone();
    let sim = sim_with(|c| {
        let mut outbound = fast_outbound(url);
        outbound.retry_base = Duration::from_secs(60);
        c.outbound = Some(outbound);
    })
    .await;
    sim.update_as_user(&rec(ACME_MIGRATION), &[("StageName", text("Closed Won"))])
        .unwrap();
    tokio::time::timeout(WAIT, receiver.arrived.recv())
        .await
        .expect("first attempt")
        .unwrap();
    sim.update_as_user(&rec(ACME_RENEWAL), &[("StageName", text("Closed Won"))])
        .unwrap();
    sim.update_as_user(&rec(GLOBEX_PILOT), &[("StageName", text("Closed Lost"))])
        .unwrap();
    receiver.state.release.notify_one();
    assert!(
        sim.wait_for_notifications(WAIT, |list| list
            .iter()
            .filter(|s| s.state == NotificationState::Delivered)
            .count()
            == 2)
            .await,
        "{:?}",
        sim.notifications()
    );
    let log = sim.deliveries();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].notifications.len(), 2, "one POST for both");
    assert_eq!(log[1].body.matches("<Notification>").count(), 2);
    let first = &sim.notifications()[0];
    assert_eq!(
        first.state,
        NotificationState::Pending,
        "backing off for a minute"
    );
    assert_eq!(first.last_failure.as_deref(), Some("HTTP 500"));
}

#[tokio::test]
async fn notifications_are_dropped_after_their_lifetime() {
    let receiver = endpoint(&[Answer::Status(503); 64]).await;
    let url = receiver.url.clone();
    let sim = sim_with(|c| {
        let mut outbound = fast_outbound(url);
        outbound.lifetime = Duration::from_secs(1);
        c.outbound = Some(outbound);
    })
    .await;
    sim.update_as_user(&rec(ACME_MIGRATION), &[("StageName", text("Closed Won"))])
        .unwrap();
    assert!(
        sim.wait_for_notifications(WAIT, |list| list
            .first()
            .is_some_and(|s| s.state == NotificationState::Dropped))
            .await
    );
    let status = &sim.notifications()[0];
    assert!(status.attempts >= 2, "{status:?}");
    assert_eq!(status.last_failure.as_deref(), Some("HTTP 503"));
}

/// A rep's stage change travels from the simulated org into the real ingress and ends up as a
/// job on the queue.
#[tokio::test]
async fn an_outbound_message_from_the_simulator_reaches_the_ingress_queue() {
    use ace_sync::domain::job::{Job, Reason};
    use ace_sync::ports::queue::JobSource;
    use ace_sync::startup::{Application, QueueHandle};

    let settings = Settings::from_toml_layers(&[
        "[http]\nport = 0\nworkers = 1\n[salesforce]\norg_ids = [\"00D5g00000ABCdeEAH\"]\n",
    ])
    .unwrap();
    let queue = QueueHandle::memory(&settings.queue, "from-the-simulator");
    let app = Application::build_with(
        settings,
        ace_sync::startup::Role::Serve,
        ace_sync::startup::Dependencies {
            changes: Some(QueueHandle::Memory(queue.clone())),
            ..Default::default()
        },
    )
    .await
    .expect("ingress");
    let port = app.port();
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));

    let url = Url::parse(&format!(
        "http://127.0.0.1:{port}/salesforce/outbound-message"
    ))
    .unwrap();
    let sim = sim_with(|c| c.outbound = Some(fast_outbound(url))).await;
    sim.update_as_user(&rec(ACME_MIGRATION), &[("StageName", text("Closed Won"))])
        .unwrap();
    assert!(
        sim.wait_for_notifications(WAIT, all_delivered(1)).await,
        "{:?}",
        sim.deliveries()
    );
    assert_eq!(sim.deliveries().len(), 1, "acked on the first attempt");

    let messages = queue
        .receive(10, Duration::from_secs(5))
        .await
        .expect("receive");
    assert_eq!(messages.len(), 1);
    let job = Job::decode(&messages[0].body)
        .expect("a job")
        .into_reconcile();
    let Reason::OutboundMessage {
        notification_id, ..
    } = &job.reason
    else {
        panic!("an outbound-message job: {job:?}")
    };
    assert_eq!(notification_id, &sim.notifications()[0].id);
    assert_eq!(job.record_id, rec(ACME_MIGRATION));
    assert!(job.org_id.matches(&sim.org_id()));
    shutdown.cancel();
}

// ---------------------------------------------------------------------------------------
// Helpers for hand-made assertions

#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
}

fn assertion(sim: &SalesforceSim, iss: &str, sub: &str, exp_in_secs: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(sim.keys().private_pem().expose().as_bytes())
        .unwrap();
    let aud = sim.base_url().as_str().trim_end_matches('/').to_owned();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &Claims {
            iss,
            sub,
            aud: &aud,
            exp: now + exp_in_secs,
        },
        &key,
    )
    .unwrap()
}

async fn token_request(sim: &SalesforceSim, assertion: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(sim.base_url().join("/services/oauth2/token").unwrap())
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn an_invalid_session_gets_salesforce_s_401_and_every_answer_the_limit_header() {
    let sim = sim().await;
    let response = reqwest::Client::new()
        .get(
            sim.base_url()
                .join("/services/data/v67.0/query?q=SELECT+Id+FROM+Opportunity")
                .unwrap(),
        )
        .bearer_auth("00D5g00000ABCde!expired")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Token");
    assert_eq!(response.headers()["sforce-limit-info"], "api-usage=0/15000");
    assert_eq!(
        response.text().await.unwrap(),
        r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#
    );
}

#[tokio::test]
async fn the_control_route_changes_a_record_as_a_rep_and_fires_the_rule() {
    let receiver = endpoint(&[]).await;
    let url = receiver.url.clone();
    let sim = sim_with(|c| c.outbound = Some(fast_outbound(url))).await;
    let response = reqwest::Client::new()
        .patch(
            sim.base_url()
                .join("/__sim/as/rep@acme.example/sobjects/Opportunity/0065g00000QrStWAAV")
                .unwrap(),
        )
        .header("content-type", "application/json")
        .body(r#"{"StageName":"Closed Won"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert!(sim.wait_for_notifications(WAIT, all_delivered(1)).await);
    let stored = sim.record(&rec(GLOBEX_PILOT)).unwrap();
    assert_eq!(
        stored.fields["LastModifiedById"].to_text(),
        sim.sales_rep_id().as_str()
    );
    assert_eq!(stored.fields["IsClosed"], FieldValue::Bool(true));
}

/// Sessions that die at once (a zero idle timeout) show that a refused call is re-sent only
/// once, with one new token, and then reported as retryable.
#[tokio::test]
async fn a_call_refused_after_a_fresh_token_is_retried_once_only() {
    let sim = sim_with(|c| c.session_timeout = Duration::ZERO).await;
    let client = client_with(&sim, "[salesforce]\napi_version = \"62.0\"");
    let err = client
        .read_opportunity(&opp(ACME_MIGRATION), &[])
        .await
        .unwrap_err();
    assert_eq!(codes(&err), vec![ErrorCode::InvalidSessionId]);
    assert!(err.is_retryable());
    assert_eq!(sim.token_requests(), 2, "the first token and one re-mint");
    let paths: Vec<_> = sim
        .requests()
        .into_iter()
        .map(|r| (r.path, r.status))
        .collect();
    assert_eq!(
        paths,
        vec![("/services/data/v62.0/query".to_owned(), 401); 2],
        "the configured API version, two attempts"
    );
}
