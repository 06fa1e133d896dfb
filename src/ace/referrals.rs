//! The mapping file's `[referrals]` section: how AWS's referrals (engagement invitations,
//! ace-api.md §3) become Salesforce opportunities. It names the stage, owner and record type
//! of a new referral's record, which Salesforce field takes which value AWS shares before
//! acceptance (`invitation = …`) and which value of the accepted ACE opportunity
//! (`accepted = …`, AWS's data-model notation), and how the record's account is found or
//! created after acceptance. Without the section, referrals are left alone.
//!
//! Parsing (through `mapping::Mapping::parse`) rejects unknown keys and unknown invitation
//! values by name; [`check`] finds what only the rest of the mapping and AWS's service model
//! can tell.

use serde::Deserialize;

use super::mapping::{Mapping, Problem};
use super::model::ServiceModel;
use super::opportunity;
use crate::domain::ids::{SfRecordId, SfUserId};

/// A value AWS shares in the invitation, before acceptance
/// (`Payload.OpportunityInvitation`, ace-api.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum InvitationValue {
    ProjectTitle,
    ProjectBusinessProblem,
    ProjectTargetCompletionDate,
    ExpectedSpendAmount,
    ExpectedSpendCurrencyCode,
    CustomerCompanyName,
    CustomerIndustry,
    CustomerWebsiteUrl,
    CustomerCountryCode,
    /// AWS's people on the referral, one a line: "Name <email>, title".
    SenderContacts,
    SenderCompanyName,
    InvitationMessage,
}

impl InvitationValue {
    /// Each value as the mapping file names it (the invitation's own member paths).
    pub const ALL: &'static [(&'static str, InvitationValue)] = &[
        ("Project.Title", InvitationValue::ProjectTitle),
        (
            "Project.BusinessProblem",
            InvitationValue::ProjectBusinessProblem,
        ),
        (
            "Project.TargetCompletionDate",
            InvitationValue::ProjectTargetCompletionDate,
        ),
        (
            "Project.ExpectedCustomerSpend.Amount",
            InvitationValue::ExpectedSpendAmount,
        ),
        (
            "Project.ExpectedCustomerSpend.CurrencyCode",
            InvitationValue::ExpectedSpendCurrencyCode,
        ),
        ("Customer.CompanyName", InvitationValue::CustomerCompanyName),
        ("Customer.Industry", InvitationValue::CustomerIndustry),
        ("Customer.WebsiteUrl", InvitationValue::CustomerWebsiteUrl),
        ("Customer.CountryCode", InvitationValue::CustomerCountryCode),
        ("SenderContacts", InvitationValue::SenderContacts),
        ("SenderCompanyName", InvitationValue::SenderCompanyName),
        ("InvitationMessage", InvitationValue::InvitationMessage),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, v)| *v == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
}

impl TryFrom<String> for InvitationValue {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                format!(
                    "\"{name}\" is not a value an invitation shares (one of: {})",
                    Self::ALL
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

/// Where a referral field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Shared in the invitation: written when the record is created.
    Invitation(InvitationValue),
    /// A field of the accepted ACE opportunity (data-model notation, a list of structures
    /// meaning its first item; `Customer.Contacts` is every contact, one a line): written
    /// once, when the acceptance is written to the record.
    Accepted(String),
}

/// A conversion of a referral value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReferralTransform {
    /// A US state's name (what ACE holds, `Washington`) becomes its USPS code (`WA`, what
    /// `BillingStateCode` takes with State & Country Picklists); outside the US the field is
    /// left empty, since ACE gives no code to choose one by.
    UsStateCode,
}

/// One field of a referral's record (or of its account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralField {
    pub salesforce: String,
    pub source: Source,
    /// Text is cut to this many characters (Salesforce refuses longer values).
    pub max_length: Option<usize>,
    pub transform: Option<ReferralTransform>,
}

/// How the record's account is found, or created, once the referral is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRule {
    /// The Account field compared with the customer's company name.
    pub match_field: String,
    /// Create an Account when none matches.
    pub create: bool,
    /// What a created Account holds.
    pub fields: Vec<ReferralField>,
}

/// The parsed `[referrals]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralMapping {
    /// StageName of a new referral's record.
    pub stage: String,
    /// OwnerId of new referral records; the integration user when unset.
    pub owner_id: Option<SfUserId>,
    /// RecordTypeId of new referral records; the integration user's default when unset.
    pub record_type_id: Option<SfRecordId>,
    /// CloseDate, when no rule fills it (or AWS gives no date): this many days after the
    /// invitation.
    pub close_days: u32,
    pub fields: Vec<ReferralField>,
    pub account: Option<AccountRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReferralsFile {
    stage: String,
    #[serde(default)]
    owner_id: Option<SfUserId>,
    #[serde(default)]
    record_type_id: Option<SfRecordId>,
    #[serde(default = "default_close_days")]
    close_days: u32,
    #[serde(rename = "field", default)]
    fields: Vec<FieldFile>,
    #[serde(default)]
    account: Option<AccountFile>,
}

fn default_close_days() -> u32 {
    90
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountFile {
    #[serde(rename = "match", default = "default_match")]
    match_field: String,
    #[serde(default = "default_create")]
    create: bool,
    #[serde(rename = "field", default)]
    fields: Vec<FieldFile>,
}

fn default_match() -> String {
    "Name".to_owned()
}

fn default_create() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    salesforce: String,
    #[serde(default)]
    invitation: Option<InvitationValue>,
    #[serde(default)]
    accepted: Option<String>,
    #[serde(default)]
    max_length: Option<usize>,
    #[serde(default)]
    transform: Option<ReferralTransform>,
}

impl FieldFile {
    /// A rule with both sources, or none, is reported by `check` (through the placeholder it
    /// becomes here), not refused by serde, so every problem is listed at once.
    fn into_rule(self) -> ReferralField {
        let source = match (self.invitation, self.accepted) {
            (Some(value), None) => Source::Invitation(value),
            (None, Some(path)) => Source::Accepted(path),
            (Some(value), Some(path)) => {
                Source::Accepted(format!("{BOTH_SOURCES}{}|{path}", value.name()))
            }
            (None, None) => Source::Accepted(NO_SOURCE.to_owned()),
        };
        ReferralField {
            salesforce: self.salesforce,
            source,
            max_length: self.max_length,
            transform: self.transform,
        }
    }
}

/// Placeholders `check` reports (never valid ACE paths).
const NO_SOURCE: &str = "!none";
const BOTH_SOURCES: &str = "!both:";

impl ReferralsFile {
    pub(super) fn into_mapping(self) -> ReferralMapping {
        ReferralMapping {
            stage: self.stage,
            owner_id: self.owner_id,
            record_type_id: self.record_type_id,
            close_days: self.close_days,
            fields: self.fields.into_iter().map(FieldFile::into_rule).collect(),
            account: self.account.map(|a| AccountRule {
                match_field: a.match_field,
                create: a.create,
                fields: a.fields.into_iter().map(FieldFile::into_rule).collect(),
            }),
        }
    }
}

/// The Opportunity fields ace-sync fills itself on a referral's record (worker/referrals):
/// a rule may not write them.
pub const RESERVED: &[&str] = &[
    "StageName",
    "OwnerId",
    "RecordTypeId",
    "AccountId",
    "ACE_Invitation_Id__c",
    "ACE_Invitation_Status__c",
    "ACE_Invitation_Expires__c",
    "ACE_Invitation_Decision__c",
    "ACE_Invitation_Rejection_Reason__c",
    "ACE_Origin__c",
    "ACE_Opportunity_Id__c",
    "ACE_Sync_Status__c",
    "ACE_Findings__c",
    "ACE_Last_Synced__c",
];

/// A Salesforce field API name on the object itself (no relationship).
fn is_own_field(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What is wrong with the `[referrals]` section, given the rest of the mapping and AWS's
/// model; empty when it is sound.
pub fn check(referrals: &ReferralMapping, mapping: &Mapping, model: &ServiceModel) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |at: String, message: String| problems.push(Problem { at, message });
    if !mapping
        .stages
        .iter()
        .any(|s| s.salesforce.eq_ignore_ascii_case(&referrals.stage))
    {
        problem(
            "[referrals] stage".to_owned(),
            format!(
                "\"{}\" is not one of the [[stage]] Salesforce stages",
                referrals.stage
            ),
        );
    }
    check_rules(
        "referrals.field",
        &referrals.fields,
        model,
        &mut problem,
        |name| RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)),
    );
    if !referrals
        .fields
        .iter()
        .any(|f| f.salesforce == "Name" && matches!(f.source, Source::Invitation(_)))
    {
        problem(
            "[[referrals.field]]".to_owned(),
            "no rule fills Name from the invitation; Salesforce requires a Name to create the referral's opportunity (e.g. invitation = \"Project.Title\")".to_owned(),
        );
    }
    if let Some(account) = &referrals.account {
        if !is_own_field(&account.match_field) {
            problem(
                "[referrals.account] match".to_owned(),
                format!(
                    "\"{}\" is not an Account field API name",
                    account.match_field
                ),
            );
        }
        check_rules(
            "referrals.account.field",
            &account.fields,
            model,
            &mut problem,
            |name| name.eq_ignore_ascii_case("Id"),
        );
        if account.create && !account.fields.iter().any(|f| f.salesforce == "Name") {
            problem(
                "[[referrals.account.field]]".to_owned(),
                "`create = true`, but no rule fills the Account's Name, which Salesforce requires (e.g. accepted = \"Customer.Account.CompanyName\")".to_owned(),
            );
        }
    }
    problems
}

fn check_rules(
    section: &str,
    rules: &[ReferralField],
    model: &ServiceModel,
    problem: &mut impl FnMut(String, String),
    reserved: impl Fn(&str) -> bool,
) {
    let mut seen: Vec<String> = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("[[{section}]] #{} ({})", i + 1, rule.salesforce);
        if !is_own_field(&rule.salesforce) {
            problem(
                at.clone(),
                format!(
                    "\"{}\" is not a Salesforce field API name of the record itself",
                    rule.salesforce
                ),
            );
        }
        if reserved(&rule.salesforce) {
            problem(
                at.clone(),
                format!("{} is written by ace-sync itself", rule.salesforce),
            );
        }
        let lower = rule.salesforce.to_ascii_lowercase();
        if seen.contains(&lower) {
            problem(
                at.clone(),
                format!(
                    "{} is also written by another rule; each field takes one",
                    rule.salesforce
                ),
            );
        }
        seen.push(lower);
        if rule.max_length == Some(0) {
            problem(at.clone(), "`max_length` must be at least 1".to_owned());
        }
        if let Source::Accepted(path) = &rule.source {
            if path == NO_SOURCE {
                problem(
                    at.clone(),
                    "needs `invitation` (a value the invitation shares) or `accepted` (a field of the accepted ACE opportunity)".to_owned(),
                );
            } else if path.starts_with(BOTH_SOURCES) {
                problem(
                    at.clone(),
                    "has both `invitation` and `accepted`; give one".to_owned(),
                );
            } else if !is_accepted_path(path, model) {
                problem(
                    at.clone(),
                    format!(
                        "{path} is not a field of an ACE opportunity (data-model notation, e.g. Customer.Account.Address.City, or Customer.Contacts)"
                    ),
                );
            }
        }
    }
}

/// Whether `path` names something of an ACE opportunity a referral field can take: a leaf,
/// or `Customer.Contacts` (rendered whole).
pub fn is_accepted_path(path: &str, model: &ServiceModel) -> bool {
    path == CONTACTS
        || (opportunity::writable_field(path).is_some()
            && model
                .resolve_path("CreateOpportunityRequest", path)
                .is_some())
}

/// The accepted-opportunity path that stands for every customer contact.
pub const CONTACTS: &str = "Customer.Contacts";

#[cfg(test)]
mod tests {
    use super::*;

    fn with(section: &str) -> Result<Mapping, Vec<String>> {
        let text = format!(
            "{}\n{section}",
            crate::ace::mapping::DEFAULT_MAPPING
                .split("\n[referrals]")
                .next()
                .unwrap()
        );
        match Mapping::parse(&text) {
            Ok(mapping) => Ok(mapping),
            Err(crate::ace::mapping::MappingError::Invalid { problems }) => Err(problems),
            Err(e) => Err(vec![e.to_string()]),
        }
    }

    fn problems(section: &str) -> Vec<String> {
        let mapping = with(section).unwrap_or_else(|p| panic!("{p:?}"));
        let model = ServiceModel::load().unwrap();
        crate::ace::mapping::check(&mapping, &model)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    const MINIMAL: &str = "[referrals]\nstage = \"Prospecting\"\n[[referrals.field]]\nsalesforce = \"Name\"\ninvitation = \"Project.Title\"\n";

    #[test]
    fn the_default_section_parses_with_its_account_rule() {
        let mapping = Mapping::default_mapping();
        let referrals = mapping.referrals.expect("the default maps referrals");
        assert_eq!(referrals.stage, "Prospecting");
        assert!(referrals.fields.iter().any(|f| f.salesforce == "Name"
            && f.source == Source::Invitation(InvitationValue::ProjectTitle)));
        let account = referrals.account.expect("an account rule");
        assert_eq!(account.match_field, "Name");
        assert!(account.create);
        assert!(
            account
                .fields
                .iter()
                .any(|f| f.salesforce == "BillingStateCode"
                    && f.transform == Some(ReferralTransform::UsStateCode))
        );
    }

    #[test]
    fn a_mapping_without_the_section_leaves_referrals_alone() {
        assert_eq!(with("").unwrap().referrals, None);
        assert!(problems(MINIMAL).is_empty(), "{:?}", problems(MINIMAL));
    }

    #[test]
    fn unknown_keys_and_values_are_named_at_parse_time() {
        let problems = with(&format!("{MINIMAL}colour = \"red\"\n")).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("unknown key `colour`")),
            "{problems:?}"
        );
        let problems = with(&MINIMAL.replace("Project.Title", "Project.Titel")).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"Project.Titel\" is not a value an invitation shares")),
            "{problems:?}"
        );
        let problems = with(&format!("{MINIMAL}owner_id = \"00G5g000001AbCd\"\n")).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("owner_id")),
            "a queue (00G) cannot own an opportunity: {problems:?}"
        );
    }

    #[test]
    fn check_finds_what_parsing_cannot() {
        let found = problems(
            "[referrals]\nstage = \"Nowhere\"\n\
             [[referrals.field]]\nsalesforce = \"Description\"\ninvitation = \"Project.Title\"\n\
             [[referrals.field]]\nsalesforce = \"StageName\"\ninvitation = \"Project.Title\"\n\
             [[referrals.field]]\nsalesforce = \"Description\"\naccepted = \"Customer.Account.Shoe\"\n\
             [[referrals.field]]\nsalesforce = \"NextStep\"\n\
             [[referrals.field]]\nsalesforce = \"Account.Name\"\ninvitation = \"Project.Title\"\naccepted = \"Project.Title\"\n\
             [referrals.account]\ncreate = true\n[[referrals.account.field]]\nsalesforce = \"Website\"\naccepted = \"Customer.Account.WebsiteUrl\"\n",
        );
        for expected in [
            "[referrals] stage: \"Nowhere\" is not one of the [[stage]] Salesforce stages",
            "#2 (StageName): StageName is written by ace-sync itself",
            "#3 (Description): Description is also written by another rule",
            "Customer.Account.Shoe is not a field of an ACE opportunity",
            "#4 (NextStep): needs `invitation`",
            "#5 (Account.Name): \"Account.Name\" is not a Salesforce field API name",
            "#5 (Account.Name): has both `invitation` and `accepted`",
            "no rule fills Name from the invitation",
            "no rule fills the Account's Name",
        ] {
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "{expected:?} not in {found:#?}"
            );
        }
    }
}
