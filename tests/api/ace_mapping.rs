//! The mapping and the pre-flight check, table-driven: AWS's own test scenarios (the
//! "Partner Opp Referral" sheets of AWS's Testing Scenarios workbook, replayed through the
//! default mapping and cited by step number), then one case per rule.

use std::collections::BTreeMap;

use ace_sync::ace::mapping::{Mapping, Phase};
use ace_sync::ace::model::ServiceModel;
use ace_sync::ace::opportunity::Catalog;
use ace_sync::ace::preflight::{self, Context, FindingCode, Rejected, Severity};
use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::{Decimal, FieldValue, SObject, parse_date};
use serde_json::Value;

const TODAY: &str = "2026-06-01";

fn model() -> ServiceModel {
    ServiceModel::load().expect("the embedded service model loads")
}

fn ctx(today: &str) -> Context {
    Context {
        today: parse_date(today).unwrap(),
        catalog: Catalog::Sandbox,
    }
}

pub(crate) fn text(v: &str) -> FieldValue {
    FieldValue::Text(v.to_owned())
}

fn multi(v: &[&str]) -> FieldValue {
    FieldValue::Multi(v.iter().map(|s| s.to_string()).collect())
}

fn number(v: &str) -> FieldValue {
    FieldValue::Number(Decimal::parse(v).unwrap())
}

fn date(v: &str) -> FieldValue {
    FieldValue::Date(parse_date(v).unwrap())
}

/// A record that passes every rule of the default mapping at the submission stage.
pub(crate) fn good_record() -> SObject {
    let fields: BTreeMap<String, FieldValue> = [
        ("Name", text("Acme - Claims data platform")),
        ("StageName", text("Needs Analysis")),
        ("CloseDate", date("2027-06-30")),
        ("Type", text("New Customer")),
        ("NextStep", text("Architecture workshop with the AWS SA")),
        (
            "ACE_Business_Problem__c",
            text("Acme's claims team reconciles 40,000 paper claims a month by hand; they need an automated intake pipeline with document extraction before the Q4 peak."),
        ),
        ("Description", text("Internal notes only.")),
        ("Use_Cases__c", multi(&["AI Machine Learning and Analytics"])),
        ("ACE_Delivery_Models__c", multi(&["SaaS or PaaS"])),
        ("ACE_Sales_Activities__c", multi(&["Conducted POC / Demo"])),
        ("ACE_Primary_Needs__c", multi(&["Co-Sell - Architectural Validation"])),
        ("ACE_Expected_Monthly_Spend__c", number("12500.456")),
        ("AWS_Products__c", multi(&["AmazonTextract", "AmazonS3"])),
        ("AWS_Field_Contact__c", text("Jane Doe <jdoe@amazon.com>")),
        ("Account.Name", text("Acme Insurance")),
        ("Account.Website", text("https://www.acme-insurance.example")),
        ("Account.Industry", text("Insurance")),
        ("Account.BillingCountryCode", text("US")),
        ("Account.BillingStateCode", text("WA")),
        ("Account.BillingPostalCode", text("98109")),
        ("Account.BillingCity", text("Seattle")),
        ("Account.BillingStreet", text("410 Terry Ave N\nFloor 3")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    SObject {
        sobject_type: "Opportunity".into(),
        id: SfRecordId::parse("0065g00000QrStUAAV").unwrap(),
        fields,
    }
}

/// Field changes applied to [`good_record`]: `None` empties the field.
pub(crate) type Changes<'a> = Vec<(&'a str, Option<FieldValue>)>;

pub(crate) fn with(mut record: SObject, changes: &[(&str, Option<FieldValue>)]) -> SObject {
    for (field, value) in changes {
        match value {
            Some(v) => record.fields.insert((*field).to_owned(), v.clone()),
            None => record.fields.remove(*field),
        };
    }
    record
}

fn run(record: &SObject, mapping: &Mapping, today: &str) -> Result<preflight::Checked, Rejected> {
    preflight::check(record, mapping, &model(), &ctx(today))
}

fn rejected(record: &SObject, mapping: &Mapping) -> Rejected {
    match run(record, mapping, TODAY) {
        Ok(checked) => panic!(
            "expected findings, the check passed: {:#?}",
            checked.request.body
        ),
        Err(rejected) => rejected,
    }
}

#[test]
fn a_complete_record_becomes_a_valid_request() {
    let checked = run(&good_record(), &Mapping::default_mapping(), TODAY)
        .unwrap_or_else(|r| panic!("{:#?}", r.findings));
    assert!(checked.warnings.is_empty(), "{:#?}", checked.warnings);
    let request = checked.request;
    assert_eq!(request.phase, Phase::Submit);
    let submission = request.submission.expect("submitted at Needs Analysis");
    assert_eq!(submission.involvement_type, "Co-Sell");
    assert_eq!(submission.visibility, "Full");
    assert_eq!(request.solutions, ["S-1234567"]);
    assert_eq!(request.aws_products, ["AmazonTextract", "AmazonS3"]);
    let body = request.body.to_json();
    let get = |p: &str| ace_sync::ace::opportunity::json_get(&body, p).cloned();
    assert_eq!(
        get("PartnerOpportunityIdentifier"),
        Some("0065g00000QrStUAAV".into())
    );
    assert_eq!(
        get("Customer.Account.Industry"),
        Some("Financial Services".into())
    );
    assert_eq!(
        get("Customer.Account.Address.StateOrRegion"),
        Some("Washington".into())
    );
    assert_eq!(
        get("Customer.Account.Address.StreetAddress"),
        Some("410 Terry Ave N, Floor 3".into())
    );
    // Amounts are decimal strings with at most two fraction digits.
    assert_eq!(
        get("Project.ExpectedCustomerSpend.Amount"),
        Some("12500.46".into())
    );
    assert_eq!(get("LifeCycle.Stage"), Some("Qualified".into()));
    assert_eq!(get("LifeCycle.TargetCloseDate"), Some("2027-06-30".into()));
    assert_eq!(get("OpportunityType"), Some("Net New Business".into()));
    assert_eq!(
        get("Project.AdditionalComments"),
        Some("AWS field contact: Jane Doe <jdoe@amazon.com>".into())
    );
    assert_eq!(
        get("Project.CustomerBusinessProblem").and_then(|v| v.as_str().map(str::len)),
        Some(150)
    );
    // The wire form passes AWS's service model as CreateOpportunity input.
    let mut input = body.clone();
    input["Catalog"] = "Sandbox".into();
    input["ClientToken"] = "t".into();
    assert_eq!(model().validate_input("CreateOpportunity", &input), vec![]);
}

#[test]
fn stages_drive_the_phase() {
    let mapping = Mapping::default_mapping();
    for (stage, phase, submitted) in [
        ("Prospecting", Phase::NotYet, false),
        ("Qualification", Phase::Share, false),
        ("Needs Analysis", Phase::Submit, true),
        ("Negotiation/Review", Phase::Submit, true),
        ("Closed Won", Phase::Won, true),
        ("Closed Lost", Phase::Lost, true),
    ] {
        let mapped = mapping.map(&with(good_record(), &[("StageName", Some(text(stage)))]));
        assert_eq!(mapped.opportunity.phase, phase, "{stage}");
        assert_eq!(
            mapped.opportunity.submission.is_some(),
            submitted,
            "{stage}"
        );
    }
    let mapped = mapping.map(&with(
        good_record(),
        &[("StageName", Some(text("Closed Won")))],
    ));
    assert_eq!(
        mapped.opportunity.body.stage(),
        Some("Launched"),
        "Closed Won → Launched"
    );
}

#[test]
fn before_submission_the_submission_rules_do_not_apply() {
    // At Qualification the opportunity is only created: no use case needed yet, and the
    // AWS field contact is not asked for.
    let record = with(
        good_record(),
        &[
            ("StageName", Some(text("Qualification"))),
            ("Use_Cases__c", None),
            ("AWS_Field_Contact__c", None),
        ],
    );
    let checked = run(&record, &Mapping::default_mapping(), TODAY)
        .unwrap_or_else(|r| panic!("{:#?}", r.findings));
    assert!(checked.warnings.is_empty(), "{:#?}", checked.warnings);
    assert!(checked.request.submission.is_none());
    let comments = checked
        .request
        .body
        .project
        .and_then(|p| p.additional_comments);
    assert_eq!(comments, None, "the contact is carried only on submission");
}

// ---- AWS's test scenarios ----------------------------------------------------------------

/// The S3-era field names of AWS's scenarios → the Salesforce fields of the default mapping.
fn legacy_field(name: &str) -> Option<&'static str> {
    Some(match name {
        "useCase" => "Use_Cases__c",
        "targetCloseDate" => "CloseDate",
        "projectDescription" => "ACE_Business_Problem__c",
        "postalCode" => "Account.BillingPostalCode",
        "partnerProjectTitle" => "Name",
        "partnerPrimaryNeedFromAws" => "ACE_Primary_Needs__c",
        "industry" => "Account.Industry",
        "expectedMonthlyAwsRevenue" => "ACE_Expected_Monthly_Spend__c",
        "deliveryModel" => "ACE_Delivery_Models__c",
        "customerWebsite" => "Account.Website",
        "customerCompanyName" => "Account.Name",
        "country" => "Account.BillingCountryCode",
        "state" => "Account.BillingStateCode",
        "opportunityType" => "Type",
        "salesActivities" => "ACE_Sales_Activities__c",
        "awsProducts" => "AWS_Products__c",
        "streetAddress" => "Account.BillingStreet",
        "city" => "Account.BillingCity",
        "nextStep" => "NextStep",
        "competitiveTracking" => "ACE_Competitor__c",
        "competitiveTrackingOther" => "ACE_Other_Competitors__c",
        "customerDuns" => "Account.DUNS__c",
        "awsAccountId" => "AWS_Account_Id__c",
        "IsOppFromMarketingActivity" => "Marketing_Activity__c",
        "isMarketingDevelopmentFunded" => "MDF_Funded__c",
        "campaignName" => "Campaign_Name__c",
        "additionalComments" => "ACE_Additional_Comments__c",
        "closedLostReason" => "ACE_Closed_Lost_Reason__c",
        _ => return None,
    })
}

/// The default mapping plus the rules AWS's "all possible fields" scenario exercises.
fn scenario_mapping() -> Mapping {
    let extra = r#"
[[field]]
ace = "Customer.Account.Duns"
salesforce = "Account.DUNS__c"
[[field]]
ace = "Customer.Account.AwsAccountId"
salesforce = "AWS_Account_Id__c"
[[field]]
ace = "Project.AdditionalComments"
salesforce = "ACE_Additional_Comments__c"
[[field]]
ace = "Marketing.Source"
salesforce = "Marketing_Activity__c"
map = "marketing_source"
[[field]]
ace = "Marketing.AwsFundingUsed"
salesforce = "MDF_Funded__c"
[[field]]
ace = "Marketing.CampaignName"
salesforce = "Campaign_Name__c"
[maps.marketing_source]
"Yes" = "Marketing Activity"
"No" = "None"
"#;
    let mapping = Mapping::parse(&format!(
        "{}{extra}",
        ace_sync::ace::mapping::DEFAULT_MAPPING
    ))
    .expect("scenario mapping parses");
    let problems = ace_sync::ace::mapping::check(&mapping, &model());
    assert!(problems.is_empty(), "{problems:#?}");
    mapping
}

/// The opportunity JSON of one scenario step (S3-era JSON, as AWS wrote it).
fn scenario_json(csv: &str, step: &str) -> serde_json::Map<String, Value> {
    let rows = parse_csv(csv);
    let row = rows
        .iter()
        .find(|r| r.first().map(String::as_str) == Some(step))
        .unwrap_or_else(|| panic!("step {step} is in the scenario sheet"));
    let instructions = &row[2];
    let start = instructions
        .find('{')
        .expect("the step carries a JSON payload");
    let end = instructions.rfind('}').unwrap();
    let mut json: Value = serde_json::from_str(&instructions[start..=end])
        .unwrap_or_else(|e| panic!("step {step}: {e}"));
    match json["opportunities"][0].take() {
        Value::Object(map) => map,
        other => panic!("step {step}: {other}"),
    }
}

/// A Salesforce record holding a scenario's values in the default mapping's fields, at the
/// given stage.
fn scenario_record(opportunity: &serde_json::Map<String, Value>, stage: &str) -> SObject {
    let mut fields = BTreeMap::new();
    fields.insert("StageName".to_owned(), text(stage));
    for (name, value) in opportunity {
        let Some(field) = legacy_field(name) else {
            continue;
        };
        let value = match value {
            Value::Null => continue,
            // The S3 format names countries; Salesforce's picklists store ISO codes.
            Value::String(s) if name == "country" => text(match s.as_str() {
                "United States" => "US",
                other => other,
            }),
            Value::String(s) if s.contains(';') || name == "partnerPrimaryNeedFromAws" => {
                FieldValue::Multi(s.split(';').map(str::to_owned).collect())
            }
            Value::String(s) if matches!(name.as_str(), "deliveryModel" | "salesActivities") => {
                FieldValue::Multi(vec![s.clone()])
            }
            Value::String(s) if name == "targetCloseDate" => date(s),
            Value::String(s) => text(s),
            Value::Number(n) => number(&n.to_string()),
            // The sheet's bodies use placeholders ("product1") where real product codes go;
            // its own step 7.9 says invalid codes are refused, so stand in real ones.
            Value::Array(items) if name == "awsProducts" => FieldValue::Multi(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|code| match code {
                        "product1" => "AmazonS3",
                        "product2" => "AmazonRedshift",
                        "product3" => "AWSGlue",
                        other => other,
                    })
                    .map(str::to_owned)
                    .collect(),
            ),
            Value::Array(items) => FieldValue::Multi(
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
            ),
            Value::Bool(b) => text(&b.to_string()),
            Value::Object(_) => continue,
        };
        fields.insert(field.to_owned(), value);
    }
    SObject {
        sobject_type: "Opportunity".into(),
        id: SfRecordId::parse("0065g00000QrStUAAV").unwrap(),
        fields,
    }
}

const CREATE_SHEET: &str = include_str!("../fixtures/ace/testing__Partner_Opp_Referral_Create.csv");
const UPDATE_SHEET: &str = include_str!("../fixtures/ace/testing__Partner_Opp_Referral.csv");
/// The scenarios were written in 2020 with a June 2020 close date.
const SCENARIO_TODAY: &str = "2020-01-15";

#[test]
fn aws_create_scenarios_1_to_5_pass_the_check() {
    // "Create with Mandatory Fields" (1), "+ Partner Sales Contact" (2), "+ Customer Contact" (3),
    // "+ products and solutions" (4), "Create with all possible fields" (5): AWS expects "New
    // opportunity created and a successful response" for each.
    let mapping = scenario_mapping();
    for step in ["1", "2", "3", "4", "5"] {
        let mut opportunity = scenario_json(CREATE_SHEET, step);
        if step == "5" {
            // Step 5 sends campaignName and isMarketingDevelopmentFunded with
            // IsOppFromMarketingActivity "No", which step 7.15 forbids (as does the API-era data
            // model: "Must be null when Marketing.Source is None"); the S3 integration ignored
            // them. We follow 7.15: exactly those two are refused...
            let r = run(
                &scenario_record(&opportunity, "Needs Analysis"),
                &mapping,
                SCENARIO_TODAY,
            )
            .unwrap_err();
            let refused: Vec<_> = r
                .errors()
                .map(|f| (f.code, f.salesforce_field.clone().unwrap_or_default()))
                .collect();
            assert_eq!(
                refused,
                vec![
                    (
                        FindingCode::MarketingNotAllowed,
                        "Campaign_Name__c".to_owned()
                    ),
                    (FindingCode::MarketingNotAllowed, "MDF_Funded__c".to_owned()),
                ],
                "step 5"
            );
            // ...and without them the rest of "all possible fields" passes.
            opportunity.remove("campaignName");
            opportunity.remove("isMarketingDevelopmentFunded");
        }
        let record = scenario_record(&opportunity, "Needs Analysis");
        match run(&record, &mapping, SCENARIO_TODAY) {
            Ok(checked) => {
                assert!(
                    checked
                        .warnings
                        .iter()
                        .all(|w| w.severity == Severity::Warning),
                    "step {step}"
                );
            }
            Err(r) => panic!(
                "step {step} is accepted by AWS, so by us: {:#?}",
                r.findings
            ),
        }
    }
    // Step 4 names AWS products, step 1 does not: the quality signal notices.
    let step1 = run(
        &scenario_record(&scenario_json(CREATE_SHEET, "1"), "Needs Analysis"),
        &mapping,
        SCENARIO_TODAY,
    )
    .unwrap();
    assert!(
        step1
            .warnings
            .iter()
            .any(|w| w.code == FindingCode::NoAwsProduct)
    );
    let step4 = run(
        &scenario_record(&scenario_json(CREATE_SHEET, "4"), "Needs Analysis"),
        &mapping,
        SCENARIO_TODAY,
    )
    .unwrap();
    assert!(
        !step4
            .warnings
            .iter()
            .any(|w| w.code == FindingCode::NoAwsProduct)
    );
}

#[test]
fn aws_create_scenario_7_1_each_mandatory_field_is_named_when_missing() {
    // 7.1: "The following fields are mandatory on the opportunity (If any of these fields are
    // missing then the opportunity will not be created)". Drop each in turn: the check must
    // refuse and name the Salesforce field that holds it.
    let mapping = scenario_mapping();
    let base = scenario_json(CREATE_SHEET, "1");
    for legacy in [
        "useCase",
        "targetCloseDate",
        "projectDescription",
        "postalCode",
        "partnerProjectTitle",
        "partnerPrimaryNeedFromAws",
        "industry",
        "expectedMonthlyAwsRevenue",
        "deliveryModel",
        "customerWebsite",
        "customerCompanyName",
        "country",
        "state",
        "salesActivities",
    ] {
        let mut opportunity = base.clone();
        opportunity.remove(legacy);
        let record = scenario_record(&opportunity, "Needs Analysis");
        let r = match run(&record, &mapping, SCENARIO_TODAY) {
            Ok(_) => panic!("7.1: without {legacy} AWS refuses the opportunity"),
            Err(r) => r,
        };
        let field = legacy_field(legacy).unwrap();
        let named = r
            .errors()
            .any(|f| f.salesforce_field.as_deref() == Some(field));
        let country_gone = legacy == "country"
            && r.errors()
                .any(|f| f.ace_field.as_deref() == Some("Customer.Account.Address.CountryCode"));
        assert!(named || country_gone, "7.1 {legacy}: {:#?}", r.findings);
    }
}

#[test]
fn aws_create_validation_scenarios() {
    let mapping = scenario_mapping();
    let mut base = scenario_json(CREATE_SHEET, "5");
    // See aws_create_scenarios_1_to_5_pass_the_check on these two.
    base.remove("campaignName");
    base.remove("isMarketingDevelopmentFunded");
    type Edit = fn(&mut serde_json::Map<String, Value>);
    let cases: &[(&str, Edit, FindingCode)] = &[
        // 7.2 co-sell needs together with "Do not need support from AWS Sales Rep".
        (
            "7.2",
            |o| {
                o.insert(
                    "partnerPrimaryNeedFromAws".into(),
                    "Co-Sell - Architectural Validation;Do Not Need Support from AWS Sales Rep"
                        .into(),
                );
            },
            FindingCode::PrimaryNeedsConflict,
        ),
        // 7.3 standard values only: an industry ACE does not know.
        (
            "7.3",
            |o| {
                o.insert("industry".into(), "Business Serv. 2".into());
            },
            FindingCode::UnmappedValue,
        ),
        (
            "7.3",
            |o| {
                o.insert("deliveryModel".into(), "On-site".into());
            },
            FindingCode::Model(ace_sync::ace::model::ViolationCode::InvalidEnumValue),
        ),
        // 7.4 US addresses need a valid state.
        (
            "7.4",
            |o| {
                o.remove("state");
            },
            FindingCode::StateRequired,
        ),
        (
            "7.4",
            |o| {
                o.insert("state".into(), "Alaskaa".into());
            },
            FindingCode::InvalidState,
        ),
        // 7.7 DUNS is nine digits.
        (
            "7.7",
            |o| {
                o.insert("customerDuns".into(), "12345".into());
            },
            FindingCode::Model(ace_sync::ace::model::ViolationCode::InvalidStringFormat),
        ),
        // 7.8 the AWS account id: 12 digits (the model also takes 1–12 word characters).
        (
            "7.8",
            |o| {
                o.insert("awsAccountId".into(), "1234567890123".into());
            },
            FindingCode::Model(ace_sync::ace::model::ViolationCode::InvalidStringFormat),
        ),
        // 7.11 expected revenue cannot be negative or zero.
        (
            "7.11",
            |o| {
                o.insert("expectedMonthlyAwsRevenue".into(), 0.into());
            },
            FindingCode::AmountNotPositive,
        ),
        // 7.13 project description of at least 20 characters.
        (
            "7.13",
            |o| {
                o.insert("projectDescription".into(), "Too short".into());
            },
            FindingCode::BusinessProblemLength,
        ),
        // 7.14 funding is mandatory when the opportunity comes from a marketing activity.
        (
            "7.14",
            |o| {
                o.insert("IsOppFromMarketingActivity".into(), "Yes".into());
                o.remove("isMarketingDevelopmentFunded");
            },
            FindingCode::MarketingFundingRequired,
        ),
        // 7.15 with IsOppFromMarketingActivity No, the marketing fields must be empty.
        (
            "7.15",
            |o| {
                o.insert("IsOppFromMarketingActivity".into(), "No".into());
                o.insert("isMarketingDevelopmentFunded".into(), "No".into());
            },
            FindingCode::MarketingNotAllowed,
        ),
    ];
    for (step, edit, code) in cases {
        let mut opportunity = base.clone();
        edit(&mut opportunity);
        let record = scenario_record(&opportunity, "Needs Analysis");
        let r = match run(&record, &mapping, SCENARIO_TODAY) {
            Ok(_) => panic!("step {step}: AWS refuses this, so must we"),
            Err(r) => r,
        };
        assert!(
            r.errors().any(|f| f.code == *code),
            "step {step}: expected {code:?} in {:#?}",
            r.findings
        );
    }
    // 7.10: solutionOffered is required — with no solution configured and no other solution.
    let no_solutions = Mapping {
        solutions: vec![],
        ..mapping.clone()
    };
    let r = match run(
        &scenario_record(&base, "Needs Analysis"),
        &no_solutions,
        SCENARIO_TODAY,
    ) {
        Ok(_) => panic!("7.10: a submission needs a solution"),
        Err(r) => r,
    };
    assert!(
        r.errors().any(|f| f.code == FindingCode::SolutionRequired),
        "{:#?}",
        r.findings
    );
}

#[test]
fn aws_update_validation_scenarios() {
    let mapping = scenario_mapping();
    let mut base = scenario_json(CREATE_SHEET, "5");
    // See aws_create_scenarios_1_to_5_pass_the_check on these two.
    base.remove("campaignName");
    base.remove("isMarketingDevelopmentFunded");
    // 3.2 (update sheet): useCase, targetCloseDate, stage, partnerPrimaryNeedFromAws,
    // expectedMonthlyAwsRevenue, deliveryModel, salesActivities are mandatory on updates.
    let sheet = parse_csv(UPDATE_SHEET);
    assert!(
        sheet
            .iter()
            .any(|r| r.first().map(String::as_str) == Some("3.2"))
    );
    for legacy in [
        "useCase",
        "targetCloseDate",
        "partnerPrimaryNeedFromAws",
        "expectedMonthlyAwsRevenue",
        "deliveryModel",
        "salesActivities",
    ] {
        let mut opportunity = base.clone();
        opportunity.remove(legacy);
        let record = scenario_record(&opportunity, "Negotiation/Review");
        assert!(
            run(&record, &mapping, SCENARIO_TODAY).is_err(),
            "3.2: {legacy} is mandatory"
        );
    }
    let record = with(
        scenario_record(&base, "Negotiation/Review"),
        &[("StageName", None)],
    );
    let r = run(&record, &mapping, SCENARIO_TODAY).unwrap_err();
    assert!(
        r.errors()
            .any(|f| f.ace_field.as_deref() == Some("LifeCycle.Stage")),
        "3.2 stage"
    );
    // 3.11: closedLostReason is mandatory when the stage is Closed Lost...
    let record = scenario_record(&base, "Closed Lost");
    let r = run(&record, &mapping, SCENARIO_TODAY).unwrap_err();
    let finding = r
        .errors()
        .find(|f| f.code == FindingCode::ClosedLostReasonRequired)
        .expect("3.11");
    assert_eq!(
        finding.salesforce_field.as_deref(),
        Some("ACE_Closed_Lost_Reason__c")
    );
    // ...and with one it passes.
    let mut opportunity = base.clone();
    opportunity.insert("closedLostReason".into(), "Price".into());
    let checked = run(
        &scenario_record(&opportunity, "Closed Lost"),
        &mapping,
        SCENARIO_TODAY,
    )
    .unwrap();
    assert_eq!(
        checked
            .request
            .body
            .life_cycle
            .unwrap()
            .closed_lost_reason
            .as_deref(),
        Some("Price")
    );
    // 3.4: customerDuns is a 9-digit number; 3.5: parentOppId an ACE opportunity id (pattern).
    let mut opportunity = base.clone();
    opportunity.insert("customerDuns".into(), "ABCDEFGHI".into());
    assert!(
        run(
            &scenario_record(&opportunity, "Negotiation/Review"),
            &mapping,
            SCENARIO_TODAY
        )
        .is_err(),
        "3.4"
    );
}

// ---- one case per rule -------------------------------------------------------------------

#[test]
fn each_rule_names_the_field_to_fix() {
    use FindingCode::*;
    let mapping = Mapping::default_mapping();
    let cases: Vec<(&str, Changes, FindingCode, Option<&str>, &str)> = vec![
        (
            "US state required",
            vec![("Account.BillingStateCode", None)],
            StateRequired,
            Some("Account.BillingStateCode"),
            "Account Billing State is required when the country is the United States (ACE: Customer.Account.Address.StateOrRegion)",
        ),
        (
            "US state unknown",
            vec![("Account.BillingStateCode", Some(text("Cascadia")))],
            InvalidState,
            Some("Account.BillingStateCode"),
            "\"Cascadia\" is not a US state",
        ),
        (
            "postal code required",
            vec![("Account.BillingPostalCode", None)],
            PostalCodeRequired,
            Some("Account.BillingPostalCode"),
            "is required for addresses in US",
        ),
        (
            "postal code format at submission",
            vec![("Account.BillingPostalCode", Some(text("9931")))],
            InvalidPostalCode,
            Some("Account.BillingPostalCode"),
            "United States postal code must be in 99999 OR 99999-9999 format",
        ),
        (
            "postal code format elsewhere",
            vec![
                ("Account.BillingCountryCode", Some(text("CA"))),
                ("Account.BillingStateCode", Some(text("ON"))),
                ("Account.BillingPostalCode", Some(text("123"))),
            ],
            InvalidPostalCode,
            Some("Account.BillingPostalCode"),
            "Canada postal code must be in A9A 9A9 or A9A9A9 format",
        ),
        (
            "business problem too short",
            vec![
                ("ACE_Business_Problem__c", Some(text("Needs help"))),
                ("Description", None),
            ],
            BusinessProblemLength,
            Some("ACE_Business_Problem__c"),
            "has 10 characters; ACE needs at least 20",
        ),
        (
            "business problem too long",
            vec![("ACE_Business_Problem__c", Some(text(&"x".repeat(2001))))],
            BusinessProblemLength,
            Some("ACE_Business_Problem__c"),
            "at most 2000",
        ),
        (
            "business problem falls back to Description",
            vec![
                ("ACE_Business_Problem__c", None),
                ("Description", Some(text("short"))),
            ],
            BusinessProblemLength,
            Some("Description"),
            "Description",
        ),
        (
            "closed lost reason",
            vec![("StageName", Some(text("Closed Lost")))],
            ClosedLostReasonRequired,
            Some("ACE_Closed_Lost_Reason__c"),
            "ACE Closed Lost Reason is required when the opportunity is Closed Lost",
        ),
        (
            "closed lost reason ACE lacks",
            vec![
                ("StageName", Some(text("Closed Lost"))),
                ("ACE_Closed_Lost_Reason__c", Some(text("Bad luck"))),
            ],
            Model(ace_sync::ace::model::ViolationCode::InvalidEnumValue),
            Some("ACE_Closed_Lost_Reason__c"),
            "LifeCycle.ClosedLostReason",
        ),
        (
            "industry Other needs OtherIndustry",
            vec![],
            OtherIndustryRequired,
            None,
            "is required when the industry is Other",
        ),
        (
            "close date in the past",
            vec![("CloseDate", Some(date("2026-05-31")))],
            CloseDateInPast,
            Some("CloseDate"),
            "Close Date is 2026-05-31, in the past",
        ),
        (
            "close date too far",
            vec![("CloseDate", Some(date("2090-01-01")))],
            CloseDateTooFar,
            Some("CloseDate"),
            "at most 60 years",
        ),
        (
            "website required",
            vec![("Account.Website", None)],
            WebsiteRequired,
            Some("Account.Website"),
            "Account Website is required (ACE: Customer.Account.WebsiteUrl)",
        ),
        (
            "website format",
            vec![("Account.Website", Some(text("acme")))],
            InvalidWebsite,
            Some("Account.Website"),
            "is not a web address ACE accepts",
        ),
        (
            "competitor Other",
            vec![("ACE_Competitor__c", Some(text("*Other")))],
            OtherCompetitorRequired,
            Some("ACE_Other_Competitors__c"),
            "is required when the competitor is Other",
        ),
        (
            "AWS product ACE does not know",
            vec![("AWS_Products__c", Some(multi(&["AmazonS3", "AmazonRDS"])))],
            InvalidAwsProduct,
            Some("AWS_Products__c"),
            "AmazonRDS is not an AWS product code ACE knows",
        ),
        (
            "use case ACE lacks",
            vec![("Use_Cases__c", Some(multi(&["Cloud Migration"])))],
            InvalidUseCase,
            Some("Use_Cases__c"),
            "is not one of ACE's customer use cases",
        ),
        (
            "use case spelled differently",
            vec![(
                "Use_Cases__c",
                Some(multi(&["Migration / Database Migration"])),
            )],
            InvalidUseCase,
            Some("Use_Cases__c"),
            "ACE spells it \"Migration/Database Migration\"",
        ),
        (
            "needs conflict",
            vec![(
                "ACE_Primary_Needs__c",
                Some(multi(&[
                    "Co-Sell - Deal Support",
                    "Do Not Need Support from AWS Sales Rep",
                ])),
            )],
            PrimaryNeedsConflict,
            Some("ACE_Primary_Needs__c"),
            "choose one or the other",
        ),
        (
            "co-sell without support",
            vec![(
                "ACE_Primary_Needs__c",
                Some(multi(&["Do Not Need Support from AWS Sales Rep"])),
            )],
            InvolvementTypeConflict,
            Some("ACE_Primary_Needs__c"),
            "involvement type Co-Sell",
        ),
        (
            "delivery models for submission",
            vec![("ACE_Delivery_Models__c", None)],
            RequiredForSubmission,
            Some("ACE_Delivery_Models__c"),
            "is required to submit the opportunity to AWS (ACE: Project.DeliveryModels)",
        ),
        (
            "sales activities for submission",
            vec![("ACE_Sales_Activities__c", None)],
            RequiredForSubmission,
            Some("ACE_Sales_Activities__c"),
            "Project.SalesActivities",
        ),
        (
            "primary needs for submission",
            vec![("ACE_Primary_Needs__c", None)],
            RequiredForSubmission,
            Some("ACE_Primary_Needs__c"),
            "PrimaryNeedsFromAws",
        ),
        (
            "use case for submission",
            vec![("Use_Cases__c", None)],
            RequiredForSubmission,
            Some("Use_Cases__c"),
            "Project.CustomerUseCase",
        ),
        (
            "spend required",
            vec![("ACE_Expected_Monthly_Spend__c", None)],
            NoExpectedSpend,
            Some("ACE_Expected_Monthly_Spend__c"),
            "Expected Monthly AWS Spend is required",
        ),
        (
            "spend positive",
            vec![("ACE_Expected_Monthly_Spend__c", Some(number("-5")))],
            AmountNotPositive,
            Some("ACE_Expected_Monthly_Spend__c"),
            "must be more than zero",
        ),
        (
            "spend a number",
            vec![("ACE_Expected_Monthly_Spend__c", Some(text("lots")))],
            InvalidValue,
            Some("ACE_Expected_Monthly_Spend__c"),
            "must be a number",
        ),
        (
            "company name",
            vec![("Account.Name", None)],
            Required,
            Some("Account.Name"),
            "Account Name is required (ACE: Customer.Account.CompanyName)",
        ),
        (
            "title",
            vec![("Name", None)],
            Required,
            Some("Name"),
            "(ACE: Project.Title)",
        ),
        (
            "country",
            vec![("Account.BillingCountryCode", None)],
            Required,
            Some("Account.BillingCountryCode"),
            "Customer.Account.Address.CountryCode",
        ),
        (
            "country ACE lacks",
            vec![("Account.BillingCountryCode", Some(text("XK")))],
            Model(ace_sync::ace::model::ViolationCode::InvalidEnumValue),
            Some("Account.BillingCountryCode"),
            "Customer.Account.Address.CountryCode",
        ),
        (
            "industry unmapped",
            vec![("Account.Industry", Some(text("Piracy")))],
            UnmappedValue,
            Some("Account.Industry"),
            "Account Industry value \"Piracy\" has no ACE equivalent",
        ),
        (
            "stage unmapped",
            vec![("StageName", Some(text("Verbal Yes")))],
            UnmappedValue,
            Some("StageName"),
            "Stage \"Verbal Yes\" is not in the ACE mapping's stage list",
        ),
        (
            "type unmapped",
            vec![("Type", Some(text("Renewal")))],
            UnmappedValue,
            Some("Type"),
            "Type value \"Renewal\"",
        ),
        (
            "next steps too long",
            vec![("NextStep", Some(text(&"n".repeat(300))))],
            Model(ace_sync::ace::model::ViolationCode::InvalidStringFormat),
            Some("NextStep"),
            "LifeCycle.NextSteps",
        ),
    ];
    for (name, changes, code, sf_field, message) in cases {
        let mut record = with(good_record(), &changes);
        if name == "industry Other needs OtherIndustry" {
            // The default mapping fills OtherIndustry from the Salesforce industry; a mapping
            // without that rule leaves it empty.
            let mut mapping = mapping.clone();
            mapping
                .fields
                .retain(|r| r.ace != "Customer.Account.OtherIndustry");
            record = with(record, &[("Account.Industry", Some(text("Environmental")))]);
            let r = rejected(&record, &mapping);
            assert!(
                r.errors()
                    .any(|f| f.code == code && f.message.contains(message)),
                "{name}: {:#?}",
                r.findings
            );
            continue;
        }
        let r = rejected(&record, &mapping);
        let finding = r
            .errors()
            .find(|f| f.code == code)
            .unwrap_or_else(|| panic!("{name}: expected {code:?} in {:#?}", r.findings));
        assert_eq!(
            finding.salesforce_field.as_deref(),
            sf_field,
            "{name}: {finding:#?}"
        );
        assert!(
            finding.message.contains(message),
            "{name}: {:?} should contain {message:?}",
            finding.message
        );
        assert!(finding.ace_field.is_some(), "{name}");
    }
}

#[test]
fn national_security_rules() {
    let mut mapping = Mapping::default_mapping();
    for rule in mapping
        .fields
        .iter_mut()
        .filter(|r| r.ace == "NationalSecurity")
    {
        rule.constant = Some(vec!["Yes".into()]);
    }
    // NationalSecurity Yes: no website, state or postal code needed, but the industry must be
    // Government.
    let record = with(
        good_record(),
        &[
            ("Account.Website", None),
            ("Account.BillingStateCode", None),
            ("Account.BillingPostalCode", None),
        ],
    );
    let r = rejected(&record, &mapping);
    let codes: Vec<FindingCode> = r.errors().map(|f| f.code).collect();
    assert_eq!(
        codes,
        vec![FindingCode::NationalSecurityIndustry],
        "{:#?}",
        r.findings
    );
    let record = with(record, &[("Account.Industry", Some(text("Government")))]);
    run(&record, &mapping, TODAY).unwrap_or_else(|r| panic!("{:#?}", r.findings));
}

#[test]
fn marketing_source_none_rules() {
    let extra = "[[field]]\nace = \"Marketing.Source\"\nconstant = \"None\"\n[[field]]\nace = \"Marketing.CampaignName\"\nsalesforce = \"Campaign_Name__c\"\n";
    let mapping = Mapping::parse(&format!(
        "{}{extra}",
        ace_sync::ace::mapping::DEFAULT_MAPPING
    ))
    .unwrap();
    run(&good_record(), &mapping, TODAY).unwrap_or_else(|r| panic!("{:#?}", r.findings));
    let r = rejected(
        &with(
            good_record(),
            &[("Campaign_Name__c", Some(text("Re:Invent")))],
        ),
        &mapping,
    );
    let f = r
        .errors()
        .find(|f| f.code == FindingCode::MarketingNotAllowed)
        .expect("campaign with Source None");
    assert_eq!(f.salesforce_field.as_deref(), Some("Campaign_Name__c"));
}

#[test]
fn closing_keeps_aces_close_date_when_salesforces_is_past() {
    let record = with(
        good_record(),
        &[
            ("StageName", Some(text("Closed Won"))),
            ("CloseDate", Some(date("2026-05-02"))),
        ],
    );
    let checked = run(&record, &Mapping::default_mapping(), TODAY)
        .unwrap_or_else(|r| panic!("{:#?}", r.findings));
    let life_cycle = checked.request.body.life_cycle.unwrap();
    assert_eq!(life_cycle.stage.as_deref(), Some("Launched"));
    assert_eq!(
        life_cycle.target_close_date, None,
        "not sent: ACE keeps its own"
    );
}

#[test]
fn quality_signals_are_warnings() {
    use FindingCode::*;
    let mapping = Mapping::default_mapping();
    let cases: Vec<(&str, Changes, FindingCode, Option<&str>)> = vec![
        (
            "no AWS product",
            vec![("AWS_Products__c", None)],
            NoAwsProduct,
            Some("AWS_Products__c"),
        ),
        (
            "generic problem",
            vec![(
                "ACE_Business_Problem__c",
                Some(text("Customer wants a cloud migration to AWS, TBD.")),
            )],
            GenericBusinessProblem,
            Some("ACE_Business_Problem__c"),
        ),
        (
            "no AWS field contact",
            vec![("AWS_Field_Contact__c", None)],
            NoAwsFieldContact,
            Some("AWS_Field_Contact__c"),
        ),
        (
            "several use cases",
            vec![("Use_Cases__c", Some(multi(&["Database", "Archiving"])))],
            MultipleValues,
            Some("Use_Cases__c"),
        ),
        (
            "postal code format before submission",
            vec![
                ("StageName", Some(text("Qualification"))),
                ("Account.BillingPostalCode", Some(text("9931"))),
            ],
            InvalidPostalCode,
            Some("Account.BillingPostalCode"),
        ),
    ];
    for (name, changes, code, sf_field) in cases {
        let checked = run(&with(good_record(), &changes), &mapping, TODAY)
            .unwrap_or_else(|r| panic!("{name}: a warning does not block: {:#?}", r.findings));
        let w = checked
            .warnings
            .iter()
            .find(|w| w.code == code)
            .unwrap_or_else(|| panic!("{name}: expected {code:?} in {:#?}", checked.warnings));
        assert_eq!(w.severity, Severity::Warning);
        assert_eq!(w.salesforce_field.as_deref(), sf_field, "{name}");
    }
    // A placeholder spend from the mapping's default is flagged too.
    let mut with_default = mapping.clone();
    for rule in with_default
        .fields
        .iter_mut()
        .filter(|r| r.ace == "Project.ExpectedCustomerSpend.Amount")
    {
        rule.default = Some(vec!["1".into()]);
    }
    let checked = run(
        &with(good_record(), &[("ACE_Expected_Monthly_Spend__c", None)]),
        &with_default,
        TODAY,
    )
    .unwrap();
    let w = checked
        .warnings
        .iter()
        .find(|w| w.code == NoExpectedSpend)
        .expect("placeholder spend");
    assert_eq!(
        w.salesforce_field.as_deref(),
        Some("ACE_Expected_Monthly_Spend__c")
    );
    assert!(w.message.contains("placeholder 1"), "{}", w.message);
}

#[test]
fn mapping_findings_reach_the_check() {
    // A multi-select feeding a single ACE field sends the first value and warns.
    let mapped = Mapping::default_mapping().map(&with(
        good_record(),
        &[("Use_Cases__c", Some(multi(&["Database", "SAP"])))],
    ));
    assert_eq!(
        mapped
            .opportunity
            .body
            .project
            .unwrap()
            .customer_use_case
            .as_deref(),
        Some("Database")
    );
    assert_eq!(mapped.findings.len(), 1);
    assert_eq!(mapped.findings[0].code, FindingCode::MultipleValues);
}

#[test]
fn the_mapping_check_command_lists_problems_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("ace-sync-mapping-{:016x}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(&good, ace_sync::ace::mapping::DEFAULT_MAPPING).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        ace_sync::ace::mapping::DEFAULT_MAPPING
            .replace(
                "\"Banking\" = \"Financial Services\"",
                "\"Banking\" = \"Banks\"",
            )
            .replace(
                "ace = \"Customer.Account.WebsiteUrl\"",
                "ace = \"Customer.Account.Homepage\"",
            )
            .replace("stage = \"Prospecting\"", "stage = \"Prospects\""),
    )
    .unwrap();
    let typo = dir.join("typo.toml");
    std::fs::write(
        &typo,
        "version = 1\n[trigger]\ncreate_at = \"A\"\ncreat_at = \"B\"\n",
    )
    .unwrap();
    let run = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ace-sync"))
            .args(["mapping", "check"])
            .arg(file)
            .output()
            .expect("ace-sync runs")
    };
    let out = run(&good);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("the mapping is valid"));

    let out = run(&bad);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"Banks\" is not a value of Customer.Account.Industry"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Customer.Account.Homepage is not a field of an ACE opportunity"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing fills Customer.Account.WebsiteUrl"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "[referrals] stage: \"Prospects\" is not one of the [[stage]] Salesforce stages"
        ),
        "the referrals section is checked too: {stderr}"
    );

    let out = run(&typo);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown key `creat_at`"), "{stderr}");

    let out = run(&dir.join("missing.toml"));
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_dir_all(&dir).ok();
}

// ---- a minimal RFC 4180 reader for AWS's CSV sheets ---------------------------------------

fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}
