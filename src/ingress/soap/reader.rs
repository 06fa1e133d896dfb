//! The outbound message reader: one pass over the XML events that keeps what a reconcile job
//! needs and checks everything else for well-formedness only (see [`super`] for the rules).

use quick_xml::NsReader;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use super::{
    MAX_DEPTH, MAX_NOTIFICATIONS, Notification, OUTBOUND_NS, OutboundMessage, SOAP_ENV_NS,
    SOBJECT_NS, SoapError, XSI_NS,
};
use crate::domain::ids::{ActionId, IdError, NotificationId, SfOrgId, SfRecordId};
use crate::domain::sobject::{FieldKind, FieldValue};

/// The namespaces we care about, and everything else (named only for a fault's text, so
/// only an element in a namespace of no interest costs an allocation).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ns {
    SoapEnv,
    Outbound,
    SObject,
    Other(String),
    Unbound,
    Undeclared(String),
}

impl Ns {
    fn of(resolved: ResolveResult<'_>) -> Ns {
        match resolved {
            ResolveResult::Bound(ns) => match ns.as_ref() {
                SOAP_ENV_NS => Ns::SoapEnv,
                OUTBOUND_NS => Ns::Outbound,
                SOBJECT_NS => Ns::SObject,
                other => Ns::Other(other.chars().take(100).collect()),
            },
            ResolveResult::Unbound => Ns::Unbound,
            ResolveResult::Unknown(prefix) => Ns::Undeclared(prefix.chars().take(40).collect()),
        }
    }

    /// How an element in this namespace is described in a fault.
    fn describe(&self, local: &str) -> String {
        match self {
            Ns::SoapEnv => format!("<{local}> in the SOAP envelope namespace"),
            Ns::Outbound => format!("<{local}> in the outbound message namespace"),
            Ns::SObject => format!("<{local}> in the sObject namespace"),
            Ns::Other(ns) => format!("<{local}> in namespace {ns}"),
            Ns::Unbound => format!("<{local}> in no namespace"),
            Ns::Undeclared(prefix) => {
                format!("<{local}> in namespace undeclared prefix {prefix}")
            }
        }
    }
}

/// The header elements of `notifications` whose text is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    OrganizationId,
    ActionId,
    EnterpriseUrl,
    PartnerUrl,
}

impl Header {
    fn name(self) -> &'static str {
        match self {
            Header::OrganizationId => "OrganizationId",
            Header::ActionId => "ActionId",
            Header::EnterpriseUrl => "EnterpriseUrl",
            Header::PartnerUrl => "PartnerUrl",
        }
    }
}

/// What an open element is to the reader. Only the `captures` kinds collect their text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Envelope,
    Body,
    Notifications,
    Header(Header),
    SessionId,
    Notification,
    NotificationId,
    SObject,
    RecordId,
    SystemModstamp,
    /// Anything else: checked for well-formedness, not kept.
    Skipped,
}

impl Frame {
    fn captures(self) -> bool {
        matches!(
            self,
            Frame::Header(_) | Frame::NotificationId | Frame::RecordId | Frame::SystemModstamp
        )
    }
}

/// The notification being read.
#[derive(Debug, Default)]
struct Pending {
    id: Option<Option<String>>,
    sobject_type: Option<String>,
    sobject: bool,
    record_id: Option<Option<String>>,
    modstamp: Option<Option<String>>,
    repeated: Option<&'static str>,
}

/// What has been read so far. The first structural problem is kept and reported once the
/// whole body has been found well-formed, so a syntax error always wins.
#[derive(Debug, Default)]
struct Collected {
    headers: [Option<Option<String>>; 4],
    session_id: Option<bool>,
    body_seen: bool,
    body_child_seen: bool,
    notification_count: usize,
    notifications: Vec<Notification>,
    pending: Option<Pending>,
    /// The text of the capturing element that is open, and whether it is `xsi:nil`.
    text: String,
    nil: bool,
    problem: Option<SoapError>,
}

impl Collected {
    fn problem(&mut self, problem: SoapError) {
        self.problem.get_or_insert(problem);
    }

    fn header(&mut self, header: Header) -> &mut Option<Option<String>> {
        &mut self.headers[header as usize]
    }

    /// The captured text as a value: `xsi:nil` and empty both mean "no value" (salesforce.md §1.6).
    fn take_value(&mut self) -> Option<String> {
        let text = std::mem::take(&mut self.text);
        if self.nil || text.is_empty() {
            None
        } else {
            Some(text)
        }
    }
}

/// Reads an outbound message body.
pub(super) fn read(body: &[u8]) -> Result<OutboundMessage, SoapError> {
    let text = std::str::from_utf8(body).map_err(|e| SoapError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    // Each open element and the byte where it starts (its name is read back from there when
    // the body turns out to be truncated).
    let mut stack: Vec<(Frame, usize)> = Vec::with_capacity(MAX_DEPTH);
    let mut root_seen = false;
    let mut collected = Collected::default();
    loop {
        let position = reader.buffer_position();
        let next = reader
            .read_resolved_event()
            .map(|(resolved, event)| (Ns::of(resolved), event));
        let (ns, event) = match next {
            Ok(next) => next,
            // A syntax error at the very end of the input is a body cut short.
            Err(_) if reader.buffer_position() as usize >= text.len() => {
                return Err(truncated(text, &stack));
            }
            Err(e) => return Err(malformed(position, &e)),
        };
        match event {
            Event::DocType(_) => return Err(SoapError::Dtd),
            Event::Start(_) | Event::Empty(_) if root_seen && stack.is_empty() => {
                return Err(SoapError::Malformed {
                    position,
                    reason: "content after the root element".into(),
                });
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SoapError::TooDeep);
                }
                root_seen = true;
                let frame = open(&reader, &ns, &start, position, &stack, &mut collected)?;
                stack.push((frame, position as usize));
            }
            Event::Empty(start) => {
                root_seen = true;
                let frame = open(&reader, &ns, &start, position, &stack, &mut collected)?;
                close(frame, &mut collected);
            }
            Event::End(_) => {
                let Some((frame, _)) = stack.pop() else {
                    return Err(SoapError::Malformed {
                        position,
                        reason: "a closing tag without an opening tag".into(),
                    });
                };
                close(frame, &mut collected);
            }
            Event::Text(t) => match stack.last() {
                Some((frame, _)) if frame.captures() => {
                    collected.text.push_str(&t.xml10_content());
                }
                Some((Frame::SessionId, _)) => {
                    // A session id is a credential: only its presence is noted, nothing copied.
                    if !t.trim().is_empty() {
                        collected.session_id = Some(true);
                    }
                }
                Some(_) => {}
                None if t.trim().is_empty() => {}
                None => return Err(outside_root(position)),
            },
            Event::CData(c) => match stack.last() {
                Some((frame, _)) if frame.captures() => {
                    let content: &str = c.as_ref();
                    collected.text.push_str(content);
                }
                Some((Frame::SessionId, _)) => {
                    if !c.trim().is_empty() {
                        collected.session_id = Some(true);
                    }
                }
                Some(_) => {}
                None => return Err(outside_root(position)),
            },
            Event::GeneralRef(r) => {
                // Resolved wherever it is, so an undefined entity is refused even in a field
                // that is not kept.
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Resolved::Char(c),
                    Ok(None) => match predefined(r.xml10_content().as_ref()) {
                        Some(s) => Resolved::Str(s),
                        None => {
                            return Err(SoapError::UnknownEntity {
                                name: r.xml10_content().chars().take(64).collect(),
                            });
                        }
                    },
                    Err(e) => return Err(malformed(position, &e)),
                };
                match stack.last() {
                    Some((frame, _)) if frame.captures() => match resolved {
                        Resolved::Char(c) => collected.text.push(c),
                        Resolved::Str(s) => collected.text.push_str(s),
                    },
                    Some((Frame::SessionId, _)) => collected.session_id = Some(true),
                    Some(_) => {}
                    None => return Err(outside_root(position)),
                }
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(truncated(text, &stack));
                }
                if !root_seen {
                    return Err(SoapError::Empty);
                }
                return finish(collected);
            }
        }
    }
}

enum Resolved {
    Char(char),
    Str(&'static str),
}

fn predefined(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => return None,
    })
}

fn malformed(position: u64, err: &dyn std::fmt::Display) -> SoapError {
    SoapError::Malformed {
        position,
        reason: err.to_string(),
    }
}

fn outside_root(position: u64) -> SoapError {
    SoapError::Malformed {
        position,
        reason: "text outside the root element".into(),
    }
}

/// The body ends inside an element: name the innermost one.
fn truncated(text: &str, stack: &[(Frame, usize)]) -> SoapError {
    let open = match stack.last() {
        Some(&(_, at)) => {
            let tag = text.get(at + 1..).unwrap_or_default();
            let name: String = tag
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, '>' | '/'))
                .take(64)
                .collect();
            // The local part, as elsewhere.
            name.rsplit(':').next().unwrap_or_default().to_owned()
        }
        None => "root".to_owned(),
    };
    SoapError::Truncated { open }
}

/// Opens an element: checks its attributes (every element's, so a malformed or hostile one
/// is refused wherever it is), decides what it is to the reader, and notes what it starts.
fn open(
    reader: &NsReader<&[u8]>,
    ns: &Ns,
    start: &BytesStart<'_>,
    position: u64,
    stack: &[(Frame, usize)],
    collected: &mut Collected,
) -> Result<Frame, SoapError> {
    let mut nil = false;
    let mut xsi_type = None;
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| malformed(position, &e))?;
        check_attribute_value(&attribute, position)?;
        let (attr_ns, local) = reader.resolver().resolve_attribute(attribute.key);
        if !matches!(attr_ns, ResolveResult::Bound(ns) if ns.as_ref() == XSI_NS) {
            continue;
        }
        match local.as_ref() {
            "nil" => nil = matches!(attribute.value.trim(), "true" | "1"),
            "type" => xsi_type = Some(attribute),
            _ => {}
        }
    }
    let local = start.local_name();
    let local = local.as_ref();
    let parent = stack.last().map(|(frame, _)| *frame);
    if collected.problem.is_some() {
        // The message is refused already; the rest is only checked for well-formedness.
        return Ok(Frame::Skipped);
    }
    let frame = match (parent, ns, local) {
        (None, Ns::SoapEnv, "Envelope") => Frame::Envelope,
        (None, ..) => {
            collected.problem(SoapError::NotSoapEnvelope {
                found: ns.describe(local),
            });
            Frame::Skipped
        }
        (Some(Frame::Envelope), Ns::SoapEnv, "Body") if !collected.body_seen => {
            collected.body_seen = true;
            Frame::Body
        }
        (Some(Frame::Body), ..) if collected.body_child_seen => Frame::Skipped,
        (Some(Frame::Body), Ns::Outbound, "notifications") => {
            collected.body_child_seen = true;
            Frame::Notifications
        }
        (Some(Frame::Body), ..) => {
            collected.body_child_seen = true;
            collected.problem(SoapError::NotNotifications {
                found: ns.describe(local),
            });
            Frame::Skipped
        }
        (Some(Frame::Notifications), Ns::Outbound, name) => match name {
            "OrganizationId" => header(collected, Header::OrganizationId),
            "ActionId" => header(collected, Header::ActionId),
            "EnterpriseUrl" => header(collected, Header::EnterpriseUrl),
            "PartnerUrl" => header(collected, Header::PartnerUrl),
            "SessionId" => {
                if collected.session_id.is_some() {
                    collected.problem(SoapError::Repeated {
                        element: "SessionId",
                    });
                }
                collected.session_id = Some(false);
                Frame::SessionId
            }
            "Notification" => {
                collected.notification_count += 1;
                if collected.notification_count > MAX_NOTIFICATIONS {
                    collected.problem(SoapError::TooManyNotifications {
                        count: collected.notification_count,
                    });
                }
                collected.pending = Some(Pending::default());
                Frame::Notification
            }
            // Elements a later WSDL version might add are not ours to refuse.
            _ => Frame::Skipped,
        },
        (Some(Frame::Notification), Ns::Outbound, "Id") => Frame::NotificationId,
        (Some(Frame::Notification), Ns::Outbound, "sObject") => {
            let pending = collected.pending.get_or_insert_with(Pending::default);
            if pending.sobject {
                pending.repeated.get_or_insert("sObject");
            }
            pending.sobject = true;
            // A QName such as `sf:Opportunity`; the local part names the sObject type.
            pending.sobject_type = xsi_type
                .as_ref()
                .map(|a| a.value.rsplit(':').next().unwrap_or_default().to_owned());
            Frame::SObject
        }
        (Some(Frame::SObject), Ns::SObject, "Id") => Frame::RecordId,
        (Some(Frame::SObject), Ns::SObject, "SystemModstamp") => Frame::SystemModstamp,
        _ => Frame::Skipped,
    };
    if frame.captures() {
        collected.text.clear();
        collected.nil = nil;
    } else if frame == Frame::SessionId && nil {
        collected.session_id = Some(false);
    }
    Ok(frame)
}

fn header(collected: &mut Collected, header: Header) -> Frame {
    if collected.header(header).is_some() {
        collected.problem(SoapError::Repeated {
            element: header.name(),
        });
    }
    Frame::Header(header)
}

/// Refuses an attribute value that names an entity other than the predefined ones.
fn check_attribute_value(attribute: &Attribute<'_>, position: u64) -> Result<(), SoapError> {
    if !attribute.value.contains('&') {
        return Ok(());
    }
    match quick_xml::escape::unescape(&attribute.value) {
        Ok(_) => Ok(()),
        Err(quick_xml::escape::EscapeError::UnrecognizedEntity(_, name)) => {
            Err(SoapError::UnknownEntity {
                name: name.chars().take(64).collect(),
            })
        }
        Err(e) => Err(malformed(position, &e)),
    }
}

/// Closes an element: keeps its text where it belongs, and checks a finished notification.
fn close(frame: Frame, collected: &mut Collected) {
    match frame {
        Frame::Header(header) => {
            let value = collected.take_value();
            *collected.header(header) = Some(value);
        }
        Frame::NotificationId | Frame::RecordId | Frame::SystemModstamp => {
            let value = collected.take_value();
            let pending = collected.pending.get_or_insert_with(Pending::default);
            let (slot, name) = match frame {
                Frame::NotificationId => (&mut pending.id, "Id"),
                Frame::RecordId => (&mut pending.record_id, "sObject Id"),
                _ => (&mut pending.modstamp, "SystemModstamp"),
            };
            if slot.is_some() {
                pending.repeated.get_or_insert(name);
            }
            *slot = Some(value);
        }
        Frame::Notification => {
            let pending = collected.pending.take().unwrap_or_default();
            let index = collected.notification_count;
            match notification(index, pending) {
                Ok(n) if collected.problem.is_none() => collected.notifications.push(n),
                Ok(_) => {}
                Err(problem) => collected.problem(problem),
            }
        }
        Frame::Body if !collected.body_child_seen => {
            collected.problem(SoapError::NotNotifications {
                found: "an empty Body".into(),
            });
        }
        Frame::Envelope if !collected.body_seen => {
            collected.problem(SoapError::NotNotifications {
                found: "no SOAP Body".into(),
            });
        }
        _ => {}
    }
}

fn notification(index: usize, pending: Pending) -> Result<Notification, SoapError> {
    let bad = |problem: String| SoapError::BadNotification { index, problem };
    if let Some(repeated) = pending.repeated {
        return Err(bad(format!("more than one {repeated}")));
    }
    let id = pending.id.flatten().ok_or_else(|| bad("no Id".into()))?;
    let id = NotificationId::parse(&id).map_err(|e| bad(format!("Id: {e}")))?;
    if !pending.sobject {
        return Err(bad(format!("{id} has no sObject")));
    }
    let sobject_type = pending
        .sobject_type
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad(format!("the sObject of {id} has no xsi:type")))?;
    // Salesforce always sends the record id first; a deleted record may carry nothing else
    // (salesforce.md §1.6), which is fine, but without an id there is nothing to sync.
    let record_id = match pending.record_id {
        None => return Err(bad(format!("the sObject of {id} has no Id"))),
        Some(None) => return Err(bad(format!("the sObject of {id} has an empty Id"))),
        Some(Some(raw)) => SfRecordId::parse(&raw).map_err(|e| bad(format!("sObject Id: {e}")))?,
    };
    // The one field read beyond the id: the deduplication id and the lag figures use it.
    let system_modstamp = match pending.modstamp.flatten() {
        None => None,
        Some(raw) => match FieldValue::parse(FieldKind::Datetime, &raw) {
            Ok(value) => value.as_datetime(),
            Err(source) => {
                return Err(SoapError::BadField {
                    notification: id.to_string(),
                    field: "SystemModstamp".into(),
                    source,
                });
            }
        },
    };
    Ok(Notification {
        id,
        sobject_type,
        record_id,
        system_modstamp,
    })
}

fn finish(mut collected: Collected) -> Result<OutboundMessage, SoapError> {
    if let Some(problem) = collected.problem.take() {
        return Err(problem);
    }
    let [organization_id, action_id, enterprise_url, partner_url] =
        std::mem::take(&mut collected.headers);
    let organization_id = parse_id(organization_id, "OrganizationId", SfOrgId::parse)?;
    let action_id = parse_id(action_id, "ActionId", ActionId::parse)?;
    if collected.notifications.is_empty() {
        return Err(SoapError::NoNotifications);
    }
    Ok(OutboundMessage {
        organization_id,
        action_id,
        session_id_sent: collected.session_id.unwrap_or(false),
        enterprise_url: enterprise_url.flatten(),
        partner_url: partner_url.flatten(),
        notifications: collected.notifications,
    })
}

fn parse_id<T>(
    value: Option<Option<String>>,
    name: &'static str,
    parse: impl Fn(&str) -> Result<T, IdError>,
) -> Result<T, SoapError> {
    let raw = value
        .flatten()
        .ok_or(SoapError::Missing { element: name })?;
    parse(&raw).map_err(|source| SoapError::BadId {
        element: name.to_owned(),
        source,
    })
}
