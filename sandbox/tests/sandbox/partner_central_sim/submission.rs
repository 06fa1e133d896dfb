//! What a submission needs: an associated solution and the mandatory submission fields
//! (ace-api.md §3 StartEngagementFromOpportunityTask, §4.3).

use super::*;

#[tokio::test]
async fn a_submission_without_a_solution_is_refused() {
    let sim = TestSim::new().await;
    let id = create(&sim, "no-solution").await;
    associate(
        &sim,
        &id,
        RelatedEntityType::AwsProducts,
        "AmazonConnectCases",
    )
    .await;
    // The task reports the refusal as a FAILED task, not as an error.
    let task = start_engagement(&sim, &id).await;
    assert_eq!(task.task_status(), Some(&pcs::types::TaskStatus::Failed));
    assert_eq!(
        task.reason_code(),
        Some(&pcs::types::ReasonCode::OpportunityValidationFailed)
    );
    assert!(task.message().is_some_and(|m| {
        m.contains("RelatedEntityIdentifiers.Solutions is required for opportunity submission")
    }));
    // SubmitOpportunity answers a ValidationException naming the missing solution.
    let err = sim
        .client
        .submit_opportunity()
        .catalog("Sandbox")
        .identifier(&id)
        .involvement_type(SalesInvolvementType::CoSell)
        .send()
        .await
        .expect_err("no solution");
    match err.into_service_error() {
        pcs::operation::submit_opportunity::SubmitOpportunityError::ValidationException(e) => {
            assert_eq!(
                e.reason(),
                &ValidationExceptionReason::BusinessValidationFailed
            );
            assert_eq!(
                fields(&e),
                vec![(
                    "RelatedEntityIdentifiers.Solutions".to_owned(),
                    ValidationExceptionErrorCode::RequiredFieldMissing
                )]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        review_status(&get(&sim, &id).await),
        Some(ReviewStatus::PendingSubmission)
    );
    let tasks = sim
        .client
        .list_engagement_from_opportunity_tasks()
        .catalog("Sandbox")
        .opportunity_identifier(&id)
        .send()
        .await
        .expect("list tasks");
    assert_eq!(tasks.task_summaries().len(), 1);
    assert_eq!(tasks.task_summaries()[0].task_id(), task.task_id());
    // An OtherSolutionDescription is enough, and SubmitOpportunity then submits.
    let got = get(&sim, &id).await;
    let mut project = got.project().cloned().expect("project");
    project.other_solution_description = Some("Custom migration runbook".to_owned());
    update_from(&sim, &got)
        .project(project)
        .send()
        .await
        .expect("update");
    sim.client
        .submit_opportunity()
        .catalog("Sandbox")
        .identifier(&id)
        .involvement_type(SalesInvolvementType::CoSell)
        .send()
        .await
        .expect("submit");
    assert_eq!(
        review_status(&get(&sim, &id).await),
        Some(ReviewStatus::Submitted)
    );
    // Submitting again while in review is refused with the data model's transition text.
    let err = sim
        .client
        .submit_opportunity()
        .catalog("Sandbox")
        .identifier(&id)
        .involvement_type(SalesInvolvementType::CoSell)
        .send()
        .await
        .expect_err("twice");
    let message = err.into_service_error().to_string();
    assert!(
        message.contains("Cannot transition opportunity from status 'Submitted' to 'Submitted'."),
        "{message}"
    );
    sim.finish().await;
}

#[tokio::test]
async fn the_mandatory_submission_fields_are_checked() {
    let sim = TestSim::new().await;
    let id = create_request(&sim, "sparse")
        .project(
            Project::builder()
                .title("T")
                .customer_business_problem(GOOD_PROBLEM)
                .build(),
        )
        .set_primary_needs_from_aws(None)
        .send()
        .await
        .expect("create")
        .id()
        .to_owned();
    associate(&sim, &id, RelatedEntityType::Solutions, "S-1234567").await;
    let err = sim
        .client
        .submit_opportunity()
        .catalog("Sandbox")
        .identifier(&id)
        .involvement_type(SalesInvolvementType::CoSell)
        .send()
        .await
        .expect_err("sparse");
    let e = match err.into_service_error() {
        pcs::operation::submit_opportunity::SubmitOpportunityError::ValidationException(e) => e,
        other => panic!("{other:?}"),
    };
    let names: Vec<&str> = e
        .error_list()
        .iter()
        .filter_map(|x| x.field_name())
        .collect();
    assert_eq!(
        names,
        vec![
            "Project.CustomerUseCase",
            "Project.DeliveryModels",
            "Project.SalesActivities",
            "Project.ExpectedCustomerSpend",
            "PrimaryNeedsFromAws"
        ]
    );
    let sales = e
        .error_list()
        .iter()
        .find(|x| x.field_name() == Some("Project.SalesActivities"))
        .expect("sales");
    assert_eq!(sales.message(), "project.salesActivities is required");

    // Postal codes are checked against their country's format on submission (AWS's own
    // update sample carries a 4-digit US code, so create and update accept it).
    for (country, postal, message) in [
        (
            CountryCode::Us,
            "4321",
            "The postal code is invalid for country United States, United States postal code must be in 99999 OR 99999-9999 format.",
        ),
        (
            CountryCode::Ca,
            "12345",
            "The postal code is invalid for country Canada, Canada postal code must be in A9A 9A9 or A9A9A9 format.",
        ),
    ] {
        let address = Address::builder()
            .country_code(country.clone())
            .postal_code(postal)
            .state_or_region("Ohio")
            .build();
        let customer = Customer::builder()
            .account(
                Account::builder()
                    .company_name("Acme")
                    .industry(Industry::Retail)
                    .website_url("https://acme.example")
                    .address(address)
                    .build()
                    .expect("account"),
            )
            .build();
        let id = create_request(&sim, &format!("postal-{postal}"))
            .customer(customer)
            .send()
            .await
            .expect("create accepts it")
            .id()
            .to_owned();
        associate(&sim, &id, RelatedEntityType::Solutions, "S-1234567").await;
        let err = sim
            .client
            .submit_opportunity()
            .catalog("Sandbox")
            .identifier(&id)
            .involvement_type(SalesInvolvementType::CoSell)
            .send()
            .await
            .expect_err("postal");
        let e = match err.into_service_error() {
            pcs::operation::submit_opportunity::SubmitOpportunityError::ValidationException(e) => e,
            other => panic!("{other:?}"),
        };
        let found: Vec<_> = e
            .error_list()
            .iter()
            .map(|x| {
                (
                    x.field_name().unwrap_or_default(),
                    x.code().clone(),
                    x.message(),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![(
                "Customer.Account.Address.PostalCode",
                ValidationExceptionErrorCode::InvalidStringFormat,
                message
            )],
            "{country:?}"
        );
    }
    sim.finish().await;
}
