//! What a simulated org holds when it starts: its id, the connected app, the users, and
//! records (the samples' small org, or none).

use std::collections::BTreeMap;

use ace_sync::domain::ids::{SfOrgId, SfRecordId};
use ace_sync::domain::sobject::{Decimal, FieldValue, parse_date};

use super::SimUser;

/// What the org holds at start.
#[derive(Debug, Clone)]
pub struct Seed {
    pub org_id: SfOrgId,
    /// The connected app's consumer key.
    pub consumer_key: String,
    /// The user ace-sync signs in as.
    pub integration_user: SimUser,
    /// Other users (sales reps).
    pub users: Vec<SimUser>,
    pub records: Vec<SeedRecord>,
}

/// A record at start, created by the first user other than the integration user.
#[derive(Debug, Clone)]
pub struct SeedRecord {
    pub sobject_type: &'static str,
    pub id: SfRecordId,
    pub fields: BTreeMap<String, FieldValue>,
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.to_owned())
}

fn number(s: &str) -> FieldValue {
    FieldValue::Number(Decimal::parse(s).unwrap_or_else(|| unreachable!("a valid literal")))
}

fn date(s: &str) -> FieldValue {
    FieldValue::Date(parse_date(s).unwrap_or_else(|| unreachable!("a valid literal")))
}

fn id<T: std::str::FromStr>(s: &str) -> T {
    s.parse()
        .unwrap_or_else(|_| unreachable!("seed ids are valid literals"))
}

impl Seed {
    /// An org with users and no records.
    pub fn empty() -> Seed {
        Seed {
            // The sample org of salesforce.md, also the default `salesforce.org_ids`.
            org_id: id("00D5g00000ABCdeEAH"),
            consumer_key: "3MVG9sim.ace-sync.connected-app".to_owned(),
            integration_user: SimUser {
                id: id("0055g00000IntUsAAJ"),
                username: "ace-sync@acme.example".to_owned(),
            },
            users: vec![SimUser {
                id: id("0055g00000UsrAbAAJ"),
                username: "rep@acme.example".to_owned(),
            }],
            records: Vec::new(),
        }
    }

    /// A small org: two accounts and the three opportunities of the samples.
    pub fn small() -> Seed {
        let mut seed = Seed::empty();
        let record = |sobject_type, raw_id: &str, fields: &[(&str, FieldValue)]| SeedRecord {
            sobject_type,
            id: id(raw_id),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        };
        seed.records = vec![
            record(
                "Account",
                "0015g00000LmNoPAAV",
                &[
                    ("Name", text("Acme Corporation")),
                    ("Website", text("https://acme.example")),
                    ("BillingStreet", text("1 Main Street")),
                    ("BillingCity", text("Berlin")),
                    ("BillingPostalCode", text("10115")),
                    ("BillingCountry", text("Germany")),
                    ("BillingCountryCode", text("DE")),
                    ("Industry", text("Manufacturing")),
                ],
            ),
            record(
                "Account",
                "0015g00000GlBxRAAV",
                &[
                    ("Name", text("Globex")),
                    ("Website", text("https://globex.example")),
                    ("BillingCity", text("Springfield")),
                    ("BillingState", text("Oregon")),
                    ("BillingStateCode", text("OR")),
                    ("BillingPostalCode", text("97403")),
                    ("BillingCountry", text("United States")),
                    ("BillingCountryCode", text("US")),
                    ("Industry", text("Technology")),
                ],
            ),
            record(
                "Opportunity",
                "0065g00000QrStUAAV",
                &[
                    ("Name", text("Acme - Data Platform Migration")),
                    ("AccountId", text("0015g00000LmNoPAAV")),
                    ("StageName", text("Proposal/Price Quote")),
                    ("Amount", number("125000")),
                    ("CloseDate", date("2026-09-30")),
                    ("Description", text("Phase 1 & 2 <pilot>\nsecond line")),
                    ("LeadSource", text("Partner Referral")),
                    ("Type", text("New Customer")),
                    ("ACE_Sync__c", FieldValue::Bool(false)),
                    (
                        "Use_Cases__c",
                        FieldValue::Multi(vec!["Migration".into(), "Analytics".into()]),
                    ),
                ],
            ),
            record(
                "Opportunity",
                "0065g00000QrStVAAV",
                &[
                    ("Name", text("Acme - Renewal FY27")),
                    ("AccountId", text("0015g00000LmNoPAAV")),
                    ("StageName", text("Negotiation/Review")),
                    ("Amount", number("48000.5")),
                    ("CloseDate", date("2026-08-14")),
                ],
            ),
            record(
                "Opportunity",
                "0065g00000QrStWAAV",
                &[
                    ("Name", text("Globex - Pilot")),
                    ("AccountId", text("0015g00000GlBxRAAV")),
                    ("StageName", text("Qualification")),
                    ("CloseDate", date("2026-08-14")),
                ],
            ),
        ];
        seed
    }
}
