//! The demo's org: the small org's accounts and users, and the four opportunities the stories
//! move, each at Qualification and (but for the planted problems) acceptable to the default
//! mapping.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::salesforce::{Seed, SeedRecord};
use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::{Decimal, FieldValue};

const ACME: &str = "0015g00000LmNoPAAV";
const GLOBEX: &str = "0015g00000GlBxRAAV";
pub(super) const APPROVED: &str = "0065g00000DmoAp";
pub(super) const FINDINGS: &str = "0065g00000DmoFx";
pub(super) const REJECTED: &str = "0065g00000DmoRj";
pub(super) const WON: &str = "0065g00000DmoWn";

pub(super) const SPECIFIC_PROBLEM: &str = "Acme's two on-premises ERP databases (Oracle 19c, 14 TB) reach end of support in March; month-end close takes four days because reporting queries compete with order entry. They want the databases on Amazon RDS with a read replica for reporting, cutting the close to one day.";

pub(super) fn id(raw: &str) -> SfRecordId {
    // The literals above are valid ids (`the_seed_is_valid`).
    raw.parse()
        .unwrap_or_else(|_| unreachable!("a valid record id literal"))
}

pub(super) fn text(s: &str) -> Option<FieldValue> {
    Some(FieldValue::Text(s.to_owned()))
}

fn number(s: &str) -> FieldValue {
    FieldValue::Number(Decimal::parse(s).unwrap_or_else(|| unreachable!("a valid literal")))
}

pub(super) fn multi(values: &[&str]) -> FieldValue {
    FieldValue::Multi(values.iter().map(|v| (*v).to_owned()).collect())
}

/// An opportunity at Qualification that the default mapping accepts, with `changes` applied
/// (`None` removes a field).
fn opportunity(
    raw_id: &str,
    name: &str,
    account: &str,
    problem: &str,
    changes: &[(&str, Option<FieldValue>)],
) -> SeedRecord {
    let close = OffsetDateTime::now_utc().date() + time::Duration::days(90);
    let mut fields: BTreeMap<String, FieldValue> = [
        ("Name", FieldValue::Text(name.to_owned())),
        ("AccountId", FieldValue::Text(account.to_owned())),
        ("StageName", FieldValue::Text("Qualification".to_owned())),
        ("CloseDate", FieldValue::Date(close)),
        ("Type", FieldValue::Text("New Customer".to_owned())),
        ("Amount", number("250000")),
        (
            "ACE_Business_Problem__c",
            FieldValue::Text(problem.to_owned()),
        ),
        ("ACE_Expected_Monthly_Spend__c", number("12000")),
        ("Use_Cases__c", multi(&["Migration/Database Migration"])),
        ("ACE_Delivery_Models__c", multi(&["Professional Services"])),
        ("ACE_Sales_Activities__c", multi(&["Conducted POC / Demo"])),
        (
            "ACE_Primary_Needs__c",
            multi(&["Co-Sell - Architectural Validation"]),
        ),
        ("AWS_Products__c", multi(&["AmazonRedshift", "AWSGlue"])),
        (
            "AWS_Field_Contact__c",
            FieldValue::Text("Jane Doe <jane.doe@amazon.com>".to_owned()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (name, value) in changes {
        match value {
            Some(value) => fields.insert((*name).to_owned(), value.clone()),
            None => fields.remove(*name),
        };
    }
    SeedRecord {
        sobject_type: "Opportunity",
        id: id(raw_id),
        fields,
    }
}

/// The small org's accounts and users, and the demo's four opportunities.
pub(super) fn seed() -> Seed {
    let mut seed = Seed::small();
    seed.records.retain(|r| r.sobject_type == "Account");
    let past = OffsetDateTime::now_utc().date() - time::Duration::days(10);
    seed.records.extend([
        opportunity(
            APPROVED,
            "Acme - Data Platform Migration",
            ACME,
            "Acme's on-premises data warehouse misses its nightly load window twice a week, delaying the reports plant managers need at 7 am; they want Amazon Redshift with AWS Glue pipelines to cut the load to under an hour.",
            &[],
        ),
        opportunity(
            FINDINGS,
            "Globex - Analytics Pilot",
            GLOBEX,
            "Globex's sales analysts wait a day for each ad-hoc query on the 40 TB order history; they want a pilot of Amazon Redshift Serverless with AWS Glue so queries finish within minutes.",
            // The rep skipped the use case and left an old close date.
            &[
                ("Use_Cases__c", None),
                ("CloseDate", Some(FieldValue::Date(past))),
            ],
        ),
        opportunity(
            REJECTED,
            "Acme - Cloud Move",
            ACME,
            // Long enough for ACE, too generic for AWS's reviewers.
            "Customer wants to migrate to AWS for cost optimization.",
            &[("AWS_Products__c", Some(multi(&["AmazonRDSforOracle"])))],
        ),
        opportunity(
            WON,
            "Globex - Contact Center",
            GLOBEX,
            "Globex's support line drops one call in five at peak because its on-premises contact center cannot add agents quickly; they want Amazon Connect with Contact Lens so seasonal agents work from home within a day.",
            &[
                ("Use_Cases__c", Some(multi(&["Business Applications & Contact Center"]))),
                ("AWS_Products__c", Some(multi(&["AmazonConnectVoice"]))),
            ],
        ),
    ]);
    seed
}

#[cfg(test)]
mod tests {
    use super::super::scenarios::scenarios;
    use super::*;

    #[test]
    fn the_seed_is_valid() {
        for raw in [ACME, GLOBEX, APPROVED, FINDINGS, REJECTED, WON] {
            let parsed: SfRecordId = raw.parse().expect("a valid id");
            assert!(parsed.as_str().starts_with(raw));
        }
        let seed = seed();
        let opportunities: Vec<_> = seed
            .records
            .iter()
            .filter(|r| r.sobject_type == "Opportunity")
            .collect();
        // AWS's referrals come with no record: ace-sync creates theirs.
        let seeded: Vec<_> = scenarios()
            .into_iter()
            .filter(|s| s.record().is_some())
            .collect();
        assert_eq!(opportunities.len(), seeded.len());
        for scenario in seeded {
            let record = opportunities
                .iter()
                .find(|r| Some(&r.id) == scenario.record().as_ref())
                .expect("each scenario's record is seeded");
            assert_eq!(
                record.fields["Name"],
                FieldValue::Text(scenario.name.to_owned()),
                "the timeline's heading names the record as Salesforce does"
            );
        }
    }
}
