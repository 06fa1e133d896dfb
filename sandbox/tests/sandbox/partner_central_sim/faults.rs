//! What goes wrong on the wire: injected faults and missing resources as typed SDK errors, held
//! calls, quotas, unknown operations and broken bodies (ace-api.md §1, §7, §10).

use super::*;

#[tokio::test]
async fn a_held_call_waits_and_is_processed_on_release_even_if_its_caller_has_gone() {
    let sim = TestSim::new().await;
    sim.control().hold("CreateOpportunity");
    let request = create_request(&sim, "token-held");
    let caller = tokio::spawn(async move { request.send().await });
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.control().held("CreateOpportunity") == 0 {
        assert!(Instant::now() < deadline, "the call never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(sim.control().opportunities().is_empty());
    assert_eq!(sim.control().call_count("CreateOpportunity"), 0);
    caller.abort();
    let _ = caller.await;

    sim.control().release("CreateOpportunity");
    while sim.control().opportunities().is_empty() {
        assert!(Instant::now() < deadline, "the held call was not processed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sim.control().held("CreateOpportunity"), 0);
    // Released for good: the next call goes straight through, and replays the token.
    create(&sim, "token-held").await;
    assert_eq!(sim.control().opportunities().len(), 1);
    assert_eq!(sim.control().call_count("CreateOpportunity"), 2);
    sim.finish().await;
}

#[tokio::test]
async fn injected_faults_and_missing_resources_parse_into_their_typed_errors() {
    let sim = TestSim::new().await;
    let control = sim.control();
    let get_o1 = || async {
        sim.client
            .get_opportunity()
            .catalog("Sandbox")
            .identifier("O1")
            .send()
            .await
            .expect_err("an error")
            .into_service_error()
    };
    control.inject_fault("GetOpportunity", Fault::Throttling, 1);
    assert!(matches!(
        get_o1().await,
        GetOpportunityError::ThrottlingException(_)
    ));
    control.inject_fault("GetOpportunity", Fault::InternalServer, 1);
    assert!(matches!(
        get_o1().await,
        GetOpportunityError::InternalServerException(_)
    ));
    control.inject_fault("GetOpportunity", Fault::AccessDenied, 1);
    assert!(matches!(
        get_o1().await,
        GetOpportunityError::AccessDeniedException(_)
    ));
    // No fault left: O1 does not exist.
    assert!(matches!(
        get_o1().await,
        GetOpportunityError::ResourceNotFoundException(_)
    ));
    // ServiceQuotaExceeded where declared; elsewhere the nearest declared error (throttling).
    control.inject_fault(
        "StartEngagementFromOpportunityTask",
        Fault::ServiceQuotaExceeded,
        1,
    );
    let err = sim
        .client
        .start_engagement_from_opportunity_task()
        .catalog("Sandbox")
        .identifier("O1")
        .aws_submission(
            AwsSubmission::builder()
                .involvement_type(SalesInvolvementType::CoSell)
                .build()
                .expect("s"),
        )
        .send()
        .await
        .expect_err("q");
    assert!(matches!(err.into_service_error(), pcs::operation::start_engagement_from_opportunity_task::StartEngagementFromOpportunityTaskError::ServiceQuotaExceededException(_)));
    control.inject_fault("CreateOpportunity", Fault::ServiceQuotaExceeded, 1);
    let err = create_request(&sim, "quota")
        .send()
        .await
        .expect_err("not declared");
    assert!(matches!(
        err.into_service_error(),
        CreateOpportunityError::ThrottlingException(_)
    ));
    assert_eq!(
        control.output_violations().len(),
        1,
        "the substitution is recorded"
    );
    control.clear_faults();

    // The SDK retries 500s and throttling by itself: two faults, the third attempt succeeds.
    let retrying = client(sim.handle.endpoint_url(), true);
    let id = create(&sim, "retry").await;
    let before = control.call_count("GetOpportunity");
    control.inject_fault("GetOpportunity", Fault::InternalServer, 2);
    retrying
        .get_opportunity()
        .catalog("Sandbox")
        .identifier(&id)
        .send()
        .await
        .expect("retried");
    assert_eq!(control.call_count("GetOpportunity") - before, 3);
    let handle = sim.handle;
    handle.stop().await;
}

#[tokio::test]
async fn quotas_throttle_a_write_burst_and_the_daily_limit() {
    let mut config = SimConfig::for_tests();
    config.quotas = QuotaConfig {
        enabled: true,
        // A bucket of two that does not refill during the test: the third write is throttled
        // however slowly the machine runs.
        write: RateQuota {
            per_second: 0.0001,
            burst: 2,
            per_day: 10_000,
        },
        read: RateQuota {
            per_second: 10.0,
            burst: 10,
            per_day: 100_000,
        },
    };
    let sim = TestSim::start(config).await;
    create(&sim, "burst-1").await;
    create(&sim, "burst-2").await;
    let err = create_request(&sim, "burst-3")
        .send()
        .await
        .expect_err("throttled");
    match err.into_service_error() {
        CreateOpportunityError::ThrottlingException(e) => {
            assert_eq!(e.message(), Some("Rate exceeded"))
        }
        other => panic!("{other:?}"),
    }
    // Reads have their own bucket.
    sim.client
        .list_opportunities()
        .catalog("Sandbox")
        .send()
        .await
        .expect("read");
    sim.handle.stop().await;

    let mut config = SimConfig::for_tests();
    config.quotas = QuotaConfig {
        enabled: true,
        write: RateQuota {
            per_second: 1000.0,
            burst: 1000,
            per_day: 2,
        },
        read: RateQuota {
            per_second: 1000.0,
            burst: 1000,
            per_day: 100_000,
        },
    };
    let sim = TestSim::start(config).await;
    create(&sim, "daily-1").await;
    create(&sim, "daily-2").await;
    // StartEngagementFromOpportunityTask declares ServiceQuotaExceededException...
    let err = sim
        .client
        .start_engagement_from_opportunity_task()
        .catalog("Sandbox")
        .identifier("O1000001")
        .aws_submission(
            AwsSubmission::builder()
                .involvement_type(SalesInvolvementType::CoSell)
                .build()
                .expect("s"),
        )
        .send()
        .await
        .expect_err("daily");
    assert!(matches!(err.into_service_error(), pcs::operation::start_engagement_from_opportunity_task::StartEngagementFromOpportunityTaskError::ServiceQuotaExceededException(_)));
    // ...CreateOpportunity does not, and hears throttling.
    let err = create_request(&sim, "daily-3")
        .send()
        .await
        .expect_err("daily");
    assert!(matches!(
        err.into_service_error(),
        CreateOpportunityError::ThrottlingException(_)
    ));
    sim.handle.stop().await;
}

#[tokio::test]
async fn the_wire_answers_unknown_operations_and_broken_bodies_like_aws() {
    let sim = TestSim::new().await;
    let http = reqwest::Client::new();
    let post = |target: Option<&str>, path: &str, body: &str| {
        let mut request = http
            .post(format!("{}{path}", sim.handle.endpoint_url()))
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/partnercentral-selling/aws4_request, SignedHeaders=host, Signature=00")
            .body(body.to_owned());
        if let Some(t) = target {
            request = request.header("x-AMZ-target", t);
        }
        request.send()
    };
    let r = post(Some("AWSPartnerCentralSelling.DeleteEverything"), "/", "{}")
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.headers()
            .get("x-amzn-ErrorType")
            .and_then(|v| v.to_str().ok()),
        Some("UnknownOperationException")
    );
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body["__type"],
        "com.amazon.coral.service#UnknownOperationException"
    );
    let r = post(Some("SomeOtherService.GetOpportunity"), "/", "{}")
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let r = post(
        Some("AWSPartnerCentralSelling.GetOpportunity"),
        "/",
        "{not json",
    )
    .await
    .expect("post");
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.headers()
            .get("x-amzn-ErrorType")
            .and_then(|v| v.to_str().ok()),
        Some("SerializationException")
    );
    // The form of AWS's Postman collection: the operation in the path, no target.
    let r = post(
        None,
        "/ListSolutions",
        r#"{"Catalog":"Sandbox","MaxResults":1}"#,
    )
    .await
    .expect("post");
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("x-amzn-RequestId").is_some());
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-amz-json-1.0")
    );
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["SolutionSummaries"].as_array().map(Vec::len), Some(1));
    // Validation errors carry the modelled members.
    let r = post(
        Some("AWSPartnerCentralSelling.GetOpportunity"),
        "/",
        r#"{"Catalog":"Sandbox"}"#,
    )
    .await
    .expect("post");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["Reason"], "REQUEST_VALIDATION_FAILED");
    assert_eq!(body["ErrorList"][0]["FieldName"], "Identifier");
    assert_eq!(body["ErrorList"][0]["Code"], "REQUIRED_FIELD_MISSING");
    sim.finish().await;
}
