//! GetAwsOpportunitySummary: AWS's side of a submitted opportunity (its stage, team, insights
//! and next steps), as ace-api.md §3 describes it.

use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::rules;
use super::service::{Sim, object, opt_text, str_of, text};
use super::store;

impl Sim {
    pub(super) fn get_aws_opportunity_summary(&self, input: &Value) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let id = str_of(input, "RelatedOpportunityIdentifier");
        let state = self.state();
        let o = state.opportunity(catalog, id)?;
        let Some(submission) = &o.submission else {
            // AWS has no side of an opportunity it was never sent.
            return Err(ApiError::ResourceNotFound(format!(
                "No AWS opportunity summary exists for {id}: it has not been submitted to AWS."
            )));
        };
        let aws = o.aws.clone().unwrap_or_default();
        let body = Value::Object(o.body.clone());
        let lifecycle = object(vec![
            (
                "TargetCloseDate",
                opt_text(o.body_str("LifeCycle.TargetCloseDate")),
            ),
            ("Stage", aws.stage.map(Value::String)),
            (
                "ClosedLostReason",
                aws.closed_lost_reason.map(Value::String),
            ),
            ("NextSteps", aws.next_steps.map(Value::String)),
            (
                "NextStepsHistory",
                (!aws.next_steps_history.is_empty()).then(|| {
                    Value::Array(
                        aws.next_steps_history
                            .iter()
                            .map(|(v, t)| json!({"Value": v, "Time": store::format_time(*t)}))
                            .collect(),
                    )
                }),
            ),
        ]);
        let related: Map<String, Value> = [
            "AwsProducts",
            "Solutions",
            "AwsMarketplaceSolutions",
            "AwsMarketplaceProducts",
        ]
        .iter()
        .map(|k| ((*k).to_owned(), json!(o.related(k))))
        .collect();
        let doc = object(vec![
            ("Catalog", text(catalog)),
            ("RelatedOpportunityId", text(id)),
            ("Origin", text(&o.origin)),
            ("InvolvementType", text(&submission.involvement_type)),
            ("Visibility", text(&submission.visibility)),
            ("LifeCycle", Some(lifecycle)),
            (
                "OpportunityTeam",
                (!aws.team.is_empty()).then(|| Value::Array(aws.team.clone())),
            ),
            ("Insights", aws.insights),
            ("RelatedEntityIds", Some(Value::Object(related))),
            (
                "Customer",
                rules::get(&body, "Customer.Contacts").map(|c| json!({"Contacts": c})),
            ),
            (
                "Project",
                Some(object(vec![
                    (
                        "ExpectedCustomerSpend",
                        rules::get(&body, "Project.ExpectedCustomerSpend").cloned(),
                    ),
                    (
                        "AwsPartition",
                        rules::get(&body, "Project.AwsPartition").cloned(),
                    ),
                ])),
            ),
        ]);
        Ok(self.model.project("GetAwsOpportunitySummaryResponse", &doc))
    }
}
