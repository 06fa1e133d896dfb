//! The Partner Central simulator and ace-sync's pre-flight check (`ace_sync::ace::preflight`)
//! agree on every documented value: each enum value of every opportunity member a mapping can
//! write, the US states (and their USPS codes, which ACE refuses), the customer use cases,
//! postal codes per country (required or not, and their formats at submission) and the AWS
//! product codes. For each value the simulator's verdict comes over the wire (CreateOpportunity,
//! then StartEngagementFromOpportunityTask, or AssociateOpportunity), the pre-flight check's
//! from `check_mapped` on the same body; any value one accepts and the other refuses fails the
//! test, named.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use ace_sync::ace::mapping::{MappedOpportunity, Mapping, Phase, Submission};
use ace_sync::ace::model::ServiceModel;
use ace_sync::ace::opportunity::{Catalog, Opportunity, WRITABLE_FIELDS, json_remove, json_set};
use ace_sync::ace::preflight::{Context, check_mapped};
use ace_sync::ace::rules;
use ace_sync_sandbox::partner_central::{self as sim, SimConfig};

/// An opportunity both sides accept for submission; each case changes one member of it. A
/// solution is described rather than associated, so one call less per case.
fn base(close_date: &str) -> Value {
    json!({
        "PrimaryNeedsFromAws": ["Co-Sell - Architectural Validation"],
        "NationalSecurity": "No",
        "OpportunityType": "Net New Business",
        "Customer": {"Account": {
            "CompanyName": "Acme Corp", "Industry": "Retail", "WebsiteUrl": "https://acme.example",
            "Address": {"CountryCode": "US", "StateOrRegion": "Washington", "PostalCode": "98109",
                "City": "Seattle"}}},
        "Project": {
            "Title": "Order platform migration",
            "CustomerBusinessProblem": "Acme's order system runs on two ageing on-premises Oracle servers; peak season latency loses them 4% of orders.",
            "CustomerUseCase": "Migration/Database Migration",
            "DeliveryModels": ["Professional Services"],
            "SalesActivities": ["Conducted POC / Demo"],
            "CompetitorName": "No Competition",
            "OtherSolutionDescription": "Acme migration runbook",
            "ExpectedCustomerSpend": [{"Amount": "12500", "CurrencyCode": "USD",
                "Frequency": "Monthly", "TargetCompany": "AWS"}],
            "ExpectedContractDuration": {"Term": "Months", "Value": "12"}},
        "Marketing": {"Source": "Marketing Activity", "AwsFundingUsed": "Yes",
            "Channels": ["Email"], "UseCases": ["Analytics"], "CampaignName": "Q3 migration"},
        "SoftwareRevenue": {"DeliveryModel": "Contract",
            "Value": {"Amount": "1000", "CurrencyCode": "USD"}},
        "LifeCycle": {"Stage": "Qualified", "TargetCloseDate": close_date},
    })
}

/// One value to try: the member it goes in, and the body with it.
struct Case {
    name: String,
    body: Value,
}

fn case(base: &Value, path: &str, value: Value, changes: &[(&str, Option<Value>)]) -> Case {
    let mut body = base.clone();
    json_set(&mut body, path, value.clone());
    for (p, v) in changes {
        match v {
            Some(v) => json_set(&mut body, p, v.clone()),
            None => json_remove(&mut body, p),
        }
    }
    Case {
        name: format!("{path} = {value}"),
        body,
    }
}

/// A sample postal code in AWS's notation (`data/postal-codes.tsv`): 9 or N a digit, a letter
/// any letter, A/N either, `(…)` optional (taken); the first alternative.
fn postal_sample(formats: &str) -> String {
    let first = formats
        .split(" OR ")
        .flat_map(|f| f.split(" or "))
        .next()
        .unwrap_or_default();
    let chars: Vec<char> = first.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '(' | ')' => {}
            'A' if chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'N') => {
                out.push('K');
                i += 2;
            }
            c if c.is_ascii_digit() || c == 'N' => out.push('5'),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// What a side said about a case.
#[derive(Debug)]
struct Verdict {
    accepted: bool,
    why: String,
}

struct Sides {
    http: reqwest::Client,
    endpoint: String,
    model: ServiceModel,
    mapping: Mapping,
    ctx: Context,
    calls: u64,
}

impl Sides {
    async fn call(&mut self, operation: &str, input: Value) -> (u16, Value) {
        self.calls += 1;
        let response = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header(
                "x-amz-target",
                format!("AWSPartnerCentralSelling.{operation}"),
            )
            .body(input.to_string())
            .send()
            .await
            .expect("the simulator answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// CreateOpportunity, then the submission task.
    async fn simulator(&mut self, body: &Value) -> Verdict {
        let token = format!("agree-{}", self.calls);
        let mut create = body.clone();
        create["Catalog"] = json!("Sandbox");
        create["ClientToken"] = json!(token);
        let (status, created) = self.call("CreateOpportunity", create).await;
        if status != 200 {
            return Verdict {
                accepted: false,
                why: format!("CreateOpportunity {status}: {created}"),
            };
        }
        let start = json!({"Catalog": "Sandbox", "ClientToken": token, "Identifier": created["Id"],
            "AwsSubmission": {"InvolvementType": "Co-Sell", "Visibility": "Full"}});
        let (status, task) = self.call("StartEngagementFromOpportunityTask", start).await;
        Verdict {
            accepted: status == 200 && task["TaskStatus"] == "COMPLETE",
            why: format!("StartEngagementFromOpportunityTask {status}: {task}"),
        }
    }

    /// The pre-flight check of the same body, for submission.
    fn preflight(&self, body: &Value, aws_products: Vec<String>) -> Verdict {
        let opportunity = match Opportunity::from_json(body.clone()) {
            Ok(o) => o,
            Err(e) => {
                return Verdict {
                    accepted: false,
                    why: format!("not an opportunity: {e}"),
                };
            }
        };
        let mapped = MappedOpportunity {
            body: opportunity,
            phase: Phase::Submit,
            salesforce_stage: None,
            solutions: Vec::new(),
            aws_products,
            submission: Some(Submission {
                involvement_type: "Co-Sell".to_owned(),
                visibility: "Full".to_owned(),
            }),
            aws_field_contact: Some("Jane Doe <jane.doe@amazon.com>".to_owned()),
            sources: BTreeMap::new(),
        };
        match check_mapped(mapped, Vec::new(), &self.mapping, &self.model, &self.ctx) {
            Ok(_) => Verdict {
                accepted: true,
                why: String::new(),
            },
            Err(rejected) => Verdict {
                accepted: false,
                why: rejected
                    .errors()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join(" | "),
            },
        }
    }
}

/// How a walk went: per walk, how many values each verdict had, and the disagreements.
#[derive(Default)]
struct Tally {
    accepted: BTreeMap<&'static str, usize>,
    refused: BTreeMap<&'static str, usize>,
    disagreements: Vec<String>,
}

impl Tally {
    fn record(&mut self, walk: &'static str, name: &str, sim: Verdict, pre: Verdict) {
        if sim.accepted != pre.accepted {
            self.disagreements.push(format!(
                "{walk}: {name}: the simulator {} ({}), the pre-flight check {} ({})",
                if sim.accepted { "accepts" } else { "refuses" },
                sim.why,
                if pre.accepted { "accepts" } else { "refuses" },
                pre.why,
            ));
        } else if sim.accepted {
            *self.accepted.entry(walk).or_default() += 1;
        } else {
            *self.refused.entry(walk).or_default() += 1;
        }
    }
}

#[tokio::test]
async fn the_simulator_and_the_preflight_check_agree_on_every_documented_value() {
    let handle = sim::start(SimConfig::for_tests())
        .await
        .expect("simulator starts");
    let today = time::OffsetDateTime::now_utc().date();
    let close = (today + time::Duration::days(120)).to_string();
    let base = base(&close);
    let mut sides = Sides {
        http: reqwest::Client::new(),
        endpoint: handle.endpoint_url().to_owned(),
        model: ServiceModel::load().expect("model"),
        mapping: Mapping::default_mapping(),
        ctx: Context {
            today,
            catalog: Catalog::Sandbox,
        },
        calls: 0,
    };
    let mut walks: Vec<(&'static str, Vec<Case>)> = Vec::new();

    // Every enum value of every member a mapping can write, and one that is none.
    let mut enums = Vec::new();
    for (path, kind) in WRITABLE_FIELDS.iter().filter(|(_, kind)| kind.is_enum()) {
        let values = sides
            .model
            .resolve_path("CreateOpportunityRequest", path)
            .and_then(|m| m.enum_values)
            .unwrap_or_else(|| panic!("{path} has enum values"))
            .to_vec();
        for value in values.iter().map(String::as_str).chain(["Not a value"]) {
            let leaf = if kind.is_list() {
                json!([value])
            } else {
                json!(value)
            };
            enums.push(case(&base, path, leaf, &[]));
        }
    }
    walks.push(("enum values", enums));

    // StateOrRegion of a US address: the documented names, and the USPS codes ACE refuses.
    const STATE: &str = "Customer.Account.Address.StateOrRegion";
    let states = rules::us_states()
        .flat_map(|(code, name)| {
            [
                case(&base, STATE, json!(name), &[]),
                case(&base, STATE, json!(code), &[]),
            ]
        })
        .chain([case(&base, STATE, json!("washington"), &[])])
        .collect();
    walks.push(("US states", states));

    // Project.CustomerUseCase: the documented values, and near misses.
    const USE_CASE: &str = "Project.CustomerUseCase";
    let use_cases = rules::customer_use_cases()
        .map(|v| case(&base, USE_CASE, json!(v), &[]))
        .chain(
            [
                "Cloud migration",
                "security & compliance",
                "Migration / Database Migration",
            ]
            .map(|v| case(&base, USE_CASE, json!(v), &[])),
        )
        .collect();
    walks.push(("customer use cases", use_cases));

    // Every country without a postal code: required or not.
    const COUNTRY: &str = "Customer.Account.Address.CountryCode";
    let countries = sides
        .model
        .enum_values("CountryCode")
        .expect("CountryCode")
        .iter()
        .map(|code| {
            case(
                &base,
                COUNTRY,
                json!(code),
                &[("Customer.Account.Address.PostalCode", None), (STATE, None)],
            )
        })
        .collect();
    walks.push(("postal code required", countries));

    // Each stated format: a code that fits it, and codes of other countries' shapes.
    let mut formats = Vec::new();
    for rule in rules::postal_rules() {
        let candidates = [
            postal_sample(rule.formats),
            "12345".to_owned(),
            "1234".to_owned(),
            "K1A 0B1".to_owned(),
            "SW1A 1AA".to_owned(),
            "100-0001".to_owned(),
        ];
        for postal in candidates {
            let mut c = case(
                &base,
                "Customer.Account.Address.PostalCode",
                json!(postal),
                &[(COUNTRY, Some(json!(rule.country_code))), (STATE, None)],
            );
            c.name = format!("{} {postal}", rule.country_code);
            formats.push(c);
        }
    }
    walks.push(("postal code formats", formats));

    let mut tally = Tally::default();
    for (walk, cases) in walks {
        for c in cases {
            let sim = sides.simulator(&c.body).await;
            let pre = sides.preflight(&c.body, vec!["AmazonConnectCases".to_owned()]);
            tally.record(walk, &c.name, sim, pre);
        }
    }

    // AWS product codes, associated one at a time to one opportunity.
    let (_, created) = sides
        .call(
            "CreateOpportunity",
            json!({"Catalog": "Sandbox", "ClientToken": "products", "Customer": base["Customer"],
                "Project": base["Project"], "LifeCycle": base["LifeCycle"]}),
        )
        .await;
    let id = created["Id"].as_str().expect("created").to_owned();
    let body = base.clone();
    for code in rules::aws_product_codes().chain(["Amazon EC2", "AmazonEC3"]) {
        let association = json!({"Catalog": "Sandbox", "OpportunityIdentifier": id,
            "RelatedEntityType": "AwsProducts", "RelatedEntityIdentifier": code});
        let (status, answer) = sides
            .call("AssociateOpportunity", association.clone())
            .await;
        if status == 200 {
            sides.call("DisassociateOpportunity", association).await;
        }
        let sim = Verdict {
            accepted: status == 200,
            why: format!("AssociateOpportunity {status}: {answer}"),
        };
        let pre = sides.preflight(&body, vec![code.to_owned()]);
        tally.record("AWS products", code, sim, pre);
    }
    assert_eq!(handle.control().output_violations(), Vec::<String>::new());
    handle.stop().await;

    assert!(
        tally.disagreements.is_empty(),
        "{} disagreements:\n{}",
        tally.disagreements.len(),
        tally.disagreements.join("\n")
    );
    // Each walk saw both verdicts, so none of them passes by refusing (or accepting) all.
    for walk in [
        "enum values",
        "US states",
        "customer use cases",
        "postal code required",
        "postal code formats",
        "AWS products",
    ] {
        let (accepted, refused) = (
            tally.accepted.get(walk).copied().unwrap_or(0),
            tally.refused.get(walk).copied().unwrap_or(0),
        );
        assert!(
            accepted > 0 && refused > 0,
            "{walk}: {accepted} accepted, {refused} refused"
        );
    }
    assert_eq!(
        tally.accepted["US states"] + 1,
        tally.refused["US states"],
        "every state name is accepted, every USPS code refused"
    );
}
