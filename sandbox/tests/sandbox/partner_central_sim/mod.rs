//! The Partner Central simulator against the real `aws-sdk-partnercentralselling` client (and
//! once against boto3): every implemented operation, every error type the simulator produces,
//! parsed by the SDK into its typed variant, and the service behaviour of ace-api.md §3–§10.

mod associations;
mod clients;
mod faults;
mod invitation_states;
mod opportunities;
mod referrals;
mod review;
mod submission;
mod tasks;
mod validation;

use std::time::{Duration, Instant};

use ace_sync_sandbox::partner_central::{
    self as sim, Fault, InvitationSpec, QuotaConfig, RateQuota, ReviewDecision, ReviewPolicy,
    ReviewRules, ReviewTiming, SimConfig, SimControl, SimHandle, SqsEventSink, TaskTiming,
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
