//! The asynchronous Start…Task tasks (ace-api.md §3 StartEngagementFromOpportunityTask,
//! StartEngagementByAcceptingInvitationTask): `IN_PROGRESS` first, their effects only when they
//! end `COMPLETE` or `FAILED` (with AWS's reason), their current state through List…Tasks and
//! through a repeated call with the same ClientToken, and the lists' filters, sort and pages.

use pcs::operation::start_engagement_from_opportunity_task::StartEngagementFromOpportunityTaskError;
use pcs::types::{ListEngagementFromOpportunityTaskSummary, ReasonCode, SortOrder, TaskStatus};

use super::*;

/// A simulator whose tasks end only when the test says so.
async fn manual() -> TestSim {
    TestSim::start(SimConfig {
        tasks: TaskTiming::Manual,
        ..SimConfig::for_tests()
    })
    .await
}

/// A created opportunity with a solution and an AWS product, ready to submit.
async fn ready(sim: &TestSim, token: &str) -> String {
    let id = create(sim, token).await;
    associate(sim, &id, RelatedEntityType::Solutions, "S-1234567").await;
    associate(
        sim,
        &id,
        RelatedEntityType::AwsProducts,
        "AmazonConnectCases",
    )
    .await;
    id
}

fn co_sell() -> AwsSubmission {
    AwsSubmission::builder()
        .involvement_type(SalesInvolvementType::CoSell)
        .build()
        .expect("submission")
}

/// StartEngagementFromOpportunityTask with an explicit ClientToken.
fn start_with_token(
    sim: &TestSim,
    id: &str,
    token: &str,
) -> pcs::operation::start_engagement_from_opportunity_task::builders::StartEngagementFromOpportunityTaskFluentBuilder{
    sim.client
        .start_engagement_from_opportunity_task()
        .catalog("Sandbox")
        .client_token(token)
        .identifier(id)
        .aws_submission(co_sell())
}

/// The task as ListEngagementFromOpportunityTasks reports it now.
async fn listed(sim: &TestSim, task_id: &str) -> ListEngagementFromOpportunityTaskSummary {
    let list = sim
        .client
        .list_engagement_from_opportunity_tasks()
        .catalog("Sandbox")
        .task_identifier(task_id)
        .send()
        .await
        .expect("list tasks");
    assert_eq!(list.task_summaries().len(), 1, "{list:?}");
    list.task_summaries()[0].clone()
}

/// Polls ListEngagementFromOpportunityTasks until the task is no longer in progress.
async fn ended(sim: &TestSim, task_id: &str) -> ListEngagementFromOpportunityTaskSummary {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let summary = listed(sim, task_id).await;
        if summary.task_status() != Some(&TaskStatus::InProgress) {
            return summary;
        }
        assert!(
            Instant::now() < deadline,
            "task {task_id} still in progress after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn detail_types(sim: &TestSim) -> Vec<String> {
    sim.control()
        .events()
        .iter()
        .filter_map(|e| e["detail-type"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_submission_task_is_in_progress_until_it_completes_as_the_list_reports() {
    let sim = TestSim::start(SimConfig {
        tasks: TaskTiming::After(Duration::from_millis(300)),
        ..SimConfig::for_tests()
    })
    .await;
    let id = ready(&sim, "async-1").await;
    let events_before = detail_types(&sim).len();
    let started = start_engagement(&sim, &id).await;
    assert_eq!(started.task_status(), Some(&TaskStatus::InProgress));
    assert_eq!(started.opportunity_id(), Some(id.as_str()));
    let task_id = started.task_id().expect("task id").to_owned();
    assert!(
        task_id.starts_with("task-") && task_id.len() == 18,
        "{task_id}"
    );
    // Nothing has happened yet: no engagement, no submission, no event.
    assert_eq!(started.engagement_id(), None);
    assert_eq!(started.engagement_invitation_id(), None);
    assert_eq!(started.resource_snapshot_job_id(), None);
    assert_eq!(
        review_status(&get(&sim, &id).await),
        Some(ReviewStatus::PendingSubmission)
    );
    assert_eq!(detail_types(&sim).len(), events_before);

    let done = ended(&sim, &task_id).await;
    assert_eq!(done.task_status(), Some(&TaskStatus::Complete), "{done:?}");
    assert_eq!(done.reason_code(), None);
    assert!(done.engagement_id().is_some_and(|e| e.starts_with("eng-")));
    assert!(
        done.engagement_invitation_id()
            .is_some_and(|e| e.starts_with("engi-"))
    );
    assert!(
        done.resource_snapshot_job_id()
            .is_some_and(|j| j.starts_with("job-"))
    );
    assert_eq!(done.start_time(), started.start_time());
    assert_eq!(
        review_status(&get(&sim, &id).await),
        Some(ReviewStatus::Submitted)
    );
    let after: Vec<String> = detail_types(&sim).split_off(events_before);
    assert_eq!(
        after,
        [
            "Engagement Created",
            "Engagement Invitation Created",
            "Opportunity Updated"
        ]
    );
    sim.finish().await;
}

#[tokio::test]
async fn a_task_fails_with_aws_reason_when_the_opportunity_misses_what_submission_requires() {
    let sim = manual().await;
    // No solution is associated: the submission rules refuse it when the task runs.
    let id = create(&sim, "no-solution").await;
    let started = start_engagement(&sim, &id).await;
    assert_eq!(started.task_status(), Some(&TaskStatus::InProgress));
    let task_id = started.task_id().expect("task id").to_owned();
    assert_eq!(sim.control().finish_tasks(), vec![task_id.clone()]);
    let failed = sim
        .client
        .list_engagement_from_opportunity_tasks()
        .catalog("Sandbox")
        .task_status(TaskStatus::Failed)
        .send()
        .await
        .expect("list")
        .task_summaries()
        .to_vec();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].task_id(), Some(task_id.as_str()));
    assert_eq!(
        failed[0].reason_code(),
        Some(&ReasonCode::OpportunityValidationFailed)
    );
    assert_eq!(
        failed[0].message(),
        Some("Field RelatedEntityIdentifiers.Solutions is required for opportunity submission.")
    );
    assert_eq!(failed[0].engagement_id(), None);
    assert_eq!(
        review_status(&get(&sim, &id).await),
        Some(ReviewStatus::PendingSubmission)
    );

    // What the opportunity lacks is checked when the task runs, not when it starts: one
    // started ready but moved into review meanwhile fails as a submission of the wrong state.
    let ready_id = ready(&sim, "ready").await;
    let first = start_with_token(&sim, &ready_id, "first")
        .send()
        .await
        .expect("first");
    let second = start_with_token(&sim, &ready_id, "second")
        .send()
        .await
        .expect("second");
    sim.control().finish_tasks();
    let first = listed(&sim, first.task_id().unwrap()).await;
    let second = listed(&sim, second.task_id().unwrap()).await;
    assert_eq!(first.task_status(), Some(&TaskStatus::Complete));
    assert_eq!(second.task_status(), Some(&TaskStatus::Failed));
    assert_eq!(
        second.reason_code(),
        Some(&ReasonCode::OpportunitySubmissionFailed)
    );
    assert_eq!(
        second.message(),
        Some("Cannot transition opportunity from status 'Submitted' to 'Submitted'.")
    );
    sim.finish().await;
}

#[tokio::test]
async fn a_replayed_start_returns_the_same_task_in_its_current_state() {
    let sim = manual().await;
    let id = ready(&sim, "replay").await;
    let first = start_with_token(&sim, &id, "token-1")
        .send()
        .await
        .expect("start");
    let task_id = first.task_id().expect("task id").to_owned();
    // While in progress: the same task, still in progress.
    let again = start_with_token(&sim, &id, "token-1")
        .send()
        .await
        .expect("replay");
    assert_eq!(again.task_id(), Some(task_id.as_str()));
    assert_eq!(again.task_status(), Some(&TaskStatus::InProgress));
    assert_eq!(again.start_time(), first.start_time());
    // The same token with another body is a conflict, not a new task.
    let conflict = sim
        .client
        .start_engagement_from_opportunity_task()
        .catalog("Sandbox")
        .client_token("token-1")
        .identifier(&id)
        .aws_submission(
            AwsSubmission::builder()
                .involvement_type(SalesInvolvementType::ForVisibilityOnly)
                .build()
                .expect("submission"),
        )
        .send()
        .await
        .expect_err("a different body");
    assert!(
        matches!(
            conflict.into_service_error(),
            StartEngagementFromOpportunityTaskError::ConflictException(_)
        ),
        "expected ConflictException"
    );
    // After completion: the same task, complete, with what it created.
    sim.control().finish_tasks();
    let complete = start_with_token(&sim, &id, "token-1")
        .send()
        .await
        .expect("replay after completion");
    assert_eq!(complete.task_id(), Some(task_id.as_str()));
    assert_eq!(complete.task_status(), Some(&TaskStatus::Complete));
    assert!(complete.engagement_id().is_some());
    assert_eq!(
        complete.engagement_id(),
        listed(&sim, &task_id).await.engagement_id()
    );
    // One task, one submission, whatever the number of calls.
    let all = sim
        .client
        .list_engagement_from_opportunity_tasks()
        .catalog("Sandbox")
        .send()
        .await
        .expect("list");
    assert_eq!(all.task_summaries().len(), 1);
    assert_eq!(
        sim.control()
            .call_count("StartEngagementFromOpportunityTask"),
        4
    );
    let submissions = sim
        .control()
        .opportunity_history()
        .into_iter()
        .filter(|c| c.opportunity_id == id && c.review_status == "Submitted")
        .count();
    assert_eq!(submissions, 1);
    sim.finish().await;
}

#[tokio::test]
async fn accepting_an_invitation_is_a_task_that_creates_the_opportunity_when_it_completes() {
    let sim = manual().await;
    let invitation = sim
        .control()
        .create_aws_invitation(&InvitationSpec::default())
        .expect("a valid referral");
    let accept = |token: &'static str, id: String| {
        sim.client
            .start_engagement_by_accepting_invitation_task()
            .catalog("Sandbox")
            .client_token(token)
            .identifier(id)
            .send()
    };
    let started = accept("accept", invitation.clone()).await.expect("accept");
    assert_eq!(started.task_status(), Some(&TaskStatus::InProgress));
    assert_eq!(started.opportunity_id(), None);
    assert_eq!(
        started.engagement_invitation_id(),
        Some(invitation.as_str())
    );
    assert_eq!(
        sim.control().invitation_status(&invitation).as_deref(),
        Some("PENDING")
    );
    assert!(sim.control().opportunities().is_empty());
    let task_id = started.task_id().expect("task id").to_owned();

    sim.control().finish_tasks();
    let tasks = sim
        .client
        .list_engagement_by_accepting_invitation_tasks()
        .catalog("Sandbox")
        .engagement_invitation_identifier(&invitation)
        .send()
        .await
        .expect("list");
    let done = &tasks.task_summaries()[0];
    assert_eq!(done.task_id(), Some(task_id.as_str()));
    assert_eq!(done.task_status(), Some(&TaskStatus::Complete));
    let opportunity = done.opportunity_id().expect("the opportunity").to_owned();
    assert_eq!(
        get(&sim, &opportunity)
            .await
            .project()
            .and_then(|p| p.title()),
        Some("Contact center modernization")
    );
    assert_eq!(
        sim.control().invitation_status(&invitation).as_deref(),
        Some("ACCEPTED")
    );
    // Calling again with the same payload is how a partner without events checks on it.
    let replay = accept("accept", invitation.clone()).await.expect("replay");
    assert_eq!(replay.task_id(), Some(task_id.as_str()));
    assert_eq!(replay.opportunity_id(), Some(opportunity.as_str()));

    // An invitation rejected while its acceptance is in progress: the task fails.
    let second = sim
        .control()
        .create_aws_invitation(&InvitationSpec {
            title: "Data lake".into(),
            ..InvitationSpec::default()
        })
        .expect("a valid referral");
    let pending = accept("accept-second", second.clone())
        .await
        .expect("accept");
    sim.client
        .reject_engagement_invitation()
        .catalog("Sandbox")
        .identifier(&second)
        .rejection_reason("Unable to support")
        .send()
        .await
        .expect("reject");
    sim.control().finish_tasks();
    let failed = accept("accept-second", second.clone())
        .await
        .expect("replay");
    assert_eq!(failed.task_id(), pending.task_id());
    assert_eq!(failed.task_status(), Some(&TaskStatus::Failed));
    assert_eq!(
        failed.reason_code(),
        Some(&ReasonCode::EngagementInvitationConflict)
    );
    assert_eq!(failed.opportunity_id(), None);
    assert_eq!(sim.control().opportunities().len(), 1);
    sim.finish().await;
}

#[tokio::test]
async fn task_lists_filter_sort_and_page_as_the_model_says() {
    let sim = manual().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let id = ready(&sim, &format!("list-{n}")).await;
        let task = start_engagement(&sim, &id).await;
        ids.push((id, task.task_id().expect("id").to_owned()));
    }
    assert!(
        sim.control()
            .tasks()
            .iter()
            .all(|t| t["TaskStatus"] == "IN_PROGRESS")
    );
    let list = |order: SortOrder| {
        sim.client
            .list_engagement_from_opportunity_tasks()
            .catalog("Sandbox")
            .sort(
                pcs::types::ListTasksSortBase::builder()
                    .sort_order(order)
                    .sort_by(pcs::types::ListTasksSortName::StartTime)
                    .build()
                    .expect("sort"),
            )
    };
    let ascending = list(SortOrder::Ascending)
        .send()
        .await
        .expect("list")
        .task_summaries()
        .iter()
        .filter_map(|t| t.task_id().map(str::to_owned))
        .collect::<Vec<_>>();
    let descending = list(SortOrder::Descending)
        .send()
        .await
        .expect("list")
        .task_summaries()
        .iter()
        .filter_map(|t| t.task_id().map(str::to_owned))
        .collect::<Vec<_>>();
    let started: Vec<String> = ids.iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(ascending, started);
    assert_eq!(
        descending,
        started.iter().rev().cloned().collect::<Vec<_>>()
    );
    // Pages of two, followed with NextToken.
    let page_one = list(SortOrder::Ascending)
        .max_results(2)
        .send()
        .await
        .expect("page 1");
    assert_eq!(page_one.task_summaries().len(), 2);
    let token = page_one.next_token().expect("a next page").to_owned();
    let page_two = list(SortOrder::Ascending)
        .max_results(2)
        .next_token(token)
        .send()
        .await
        .expect("page 2");
    assert_eq!(page_two.task_summaries().len(), 1);
    assert_eq!(page_two.next_token(), None);
    assert_eq!(
        page_two.task_summaries()[0].task_id(),
        Some(ids[2].1.as_str())
    );
    // Filters: by opportunity, and by status once some have ended.
    let by_opportunity = sim
        .client
        .list_engagement_from_opportunity_tasks()
        .catalog("Sandbox")
        .opportunity_identifier(&ids[1].0)
        .send()
        .await
        .expect("by opportunity");
    assert_eq!(by_opportunity.task_summaries().len(), 1);
    assert_eq!(
        by_opportunity.task_summaries()[0].task_id(),
        Some(ids[1].1.as_str())
    );
    sim.control().finish_tasks();
    let complete = sim
        .client
        .list_engagement_from_opportunity_tasks()
        .catalog("Sandbox")
        .task_status(TaskStatus::Complete)
        .send()
        .await
        .expect("complete");
    assert_eq!(complete.task_summaries().len(), 3);
    let engagement = complete.task_summaries()[0]
        .engagement_id()
        .expect("engagement")
        .to_owned();
    let by_engagement = sim
        .client
        .list_engagement_from_opportunity_tasks()
        .catalog("Sandbox")
        .engagement_identifier(&engagement)
        .send()
        .await
        .expect("by engagement");
    assert_eq!(by_engagement.task_summaries().len(), 1);
    let in_progress = sim
        .client
        .list_engagement_from_opportunity_tasks()
        .catalog("Sandbox")
        .task_status(TaskStatus::InProgress)
        .send()
        .await
        .expect("in progress");
    assert!(in_progress.task_summaries().is_empty());
    // The other catalog has none.
    let aws = sim
        .client
        .list_engagement_from_opportunity_tasks()
        .catalog("AWS")
        .send()
        .await
        .expect("AWS catalog");
    assert!(aws.task_summaries().is_empty());
    sim.finish().await;
}
