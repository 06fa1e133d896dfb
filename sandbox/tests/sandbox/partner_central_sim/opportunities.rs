//! Create, Get, Update and List through the SDK: idempotent ClientTokens, optimistic
//! concurrency on LastModifiedDate and full-replace updates (ace-api.md §3, §6).

use super::*;

#[tokio::test]
async fn create_get_update_and_list_round_trip_through_the_sdk() {
    let sim = TestSim::new().await;
    let created = create_request(&sim, "round-trip-1")
        .send()
        .await
        .expect("create");
    assert!(created.id().starts_with('O'));
    assert_eq!(
        created.partner_opportunity_identifier(),
        Some("006XX0000012345")
    );

    let got = get(&sim, created.id()).await;
    assert_eq!(got.catalog(), "Sandbox");
    assert_eq!(review_status(&got), Some(ReviewStatus::PendingSubmission));
    // CreateOpportunity: LastModifiedDate = CreatedDate.
    assert_eq!(got.created_date(), got.last_modified_date());
    assert_eq!(Some(got.last_modified_date()), created.last_modified_date());
    assert!(
        got.arn()
            .is_some_and(|a| a.ends_with(&format!("/opportunity/{}", created.id())))
    );
    let account = got.customer().and_then(|c| c.account()).expect("account");
    assert_eq!(account.company_name(), "Acme Corp");
    assert_eq!(
        account.address().and_then(|a| a.state_or_region()),
        Some("Washington")
    );
    assert_eq!(
        got.life_cycle()
            .and_then(|l| l.next_steps_history().first())
            .map(|h| h.value()),
        Some("Workshop with the customer's DBAs")
    );
    assert!(got.related_entity_identifiers().is_some());

    let updated = update_from(&sim, &got)
        .life_cycle(
            LifeCycle::builder()
                .stage(Stage::Qualified)
                .target_close_date(in_days(90))
                .build(),
        )
        .send()
        .await
        .expect("update");
    assert!(updated.last_modified_date() > got.last_modified_date());
    let after = get(&sim, created.id()).await;
    assert_eq!(
        after.life_cycle().and_then(|l| l.stage()),
        Some(&Stage::Qualified)
    );
    assert_eq!(after.last_modified_date(), updated.last_modified_date());

    // Three more, then list with filters, sort and paging.
    for (i, company) in ["Beta LLC", "Gamma Inc", "Delta AG"].iter().enumerate() {
        let mut c = customer();
        if let Some(account) = c.account.as_mut() {
            account.company_name = (*company).to_owned();
        }
        create_request(&sim, &format!("round-trip-list-{i}"))
            .customer(c)
            .send()
            .await
            .expect("create");
    }
    let page1 = sim
        .client
        .list_opportunities()
        .catalog("Sandbox")
        .max_results(3)
        .sort(
            pcs::types::OpportunitySort::builder()
                .sort_by(pcs::types::OpportunitySortName::CustomerCompanyName)
                .sort_order(pcs::types::SortOrder::Ascending)
                .build()
                .expect("sort"),
        )
        .send()
        .await
        .expect("list");
    let names = |out: &pcs::operation::list_opportunities::ListOpportunitiesOutput| -> Vec<String> {
        out.opportunity_summaries()
            .iter()
            .filter_map(|s| s.customer()?.account().map(|a| a.company_name().to_owned()))
            .collect()
    };
    assert_eq!(names(&page1), vec!["Acme Corp", "Beta LLC", "Delta AG"]);
    let page2 = sim
        .client
        .list_opportunities()
        .catalog("Sandbox")
        .max_results(3)
        .sort(
            pcs::types::OpportunitySort::builder()
                .sort_by(pcs::types::OpportunitySortName::CustomerCompanyName)
                .sort_order(pcs::types::SortOrder::Ascending)
                .build()
                .expect("sort"),
        )
        .set_next_token(page1.next_token().map(str::to_owned))
        .send()
        .await
        .expect("list page 2");
    assert_eq!(names(&page2), vec!["Gamma Inc"]);
    assert_eq!(page2.next_token(), None);
    // Filters: by company, by review status, and the sync recipe's AfterLastModifiedDate.
    let beta = sim
        .client
        .list_opportunities()
        .catalog("Sandbox")
        .customer_company_name("Beta LLC")
        .send()
        .await
        .expect("list");
    assert_eq!(names(&beta), vec!["Beta LLC"]);
    let since = sim
        .client
        .list_opportunities()
        .catalog("Sandbox")
        .last_modified_date(
            pcs::types::LastModifiedDate::builder()
                .after_last_modified_date(*updated.last_modified_date())
                .build(),
        )
        .send()
        .await
        .expect("list");
    assert_eq!(
        since.opportunity_summaries().len(),
        4,
        "on or after the update: it and the three later ones"
    );
    let other_catalog = sim
        .client
        .list_opportunities()
        .catalog("AWS")
        .send()
        .await
        .expect("list");
    assert!(other_catalog.opportunity_summaries().is_empty());
    // The paginator follows NextToken.
    let all: Vec<_> = sim
        .client
        .list_opportunities()
        .catalog("Sandbox")
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(all.len(), 4);
    assert_eq!(sim.control().opportunities().len(), 4);
    sim.finish().await;
}

#[tokio::test]
async fn a_replayed_client_token_returns_the_first_result_and_a_different_body_conflicts() {
    let sim = TestSim::new().await;
    let first = create_request(&sim, "token-replay")
        .send()
        .await
        .expect("create");
    let again = create_request(&sim, "token-replay")
        .send()
        .await
        .expect("replay");
    assert_eq!(first.id(), again.id());
    assert_eq!(first.last_modified_date(), again.last_modified_date());
    assert_eq!(sim.control().opportunities().len(), 1);

    let err = create_request(&sim, "token-replay")
        .partner_opportunity_identifier("006XX0000099999")
        .send()
        .await
        .expect_err("same token, other body");
    match err.into_service_error() {
        CreateOpportunityError::ConflictException(e) => {
            assert_eq!(
                e.message(),
                Some("Conflicting client token submitted for a new request body.")
            );
        }
        other => panic!("expected ConflictException, got {other:?}"),
    }
    assert_eq!(sim.control().opportunities().len(), 1);
    // The SDK fills a missing token with a fresh UUID, so two calls make two opportunities.
    create_request(&sim, "t")
        .set_client_token(None)
        .send()
        .await
        .expect("auto token");
    create_request(&sim, "t")
        .set_client_token(None)
        .send()
        .await
        .expect("auto token");
    assert_eq!(sim.control().opportunities().len(), 3);
    sim.finish().await;
}

#[tokio::test]
async fn a_stale_last_modified_date_is_a_conflict() {
    let sim = TestSim::new().await;
    let id = create(&sim, "stale").await;
    let got = get(&sim, &id).await;
    update_from(&sim, &got).send().await.expect("first update");
    let err = update_from(&sim, &got)
        .send()
        .await
        .expect_err("stale token");
    match err.into_service_error() {
        UpdateOpportunityError::ConflictException(e) => {
            assert!(e.message().is_some_and(|m| m.contains("was modified after the LastModifiedDate you sent")), "{e:?}");
        }
        other => panic!("expected ConflictException, got {other:?}"),
    }
    // With the current value the update goes through.
    let fresh = get(&sim, &id).await;
    update_from(&sim, &fresh)
        .send()
        .await
        .expect("fresh update");
    sim.finish().await;
}

#[tokio::test]
async fn an_update_is_a_full_replace_and_omitted_members_become_null() {
    let sim = TestSim::new().await;
    let id = create_request(&sim, "full-replace")
        .opportunity_type(pcs::types::OpportunityType::NetNewBusiness)
        .send()
        .await
        .expect("create")
        .id()
        .to_owned();
    let got = get(&sim, &id).await;
    assert!(
        got.marketing().is_some()
            && got.opportunity_type().is_some()
            && got.national_security().is_some()
    );
    // Only what the model requires plus the members the rules require on update.
    sim.client
        .update_opportunity()
        .catalog("Sandbox")
        .identifier(&id)
        .last_modified_date(*got.last_modified_date())
        .customer(customer())
        .project(
            Project::builder()
                .title("Order platform migration")
                .customer_business_problem(GOOD_PROBLEM)
                .build(),
        )
        .life_cycle(
            LifeCycle::builder()
                .stage(Stage::Prospect)
                .target_close_date(in_days(60))
                .build(),
        )
        .send()
        .await
        .expect("update");
    let after = get(&sim, &id).await;
    assert!(after.marketing().is_none(), "omitted Marketing is null now");
    assert!(after.opportunity_type().is_none());
    assert!(after.national_security().is_none());
    assert!(after.primary_needs_from_aws().is_empty());
    assert_eq!(after.partner_opportunity_identifier(), None);
    let project = after.project().expect("project");
    assert!(project.expected_customer_spend().is_empty() && project.customer_use_case().is_none());
    assert_eq!(after.life_cycle().and_then(|l| l.next_steps()), None);
    // What Update cannot write stays: the review status and the associations.
    assert_eq!(review_status(&after), Some(ReviewStatus::PendingSubmission));
    sim.finish().await;
}
