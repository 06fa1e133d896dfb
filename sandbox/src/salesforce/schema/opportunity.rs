//! The Opportunity object: the standard fields with the default Sales Process stages, and the
//! custom fields ace-sync reads and writes back, with ACE's picklists where ace-sync sends the
//! values as they are.

use super::referrals::referral_fields;
use super::{
    FieldType, ObjectDef, Relationship, SYNC_STATUSES, external_id, f, required, system_fields,
};

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
        // An External ID (salesforce.md §4 upserts by it), not unique: a resubmission moves
        // the id, and a record copied by hand may carry it twice.
        external_id(f(
            "ACE_Opportunity_Id__c",
            "ACE Opportunity ID",
            String(20),
            true,
        )),
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
        // Where an org moving from the AWS Partner CRM Connector keeps the ACE id the
        // connector knew (a formula over its ACE Opportunity object, `awsapn__APN_CRM_Id__c`),
        // for `ace-sync backfill --link-from`.
        f(
            "APN_CRM_Id__c",
            "APN CRM Id (previous connector)",
            String(20),
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
    fields.extend(referral_fields());
    ObjectDef {
        name: "Opportunity",
        label: "Opportunity",
        label_plural: "Opportunities",
        prefix: "006",
        fields,
        relationships: vec![Relationship {
            name: "Account",
            field: "AccountId",
            target: "Account",
        }],
    }
}
