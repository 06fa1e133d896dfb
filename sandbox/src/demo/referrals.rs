//! The demo's AWS referrals: AWS refers an opportunity (Partner Central's simulator creates
//! an engagement invitation and publishes its event), ace-sync brings it into Salesforce as
//! an opportunity, and the rep answers it there: one accepted, whose customer details arrive
//! with the acceptance, and one rejected with AWS's reason.

use tokio::time::Instant;

use crate::partner_central::InvitationSpec;
use ace_sync::worker::reconcile::fields;
use ace_sync::worker::referrals::fields as referral_fields;

use super::scenarios::{Outcome, Run, expect, field};
use super::seed::text;
use super::timeline::{Actor, Entry};

/// The referral the rep accepts (its project title, which becomes the record's name).
pub(super) const ACCEPTED_TITLE: &str = "Northwind Traders - Contact Center Modernization";
/// The referral the rep rejects.
pub(super) const REJECTED_TITLE: &str = "Contoso - Data Lake Assessment";

/// AWS refers `spec`; waits until ace-sync has brought it into Salesforce and makes its
/// record the run's. The invitation id.
async fn refer(run: &mut Run<'_>, spec: InvitationSpec) -> Result<String, String> {
    let at = Instant::now();
    let invitation = run
        .demo
        .pc
        .control()
        .create_aws_invitation(&spec)
        .map_err(|problems| {
            format!(
                "the simulator refused the referral: {}",
                problems.join("; ")
            )
        })?;
    run.rep.push(Entry::new(
        at,
        Actor::Aws,
        format!("refers \"{}\" to the partner ({invitation})", spec.title),
    ));
    let wanted = invitation.clone();
    run.wait("the referral to come into Salesforce", move |sf| {
        !sf.find_by("Opportunity", referral_fields::INVITATION_ID, &wanted)
            .is_empty()
    })
    .await?;
    run.record = run
        .demo
        .sf
        .find_by("Opportunity", referral_fields::INVITATION_ID, &invitation)
        .into_iter()
        .next()
        .map(|r| r.id);
    run.wait_fields(
        "the referral's status to be written",
        &[(referral_fields::INVITATION_STATUS, "Pending")],
    )
    .await?;
    Ok(invitation)
}

/// Scenario 5: a referral comes in, the rep accepts it, and what AWS withheld until then
/// (the customer's contacts and address) arrives with the ACE id; the record is then synced
/// like any other.
pub(super) async fn accepted(run: &mut Run<'_>) -> Outcome {
    let invitation = refer(
        run,
        InvitationSpec {
            title: ACCEPTED_TITLE.to_owned(),
            ..InvitationSpec::default()
        },
    )
    .await?;
    if run.field("ACE_Customer_Contacts__c").is_some() {
        return Err("the customer's contacts were on the record before acceptance".to_owned());
    }
    run.rep_changes(
        "accepts the referral: ACE Invitation Decision → Accept",
        &[(referral_fields::DECISION, text("Accept"))],
    )
    .await?;
    let record = run.id()?;
    run.wait("the acceptance to be written back", move |sf| {
        field(sf, &record, fields::ACE_ID).is_some()
    })
    .await?;
    run.wait_fields(
        "the accepted referral to be synced",
        &[
            (referral_fields::INVITATION_STATUS, "Accepted"),
            (fields::REVIEW_STATUS, "Approved"),
            (fields::SYNC_STATUS, "Synced"),
        ],
    )
    .await?;
    let ace_id = run.check_approved()?;
    expect(
        "the invitation's status at AWS",
        run.demo
            .pc
            .control()
            .invitation_status(&invitation)
            .as_deref(),
        "ACCEPTED",
    )?;
    let contacts = run.field("ACE_Customer_Contacts__c").unwrap_or_default();
    if contacts.is_empty() {
        return Err("the customer's contacts did not arrive".to_owned());
    }
    let account = run
        .field("AccountId")
        .and_then(|id| id.parse().ok())
        .and_then(|id| field(&run.demo.sf, &id, "Name"))
        .ok_or_else(|| "the record has no account".to_owned())?;
    Ok(format!(
        "accepted as {ace_id}: the customer's contacts and address arrived (account {account}); Approved and Synced"
    ))
}

/// Scenario 6: a referral the rep rejects, with one of AWS's reasons.
pub(super) async fn rejected(run: &mut Run<'_>) -> Outcome {
    let invitation = refer(
        run,
        InvitationSpec {
            title: REJECTED_TITLE.to_owned(),
            customer_company_name: "Contoso".to_owned(),
            website_url: "https://contoso.example".to_owned(),
            ..InvitationSpec::default()
        },
    )
    .await?;
    let reason = "Unable to support";
    run.rep_changes(
        format!("rejects the referral: Reject, {reason}"),
        &[
            (referral_fields::DECISION, text("Reject")),
            (referral_fields::REJECTION_REASON, text(reason)),
        ],
    )
    .await?;
    run.wait_fields(
        "the rejection to be written back",
        &[(referral_fields::INVITATION_STATUS, "Rejected")],
    )
    .await?;
    expect(
        "the invitation's status at AWS",
        run.demo
            .pc
            .control()
            .invitation_status(&invitation)
            .as_deref(),
        "REJECTED",
    )?;
    if let Some(id) = run.field(fields::ACE_ID) {
        return Err(format!("a rejected referral names ACE opportunity {id}"));
    }
    Ok(format!("rejected at AWS ({reason}); no ACE opportunity"))
}
