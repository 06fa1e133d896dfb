//! What the reps set, and how far both sides are from it.

use std::collections::BTreeMap;

use ace_sync::domain::sobject::FieldValue;
use ace_sync_sandbox::partner_central::SimHandle;
use ace_sync_sandbox::salesforce::SalesforceSim;

/// What the reps set last: the truth the sync must reach.
#[derive(Debug, Clone, Default)]
pub(super) struct Truth {
    pub(super) stage: String,
    pub(super) next_step: Option<String>,
}

/// A rep saves `changes` on record `id`; what they saved becomes the truth. Whether Salesforce
/// took it.
pub(super) fn save(
    sf: &SalesforceSim,
    truth: &mut BTreeMap<String, Truth>,
    id: &str,
    changes: &[(&'static str, String)],
) -> bool {
    let values: Vec<(&str, Option<FieldValue>)> = changes
        .iter()
        .map(|(k, v)| (*k, Some(FieldValue::Text(v.clone()))))
        .collect();
    if sf.update_as_user(&id.parse().unwrap(), &values).is_err() {
        return false;
    }
    let entry = truth.get_mut(id).expect("a scripted record");
    for (k, v) in changes {
        match *k {
            "StageName" => entry.stage = v.clone(),
            _ => entry.next_step = Some(v.clone()),
        }
    }
    true
}

/// One record that does not agree with the truth.
pub(super) struct Difference {
    pub(super) record: String,
    pub(super) what: String,
    /// A rep's value that never reached ACE.
    pub(super) lost_change: bool,
}

pub(super) fn ace_of(pc: &SimHandle, id: &str) -> Vec<serde_json::Value> {
    pc.control()
        .opportunities()
        .into_iter()
        .filter(|o| o["PartnerOpportunityIdentifier"] == id)
        .collect()
}

pub(super) fn differences(
    sf: &SalesforceSim,
    pc: &SimHandle,
    truth: &BTreeMap<String, Truth>,
) -> Vec<Difference> {
    let mapping = ace_sync::ace::mapping::Mapping::default_mapping();
    let all = pc.control().opportunities();
    let mut out = Vec::new();
    for (id, want) in truth {
        let mut problems = Vec::new();
        let mut lost_change = false;
        let field = |name: &str| {
            sf.record(&id.parse().unwrap())
                .and_then(|r| r.fields.get(name).map(FieldValue::to_text))
        };
        let ace: Vec<&serde_json::Value> = all
            .iter()
            .filter(|o| o["PartnerOpportunityIdentifier"] == id.as_str())
            .collect();
        if want.stage == "Prospecting" {
            if !ace.is_empty() {
                problems.push("in ACE before its creation stage".to_owned());
            }
        } else if ace.len() != 1 {
            problems.push(format!("{} ACE opportunities", ace.len()));
            lost_change = ace.is_empty();
        } else {
            let opportunity = ace[0];
            let ace_id = opportunity["Id"].as_str().unwrap_or_default();
            if field("ACE_Opportunity_Id__c").as_deref() != Some(ace_id) {
                problems.push(format!(
                    "record names {:?}, ACE has {ace_id}",
                    field("ACE_Opportunity_Id__c")
                ));
            }
            let stage = mapping
                .stages
                .iter()
                .find(|s| s.salesforce == want.stage)
                .map(|s| s.ace.as_str());
            if opportunity["LifeCycle"]["Stage"].as_str() != stage {
                problems.push(format!(
                    "ACE stage {} for {}",
                    opportunity["LifeCycle"]["Stage"], want.stage
                ));
                lost_change = true;
            }
            if opportunity["LifeCycle"]["NextSteps"].as_str() != want.next_step.as_deref() {
                problems.push(format!(
                    "ACE next steps {} for {:?}",
                    opportunity["LifeCycle"]["NextSteps"], want.next_step
                ));
                lost_change = true;
            }
            let review = opportunity["LifeCycle"]["ReviewStatus"].as_str();
            if field("ACE_Review_Status__c").as_deref() != review {
                problems.push(format!(
                    "record review status {:?}, ACE {review:?}",
                    field("ACE_Review_Status__c")
                ));
            }
            if want.stage == "Needs Analysis" && review != Some("Approved") {
                problems.push(format!("submitted but ACE review status {review:?}"));
            }
        }
        if !problems.is_empty() {
            out.push(Difference {
                record: id.clone(),
                what: problems.join("; "),
                lost_change,
            });
        }
    }
    out
}
