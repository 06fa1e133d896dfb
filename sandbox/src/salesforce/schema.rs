//! The simulated org's declared schema: the standard Opportunity and Account fields of
//! salesforce.md §5 with their types, lengths and picklists, plus the custom fields ace-sync
//! writes back. A write is checked against it the way Salesforce checks one, with
//! Salesforce's error codes and texts.
//!
//! To add a field, add a line to [`opportunity`] or [`account`].

use std::collections::BTreeMap;

use serde_json::Value;
use serde_json::value::RawValue;

use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::{Decimal, FieldValue, parse_date, parse_datetime};

/// The type of a field, as Salesforce's describe calls it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    Id,
    /// A lookup; the relationship name (`Account`) and target type are in [`Relationship`].
    Reference,
    String(usize),
    Textarea(usize),
    Url(usize),
    Phone,
    Email,
    /// Restricted picklists refuse values outside the list.
    Picklist {
        values: &'static [&'static str],
        restricted: bool,
    },
    Multipicklist(&'static [&'static str]),
    Currency,
    Percent,
    Double,
    Int,
    Boolean,
    Date,
    Datetime,
}

/// One field of an sObject type.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: &'static str,
    pub label: &'static str,
    pub field_type: FieldType,
    /// False for system and formula fields: writing one is `INVALID_FIELD_FOR_INSERT_UPDATE`.
    pub updateable: bool,
    /// Null refused on create and update (`REQUIRED_FIELD_MISSING`).
    pub required: bool,
}

/// A lookup that SOQL can traverse: `Account.Name` on Opportunity reads `AccountId`'s Account.
#[derive(Debug, Clone)]
pub struct Relationship {
    pub name: &'static str,
    pub field: &'static str,
    pub target: &'static str,
}

/// One sObject type.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: &'static str,
    /// The three-character key prefix of its ids.
    pub prefix: &'static str,
    pub fields: Vec<FieldDef>,
    pub relationships: Vec<Relationship>,
}

impl ObjectDef {
    /// Field names are case-insensitive in Salesforce.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub fn relationship(&self, name: &str) -> Option<&Relationship> {
        self.relationships
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }
}

/// The whole schema.
#[derive(Debug, Clone)]
pub struct Schema {
    pub objects: Vec<ObjectDef>,
}

impl Default for Schema {
    fn default() -> Self {
        Schema {
            objects: vec![opportunity(), account()],
        }
    }
}

impl Schema {
    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.objects
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }

    pub fn object_for_prefix(&self, prefix: &str) -> Option<&ObjectDef> {
        self.objects.iter().find(|o| o.prefix == prefix)
    }
}

/// The default Sales Process stages (salesforce.md §5): name, probability, closed, won.
pub const STAGES: &[(&str, u32, bool, bool)] = &[
    ("Prospecting", 10, false, false),
    ("Qualification", 10, false, false),
    ("Needs Analysis", 20, false, false),
    ("Value Proposition", 50, false, false),
    ("Id. Decision Makers", 60, false, false),
    ("Perception Analysis", 70, false, false),
    ("Proposal/Price Quote", 75, false, false),
    ("Negotiation/Review", 90, false, false),
    ("Closed Won", 100, true, true),
    ("Closed Lost", 0, true, false),
];

const STAGE_NAMES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];

/// The values of `ACE_Sync_Status__c`, the one-glance status ace-sync writes back.
pub const SYNC_STATUSES: &[&str] = &[
    "Synced",
    "Needs attention",
    "Waiting for AWS review",
    "Error",
];

const fn f(
    name: &'static str,
    label: &'static str,
    field_type: FieldType,
    updateable: bool,
) -> FieldDef {
    FieldDef {
        name,
        label,
        field_type,
        updateable,
        required: false,
    }
}

const fn required(mut def: FieldDef) -> FieldDef {
    def.required = true;
    def
}

fn system_fields() -> Vec<FieldDef> {
    use FieldType::*;
    vec![
        f("Id", "Record ID", Id, false),
        f("IsDeleted", "Deleted", Boolean, false),
        f("CreatedDate", "Created Date", Datetime, false),
        f("CreatedById", "Created By ID", Reference, false),
        f("LastModifiedDate", "Last Modified Date", Datetime, false),
        f("LastModifiedById", "Last Modified By ID", Reference, false),
        f("SystemModstamp", "System Modstamp", Datetime, false),
        f("OwnerId", "Owner ID", Reference, true),
    ]
}

/// ACE's picklists, for the custom fields whose values ace-sync sends as they are (AWS's
/// service model, `partnercentral-selling.enums.json`; the use cases from ace-api.md §4.3).
const ACE_USE_CASES: &[&str] = &[
    "Migration",
    "Analytics",
    "AI/ML",
    "Modernization",
    "Security",
    "Storage",
    "Other",
    "AI Machine Learning and Analytics",
    "Archiving",
    "Big Data: Data Warehouse/Data Integration/ETL/Data Lake/BI",
    "Blockchain",
    "Business Applications: Mainframe Modernization",
    "Business Applications & Contact Center",
    "Business Applications & SAP Production",
    "Centralized Operations Management",
    "Cloud Management Tools",
    "Cloud Management Tools & DevOps with Continuous Integration & Continuous Delivery (CICD)",
    "Configuration, Compliance & Auditing",
    "Connected Services",
    "Containers & Serverless",
    "Content Delivery & Edge Services",
    "Database",
    "Edge Computing/End User Computing",
    "Energy",
    "Enterprise Governance & Controls",
    "Enterprise Resource Planning",
    "Financial Services",
    "Healthcare and Life Sciences",
    "High Performance Computing",
    "Hybrid Application Platform",
    "Industrial Software",
    "IOT",
    "Manufacturing, Supply Chain and Operations",
    "Media & High performance computing (HPC)",
    "Migration/Database Migration",
    "Monitoring, logging and performance",
    "Monitoring & Observability",
    "Networking",
    "Outpost",
    "SAP",
    "Security & Compliance",
    "Storage & Backup",
    "Training",
    "VMC",
    "VMWare",
    "Web development & DevOps",
];
const ACE_PRIMARY_NEEDS: &[&str] = &[
    "Co-Sell - Architectural Validation",
    "Co-Sell - Business Presentation",
    "Co-Sell - Competitive Information",
    "Co-Sell - Pricing Assistance",
    "Co-Sell - Technical Consultation",
    "Co-Sell - Total Cost of Ownership Evaluation",
    "Co-Sell - Deal Support",
    "Co-Sell - Support for Public Tender / RFx",
];
const ACE_DELIVERY_MODELS: &[&str] = &[
    "SaaS or PaaS",
    "BYOL or AMI",
    "Managed Services",
    "Professional Services",
    "Resell",
    "Other",
];
const ACE_SALES_ACTIVITIES: &[&str] = &[
    "Initialized discussions with customer",
    "Customer has shown interest in solution",
    "Conducted POC / Demo",
    "In evaluation / planning stage",
    "Agreed on solution to Business Problem",
    "Completed Action Plan",
    "Finalized Deployment Need",
    "SOW Signed",
];
const ACE_COMPETITORS: &[&str] = &[
    "Oracle Cloud",
    "On-Prem",
    "Co-location",
    "Akamai",
    "AliCloud",
    "Google Cloud Platform",
    "IBM Softlayer",
    "Microsoft Azure",
    "Other- Cost Optimization",
    "No Competition",
    "*Other",
];
const ACE_CLOSED_LOST_REASONS: &[&str] = &[
    "Customer Deficiency",
    "Delay / Cancellation of Project",
    "Legal / Tax / Regulatory",
    "Lost to Competitor - Google",
    "Lost to Competitor - Microsoft",
    "Lost to Competitor - SoftLayer",
    "Lost to Competitor - VMWare",
    "Lost to Competitor - Other",
    "No Opportunity",
    "On Premises Deployment",
    "Partner Gap",
    "Price",
    "Security / Compliance",
    "Technical Limitations",
    "Customer Experience",
    "Other",
    "People/Relationship/Governance",
    "Product/Technology",
    "Financial/Commercial",
];

/// Opportunity: the standard fields, then ace-sync's custom fields.
pub fn opportunity() -> ObjectDef {
    use FieldType::*;
    let mut fields = system_fields();
    fields.extend([
        required(f("Name", "Name", String(120), true)),
        f("AccountId", "Account ID", Reference, true),
        required(f(
            "StageName",
            "Stage",
            Picklist {
                values: STAGE_NAMES,
                restricted: true,
            },
            true,
        )),
        f("Amount", "Amount", Currency, true),
        f("Probability", "Probability (%)", Percent, true),
        f("ExpectedRevenue", "Expected Amount", Currency, false),
        required(f("CloseDate", "Close Date", Date, true)),
        f(
            "Type",
            "Opportunity Type",
            Picklist {
                values: &[
                    "Existing Customer - Upgrade",
                    "Existing Customer - Replacement",
                    "Existing Customer - Downgrade",
                    "New Customer",
                ],
                restricted: false,
            },
            true,
        ),
        f(
            "LeadSource",
            "Lead Source",
            Picklist {
                values: &[
                    "Web",
                    "Phone Inquiry",
                    "Partner Referral",
                    "Purchased List",
                    "Other",
                ],
                restricted: false,
            },
            true,
        ),
        f("NextStep", "Next Step", String(255), true),
        f("Description", "Description", Textarea(32000), true),
        f("IsClosed", "Closed", Boolean, false),
        f("IsWon", "Won", Boolean, false),
        f(
            "ForecastCategoryName",
            "Forecast Category",
            Picklist {
                values: &["Omitted", "Pipeline", "Best Case", "Commit", "Closed"],
                restricted: true,
            },
            true,
        ),
        f("FiscalYear", "Fiscal Year", Int, false),
        f("FiscalQuarter", "Fiscal Quarter", Int, false),
        f("HasOpportunityLineItem", "Has Line Item", Boolean, false),
        // ace-sync's fields (the README's Salesforce setup lists them).
        f("ACE_Sync__c", "Sync to ACE", Boolean, true),
        f(
            "ACE_Opportunity_Id__c",
            "ACE Opportunity ID",
            String(20),
            true,
        ),
        f(
            "ACE_Review_Status__c",
            "ACE Review Status",
            String(40),
            true,
        ),
        f("ACE_Stage__c", "ACE Stage", String(40), true),
        f(
            "ACE_Sync_Status__c",
            "ACE Sync Status",
            Picklist {
                values: SYNC_STATUSES,
                restricted: true,
            },
            true,
        ),
        f("ACE_Findings__c", "ACE Findings", Textarea(32768), true),
        f("ACE_Last_Synced__c", "ACE Last Synced", Datetime, true),
        f(
            "ACE_Review_Comments__c",
            "ACE Review Comments",
            Textarea(32768),
            true,
        ),
        f("ACE_AWS_Team__c", "ACE AWS Team", Textarea(32768), true),
        f("ACE_Next_Steps__c", "ACE Next Steps", Textarea(32768), true),
        f(
            "ACE_Engagement_Score__c",
            "ACE Engagement Score",
            String(20),
            true,
        ),
        f(
            "ACE_Involvement_Type__c",
            "ACE Involvement Type",
            String(40),
            true,
        ),
        // Read by the default mapping (src/ace/default-mapping.toml).
        f(
            "ACE_Business_Problem__c",
            "ACE Business Problem",
            Textarea(2000),
            true,
        ),
        f(
            "ACE_Expected_Monthly_Spend__c",
            "Expected Monthly AWS Spend",
            Currency,
            true,
        ),
        f(
            "ACE_Primary_Needs__c",
            "ACE Primary Needs",
            Multipicklist(ACE_PRIMARY_NEEDS),
            true,
        ),
        f(
            "ACE_Delivery_Models__c",
            "ACE Delivery Models",
            Multipicklist(ACE_DELIVERY_MODELS),
            true,
        ),
        f(
            "ACE_Sales_Activities__c",
            "ACE Sales Activities",
            Multipicklist(ACE_SALES_ACTIVITIES),
            true,
        ),
        f(
            "ACE_Competitor__c",
            "ACE Competitor",
            Picklist {
                values: ACE_COMPETITORS,
                restricted: true,
            },
            true,
        ),
        f(
            "ACE_Other_Competitors__c",
            "ACE Other Competitors",
            String(255),
            true,
        ),
        f(
            "ACE_Closed_Lost_Reason__c",
            "ACE Closed Lost Reason",
            Picklist {
                values: ACE_CLOSED_LOST_REASONS,
                restricted: true,
            },
            true,
        ),
        // Kept by the worker.
        f(
            "ACE_Review_Reason__c",
            "ACE Review Reason",
            String(80),
            true,
        ),
        f("ACE_Submitted_At__c", "ACE Submitted At", Datetime, true),
        f(
            "ACE_Sync_Fingerprint__c",
            "ACE Sync Fingerprint",
            String(64),
            true,
        ),
        f(
            "ACE_Previous_Ids__c",
            "ACE Previous Opportunity IDs",
            String(255),
            true,
        ),
        f(
            "AWS_Field_Contact__c",
            "AWS Field Contact",
            String(255),
            true,
        ),
        f(
            "Use_Cases__c",
            "Use Cases",
            Multipicklist(ACE_USE_CASES),
            true,
        ),
        f(
            "AWS_Products__c",
            "AWS Products",
            Multipicklist(&[
                "Amazon EC2",
                "Amazon S3",
                "Amazon RDS",
                "AWS Lambda",
                "Amazon Redshift",
                "Amazon SageMaker",
                "Amazon Bedrock",
                // Product codes, as AWS's aws_products.json spells them.
                "AmazonRedshift",
                "AmazonS3",
                "AWSGlue",
                "AmazonAthena",
                "AWSLambda",
                "AmazonSageMaker",
                "AmazonBedrock",
            ]),
            true,
        ),
    ]);
    ObjectDef {
        name: "Opportunity",
        prefix: "006",
        fields,
        relationships: vec![Relationship {
            name: "Account",
            field: "AccountId",
            target: "Account",
        }],
    }
}

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

/// An error as Salesforce reports it: HTTP status, `errorCode`, message, fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<String>,
}

impl Rejection {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn on(mut self, field: &str) -> Self {
        self.fields.push(field.to_owned());
        self
    }
}

/// A JSON value for `def`, checked as Salesforce checks a write. `None` is null.
pub fn check_value(def: &FieldDef, raw: &RawValue) -> Result<Option<FieldValue>, Rejection> {
    let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
    let value = &value;
    use FieldType::*;
    if value.is_null() {
        if def.required {
            return Err(Rejection::new(
                400,
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", def.name),
            )
            .on(def.name));
        }
        return Ok(None);
    }
    let type_error = |expected: &str| {
        Rejection::new(
            400,
            "JSON_PARSER_ERROR",
            format!(
                "Cannot deserialize instance of {expected} from {} value {value} or request may be missing a required field",
                json_kind(value)
            ),
        )
    };
    let text = || value.as_str().ok_or_else(|| type_error("string"));
    let too_long = |s: &str, max: usize| {
        Rejection::new(
            400,
            "STRING_TOO_LONG",
            format!(
                "{}: data value too large: {} (max length={max})",
                def.label,
                truncate(s, 40)
            ),
        )
        .on(def.name)
    };
    let value = match &def.field_type {
        Id | Reference => {
            let s = text()?;
            let id = SfRecordId::parse(s).map_err(|_| {
                Rejection::new(
                    400,
                    "MALFORMED_ID",
                    format!("{}: id value of incorrect type: {s}", def.label),
                )
                .on(def.name)
            })?;
            FieldValue::Text(id.to_string())
        }
        String(max) | Textarea(max) | Url(max) => {
            let s = text()?;
            if s.chars().count() > *max {
                return Err(too_long(s, *max));
            }
            FieldValue::Text(s.to_owned())
        }
        Phone | Email => {
            let s = text()?;
            if s.chars().count() > 80 {
                return Err(too_long(s, 80));
            }
            FieldValue::Text(s.to_owned())
        }
        Picklist { values, restricted } => {
            let s = text()?;
            if *restricted && !values.contains(&s) {
                return Err(Rejection::new(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!(
                        "{}: bad value for restricted picklist field: {s}",
                        def.label
                    ),
                )
                .on(def.name));
            }
            FieldValue::Text(s.to_owned())
        }
        Multipicklist(values) => {
            let s = text()?;
            let chosen: Vec<std::string::String> = s
                .split(';')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect();
            if let Some(bad) = chosen.iter().find(|v| !values.contains(&v.as_str())) {
                return Err(Rejection::new(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!(
                        "{}: bad value for restricted picklist field: {bad}",
                        def.label
                    ),
                )
                .on(def.name));
            }
            if chosen.is_empty() {
                return Ok(None);
            }
            FieldValue::Multi(chosen)
        }
        Currency | Percent | Double => {
            let number = match value {
                // The JSON text itself, so no digit is lost to a float.
                Value::Number(_) => Decimal::parse(raw.get().trim()),
                Value::String(s) => Decimal::parse(s.trim()),
                _ => None,
            };
            FieldValue::Number(number.ok_or_else(|| type_error("double"))?)
        }
        Int => {
            let number = match value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            FieldValue::Integer(number.ok_or_else(|| type_error("int"))?)
        }
        Boolean => FieldValue::Bool(value.as_bool().ok_or_else(|| type_error("boolean"))?),
        Date => {
            let s = text()?;
            FieldValue::Date(parse_date(s).ok_or_else(|| {
                Rejection::new(
                    400,
                    "JSON_PARSER_ERROR",
                    format!("Cannot deserialize instance of date from VALUE_STRING value {s} or request may be missing a required field"),
                )
            })?)
        }
        Datetime => {
            let s = text()?;
            FieldValue::Datetime(parse_datetime(s).ok_or_else(|| {
                Rejection::new(
                    400,
                    "JSON_PARSER_ERROR",
                    format!("Cannot deserialize instance of datetime from VALUE_STRING value {s} or request may be missing a required field"),
                )
            })?)
        }
    };
    Ok(Some(value))
}

/// Checks every field of a write body; the first problem is the answer, as in Salesforce.
pub fn check_write(
    object: &ObjectDef,
    body: &BTreeMap<std::string::String, Box<RawValue>>,
) -> Result<BTreeMap<&'static str, Option<FieldValue>>, Rejection> {
    let mut checked = BTreeMap::new();
    for (name, value) in body {
        if name == "attributes" || name.eq_ignore_ascii_case("id") {
            continue;
        }
        let def = object.field(name).ok_or_else(|| {
            Rejection::new(
                400,
                "INVALID_FIELD",
                format!("No such column '{name}' on sobject of type {}", object.name),
            )
        })?;
        if !def.updateable {
            return Err(Rejection::new(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    def.name
                ),
            )
            .on(def.name));
        }
        checked.insert(def.name, check_value(def, value)?);
    }
    Ok(checked)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    }
}

fn truncate(s: &str, max: usize) -> std::string::String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> BTreeMap<std::string::String, Box<RawValue>> {
        serde_json::from_str(&value.to_string()).unwrap()
    }

    #[test]
    fn writes_are_checked_like_salesforce_checks_them() {
        let opp = opportunity();
        let ok = check_write(
            &opp,
            &body(json!({"NextStep":"Call","Amount":12.5,"ACE_Sync_Status__c":"Synced","Use_Cases__c":"Migration;AI/ML","Description":null})),
        )
        .unwrap();
        assert_eq!(
            ok["Amount"],
            Some(FieldValue::Number(Decimal::parse("12.5").unwrap()))
        );
        assert_eq!(ok["Description"], None);
        let exact: BTreeMap<std::string::String, Box<RawValue>> =
            serde_json::from_str(r#"{"Amount":12345678901234567.89}"#).unwrap();
        assert_eq!(
            check_write(&opp, &exact).unwrap()["Amount"],
            Some(FieldValue::Number(
                Decimal::parse("12345678901234567.89").unwrap()
            ))
        );
        let code = |v: Value| check_write(&opp, &body(v)).unwrap_err();
        let e = code(json!({"Nope__c": 1}));
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                "INVALID_FIELD",
                "No such column 'Nope__c' on sobject of type Opportunity"
            )
        );
        let e = code(json!({"NextStep": "x".repeat(256)}));
        assert_eq!(e.code, "STRING_TOO_LONG");
        assert!(
            e.message.starts_with("Next Step: data value too large: "),
            "{}",
            e.message
        );
        assert!(e.message.ends_with("(max length=255)"));
        assert_eq!(e.fields, vec!["NextStep".to_owned()]);
        let e = code(json!({"StageName": "Won-ish"}));
        assert_eq!(e.code, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
        assert_eq!(
            e.message,
            "Stage: bad value for restricted picklist field: Won-ish"
        );
        assert_eq!(
            code(json!({"IsWon": true})).code,
            "INVALID_FIELD_FOR_INSERT_UPDATE"
        );
        assert_eq!(code(json!({"AccountId": "nope"})).code, "MALFORMED_ID");
        assert_eq!(
            code(json!({"StageName": null})).code,
            "REQUIRED_FIELD_MISSING"
        );
        assert_eq!(code(json!({"Amount": "lots"})).code, "JSON_PARSER_ERROR");
    }
}
