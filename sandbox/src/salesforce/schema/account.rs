//! The Account object: the standard fields a sync reads (name, website, billing address,
//! industry).

use super::{FieldType, ObjectDef, f, required, system_fields};

pub fn account() -> ObjectDef {
    use FieldType::*;
    let mut fields = system_fields();
    fields.extend([
        required(f("Name", "Account Name", String(255), true)),
        f("Website", "Website", Url(255), true),
        f("Phone", "Account Phone", Phone, true),
        f("BillingStreet", "Billing Street", Textarea(255), true),
        f("BillingCity", "Billing City", String(40), true),
        f("BillingState", "Billing State/Province", String(80), true),
        f(
            "BillingPostalCode",
            "Billing Zip/Postal Code",
            String(20),
            true,
        ),
        f("BillingCountry", "Billing Country", String(80), true),
        f("BillingStateCode", "Billing State Code", String(10), true),
        f(
            "BillingCountryCode",
            "Billing Country Code",
            String(10),
            true,
        ),
        f(
            "Industry",
            "Industry",
            Picklist {
                values: INDUSTRIES,
                restricted: false,
            },
            true,
        ),
        f("Type", "Account Type", String(40), true),
        f("NumberOfEmployees", "Employees", Int, true),
        f("AnnualRevenue", "Annual Revenue", Currency, true),
    ]);
    ObjectDef {
        name: "Account",
        label: "Account",
        label_plural: "Accounts",
        prefix: "001",
        fields,
        relationships: Vec::new(),
    }
}

/// Salesforce's default Industry values (salesforce.md §5).
const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Other",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
];
