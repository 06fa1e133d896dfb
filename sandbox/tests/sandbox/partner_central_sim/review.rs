//! AWS's review: updates locked while in review and limited while Action Required or after
//! approval, the default reviewer's decisions and their events, the Sandbox simulation, automatic
//! timing, and the call log and history a timeline reads (ace-api.md §8, §9).

use super::*;

#[tokio::test]
async fn updates_are_refused_in_review_and_limited_to_the_editable_fields_in_action_required() {
    let mut config = SimConfig::for_tests();
    config.review.policy = ReviewPolicy::Fixed(ReviewDecision::ActionRequired {
        reason: "Clarify Revenue".to_owned(),
        comments: "Explain the expected spend.".to_owned(),
    });
    let sim = TestSim::start(config).await;
    let id = submitted(&sim, "locks").await;
    let got = get(&sim, &id).await;
    assert_eq!(review_status(&got), Some(ReviewStatus::Submitted));
    // Submitted: read-only. The review status cannot be written by the partner either.
    let e = update_validation(update_from(&sim, &got).send().await.expect_err("locked"));
    assert_eq!(
        fields(&e),
        vec![(
            "LifeCycle.ReviewStatus".to_owned(),
            ValidationExceptionErrorCode::InvalidResourceState
        )]
    );
    assert!(
        e.error_list()[0]
            .message()
            .starts_with("Record is not editable.")
    );
    let steps = sim.control().advance_reviews();
    assert_eq!(steps[0].to, "In review");
    let got = get(&sim, &id).await;
    let e = update_validation(
        update_from(&sim, &got)
            .send()
            .await
            .expect_err("locked in review"),
    );
    assert_eq!(
        e.error_list()[0].code(),
        &ValidationExceptionErrorCode::InvalidResourceState
    );

    let steps = sim.control().advance_reviews();
    assert_eq!(steps[0].to, "Action Required");
    let got = get(&sim, &id).await;
    let lc = got.life_cycle().expect("lifecycle");
    assert_eq!(lc.review_comments(), Some("Explain the expected spend."));
    assert_eq!(lc.review_status_reason(), Some("Clarify Revenue"));
    // A field outside the Action Required set is named in the refusal.
    let mut changed = got.customer().cloned().expect("customer");
    if let Some(account) = changed.account.as_mut() {
        account.industry = Some(Industry::Healthcare);
    }
    let e = update_validation(
        update_from(&sim, &got)
            .customer(changed)
            .send()
            .await
            .expect_err("not editable"),
    );
    assert_eq!(
        fields(&e),
        vec![(
            "Customer.Account.Industry".to_owned(),
            ValidationExceptionErrorCode::ActionNotPermitted
        )]
    );
    // The fields AWS asked about can change; the update sends it back into review.
    let mut fixed = got.project().cloned().expect("project");
    fixed.expected_customer_spend = Some(vec![spend("20000")]);
    fixed.customer_business_problem = Some(format!(
        "{GOOD_PROBLEM} The spend covers Aurora and the migration tooling."
    ));
    update_from(&sim, &got)
        .project(fixed)
        .send()
        .await
        .expect("editable fields");
    let after = get(&sim, &id).await;
    assert_eq!(review_status(&after), Some(ReviewStatus::Submitted));
    assert_eq!(
        after
            .project()
            .and_then(|p| p.expected_customer_spend().first())
            .map(|s| s.amount()),
        Some("20000")
    );
    sim.finish().await;
}

#[tokio::test]
async fn locked_fields_cannot_change_after_approval_and_rejected_is_read_only() {
    let mut config = SimConfig::for_tests();
    config.review.policy = ReviewPolicy::Fixed(ReviewDecision::Approve);
    let sim = TestSim::start(config).await;
    let id = submitted(&sim, "approved").await;
    sim.control().complete_reviews();
    let got = get(&sim, &id).await;
    assert_eq!(review_status(&got), Some(ReviewStatus::Approved));
    let mut retitled = got.project().cloned().expect("project");
    retitled.title = Some("A new title".to_owned());
    let e = update_validation(
        update_from(&sim, &got)
            .project(retitled)
            .send()
            .await
            .expect_err("title locked"),
    );
    assert_eq!(
        fields(&e),
        vec![(
            "Project.Title".to_owned(),
            ValidationExceptionErrorCode::ActionNotPermitted
        )]
    );
    assert_eq!(
        e.error_list()[0].message(),
        "Field Project.Title cannot be updated after the opportunity is approved."
    );
    // Pipeline fields stay writable.
    update_from(&sim, &got)
        .life_cycle(
            LifeCycle::builder()
                .stage(Stage::Committed)
                .target_close_date(in_days(45))
                .next_steps("Sign the SOW")
                .build(),
        )
        .send()
        .await
        .expect("stage");

    let id = submitted(&sim, "rejected").await;
    sim.control().advance_reviews();
    assert_eq!(
        sim.control().decide_review(
            &id,
            ReviewDecision::Reject {
                reason: "Other".into(),
                comments: "Duplicate of O42.".into()
            }
        ),
        Some("Rejected".to_owned())
    );
    let got = get(&sim, &id).await;
    let e = update_validation(update_from(&sim, &got).send().await.expect_err("rejected"));
    assert_eq!(
        e.error_list()[0].code(),
        &ValidationExceptionErrorCode::InvalidResourceState
    );
    sim.finish().await;
}

/// The default review rules decide each outcome; the events land on a real (moto) SQS queue
/// exactly as EventBridge would put them there.
#[tokio::test]
async fn review_rules_decide_each_outcome_and_events_reach_sqs_as_eventbridge_events() {
    let sqs_client = sqs::shared_client();
    let queue_url = sqs_client
        .create_queue()
        .queue_name(sqs::unique_name("pc-events"))
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("url")
        .to_owned();
    let mut config = SimConfig::for_tests();
    config.review.policy = ReviewPolicy::Rules(ReviewRules::default());
    config.event_sinks = vec![std::sync::Arc::new(SqsEventSink::new(
        sqs_client.clone(),
        queue_url.clone(),
    ))];
    let sim = TestSim::start(config).await;

    let good = submitted(&sim, "good").await;
    // Generic business problem: rejected.
    let generic = create_request(&sim, "generic")
        .project(
            Project::builder()
                .title("Cloud")
                .customer_business_problem("Cloud migration to AWS services")
                .customer_use_case("Migration/Database Migration")
                .delivery_models(DeliveryModel::ProfessionalServices)
                .sales_activities(SalesActivity::InitializedDiscussionsWithCustomer)
                .expected_customer_spend(spend("500"))
                .build(),
        )
        .send()
        .await
        .expect("create")
        .id()
        .to_owned();
    associate(&sim, &generic, RelatedEntityType::Solutions, "S-1234567").await;
    associate(
        &sim,
        &generic,
        RelatedEntityType::AwsProducts,
        "AmazonBedrock",
    )
    .await;
    start_engagement(&sim, &generic).await;
    // No AWS product: action required.
    let no_product = create(&sim, "no-product").await;
    associate(&sim, &no_product, RelatedEntityType::Solutions, "S-1234567").await;
    start_engagement(&sim, &no_product).await;

    let steps = sim.control().complete_reviews();
    assert_eq!(steps.len(), 6, "two steps each: {steps:?}");
    let status = |id: &str| sim.control().review_status(id);
    assert_eq!(status(&good).as_deref(), Some("Approved"));
    assert_eq!(status(&generic).as_deref(), Some("Rejected"));
    assert_eq!(status(&no_product).as_deref(), Some("Action Required"));

    // Rejected: comments and reason for the partner.
    let rejected = get(&sim, &generic).await;
    let lc = rejected.life_cycle().expect("lifecycle");
    assert!(
        lc.review_comments()
            .is_some_and(|c| c.contains("too generic"))
    );
    assert_eq!(lc.review_status_reason(), Some("Other"));
    let ar = get(&sim, &no_product).await;
    assert_eq!(
        ar.life_cycle().and_then(|l| l.review_status_reason()),
        Some("Clarify Solution")
    );
    // Approved: AWS's side in GetAwsOpportunitySummary.
    let summary = sim
        .client
        .get_aws_opportunity_summary()
        .catalog("Sandbox")
        .related_opportunity_identifier(&good)
        .send()
        .await
        .expect("summary");
    assert_eq!(summary.related_opportunity_id(), Some(good.as_str()));
    assert_eq!(
        summary.involvement_type(),
        Some(&SalesInvolvementType::CoSell)
    );
    assert_eq!(summary.origin(), Some(&OpportunityOrigin::PartnerReferral));
    let titles: Vec<&str> = summary
        .opportunity_team()
        .iter()
        .filter_map(|m| m.business_title())
        .map(|t| t.as_str())
        .collect();
    assert_eq!(titles, vec!["AWSSalesRep", "PDM", "PSM"]);
    let insights = summary.insights().expect("insights");
    assert_eq!(
        insights.engagement_score().map(|s| s.as_str()),
        Some("High")
    );
    assert!(insights.next_best_actions().is_some());
    assert!(summary.life_cycle().and_then(|l| l.next_steps()).is_some());
    assert_eq!(
        summary
            .related_entity_ids()
            .map(|r| r.aws_products().to_vec()),
        Some(vec!["AmazonConnectCases".to_owned()])
    );
    // Never submitted: AWS has no side yet.
    let fresh = create(&sim, "fresh").await;
    let err = sim
        .client
        .get_aws_opportunity_summary()
        .catalog("Sandbox")
        .related_opportunity_identifier(&fresh)
        .send()
        .await
        .expect_err("no summary");
    assert!(matches!(err.into_service_error(), pcs::operation::get_aws_opportunity_summary::GetAwsOpportunitySummaryError::ResourceNotFoundException(_)));

    sim.control().flush_events().await;
    let bodies = sqs::drain(&sqs_client, &queue_url).await;
    let events: Vec<Value> = bodies
        .iter()
        .map(|b| serde_json::from_str(b).expect("event JSON"))
        .collect();
    assert_eq!(events.len(), sim.control().events().len());
    for event in &events {
        assert_eq!(event["source"], "aws.partnercentral-selling");
        assert_eq!(event["region"], "us-east-1");
        assert_eq!(event["account"], "123456789012");
        assert_eq!(event["detail"]["catalog"], "Sandbox");
        assert!(event["id"].as_str().is_some_and(|i| i.len() == 36));
    }
    let of = |detail_type: &str, id: &str| {
        events
            .iter()
            .filter(|e| {
                e["detail-type"] == detail_type && e["detail"]["opportunity"]["identifier"] == id
            })
            .count()
    };
    for id in [&good, &generic, &no_product] {
        assert_eq!(of("Opportunity Created", id), 1, "{id}");
        // Associations, submission, In review, decision.
        assert!(of("Opportunity Updated", id) >= 3, "{id}");
    }
    let types: Vec<&str> = events
        .iter()
        .filter_map(|e| e["detail-type"].as_str())
        .collect();
    for expected in [
        "Engagement Created",
        "Engagement Invitation Created",
        "Engagement Invitation Accepted",
        "Engagement Invitation Rejected",
    ] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
    sim.finish().await;
}

#[tokio::test]
async fn the_sandbox_simulates_reviews_through_update_opportunity() {
    let sim = TestSim::new().await;
    let id = submitted(&sim, "sandbox-review").await;
    let got = get(&sim, &id).await;
    // As AWS's SimulateReview sample does: the GET payload with ReviewStatus changed.
    let mut lc = got.life_cycle().cloned().expect("lifecycle");
    lc.review_status = Some(ReviewStatus::Approved);
    update_from(&sim, &got)
        .life_cycle(lc)
        .send()
        .await
        .expect("simulate approval");
    let approved = get(&sim, &id).await;
    assert_eq!(review_status(&approved), Some(ReviewStatus::Approved));
    // Approved → Submitted is not a transition the sandbox allows.
    let mut back = approved.life_cycle().cloned().expect("lifecycle");
    back.review_status = Some(ReviewStatus::Submitted);
    let e = update_validation(
        update_from(&sim, &approved)
            .life_cycle(back)
            .send()
            .await
            .expect_err("transition"),
    );
    assert_eq!(
        e.error_list()[0].message(),
        "Cannot transition opportunity from status 'Approved' to 'Submitted'."
    );
    sim.finish().await;
}

#[tokio::test]
async fn automatic_reviews_move_on_their_own() {
    let mut config = SimConfig::for_tests();
    config.review.timing = ReviewTiming::Automatic {
        in_review_after: Duration::ZERO,
        decision_after: Duration::ZERO,
    };
    config.review.policy = ReviewPolicy::Fixed(ReviewDecision::Approve);
    let sim = TestSim::start(config).await;
    let id = submitted(&sim, "auto").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if review_status(&get(&sim, &id).await) == Some(ReviewStatus::Approved) {
            break;
        }
        assert!(Instant::now() < deadline, "the review did not complete");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sim.finish().await;
}

#[tokio::test]
async fn the_call_log_and_the_opportunity_history_record_what_happened_in_order() {
    let sim = TestSim::new().await;
    let before = tokio::time::Instant::now();
    let id = submitted(&sim, "logged").await;
    let missing = sim
        .client
        .get_opportunity()
        .catalog("Sandbox")
        .identifier("O9999999")
        .send()
        .await;
    assert!(missing.is_err());
    sim.control().decide_review(&id, ReviewDecision::Approve);

    let log = sim.control().call_log();
    let calls: Vec<(&str, Option<&str>, Option<&str>)> = log
        .iter()
        .map(|c| (c.operation.as_str(), c.resource_id.as_deref(), c.error))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("CreateOpportunity", Some(id.as_str()), None),
            ("AssociateOpportunity", Some(id.as_str()), None),
            ("AssociateOpportunity", Some(id.as_str()), None),
            (
                "StartEngagementFromOpportunityTask",
                Some(id.as_str()),
                None
            ),
            (
                "GetOpportunity",
                Some("O9999999"),
                Some("ResourceNotFoundException")
            ),
        ]
    );
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(log[0].at >= before);

    let changes = sim.control().opportunity_history();
    let history: Vec<(&str, &str)> = changes
        .iter()
        .filter(|c| c.opportunity_id == id)
        .map(|c| (c.detail_type, c.review_status.as_str()))
        .collect();
    assert_eq!(
        history.first(),
        Some(&("Opportunity Created", "Pending Submission"))
    );
    assert!(
        history.contains(&("Opportunity Updated", "Submitted")),
        "{history:?}"
    );
    assert_eq!(history.last(), Some(&("Opportunity Updated", "Approved")));
    sim.finish().await;
}
