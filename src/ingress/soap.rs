//! Salesforce outbound messages on the wire: parsing the SOAP 1.1 `notifications` envelope,
//! and rendering the acknowledgement and SOAP faults (salesforce.md §1.2–1.8).
//!
//! Elements are matched by namespace URI, never by prefix. The parser refuses DTDs and entity
//! declarations outright (nothing is ever expanded; only the five predefined entities and
//! character references are understood), and the `SessionId` — a live bearer credential — is
//! dropped as it is read: only whether one was present survives.

use std::collections::BTreeMap;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::domain::ids::{ActionId, IdError, NotificationId, SfOrgId, SfRecordId};
use crate::domain::sobject::{FieldTypes, FieldValue, FieldValueError, SObject};

pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const OUTBOUND_NS: &str = "http://soap.sforce.com/2005/09/outbound";
pub const SOBJECT_NS: &str = "urn:sobject.enterprise.soap.sforce.com";
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Salesforce sends at most this many notifications in one message.
pub const MAX_NOTIFICATIONS: usize = 100;
/// Deeper than any outbound message; guards the parser against pathological nesting.
const MAX_DEPTH: usize = 16;
/// More fields than any sObject has.
const MAX_FIELDS_PER_RECORD: usize = 1_000;

/// An outbound message as parsed, before its origin is checked. Only
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

/// One `Notification`: its id and the record it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: NotificationId,
    pub sobject: SObject,
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

/// The namespaces we care about, and everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ns {
    SoapEnv,
    Outbound,
    SObject,
    Other(String),
    None,
}

impl Ns {
    fn of(resolved: ResolveResult<'_>) -> Ns {
        match resolved {
            ResolveResult::Bound(ns) => match ns.as_ref() {
                SOAP_ENV_NS => Ns::SoapEnv,
                OUTBOUND_NS => Ns::Outbound,
                SOBJECT_NS => Ns::SObject,
                other => Ns::Other(other.to_owned()),
            },
            ResolveResult::Unbound => Ns::None,
            ResolveResult::Unknown(prefix) => Ns::Other(format!("undeclared prefix {prefix}")),
        }
    }
}

/// A parsed element: small enough a tree for a ≤ 1 MiB body, and far easier to check
/// precisely than a stream.
#[derive(Debug)]
struct Element {
    ns: Ns,
    local: String,
    nil: bool,
    xsi_type: Option<String>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn describe(&self) -> String {
        match &self.ns {
            Ns::SoapEnv => format!("<{}> in the SOAP envelope namespace", self.local),
            Ns::Outbound => format!("<{}> in the outbound message namespace", self.local),
            Ns::SObject => format!("<{}> in the sObject namespace", self.local),
            Ns::Other(ns) => format!("<{}> in namespace {ns}", self.local),
            Ns::None => format!("<{}> in no namespace", self.local),
        }
    }

    fn is(&self, ns: &Ns, local: &str) -> bool {
        &self.ns == ns && self.local == local
    }

    /// Absent, `xsi:nil` and empty all mean "no value" (salesforce.md §1.6).
    fn value(&self) -> Option<&str> {
        if self.nil || self.text.is_empty() {
            None
        } else {
            Some(&self.text)
        }
    }
}

/// Parses an outbound message body.
pub fn parse(body: &[u8], field_types: &FieldTypes) -> Result<OutboundMessage, SoapError> {
    let text = std::str::from_utf8(body).map_err(|e| SoapError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let root = read_tree(text)?;
    interpret(root, field_types)
}

fn read_tree(text: &str) -> Result<Element, SoapError> {
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let position = reader.buffer_position();
        let next = reader
            .read_resolved_event()
            .map(|(resolved, event)| (Ns::of(resolved), event));
        let (ns, event) = match next {
            Ok(next) => next,
            // A syntax error at the very end of the input is a body cut short.
            Err(_) if reader.buffer_position() as usize >= text.len() => {
                return Err(SoapError::Truncated {
                    open: stack
                        .last()
                        .map_or_else(|| "root".to_owned(), |e| e.local.clone()),
                });
            }
            Err(e) => return Err(malformed(position, &e)),
        };
        match event {
            Event::DocType(_) => return Err(SoapError::Dtd),
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(SoapError::Malformed {
                    position,
                    reason: "content after the root element".into(),
                });
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SoapError::TooDeep);
                }
                let element = element(&reader, ns, &start, position)?;
                stack.push(element);
            }
            Event::Empty(start) => {
                let element = element(&reader, ns, &start, position)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(SoapError::Malformed {
                        position,
                        reason: "a closing tag without an opening tag".into(),
                    });
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                append_text(&mut stack, &content, position)?;
            }
            Event::CData(c) => {
                let content: &str = c.as_ref();
                append_text(&mut stack, content, position)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match r.xml10_content().as_ref() {
                        "amp" => "&".to_owned(),
                        "lt" => "<".to_owned(),
                        "gt" => ">".to_owned(),
                        "quot" => "\"".to_owned(),
                        "apos" => "'".to_owned(),
                        other => {
                            return Err(SoapError::UnknownEntity {
                                name: other.chars().take(64).collect(),
                            });
                        }
                    },
                    Err(e) => return Err(malformed(position, &e)),
                };
                append_text(&mut stack, &resolved, position)?;
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(SoapError::Truncated {
                        open: open.local.clone(),
                    });
                }
                return root.ok_or(SoapError::Empty);
            }
        }
    }
}

fn malformed(position: u64, err: &dyn std::fmt::Display) -> SoapError {
    SoapError::Malformed {
        position,
        reason: err.to_string(),
    }
}

fn append_text(stack: &mut [Element], text: &str, position: u64) -> Result<(), SoapError> {
    match stack.last_mut() {
        // A session id is a credential: it is not kept, not even in memory past this point.
        Some(current) if current.is(&Ns::Outbound, "SessionId") => {
            if !text.trim().is_empty() {
                current.text = "[present]".into();
            }
            Ok(())
        }
        Some(current) => {
            current.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(SoapError::Malformed {
            position,
            reason: "text outside the root element".into(),
        }),
    }
}

fn element(
    reader: &NsReader<&[u8]>,
    ns: Ns,
    start: &BytesStart<'_>,
    position: u64,
) -> Result<Element, SoapError> {
    let mut nil = false;
    let mut xsi_type = None;
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| malformed(position, &e))?;
        let (attr_ns, local) = reader.resolver().resolve_attribute(attribute.key);
        if Ns::of(attr_ns) != Ns::Other(XSI_NS.to_owned()) {
            continue;
        }
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| malformed(position, &e))?;
        match local.as_ref() {
            "nil" => nil = matches!(value.trim(), "true" | "1"),
            "type" => {
                // A QName such as `sf:Opportunity`; the local part names the sObject type.
                let local = value.rsplit(':').next().unwrap_or_default();
                xsi_type = Some(local.to_owned());
            }
            _ => {}
        }
    }
    Ok(Element {
        ns,
        local: start.local_name().as_ref().to_owned(),
        nil,
        xsi_type,
        text: String::new(),
        children: Vec::new(),
    })
}

fn interpret(root: Element, field_types: &FieldTypes) -> Result<OutboundMessage, SoapError> {
    if !root.is(&Ns::SoapEnv, "Envelope") {
        return Err(SoapError::NotSoapEnvelope {
            found: root.describe(),
        });
    }
    let body = root
        .children
        .into_iter()
        .find(|c| c.is(&Ns::SoapEnv, "Body"))
        .ok_or_else(|| SoapError::NotNotifications {
            found: "no SOAP Body".into(),
        })?;
    let mut payload = body.children.into_iter();
    let notifications = match payload.next() {
        Some(n) if n.is(&Ns::Outbound, "notifications") => n,
        Some(other) => {
            return Err(SoapError::NotNotifications {
                found: other.describe(),
            });
        }
        None => {
            return Err(SoapError::NotNotifications {
                found: "an empty Body".into(),
            });
        }
    };

    let mut organization_id = None;
    let mut action_id = None;
    let mut session_id_sent = None;
    let mut enterprise_url = None;
    let mut partner_url = None;
    let mut items = Vec::new();
    for child in notifications.children {
        if child.ns != Ns::Outbound {
            continue;
        }
        match child.local.as_str() {
            "OrganizationId" => set_once(&mut organization_id, "OrganizationId", child)?,
            "ActionId" => set_once(&mut action_id, "ActionId", child)?,
            "SessionId" => {
                if session_id_sent.is_some() {
                    return Err(SoapError::Repeated {
                        element: "SessionId",
                    });
                }
                session_id_sent = Some(child.value().is_some());
            }
            "EnterpriseUrl" => set_once(&mut enterprise_url, "EnterpriseUrl", child)?,
            "PartnerUrl" => set_once(&mut partner_url, "PartnerUrl", child)?,
            "Notification" => {
                items.push(child);
                if items.len() > MAX_NOTIFICATIONS {
                    return Err(SoapError::TooManyNotifications { count: items.len() });
                }
            }
            // Elements a later WSDL version might add are not ours to refuse.
            _ => {}
        }
    }

    let organization_id = parse_id(organization_id, "OrganizationId", SfOrgId::parse)?;
    let action_id = parse_id(action_id, "ActionId", ActionId::parse)?;
    if items.is_empty() {
        return Err(SoapError::NoNotifications);
    }
    let notifications = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| notification(index + 1, item, field_types))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OutboundMessage {
        organization_id,
        action_id,
        session_id_sent: session_id_sent.unwrap_or(false),
        enterprise_url: enterprise_url.and_then(|e: Element| e.value().map(str::to_owned)),
        partner_url: partner_url.and_then(|e: Element| e.value().map(str::to_owned)),
        notifications,
    })
}

fn set_once(slot: &mut Option<Element>, name: &'static str, e: Element) -> Result<(), SoapError> {
    if slot.is_some() {
        return Err(SoapError::Repeated { element: name });
    }
    *slot = Some(e);
    Ok(())
}

fn parse_id<T>(
    element: Option<Element>,
    name: &'static str,
    parse: impl Fn(&str) -> Result<T, IdError>,
) -> Result<T, SoapError> {
    let element = element.ok_or(SoapError::Missing { element: name })?;
    let raw = element
        .value()
        .ok_or(SoapError::Missing { element: name })?;
    parse(raw).map_err(|source| SoapError::BadId {
        element: name.to_owned(),
        source,
    })
}

fn notification(
    index: usize,
    item: Element,
    field_types: &FieldTypes,
) -> Result<Notification, SoapError> {
    let bad = |problem: String| SoapError::BadNotification { index, problem };
    let mut id = None;
    let mut sobject = None;
    for child in item.children {
        if child.is(&Ns::Outbound, "Id") {
            id = Some(child);
        } else if child.is(&Ns::Outbound, "sObject") {
            if sobject.is_some() {
                return Err(bad("more than one sObject".into()));
            }
            sobject = Some(child);
        }
    }
    let id = id
        .as_ref()
        .and_then(Element::value)
        .ok_or_else(|| bad("no Id".into()))?;
    let id = NotificationId::parse(id).map_err(|e| bad(format!("Id: {e}")))?;
    let sobject = sobject.ok_or_else(|| bad(format!("{id} has no sObject")))?;
    let sobject_type = sobject
        .xsi_type
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad(format!("the sObject of {id} has no xsi:type")))?;

    let mut record_id = None;
    let mut fields = BTreeMap::new();
    for field in sobject.children {
        if field.ns != Ns::SObject {
            continue;
        }
        if !field.children.is_empty() {
            return Err(bad(format!(
                "field {} of {id} has child elements; outbound messages carry plain values",
                field.local
            )));
        }
        if field.local == "Id" {
            let raw = field
                .value()
                .ok_or_else(|| bad(format!("the sObject of {id} has an empty Id")))?;
            record_id = Some(SfRecordId::parse(raw).map_err(|e| bad(format!("sObject Id: {e}")))?);
            continue;
        }
        if field.local == "fieldsToNull" {
            continue;
        }
        if fields.len() >= MAX_FIELDS_PER_RECORD {
            return Err(bad(format!(
                "the sObject of {id} has more than {MAX_FIELDS_PER_RECORD} fields"
            )));
        }
        let Some(raw) = field.value() else {
            continue;
        };
        let kind = field_types.kind_of(&sobject_type, &field.local);
        let value = FieldValue::parse(kind, raw).map_err(|source| SoapError::BadField {
            notification: id.to_string(),
            field: field.local.clone(),
            source,
        })?;
        if fields.insert(field.local.clone(), value).is_some() {
            return Err(bad(format!("field {} of {id} appears twice", field.local)));
        }
    }
    // Salesforce always sends the record id first; a deleted record may carry nothing else
    // (salesforce.md §1.6), which is fine, but without an id there is nothing to sync.
    let record_id = record_id.ok_or_else(|| bad(format!("the sObject of {id} has no Id")))?;
    Ok(Notification {
        id,
        sobject: SObject {
            sobject_type,
            id: record_id,
            fields,
        },
    })
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
mod tests {
    use super::*;
    use crate::domain::sobject::{Decimal, parse_date};

    const SINGLE: &str = include_str!("samples/om_single.xml");
    const MULTI: &str = include_str!("samples/om_multi.xml");

    fn parse_str(body: &str) -> Result<OutboundMessage, SoapError> {
        parse(body.as_bytes(), &FieldTypes::standard())
    }

    fn types() -> FieldTypes {
        let mut types = FieldTypes::standard();
        types.declare(
            "Opportunity",
            "Use_Cases__c",
            crate::domain::sobject::FieldKind::Multipicklist,
        );
        types.declare(
            "Opportunity",
            "ACE_Sync__c",
            crate::domain::sobject::FieldKind::Boolean,
        );
        types
    }

    #[test]
    fn the_single_sample_parses_with_typed_fields() {
        let message = parse(SINGLE.as_bytes(), &types()).unwrap();
        assert_eq!(message.organization_id.as_str(), "00D5g00000ABCdeEAH");
        assert_eq!(message.action_id.as_str(), "04k5g000000XYZaAAO");
        assert!(!message.session_id_sent);
        assert_eq!(
            message.enterprise_url.as_deref(),
            Some("https://acme.my.salesforce.com/services/Soap/c/62.0/00D5g00000ABCde")
        );
        let [n] = message.notifications.as_slice() else {
            panic!("one notification expected")
        };
        assert_eq!(n.id.as_str(), "04l5g00000AbCdEAAV");
        assert_eq!(n.sobject.sobject_type, "Opportunity");
        assert_eq!(n.sobject.id.as_str(), "0065g00000QrStUAAV");
        let f = &n.sobject.fields;
        assert_eq!(
            f["Amount"],
            FieldValue::Number(Decimal::parse("125000").unwrap())
        );
        assert_eq!(
            f["CloseDate"],
            FieldValue::Date(parse_date("2026-09-30").unwrap())
        );
        assert_eq!(f["IsWon"], FieldValue::Bool(false));
        assert_eq!(f["ACE_Sync__c"], FieldValue::Bool(false));
        assert_eq!(
            f["Use_Cases__c"],
            FieldValue::Multi(vec!["Migration".into(), "Analytics".into()])
        );
        // Escapes resolved, the newline kept.
        assert_eq!(
            f["Description"],
            FieldValue::Text("Phase 1 & 2 <pilot>\nsecond line".into())
        );
        assert_eq!(
            f["StageName"],
            FieldValue::Text("Proposal/Price Quote".into())
        );
        assert!(matches!(f["SystemModstamp"], FieldValue::Datetime(_)));
        assert_eq!(f.len(), 17);
    }

    #[test]
    fn the_multi_sample_parses_and_omitted_fields_are_absent() {
        let message = parse_str(MULTI).unwrap();
        assert!(message.session_id_sent);
        assert_eq!(message.notifications.len(), 2);
        let second = &message.notifications[1].sobject;
        assert!(!second.fields.contains_key("Amount"));
        assert_eq!(
            second.fields["StageName"],
            FieldValue::Text("Closed Lost".into())
        );
    }

    #[test]
    fn the_session_id_is_not_kept_anywhere() {
        let message = parse_str(MULTI).unwrap();
        let debug = format!("{message:?}");
        assert!(!debug.contains("REDACTED.EXAMPLE.TOKEN"), "{debug}");
        assert!(!debug.contains("AQ4AQ"), "{debug}");
    }

    #[test]
    fn namespaces_decide_not_prefixes() {
        let renamed = SINGLE
            .replace("soapenv:", "s:")
            .replace("xmlns:soapenv", "xmlns:s")
            .replace("sf:", "o:")
            .replace("xmlns:sf", "xmlns:o");
        let message = parse(renamed.as_bytes(), &types()).unwrap();
        assert_eq!(message.notifications[0].sobject.fields.len(), 17);

        // The right names in the wrong namespace are not an outbound message.
        let wrong = SINGLE.replace(OUTBOUND_NS, "http://example.com/not-salesforce");
        assert!(matches!(
            parse_str(&wrong),
            Err(SoapError::NotNotifications { .. })
        ));
    }

    #[test]
    fn nil_and_empty_fields_are_absent() {
        let body = SINGLE
            .replace(
                "<sf:Amount>125000.0</sf:Amount>",
                "<sf:Amount xsi:nil=\"true\"/>",
            )
            .replace(
                "<sf:LeadSource>Partner Referral</sf:LeadSource>",
                "<sf:LeadSource></sf:LeadSource>",
            );
        let message = parse_str(&body).unwrap();
        let fields = &message.notifications[0].sobject.fields;
        assert!(!fields.contains_key("Amount"));
        assert!(!fields.contains_key("LeadSource"));
    }

    #[test]
    fn hostile_and_broken_bodies_are_refused_precisely() {
        let dtd = SINGLE.replacen(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x \"boom\">]>",
            1,
        );
        assert_eq!(parse_str(&dtd), Err(SoapError::Dtd));
        let entity = SINGLE.replace("Phase 1 &amp; 2", "Phase &x; 2");
        assert_eq!(
            parse_str(&entity),
            Err(SoapError::UnknownEntity { name: "x".into() })
        );
        let truncated = &SINGLE[..SINGLE.len() / 2];
        assert!(
            matches!(parse_str(truncated), Err(SoapError::Truncated { .. })),
            "{:?}",
            parse_str(truncated)
        );
        let mismatched = SINGLE.replace("</sf:Name>", "</sf:Nome>");
        assert!(matches!(
            parse_str(&mismatched),
            Err(SoapError::Malformed { .. })
        ));
        assert_eq!(parse_str(""), Err(SoapError::Empty));
        assert!(matches!(
            parse(&[0x3c, 0xff, 0xfe], &FieldTypes::standard()),
            Err(SoapError::NotUtf8 { offset: 1 })
        ));
        let deep = format!("{}{}", "<a>".repeat(40), "</a>".repeat(40));
        assert_eq!(parse_str(&deep), Err(SoapError::TooDeep));
        let not_soap = "<notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\"/>";
        assert!(matches!(
            parse_str(not_soap),
            Err(SoapError::NotSoapEnvelope { .. })
        ));
    }

    #[test]
    fn structural_rules_are_enforced() {
        let no_org = SINGLE.replace("<OrganizationId>00D5g00000ABCdeEAH</OrganizationId>", "");
        assert_eq!(
            parse_str(&no_org),
            Err(SoapError::Missing {
                element: "OrganizationId"
            })
        );
        let bad_org = SINGLE.replace("00D5g00000ABCdeEAH", "00D5g00000ABCdeXXX");
        assert!(matches!(parse_str(&bad_org), Err(SoapError::BadId { .. })));
        let start = SINGLE.find("<Notification>").unwrap();
        let end = SINGLE.find("</Notification>").unwrap() + "</Notification>".len();
        let none = format!("{}{}", &SINGLE[..start], &SINGLE[end..]);
        assert_eq!(parse_str(&none), Err(SoapError::NoNotifications));
        let one = &SINGLE[start..end];
        let many = format!("{}{}{}", &SINGLE[..start], one.repeat(101), &SINGLE[end..]);
        assert_eq!(
            parse_str(&many),
            Err(SoapError::TooManyNotifications { count: 101 })
        );
        let bad_date = SINGLE.replace("2026-09-30", "30/09/2026");
        let err = parse_str(&bad_date).unwrap_err();
        assert!(err.to_string().contains("field CloseDate"), "{err}");
        let untyped = SINGLE.replace(" xsi:type=\"sf:Opportunity\"", "");
        assert!(matches!(
            parse_str(&untyped),
            Err(SoapError::BadNotification { .. })
        ));
    }

    #[test]
    fn any_sobject_type_is_parsed() {
        let account = SINGLE.replace("sf:Opportunity", "sf:Account");
        let message = parse_str(&account).unwrap();
        assert_eq!(message.notifications[0].sobject.sobject_type, "Account");
        // Account has no typed `Amount`, so it stays text.
        assert_eq!(
            message.notifications[0].sobject.fields["Amount"],
            FieldValue::Text("125000.0".into())
        );
    }

    #[test]
    fn faults_escape_their_reason() {
        let body = fault(FaultCode::Client, "bad <input> & more");
        assert!(body.contains("<faultstring>bad &lt;input&gt; &amp; more</faultstring>"));
        assert!(body.contains("<faultcode>soapenv:Client</faultcode>"));
    }
}
