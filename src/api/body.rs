//! What the API's answers share: a pre-flight finding as a rep reads it (the Salesforce field
//! to fix, by its label), where a stage puts an opportunity on the way to ACE, and a summary
//! line a Flow screen can show as it is.
//!
//! Names follow what External Services turns into Apex: camelCase properties, none an Apex
//! reserved word; every answer is a named object, every list a list of scalars or objects.

use serde::Serialize;
use utoipa::ToSchema;

use crate::ace::mapping::{Mapping, Phase};
use crate::ace::preflight;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum FindingSeverity {
    /// ACE would refuse the request: nothing is sent until it is fixed.
    Error,
    /// ACE would take it, but AWS is less likely to engage.
    Warning,
}

/// One thing the pre-flight check found.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub severity: FindingSeverity,
    /// A stable code, e.g. `required`, `close_date_in_past`, `no_aws_product`.
    pub code: String,
    /// The Salesforce field to change (API name, e.g. `Account.BillingState`), when one is to
    /// blame.
    pub salesforce_field: Option<String>,
    /// That field as a rep knows it (the mapping's label, e.g. "Account Billing State").
    pub field_label: Option<String>,
    /// The ACE field concerned, in AWS's data-model notation.
    pub ace_field: Option<String>,
    /// What to do, in a rep's words.
    pub message: String,
}

impl Finding {
    pub fn from_preflight(finding: &preflight::Finding, mapping: &Mapping) -> Finding {
        Finding {
            severity: if finding.is_error() {
                FindingSeverity::Error
            } else {
                FindingSeverity::Warning
            },
            code: finding.code.as_str().to_owned(),
            field_label: finding
                .salesforce_field
                .as_deref()
                .map(|f| mapping.label(f)),
            salesforce_field: finding.salesforce_field.clone(),
            ace_field: finding.ace_field.clone(),
            message: finding.message.clone(),
        }
    }
}

/// Where an opportunity is on its way to ACE at a Salesforce stage (the mapping's triggers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SyncPhase {
    /// Before the creation stage: nothing goes to ACE yet.
    NotYet,
    /// Created and kept up to date in ACE, not submitted to AWS.
    Share,
    /// Submitted to AWS for review.
    Submit,
    /// Closed Won: `Launched` in ACE.
    Won,
    /// Closed Lost in ACE, with its reason.
    Lost,
}

impl From<Phase> for SyncPhase {
    fn from(phase: Phase) -> Self {
        match phase {
            Phase::NotYet => SyncPhase::NotYet,
            Phase::Share => SyncPhase::Share,
            Phase::Submit => SyncPhase::Submit,
            Phase::Won => SyncPhase::Won,
            Phase::Lost => SyncPhase::Lost,
        }
    }
}

/// What ace-sync does with an opportunity at `stage`, in a rep's words.
pub fn what_happens(phase: Phase, stage: &str, mapping: &Mapping) -> String {
    match phase {
        Phase::NotYet => format!(
            "At {stage} nothing goes to ACE yet: ace-sync shares the opportunity once it reaches {}.",
            mapping.create_at
        ),
        Phase::Share => match &mapping.submit_at {
            Some(submit) => format!(
                "At {stage} the opportunity is shared with ACE; it is submitted to AWS for review at {submit}."
            ),
            None => format!("At {stage} the opportunity is shared with ACE."),
        },
        Phase::Submit => format!(
            "At {stage} the opportunity is shared with ACE and submitted to AWS for review ({}, {} visibility).",
            mapping.involvement_type, mapping.visibility
        ),
        Phase::Won => format!("At {stage} the opportunity becomes Launched in ACE."),
        Phase::Lost => {
            format!("At {stage} the opportunity becomes Closed Lost in ACE, with its reason.")
        }
    }
}

/// One line on the findings: whether ACE would take the opportunity, and what to fix.
pub fn findings_summary(findings: &[Finding]) -> String {
    let errors = findings
        .iter()
        .filter(|f| f.severity == FindingSeverity::Error)
        .count();
    let warnings = findings.len() - errors;
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    match (errors, warnings) {
        (0, 0) => "ACE would take it as it is.".to_owned(),
        (0, w) => format!(
            "ACE would take it, with {}.",
            plural(w, "suggestion", "suggestions")
        ),
        (e, 0) => format!(
            "ACE would refuse it: {} to fix first.",
            plural(e, "thing", "things")
        ),
        (e, w) => format!(
            "ACE would refuse it: {} to fix first, and {}.",
            plural(e, "thing", "things"),
            plural(w, "suggestion", "suggestions")
        ),
    }
}

/// The findings one per line, as the record's findings field shows them.
pub fn findings_text(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| match f.severity {
            FindingSeverity::Error => format!("• {}", f.message),
            FindingSeverity::Warning => format!("• Suggestion: {}", f.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: FindingSeverity) -> Finding {
        Finding {
            severity,
            code: "required".into(),
            salesforce_field: None,
            field_label: None,
            ace_field: None,
            message: "Use Cases is required".into(),
        }
    }

    #[test]
    fn the_summary_counts_what_to_fix_and_what_is_suggested() {
        use FindingSeverity::{Error, Warning};
        assert_eq!(findings_summary(&[]), "ACE would take it as it is.");
        assert_eq!(
            findings_summary(&[finding(Warning)]),
            "ACE would take it, with 1 suggestion."
        );
        assert_eq!(
            findings_summary(&[finding(Error), finding(Error), finding(Warning)]),
            "ACE would refuse it: 2 things to fix first, and 1 suggestion."
        );
        assert_eq!(
            findings_text(&[finding(Error), finding(Warning)]),
            "• Use Cases is required\n• Suggestion: Use Cases is required"
        );
    }

    #[test]
    fn each_phase_is_told_with_the_mappings_stages() {
        let mapping = Mapping::default_mapping();
        let text = what_happens(Phase::NotYet, "Prospecting", &mapping);
        assert!(text.contains("once it reaches Qualification"), "{text}");
        let text = what_happens(Phase::Share, "Qualification", &mapping);
        assert!(
            text.contains("submitted to AWS for review at Needs Analysis"),
            "{text}"
        );
        let text = what_happens(Phase::Submit, "Needs Analysis", &mapping);
        assert!(text.contains("Co-Sell, Full visibility"), "{text}");
    }
}
