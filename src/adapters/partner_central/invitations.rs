//! The port's engagement-invitation operations (AWS referrals, ace-api.md §3), one SDK call
//! each; the port's trait implementation in `opportunities.rs` delegates here.

use aws_sdk_partnercentralselling::types as sdk;

use super::convert::from_datetime;
use super::opportunities::engagement_task;
use super::{Kind, PartnerCentralClient};
use crate::domain::ids::ClientToken;
use crate::ports::partner_central::{AceError, EngagementTask, Invitation, InvitationSummary};

impl PartnerCentralClient {
    pub(super) async fn list_invitations_of(
        &self,
        statuses: &[&str],
    ) -> Result<Vec<InvitationSummary>, AceError> {
        let mut out_list = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..self.find_max_pages {
            let request = self
                .client
                .list_engagement_invitations()
                .catalog(self.catalog.as_str())
                .participant_type(sdk::ParticipantType::Receiver)
                .max_results(100)
                .set_status((!statuses.is_empty()).then(|| {
                    statuses
                        .iter()
                        .map(|s| sdk::InvitationStatus::from(*s))
                        .collect()
                }))
                .set_next_token(next_token.clone());
            let out = self
                .call("ListEngagementInvitations", Kind::Read, || {
                    request.clone().send()
                })
                .await?;
            out_list.extend(out.engagement_invitation_summaries().iter().map(|s| {
                InvitationSummary {
                    id: s.id().to_owned(),
                    arn: s.arn().map(str::to_owned),
                    status: s.status().map(|v| v.as_str().to_owned()),
                    payload_type: s.payload_type().map(|p| p.as_str().to_owned()),
                    engagement_title: s.engagement_title().map(str::to_owned),
                    sender_company_name: s.sender_company_name().map(str::to_owned),
                    invitation_date: s.invitation_date().and_then(from_datetime),
                    expiration_date: s.expiration_date().and_then(from_datetime),
                }
            }));
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(out_list)
    }

    pub(super) async fn get_invitation_by_id(&self, id: &str) -> Result<Invitation, AceError> {
        let request = self
            .client
            .get_engagement_invitation()
            .catalog(self.catalog.as_str())
            .identifier(id);
        let out = self
            .call("GetEngagementInvitation", Kind::Read, || {
                request.clone().send()
            })
            .await?;
        let payload = out
            .payload()
            .and_then(|p| p.as_opportunity_invitation().ok());
        let customer = payload.and_then(|p| p.customer());
        let project = payload.and_then(|p| p.project());
        Ok(Invitation {
            summary: InvitationSummary {
                id: out.id().to_owned(),
                arn: out.arn().map(str::to_owned),
                status: out.status().map(|s| s.as_str().to_owned()),
                payload_type: out.payload_type().map(|p| p.as_str().to_owned()),
                engagement_title: out.engagement_title().map(str::to_owned),
                sender_company_name: out.sender_company_name().map(str::to_owned),
                invitation_date: out.invitation_date().and_then(from_datetime),
                expiration_date: out.expiration_date().and_then(from_datetime),
            },
            invitation_message: out.invitation_message().map(str::to_owned),
            rejection_reason: out.rejection_reason().map(str::to_owned),
            customer_company_name: customer.map(|c| c.company_name().to_owned()),
            customer_industry: customer.map(|c| c.industry().as_str().to_owned()),
            customer_website_url: customer.map(|c| c.website_url().to_owned()),
            customer_country_code: customer.map(|c| c.country_code().as_str().to_owned()),
            project_title: project.map(|p| p.title().to_owned()),
            business_problem: project.map(|p| p.business_problem().to_owned()),
            target_completion_date: project.map(|p| p.target_completion_date().to_owned()),
        })
    }

    pub(super) async fn start_accepting_invitation(
        &self,
        id: &str,
        token: &ClientToken,
    ) -> Result<EngagementTask, AceError> {
        let request = self
            .client
            .start_engagement_by_accepting_invitation_task()
            .catalog(self.catalog.as_str())
            .client_token(token.as_str())
            .identifier(id);
        let out = self
            .call(
                "StartEngagementByAcceptingInvitationTask",
                Kind::Write,
                || request.clone().send(),
            )
            .await?;
        Ok(engagement_task!(out, engagement_id: None))
    }

    pub(super) async fn reject_invitation_by_id(
        &self,
        id: &str,
        reason: Option<&str>,
    ) -> Result<(), AceError> {
        let request = self
            .client
            .reject_engagement_invitation()
            .catalog(self.catalog.as_str())
            .identifier(id)
            .set_rejection_reason(reason.map(str::to_owned));
        self.call("RejectEngagementInvitation", Kind::Write, || {
            request.clone().send()
        })
        .await?;
        Ok(())
    }
}
