//! The API's clients cannot write: check and status run the reconciler's own read, assess,
//! observe and plan steps, and these wrappers make "writes nothing" a property of the wiring,
//! not only of the code path. A write reaching one is refused, and nothing is sent.
//!
//! [`ReadOnlyAce`] forwards exactly the reads observing ACE makes (GetOpportunity,
//! ListOpportunities, ListEngagementFromOpportunityTasks, GetAwsOpportunitySummary);
//! `tests/api/deploy/iam.rs` reads the forwarded methods here to derive the Partner Central
//! actions the ingress role is granted.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ace::mapping::Submission;
use crate::ace::opportunity::{AceOpportunity, Opportunity};
use crate::domain::ids::{AceOpportunityId, ClientToken, SfOpportunityId, SfRecordId};
use crate::domain::sobject::{FieldValue, SObject};
use crate::ports::partner_central::{
    AceError, AwsSummary, Created, EngagementTask, Invitation, InvitationSummary, Listing,
    OpportunitySummary, PartnerCentral, RelatedEntity,
};
use crate::ports::salesforce::{
    Identity, OpportunityQuery, SalesforceError, SalesforceOrg, Upserted, WriteOutcome,
};

/// Partner Central, reads only.
pub struct ReadOnlyAce(pub Arc<dyn PartnerCentral>);

fn refused(operation: &'static str) -> AceError {
    AceError::AccessDenied {
        operation,
        reason: Some("read-only".to_owned()),
        message: "ace-sync's API never writes to ACE; writes belong to the reconciler".to_owned(),
    }
}

#[async_trait]
impl PartnerCentral for ReadOnlyAce {
    async fn find_by_partner_id(
        &self,
        partner_id: &str,
        modified_after: Option<OffsetDateTime>,
    ) -> Result<Vec<OpportunitySummary>, AceError> {
        self.0.find_by_partner_id(partner_id, modified_after).await
    }

    async fn list_modified_since(
        &self,
        after: OffsetDateTime,
        max_pages: u32,
    ) -> Result<Listing, AceError> {
        self.0.list_modified_since(after, max_pages).await
    }

    async fn get(&self, id: &AceOpportunityId) -> Result<AceOpportunity, AceError> {
        self.0.get(id).await
    }

    async fn latest_engagement_task(
        &self,
        id: &AceOpportunityId,
    ) -> Result<Option<EngagementTask>, AceError> {
        self.0.latest_engagement_task(id).await
    }

    async fn aws_summary(&self, id: &AceOpportunityId) -> Result<AwsSummary, AceError> {
        self.0.aws_summary(id).await
    }

    /// Not a read the API needs (a referral's record is answered by the workers): refused,
    /// so the ingress needs no permission for it.
    async fn latest_acceptance_task(&self, _: &str) -> Result<Option<EngagementTask>, AceError> {
        Err(AceError::AccessDenied {
            operation: "ListEngagementByAcceptingInvitationTasks",
            reason: Some("read-only".to_owned()),
            message: "ace-sync's API does not follow referral acceptances".to_owned(),
        })
    }

    async fn create(&self, _: &Opportunity, _: &ClientToken) -> Result<Created, AceError> {
        Err(refused("CreateOpportunity"))
    }

    async fn update(
        &self,
        _: &AceOpportunityId,
        _: &Opportunity,
        _: OffsetDateTime,
    ) -> Result<OffsetDateTime, AceError> {
        Err(refused("UpdateOpportunity"))
    }

    async fn associate(&self, _: &AceOpportunityId, _: &RelatedEntity) -> Result<(), AceError> {
        Err(refused("AssociateOpportunity"))
    }

    async fn disassociate(&self, _: &AceOpportunityId, _: &RelatedEntity) -> Result<(), AceError> {
        Err(refused("DisassociateOpportunity"))
    }

    async fn start_engagement(
        &self,
        _: &AceOpportunityId,
        _: &Submission,
        _: &ClientToken,
    ) -> Result<EngagementTask, AceError> {
        Err(refused("StartEngagementFromOpportunityTask"))
    }

    async fn list_invitations(&self, _: &[&str]) -> Result<Vec<InvitationSummary>, AceError> {
        Err(refused("ListEngagementInvitations"))
    }

    async fn get_invitation(&self, _: &str) -> Result<Invitation, AceError> {
        Err(refused("GetEngagementInvitation"))
    }

    async fn accept_invitation(
        &self,
        _: &str,
        _: &ClientToken,
    ) -> Result<EngagementTask, AceError> {
        Err(refused("StartEngagementByAcceptingInvitationTask"))
    }

    async fn reject_invitation(&self, _: &str, _: Option<&str>) -> Result<(), AceError> {
        Err(refused("RejectEngagementInvitation"))
    }
}

/// Salesforce, reads only.
#[derive(Debug)]
pub struct ReadOnlySalesforce(pub Arc<dyn SalesforceOrg>);

fn read_only() -> SalesforceError {
    SalesforceError::Config {
        problem: "ace-sync's API never writes to Salesforce; write-backs belong to the reconciler"
            .to_owned(),
    }
}

#[async_trait]
impl SalesforceOrg for ReadOnlySalesforce {
    async fn identity(&self) -> Result<Identity, SalesforceError> {
        self.0.identity().await
    }

    async fn read_opportunity(
        &self,
        id: &SfOpportunityId,
        fields: &[String],
    ) -> Result<SObject, SalesforceError> {
        self.0.read_opportunity(id, fields).await
    }

    async fn read_opportunities(
        &self,
        ids: &[SfOpportunityId],
        fields: &[String],
    ) -> Result<Vec<SObject>, SalesforceError> {
        self.0.read_opportunities(ids, fields).await
    }

    async fn write_back(
        &self,
        _: &SObject,
        _: &BTreeMap<String, Option<FieldValue>>,
    ) -> Result<WriteOutcome, SalesforceError> {
        Err(read_only())
    }

    async fn write_back_many(
        &self,
        _: Vec<(SObject, BTreeMap<String, Option<FieldValue>>)>,
    ) -> Result<Vec<Result<WriteOutcome, SalesforceError>>, SalesforceError> {
        Err(read_only())
    }

    async fn find_opportunity(
        &self,
        field: &str,
        value: &str,
        fields: &[String],
    ) -> Result<Option<SObject>, SalesforceError> {
        self.0.find_opportunity(field, value, fields).await
    }

    async fn upsert_opportunity(
        &self,
        _: &str,
        _: &str,
        _: &BTreeMap<String, Option<FieldValue>>,
    ) -> Result<Upserted, SalesforceError> {
        Err(read_only())
    }

    async fn find_ids(
        &self,
        object: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<SfRecordId>, SalesforceError> {
        self.0.find_ids(object, field, value).await
    }

    async fn find_opportunity_ids(
        &self,
        query: &OpportunityQuery,
    ) -> Result<Vec<SfOpportunityId>, SalesforceError> {
        self.0.find_opportunity_ids(query).await
    }

    async fn create_record(
        &self,
        _: &str,
        _: &BTreeMap<String, FieldValue>,
    ) -> Result<SfRecordId, SalesforceError> {
        Err(read_only())
    }
}
