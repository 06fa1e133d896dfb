//! The errors the simulated service answers with, rendered the way awsJson1_0 services do:
//! the HTTP status of the error's Smithy `httpError` trait, `x-amzn-ErrorType`, and a body
//! with `__type` and the error's modelled members (ace-api.md §7).

use serde_json::{Value, json};

use ace_sync::ace::model::{Operation, Violation, ViolationCode};

/// `ValidationException.Reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationReason {
    /// The request breaks the service model (types, required members, formats).
    RequestValidationFailed,
    /// The request is well-formed but breaks a business rule of ACE.
    BusinessValidationFailed,
}

impl ValidationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequestValidationFailed => "REQUEST_VALIDATION_FAILED",
            Self::BusinessValidationFailed => "BUSINESS_VALIDATION_FAILED",
        }
    }
}

/// A failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    Validation {
        reason: ValidationReason,
        message: String,
        errors: Vec<Violation>,
    },
    Conflict(String),
    Throttling(String),
    AccessDenied(String),
    ResourceNotFound(String),
    ServiceQuotaExceeded(String),
    InternalServer(String),
    /// Protocol-level: the target names no operation of the service.
    UnknownOperation,
    /// Protocol-level: the body is not a JSON object.
    Serialization(String),
}

impl ApiError {
    /// A ValidationException from a list of violations; the message names them all.
    pub fn validation(reason: ValidationReason, errors: Vec<Violation>) -> ApiError {
        let message = match errors.as_slice() {
            [only] => only.message.clone(),
            many => format!(
                "{} validation errors detected: {}",
                many.len(),
                many.iter()
                    .map(|v| v.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        };
        ApiError::Validation {
            reason,
            message,
            errors,
        }
    }

    /// One business-rule violation.
    pub fn business(field: &str, code: ViolationCode, message: impl Into<String>) -> ApiError {
        Self::validation(
            ValidationReason::BusinessValidationFailed,
            vec![Violation::new(field, code, message)],
        )
    }

    /// The data model's text for an id that is unknown in the catalog.
    pub fn not_found(identifier: &str) -> ApiError {
        ApiError::ResourceNotFound(format!(
            "Resource with Identifier {identifier} does not exist or is not accessible"
        ))
    }

    /// The error shape's name, as operations declare it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "ValidationException",
            Self::Conflict(_) => "ConflictException",
            Self::Throttling(_) => "ThrottlingException",
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::ResourceNotFound(_) => "ResourceNotFoundException",
            Self::ServiceQuotaExceeded(_) => "ServiceQuotaExceededException",
            Self::InternalServer(_) => "InternalServerException",
            Self::UnknownOperation => "UnknownOperationException",
            Self::Serialization(_) => "SerializationException",
        }
    }

    /// Errors of the service model, as opposed to the protocol's own.
    pub fn is_modelled(&self) -> bool {
        !matches!(self, Self::UnknownOperation | Self::Serialization(_))
    }

    /// The Smithy `httpError` status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Validation { .. } | Self::UnknownOperation | Self::Serialization(_) => 400,
            Self::Conflict(_) => 409,
            Self::Throttling(_) => 429,
            Self::AccessDenied(_) => 403,
            Self::ResourceNotFound(_) => 404,
            Self::ServiceQuotaExceeded(_) => 402,
            Self::InternalServer(_) => 500,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::Validation { message, .. } => message,
            Self::Conflict(m)
            | Self::Throttling(m)
            | Self::AccessDenied(m)
            | Self::ResourceNotFound(m)
            | Self::ServiceQuotaExceeded(m)
            | Self::InternalServer(m)
            | Self::Serialization(m) => m,
            Self::UnknownOperation => "",
        }
    }

    /// The `__type` of the body: the shape id, or Coral's namespace for protocol errors (as
    /// AWS's JSON services answer an unknown `X-Amz-Target`).
    pub fn wire_type(&self) -> String {
        if self.is_modelled() {
            format!("com.amazonaws.partnercentralselling#{}", self.type_name())
        } else {
            format!("com.amazon.coral.service#{}", self.type_name())
        }
    }

    pub fn body(&self) -> Value {
        match self {
            Self::Validation {
                reason,
                message,
                errors,
            } => json!({
                "__type": self.wire_type(),
                "Message": message,
                "Reason": reason.as_str(),
                "ErrorList": errors.iter().map(|v| json!({
                    "FieldName": v.field,
                    "Message": v.message,
                    "Code": v.code.as_str(),
                })).collect::<Vec<_>>(),
            }),
            Self::UnknownOperation => json!({"__type": self.wire_type(), "message": null}),
            Self::Serialization(m) => json!({"__type": self.wire_type(), "Message": m}),
            other => json!({"__type": other.wire_type(), "Message": other.message()}),
        }
    }

    /// This error if `operation` declares it, else the nearest error it does declare: an SDK
    /// parses undeclared errors as unhandled, which the real service never makes it do.
    pub fn declared_for(self, operation: &Operation) -> (ApiError, bool) {
        if !self.is_modelled() || operation.declares(self.type_name()) {
            return (self, true);
        }
        let substitute = match &self {
            Self::ServiceQuotaExceeded(m) => Self::Throttling(m.clone()),
            Self::Conflict(m) => Self::business("", ViolationCode::InvalidResourceState, m.clone()),
            other => Self::InternalServer(other.message().to_owned()),
        };
        (substitute, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_error_with_its_status_and_type() {
        let cases = [
            (ApiError::Conflict("c".into()), 409, "ConflictException"),
            (ApiError::Throttling("t".into()), 429, "ThrottlingException"),
            (
                ApiError::AccessDenied("a".into()),
                403,
                "AccessDeniedException",
            ),
            (ApiError::not_found("O1"), 404, "ResourceNotFoundException"),
            (
                ApiError::ServiceQuotaExceeded("q".into()),
                402,
                "ServiceQuotaExceededException",
            ),
            (
                ApiError::InternalServer("i".into()),
                500,
                "InternalServerException",
            ),
        ];
        for (error, status, name) in cases {
            assert_eq!(error.status(), status);
            let body = error.body();
            assert_eq!(
                body["__type"],
                format!("com.amazonaws.partnercentralselling#{name}")
            );
            assert!(body["Message"].is_string());
        }
        let v = ApiError::business("Catalog", ViolationCode::InvalidEnumValue, "bad");
        assert_eq!(v.status(), 400);
        assert_eq!(
            v.body(),
            json!({"__type": "com.amazonaws.partnercentralselling#ValidationException", "Message": "bad",
                "Reason": "BUSINESS_VALIDATION_FAILED",
                "ErrorList": [{"FieldName": "Catalog", "Message": "bad", "Code": "INVALID_ENUM_VALUE"}]})
        );
        assert_eq!(ApiError::UnknownOperation.status(), 400);
        assert_eq!(
            ApiError::UnknownOperation.body()["__type"],
            "com.amazon.coral.service#UnknownOperationException"
        );
    }

    #[test]
    fn undeclared_errors_become_declared_ones() {
        let op = Operation {
            name: "AssociateOpportunity".into(),
            input: None,
            output: None,
            errors: vec!["ThrottlingException".into(), "ValidationException".into()],
        };
        let (e, declared) = ApiError::ServiceQuotaExceeded("q".into()).declared_for(&op);
        assert!(!declared && matches!(e, ApiError::Throttling(_)));
        let (e, declared) = ApiError::Conflict("c".into()).declared_for(&op);
        assert!(!declared && matches!(e, ApiError::Validation { .. }));
        let (e, declared) = ApiError::Throttling("t".into()).declared_for(&op);
        assert!(declared && matches!(e, ApiError::Throttling(_)));
    }
}
