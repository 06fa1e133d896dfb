//! Request validation against the model and AWS's business rules, each refusal parsed by the
//! SDK with its field, code and AWS's text (ace-api.md §4, §7).

use super::*;

#[tokio::test]
async fn model_violations_are_request_validation_errors_with_field_names_and_codes() {
    let sim = TestSim::new().await;
    let err = create_request(&sim, "model-1")
        .partner_opportunity_identifier("x".repeat(65))
        .customer(
            Customer::builder()
                .account(
                    Account::builder()
                        .company_name("Acme")
                        .industry(Industry::from("Software"))
                        .website_url("https://acme.example")
                        .duns("12345")
                        .address(address())
                        .build()
                        .expect("account"),
                )
                .build(),
        )
        .send()
        .await
        .expect_err("invalid");
    let e = create_validation(err);
    assert_eq!(
        e.reason(),
        &ValidationExceptionReason::RequestValidationFailed
    );
    assert_eq!(
        fields(&e),
        vec![
            (
                "PartnerOpportunityIdentifier".to_owned(),
                ValidationExceptionErrorCode::InvalidStringFormat
            ),
            (
                "Customer.Account.Industry".to_owned(),
                ValidationExceptionErrorCode::InvalidEnumValue
            ),
            (
                "Customer.Account.Duns".to_owned(),
                ValidationExceptionErrorCode::InvalidStringFormat
            ),
        ]
    );
    assert_eq!(
        e.error_list()[0].message(),
        "Field PartnerOpportunityIdentifier exceeds maximum length of 64 characters."
    );
    assert!(e.message().starts_with("3 validation errors detected"));

    // Missing top-level required members (the SDK does not check them).
    let err = sim
        .client
        .get_opportunity()
        .catalog("Sandbox")
        .send()
        .await
        .expect_err("no identifier");
    match err.into_service_error() {
        GetOpportunityError::ValidationException(e) => {
            assert_eq!(
                fields(&e),
                vec![(
                    "Identifier".to_owned(),
                    ValidationExceptionErrorCode::RequiredFieldMissing
                )]
            );
            assert_eq!(e.error_list()[0].message(), "Field Identifier is required.");
        }
        other => panic!("expected ValidationException, got {other:?}"),
    }
    // Too many list items and an out-of-range integer.
    let err = sim
        .client
        .list_opportunities()
        .catalog("Sandbox")
        .max_results(101)
        .send()
        .await
        .expect_err("max");
    let code = match err.into_service_error() {
        pcs::operation::list_opportunities::ListOpportunitiesError::ValidationException(e) => {
            fields(&e)
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        code,
        vec![(
            "MaxResults".to_owned(),
            ValidationExceptionErrorCode::ValueOutOfRange
        )]
    );
    let err = create_request(&sim, "model-2")
        .project(
            Project::builder()
                .title("T")
                .customer_business_problem(GOOD_PROBLEM)
                .set_expected_customer_spend(Some(vec![spend("1"); 11]))
                .build(),
        )
        .send()
        .await
        .expect_err("too many");
    assert_eq!(
        fields(&create_validation(err)),
        vec![(
            "Project.ExpectedCustomerSpend".to_owned(),
            ValidationExceptionErrorCode::TooManyValues
        )]
    );
    // An unknown catalog.
    let err = sim
        .client
        .get_opportunity()
        .catalog("Production")
        .identifier("O1")
        .send()
        .await
        .expect_err("catalog");
    match err.into_service_error() {
        GetOpportunityError::ValidationException(e) => {
            assert_eq!(
                e.reason(),
                &ValidationExceptionReason::BusinessValidationFailed
            );
            assert_eq!(
                fields(&e),
                vec![(
                    "Catalog".to_owned(),
                    ValidationExceptionErrorCode::InvalidEnumValue
                )]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.control().opportunities().len(), 0);
    sim.finish().await;
}

/// One case per business rule, each with the field and AWS's own text.
#[tokio::test]
async fn business_rules_are_enforced_with_aws_texts() {
    let sim = TestSim::new().await;
    type Tweak = Box<
        dyn Fn(
            pcs::operation::create_opportunity::builders::CreateOpportunityFluentBuilder,
        )
            -> pcs::operation::create_opportunity::builders::CreateOpportunityFluentBuilder,
    >;
    let with_address = |a: Address| -> Customer {
        Customer::builder()
            .account(
                Account::builder()
                    .company_name("Acme")
                    .industry(Industry::Retail)
                    .website_url("https://acme.example")
                    .address(a)
                    .build()
                    .expect("account"),
            )
            .build()
    };
    let with_account = |f: &dyn Fn(
        pcs::types::builders::AccountBuilder,
    ) -> pcs::types::builders::AccountBuilder|
     -> Customer {
        Customer::builder()
            .account(
                f(Account::builder()
                    .company_name("Acme")
                    .industry(Industry::Retail)
                    .website_url("https://acme.example")
                    .address(address()))
                .build()
                .expect("account"),
            )
            .build()
    };
    let cases: Vec<(&str, Tweak, &str, ValidationExceptionErrorCode, &str)> = vec![
        (
            "US needs a state",
            Box::new(move |r| {
                r.customer(with_address(
                    Address::builder()
                        .country_code(CountryCode::Us)
                        .postal_code("98109")
                        .build(),
                ))
            }),
            "Customer.Account.Address.StateOrRegion",
            ValidationExceptionErrorCode::RequiredFieldMissing,
            "Field Customer.Account.Address.StateOrRegion is required when Customer.Account.Address.CountryCode is 'US'",
        ),
        (
            "US postal code required",
            Box::new(move |r| {
                r.customer(with_address(
                    Address::builder()
                        .country_code(CountryCode::Us)
                        .state_or_region("Ohio")
                        .build(),
                ))
            }),
            "Customer.Account.Address.PostalCode",
            ValidationExceptionErrorCode::RequiredFieldMissing,
            "Field Customer.Account.Address.PostalCode is required for country United States.",
        ),
        (
            "business problem 20 characters",
            Box::new(|r| {
                r.project(
                    Project::builder()
                        .title("T")
                        .customer_business_problem("Too short")
                        .build(),
                )
            }),
            "Project.CustomerBusinessProblem",
            ValidationExceptionErrorCode::InvalidStringFormat,
            "Field Project.CustomerBusinessProblem does not meet minimum length requirement of 20 characters.",
        ),
        (
            "Closed Lost needs a reason",
            Box::new(|r| {
                r.life_cycle(
                    LifeCycle::builder()
                        .stage(Stage::ClosedLost)
                        .target_close_date(in_days(30))
                        .build(),
                )
            }),
            "LifeCycle.ClosedLostReason",
            ValidationExceptionErrorCode::RequiredFieldMissing,
            "Field LifeCycle.ClosedLostReason is required when LifeCycle.Stage is 'Closed Lost'.",
        ),
        (
            "Industry Other needs OtherIndustry",
            Box::new(move |r| r.customer(with_account(&|a| a.industry(Industry::Other)))),
            "Customer.Account.OtherIndustry",
            ValidationExceptionErrorCode::RequiredFieldMissing,
            "Field Customer.Account.OtherIndustry is required when Customer.Account.Industry is 'Other'.",
        ),
        (
            "national security needs Government",
            Box::new(|r| r.national_security(NationalSecurity::Yes)),
            "Customer.Account.Industry",
            ValidationExceptionErrorCode::InvalidValue,
            "When National Security is 'Yes'  - Industry MUST be Government",
        ),
        (
            "Marketing.Source None keeps marketing null",
            Box::new(|r| {
                r.marketing(
                    Marketing::builder()
                        .source(MarketingSource::None)
                        .campaign_name("Spring launch")
                        .build(),
                )
            }),
            "Marketing.CampaignName",
            ValidationExceptionErrorCode::InvalidValue,
            "Field Marketing.CampaignName must be null when Marketing.Source is 'None'.",
        ),
        (
            "target close date in the past",
            Box::new(|r| {
                r.life_cycle(
                    LifeCycle::builder()
                        .stage(Stage::Prospect)
                        .target_close_date(in_days(-1))
                        .build(),
                )
            }),
            "LifeCycle.TargetCloseDate",
            ValidationExceptionErrorCode::ValueOutOfRange,
            "Invalid date selection. Please select a date within an acceptable range.",
        ),
        (
            "target close date beyond 60 years",
            Box::new(|r| {
                r.life_cycle(
                    LifeCycle::builder()
                        .stage(Stage::Prospect)
                        .target_close_date(in_days(61 * 366))
                        .build(),
                )
            }),
            "LifeCycle.TargetCloseDate",
            ValidationExceptionErrorCode::ValueOutOfRange,
            "Invalid date selection. Please select a date within an acceptable range.",
        ),
        (
            "website required",
            Box::new(move |r| r.customer(with_account(&|a| a.set_website_url(None)))),
            "Customer.Account.WebsiteUrl",
            ValidationExceptionErrorCode::RequiredFieldMissing,
            "Field Customer.Account.WebsiteUrl is required.",
        ),
        (
            "*Other competitor needs names",
            Box::new(|r| {
                r.project(
                    Project::builder()
                        .title("T")
                        .customer_business_problem(GOOD_PROBLEM)
                        .competitor_name(CompetitorName::Other)
                        .build(),
                )
            }),
            "Project.OtherCompetitorNames",
            ValidationExceptionErrorCode::RequiredFieldMissing,
            "Field Project.OtherCompetitorNames is required when Project.CompetitorNames contains 'Other'.",
        ),
        (
            "AWS catalog takes partner referrals only",
            Box::new(|r| r.catalog("AWS").origin(OpportunityOrigin::AwsReferral)),
            "Origin",
            ValidationExceptionErrorCode::InvalidValue,
            "Field Origin must be 'Partner Referral' when Catalog is 'AWS'.",
        ),
    ];
    for (i, (name, tweak, field, code, message)) in cases.into_iter().enumerate() {
        let err = tweak(create_request(&sim, &format!("rule-{i}")))
            .send()
            .await
            .expect_err(name);
        let e = create_validation(err);
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
        assert_eq!(found, vec![(field, code, message)], "{name}");
        let expected_reason = if name.starts_with("business problem") {
            ValidationExceptionReason::RequestValidationFailed
        } else {
            ValidationExceptionReason::BusinessValidationFailed
        };
        assert_eq!(e.reason(), &expected_reason, "{name}");
    }
    // The exemptions: national security in the US needs neither website nor state.
    let natsec = Customer::builder()
        .account(
            Account::builder()
                .company_name("Agency")
                .industry(Industry::Government)
                .address(Address::builder().country_code(CountryCode::Us).build())
                .build()
                .expect("account"),
        )
        .build();
    create_request(&sim, "natsec")
        .national_security(NationalSecurity::Yes)
        .customer(natsec)
        .send()
        .await
        .expect("national security");
    assert_eq!(sim.control().opportunities().len(), 1);
    sim.finish().await;
}

#[tokio::test]
async fn aws_sample_create_payload_is_accepted() {
    let sim = TestSim::new().await;
    // AWS's createOpportunity.json sample (aws-samples/partner-crm-integration-samples), sent
    // raw: the simulator must accept what AWS documents as valid.
    let mut body: Value = serde_json::from_str(include_str!(
        "../../../../tests/fixtures/ace/createOpportunity.json"
    ))
    .expect("sample");
    body["LifeCycle"]["TargetCloseDate"] = Value::String(in_days(200));
    let response = reqwest::Client::new()
        .post(sim.handle.endpoint_url())
        .header("Content-Type", "application/x-amz-json-1.0")
        .header("X-Amz-Target", "AWSPartnerCentralSelling.CreateOpportunity")
        .body(body.to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(sim.control().opportunities().len(), 1);
    sim.finish().await;
}
