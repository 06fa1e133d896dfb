//! The simulated org's declared schema: the standard Opportunity and Account fields of
//! salesforce.md §5 with their types, lengths and picklists, plus the custom fields ace-sync
//! writes back. A write is checked against it (`check`) the way Salesforce checks one, with
//! Salesforce's error codes and texts.
//!
//! To add a field, add a line to [`opportunity`] or [`account`].

mod account;
mod check;
mod opportunity;
mod referrals;

pub use account::account;
pub use check::{check_value, check_write};
pub use opportunity::opportunity;
pub use referrals::REJECTION_REASONS;

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
    /// An External ID: records can be read and upserted by it
    /// (`/sobjects/{object}/{field}/{value}`).
    pub external_id: bool,
    /// No two records may hold the same value (`DUPLICATE_VALUE`).
    pub unique: bool,
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
    pub label: &'static str,
    pub label_plural: &'static str,
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

/// The values of `ACE_Sync_Status__c`, the one-glance status ace-sync writes back.
pub const SYNC_STATUSES: &[&str] = &[
    "Synced",
    "Needs attention",
    "Waiting for AWS review",
    "Error",
];

pub(super) const fn f(
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
        external_id: false,
        unique: false,
    }
}

pub(super) const fn required(mut def: FieldDef) -> FieldDef {
    def.required = true;
    def
}

/// An External ID that may be shared by several records (an upsert by it then answers 300).
pub(super) const fn external_id(mut def: FieldDef) -> FieldDef {
    def.external_id = true;
    def
}

/// An External ID no two records share.
pub(super) const fn unique_external_id(mut def: FieldDef) -> FieldDef {
    def.external_id = true;
    def.unique = true;
    def
}

pub(super) fn system_fields() -> Vec<FieldDef> {
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
