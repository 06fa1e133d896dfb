//! The outbound message reader's tests: what it keeps, what it skips, and what it refuses.

use super::*;
use crate::domain::sobject::parse_datetime;

use crate::ingress::samples::{MULTI, SINGLE};

fn parse_str(body: &str) -> Result<OutboundMessage, SoapError> {
    parse(body.as_bytes())
}

#[test]
fn the_single_sample_yields_what_a_job_needs() {
    let message = parse_str(SINGLE).unwrap();
    assert_eq!(message.organization_id.as_str(), "00D5g00000ABCdeEAH");
    assert_eq!(message.action_id.as_str(), "04k5g000000XYZaAAO");
    assert!(!message.session_id_sent);
    assert_eq!(
        message.enterprise_url.as_deref(),
        Some("https://acme.my.salesforce.com/services/Soap/c/62.0/00D5g00000ABCde")
    );
    assert_eq!(
        message.partner_url.as_deref(),
        Some("https://acme.my.salesforce.com/services/Soap/u/62.0/00D5g00000ABCde")
    );
    let [n] = message.notifications.as_slice() else {
        panic!("one notification expected")
    };
    assert_eq!(n.id.as_str(), "04l5g00000AbCdEAAV");
    assert_eq!(n.sobject_type, "Opportunity");
    assert_eq!(n.record_id.as_str(), "0065g00000QrStUAAV");
    assert_eq!(
        n.system_modstamp,
        Some(parse_datetime("2026-08-14T18:27:02.000Z").unwrap())
    );
}

#[test]
fn the_multi_sample_parses_and_its_session_id_is_only_noted() {
    let message = parse_str(MULTI).unwrap();
    assert!(message.session_id_sent);
    assert_eq!(message.notifications.len(), 2);
    assert_eq!(
        message.notifications[1].record_id.as_str(),
        "0065g00000QrStWAAV"
    );
    let debug = format!("{message:?}");
    assert!(!debug.contains("REDACTED.EXAMPLE.TOKEN"), "{debug}");
    assert!(!debug.contains("AQ4AQ"), "{debug}");
}

#[test]
fn fields_the_job_does_not_need_cannot_refuse_a_message() {
    let body = SINGLE
        .replace("2026-09-30", "30/09/2026")
        .replace(
            "<sf:Amount>125000.0</sf:Amount>",
            "<sf:Amount>lots</sf:Amount>",
        )
        .replace(
            "<sf:IsWon>false</sf:IsWon>",
            "<sf:IsWon><nested>maybe</nested></sf:IsWon>",
        )
        .replace(
            "<sf:Probability>75.0</sf:Probability>",
            "<sf:Probability>75.0</sf:Probability><sf:Probability>80</sf:Probability>",
        );
    let message = parse_str(&body).unwrap();
    assert_eq!(
        message.notifications[0].record_id.as_str(),
        "0065g00000QrStUAAV"
    );
}

#[test]
fn a_malformed_system_modstamp_is_refused_by_name() {
    let body = SINGLE.replace(
        "<sf:SystemModstamp>2026-08-14T18:27:02.000Z</sf:SystemModstamp>",
        "<sf:SystemModstamp>yesterday</sf:SystemModstamp>",
    );
    let err = parse_str(&body).unwrap_err();
    assert_eq!(err.reason(), "invalid_field");
    assert!(err.to_string().contains("field SystemModstamp"), "{err}");
}

#[test]
fn an_absent_nil_or_empty_system_modstamp_is_no_value() {
    let stamp = "<sf:SystemModstamp>2026-08-14T18:27:02.000Z</sf:SystemModstamp>";
    for replacement in [
        "",
        "<sf:SystemModstamp xsi:nil=\"true\"/>",
        "<sf:SystemModstamp></sf:SystemModstamp>",
    ] {
        let message = parse_str(&SINGLE.replace(stamp, replacement)).unwrap();
        assert_eq!(
            message.notifications[0].system_modstamp, None,
            "{replacement}"
        );
    }
}

#[test]
fn namespaces_decide_not_prefixes() {
    let renamed = SINGLE
        .replace("soapenv:", "s:")
        .replace("xmlns:soapenv", "xmlns:s")
        .replace("sf:", "o:")
        .replace("xmlns:sf", "xmlns:o");
    let message = parse_str(&renamed).unwrap();
    assert_eq!(message.notifications[0].sobject_type, "Opportunity");
    assert!(message.notifications[0].system_modstamp.is_some());

    // The right names in the wrong namespace are not an outbound message.
    let wrong = SINGLE.replace(OUTBOUND_NS, "http://example.com/not-salesforce");
    assert!(matches!(
        parse_str(&wrong),
        Err(SoapError::NotNotifications { .. })
    ));
    // A record id in another namespace is not the record id.
    let foreign_id = SINGLE.replace(
        "<sf:Id>0065g00000QrStUAAV</sf:Id>",
        "<x:Id xmlns:x=\"urn:elsewhere\">0065g00000QrStUAAV</x:Id>",
    );
    assert!(matches!(
        parse_str(&foreign_id),
        Err(SoapError::BadNotification { .. })
    ));
}

#[test]
fn hostile_and_broken_bodies_are_refused_precisely() {
    let dtd = SINGLE.replacen(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x \"boom\">]>",
        1,
    );
    assert_eq!(parse_str(&dtd), Err(SoapError::Dtd));
    // An undefined entity is refused in a field that is not kept, and in an attribute.
    let entity = SINGLE.replace("Phase 1 &amp; 2", "Phase &x; 2");
    assert_eq!(
        parse_str(&entity),
        Err(SoapError::UnknownEntity { name: "x".into() })
    );
    let in_attribute = SINGLE.replace("<sf:Name>", "<sf:Name title=\"&y;\">");
    assert_eq!(
        parse_str(&in_attribute),
        Err(SoapError::UnknownEntity { name: "y".into() })
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
    let bad_attribute = SINGLE.replace("<sf:Name>", "<sf:Name a=\"1\" a=\"2\">");
    assert!(matches!(
        parse_str(&bad_attribute),
        Err(SoapError::Malformed { .. })
    ));
    let trailing = format!("{SINGLE}<more/>");
    assert!(matches!(
        parse_str(&trailing),
        Err(SoapError::Malformed { .. })
    ));
    assert_eq!(parse_str(""), Err(SoapError::Empty));
    assert!(matches!(
        parse(&[0x3c, 0xff, 0xfe]),
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
fn a_syntax_error_wins_over_a_structural_problem() {
    let body = SINGLE
        .replace(OUTBOUND_NS, "http://example.com/not-salesforce")
        .replace("</sf:Name>", "</sf:Nome>");
    assert!(matches!(parse_str(&body), Err(SoapError::Malformed { .. })));
}

#[test]
fn a_truncated_body_names_the_element_left_open() {
    let cut = SINGLE.find("<sf:Name>").unwrap() + "<sf:Name>Acme".len();
    assert_eq!(
        parse_str(&SINGLE[..cut]),
        Err(SoapError::Truncated {
            open: "Name".into()
        })
    );
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
    let two_actions = SINGLE.replace(
        "<ActionId>04k5g000000XYZaAAO</ActionId>",
        "<ActionId>04k5g000000XYZaAAO</ActionId><ActionId>04k5g000000XYZaAAO</ActionId>",
    );
    assert_eq!(
        parse_str(&two_actions),
        Err(SoapError::Repeated {
            element: "ActionId"
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
    let hundred = format!("{}{}{}", &SINGLE[..start], one.repeat(100), &SINGLE[end..]);
    assert_eq!(parse_str(&hundred).unwrap().notifications.len(), 100);
    let untyped = SINGLE.replace(" xsi:type=\"sf:Opportunity\"", "");
    assert!(matches!(
        parse_str(&untyped),
        Err(SoapError::BadNotification { .. })
    ));
    let no_record = SINGLE.replace("<sf:Id>0065g00000QrStUAAV</sf:Id>", "");
    let err = parse_str(&no_record).unwrap_err();
    assert!(err.to_string().contains("has no Id"), "{err}");
    let two_sobjects = SINGLE.replace(
        "</sObject>",
        "</sObject><sObject xsi:type=\"sf:Opportunity\"/>",
    );
    let err = parse_str(&two_sobjects).unwrap_err();
    assert!(err.to_string().contains("more than one sObject"), "{err}");
}

#[test]
fn any_sobject_type_is_read() {
    let account = SINGLE.replace("sf:Opportunity", "sf:Account");
    let message = parse_str(&account).unwrap();
    assert_eq!(message.notifications[0].sobject_type, "Account");
}

#[test]
fn faults_escape_their_reason() {
    let body = fault(FaultCode::Client, "bad <input> & more");
    assert!(body.contains("<faultstring>bad &lt;input&gt; &amp; more</faultstring>"));
    assert!(body.contains("<faultcode>soapenv:Client</faultcode>"));
}
