//! The OpenAPI 3.1 document, generated from the routes themselves: every route registered in
//! [`super::routes`] and [`crate::api::routes`] carries its `#[utoipa::path]`, so the document
//! cannot miss one. The committed `openapi.yaml` is this document; a test fails when they
//! differ. (The API's operations also make the 3.0 document External Services imports,
//! [`crate::api::spec`].)
//!
//! The SOAP bodies are described as XML schemas (OpenAPI's `xml` object gives element names,
//! namespaces and prefixes); the types below exist only to carry that description.

#![allow(dead_code)] // The schema types are descriptions; nothing constructs them.

use actix_web::App;
use utoipa::{OpenApi, ToSchema};
use utoipa_actix_web::AppExt;

use crate::api::spec::ApiKeyScheme;

/// An example outbound message (the shape of shared/samples/salesforce/om_single.xml).
pub const EXAMPLE_MESSAGE: &str = super::samples::SINGLE;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ace-sync",
        description = "Keeps Salesforce opportunities and AWS Partner Central (ACE) in sync. Salesforce outbound messages come in here and are acknowledged only once every notification is durably queued.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "salesforce", description = "Endpoints Salesforce calls."),
        (name = "api", description = "The API Salesforce Flows call through an External Service (when api.enabled): check with ACE, ACE status, sync now."),
        (name = "operations", description = "Health checks and metrics for operators and orchestrators."),
    ),
    modifiers(&ApiKeyScheme),
)]
struct ApiDoc;

/// The OpenAPI document of the ingress.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(super::routes)
        .configure(crate::api::routes)
        .split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api
}

/// The document as YAML, as committed in `openapi.yaml`.
pub fn yaml() -> String {
    // Serializing a document built from static descriptions cannot fail.
    document().to_yaml().unwrap_or_default()
}

/// `<soapenv:Envelope>` carrying a `notifications` element.
#[derive(ToSchema)]
#[schema(xml(
    name = "Envelope",
    prefix = "soapenv",
    namespace = "http://schemas.xmlsoap.org/soap/envelope/"
))]
pub struct OutboundMessageEnvelope {
    #[schema(rename = "Body", xml(prefix = "soapenv"))]
    body: NotificationsBody,
}

#[derive(ToSchema)]
pub struct NotificationsBody {
    notifications: Notifications,
}

/// The `notifications` element of the outbound message WSDL (namespace
/// `http://soap.sforce.com/2005/09/outbound`, the default namespace, no prefix).
#[derive(ToSchema)]
#[schema(xml(namespace = "http://soap.sforce.com/2005/09/outbound"))]
pub struct Notifications {
    /// The 18-character organization id (00D…); it must be one of `salesforce.org_ids`.
    #[schema(rename = "OrganizationId", pattern = "^[a-zA-Z0-9]{18}$")]
    organization_id: String,
    /// The outbound message definition (04k…).
    #[schema(rename = "ActionId", pattern = "^[a-zA-Z0-9]{18}$")]
    action_id: String,
    /// A session id when "Send Session ID" is ticked, else `xsi:nil="true"`. ace-sync never
    /// queues or logs it; leave the option unticked.
    #[schema(rename = "SessionId", nullable)]
    session_id: Option<String>,
    /// `https://<host>/services/Soap/c/<version>/<org id>`.
    #[schema(rename = "EnterpriseUrl")]
    enterprise_url: String,
    /// `https://<host>/services/Soap/u/<version>/<org id>`.
    #[schema(rename = "PartnerUrl")]
    partner_url: String,
    /// 1 to 100 notifications.
    #[schema(rename = "Notification", min_items = 1, max_items = 100)]
    notification: Vec<Notification>,
}

#[derive(ToSchema)]
pub struct Notification {
    /// The notification id (04l…), Salesforce's key for redeliveries.
    #[schema(rename = "Id", pattern = "^[a-zA-Z0-9]{18}$")]
    id: String,
    #[schema(rename = "sObject")]
    sobject: SObjectXml,
}

/// The record, `xsi:type="sf:<Type>"`, its fields as elements in the
/// `urn:sobject.enterprise.soap.sforce.com` namespace: `sf:Id` first, then the fields chosen in
/// the outbound message definition. Null fields are omitted (or `xsi:nil`). Dates are
/// `YYYY-MM-DD`, datetimes ISO 8601 UTC, numbers `xsd:double`, multi-select picklists
/// `;`-separated.
#[derive(ToSchema)]
#[schema(xml(prefix = "sf", namespace = "urn:sobject.enterprise.soap.sforce.com"))]
pub struct SObjectXml {
    #[schema(rename = "Id", pattern = "^[a-zA-Z0-9]{18}$")]
    id: String,
}

/// `<soapenv:Envelope>` carrying `notificationsResponse`: `<Ack>true</Ack>`.
#[derive(ToSchema)]
#[schema(xml(
    name = "Envelope",
    prefix = "soapenv",
    namespace = "http://schemas.xmlsoap.org/soap/envelope/"
))]
pub struct AckEnvelope {
    #[schema(rename = "Body", xml(prefix = "soapenv"))]
    body: AckBody,
}

#[derive(ToSchema)]
pub struct AckBody {
    #[schema(rename = "notificationsResponse")]
    notifications_response: NotificationsResponse,
}

#[derive(ToSchema)]
#[schema(xml(namespace = "http://soap.sforce.com/2005/09/outbound"))]
pub struct NotificationsResponse {
    /// Always `true`: one ack covers the whole message.
    #[schema(rename = "Ack")]
    ack: bool,
}

/// `<soapenv:Envelope>` carrying a SOAP 1.1 `Fault`.
#[derive(ToSchema)]
#[schema(xml(
    name = "Envelope",
    prefix = "soapenv",
    namespace = "http://schemas.xmlsoap.org/soap/envelope/"
))]
pub struct FaultEnvelope {
    #[schema(rename = "Body", xml(prefix = "soapenv"))]
    body: FaultBody,
}

#[derive(ToSchema)]
pub struct FaultBody {
    #[schema(rename = "Fault", xml(prefix = "soapenv"))]
    fault: Fault,
}

#[derive(ToSchema)]
pub struct Fault {
    /// `soapenv:Client` (the message is at fault) or `soapenv:Server` (retry later).
    faultcode: String,
    /// What is wrong, precisely.
    faultstring: String,
}
