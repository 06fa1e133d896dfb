//! SDK errors into the port's [`AceError`], at the seam: the worker never sees an SDK type.
//! Each operation has its own error enum; they all carry the modeled exceptions by name
//! (ace-api.md §7), and the HTTP status decides for anything unmodeled.

use aws_sdk_partnercentralselling::config::http::HttpResponse;
use aws_sdk_partnercentralselling::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_partnercentralselling::types::error::{AccessDeniedException, ValidationException};

use crate::ports::partner_central::{AceError, FieldError};

/// What every operation error enum offers: the modeled exceptions with typed members.
pub trait OperationError: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static {
    fn validation(&self) -> Option<&ValidationException>;
    fn access_denied(&self) -> Option<&AccessDeniedException>;
}

macro_rules! operation_errors {
    ($($module:ident :: $error:ident),* $(,)?) => {
        $(
            impl OperationError for aws_sdk_partnercentralselling::operation::$module::$error {
                fn validation(&self) -> Option<&ValidationException> {
                    match self {
                        Self::ValidationException(e) => Some(e),
                        _ => None,
                    }
                }
                fn access_denied(&self) -> Option<&AccessDeniedException> {
                    match self {
                        Self::AccessDeniedException(e) => Some(e),
                        _ => None,
                    }
                }
            }
        )*
    };
}

operation_errors!(
    create_opportunity::CreateOpportunityError,
    update_opportunity::UpdateOpportunityError,
    get_opportunity::GetOpportunityError,
    list_opportunities::ListOpportunitiesError,
    associate_opportunity::AssociateOpportunityError,
    disassociate_opportunity::DisassociateOpportunityError,
    list_engagement_from_opportunity_tasks::ListEngagementFromOpportunityTasksError,
    start_engagement_from_opportunity_task::StartEngagementFromOpportunityTaskError,
    get_aws_opportunity_summary::GetAwsOpportunitySummaryError,
    list_engagement_invitations::ListEngagementInvitationsError,
    get_engagement_invitation::GetEngagementInvitationError,
    start_engagement_by_accepting_invitation_task::StartEngagementByAcceptingInvitationTaskError,
    reject_engagement_invitation::RejectEngagementInvitationError,
    list_engagement_by_accepting_invitation_tasks::ListEngagementByAcceptingInvitationTasksError,
);

/// Classifies a failed call.
pub fn classify<E: OperationError>(
    operation: &'static str,
    err: SdkError<E, HttpResponse>,
) -> AceError {
    let unavailable = |err: SdkError<E, HttpResponse>| AceError::Unavailable {
        operation,
        source: Box::new(err),
    };
    let (e, status) = match &err {
        SdkError::ServiceError(context) => (context.err(), context.raw().status().as_u16()),
        // No answer, or none in time: the request may or may not have been applied, and every
        // write we make is safe to repeat (ClientToken, LastModifiedDate).
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            return unavailable(err);
        }
        // The SDK could not build the request: our bug, not worth repeating.
        SdkError::ConstructionFailure(_) => {
            return AceError::Unexpected {
                operation,
                what: format!(
                    "the request could not be built: {}",
                    crate::telemetry::error_chain(&err)
                ),
            };
        }
        _ => return unavailable(err),
    };
    let message = e.message().unwrap_or_default().to_owned();
    if let Some(v) = e.validation() {
        return AceError::Validation {
            operation,
            reason: v.reason().as_str().to_owned(),
            message: v.message().to_owned(),
            errors: v
                .error_list()
                .iter()
                .map(|f| FieldError {
                    field_name: f.field_name().map(str::to_owned),
                    message: f.message().to_owned(),
                    code: f.code().as_str().to_owned(),
                })
                .collect(),
        };
    }
    if let Some(a) = e.access_denied() {
        return AceError::AccessDenied {
            operation,
            reason: a.reason().map(|r| r.as_str().to_owned()),
            message,
        };
    }
    match e.code() {
        Some("ResourceNotFoundException") => AceError::NotFound { operation, message },
        Some("ConflictException") => AceError::Conflict { operation, message },
        Some("ThrottlingException") => AceError::Throttled { operation, message },
        Some("ServiceQuotaExceededException") => AceError::QuotaExceeded { operation, message },
        Some("InternalServerException") => unavailable(err),
        _ if status == 429 => AceError::Throttled { operation, message },
        _ if status >= 500 => unavailable(err),
        code => AceError::Unexpected {
            operation,
            what: format!(
                "HTTP {status}, error {}: {message}",
                code.unwrap_or("(no code)")
            ),
        },
    }
}
