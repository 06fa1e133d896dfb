//! Outbound messages shaped exactly like Salesforce's, for the demo, the OpenAPI examples,
//! tests and benchmarks (the files are in `samples/`).

use crate::domain::ids::SfRecordId;

/// One notification: a stage change to Proposal/Price Quote, no session id.
pub const SINGLE: &str = include_str!("samples/om_single.xml");
/// Two notifications (Closed Won, Closed Lost) with a session id that must never be kept.
pub const MULTI: &str = include_str!("samples/om_multi.xml");
/// The acknowledgement.
pub const ACK: &str = include_str!("samples/ack.xml");

/// A message with `count` notifications for distinct opportunities, built from [`SINGLE`]
/// with fresh, checksummed ids.
pub fn message_with(count: usize) -> String {
    let start = SINGLE.find("<Notification>").unwrap_or(0);
    let end = SINGLE
        .find("</Notification>")
        .map_or(SINGLE.len(), |at| at + "</Notification>".len());
    let template = &SINGLE[start..end];
    let notifications: String = (0..count)
        .map(|i| {
            template
                .replace("04l5g00000AbCdEAAV", &checksummed("04l5g00000N", i))
                .replace("0065g00000QrStUAAV", &checksummed("0065g00000R", i))
        })
        .collect();
    format!("{}{}{}", &SINGLE[..start], notifications, &SINGLE[end..])
}

/// An 18-character id: an 11-character prefix and a 4-digit counter, with its checksum.
fn checksummed(prefix: &str, n: usize) -> String {
    SfRecordId::parse(&format!("{prefix}{:04}", n % 10_000))
        .map(|id| id.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn built_messages_parse_with_distinct_ids() {
        let message = crate::ingress::soap::parse(message_with(100).as_bytes()).unwrap();
        assert_eq!(message.notifications.len(), 100);
        let mut ids: Vec<_> = message
            .notifications
            .iter()
            .map(|n| n.record_id.to_string())
            .collect();
        ids.dedup();
        assert_eq!(ids.len(), 100);
    }
}
