//! Salesforce outbound messages on the wire: reading the SOAP 1.1 `notifications` envelope,
//! and rendering the acknowledgement and SOAP faults (salesforce.md §1.2–1.8).
//!
//! The reader is a single pass over the body that keeps only what a reconcile job needs: the
//! org, the action id, the two URLs the My Domain check looks at, and for each notification its
//! id, the sObject's type, `Id` and `SystemModstamp`. Every other field is checked for
//! well-formedness and skipped, never typed or copied, so a value the worker does not need
//! cannot make the ingress refuse a message (the worker reads the record itself).
//!
//! Elements are matched by namespace URI, never by prefix. DTDs and entity declarations are
//! refused outright (nothing is ever expanded; only the five predefined entities and character
//! references are understood, in text and attributes alike), and the `SessionId`, a live bearer
//! credential, is never copied: only whether one was present survives.

mod reader;

use time::OffsetDateTime;

use crate::domain::ids::{ActionId, IdError, NotificationId, SfOrgId, SfRecordId};
use crate::domain::sobject::FieldValueError;

pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const OUTBOUND_NS: &str = "http://soap.sforce.com/2005/09/outbound";
pub const SOBJECT_NS: &str = "urn:sobject.enterprise.soap.sforce.com";
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Salesforce sends at most this many notifications in one message.
pub const MAX_NOTIFICATIONS: usize = 100;
/// Deeper than any outbound message; guards the parser against pathological nesting.
pub const MAX_DEPTH: usize = 16;

/// An outbound message as read, before its origin is checked. Only
/// [`super::verify::Verifier`] turns it into something that can be queued.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundMessage {
    pub organization_id: SfOrgId,
    pub action_id: ActionId,
    /// Whether the sender included a session id. The value itself is never kept.
    pub session_id_sent: bool,
    pub enterprise_url: Option<String>,
    pub partner_url: Option<String>,
    pub notifications: Vec<Notification>,
}

/// One `Notification`: its id and the record it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: NotificationId,
    /// The sObject's `xsi:type` (`Opportunity`), for the metrics.
    pub sobject_type: String,
    pub record_id: SfRecordId,
    /// The record's `SystemModstamp`, when the outbound message definition selects it.
    pub system_modstamp: Option<OffsetDateTime>,
}

/// Why a body is not an acceptable outbound message. Every variant says precisely what is
/// wrong, because the text ends up in the SOAP fault Salesforce shows in its delivery log.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SoapError {
    #[error("the body is not UTF-8 text (byte {offset} is invalid); Salesforce sends UTF-8")]
    NotUtf8 { offset: usize },
    #[error("document type declarations (DTDs, entity declarations) are not accepted")]
    Dtd,
    #[error(
        "the entity reference &{name}; is not defined; only &amp; &lt; &gt; &quot; &apos; and character references are allowed"
    )]
    UnknownEntity { name: String },
    #[error("malformed XML at byte {position}: {reason}")]
    Malformed { position: u64, reason: String },
    #[error("the XML ends before the document is complete (unclosed <{open}>)")]
    Truncated { open: String },
    #[error("the body is empty")]
    Empty,
    #[error("elements nest deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("the root element is {found}, not a SOAP 1.1 Envelope ({SOAP_ENV_NS})")]
    NotSoapEnvelope { found: String },
    #[error(
        "the SOAP Body does not hold a notifications element in the {OUTBOUND_NS} namespace (found {found})"
    )]
    NotNotifications { found: String },
    #[error("the notifications element has no {element}")]
    Missing { element: &'static str },
    #[error("the notifications element has more than one {element}")]
    Repeated { element: &'static str },
    #[error("{element}: {source}")]
    BadId {
        element: String,
        #[source]
        source: IdError,
    },
    #[error("the message holds no Notification")]
    NoNotifications,
    #[error(
        "the message holds {count} notifications; Salesforce sends at most {MAX_NOTIFICATIONS}"
    )]
    TooManyNotifications { count: usize },
    #[error("notification {index}: {problem}")]
    BadNotification { index: usize, problem: String },
    #[error("notification {notification}, field {field}: {source}")]
    BadField {
        notification: String,
        field: String,
        #[source]
        source: FieldValueError,
    },
}

impl SoapError {
    /// A short, stable label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            SoapError::NotUtf8 { .. } => "not_utf8",
            SoapError::Dtd => "dtd",
            SoapError::UnknownEntity { .. } => "entity",
            SoapError::Malformed { .. } | SoapError::TooDeep => "malformed_xml",
            SoapError::Truncated { .. } | SoapError::Empty => "truncated_xml",
            SoapError::NotSoapEnvelope { .. } | SoapError::NotNotifications { .. } => {
                "not_notifications"
            }
            SoapError::Missing { .. }
            | SoapError::Repeated { .. }
            | SoapError::BadId { .. }
            | SoapError::NoNotifications
            | SoapError::TooManyNotifications { .. }
            | SoapError::BadNotification { .. } => "invalid_notifications",
            SoapError::BadField { .. } => "invalid_field",
        }
    }
}

/// Parses an outbound message body.
pub fn parse(body: &[u8]) -> Result<OutboundMessage, SoapError> {
    reader::read(body)
}

/// The acknowledgement Salesforce expects (salesforce.md §1.8): one `Ack` covers the whole
/// message.
pub const ACK: &str = super::samples::ACK;

/// Who is to blame for a fault, in SOAP 1.1's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    /// The message is at fault; sending it again unchanged will fail again.
    Client,
    /// We are at fault, for now; Salesforce should retry.
    Server,
}

/// A SOAP 1.1 fault with the reason as its `faultstring`.
pub fn fault(code: FaultCode, reason: &str) -> String {
    let code = match code {
        FaultCode::Client => "soapenv:Client",
        FaultCode::Server => "soapenv:Server",
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <soapenv:Fault>
   <faultcode>{code}</faultcode>
   <faultstring>{}</faultstring>
  </soapenv:Fault>
 </soapenv:Body>
</soapenv:Envelope>
"#,
        quick_xml::escape::escape(reason)
    )
}

#[cfg(test)]
mod tests;
