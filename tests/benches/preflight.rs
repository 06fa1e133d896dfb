//! What the worker does with a Salesforce record before any ACE call: map it with the default
//! mapping and run the pre-flight check (business rules and the service model's validation);
//! and the one-off costs at startup: loading the service model, parsing and checking a mapping.

use std::collections::BTreeMap;
use std::hint::black_box;

use ace_sync::ace::mapping::{self, Mapping};
use ace_sync::ace::model::ServiceModel;
use ace_sync::ace::opportunity::Catalog;
use ace_sync::ace::preflight::{self, Context};
use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::{Decimal, FieldValue, SObject, parse_date};
use criterion::{Criterion, criterion_group, criterion_main};

fn record() -> SObject {
    let text = |v: &str| FieldValue::Text(v.to_owned());
    let multi = |v: &[&str]| FieldValue::Multi(v.iter().map(|s| s.to_string()).collect());
    let fields: BTreeMap<String, FieldValue> = [
        ("Name", text("Acme - Claims data platform")),
        ("StageName", text("Needs Analysis")),
        ("CloseDate", FieldValue::Date(parse_date("2027-06-30").expect("date"))),
        ("Type", text("New Customer")),
        (
            "ACE_Business_Problem__c",
            text("Acme's claims team reconciles 40,000 paper claims a month by hand; they need an automated intake pipeline with document extraction."),
        ),
        ("Use_Cases__c", multi(&["AI Machine Learning and Analytics"])),
        ("ACE_Delivery_Models__c", multi(&["SaaS or PaaS"])),
        ("ACE_Sales_Activities__c", multi(&["Conducted POC / Demo"])),
        ("ACE_Primary_Needs__c", multi(&["Co-Sell - Architectural Validation"])),
        ("ACE_Expected_Monthly_Spend__c", FieldValue::Number(Decimal::parse("12500").expect("amount"))),
        ("AWS_Products__c", multi(&["AmazonTextract", "AmazonS3"])),
        ("AWS_Field_Contact__c", text("Jane Doe <jdoe@amazon.com>")),
        ("Account.Name", text("Acme Insurance")),
        ("Account.Website", text("https://www.acme-insurance.example")),
        ("Account.Industry", text("Insurance")),
        ("Account.BillingCountryCode", text("US")),
        ("Account.BillingStateCode", text("WA")),
        ("Account.BillingPostalCode", text("98109")),
        ("Account.BillingCity", text("Seattle")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    SObject {
        sobject_type: "Opportunity".into(),
        id: SfRecordId::parse("0065g00000QrStUAAV").expect("id"),
        fields,
    }
}

fn preflight(c: &mut Criterion) {
    let model = ServiceModel::load().expect("model");
    let mapping = Mapping::default_mapping();
    let record = record();
    let ctx = Context {
        today: parse_date("2026-06-01").expect("date"),
        catalog: Catalog::Sandbox,
    };
    c.bench_function("map_and_preflight_one_record", |b| {
        b.iter(|| {
            let checked = preflight::check(black_box(&record), &mapping, &model, &ctx);
            black_box(checked.is_ok())
        })
    });
    c.bench_function("parse_and_check_default_mapping", |b| {
        b.iter(|| {
            let mapping = Mapping::parse(black_box(mapping::DEFAULT_MAPPING)).expect("parses");
            black_box(mapping::check(&mapping, &model).len())
        })
    });
    let mut slow = c.benchmark_group("startup");
    slow.sample_size(10);
    slow.bench_function("load_service_model", |b| {
        b.iter(|| black_box(ServiceModel::load().expect("model")))
    });
    slow.finish();
}

criterion_group!(benches, preflight);
criterion_main!(benches);
