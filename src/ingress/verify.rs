//! Deciding whether an outbound message comes from an org we serve. Only [`Verifier::verify`]
//! produces a [`Verified`] message, and only a verified message can become queue jobs.

use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::soap::OutboundMessage;
use crate::domain::ids::SfOrgId;
use crate::domain::job::{Reason, Reconcile};
use crate::secret::Secret;

/// Why a message is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("organization {org} is not one this service accepts messages from")]
    UnknownOrganization { org: String },
    #[error("the shared secret is missing or wrong")]
    BadSecret,
    #[error("{element} points at {found}, not the configured My Domain {expected}")]
    WrongDomain {
        element: &'static str,
        found: String,
        expected: String,
    },
}

impl VerifyError {
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::UnknownOrganization { .. } => "wrong_org",
            VerifyError::BadSecret => "bad_secret",
            VerifyError::WrongDomain { .. } => "wrong_domain",
        }
    }
}

/// The checks configured for this deployment.
#[derive(Debug, Clone)]
pub struct Verifier {
    org_ids: Vec<SfOrgId>,
    shared_secret: Option<Secret>,
    my_domain: Option<String>,
}

/// A message whose origin has been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified(OutboundMessage);

impl Verifier {
    pub fn new(
        org_ids: Vec<SfOrgId>,
        shared_secret: Option<Secret>,
        my_domain: Option<String>,
    ) -> Self {
        Self {
            org_ids,
            shared_secret,
            my_domain: my_domain.map(|d| d.to_ascii_lowercase()),
        }
    }

    /// Checks the shared secret, when one is configured; `presented` is what the request
    /// carried (path segment or header). Done before the body is even read.
    pub fn check_secret(&self, presented: Option<&str>) -> Result<(), VerifyError> {
        let Some(expected) = &self.shared_secret else {
            return Ok(());
        };
        let presented = presented.unwrap_or_default().as_bytes();
        if bool::from(presented.ct_eq(expected.expose().as_bytes())) {
            Ok(())
        } else {
            Err(VerifyError::BadSecret)
        }
    }

    /// Checks the organization and, when configured, the My Domain host.
    pub fn verify(&self, message: OutboundMessage) -> Result<Verified, VerifyError> {
        // Compare against every configured org so the time taken does not reveal which one
        // (or whether any) matched first.
        let matched = self.org_ids.iter().fold(false, |any, org| {
            any | org.matches(&message.organization_id)
        });
        if !matched {
            return Err(VerifyError::UnknownOrganization {
                org: message.organization_id.to_string(),
            });
        }
        if let Some(expected) = &self.my_domain {
            for (element, url) in [
                ("EnterpriseUrl", &message.enterprise_url),
                ("PartnerUrl", &message.partner_url),
            ] {
                let Some(url) = url else { continue };
                let host = url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
                if host.as_deref() != Some(expected.as_str()) {
                    return Err(VerifyError::WrongDomain {
                        element,
                        found: host.unwrap_or_else(|| "no host".into()),
                        expected: expected.clone(),
                    });
                }
            }
        }
        Ok(Verified(message))
    }
}

impl Verified {
    pub fn message(&self) -> &OutboundMessage {
        &self.0
    }

    /// One reconcile job per notification, in message order. A job names the record and the
    /// notification; the worker reads the record itself, so nothing else of what Salesforce
    /// sent is carried.
    pub fn into_jobs(self, received_at: OffsetDateTime) -> Vec<Reconcile> {
        let OutboundMessage {
            organization_id,
            action_id,
            notifications,
            ..
        } = self.0;
        notifications
            .into_iter()
            .map(|n| Reconcile {
                org_id: organization_id.clone(),
                changed_at: n.system_modstamp,
                record_id: n.record_id,
                reason: Reason::OutboundMessage {
                    notification_id: n.id,
                    action_id: action_id.clone(),
                },
                queued_at: received_at,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingress::soap;

    fn sample() -> OutboundMessage {
        soap::parse(include_bytes!("samples/om_single.xml")).unwrap()
    }

    fn org(id: &str) -> SfOrgId {
        SfOrgId::parse(id).unwrap()
    }

    #[test]
    fn the_org_must_be_configured_and_matches_on_fifteen_characters() {
        let short = Verifier::new(vec![org("00D5g00000ABCde")], None, None);
        assert!(short.verify(sample()).is_ok());
        let other = Verifier::new(vec![org("00D5g00000ZZZzz")], None, None);
        assert!(matches!(
            other.verify(sample()),
            Err(VerifyError::UnknownOrganization { .. })
        ));
        let several = Verifier::new(
            vec![org("00D5g00000ZZZzz"), org("00D5g00000ABCdeEAH")],
            None,
            None,
        );
        assert!(several.verify(sample()).is_ok());
    }

    #[test]
    fn the_shared_secret_is_checked_when_configured() {
        let open = Verifier::new(vec![], None, None);
        assert!(open.check_secret(None).is_ok());
        let closed = Verifier::new(vec![], Some(Secret::new("s3cret-s3cret-s3cret")), None);
        assert_eq!(closed.check_secret(None), Err(VerifyError::BadSecret));
        assert_eq!(
            closed.check_secret(Some("s3cret")),
            Err(VerifyError::BadSecret)
        );
        assert!(closed.check_secret(Some("s3cret-s3cret-s3cret")).is_ok());
    }

    #[test]
    fn my_domain_is_checked_when_configured() {
        let right = Verifier::new(
            vec![org("00D5g00000ABCde")],
            None,
            Some("ACME.my.salesforce.com".into()),
        );
        assert!(right.verify(sample()).is_ok());
        let wrong = Verifier::new(
            vec![org("00D5g00000ABCde")],
            None,
            Some("evil.my.salesforce.com".into()),
        );
        assert!(matches!(
            wrong.verify(sample()),
            Err(VerifyError::WrongDomain {
                element: "EnterpriseUrl",
                ..
            })
        ));
    }

    #[test]
    fn verified_messages_become_one_job_per_notification() {
        let verifier = Verifier::new(vec![org("00D5g00000ABCde")], None, None);
        let jobs = verifier
            .verify(sample())
            .unwrap()
            .into_jobs(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(jobs.len(), 1);
        let body = jobs[0].encode();
        let job = &jobs[0];
        assert_eq!(job.group_id().as_str(), "0065g00000QrStUAAV");
        assert!(job.changed_at.is_some(), "the SystemModstamp is kept");
        assert!(!body.contains("SessionId"), "{body}");
        assert!(
            !body.contains("StageName"),
            "only the record's id is queued: {body}"
        );
    }
}
