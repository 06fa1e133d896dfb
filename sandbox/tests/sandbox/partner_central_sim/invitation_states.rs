//! How AWS's referrals end and are found: rejected with the documented reasons (1–80
//! printable characters), expired on their own after their window, and listed by status and
//! participant type (ace-api.md §3 ListEngagementInvitations, RejectEngagementInvitation, §8).

use super::*;

#[tokio::test]
async fn referrals_are_rejected_with_the_documented_reasons() {
    let sim = TestSim::new().await;
    let reject = |id: String, reason: String| {
        sim.client
            .reject_engagement_invitation()
            .catalog("Sandbox")
            .identifier(id)
            .rejection_reason(reason)
            .send()
    };
    let reasons = [
        "Customer problem unclear",
        "Next steps unclear",
        "Unable to support",
        "Duplicate of partner referral",
        "Other",
    ];
    for reason in reasons {
        let id = sim
            .control()
            .create_aws_invitation(&InvitationSpec::default())
            .expect("a valid referral");
        reject(id.clone(), reason.to_owned())
            .await
            .expect("rejected");
        let got = sim
            .client
            .get_engagement_invitation()
            .catalog("Sandbox")
            .identifier(&id)
            .send()
            .await
            .expect("get");
        assert_eq!(got.status(), Some(&pcs::types::InvitationStatus::Rejected));
        assert_eq!(got.rejection_reason(), Some(reason));
    }
    // 1–80 printable characters: longer, or with a control character, is refused.
    let pending = sim
        .control()
        .create_aws_invitation(&InvitationSpec::default())
        .expect("a valid referral");
    for bad in ["x".repeat(81), "Unable\u{7}to support".to_owned()] {
        let e = reject(pending.clone(), bad)
            .await
            .expect_err("refused")
            .into_service_error();
        match e {
            pcs::operation::reject_engagement_invitation::RejectEngagementInvitationError::ValidationException(v) => {
                assert_eq!(fields(&v)[0].0, "RejectionReason");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        sim.control().invitation_status(&pending).as_deref(),
        Some("PENDING")
    );
    let rejected_events = sim
        .control()
        .events()
        .iter()
        .filter(|e| e["detail-type"] == "Engagement Invitation Rejected")
        .count();
    assert_eq!(rejected_events, reasons.len());
    sim.finish().await;
}

#[tokio::test]
async fn an_unanswered_referral_expires_on_its_own() {
    let sim = TestSim::start(SimConfig {
        invitation_expiry: Duration::from_millis(200),
        ..SimConfig::for_tests()
    })
    .await;
    let short = sim
        .control()
        .create_aws_invitation(&InvitationSpec::default())
        .expect("a valid referral");
    let long = sim
        .control()
        .create_aws_invitation(&InvitationSpec {
            expires_in: Some(Duration::from_secs(3600)),
            ..InvitationSpec::default()
        })
        .expect("a valid referral");
    // No call is needed: the expiry is AWS's doing.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.control().invitation_status(&short).as_deref() != Some("EXPIRED") {
        assert!(Instant::now() < deadline, "still pending after 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let expired: Vec<Value> = sim
        .control()
        .events()
        .into_iter()
        .filter(|e| e["detail-type"] == "Engagement Invitation Expired")
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(
        expired[0]["detail"]["engagementInvitation"]["id"],
        short.as_str()
    );
    assert_eq!(
        sim.control().invitation_status(&long).as_deref(),
        Some("PENDING")
    );
    let listed = sim
        .client
        .list_engagement_invitations()
        .catalog("Sandbox")
        .participant_type(ParticipantType::Receiver)
        .status(pcs::types::InvitationStatus::Expired)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.engagement_invitation_summaries().len(), 1);
    // Too late to answer.
    let task = sim
        .client
        .start_engagement_by_accepting_invitation_task()
        .catalog("Sandbox")
        .client_token("late")
        .identifier(&short)
        .send()
        .await
        .expect("a task");
    assert_eq!(task.task_status(), Some(&pcs::types::TaskStatus::Failed));
    assert_eq!(
        task.reason_code(),
        Some(&pcs::types::ReasonCode::InvitationValidationFailed)
    );
    let rejected = sim
        .client
        .reject_engagement_invitation()
        .catalog("Sandbox")
        .identifier(&short)
        .rejection_reason("Other")
        .send()
        .await
        .expect_err("expired");
    assert!(matches!(
        rejected.into_service_error(),
        pcs::operation::reject_engagement_invitation::RejectEngagementInvitationError::ConflictException(_)
    ));
    sim.finish().await;
}

#[tokio::test]
async fn invitations_are_listed_by_status_and_participant_type() {
    let sim = TestSim::new().await;
    let ids: Vec<String> = (0..3)
        .map(|n| {
            sim.control()
                .create_aws_invitation(&InvitationSpec {
                    title: format!("Referral {n}"),
                    ..InvitationSpec::default()
                })
                .expect("a valid referral")
        })
        .collect();
    sim.client
        .reject_engagement_invitation()
        .catalog("Sandbox")
        .identifier(&ids[0])
        .rejection_reason("Unable to support")
        .send()
        .await
        .expect("reject");
    sim.client
        .start_engagement_by_accepting_invitation_task()
        .catalog("Sandbox")
        .client_token("accept")
        .identifier(&ids[1])
        .send()
        .await
        .expect("accept");
    // A submission sends an invitation of our own, to AWS.
    submitted(&sim, "sent").await;
    let list = |participant: ParticipantType, statuses: &[pcs::types::InvitationStatus]| {
        sim.client
            .list_engagement_invitations()
            .catalog("Sandbox")
            .participant_type(participant)
            .set_status((!statuses.is_empty()).then(|| statuses.to_vec()))
            .send()
    };
    use pcs::types::InvitationStatus as S;
    let count =
        |o: pcs::operation::list_engagement_invitations::ListEngagementInvitationsOutput| {
            o.engagement_invitation_summaries()
                .iter()
                .map(|s| s.id().to_owned())
                .collect::<Vec<_>>()
        };
    assert_eq!(
        count(list(ParticipantType::Receiver, &[]).await.expect("all")).len(),
        3
    );
    assert_eq!(
        count(
            list(ParticipantType::Receiver, &[S::Pending])
                .await
                .expect("p")
        ),
        vec![ids[2].clone()]
    );
    assert_eq!(
        count(
            list(ParticipantType::Receiver, &[S::Accepted])
                .await
                .expect("a")
        ),
        vec![ids[1].clone()]
    );
    assert_eq!(
        count(
            list(ParticipantType::Receiver, &[S::Pending, S::Rejected])
                .await
                .expect("p+r")
        )
        .len(),
        2
    );
    let sent = list(ParticipantType::Sender, &[]).await.expect("sent");
    assert_eq!(sent.engagement_invitation_summaries().len(), 1);
    assert_eq!(
        sent.engagement_invitation_summaries()[0].participant_type(),
        Some(&ParticipantType::Sender)
    );
    assert!(!ids.contains(&sent.engagement_invitation_summaries()[0].id().to_owned()));
    sim.finish().await;
}
