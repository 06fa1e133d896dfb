//! The opportunity operations themselves: Create, Update (full replace, optimistic
//! concurrency, review locks, the Sandbox review simulation), Get and List (ace-api.md §3–§8).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use ace_sync::ace::model::{Violation, ViolationCode};

use super::error::ApiError;
use super::events::DetailType;
use super::review::ReviewDecision;
use super::rules::{self, get_str};
use super::service::{
    Sim, business, descending, filter_list, object, opt_text, page, str_of, text,
};
use super::store::{self, Opportunity, RELATED_ENTITY_TYPES, ReviewStatus, State, Submission};

/// The members of an opportunity the partner writes (Create and Update bodies).
pub(super) const BODY_MEMBERS: &[&str] = &[
    "PrimaryNeedsFromAws",
    "NationalSecurity",
    "PartnerOpportunityIdentifier",
    "Customer",
    "Project",
    "OpportunityType",
    "Marketing",
    "SoftwareRevenue",
    "LifeCycle",
];

/// Appends to `NextStepsHistory` when `LifeCycle.NextSteps` changes.
fn record_next_steps(o: &mut Opportunity, previous: Option<&str>) {
    if let Some(next) = o.body_str("LifeCycle.NextSteps").map(str::to_owned)
        && previous != Some(next.as_str())
        && !next.trim().is_empty()
    {
        o.next_steps_history.push((next, store::now()));
    }
}

impl Sim {
    pub(super) fn create_opportunity(&self, input: &Value) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let mut state = self.state();
        if let Some(previous) = self.replay(&state, "CreateOpportunity", input)? {
            return Ok(previous);
        }
        let origin = input.get("Origin").and_then(Value::as_str);
        let mut violations: Vec<Violation> =
            rules::origin_rule(catalog, origin).into_iter().collect();
        violations.extend(rules::opportunity_rules(input, &self.rule_context(false)));
        if !violations.is_empty() {
            return Err(business(violations));
        }
        if let Some(related) = get_str(input, "Project.RelatedOpportunityIdentifier") {
            state.opportunity(catalog, related)?;
        }
        let id = state.next_opportunity_id();
        let created = store::now();
        let body = rules::writable_body(input, BODY_MEMBERS);
        let list = |member: &str| {
            input
                .get(member)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let mut opportunity = Opportunity {
            arn: self.opportunity_arn(catalog, &id),
            id: id.clone(),
            catalog: catalog.to_owned(),
            origin: origin.unwrap_or("Partner Referral").to_owned(),
            created,
            last_modified: created,
            body,
            review_status: ReviewStatus::PendingSubmission,
            review_comments: None,
            review_status_reason: None,
            next_steps_history: Vec::new(),
            related: BTreeMap::new(),
            team: list("OpportunityTeam"),
            tags: list("Tags"),
            submission: None,
            review_round: 0,
            aws: None,
        };
        record_next_steps(&mut opportunity, None);
        let response = object(vec![
            ("Id", text(&id)),
            (
                "PartnerOpportunityIdentifier",
                opt_text(opportunity.body_str("PartnerOpportunityIdentifier")),
            ),
            ("LastModifiedDate", text(store::format_time(created))),
        ]);
        state.opportunities.insert(id.clone(), opportunity);
        self.remember(&mut state, "CreateOpportunity", input, &response);
        self.publish_opportunity(&mut state, DetailType::OpportunityCreated, catalog, &id);
        Ok(response)
    }

    pub(super) fn update_opportunity(&self, input: &Value) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let id = str_of(input, "Identifier");
        let mut state = self.state();
        let o = state.opportunity(catalog, id)?;
        // LastModifiedDate is the optimistic-concurrency token (ace-api.md §3 UpdateOpportunity).
        let sent = store::parse_time(str_of(input, "LastModifiedDate"));
        if sent != Some(o.last_modified) {
            return Err(ApiError::Conflict(format!(
                "Opportunity {id} was modified after the LastModifiedDate you sent ({}); it was last modified at {}. Get the opportunity and send its current LastModifiedDate.",
                str_of(input, "LastModifiedDate"),
                store::format_time(o.last_modified)
            )));
        }
        let new_body = rules::writable_body(input, BODY_MEMBERS);
        let changed = rules::changed_fields(&o.body, &new_body);
        let status = o.review_status;
        let requested = get_str(input, "LifeCycle.ReviewStatus").and_then(ReviewStatus::parse);

        // Sandbox: a changed ReviewStatus simulates AWS's review (ace-api.md §8).
        if catalog == "Sandbox"
            && let Some(requested) = requested.filter(|r| *r != status)
        {
            return self.simulate_review(&mut state, input, requested, &changed, new_body);
        }
        if status.in_validation() || status == ReviewStatus::Rejected {
            // INVALID_RESOURCE_STATE: the refusal is about the opportunity's state, not about
            // a member (the data model's "Record is not editable.").
            let why = if status == ReviewStatus::Rejected {
                "A rejected opportunity is read-only.".to_owned()
            } else {
                format!(
                    "Opportunity {id} is in review status '{}'; it cannot be updated until AWS completes the review.",
                    status.as_str()
                )
            };
            return Err(ApiError::business(
                "LifeCycle.ReviewStatus",
                ViolationCode::InvalidResourceState,
                format!("Record is not editable. {why}"),
            ));
        }
        let mut violations =
            rules::opportunity_rules(&Value::Object(new_body.clone()), &self.rule_context(true));
        violations.extend(rules::edit_violations(status, &changed));
        if !violations.is_empty() {
            return Err(business(violations));
        }
        if let Some(related) = new_body
            .get("Project")
            .and_then(|p| p.get("RelatedOpportunityIdentifier"))
            .and_then(Value::as_str)
        {
            state.opportunity(catalog, related)?;
        }
        let resubmit = status == ReviewStatus::ActionRequired && self.review.resubmit_on_update;
        if resubmit {
            let mut candidate = state.opportunity(catalog, id)?.clone();
            candidate.body = new_body.clone();
            let submission = candidate.submission.clone().unwrap_or(Submission {
                involvement_type: "Co-Sell".to_owned(),
                visibility: "Full".to_owned(),
                engagement_id: None,
                invitation_id: None,
            });
            if let Err(refusal) = self.submission_problems(
                &candidate,
                &submission.involvement_type,
                &submission.visibility,
            ) {
                return Err(business(refusal.violations()));
            }
        }
        let o = state.opportunity_mut(catalog, id)?;
        let previous_next_steps = o.body_str("LifeCycle.NextSteps").map(str::to_owned);
        o.body = new_body;
        o.last_modified = store::next_modified(o.last_modified);
        record_next_steps(o, previous_next_steps.as_deref());
        let mut last_modified = o.last_modified;
        let submission = o.submission.clone();
        self.publish_opportunity(&mut state, DetailType::OpportunityUpdated, catalog, id);
        if resubmit && let Some(submission) = submission {
            self.mark_submitted(&mut state, id, submission, true);
            last_modified = state.opportunity(catalog, id)?.last_modified;
        }
        Ok(json!({"Id": id, "LastModifiedDate": store::format_time(last_modified)}))
    }

    /// UpdateOpportunity in Sandbox with a new `LifeCycle.ReviewStatus`: the transitions
    /// AWS's data model allows (`Submitted → Approved | Rejected | Action Required`,
    /// `Action Required → Submitted`, `Pending Submission → Submitted`).
    fn simulate_review(
        &self,
        state: &mut State,
        input: &Value,
        requested: ReviewStatus,
        changed: &std::collections::BTreeSet<String>,
        new_body: Map<String, Value>,
    ) -> Result<Value, ApiError> {
        use ReviewStatus::*;
        let id = str_of(input, "Identifier");
        let status = state.opportunity("Sandbox", id)?.review_status;
        let allowed = matches!(
            (status, requested),
            (Submitted | InReview, Approved | Rejected | ActionRequired)
                | (ActionRequired | PendingSubmission, Submitted)
        );
        if !allowed {
            return Err(ApiError::business(
                "LifeCycle.ReviewStatus",
                ViolationCode::InvalidResourceState,
                format!(
                    "Cannot transition opportunity from status '{}' to '{}'.",
                    status.as_str(),
                    requested.as_str()
                ),
            ));
        }
        // Members other than the review's may change only where an update could change them.
        if status.in_validation() && !changed.is_empty() {
            let violations = changed
                .iter()
                .map(|f| {
                    Violation::new(
                        f,
                        ViolationCode::InvalidResourceState,
                        format!("Record is not editable. Field {f} cannot change while the opportunity is in review."),
                    )
                })
                .collect();
            return Err(business(violations));
        }
        let mut violations = rules::edit_violations(status, changed);
        if !status.in_validation() {
            violations.extend(rules::opportunity_rules(
                &Value::Object(new_body.clone()),
                &self.rule_context(true),
            ));
        }
        if !violations.is_empty() {
            return Err(business(violations));
        }
        let catalog = "Sandbox";
        let comments = get_str(input, "LifeCycle.ReviewComments").map(str::to_owned);
        let reason = get_str(input, "LifeCycle.ReviewStatusReason").map(str::to_owned);
        {
            let o = state.opportunity_mut(catalog, id)?;
            o.body = new_body;
        }
        match requested {
            Approved => {
                self.apply_decision(state, id, ReviewDecision::Approve);
            }
            Rejected => {
                self.apply_decision(
                    state,
                    id,
                    ReviewDecision::Reject {
                        reason: reason.unwrap_or_else(|| "Other".to_owned()),
                        comments: comments.unwrap_or_default(),
                    },
                );
            }
            ActionRequired => {
                self.apply_decision(
                    state,
                    id,
                    ReviewDecision::ActionRequired {
                        reason: reason.unwrap_or_else(|| "Other".to_owned()),
                        comments: comments.unwrap_or_default(),
                    },
                );
            }
            _ => {
                let submission = state
                    .opportunity(catalog, id)?
                    .submission
                    .clone()
                    .unwrap_or(Submission {
                        involvement_type: "Co-Sell".to_owned(),
                        visibility: "Full".to_owned(),
                        engagement_id: None,
                        invitation_id: None,
                    });
                // The simulation drives the review itself: no timers.
                self.mark_submitted(state, id, submission, false);
            }
        }
        let o = state.opportunity_mut(catalog, id)?;
        if let Some(c) = get_str(input, "LifeCycle.ReviewComments") {
            o.review_comments = Some(c.to_owned());
        }
        Ok(json!({"Id": id, "LastModifiedDate": store::format_time(o.last_modified)}))
    }

    /// The whole stored opportunity as GetOpportunity's document.
    pub(super) fn opportunity_document(&self, o: &Opportunity) -> Value {
        let mut doc = o.body.clone();
        doc.insert("Catalog".into(), json!(o.catalog));
        doc.insert("Id".into(), json!(o.id));
        doc.insert("Arn".into(), json!(o.arn));
        doc.insert("CreatedDate".into(), json!(store::format_time(o.created)));
        doc.insert(
            "LastModifiedDate".into(),
            json!(store::format_time(o.last_modified)),
        );
        let related: Map<String, Value> = RELATED_ENTITY_TYPES
            .iter()
            .map(|kind| ((*kind).to_owned(), json!(o.related(kind))))
            .collect();
        doc.insert("RelatedEntityIdentifiers".into(), Value::Object(related));
        let lifecycle = doc.entry("LifeCycle").or_insert_with(|| json!({}));
        if let Some(lc) = lifecycle.as_object_mut() {
            lc.insert("ReviewStatus".into(), json!(o.review_status.as_str()));
            if let Some(c) = &o.review_comments {
                lc.insert("ReviewComments".into(), json!(c));
            }
            if let Some(r) = &o.review_status_reason {
                lc.insert("ReviewStatusReason".into(), json!(r));
            }
            if !o.next_steps_history.is_empty() {
                lc.insert(
                    "NextStepsHistory".into(),
                    Value::Array(
                        o.next_steps_history
                            .iter()
                            .rev()
                            .take(50)
                            .map(|(v, t)| json!({"Value": v, "Time": store::format_time(*t)}))
                            .collect(),
                    ),
                );
            }
        }
        if !o.team.is_empty() {
            doc.insert("OpportunityTeam".into(), Value::Array(o.team.clone()));
        }
        Value::Object(doc)
    }

    pub(super) fn get_opportunity(&self, input: &Value) -> Result<Value, ApiError> {
        let state = self.state();
        let o = state.opportunity(str_of(input, "Catalog"), str_of(input, "Identifier"))?;
        Ok(self
            .model
            .project("GetOpportunityResponse", &self.opportunity_document(o)))
    }

    pub(super) fn list_opportunities(&self, input: &Value) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let state = self.state();
        let ids = filter_list(input, "Identifier");
        let stages = filter_list(input, "LifeCycleStage");
        let statuses = filter_list(input, "LifeCycleReviewStatus");
        let companies = filter_list(input, "CustomerCompanyName");
        let time_filter = |group: &str, after: &str, before: &str, at: time::OffsetDateTime| {
            let bound = |m: &str| {
                input
                    .get(group)
                    .and_then(|g| g.get(m))
                    .and_then(Value::as_str)
                    .and_then(store::parse_time)
            };
            // "records created or updated on or after" the given time (ace-api.md §3).
            bound(after).is_none_or(|a| at >= a) && bound(before).is_none_or(|b| at < b)
        };
        let date_bound = |m: &str| {
            input
                .get("TargetCloseDate")
                .and_then(|g| g.get(m))
                .and_then(Value::as_str)
        };
        let in_list = |filter: &Option<Vec<String>>, value: Option<&str>| {
            filter
                .as_ref()
                .is_none_or(|f| value.is_some_and(|v| f.iter().any(|x| x == v)))
        };
        let mut matching: Vec<&Opportunity> = state
            .opportunities
            .values()
            .filter(|o| o.catalog == catalog)
            .filter(|o| in_list(&ids, Some(&o.id)))
            .filter(|o| in_list(&stages, o.body_str("LifeCycle.Stage")))
            .filter(|o| in_list(&statuses, Some(o.review_status.as_str())))
            .filter(|o| in_list(&companies, o.body_str("Customer.Account.CompanyName")))
            .filter(|o| {
                time_filter(
                    "LastModifiedDate",
                    "AfterLastModifiedDate",
                    "BeforeLastModifiedDate",
                    o.last_modified,
                )
            })
            .filter(|o| {
                time_filter(
                    "CreatedDate",
                    "AfterCreatedDate",
                    "BeforeCreatedDate",
                    o.created,
                )
            })
            .filter(|o| {
                let close = o.body_str("LifeCycle.TargetCloseDate");
                let after = date_bound("AfterTargetCloseDate");
                let before = date_bound("BeforeTargetCloseDate");
                (after.is_none() && before.is_none())
                    || close.is_some_and(|c| {
                        after.is_none_or(|a| c >= a) && before.is_none_or(|b| c <= b)
                    })
            })
            .collect();
        let sort_by = input
            .get("Sort")
            .and_then(|s| s.get("SortBy"))
            .and_then(Value::as_str)
            .unwrap_or("LastModifiedDate");
        let key = |o: &Opportunity| -> (Option<String>, String) {
            let k = match sort_by {
                "Identifier" => Some(format!("{:>20}", o.id.trim_start_matches('O'))),
                "CustomerCompanyName" => o
                    .body_str("Customer.Account.CompanyName")
                    .map(str::to_lowercase),
                "CreatedDate" => Some(store::format_time(o.created)),
                "TargetCloseDate" => o.body_str("LifeCycle.TargetCloseDate").map(str::to_owned),
                _ => Some(store::format_time(o.last_modified)),
            };
            (k, o.id.clone())
        };
        let desc = descending(
            input,
            sort_by == "LastModifiedDate" && input.get("Sort").is_none(),
        );
        matching.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            // Opportunities without the sort key come last either way.
            let order = match (&ka.0, &kb.0) {
                (Some(x), Some(y)) => x.cmp(y).then_with(|| ka.1.cmp(&kb.1)),
                (Some(_), None) => return Ordering::Less,
                (None, Some(_)) => return Ordering::Greater,
                (None, None) => ka.1.cmp(&kb.1),
            };
            if desc { order.reverse() } else { order }
        });
        let (items, next) = page(matching, input, 20)?;
        let summaries: Vec<Value> = items
            .into_iter()
            .map(|o| {
                self.model
                    .project("OpportunitySummary", &self.opportunity_document(o))
            })
            .collect();
        Ok(object(vec![
            ("OpportunitySummaries", Some(Value::Array(summaries))),
            ("NextToken", next.map(Value::String)),
        ]))
    }
}
