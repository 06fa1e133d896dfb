//! What an opportunity is associated with: AssociateOpportunity / DisassociateOpportunity
//! with their formats, limits and the entities that must exist, and ListSolutions over the
//! seeded partner solutions (ace-api.md §3, §10).

use serde_json::{Value, json};

use ace_sync::ace::model::{Violation, ViolationCode};

use super::error::{ApiError, ValidationReason};
use super::events::DetailType;
use super::service::{Sim, descending, filter_list, object, page, str_of};
use super::store::{self, ReviewStatus};

/// How many entities of each kind one opportunity may have (ace-api.md §10, last row).
fn association_limit(kind: &str) -> usize {
    match kind {
        "AwsProducts" => 20,
        "AwsMarketplaceOffers" | "AwsMarketplaceOfferSets" => 1,
        _ => 10,
    }
}

impl Sim {
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
                "AwsProducts" if !ace_sync::ace::rules::is_aws_product(entity) => {
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
