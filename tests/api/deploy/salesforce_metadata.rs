//! `deploy/salesforce`, the SFDX project: every file is well-formed XML; the Opportunity fields
//! are exactly those ace-sync writes and the default mapping reads, each with a type and length
//! that fit what ace-sync writes or expects; the outbound message, the Flow's echo-safe entry
//! conditions and the permission sets say what the README says. (The API's metadata, the
//! credentials, the External Service and the quick actions' Flows: `salesforce_flows.rs`.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ace_sync::ace::mapping::Mapping;
use ace_sync::ace::referrals::{InvitationValue, ReferralMapping, Source};
use ace_sync::config::Settings;
use ace_sync::domain::sobject::FieldKind;
use ace_sync::worker::referrals;
use quick_xml::Reader;
use quick_xml::events::Event;

use super::support::repository;

/// The fields the worker writes (and reads back): the reconciler's, and those of AWS
/// referrals' records under the default mapping. The one place that names where the code
/// keeps those lists.
fn written_fields() -> Vec<String> {
    let mut fields: Vec<String> = ace_sync::worker::reconcile::fields::ALL
        .iter()
        .map(|f| (*f).to_owned())
        .chain(
            referrals::fields::written_by(&referral_mapping())
                .into_iter()
                .filter(|f| f.ends_with("__c")),
        )
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

fn referral_mapping() -> ReferralMapping {
    Mapping::default_mapping()
        .referrals
        .expect("the default mapping brings referrals in")
}

/// The fields reps set and ace-sync only reads, besides those the mapping reads.
fn decided_fields() -> Vec<&'static str> {
    referrals::fields::DECIDED.to_vec()
}

/// What ace-sync writes to a field, and why.
#[derive(Debug, PartialEq)]
enum Written {
    /// Text of at most this many characters.
    Text(usize),
    /// One of these values.
    Picklist(Vec<&'static str>),
    DateTime,
    Number,
}

/// The longest value ace-sync writes to a field, or its kind when it is not text.
fn longest_written(field: &str) -> Written {
    // ACE's enum values, from the service model the product embeds.
    let enums: serde_json::Value = serde_json::from_str(include_str!(
        "../../../src/ace/model/partnercentral-selling.enums.json"
    ))
    .unwrap();
    let longest_enum = |name: &str| {
        enums[name]
            .as_array()
            .unwrap_or_else(|| panic!("no enum {name}"))
            .iter()
            .map(|v| v.as_str().unwrap().chars().count())
            .max()
            .unwrap()
    };
    use ace_sync::worker::reconcile::fields::SyncStatus;
    use referrals::fields::InvitationStatus;
    // A referral rule's target: as long as the rule cuts it, or the kind of its value.
    if let Some(rule) = referral_mapping()
        .fields
        .iter()
        .find(|r| r.salesforce == field)
    {
        return match (&rule.source, rule.max_length) {
            (Source::Invitation(InvitationValue::ExpectedSpendAmount), _) => Written::Number,
            (_, Some(max)) => Written::Text(max),
            (source, None) => panic!("{field} ({source:?}): give the rule a max_length"),
        };
    }
    Written::Text(match field {
        // O followed by at most 19 digits (the model's OpportunityIdentifier pattern).
        "ACE_Opportunity_Id__c" => 20,
        // engi- and 13 characters (the model's invitation identifier pattern).
        "ACE_Invitation_Id__c" => 18,
        "ACE_Review_Status__c" => longest_enum("ReviewStatus"),
        "ACE_Stage__c" => longest_enum("Stage"),
        "ACE_Engagement_Score__c" => longest_enum("EngagementScore"),
        "ACE_Involvement_Type__c" => longest_enum("SalesInvolvementType"),
        // Truncated to 80 by the pipeline.
        "ACE_Review_Reason__c" => 80,
        // Up to a dozen earlier ids, `;`-separated.
        "ACE_Previous_Ids__c" => 12 * 21,
        // Free text is cut at 32 000 characters (reconcile/fields.rs, MAX_TEXT).
        "ACE_Findings__c" | "ACE_Review_Comments__c" | "ACE_AWS_Team__c" | "ACE_Next_Steps__c" => {
            32_000
        }
        "ACE_Sync_Status__c" => {
            return Written::Picklist(
                [
                    SyncStatus::Synced,
                    SyncStatus::NeedsAttention,
                    SyncStatus::WaitingForReview,
                    SyncStatus::Error,
                ]
                .map(SyncStatus::as_str)
                .to_vec(),
            );
        }
        "ACE_Invitation_Status__c" => {
            return Written::Picklist(InvitationStatus::ALL.map(InvitationStatus::as_str).to_vec());
        }
        "ACE_Origin__c" => {
            return Written::Picklist(vec!["Partner Referral", referrals::fields::AWS_REFERRAL]);
        }
        "ACE_Last_Synced__c" | "ACE_Submitted_At__c" | "ACE_Invitation_Expires__c" => {
            return Written::DateTime;
        }
        other => panic!("{other}: say how long ace-sync's values for it can be"),
    })
}

pub(super) fn project() -> PathBuf {
    repository().join("deploy/salesforce")
}

pub(super) fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// `(element path, text)` of every text node, e.g. `("CustomField/type", "Text")`; panics
/// on XML that is not well-formed.
pub(super) fn texts(path: &Path) -> Vec<(String, String)> {
    let xml = std::fs::read_to_string(path).unwrap();
    let mut reader = Reader::from_str(&xml);
    let mut stack: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("{}: not well-formed XML: {e}", path.display()));
        match event {
            Event::Start(e) => stack.push((e.name().as_ref().to_owned(), String::new())),
            Event::End(_) => {
                let path: Vec<&str> = stack.iter().map(|(name, _)| name.as_str()).collect();
                let path = path.join("/");
                let (_, text) = stack.pop().expect("balanced elements");
                if !text.trim().is_empty() {
                    out.push((path, text.trim().to_owned()));
                }
            }
            Event::Text(t) => {
                if let Some((_, text)) = stack.last_mut() {
                    text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.xml10_content().as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("{}: unexpected entity {other}", path.display()),
                };
                if let Some((_, text)) = stack.last_mut() {
                    text.push_str(resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(
        stack.is_empty(),
        "{}: unclosed elements {stack:?}",
        path.display()
    );
    out
}

pub(super) fn values<'a>(texts: &'a [(String, String)], path: &str) -> Vec<&'a str> {
    texts
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, t)| t.as_str())
        .collect()
}

pub(super) fn one<'a>(texts: &'a [(String, String)], path: &str) -> &'a str {
    match values(texts, path).as_slice() {
        [one] => one,
        other => panic!("{path}: expected one value, found {other:?}"),
    }
}

fn field_files() -> Vec<PathBuf> {
    let dir = project().join("force-app/main/default/objects/Opportunity/fields");
    let mut out = Vec::new();
    files(&dir, &mut out);
    out
}

#[test]
fn every_file_is_well_formed_and_the_project_names_its_source() {
    let mut all = Vec::new();
    files(&project(), &mut all);
    let xml: Vec<_> = all
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    assert!(xml.len() > 20, "{xml:?}");
    for file in xml {
        texts(file);
    }
    let sfdx: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project().join("sfdx-project.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(sfdx["packageDirectories"][0]["path"], "force-app");
    assert_eq!(
        sfdx["sourceApiVersion"],
        Settings::defaults().salesforce.api_version
    );
}

#[test]
fn the_fields_are_exactly_those_ace_sync_writes_and_the_default_mapping_reads() {
    let read: BTreeSet<String> = Mapping::default_mapping()
        .salesforce_fields()
        .into_iter()
        .filter(|f| f.ends_with("__c") && !f.contains('.'))
        .collect();
    let written: BTreeSet<String> = written_fields().into_iter().collect();
    let decided: BTreeSet<String> = decided_fields().into_iter().map(str::to_owned).collect();
    let expected: BTreeSet<String> = read.union(&written).cloned().chain(decided).collect();
    let declared: BTreeSet<String> = field_files()
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            let api_name = name.strip_suffix(".field-meta.xml").expect("a field file");
            assert_eq!(one(&texts(p), "CustomField/fullName"), api_name);
            api_name.to_owned()
        })
        .collect();
    assert_eq!(declared, expected);
}

#[test]
fn each_field_fits_what_ace_sync_writes_or_reads() {
    let types = Settings::defaults().field_types();
    let written = written_fields();
    for path in field_files() {
        let texts = texts(&path);
        let name = one(&texts, "CustomField/fullName");
        let kind = one(&texts, "CustomField/type");
        let length: Option<usize> = values(&texts, "CustomField/length")
            .first()
            .map(|l| l.parse().unwrap());
        if written.iter().any(|w| w == name) {
            match longest_written(name) {
                Written::Text(longest) => {
                    assert!(
                        matches!(kind, "Text" | "LongTextArea"),
                        "{name} holds text, not {kind}"
                    );
                    let length = length.expect("a length");
                    assert!(
                        length >= longest,
                        "{name}: {length} < {longest} characters ace-sync may write"
                    );
                }
                Written::Picklist(wanted) => {
                    assert_eq!(kind, "Picklist", "{name}");
                    assert_eq!(one(&texts, "CustomField/valueSet/restricted"), "true");
                    assert_eq!(
                        values(
                            &texts,
                            "CustomField/valueSet/valueSetDefinition/value/fullName"
                        ),
                        wanted,
                        "{name}"
                    );
                }
                Written::DateTime => assert_eq!(kind, "DateTime", "{name}"),
                Written::Number => assert!(matches!(kind, "Currency" | "Number"), "{name}: {kind}"),
            }
        }
        if decided_fields().contains(&name) {
            // What reps choose must be what ace-sync understands.
            let expected: Vec<&str> = match name {
                "ACE_Invitation_Decision__c" => vec!["Accept", "Reject"],
                _ => referrals::fields::REJECTION_REASONS.to_vec(),
            };
            assert_eq!(kind, "Picklist", "{name}");
            assert_eq!(
                values(
                    &texts,
                    "CustomField/valueSet/valueSetDefinition/value/fullName"
                ),
                expected,
                "{name}"
            );
        }
        // The ingress parses outbound-message values by kind; the metadata must agree.
        let expected = match types.kind_of("Opportunity", name) {
            FieldKind::Multipicklist => Some("MultiselectPicklist"),
            FieldKind::Datetime => Some("DateTime"),
            FieldKind::Boolean => Some("Checkbox"),
            _ => None,
        };
        if let Some(expected) = expected {
            assert_eq!(kind, expected, "{name}");
        }
        if kind == "MultiselectPicklist" {
            let count = values(
                &texts,
                "CustomField/valueSet/valueSetDefinition/value/fullName",
            )
            .len();
            assert!(
                (1..=500).contains(&count),
                "{name}: {count} values (Salesforce allows 500)"
            );
        }
    }
}

#[test]
fn the_outbound_message_and_the_flow_are_echo_safe() {
    let base = project().join("force-app/main/default");
    let message = texts(&base.join("workflows/Opportunity.workflow-meta.xml"));
    assert_eq!(
        one(&message, "Workflow/outboundMessages/includeSessionId"),
        "false"
    );
    let fields: BTreeSet<&str> = values(&message, "Workflow/outboundMessages/fields")
        .into_iter()
        .collect();
    for field in [
        "Id",
        "StageName",
        "LastModifiedById",
        "SystemModstamp",
        "ACE_Opportunity_Id__c",
    ] {
        assert!(fields.contains(field), "the outbound message lacks {field}");
    }
    assert!(
        one(&message, "Workflow/outboundMessages/endpointUrl")
            .contains("/salesforce/outbound-message/")
    );

    let flow = texts(&base.join("flows/ACE_Sync_Opportunity_Changed.flow-meta.xml"));
    assert_eq!(one(&flow, "Flow/start/object"), "Opportunity");
    assert_eq!(one(&flow, "Flow/start/recordTriggerType"), "Update");
    assert_eq!(
        one(&flow, "Flow/start/doesRequireRecordChangedToMeetCriteria"),
        "true"
    );
    let formula: String = one(&flow, "Flow/start/filterFormula")
        .split_whitespace()
        .collect();
    for part in [
        "NOT({!$Permission.ACE_Sync_Integration})",
        "ISCHANGED({!$Record.StageName})",
        "ISCHANGED({!$Record.ACE_Invitation_Decision__c})",
        "ISPICKVAL(PRIORVALUE({!$Record.ACE_Sync_Status__c}),'Needsattention')",
    ] {
        assert!(
            formula.contains(part),
            "the entry formula lacks {part}: {formula}"
        );
    }
    assert_eq!(one(&flow, "Flow/actionCalls/actionType"), "outboundMessage");
    assert_eq!(
        one(&flow, "Flow/actionCalls/actionName"),
        "Opportunity.ACE_Sync"
    );
}

#[test]
fn the_integration_user_edits_what_ace_sync_writes_and_reps_read_it() {
    let dir = project().join("force-app/main/default/permissionsets");
    let grants = |file: &str, editable: &str| -> BTreeSet<String> {
        let texts = texts(&dir.join(file));
        let fields = values(&texts, "PermissionSet/fieldPermissions/field");
        let edits = values(&texts, "PermissionSet/fieldPermissions/editable");
        fields
            .into_iter()
            .zip(edits)
            .filter(|(_, e)| *e == editable)
            .map(|(f, _)| f.trim_start_matches("Opportunity.").to_owned())
            .collect()
    };
    let written: BTreeSet<String> = written_fields().into_iter().collect();
    let read: BTreeSet<String> = Mapping::default_mapping()
        .salesforce_fields()
        .into_iter()
        .collect();
    assert_eq!(
        grants("ACE_Sync_Integration.permissionset-meta.xml", "true"),
        written
    );
    // Reps read what ace-sync alone writes, and edit what the mapping reads (some of which a
    // referral's record is created with) and their answers to referrals.
    assert_eq!(
        grants("ACE_Sync_Rep.permissionset-meta.xml", "false"),
        written.difference(&read).cloned().collect::<BTreeSet<_>>()
    );
    let rep_edits = grants("ACE_Sync_Rep.permissionset-meta.xml", "true");
    for field in decided_fields() {
        assert!(rep_edits.contains(field), "reps cannot set {field}");
        assert!(
            grants("ACE_Sync_Integration.permissionset-meta.xml", "false").contains(field),
            "the integration user cannot read {field}"
        );
    }
    let integration = texts(&dir.join("ACE_Sync_Integration.permissionset-meta.xml"));
    assert_eq!(
        one(&integration, "PermissionSet/userPermissions/name"),
        "ApiEnabled"
    );
    assert_eq!(
        one(&integration, "PermissionSet/customPermissions/name"),
        "ACE_Sync_Integration"
    );
}
