//! The Partner Central simulator against the real `aws-sdk-partnercentralselling` client (and
//! once against boto3): every implemented operation, every error type the simulator produces,
//! parsed by the SDK into its typed variant, and the service behaviour of ace-api.md §3–§10.

use std::time::{Duration, Instant};

use ace_sync_sandbox::partner_central::{
    self as sim, Fault, InvitationSpec, QuotaConfig, RateQuota, ReviewDecision, ReviewPolicy,
    ReviewRules, ReviewTiming, SimConfig, SimControl, SimHandle, SqsEventSink,
};
use aws_sdk_partnercentralselling as pcs;
use pcs::error::SdkError;
use pcs::operation::create_opportunity::CreateOpportunityError;
use pcs::operation::get_opportunity::{GetOpportunityError, GetOpportunityOutput};
use pcs::operation::update_opportunity::UpdateOpportunityError;
use pcs::types::{
    Account, Address, AwsSubmission, CompetitorName, CountryCode, CurrencyCode, Customer,
    DeliveryModel, ExpectedCustomerSpend, Industry, LifeCycle, Marketing, MarketingSource,
    NationalSecurity, OpportunityOrigin, ParticipantType, PaymentFrequency, PrimaryNeedFromAws,
    Project, RelatedEntityType, ReviewStatus, SalesActivity, SalesInvolvementType, Stage,
    ValidationExceptionErrorCode, ValidationExceptionReason,
};
use serde_json::Value;

use crate::helpers::{env, sqs};

/// A running simulator and a real SDK client pointed at it.
struct TestSim {
    handle: SimHandle,
    client: pcs::Client,
}

impl TestSim {
    async fn start(config: SimConfig) -> TestSim {
        let handle = sim::start(config).await.expect("simulator starts");
        let client = client(handle.endpoint_url(), false);
        TestSim { handle, client }
    }

    async fn new() -> TestSim {
        Self::start(SimConfig::for_tests()).await
    }

    fn control(&self) -> &SimControl {
        self.handle.control()
    }

    /// Stops the simulator, asserting every answer it gave matched its output shape.
    async fn finish(self) {
        assert_eq!(self.control().output_violations(), Vec::<String>::new());
        self.handle.stop().await;
    }
}

/// The SDK client as a product would build it, with static credentials. Retries are off
/// unless asked for, so each test sees the error the simulator answered.
fn client(endpoint: &str, retries: bool) -> pcs::Client {
    let credentials =
        pcs::config::Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", None, None, "tests");
    let retry = if retries {
        pcs::config::retry::RetryConfig::standard()
    } else {
        pcs::config::retry::RetryConfig::disabled()
    };
    let config = pcs::config::Builder::new()
        .behavior_version(pcs::config::BehaviorVersion::latest())
        .region(pcs::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .retry_config(retry)
        .build();
    pcs::Client::from_conf(config)
}

fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .date()
        .to_string()
}

const GOOD_PROBLEM: &str = "Acme's order system runs on two ageing on-premises Oracle servers; peak season latency loses them 4% of orders and they need to move it to Amazon Aurora before November.";

fn address() -> Address {
    Address::builder()
        .city("Seattle")
        .country_code(CountryCode::Us)
        .postal_code("98109")
        .state_or_region("Washington")
        .street_address("410 Terry Ave N")
        .build()
}

fn customer() -> Customer {
    Customer::builder()
        .account(
            Account::builder()
                .company_name("Acme Corp")
                .industry(Industry::Retail)
                .website_url("https://acme.example")
                .address(address())
                .build()
                .expect("account"),
        )
        .build()
}

fn spend(amount: &str) -> ExpectedCustomerSpend {
    ExpectedCustomerSpend::builder()
        .amount(amount)
        .currency_code(CurrencyCode::Usd)
        .frequency(PaymentFrequency::Monthly)
        .target_company("AWS")
        .build()
        .expect("spend")
}

fn project(problem: &str) -> Project {
    Project::builder()
        .title("Order platform migration")
        .customer_business_problem(problem)
        .customer_use_case("Migration/Database Migration")
        .delivery_models(DeliveryModel::ProfessionalServices)
        .sales_activities(SalesActivity::InitializedDiscussionsWithCustomer)
        .expected_customer_spend(spend("12500"))
        .build()
}

fn lifecycle() -> LifeCycle {
    LifeCycle::builder()
        .stage(Stage::Prospect)
        .target_close_date(in_days(120))
        .next_steps("Workshop with the customer's DBAs")
        .build()
}

/// A CreateOpportunity that passes every rule, in the Sandbox catalog.
fn create_request(
    sim: &TestSim,
    token: &str,
) -> pcs::operation::create_opportunity::builders::CreateOpportunityFluentBuilder {
    sim.client
        .create_opportunity()
        .catalog("Sandbox")
        .client_token(token)
        .origin(OpportunityOrigin::PartnerReferral)
        .partner_opportunity_identifier("006XX0000012345")
        .primary_needs_from_aws(PrimaryNeedFromAws::CoSellArchitecturalValidation)
        .national_security(NationalSecurity::No)
        .customer(customer())
        .project(project(GOOD_PROBLEM))
        .life_cycle(lifecycle())
        .marketing(Marketing::builder().source(MarketingSource::None).build())
}

async fn create(sim: &TestSim, token: &str) -> String {
    create_request(sim, token)
        .send()
        .await
        .expect("create")
        .id()
        .to_owned()
}

async fn get(sim: &TestSim, id: &str) -> GetOpportunityOutput {
    sim.client
        .get_opportunity()
        .catalog("Sandbox")
        .identifier(id)
        .send()
        .await
        .expect("get")
}

/// The whole GetOpportunity answer sent back as an update (AWS's recommended pattern: GET,
/// merge, PUT the complete payload).
fn update_from(
    sim: &TestSim,
    got: &GetOpportunityOutput,
) -> pcs::operation::update_opportunity::builders::UpdateOpportunityFluentBuilder {
    sim.client
        .update_opportunity()
        .catalog("Sandbox")
        .identifier(got.id())
        .last_modified_date(*got.last_modified_date())
        .set_primary_needs_from_aws(Some(got.primary_needs_from_aws().to_vec()))
        .set_national_security(got.national_security().cloned())
        .set_partner_opportunity_identifier(got.partner_opportunity_identifier().map(str::to_owned))
        .set_customer(got.customer().cloned())
        .set_project(got.project().cloned())
        .set_opportunity_type(got.opportunity_type().cloned())
        .set_marketing(got.marketing().cloned())
        .set_software_revenue(got.software_revenue().cloned())
        .set_life_cycle(got.life_cycle().cloned())
}

async fn associate(sim: &TestSim, id: &str, kind: RelatedEntityType, entity: &str) {
    sim.client
        .associate_opportunity()
        .catalog("Sandbox")
        .opportunity_identifier(id)
        .related_entity_type(kind)
        .related_entity_identifier(entity)
        .send()
        .await
        .expect("associate");
}

async fn start_engagement(
    sim: &TestSim,
    id: &str,
) -> pcs::operation::start_engagement_from_opportunity_task::StartEngagementFromOpportunityTaskOutput
{
    sim.client
        .start_engagement_from_opportunity_task()
        .catalog("Sandbox")
        .identifier(id)
        .aws_submission(
            AwsSubmission::builder()
                .involvement_type(SalesInvolvementType::CoSell)
                .build()
                .expect("submission"),
        )
        .send()
        .await
        .expect("start engagement")
}

/// A created opportunity with a solution and an AWS product, submitted.
async fn submitted(sim: &TestSim, token: &str) -> String {
    let id = create(sim, token).await;
    associate(sim, &id, RelatedEntityType::Solutions, "S-1234567").await;
    associate(
        sim,
        &id,
        RelatedEntityType::AwsProducts,
        "AmazonConnectCases",
    )
    .await;
    let task = start_engagement(sim, &id).await;
    assert_eq!(
        task.task_status().map(|s| s.as_str()),
        Some("COMPLETE"),
        "{task:?}"
    );
    id
}

fn review_status(got: &GetOpportunityOutput) -> Option<ReviewStatus> {
    got.life_cycle().and_then(|l| l.review_status()).cloned()
}

/// The (field, code) pairs of a ValidationException.
fn fields(
    e: &pcs::types::error::ValidationException,
) -> Vec<(String, ValidationExceptionErrorCode)> {
    e.error_list()
        .iter()
        .map(|x| {
            (
                x.field_name().unwrap_or_default().to_owned(),
                x.code().clone(),
            )
        })
        .collect()
}

fn create_validation<R: std::fmt::Debug + Send + Sync + 'static>(
    err: SdkError<CreateOpportunityError, R>,
) -> pcs::types::error::ValidationException {
    match err.into_service_error() {
        CreateOpportunityError::ValidationException(e) => e,
        other => panic!("expected ValidationException, got {other:?}"),
    }
}

fn update_validation<R: std::fmt::Debug + Send + Sync + 'static>(
    err: SdkError<UpdateOpportunityError, R>,
) -> pcs::types::error::ValidationException {
    match err.into_service_error() {
        UpdateOpportunityError::ValidationException(e) => e,
        other => panic!("expected ValidationException, got {other:?}"),
    }
}

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
        "../../../tests/fixtures/ace/createOpportunity.json"
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

#[tokio::test]
async fn associations_are_checked_against_solutions_products_and_formats() {
    let sim = TestSim::new().await;
    let solutions = sim
        .client
        .list_solutions()
        .catalog("Sandbox")
        .send()
        .await
        .expect("solutions");
    assert_eq!(solutions.solution_summaries()[0].id(), "S-0001111");
    assert!(solutions.next_token().is_some());
    let sandbox = sim
        .client
        .list_solutions()
        .catalog("Sandbox")
        .identifier("S-1234567")
        .send()
        .await
        .expect("by id");
    assert_eq!(sandbox.solution_summaries().len(), 1);
    assert_eq!(
        sandbox.solution_summaries()[0].status(),
        &pcs::types::SolutionStatus::Active
    );
    let all: Vec<_> = sim
        .client
        .list_solutions()
        .catalog("Sandbox")
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert!(all.len() > 20);

    let id = create(&sim, "assoc").await;
    let assoc = |kind: RelatedEntityType, entity: &str| {
        sim.client
            .associate_opportunity()
            .catalog("Sandbox")
            .opportunity_identifier(&id)
            .related_entity_type(kind)
            .related_entity_identifier(entity)
            .send()
    };
    use pcs::operation::associate_opportunity::AssociateOpportunityError as E;
    match assoc(RelatedEntityType::Solutions, "S-7654321")
        .await
        .expect_err("unknown")
        .into_service_error()
    {
        E::ResourceNotFoundException(e) => {
            assert!(e.message().is_some_and(|m| m.contains("S-7654321")))
        }
        other => panic!("{other:?}"),
    }
    match assoc(RelatedEntityType::Solutions, "SOL-1")
        .await
        .expect_err("format")
        .into_service_error()
    {
        E::ValidationException(e) => {
            assert_eq!(
                fields(&e),
                vec![(
                    "RelatedEntityIdentifier".to_owned(),
                    ValidationExceptionErrorCode::InvalidStringFormat
                )]
            );
        }
        other => panic!("{other:?}"),
    }
    match assoc(RelatedEntityType::AwsProducts, "AmazonTeleporter")
        .await
        .expect_err("product")
        .into_service_error()
    {
        E::ValidationException(e) => assert!(
            e.error_list()[0]
                .message()
                .contains("must be one of the allowed AWS products")
        ),
        other => panic!("{other:?}"),
    }
    let offer = "arn:aws:aws-marketplace:us-east-1:123456789012:AWSMarketplace/Offer/offer-abc";
    assoc(RelatedEntityType::AwsMarketplaceOffers, offer)
        .await
        .expect("offer");
    let other = create(&sim, "assoc-2").await;
    let err = sim
        .client
        .associate_opportunity()
        .catalog("Sandbox")
        .opportunity_identifier(&other)
        .related_entity_type(RelatedEntityType::AwsMarketplaceOffers)
        .related_entity_identifier(offer)
        .send()
        .await
        .expect_err("offer taken");
    match err.into_service_error() {
        E::ValidationException(e) => assert_eq!(
            e.error_list()[0].code(),
            &ValidationExceptionErrorCode::DuplicateKeyValue
        ),
        other => panic!("{other:?}"),
    }
    assoc(RelatedEntityType::Solutions, "S-1234567")
        .await
        .expect("solution");
    let got = get(&sim, &id).await;
    assert_eq!(
        got.related_entity_identifiers()
            .map(|r| r.solutions().to_vec()),
        Some(vec!["S-1234567".to_owned()])
    );
    sim.client
        .disassociate_opportunity()
        .catalog("Sandbox")
        .opportunity_identifier(&id)
        .related_entity_type(RelatedEntityType::Solutions)
        .related_entity_identifier("S-1234567")
        .send()
        .await
        .expect("disassociate");
    let err = sim
        .client
        .disassociate_opportunity()
        .catalog("Sandbox")
        .opportunity_identifier(&id)
        .related_entity_type(RelatedEntityType::Solutions)
        .related_entity_identifier("S-1234567")
        .send()
        .await
        .expect_err("not associated");
    assert!(matches!(err.into_service_error(), pcs::operation::disassociate_opportunity::DisassociateOpportunityError::ResourceNotFoundException(_)));
    assert!(
        get(&sim, &id)
            .await
            .related_entity_identifiers()
            .is_some_and(|r| r.solutions().is_empty())
    );
    sim.finish().await;
}

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

/// boto3, a second and independent client, agrees with the simulator.
#[tokio::test]
async fn boto3_agrees() {
    let sim = TestSim::new().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/boto3_agrees.py");
    let output = tokio::process::Command::new(env::venv_bin("python"))
        .arg(script)
        .arg(sim.handle.endpoint_url())
        .arg(in_days(100))
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "boto3 script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("boto3 agrees"), "{stdout}");
    // What boto3 created is what the SDK reads back.
    let created = stdout
        .lines()
        .find_map(|l| l.strip_prefix("created "))
        .expect("id line")
        .trim()
        .to_owned();
    let got = get(&sim, &created).await;
    assert_eq!(
        got.project().and_then(|p| p.title()),
        Some("Updated by boto3")
    );
    // One update went through; the invalid one and the stale one were refused.
    assert_eq!(sim.control().call_count("UpdateOpportunity"), 3);
    assert_eq!(sim.control().call_count("CreateOpportunity"), 1);
    sim.finish().await;
}

/// `ace-sync sandbox partner-central` serves the simulator, logs each call at debug with the
/// model's sensitive members redacted, and stops on SIGTERM.
#[tokio::test]
async fn the_sandbox_command_serves_and_its_debug_logs_hold_no_sensitive_values() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_ace-sync-dev"))
        .args([
            "sandbox",
            "partner-central",
            "--port",
            "0",
            "--no-quotas",
            "--review-delay",
            "1h",
        ])
        .env("ACE_SYNC_TELEMETRY__FORMAT", "json")
        .env("ACE_SYNC_TELEMETRY__FILTER", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ace-sync sandbox partner-central");
    let stdout = child.stdout.take().expect("stdout");
    let (endpoint_tx, endpoint_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(json) = serde_json::from_str::<Value>(&line)
                && json["fields"]["message"] == "partner central simulator ready"
            {
                let _ = endpoint_tx.send(
                    json["fields"]["endpoint_url"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            lines.push(line);
        }
        lines
    });
    let endpoint = endpoint_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the sandbox reports its endpoint");
    let client = client(&endpoint, false);
    let contact = pcs::types::Contact::builder()
        .email("ceo@confidential-widgets.example")
        .first_name("Quinn")
        .build();
    let secret_company = "Confidential Widgets Holding";
    let mut c = customer();
    if let Some(account) = c.account.as_mut() {
        account.company_name = secret_company.to_owned();
    }
    c.contacts = Some(vec![contact]);
    let created = client
        .create_opportunity()
        .catalog("Sandbox")
        .client_token("cli-1")
        .customer(c)
        .project(project(GOOD_PROBLEM))
        .life_cycle(lifecycle())
        .send()
        .await
        .expect("create through the sandbox command");
    client
        .get_opportunity()
        .catalog("Sandbox")
        .identifier(created.id())
        .send()
        .await
        .expect("get");

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().ok().flatten().is_none() {
        assert!(
            Instant::now() < deadline,
            "the sandbox did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let logs = reader.join().expect("reader");
    let calls: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("partner central call"))
        .collect();
    assert_eq!(calls.len(), 2, "one debug line per call: {logs:#?}");
    assert!(
        calls
            .iter()
            .all(|l| l.contains("*** Sensitive Data Redacted ***"))
    );
    assert!(
        calls[0].contains("Software and Internet") || calls[0].contains("Retail"),
        "non-sensitive members stay readable"
    );
    for line in &logs {
        for secret in [
            secret_company,
            "ceo@confidential-widgets.example",
            "Quinn",
            "Signature=",
            "wJalrXUtnFEMI",
        ] {
            assert!(!line.contains(secret), "{secret} leaked: {line}");
        }
    }
}
