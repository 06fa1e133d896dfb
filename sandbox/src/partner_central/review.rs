//! The simulated AWS review of a submitted opportunity: how it decides (configurable rules, or
//! a fixed outcome), when it moves (`Submitted → In review → decision`, after configurable
//! delays or only when a test steps it), and what an approval adds on AWS's side.

use std::time::Duration;

use serde_json::{Value, json};

use super::rules::get_str;
use super::store::Opportunity;

/// When reviews move on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewTiming {
    /// Only when the control API steps them (tests, demos that narrate each step).
    Manual,
    /// By themselves: `Submitted` turns `In review` after `in_review_after`, and the
    /// decision comes `decision_after` later. Zero delays move at once.
    Automatic {
        in_review_after: Duration,
        decision_after: Duration,
    },
}

/// AWS's decision on a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewDecision {
    Approve,
    /// `reason` is a `ReviewStatusReason` value of AWS's data model.
    Reject {
        reason: String,
        comments: String,
    },
    ActionRequired {
        reason: String,
        comments: String,
    },
}

/// How the simulated reviewer decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewPolicy {
    Rules(ReviewRules),
    /// Every review ends the same way.
    Fixed(ReviewDecision),
}

/// The default reviewer: rejects generic business problems, asks for action when the AWS side
/// is unclear (no AWS product, no expected spend), approves the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRules {
    /// Business problems shorter than this are rejected as too generic.
    pub min_business_problem_chars: usize,
    /// A business problem of at most `generic_max_words` words that contains one of these
    /// phrases (case-insensitive) is rejected as generic.
    pub generic_phrases: Vec<String>,
    pub generic_max_words: usize,
    pub require_aws_product: bool,
    pub require_expected_spend: bool,
}

impl Default for ReviewRules {
    fn default() -> Self {
        ReviewRules {
            min_business_problem_chars: 50,
            generic_phrases: [
                "cloud migration",
                "migrate to aws",
                "move to the cloud",
                "digital transformation",
                "modernization",
                "cost optimization",
                "aws services",
            ]
            .map(String::from)
            .to_vec(),
            generic_max_words: 12,
            require_aws_product: true,
            require_expected_spend: true,
        }
    }
}

impl ReviewRules {
    pub fn decide(&self, opportunity: &Opportunity) -> ReviewDecision {
        let problem = opportunity
            .body_str("Project.CustomerBusinessProblem")
            .unwrap_or_default()
            .trim();
        let lowered = problem.to_lowercase();
        let words = problem.split_whitespace().count();
        let generic = words <= self.generic_max_words
            && self
                .generic_phrases
                .iter()
                .any(|p| lowered.contains(&p.to_lowercase()));
        if problem.chars().count() < self.min_business_problem_chars || generic {
            return ReviewDecision::Reject {
                reason: "Other".to_owned(),
                comments: "The customer business problem is too generic to validate. Describe the customer's specific problem, the workload and the AWS services involved, then submit a new opportunity.".to_owned(),
            };
        }
        if self.require_aws_product && opportunity.related("AwsProducts").is_empty() {
            return ReviewDecision::ActionRequired {
                reason: "Clarify Solution".to_owned(),
                comments: "No AWS product is associated. Associate the AWS products in scope and update the opportunity.".to_owned(),
            };
        }
        let has_spend = opportunity
            .body_value("Project.ExpectedCustomerSpend")
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items.iter().any(|i| {
                    i.get("Amount")
                        .and_then(Value::as_str)
                        .and_then(|a| a.parse::<f64>().ok())
                        .is_some_and(|a| a > 0.0)
                })
            });
        if self.require_expected_spend && !has_spend {
            return ReviewDecision::ActionRequired {
                reason: "Clarify Revenue".to_owned(),
                comments: "Expected AWS spend is missing. Add the expected monthly AWS spend and update the opportunity.".to_owned(),
            };
        }
        ReviewDecision::Approve
    }
}

impl ReviewPolicy {
    pub fn decide(&self, opportunity: &Opportunity) -> ReviewDecision {
        match self {
            Self::Rules(rules) => rules.decide(opportunity),
            Self::Fixed(decision) => decision.clone(),
        }
    }
}

/// How the simulated review behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewConfig {
    pub timing: ReviewTiming,
    pub policy: ReviewPolicy,
    /// An update of an `Action Required` opportunity sends it back into validation
    /// (ace-api.md §8). When false, it stays `Action Required` until submitted again.
    pub resubmit_on_update: bool,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            timing: ReviewTiming::Automatic {
                in_review_after: Duration::from_secs(5),
                decision_after: Duration::from_secs(10),
            },
            policy: ReviewPolicy::Rules(ReviewRules::default()),
            resubmit_on_update: true,
        }
    }
}

/// The AWS opportunity team of an approved opportunity (placeholder people on reserved
/// example domains).
pub fn aws_team() -> Vec<Value> {
    vec![
        json!({"Email": "jordan.rivera@aws-sales.example", "FirstName": "Jordan", "LastName": "Rivera", "BusinessTitle": "AWSSalesRep"}),
        json!({"Email": "sam.okafor@aws-partners.example", "FirstName": "Sam", "LastName": "Okafor", "BusinessTitle": "PDM"}),
        json!({"Email": "lee.tanaka@aws-partners.example", "FirstName": "Lee", "LastName": "Tanaka", "BusinessTitle": "PSM"}),
    ]
}

/// Insights AWS attaches to an approved opportunity.
pub fn insights(opportunity: &Opportunity) -> Value {
    let monthly: f64 = opportunity
        .body_value("Project.ExpectedCustomerSpend")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("Amount").and_then(Value::as_str)?.parse::<f64>().ok())
                .sum()
        })
        .unwrap_or(0.0);
    let score = if monthly >= 10_000.0 {
        "High"
    } else if monthly >= 1_000.0 {
        "Medium"
    } else {
        "Low"
    };
    let use_case = get_str(
        &Value::Object(opportunity.body.clone()),
        "Project.CustomerUseCase",
    )
    .unwrap_or("the workload")
    .to_owned();
    json!({
        "NextBestActions": format!("Schedule a joint account plan with the AWS seller; align on {use_case} and the expected spend."),
        "EngagementScore": score,
        "OpportunityQuality": {"Score": if score == "High" { 85 } else if score == "Medium" { 70 } else { 55 }, "Trend": "Stable"},
    })
}
