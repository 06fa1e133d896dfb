//! Typed identifiers for both sides of the sync. Each is built only through `parse`, so a
//! value of one of these types is known to be well formed.
//!
//! Salesforce ids are case-sensitive 15-character keys with an optional 3-character checksum
//! suffix (salesforce.md §1.2); we always store the 18-character form, so two spellings of the
//! same record compare equal.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("expected a 15- or 18-character Salesforce id, found {len} characters")]
    Length { len: usize },
    #[error("Salesforce ids are alphanumeric; found {found:?}")]
    Character { found: char },
    #[error("the checksum suffix {found:?} does not match the id (expected {expected:?})")]
    Checksum { found: String, expected: String },
    #[error("expected a {kind} id (prefix {prefix:?}), found prefix {found:?}")]
    Prefix {
        kind: &'static str,
        prefix: &'static str,
        found: String,
    },
    #[error(
        "expected an ACE opportunity id like O1234567 (O followed by 1-19 digits), found {found:?}"
    )]
    AceOpportunity { found: String },
    #[error(
        "expected an engagement invitation id like engi-0123456789abc (engi- and 13 lowercase letters or digits), found {found:?}"
    )]
    Invitation { found: String },
}

const CHECKSUM_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The 18-character form of a Salesforce id: the 15-character key plus its checksum.
fn to_18(id: &str) -> Result<String, IdError> {
    if let Some(found) = id.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(IdError::Character { found });
    }
    let (key, suffix) = match id.len() {
        15 => (id, None),
        18 => (&id[..15], Some(&id[15..])),
        len => return Err(IdError::Length { len }),
    };
    let mut full = String::with_capacity(18);
    full.push_str(key);
    for chunk in key.as_bytes().chunks(5) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        full.push(CHECKSUM_ALPHABET[bits] as char);
    }
    if let Some(suffix) = suffix {
        // The checksum letters are case-insensitive in practice (Salesforce accepts either case
        // in URLs), but a mismatch means the id was mangled somewhere on the way.
        if !suffix.eq_ignore_ascii_case(&full[15..]) {
            return Err(IdError::Checksum {
                found: suffix.to_owned(),
                expected: full[15..].to_owned(),
            });
        }
    }
    Ok(full)
}

macro_rules! salesforce_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $prefix:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses a 15- or 18-character id and stores its 18-character form.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                let full = to_18(raw.trim())?;
                let prefix: Option<&'static str> = $prefix;
                if let Some(prefix) = prefix {
                    if !full.starts_with(prefix) {
                        return Err(IdError::Prefix {
                            kind: $kind,
                            prefix,
                            found: full[..3].to_owned(),
                        });
                    }
                }
                Ok(Self(full))
            }

            /// The 18-character id.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The case-sensitive 15-character key, the form some Salesforce screens show.
            pub fn key15(&self) -> &str {
                &self.0[..15]
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

salesforce_id!(
    /// A Salesforce organization id (`00D…`).
    SfOrgId, "organization", Some("00D")
);
salesforce_id!(
    /// The id of any Salesforce record. Outbound messages may carry any sObject type, so the
    /// ingress does not insist on a key prefix.
    SfRecordId, "record", None
);
salesforce_id!(
    /// A Salesforce opportunity id (`006…`).
    SfOpportunityId, "opportunity", Some("006")
);
salesforce_id!(
    /// A Salesforce user id (`005…`), e.g. the integration user that makes our write-backs.
    SfUserId, "user", Some("005")
);
salesforce_id!(
    /// The id of one notification inside an outbound message (`04l…`); Salesforce's own
    /// deduplication key for redeliveries.
    NotificationId, "notification", Some("04l")
);
salesforce_id!(
    /// The id of the outbound-message definition that sent a message (`04k…`).
    ActionId, "outbound message action", Some("04k")
);

impl SfOrgId {
    /// Constant-time comparison of the case-sensitive 15-character keys: Salesforce shows org
    /// ids in both lengths and the checksum carries no extra information (salesforce.md §1.10).
    pub fn matches(&self, other: &SfOrgId) -> bool {
        use subtle::ConstantTimeEq;
        self.key15()
            .as_bytes()
            .ct_eq(other.key15().as_bytes())
            .into()
    }
}

impl SfOpportunityId {
    /// The record id an opportunity id is.
    pub fn to_record_id(&self) -> SfRecordId {
        SfRecordId(self.0.clone())
    }
}

impl TryFrom<&SfRecordId> for SfOpportunityId {
    type Error = IdError;
    fn try_from(id: &SfRecordId) -> Result<Self, IdError> {
        SfOpportunityId::parse(id.as_str())
    }
}

/// An ACE opportunity id (`O` followed by 1–19 digits, ace-api.md §3).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AceOpportunityId(String);

impl AceOpportunityId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let raw = raw.trim();
        let digits = raw.strip_prefix('O').unwrap_or("");
        if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::AceOpportunity {
                found: raw.to_owned(),
            });
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AceOpportunityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AceOpportunityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AceOpportunityId({})", self.0)
    }
}

impl Serialize for AceOpportunityId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AceOpportunityId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// An engagement invitation: an AWS referral to us (`engi-` and 13 lowercase letters or
/// digits, GetEngagementInvitation's `Identifier` pattern, ace-api.md §3).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvitationId(String);

impl InvitationId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let raw = raw.trim();
        let ok = raw.strip_prefix("engi-").is_some_and(|rest| {
            rest.len() == 13
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError::Invitation {
                found: raw.to_owned(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InvitationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for InvitationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InvitationId({})", self.0)
    }
}

impl Serialize for InvitationId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for InvitationId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The ACE operations whose `ClientToken` we derive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    CreateOpportunity,
    StartEngagementFromOpportunity,
    StartEngagementByAcceptingInvitation,
}

impl TokenPurpose {
    fn label(self) -> &'static str {
        match self {
            Self::CreateOpportunity => "create-opportunity",
            Self::StartEngagementFromOpportunity => "start-engagement-from-opportunity",
            Self::StartEngagementByAcceptingInvitation => {
                "start-engagement-by-accepting-invitation"
            }
        }
    }
}

/// A deterministic ACE idempotency token. The model asks for a token that is "unique, and
/// should be unchanging" (ace-api.md §6): deriving it from the org, the record and the
/// operation means a worker that crashes after the call and retries sends the same token,
/// so ACE answers with the opportunity it already created instead of a second one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientToken(String);

impl ClientToken {
    /// `generation` distinguishes deliberate repeats of the same operation (e.g. a resubmission
    /// after a rejection); it is 0 for the first.
    pub fn derive(
        org: &SfOrgId,
        record: &SfOpportunityId,
        purpose: TokenPurpose,
        generation: u32,
    ) -> Self {
        Self::from_hash(Self::hash(org, record, purpose, generation))
    }

    /// [`derive`](Self::derive), also keyed to `version`: what the operation acts on, as it
    /// stands (e.g. an ACE opportunity id and its `LastModifiedDate`), so that a repeat after
    /// it changed is a new request while a retry is the same one.
    pub fn derive_versioned(
        org: &SfOrgId,
        record: &SfOpportunityId,
        purpose: TokenPurpose,
        generation: u32,
        version: &str,
    ) -> Self {
        let mut hash = Self::hash(org, record, purpose, generation);
        hash.update([0u8]);
        hash.update(version.as_bytes());
        Self::from_hash(hash)
    }

    /// The token of StartEngagementByAcceptingInvitationTask for an AWS referral, keyed to
    /// `version` (the failed task a new attempt follows, if any): a retry of one acceptance is
    /// the same task, an acceptance after a failed one is a new task.
    pub fn for_invitation(org: &SfOrgId, invitation: &InvitationId, version: &str) -> Self {
        let mut hash = Self::hash_of(
            org,
            invitation.as_str(),
            TokenPurpose::StartEngagementByAcceptingInvitation,
            0,
        );
        hash.update([0u8]);
        hash.update(version.as_bytes());
        Self::from_hash(hash)
    }

    fn hash(
        org: &SfOrgId,
        record: &SfOpportunityId,
        purpose: TokenPurpose,
        generation: u32,
    ) -> Sha256 {
        Self::hash_of(org, record.as_str(), purpose, generation)
    }

    fn hash_of(org: &SfOrgId, subject: &str, purpose: TokenPurpose, generation: u32) -> Sha256 {
        let mut hash = Sha256::new();
        for part in [org.key15(), subject, purpose.label()] {
            hash.update(part.as_bytes());
            hash.update([0u8]);
        }
        hash.update(generation.to_be_bytes());
        hash
    }

    fn from_hash(hash: Sha256) -> Self {
        let digest = hash.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        // Shaped like a UUID, the form AWS's examples use; ≤ 255 characters as the model requires.
        Self(format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientToken({})", self.0)
    }
}

impl fmt::Display for ClientToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_character_ids_gain_the_documented_checksum() {
        // Pairs verified against real Salesforce data (shared/samples/salesforce/sf_id_checksum.py).
        for (short, long) in [
            ("0067F000003pmdW", "0067F000003pmdWQAQ"),
            ("00D7F00000107Xs", "00D7F00000107XsUAI"),
            ("0031I0000081tbP", "0031I0000081tbPQAQ"),
            ("04l7F000008aeAy", "04l7F000008aeAyQAI"),
            ("0065w000023STAm", "0065w000023STAmAAO"),
        ] {
            assert_eq!(SfRecordId::parse(short).unwrap().as_str(), long);
            assert_eq!(SfRecordId::parse(long).unwrap().as_str(), long);
        }
    }

    #[test]
    fn a_wrong_checksum_is_rejected() {
        let err = SfRecordId::parse("0067F000003pmdWAAA").unwrap_err();
        assert!(matches!(err, IdError::Checksum { .. }), "{err}");
    }

    #[test]
    fn prefixes_and_lengths_are_checked() {
        assert!(matches!(
            SfOpportunityId::parse("0015g00000LmNoPAAV"),
            Err(IdError::Prefix { .. })
        ));
        assert!(matches!(
            SfRecordId::parse("0065g00000QrSt"),
            Err(IdError::Length { len: 14 })
        ));
        assert!(matches!(
            SfRecordId::parse("0065g00000QrSt-AAV"),
            Err(IdError::Character { found: '-' })
        ));
    }

    #[test]
    fn org_ids_match_on_the_fifteen_character_key() {
        let long = SfOrgId::parse("00D5g00000ABCdeEAH").unwrap();
        let short = SfOrgId::parse("00D5g00000ABCde").unwrap();
        let other = SfOrgId::parse("00D5g00000ABCdf").unwrap();
        assert!(long.matches(&short));
        assert!(!long.matches(&other));
    }

    #[test]
    fn invitation_ids_follow_the_model_pattern() {
        assert!(InvitationId::parse("engi-v7p8z56whnauo").is_ok());
        for bad in [
            "engi-",
            "engi-V7P8Z56WHNAUO",
            "engi-v7p8z56whnau",
            "eng-v7p8z56whnauo1",
            "engi-v7p8z56whnauo1",
            "O1234567",
        ] {
            assert!(InvitationId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn acceptance_tokens_repeat_only_for_the_same_attempt() {
        let org = SfOrgId::parse("00D5g00000ABCde").unwrap();
        let a = InvitationId::parse("engi-aaaaaaaaaaaaa").unwrap();
        let b = InvitationId::parse("engi-bbbbbbbbbbbbb").unwrap();
        let token = ClientToken::for_invitation;
        assert_eq!(token(&org, &a, "-"), token(&org, &a, "-"));
        assert_ne!(token(&org, &a, "-"), token(&org, &b, "-"));
        assert_ne!(token(&org, &a, "-"), token(&org, &a, "task-0123456789abc"));
    }

    #[test]
    fn ace_ids_follow_the_model_pattern() {
        assert!(AceOpportunityId::parse("O1234567").is_ok());
        assert!(AceOpportunityId::parse("O").is_err());
        assert!(AceOpportunityId::parse("o123").is_err());
        assert!(AceOpportunityId::parse("O12345678901234567890").is_err());
    }

    #[test]
    fn client_tokens_are_stable_and_distinct_per_purpose() {
        let org = SfOrgId::parse("00D5g00000ABCdeEAH").unwrap();
        let opp = SfOpportunityId::parse("0065g00000QrStUAAV").unwrap();
        let a = ClientToken::derive(&org, &opp, TokenPurpose::CreateOpportunity, 0);
        let b = ClientToken::derive(&org, &opp, TokenPurpose::CreateOpportunity, 0);
        let c = ClientToken::derive(&org, &opp, TokenPurpose::StartEngagementFromOpportunity, 0);
        let d = ClientToken::derive(&org, &opp, TokenPurpose::CreateOpportunity, 1);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(a.as_str().len(), 36);
    }

    #[test]
    fn versioned_tokens_differ_by_version_and_by_generation() {
        let org = SfOrgId::parse("00D5g00000ABCdeEAH").unwrap();
        let opp = SfOpportunityId::parse("0065g00000QrStUAAV").unwrap();
        let purpose = TokenPurpose::StartEngagementFromOpportunity;
        let token = |generation, version| {
            ClientToken::derive_versioned(&org, &opp, purpose, generation, version)
        };
        assert_eq!(
            token(0, "O1@1"),
            token(0, "O1@1"),
            "a retry is the same request"
        );
        assert_ne!(token(0, "O1@1"), token(0, "O1@2"));
        assert_ne!(token(0, "O1@1"), token(1, "O1@1"));
        // Generation and version cannot cancel out (they once were XORed together).
        assert_ne!(token(0, "1700000000"), token(1, "1700000001"));
        assert_ne!(
            token(0, "O1@1"),
            ClientToken::derive(&org, &opp, purpose, 0)
        );
    }
}
