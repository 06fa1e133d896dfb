//! The opportunity operations: Create, Update (full replace, optimistic concurrency, review
//! locks, the Sandbox review simulation), Get, List, Associate/Disassociate, Submit,
//! StartEngagementFromOpportunityTask with its task list, GetAwsOpportunitySummary and
//! ListSolutions (ace-api.md §3–§8).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use ace_sync::ace::model::{Violation, ViolationCode};

use super::error::{ApiError, ValidationReason};
use super::events::{DetailType, SimEvent};
use super::review::ReviewDecision;
use super::rules::{self, get_str};
use super::service::{
    Sim, SubmissionRefusal, descending, filter_list, object, opt_text, page, text,
};
use super::store::{
    self, Opportunity, RELATED_ENTITY_TYPES, ReviewStatus, State, Submission, Task,
};

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

/// How many entities of each kind one opportunity may have (ace-api.md §10, last row).
fn association_limit(kind: &str) -> usize {
    match kind {
        "AwsProducts" => 20,
        "AwsMarketplaceOffers" | "AwsMarketplaceOfferSets" => 1,
        _ => 10,
    }
}

fn business(violations: Vec<Violation>) -> ApiError {
    ApiError::validation(ValidationReason::BusinessValidationFailed, violations)
}

fn str_of<'v>(input: &'v Value, member: &str) -> &'v str {
    input
        .get(member)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `TargetCompany: Self` counts only with a contract duration; otherwise the service reads it
/// as `AWS` (ace-api.md §4.3).
fn coerce_target_company(body: &mut Map<String, Value>) {
    let Some(Value::Object(project)) = body.get_mut("Project") else {
        return;
    };
    let has_duration = project
        .get("ExpectedContractDuration")
        .is_some_and(|d| !d.is_null());
    if has_duration {
        return;
    }
    if let Some(Value::Array(items)) = project.get_mut("ExpectedCustomerSpend") {
        for item in items {
            if item.get("TargetCompany").and_then(Value::as_str) == Some("Self")
                && let Some(object) = item.as_object_mut()
            {
                object.insert("TargetCompany".to_owned(), json!("AWS"));
            }
        }
    }
}

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
        let mut body = rules::writable_body(input, BODY_MEMBERS);
        coerce_target_company(&mut body);
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
        let new_body = {
            let mut b = rules::writable_body(input, BODY_MEMBERS);
            coerce_target_company(&mut b);
            b
        };
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

    pub(super) fn associate_opportunity(
        &self,
        input: &Value,
        associate: bool,
    ) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let id = str_of(input, "OpportunityIdentifier");
        let kind = str_of(input, "RelatedEntityType");
        let entity = str_of(input, "RelatedEntityIdentifier");
        let field = format!("RelatedEntityIdentifiers.{kind}");
        // The identifier's format is that of its list in RelatedEntityIdentifiers.
        let pattern = self
            .model
            .resolve_path("RelatedEntityIdentifiers", kind)
            .and_then(|r| r.target.as_list())
            .and_then(|list| self.model.shape(&list.member))
            .and_then(|item| item.as_string())
            .and_then(|item| item.pattern.clone());
        if let Some(pattern) = pattern
            && !pattern.matches(entity)
        {
            return Err(ApiError::validation(
                ValidationReason::RequestValidationFailed,
                vec![Violation::new(
                    "RelatedEntityIdentifier",
                    ViolationCode::InvalidStringFormat,
                    format!(
                        "Field {field} does not match the required format: {}.",
                        pattern.source()
                    ),
                )],
            ));
        }
        let mut state = self.state();
        let o = state.opportunity(catalog, id)?;
        if o.review_status == ReviewStatus::Rejected {
            return Err(ApiError::business(
                "OpportunityIdentifier",
                ViolationCode::InvalidResourceState,
                "Record is not editable. A rejected opportunity is read-only.",
            ));
        }
        let offer = matches!(kind, "AwsMarketplaceOffers" | "AwsMarketplaceOfferSets");
        if offer && o.body_str("LifeCycle.Stage") == Some("Closed Lost") {
            return Err(ApiError::business(
                &field,
                ViolationCode::InvalidResourceState,
                "Cannot associate/disassociate offers when opportunity is in 'Closed Lost'.",
            ));
        }
        let current = o.related(kind).to_vec();
        if associate {
            if current.iter().any(|e| e == entity) {
                return Ok(json!({}));
            }
            match kind {
                "Solutions" => {
                    let solution = self
                        .reference
                        .solutions
                        .iter()
                        .find(|s| s.id == entity)
                        .ok_or_else(|| ApiError::not_found(entity))?;
                    if solution.status != "Active" {
                        return Err(ApiError::business(
                            &field,
                            ViolationCode::InvalidValue,
                            "Solution Identifier passed must be a valid and active Solution in the ListSolutions",
                        ));
                    }
                }
                "AwsProducts" if !self.reference.aws_products.contains(entity) => {
                    return Err(ApiError::business(
                        &field,
                        ViolationCode::InvalidValue,
                        "Field RelatedEntityIdentifiers.AwsProducts must be one of the allowed AWS products. Refer to the complete list at https://github.com/aws-samples/partner-crm-integration-samples/blob/main/resources/aws_products.json",
                    ));
                }
                "AwsMarketplaceOffers" | "AwsMarketplaceOfferSets" => {
                    let taken = state.opportunities.values().any(|other| {
                        other.id != id && other.related(kind).iter().any(|e| e == entity)
                    });
                    if taken {
                        return Err(ApiError::business(
                            &field,
                            ViolationCode::DuplicateKeyValue,
                            "One AWS Marketplace offer can only be associated with one opportunity. This offer is already associated with another opportunity, try a different offer ID.",
                        ));
                    }
                    let other_kind = if kind == "AwsMarketplaceOffers" {
                        "AwsMarketplaceOfferSets"
                    } else {
                        "AwsMarketplaceOffers"
                    };
                    if !o.related(other_kind).is_empty() {
                        return Err(ApiError::business(
                            &field,
                            ViolationCode::TooManyValues,
                            "An opportunity can have either one AWS Marketplace offer or one offer set, not both.",
                        ));
                    }
                }
                _ => {}
            }
            let limit = association_limit(kind);
            if current.len() >= limit {
                return Err(ApiError::business(
                    &field,
                    ViolationCode::TooManyValues,
                    format!("Field {field} must have at most {limit} values."),
                ));
            }
        } else if !current.iter().any(|e| e == entity) {
            return Err(ApiError::ResourceNotFound(format!(
                "Resource with Identifier {entity} is not associated with opportunity {id}"
            )));
        }
        let o = state.opportunity_mut(catalog, id)?;
        let list = o.related.entry(kind.to_owned()).or_default();
        if associate {
            list.push(entity.to_owned());
        } else {
            list.retain(|e| e != entity);
        }
        o.last_modified = store::next_modified(o.last_modified);
        self.publish_opportunity(&mut state, DetailType::OpportunityUpdated, catalog, id);
        Ok(json!({}))
    }

    pub(super) fn submit_opportunity(&self, input: &Value) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let id = str_of(input, "Identifier");
        let involvement = str_of(input, "InvolvementType");
        let visibility = input
            .get("Visibility")
            .and_then(Value::as_str)
            .unwrap_or("Full");
        let mut state = self.state();
        let o = state.opportunity(catalog, id)?;
        if let Err(refusal) = self.submission_problems(o, involvement, visibility) {
            return Err(business(refusal.violations()));
        }
        let previous = o.submission.clone();
        let submission = Submission {
            involvement_type: involvement.to_owned(),
            visibility: visibility.to_owned(),
            engagement_id: previous.as_ref().and_then(|s| s.engagement_id.clone()),
            invitation_id: previous.and_then(|s| s.invitation_id),
        };
        self.mark_submitted(&mut state, id, submission, true);
        Ok(json!({}))
    }

    /// Runs the whole task at once: engagement, snapshot job, invitation to AWS, submission.
    /// A refused submission is not an error but a FAILED task with its reason (ace-api.md §7).
    pub(super) fn start_engagement_from_opportunity(
        &self,
        input: &Value,
    ) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let id = str_of(input, "Identifier");
        let involvement = get_str(input, "AwsSubmission.InvolvementType").unwrap_or_default();
        let visibility = get_str(input, "AwsSubmission.Visibility").unwrap_or("Full");
        let mut state = self.state();
        if let Some(previous) = self.replay(&state, "StartEngagementFromOpportunityTask", input)? {
            return Ok(previous);
        }
        let o = state.opportunity(catalog, id)?.clone();
        let task_id = format!("task-{}", store::random_id(13));
        let mut task = Task {
            arn: self.arn(catalog, "engagement-from-opportunity-task", &task_id),
            id: task_id,
            catalog: catalog.to_owned(),
            start_time: store::now(),
            status: "COMPLETE".to_owned(),
            message: None,
            reason_code: None,
            opportunity_id: Some(id.to_owned()),
            resource_snapshot_job_id: None,
            engagement_id: None,
            engagement_invitation_id: None,
        };
        match self.submission_problems(&o, involvement, visibility) {
            Err(refusal) => {
                let (reason, violations) = match refusal {
                    SubmissionRefusal::State(v) => ("OpportunitySubmissionFailed", vec![v]),
                    SubmissionRefusal::Rules(v) => ("OpportunityValidationFailed", v),
                };
                task.status = "FAILED".to_owned();
                task.reason_code = Some(reason.to_owned());
                task.message = Some(
                    violations
                        .iter()
                        .map(|v| v.message.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
            Ok(()) => {
                let engagement_id = o
                    .submission
                    .as_ref()
                    .and_then(|s| s.engagement_id.clone())
                    .unwrap_or_else(|| format!("eng-{}", store::random_id(14)));
                let invitation_id = self.invite_aws(&mut state, &o, &engagement_id);
                task.engagement_id = Some(engagement_id.clone());
                task.engagement_invitation_id = Some(invitation_id.clone());
                task.resource_snapshot_job_id = Some(format!("job-{}", store::random_id(13)));
                task.message = Some("The opportunity was submitted to AWS for review.".to_owned());
                let submission = Submission {
                    involvement_type: involvement.to_owned(),
                    visibility: visibility.to_owned(),
                    engagement_id: Some(engagement_id),
                    invitation_id: Some(invitation_id),
                };
                self.mark_submitted(&mut state, id, submission, true);
            }
        }
        let response = task_document(&task, true);
        state.from_opportunity_tasks.push(task);
        self.remember(
            &mut state,
            "StartEngagementFromOpportunityTask",
            input,
            &response,
        );
        Ok(response)
    }

    /// The engagement of a first submission and its invitation to AWS (`SENDER` on our side).
    fn invite_aws(&self, state: &mut State, o: &Opportunity, engagement_id: &str) -> String {
        let now = store::now();
        let time = store::format_time(now);
        let engagement_arn = self.arn(&o.catalog, "engagement", engagement_id);
        if o.submission
            .as_ref()
            .and_then(|s| s.engagement_id.as_ref())
            .is_none()
        {
            let event = SimEvent::engagement_created(
                self.event_context(&time),
                &o.catalog,
                engagement_id,
                &engagement_arn,
            );
            self.publish(state, event);
        }
        let invitation_id = format!("engi-{}", store::random_id(13));
        let title: String = o
            .body_str("Project.Title")
            .unwrap_or("Opportunity")
            .chars()
            .take(40)
            .collect();
        let invitation = store::Invitation {
            arn: self.arn(&o.catalog, "engagement-invitation", &invitation_id),
            id: invitation_id.clone(),
            catalog: o.catalog.clone(),
            engagement_id: engagement_id.to_owned(),
            engagement_title: title,
            engagement_description: None,
            status: "PENDING".to_owned(),
            participant_type: "SENDER".to_owned(),
            invitation_date: now,
            expiration_date: now + time::Duration::days(15),
            sender_account_id: self.account_id.clone(),
            sender_company_name: "Simulated Partner".to_owned(),
            receiver_account_id: "AWS".to_owned(),
            message: Some("Opportunity submitted for AWS review.".to_owned()),
            rejection_reason: None,
            payload: json!({"OpportunityInvitation": self.invitation_payload(o)}),
            opportunity_id: Some(o.id.clone()),
        };
        state
            .invitations
            .insert(invitation_id.clone(), invitation.clone());
        self.publish_invitation(state, DetailType::EngagementInvitationCreated, &invitation);
        invitation_id
    }

    /// What an invitation shares of an opportunity (ace-api.md §3 ListEngagementInvitations).
    fn invitation_payload(&self, o: &Opportunity) -> Value {
        let body = Value::Object(o.body.clone());
        let s = |p: &str| get_str(&body, p).map(str::to_owned);
        json!({
            "ReceiverResponsibilities": ["Co-Sell Facilitator"],
            "Customer": object(vec![
                ("Industry", s("Customer.Account.Industry").map(Value::String)),
                ("CompanyName", s("Customer.Account.CompanyName").map(Value::String)),
                ("WebsiteUrl", s("Customer.Account.WebsiteUrl").map(Value::String)),
                ("CountryCode", s("Customer.Account.Address.CountryCode").map(Value::String)),
            ]),
            "Project": object(vec![
                ("BusinessProblem", s("Project.CustomerBusinessProblem").map(Value::String)),
                ("Title", s("Project.Title").map(Value::String)),
                ("TargetCompletionDate", s("LifeCycle.TargetCloseDate").map(Value::String)),
                ("ExpectedCustomerSpend", Some(rules::get(&body, "Project.ExpectedCustomerSpend").cloned().unwrap_or(json!([])))),
            ]),
        })
    }

    pub(super) fn list_engagement_from_opportunity_tasks(
        &self,
        input: &Value,
    ) -> Result<Value, ApiError> {
        let state = self.state();
        let tasks = filter_tasks(
            &state.from_opportunity_tasks,
            input,
            &[
                ("OpportunityIdentifier", |t: &Task| t.opportunity_id.clone()),
                ("EngagementIdentifier", |t: &Task| t.engagement_id.clone()),
            ],
        );
        let (items, next) = page(tasks, input, 20)?;
        Ok(object(vec![
            (
                "TaskSummaries",
                Some(Value::Array(
                    items.into_iter().map(|t| task_document(t, true)).collect(),
                )),
            ),
            ("NextToken", next.map(Value::String)),
        ]))
    }

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

    pub(super) fn list_solutions(&self, input: &Value) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let statuses = filter_list(input, "Status");
        let ids = filter_list(input, "Identifier");
        let categories = filter_list(input, "Category");
        // No seeded solution is listed in AWS Marketplace.
        let marketplace = filter_list(input, "AwsMarketplaceSolutionArn");
        let keep =
            |f: &Option<Vec<String>>, v: &str| f.as_ref().is_none_or(|f| f.iter().any(|x| x == v));
        let mut solutions: Vec<_> = self
            .reference
            .solutions
            .iter()
            .filter(|s| {
                keep(&statuses, &s.status) && keep(&ids, &s.id) && keep(&categories, &s.category)
            })
            .filter(|_| marketplace.is_none())
            .collect();
        let sort_by = input
            .get("Sort")
            .and_then(|s| s.get("SortBy"))
            .and_then(Value::as_str)
            .unwrap_or("Identifier");
        solutions.sort_by(|a, b| {
            let key = |s: &super::reference_data::Solution| match sort_by {
                "Name" => s.name.to_lowercase(),
                "Status" => s.status.clone(),
                "Category" => s.category.clone(),
                "CreatedDate" => s.created_date.clone(),
                _ => s.id.clone(),
            };
            key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id))
        });
        if descending(input, false) {
            solutions.reverse();
        }
        let (items, next) = page(solutions, input, 20)?;
        let summaries: Vec<Value> = items
            .into_iter()
            .map(|s| {
                json!({"Catalog": catalog, "Id": s.id, "Arn": s.id, "Name": s.name, "Status": s.status,
                    "Category": s.category, "CreatedDate": s.created_date})
            })
            .collect();
        Ok(object(vec![
            ("SolutionSummaries", Some(Value::Array(summaries))),
            ("NextToken", next.map(Value::String)),
        ]))
    }
}

/// A task as its Start…Task response and task summaries render it.
pub(super) fn task_document(task: &Task, with_engagement: bool) -> Value {
    object(vec![
        ("TaskId", text(&task.id)),
        ("TaskArn", text(&task.arn)),
        ("StartTime", text(store::format_time(task.start_time))),
        ("TaskStatus", text(&task.status)),
        ("Message", task.message.clone().map(Value::String)),
        ("ReasonCode", task.reason_code.clone().map(Value::String)),
        (
            "OpportunityId",
            task.opportunity_id.clone().map(Value::String),
        ),
        (
            "ResourceSnapshotJobId",
            task.resource_snapshot_job_id.clone().map(Value::String),
        ),
        (
            "EngagementId",
            if with_engagement {
                task.engagement_id.clone().map(Value::String)
            } else {
                None
            },
        ),
        (
            "EngagementInvitationId",
            task.engagement_invitation_id.clone().map(Value::String),
        ),
    ])
}

type TaskKey = fn(&Task) -> Option<String>;

/// Tasks of `catalog` filtered by `TaskStatus`, `TaskIdentifier` and the given id lists, sorted
/// by `StartTime` (newest first unless `ASCENDING`).
pub(super) fn filter_tasks<'t>(
    tasks: &'t [Task],
    input: &Value,
    by: &[(&str, TaskKey)],
) -> Vec<&'t Task> {
    let catalog = str_of(input, "Catalog");
    let statuses = filter_list(input, "TaskStatus");
    let task_ids = filter_list(input, "TaskIdentifier");
    let mut out: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.catalog == catalog)
        .filter(|t| statuses.as_ref().is_none_or(|s| s.contains(&t.status)))
        .filter(|t| {
            task_ids
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|i| *i == t.id || *i == t.arn))
        })
        .filter(|t| {
            by.iter().all(|(member, key)| {
                filter_list(input, member)
                    .is_none_or(|wanted| key(t).is_some_and(|k| wanted.contains(&k)))
            })
        })
        .collect();
    out.sort_by_key(|t| (t.start_time, t.id.clone()));
    if descending(input, true) {
        out.reverse();
    }
    out
}
