//! The port's opportunity operations, one SDK call each (through [`PartnerCentralClient::call`]:
//! the write limiter, retries of throttling and transient failures, the call counters).

use async_trait::async_trait;
use aws_sdk_partnercentralselling::types as sdk;
use time::OffsetDateTime;

use super::convert::{self, body_to_sdk, from_datetime, to_datetime};
use super::{Kind, PartnerCentralClient};
use crate::ace::mapping::Submission;
use crate::ace::opportunity::{AceOpportunity, Opportunity, ReviewStatus};
use crate::domain::ids::{AceOpportunityId, ClientToken};
use crate::ports::partner_central::{
    AceError, AwsSummary, AwsTeamMember, Created, EngagementTask, Invitation, InvitationSummary,
    Listing, OpportunitySummary, PartnerCentral, RelatedEntity,
};

impl PartnerCentralClient {
    fn related(entity: &RelatedEntity) -> (sdk::RelatedEntityType, &str) {
        match entity {
            RelatedEntity::Solution(id) => (sdk::RelatedEntityType::Solutions, id),
            RelatedEntity::AwsProduct(code) => (sdk::RelatedEntityType::AwsProducts, code),
        }
    }

    /// ListOpportunities (modified at or after `modified_after`, if set), newest first,
    /// page by page up to `max_pages` reads, keeping the summaries `keep` accepts.
    async fn list_pages(
        &self,
        modified_after: Option<OffsetDateTime>,
        max_pages: u32,
        keep: impl Fn(&sdk::OpportunitySummary) -> bool + Send,
    ) -> Result<Listing, AceError> {
        const OP: &str = "ListOpportunities";
        let mut listing = Listing::default();
        let mut next_token: Option<String> = None;
        while listing.reads < max_pages {
            let mut request = self
                .client
                .list_opportunities()
                .catalog(self.catalog.as_str())
                .max_results(100)
                .set_next_token(next_token.clone());
            if let Some(after) = modified_after {
                request = request.last_modified_date(
                    sdk::LastModifiedDate::builder()
                        .after_last_modified_date(to_datetime(after))
                        .build(),
                );
            }
            let out = self.call(OP, Kind::Read, || request.clone().send()).await?;
            listing.reads += 1;
            for summary in out.opportunity_summaries() {
                if keep(summary)
                    && let Some(summary) = Self::summary_from_sdk(OP, summary)?
                {
                    listing.opportunities.push(summary);
                }
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => {
                    listing.complete = true;
                    break;
                }
            }
        }
        Ok(listing)
    }

    fn summary_from_sdk(
        operation: &'static str,
        summary: &sdk::OpportunitySummary,
    ) -> Result<Option<OpportunitySummary>, AceError> {
        let Some(raw_id) = summary.id() else {
            return Ok(None);
        };
        let life_cycle = summary.life_cycle();
        Ok(Some(OpportunitySummary {
            id: Self::parse_id(operation, raw_id)?,
            partner_opportunity_identifier: summary
                .partner_opportunity_identifier()
                .map(str::to_owned),
            last_modified_date: summary.last_modified_date().and_then(from_datetime),
            created_date: summary.created_date().and_then(from_datetime),
            stage: life_cycle
                .and_then(|l| l.stage())
                .map(|s| s.as_str().to_owned()),
            review_status: life_cycle
                .and_then(|l| l.review_status())
                .map(|r| ReviewStatus::parse(r.as_str())),
            company_name: summary
                .customer()
                .and_then(|c| c.account())
                .map(|a| a.company_name().to_owned()),
        }))
    }
}

/// An engagement task from the fields every Start…Task answer and task summary carries
/// (`engagement_id`: the expression for the engagement id, which not every one has).
macro_rules! engagement_task {
    ($out:expr, engagement_id: $engagement:expr) => {{
        let out = &$out;
        $crate::ports::partner_central::EngagementTask {
            task_id: out.task_id().map(str::to_owned),
            status: $crate::ports::partner_central::TaskStatus::parse(
                out.task_status()
                    .map(|s| s.as_str())
                    .unwrap_or("IN_PROGRESS"),
            ),
            start_time: out
                .start_time()
                .and_then($crate::adapters::partner_central::convert::from_datetime),
            reason_code: out.reason_code().map(|r| r.as_str().to_owned()),
            message: out.message().map(str::to_owned),
            opportunity_id: out.opportunity_id().map(str::to_owned),
            engagement_id: $engagement,
            engagement_invitation_id: out.engagement_invitation_id().map(str::to_owned),
        }
    }};
}
pub(super) use engagement_task;

#[async_trait]
impl PartnerCentral for PartnerCentralClient {
    async fn find_by_partner_id(
        &self,
        partner_id: &str,
        modified_after: Option<OffsetDateTime>,
    ) -> Result<Vec<OpportunitySummary>, AceError> {
        let listing = self
            .list_pages(modified_after, self.find_max_pages, |summary| {
                summary.partner_opportunity_identifier() == Some(partner_id)
            })
            .await?;
        if !listing.complete {
            tracing::warn!(
                partner_id,
                pages = listing.reads,
                "ListOpportunities still had pages after ace.find_max_pages; the rest was not searched"
            );
        }
        let mut found = listing.opportunities;
        found.sort_by_key(|summary| std::cmp::Reverse(summary.created_date));
        Ok(found)
    }

    async fn list_modified_since(
        &self,
        after: OffsetDateTime,
        max_pages: u32,
    ) -> Result<Listing, AceError> {
        self.list_pages(Some(after), max_pages.max(1), |_| true)
            .await
    }

    async fn get(&self, id: &AceOpportunityId) -> Result<AceOpportunity, AceError> {
        const OP: &str = "GetOpportunity";
        let request = self
            .client
            .get_opportunity()
            .catalog(self.catalog.as_str())
            .identifier(id.as_str());
        let out = self.call(OP, Kind::Read, || request.clone().send()).await?;
        let out_of_range = |what: &str| AceError::Unexpected {
            operation: OP,
            what: format!("{what} out of range"),
        };
        Ok(AceOpportunity {
            id: Self::parse_id(OP, out.id())?,
            arn: out.arn().map(str::to_owned),
            created_date: from_datetime(out.created_date())
                .ok_or_else(|| out_of_range("CreatedDate"))?,
            last_modified_date: from_datetime(out.last_modified_date())
                .ok_or_else(|| out_of_range("LastModifiedDate"))?,
            related: convert::related_from_sdk(out.related_entity_identifiers()),
            opportunity_team: out
                .opportunity_team()
                .iter()
                .map(convert::contact_from_sdk)
                .collect(),
            body: convert::body_from_get(&out),
        })
    }

    async fn create(&self, body: &Opportunity, token: &ClientToken) -> Result<Created, AceError> {
        const OP: &str = "CreateOpportunity";
        let b = body_to_sdk(body).map_err(|m| Self::invalid_request(OP, m))?;
        let request = self
            .client
            .create_opportunity()
            .catalog(self.catalog.as_str())
            .client_token(token.as_str())
            // "For Catalog AWS must be Partner Referral" (ace-api.md §3).
            .origin(sdk::OpportunityOrigin::PartnerReferral)
            .set_primary_needs_from_aws(b.primary_needs_from_aws)
            .set_national_security(b.national_security)
            .set_partner_opportunity_identifier(b.partner_opportunity_identifier)
            .set_customer(b.customer)
            .set_project(b.project)
            .set_opportunity_type(b.opportunity_type)
            .set_marketing(b.marketing)
            .set_software_revenue(b.software_revenue)
            .set_life_cycle(b.life_cycle);
        let out = self
            .call(OP, Kind::Write, || request.clone().send())
            .await?;
        Ok(Created {
            id: Self::parse_id(OP, out.id())?,
            last_modified_date: out.last_modified_date().and_then(from_datetime),
        })
    }

    async fn update(
        &self,
        id: &AceOpportunityId,
        body: &Opportunity,
        last_modified_date: OffsetDateTime,
    ) -> Result<OffsetDateTime, AceError> {
        const OP: &str = "UpdateOpportunity";
        let b = body_to_sdk(body).map_err(|m| Self::invalid_request(OP, m))?;
        let request = self
            .client
            .update_opportunity()
            .catalog(self.catalog.as_str())
            .identifier(id.as_str())
            .last_modified_date(to_datetime(last_modified_date))
            .set_primary_needs_from_aws(b.primary_needs_from_aws)
            .set_national_security(b.national_security)
            .set_partner_opportunity_identifier(b.partner_opportunity_identifier)
            .set_customer(b.customer)
            .set_project(b.project)
            .set_opportunity_type(b.opportunity_type)
            .set_marketing(b.marketing)
            .set_software_revenue(b.software_revenue)
            .set_life_cycle(b.life_cycle);
        let out = self
            .call(OP, Kind::Write, || request.clone().send())
            .await?;
        from_datetime(out.last_modified_date()).ok_or(AceError::Unexpected {
            operation: OP,
            what: "LastModifiedDate out of range".to_owned(),
        })
    }

    async fn associate(
        &self,
        id: &AceOpportunityId,
        entity: &RelatedEntity,
    ) -> Result<(), AceError> {
        let (entity_type, entity_id) = Self::related(entity);
        let request = self
            .client
            .associate_opportunity()
            .catalog(self.catalog.as_str())
            .opportunity_identifier(id.as_str())
            .related_entity_type(entity_type)
            .related_entity_identifier(entity_id);
        self.call("AssociateOpportunity", Kind::Write, || {
            request.clone().send()
        })
        .await?;
        Ok(())
    }

    async fn disassociate(
        &self,
        id: &AceOpportunityId,
        entity: &RelatedEntity,
    ) -> Result<(), AceError> {
        let (entity_type, entity_id) = Self::related(entity);
        let request = self
            .client
            .disassociate_opportunity()
            .catalog(self.catalog.as_str())
            .opportunity_identifier(id.as_str())
            .related_entity_type(entity_type)
            .related_entity_identifier(entity_id);
        self.call("DisassociateOpportunity", Kind::Write, || {
            request.clone().send()
        })
        .await?;
        Ok(())
    }

    async fn start_engagement(
        &self,
        id: &AceOpportunityId,
        submission: &Submission,
        token: &ClientToken,
    ) -> Result<EngagementTask, AceError> {
        const OP: &str = "StartEngagementFromOpportunityTask";
        let request = self
            .client
            .start_engagement_from_opportunity_task()
            .catalog(self.catalog.as_str())
            .client_token(token.as_str())
            .identifier(id.as_str())
            .aws_submission(Self::submission_to_sdk(OP, submission)?);
        let out = self
            .call(OP, Kind::Write, || request.clone().send())
            .await?;
        Ok(engagement_task!(out, engagement_id: out.engagement_id().map(str::to_owned)))
    }

    async fn latest_engagement_task(
        &self,
        id: &AceOpportunityId,
    ) -> Result<Option<EngagementTask>, AceError> {
        const OP: &str = "ListEngagementFromOpportunityTasks";
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
            .list_engagement_from_opportunity_tasks()
            .catalog(self.catalog.as_str())
            .opportunity_identifier(id.as_str())
            .sort(sort)
            .max_results(1);
        let out = self.call(OP, Kind::Read, || request.clone().send()).await?;
        Ok(out
            .task_summaries()
            .first()
            .map(|t| engagement_task!(t, engagement_id: t.engagement_id().map(str::to_owned))))
    }

    async fn aws_summary(&self, id: &AceOpportunityId) -> Result<AwsSummary, AceError> {
        let request = self
            .client
            .get_aws_opportunity_summary()
            .catalog(self.catalog.as_str())
            .related_opportunity_identifier(id.as_str());
        let out = self
            .call("GetAwsOpportunitySummary", Kind::Read, || {
                request.clone().send()
            })
            .await?;
        let life_cycle = out.life_cycle();
        let insights = out.insights();
        Ok(AwsSummary {
            involvement_type: out.involvement_type().map(|i| i.as_str().to_owned()),
            involvement_type_change_reason: out
                .involvement_type_change_reason()
                .map(|r| r.as_str().to_owned()),
            visibility: out.visibility().map(|v| v.as_str().to_owned()),
            stage: life_cycle
                .and_then(|l| l.stage())
                .map(|s| s.as_str().to_owned()),
            closed_lost_reason: life_cycle
                .and_then(|l| l.closed_lost_reason())
                .map(|r| r.as_str().to_owned()),
            next_steps: life_cycle.and_then(|l| l.next_steps()).map(str::to_owned),
            target_close_date: life_cycle
                .and_then(|l| l.target_close_date())
                .map(str::to_owned),
            team: out
                .opportunity_team()
                .iter()
                .map(|m| AwsTeamMember {
                    email: m.email().map(str::to_owned),
                    first_name: m.first_name().map(str::to_owned),
                    last_name: m.last_name().map(str::to_owned),
                    business_title: m.business_title().map(|t| t.as_str().to_owned()),
                })
                .collect(),
            engagement_score: insights
                .and_then(|i| i.engagement_score())
                .map(|s| s.as_str().to_owned()),
            next_best_actions: insights
                .and_then(|i| i.next_best_actions())
                .map(str::to_owned),
        })
    }

    async fn list_invitations(
        &self,
        statuses: &[&str],
    ) -> Result<Vec<InvitationSummary>, AceError> {
        self.list_invitations_of(statuses).await
    }

    async fn get_invitation(&self, id: &str) -> Result<Invitation, AceError> {
        self.get_invitation_by_id(id).await
    }

    async fn accept_invitation(
        &self,
        id: &str,
        token: &ClientToken,
    ) -> Result<EngagementTask, AceError> {
        self.start_accepting_invitation(id, token).await
    }

    async fn reject_invitation(&self, id: &str, reason: Option<&str>) -> Result<(), AceError> {
        self.reject_invitation_by_id(id, reason).await
    }

    async fn latest_acceptance_task(&self, id: &str) -> Result<Option<EngagementTask>, AceError> {
        self.latest_acceptance_task_of(id).await
    }
}
