//! The port's engagement-invitation operations (AWS referrals, ace-api.md §3), one SDK call
//! each; the port's trait implementation in `opportunities.rs` delegates here.

use aws_sdk_partnercentralselling::types as sdk;

use super::convert::from_datetime;
use super::opportunities::engagement_task;
use super::{Kind, PartnerCentralClient};
use crate::ace::opportunity::{Contact, ExpectedCustomerSpend};
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
            sender_contacts: payload
                .map(|p| p.sender_contacts())
                .unwrap_or_default()
                .iter()
                .map(|c| Contact {
                    email: Some(c.email().to_owned()),
                    first_name: c.first_name().map(str::to_owned),
                    last_name: c.last_name().map(str::to_owned),
                    business_title: c.business_title().map(str::to_owned),
                    phone: c.phone().map(str::to_owned),
                })
                .collect(),
            expected_customer_spend: project
                .map(|p| p.expected_customer_spend())
                .unwrap_or_default()
                .iter()
                .map(|s| ExpectedCustomerSpend {
                    amount: Some(s.amount().to_owned()),
                    currency_code: Some(s.currency_code().as_str().to_owned()),
                    frequency: Some(s.frequency().as_str().to_owned()),
                    target_company: Some(s.target_company().to_owned()),
                    estimation_url: s.estimation_url().map(str::to_owned),
                })
                .collect(),
        })
    }

    pub(super) async fn latest_acceptance_task_of(
        &self,
        id: &str,
    ) -> Result<Option<EngagementTask>, AceError> {
        const OP: &str = "ListEngagementByAcceptingInvitationTasks";
        let sort = sdk::ListTasksSortBase::builder()
            .sort_order(sdk::SortOrder::Descending)
            .sort_by(sdk::ListTasksSortName::StartTime)
            .build()
            .map_err(|e| AceError::Unexpected {
                operation: OP,
                what: format!("Sort: {e}"),
            })?;
        let request = self
            .client
            .list_engagement_by_accepting_invitation_tasks()
            .catalog(self.catalog.as_str())
            .engagement_invitation_identifier(id)
            .sort(sort)
            .max_results(1);
        let out = self.call(OP, Kind::Read, || request.clone().send()).await?;
        Ok(out
            .task_summaries()
            .first()
            .map(|t| engagement_task!(t, engagement_id: None)))
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
