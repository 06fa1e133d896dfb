//! The request, parsed at the edge: the opportunity id of the path and the query string's
//! parameters, each refused with a precise message when it is not what the operation takes.

use std::collections::BTreeMap;

use actix_web::HttpRequest;

use super::problem::ApiError;
use crate::domain::ids::SfOpportunityId;

/// The longest query parameter value taken (a Salesforce picklist value is at most 255).
const MAX_VALUE: usize = 255;

/// The `{opportunityId}` of the path, parsed.
pub fn opportunity_id(raw: &str) -> Result<SfOpportunityId, ApiError> {
    SfOpportunityId::parse(raw).map_err(|source| ApiError::InvalidId {
        // Echoed in the answer and the log: printable and short.
        raw: raw
            .chars()
            .filter(char::is_ascii_graphic)
            .take(40)
            .collect(),
        source,
    })
}

/// The path's opportunity id, recorded on the call's span once it parses.
pub fn path_opportunity_id(request: &HttpRequest) -> Result<SfOpportunityId, ApiError> {
    let raw = request
        .match_info()
        .get("opportunityId")
        .unwrap_or_default();
    let id = opportunity_id(raw)?;
    tracing::Span::current().record("sf_opportunity_id", id.as_str());
    Ok(id)
}

/// The query string's parameters: only names in `allowed`, each at most once, each value at
/// most 255 characters. An empty value counts as absent (a Flow sends an unset optional
/// input that way).
pub fn query(
    request: &HttpRequest,
    allowed: &[&str],
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut found = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(request.query_string().as_bytes()) {
        if !allowed.contains(&name.as_ref()) {
            let takes = if allowed.is_empty() {
                "this operation takes no query parameter".to_owned()
            } else {
                format!("this operation takes: {}", allowed.join(", "))
            };
            return Err(ApiError::InvalidParameter(format!(
                "unknown query parameter `{}`; {takes}",
                name.chars()
                    .filter(char::is_ascii_graphic)
                    .take(40)
                    .collect::<String>()
            )));
        }
        if found.contains_key(name.as_ref()) {
            return Err(ApiError::InvalidParameter(format!(
                "query parameter `{name}` is given more than once"
            )));
        }
        if value.chars().count() > MAX_VALUE {
            return Err(ApiError::InvalidParameter(format!(
                "query parameter `{name}` is longer than {MAX_VALUE} characters"
            )));
        }
        found.insert(name.into_owned(), value.trim().to_owned());
    }
    found.retain(|_, value| !value.is_empty());
    Ok(found)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn parsed(uri: &str) -> Result<BTreeMap<String, String>, String> {
        query(&TestRequest::get().uri(uri).to_http_request(), &["stage"]).map_err(|e| e.to_string())
    }

    #[test]
    fn only_known_parameters_are_taken_once_each() {
        assert_eq!(
            parsed("/x?stage=Needs%20Analysis").unwrap()["stage"],
            "Needs Analysis"
        );
        assert!(parsed("/x?stage=").unwrap().is_empty());
        assert!(parsed("/x").unwrap().is_empty());
        let err = parsed("/x?stge=Closed").unwrap_err();
        assert!(
            err.contains("unknown query parameter `stge`; this operation takes: stage"),
            "{err}"
        );
        assert!(
            parsed("/x?stage=a&stage=b")
                .unwrap_err()
                .contains("more than once")
        );
        assert!(
            parsed(&format!("/x?stage={}", "a".repeat(256)))
                .unwrap_err()
                .contains("255")
        );
    }

    #[test]
    fn ids_must_be_opportunity_ids() {
        assert!(opportunity_id("0065g00000QrStUAAV").is_ok());
        let err = opportunity_id("0015g00000QrStUAAV")
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a Salesforce opportunity id"), "{err}");
    }
}
