//! The SOAP message of a batch of notifications, byte-shaped like Salesforce's (salesforce.md
//! §1.2–§1.5), and how an acknowledgement is recognised.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use url::Url;

use super::{OUTBOUND_NS, OutboundConfig};
use crate::salesforce::org::Org;
use ace_sync::domain::ids::{NotificationId, SfRecordId};
use ace_sync::domain::sobject::{Decimal, FieldValue, format_date};

/// Whether `body` is a SOAP answer with `notificationsResponse/Ack = true` in the outbound
/// namespace (an `Ack` elsewhere, e.g. under a `notifications` root, does not count).
pub fn is_ack(body: &str) -> bool {
    let mut reader = quick_xml::NsReader::from_str(body);
    let mut path: Vec<(bool, String)> = Vec::new();
    loop {
        match reader.read_resolved_event() {
            Ok((ns, Event::Start(start))) => {
                let outbound = matches!(ns, ResolveResult::Bound(Namespace(n)) if n == OUTBOUND_NS);
                path.push((outbound, start.local_name().as_ref().to_owned()));
            }
            Ok((_, Event::End(_))) => {
                path.pop();
            }
            Ok((_, Event::Text(text))) => {
                let in_ack = matches!(
                    path.as_slice(),
                    [.., (true, parent), (true, ack)]
                        if parent == "notificationsResponse" && ack == "Ack"
                );
                if in_ack {
                    return text.xml10_content().trim() == "true";
                }
            }
            Ok((_, Event::Eof)) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `Decimal` as Java's `Double.toString` prints it: `125000.0`, `48000.5`, `1.2E7`, `1.0E-4`.
pub fn java_double(value: &Decimal) -> String {
    let text = value.as_str();
    let (sign, body) = match text.strip_prefix('-') {
        Some(body) => ("-", body),
        None => ("", text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if value.is_zero() {
        return "0.0".to_owned();
    }
    let exponent: i64 = if int != "0" {
        int.len() as i64 - 1
    } else {
        -(frac.bytes().take_while(|b| *b == b'0').count() as i64 + 1)
    };
    if (-3..7).contains(&exponent) {
        let frac = if frac.is_empty() { "0" } else { frac };
        return format!("{sign}{int}.{frac}");
    }
    let digits: String = format!("{int}{frac}").trim_start_matches('0').to_owned();
    let digits = digits.trim_end_matches('0');
    let (first, rest) = digits.split_at(1.min(digits.len()));
    let rest = if rest.is_empty() { "0" } else { rest };
    format!("{sign}{first}.{rest}E{exponent}")
}

fn om_value(value: &FieldValue) -> String {
    match value {
        FieldValue::Text(s) => escape(s),
        FieldValue::Bool(b) => b.to_string(),
        FieldValue::Number(d) => java_double(d),
        FieldValue::Integer(i) => i.to_string(),
        FieldValue::Date(d) => format_date(*d),
        FieldValue::Datetime(at) => {
            let format = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            );
            at.to_offset(time::UtcOffset::UTC)
                .format(&format)
                .unwrap_or_default()
        }
        FieldValue::Multi(values) => escape(&values.join(";")),
    }
}

/// The SOAP message for `due`, with each record's current data.
pub(super) fn envelope(
    org: &mut Org,
    config: &OutboundConfig,
    base_url: &Url,
    due: &[(NotificationId, SfRecordId)],
) -> String {
    let instance = config
        .instance_url
        .as_ref()
        .unwrap_or(base_url)
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let session = if config.include_session_id {
        let user = org.integration_user.clone();
        format!("<SessionId>{}</SessionId>", escape(&org.open_session(user)))
    } else {
        "<SessionId xsi:nil=\"true\"/>".to_owned()
    };
    let org15 = org.org_id.key15().to_owned();
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n");
    out.push_str(" <soapenv:Body>\n");
    out.push_str(&format!("  <notifications xmlns=\"{OUTBOUND_NS}\">\n"));
    out.push_str(&format!(
        "   <OrganizationId>{}</OrganizationId>\n",
        org.org_id
    ));
    out.push_str(&format!("   <ActionId>{}</ActionId>\n", config.action_id));
    out.push_str(&format!("   {session}\n"));
    for (kind, tag) in [("c", "EnterpriseUrl"), ("u", "PartnerUrl")] {
        out.push_str(&format!(
            "   <{tag}>{instance}/services/Soap/{kind}/{}/{org15}</{tag}>\n",
            config.api_version
        ));
    }
    for (notification, record_id) in due {
        out.push_str("   <Notification>\n");
        out.push_str(&format!("    <Id>{notification}</Id>\n"));
        out.push_str(&format!(
            "    <sObject xsi:type=\"sf:{}\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">\n",
            config.object
        ));
        out.push_str(&format!("     <sf:Id>{record_id}</sf:Id>\n"));
        // A record deleted before delivery is sent without data (salesforce.md §1.6).
        if let Some(record) = org.record(record_id).filter(|r| !r.deleted) {
            let names: Vec<String> = if config.fields.is_empty() {
                record.fields.keys().cloned().collect()
            } else {
                config.fields.clone()
            };
            let mut sorted: BTreeMap<&str, Option<&FieldValue>> = BTreeMap::new();
            for name in &names {
                if name != "Id" {
                    sorted.insert(name, record.fields.get(name));
                }
            }
            // BTreeMap<&str> orders by bytes: the case-sensitive ASCII order of the captures.
            for (name, value) in sorted {
                match value {
                    Some(value) => out.push_str(&format!(
                        "     <sf:{name}>{}</sf:{name}>\n",
                        om_value(value)
                    )),
                    None if config.nil_for_nulls => {
                        out.push_str(&format!("     <sf:{name} xsi:nil=\"true\"/>\n"))
                    }
                    None => {}
                }
            }
        }
        out.push_str("    </sObject>\n");
        out.push_str("   </Notification>\n");
    }
    out.push_str("  </notifications>\n");
    out.push_str(" </soapenv:Body>\n");
    out.push_str("</soapenv:Envelope>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::org::SimUser;
    use ace_sync::domain::ids::{SfOrgId, SfUserId};
    use ace_sync::domain::sobject::{parse_date, parse_datetime};

    #[test]
    fn doubles_print_the_java_way() {
        for (raw, java) in [
            ("125000", "125000.0"),
            ("48000.5", "48000.5"),
            ("0", "0.0"),
            ("75", "75.0"),
            ("12000000", "1.2E7"),
            ("0.0001", "1.0E-4"),
            ("0.001", "0.001"),
            ("-3.25", "-3.25"),
        ] {
            assert_eq!(java_double(&Decimal::parse(raw).unwrap()), java, "{raw}");
        }
    }

    #[test]
    fn acks_must_be_in_the_outbound_namespace() {
        let ack = include_str!("../testdata/ack.xml");
        assert!(is_ack(ack));
        assert!(!is_ack(&ack.replace("<Ack>true", "<Ack>false")));
        assert!(!is_ack(
            &ack.replace("notificationsResponse", "notifications")
        ));
        assert!(!is_ack(
            &ack.replace(OUTBOUND_NS, "http://example.com/other")
        ));
        assert!(!is_ack("<html>ok</html>"));
        assert!(!is_ack(""));
    }

    /// The envelope of the captured single-notification sample, byte for byte.
    #[test]
    fn the_envelope_matches_the_captured_shape() {
        let integration = SimUser {
            id: SfUserId::parse("0055g00000IntUs").unwrap(),
            username: "ace-sync@acme.example".into(),
        };
        let rep = SfUserId::parse("0055g00000UsrAbAAJ").unwrap();
        let mut org = Org::new(
            SfOrgId::parse("00D5g00000ABCdeEAH").unwrap(),
            "ck".into(),
            integration,
            vec![],
            None,
        );
        let id = SfRecordId::parse("0065g00000QrStUAAV").unwrap();
        let text = |s: &str| FieldValue::Text(s.to_owned());
        let mut fields = BTreeMap::new();
        fields.insert("ACE_Sync__c".to_owned(), FieldValue::Bool(false));
        fields.insert("AccountId".to_owned(), text("0015g00000LmNoPAAV"));
        fields.insert(
            "Amount".to_owned(),
            FieldValue::Number(Decimal::parse("125000").unwrap()),
        );
        fields.insert(
            "CloseDate".to_owned(),
            FieldValue::Date(parse_date("2026-09-30").unwrap()),
        );
        fields.insert(
            "Description".to_owned(),
            text("Phase 1 & 2 <pilot>\nsecond line"),
        );
        fields.insert("IsClosed".to_owned(), FieldValue::Bool(false));
        fields.insert("IsWon".to_owned(), FieldValue::Bool(false));
        fields.insert("LeadSource".to_owned(), text("Partner Referral"));
        fields.insert("Name".to_owned(), text("Acme - Data Platform Migration"));
        fields.insert("OwnerId".to_owned(), text(rep.as_str()));
        fields.insert(
            "Probability".to_owned(),
            FieldValue::Number(Decimal::parse("75").unwrap()),
        );
        fields.insert("StageName".to_owned(), text("Proposal/Price Quote"));
        fields.insert("Type".to_owned(), text("New Customer"));
        fields.insert(
            "Use_Cases__c".to_owned(),
            FieldValue::Multi(vec!["Migration".into(), "Analytics".into()]),
        );
        org.insert("Opportunity", id.clone(), fields, &rep);
        let at = parse_datetime("2026-08-14T18:27:02.000Z").unwrap();
        if let Some(record) = org.records.get_mut(&id) {
            record
                .fields
                .insert("LastModifiedDate".into(), FieldValue::Datetime(at));
            record
                .fields
                .insert("SystemModstamp".into(), FieldValue::Datetime(at));
        }
        let mut config = OutboundConfig::new(Url::parse("http://127.0.0.1:1/om").unwrap());
        config.instance_url = Some(Url::parse("https://acme.my.salesforce.com").unwrap());
        let due = vec![(NotificationId::parse("04l5g00000AbCdEAAV").unwrap(), id)];
        let body = envelope(
            &mut org,
            &config,
            &Url::parse("http://127.0.0.1:1").unwrap(),
            &due,
        );
        assert_eq!(body, include_str!("../testdata/om_single.xml"));
    }
}
