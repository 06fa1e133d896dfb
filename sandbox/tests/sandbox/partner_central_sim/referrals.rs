//! AWS referrals: engagement invitations listed, read, accepted through
//! StartEngagementByAcceptingInvitationTask or rejected (ace-api.md §3, §9).

use super::*;

#[tokio::test]
async fn aws_referrals_arrive_as_invitations_that_can_be_accepted_or_rejected() {
    let sim = TestSim::new().await;
    let invitation = sim
        .control()
        .create_aws_invitation(&InvitationSpec::default());
    let list = sim
        .client
        .list_engagement_invitations()
        .catalog("Sandbox")
        .participant_type(ParticipantType::Receiver)
        .send()
        .await
        .expect("list");
    let summaries = list.engagement_invitation_summaries();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].id(), invitation);
    assert_eq!(
        summaries[0].status(),
        Some(&pcs::types::InvitationStatus::Pending)
    );
    let got = sim
        .client
        .get_engagement_invitation()
        .catalog("Sandbox")
        .identifier(&invitation)
        .send()
        .await
        .expect("get");
    let payload = match got.payload() {
        Some(pcs::types::Payload::OpportunityInvitation(p)) => p.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        payload.customer().map(|c| c.company_name()),
        Some("Northwind Traders")
    );
    assert_eq!(
        payload.project().map(|p| p.title()),
        Some("Contact center modernization")
    );

    let accept = |token: &str, id: &str| {
        sim.client
            .start_engagement_by_accepting_invitation_task()
            .catalog("Sandbox")
            .client_token(token)
            .identifier(id)
            .send()
    };
    let task = accept("accept-1", &invitation).await.expect("accept");
    assert_eq!(task.task_status(), Some(&pcs::types::TaskStatus::Complete));
    let opportunity = task.opportunity_id().expect("opportunity").to_owned();
    // Calling again with the same token reports the same task.
    let again = accept("accept-1", &invitation).await.expect("replay");
    assert_eq!(again.task_id(), task.task_id());
    let created = get(&sim, &opportunity).await;
    assert_eq!(
        created.project().and_then(|p| p.title()),
        Some("Contact center modernization")
    );
    assert_eq!(
        created.life_cycle().and_then(|l| l.stage()),
        Some(&Stage::Prospect)
    );
    let summary = sim
        .client
        .get_aws_opportunity_summary()
        .catalog("Sandbox")
        .related_opportunity_identifier(&opportunity)
        .send()
        .await
        .expect("summary");
    assert_eq!(summary.origin(), Some(&OpportunityOrigin::AwsReferral));
    let tasks = sim
        .client
        .list_engagement_by_accepting_invitation_tasks()
        .catalog("Sandbox")
        .send()
        .await
        .expect("tasks");
    assert_eq!(tasks.task_summaries().len(), 1);
    assert_eq!(
        sim.control().invitation_status(&invitation).as_deref(),
        Some("ACCEPTED")
    );
    // Accepting it with another token: the task fails, it is not an error.
    let conflict = accept("accept-2", &invitation).await.expect("task");
    assert_eq!(
        conflict.task_status(),
        Some(&pcs::types::TaskStatus::Failed)
    );
    assert_eq!(
        conflict.reason_code(),
        Some(&pcs::types::ReasonCode::EngagementInvitationConflict)
    );

    // Rejecting a second one, then again (a conflict).
    let second = sim.control().create_aws_invitation(&InvitationSpec {
        title: "Data lake".into(),
        ..InvitationSpec::default()
    });
    let reject = || {
        sim.client
            .reject_engagement_invitation()
            .catalog("Sandbox")
            .identifier(&second)
            .rejection_reason("Customer problem unclear")
            .send()
    };
    reject().await.expect("reject");
    assert_eq!(
        sim.control().invitation_status(&second).as_deref(),
        Some("REJECTED")
    );
    match reject().await.expect_err("twice").into_service_error() {
        pcs::operation::reject_engagement_invitation::RejectEngagementInvitationError::ConflictException(_) => {}
        other => panic!("{other:?}"),
    }
    // An expired one cannot be accepted.
    let third = sim
        .control()
        .create_aws_invitation(&InvitationSpec::default());
    assert!(sim.control().expire_invitation(&third));
    let expired = accept("accept-3", &third).await.expect("task");
    assert_eq!(
        expired.reason_code(),
        Some(&pcs::types::ReasonCode::InvitationValidationFailed)
    );
    // Status filter.
    let pending = sim
        .client
        .list_engagement_invitations()
        .catalog("Sandbox")
        .participant_type(ParticipantType::Receiver)
        .status(pcs::types::InvitationStatus::Rejected)
        .send()
        .await
        .expect("list");
    assert_eq!(pending.engagement_invitation_summaries().len(), 1);
    let types: Vec<String> = sim
        .control()
        .events()
        .iter()
        .filter_map(|e| e["detail-type"].as_str().map(str::to_owned))
        .collect();
    for expected in [
        "Engagement Invitation Created",
        "Engagement Invitation Accepted",
        "Engagement Invitation Rejected",
        "Engagement Invitation Expired",
        "Opportunity Created",
    ] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} in {types:?}"
        );
    }
    let unknown = sim
        .client
        .get_engagement_invitation()
        .catalog("Sandbox")
        .identifier("engi-0000000000000")
        .send()
        .await
        .expect_err("unknown");
    assert!(matches!(unknown.into_service_error(), pcs::operation::get_engagement_invitation::GetEngagementInvitationError::ResourceNotFoundException(_)));
    sim.finish().await;
}
