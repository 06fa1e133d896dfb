//! The control API over HTTP, for a simulator running on its own (`ace-sync-dev sandbox
//! partner-central`), where no test holds a [`SimControl`](super::SimControl): AWS sends a
//! referral.
//!
//! `POST /__sim/aws-referrals` with a JSON object whose members (all optional, PascalCase)
//! override [`InvitationSpec::default`]: `Catalog`, `Title`, `CustomerCompanyName`, `Industry`,
//! `WebsiteUrl`, `CountryCode`, `BusinessProblem`, `TargetCompletionDate`,
//! `ExpectedMonthlySpendUsd`, `SenderCompanyName`, `SenderContacts`, `Message`,
//! `StreetAddress`, `City`, `StateOrRegion`, `PostalCode`, `CustomerContacts`,
//! `CustomerAwsAccountId`, `ExpiresInSeconds`; contacts are `{Email, FirstName, LastName,
//! BusinessTitle, Phone}`. Answers `201 {"Id", "Arn", "ExpirationDate"}`, or `400` with what
//! breaks AWS's model.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::invitations::{ContactSpec, InvitationSpec};
use super::service::Sim;
use super::store;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/__sim/aws-referrals", web::post().to(create_referral));
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ContactRequest {
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    business_title: Option<String>,
    phone: Option<String>,
}

impl From<ContactRequest> for ContactSpec {
    fn from(c: ContactRequest) -> Self {
        ContactSpec {
            email: c.email,
            first_name: c.first_name,
            last_name: c.last_name,
            business_title: c.business_title,
            phone: c.phone,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ReferralRequest {
    catalog: Option<String>,
    title: Option<String>,
    customer_company_name: Option<String>,
    industry: Option<String>,
    website_url: Option<String>,
    country_code: Option<String>,
    business_problem: Option<String>,
    target_completion_date: Option<String>,
    expected_monthly_spend_usd: Option<String>,
    sender_company_name: Option<String>,
    sender_contacts: Option<Vec<ContactRequest>>,
    message: Option<String>,
    street_address: Option<String>,
    city: Option<String>,
    state_or_region: Option<String>,
    postal_code: Option<String>,
    customer_contacts: Option<Vec<ContactRequest>>,
    customer_aws_account_id: Option<String>,
    expires_in_seconds: Option<u64>,
}

impl ReferralRequest {
    fn into_spec(self) -> InvitationSpec {
        let d = InvitationSpec::default();
        let contacts = |given: Option<Vec<ContactRequest>>, default: Vec<ContactSpec>| {
            given.map_or(default, |list| list.into_iter().map(Into::into).collect())
        };
        InvitationSpec {
            catalog: self.catalog.unwrap_or(d.catalog),
            title: self.title.unwrap_or(d.title),
            customer_company_name: self
                .customer_company_name
                .unwrap_or(d.customer_company_name),
            industry: self.industry.unwrap_or(d.industry),
            website_url: self.website_url.unwrap_or(d.website_url),
            country_code: self.country_code.unwrap_or(d.country_code),
            business_problem: self.business_problem.unwrap_or(d.business_problem),
            target_completion_date: self
                .target_completion_date
                .unwrap_or(d.target_completion_date),
            expected_monthly_spend_usd: self
                .expected_monthly_spend_usd
                .unwrap_or(d.expected_monthly_spend_usd),
            sender_company_name: self.sender_company_name.unwrap_or(d.sender_company_name),
            sender_contacts: contacts(self.sender_contacts, d.sender_contacts),
            message: self.message.unwrap_or(d.message),
            street_address: self.street_address.or(d.street_address),
            city: self.city.or(d.city),
            state_or_region: self.state_or_region.or(d.state_or_region),
            postal_code: self.postal_code.or(d.postal_code),
            customer_contacts: contacts(self.customer_contacts, d.customer_contacts),
            customer_aws_account_id: self.customer_aws_account_id.or(d.customer_aws_account_id),
            expires_in: self.expires_in_seconds.map(Duration::from_secs),
        }
    }
}

async fn create_referral(body: web::Bytes, sim: web::Data<Arc<Sim>>) -> HttpResponse {
    let request: ReferralRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReferralRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(e) => {
                return HttpResponse::BadRequest()
                    .json(json!({"Message": format!("The request body is not a referral: {e}")}));
            }
        }
    };
    let spec = request.into_spec();
    match sim.create_aws_invitation(&spec) {
        Ok(id) => {
            let state = sim.state();
            let Some(invitation) = state.invitations.get(&id) else {
                return HttpResponse::InternalServerError().finish();
            };
            tracing::info!(invitation = %id, title = %spec.title, "AWS sent a referral");
            HttpResponse::Created().json(json!({
                "Id": invitation.id,
                "Arn": invitation.arn,
                "ExpirationDate": store::format_time(invitation.expiration_date),
            }))
        }
        Err(problems) => HttpResponse::BadRequest().json(json!({
            "Message": "The referral breaks AWS's model.",
            "Problems": problems,
        })),
    }
}
