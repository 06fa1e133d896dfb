//! Records for end-to-end runs, shared by the tests and the end-to-end bench (which includes
//! this file by path): opportunities the default mapping accepts, and the seed around them.

use std::collections::BTreeMap;

use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::{Decimal, FieldValue};
use ace_sync_sandbox::salesforce::{Seed, SeedRecord};
use time::OffsetDateTime;

/// The small seed's Acme account.
pub const ACME_ACCOUNT: &str = "0015g00000LmNoPAAV";

/// An opportunity every rule of the default mapping accepts, at `stage`.
pub fn complete_opportunity(id: &str, name: &str, stage: &str) -> SeedRecord {
    let close = OffsetDateTime::now_utc().date() + time::Duration::days(90);
    let text = |s: &str| FieldValue::Text(s.to_owned());
    let multi = |v: &[&str]| FieldValue::Multi(v.iter().map(|s| (*s).to_owned()).collect());
    let fields: BTreeMap<String, FieldValue> = [
        ("Name", text(name)),
        ("AccountId", text(ACME_ACCOUNT)),
        ("StageName", text(stage)),
        ("CloseDate", FieldValue::Date(close)),
        ("Type", text("New Customer")),
        ("Amount", FieldValue::Number(Decimal::parse("250000").unwrap())),
        (
            "ACE_Business_Problem__c",
            text("Acme's on-premises data warehouse misses its nightly load window twice a week, delaying the reports plant managers need at 7 am; they want Redshift with Glue pipelines to cut the load to under an hour."),
        ),
        (
            "ACE_Expected_Monthly_Spend__c",
            FieldValue::Number(Decimal::parse("12000").unwrap()),
        ),
        ("Use_Cases__c", multi(&["Migration/Database Migration"])),
        ("ACE_Delivery_Models__c", multi(&["Professional Services"])),
        ("ACE_Sales_Activities__c", multi(&["Conducted POC / Demo"])),
        ("ACE_Primary_Needs__c", multi(&["Co-Sell - Architectural Validation"])),
        ("AWS_Products__c", multi(&["AmazonRedshift", "AWSGlue"])),
        ("AWS_Field_Contact__c", text("Jane Doe <jane.doe@amazon.com>")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    SeedRecord {
        sobject_type: "Opportunity",
        id: id.parse().unwrap(),
        fields,
    }
}

/// The small seed's accounts, and the given opportunities.
pub fn seed(opportunities: Vec<SeedRecord>) -> Seed {
    let mut seed = Seed::small();
    seed.records.retain(|r| r.sobject_type == "Account");
    seed.records.extend(opportunities);
    seed
}

/// Changes a seeded record's fields before the world starts (e.g. removes a field).
pub fn edit_seed(
    seed: &mut Seed,
    id: &str,
    change: impl FnOnce(&mut BTreeMap<String, FieldValue>),
) {
    let record = seed
        .records
        .iter_mut()
        .find(|r| r.id.as_str() == id)
        .expect("the record is seeded");
    change(&mut record.fields);
}
/// Seed opportunity ids: valid 18-character Salesforce ids, `n` of them.
pub fn opportunity_ids(n: usize) -> Vec<String> {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..n)
        .map(|i| {
            let digits: String = [i / (62 * 62), (i / 62) % 62, i % 62]
                .iter()
                .map(|d| char::from(BASE62[*d]))
                .collect();
            SfRecordId::parse(&format!("0065g00000Bn{digits}"))
                .expect("a valid id")
                .to_string()
        })
        .collect()
}
