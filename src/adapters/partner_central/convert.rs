//! The one place where the typed ACE opportunity meets the SDK's types, both ways. The SDK's
//! enum variants are not the wire strings (`Industry::SoftwareInternet` is "Software and
//! Internet", `ReviewStatus::InReview` is "In review"), so enums cross as strings through
//! `From<&str>` and `.as_str()`, which round-trip every value, known or not.

use aws_sdk_partnercentralselling::primitives::DateTime;
use aws_sdk_partnercentralselling::types as sdk;
use time::OffsetDateTime;

use crate::ace::opportunity::{
    Account, Address, Contact, Customer, ExpectedContractDuration, ExpectedCustomerSpend,
    LifeCycle, Marketing, MonetaryValue, NextStepsHistory, Opportunity, Project, RelatedEntities,
    SoftwareRevenue,
};

/// A required member of a nested SDK structure was missing (`Account.CompanyName`,
/// `ExpectedCustomerSpend.CurrencyCode`, …): the SDK cannot even build the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is required")]
pub struct MissingMember {
    pub field: &'static str,
}

fn enums<T: for<'a> From<&'a str>>(values: &Option<Vec<String>>) -> Option<Vec<T>> {
    values
        .as_ref()
        .map(|v| v.iter().map(|s| T::from(s.as_str())).collect())
}

fn enum_of<T: for<'a> From<&'a str>>(value: &Option<String>) -> Option<T> {
    value.as_deref().map(T::from)
}

fn strings<T, F: Fn(&T) -> &str>(items: &[T], as_str: F) -> Option<Vec<String>> {
    (!items.is_empty()).then(|| items.iter().map(|i| as_str(i).to_owned()).collect())
}

fn owned(value: Option<&str>) -> Option<String> {
    value.filter(|s| !s.is_empty()).map(str::to_owned)
}

pub fn to_datetime(t: OffsetDateTime) -> DateTime {
    DateTime::from_secs_and_nanos(t.unix_timestamp(), t.nanosecond())
}

pub fn from_datetime(t: &DateTime) -> Option<OffsetDateTime> {
    let nanos = i128::from(t.secs()) * 1_000_000_000 + i128::from(t.subsec_nanos());
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

// ---- ours → SDK -----------------------------------------------------------------------------

pub fn customer_to_sdk(customer: &Customer) -> Result<sdk::Customer, MissingMember> {
    let account = match &customer.account {
        None => None,
        Some(account) => Some(
            sdk::Account::builder()
                .set_industry(enum_of(&account.industry))
                .set_other_industry(account.other_industry.clone())
                .set_company_name(account.company_name.clone())
                .set_website_url(account.website_url.clone())
                .set_aws_account_id(account.aws_account_id.clone())
                .set_duns(account.duns.clone())
                .set_address(account.address.as_ref().map(|a| {
                    sdk::Address::builder()
                        .set_city(a.city.clone())
                        .set_postal_code(a.postal_code.clone())
                        .set_state_or_region(a.state_or_region.clone())
                        .set_country_code(enum_of(&a.country_code))
                        .set_street_address(a.street_address.clone())
                        .build()
                }))
                .build()
                .map_err(|_| MissingMember {
                    field: "Customer.Account.CompanyName",
                })?,
        ),
    };
    Ok(sdk::Customer::builder()
        .set_account(account)
        .set_contacts(
            customer
                .contacts
                .as_ref()
                .map(|c| c.iter().map(contact_to_sdk).collect()),
        )
        .build())
}

pub fn contact_to_sdk(contact: &Contact) -> sdk::Contact {
    sdk::Contact::builder()
        .set_email(contact.email.clone())
        .set_first_name(contact.first_name.clone())
        .set_last_name(contact.last_name.clone())
        .set_business_title(contact.business_title.clone())
        .set_phone(contact.phone.clone())
        .build()
}

pub fn project_to_sdk(project: &Project) -> Result<sdk::Project, MissingMember> {
    let spend = match &project.expected_customer_spend {
        None => None,
        Some(items) => Some(
            items
                .iter()
                .map(|s| {
                    sdk::ExpectedCustomerSpend::builder()
                        .set_amount(s.amount.clone())
                        .set_currency_code(enum_of(&s.currency_code))
                        .set_frequency(enum_of(&s.frequency))
                        .set_target_company(s.target_company.clone())
                        .set_estimation_url(s.estimation_url.clone())
                        .build()
                        .map_err(|_| MissingMember {
                            field: "Project.ExpectedCustomerSpend",
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let duration = match &project.expected_contract_duration {
        None => None,
        Some(d) => Some(
            sdk::ExpectedContractDuration::builder()
                .set_term(enum_of(&d.term))
                .set_value(d.value.clone())
                .build()
                .map_err(|_| MissingMember {
                    field: "Project.ExpectedContractDuration",
                })?,
        ),
    };
    Ok(sdk::Project::builder()
        .set_delivery_models(enums(&project.delivery_models))
        .set_expected_customer_spend(spend)
        .set_expected_contract_duration(duration)
        .set_title(project.title.clone())
        .set_apn_programs(project.apn_programs.clone())
        .set_customer_business_problem(project.customer_business_problem.clone())
        .set_customer_use_case(project.customer_use_case.clone())
        .set_related_opportunity_identifier(project.related_opportunity_identifier.clone())
        .set_sales_activities(enums(&project.sales_activities))
        .set_competitor_name(enum_of(&project.competitor_name))
        .set_other_competitor_names(project.other_competitor_names.clone())
        .set_other_solution_description(project.other_solution_description.clone())
        .set_additional_comments(project.additional_comments.clone())
        .set_aws_partition(enum_of(&project.aws_partition))
        .build())
}

pub fn marketing_to_sdk(marketing: &Marketing) -> sdk::Marketing {
    sdk::Marketing::builder()
        .set_campaign_name(marketing.campaign_name.clone())
        .set_source(enum_of(&marketing.source))
        .set_use_cases(marketing.use_cases.clone())
        .set_channels(enums(&marketing.channels))
        .set_aws_funding_used(enum_of(&marketing.aws_funding_used))
        .build()
}

pub fn software_revenue_to_sdk(
    revenue: &SoftwareRevenue,
) -> Result<sdk::SoftwareRevenue, MissingMember> {
    let value = match &revenue.value {
        None => None,
        Some(v) => Some(
            sdk::MonetaryValue::builder()
                .set_amount(v.amount.clone())
                .set_currency_code(enum_of(&v.currency_code))
                .build()
                .map_err(|_| MissingMember {
                    field: "SoftwareRevenue.Value",
                })?,
        ),
    };
    Ok(sdk::SoftwareRevenue::builder()
        .set_delivery_model(enum_of(&revenue.delivery_model))
        .set_value(value)
        .set_effective_date(revenue.effective_date.clone())
        .set_expiration_date(revenue.expiration_date.clone())
        .build())
}

/// The writable part of LifeCycle; the read-only members are never sent (in the Sandbox
/// catalog a ReviewStatus would simulate AWS's review).
pub fn life_cycle_to_sdk(life_cycle: &LifeCycle) -> sdk::LifeCycle {
    sdk::LifeCycle::builder()
        .set_stage(enum_of(&life_cycle.stage))
        .set_closed_lost_reason(enum_of(&life_cycle.closed_lost_reason))
        .set_next_steps(life_cycle.next_steps.clone())
        .set_target_close_date(life_cycle.target_close_date.clone())
        .build()
}

/// The SDK values of an opportunity body, member by member, for the Create and Update builders.
pub struct SdkBody {
    pub primary_needs_from_aws: Option<Vec<sdk::PrimaryNeedFromAws>>,
    pub national_security: Option<sdk::NationalSecurity>,
    pub partner_opportunity_identifier: Option<String>,
    pub customer: Option<sdk::Customer>,
    pub project: Option<sdk::Project>,
    pub opportunity_type: Option<sdk::OpportunityType>,
    pub marketing: Option<sdk::Marketing>,
    pub software_revenue: Option<sdk::SoftwareRevenue>,
    pub life_cycle: Option<sdk::LifeCycle>,
}

pub fn body_to_sdk(body: &Opportunity) -> Result<SdkBody, MissingMember> {
    Ok(SdkBody {
        primary_needs_from_aws: enums(&body.primary_needs_from_aws),
        national_security: enum_of(&body.national_security),
        partner_opportunity_identifier: body.partner_opportunity_identifier.clone(),
        customer: body.customer.as_ref().map(customer_to_sdk).transpose()?,
        project: body.project.as_ref().map(project_to_sdk).transpose()?,
        opportunity_type: enum_of(&body.opportunity_type),
        marketing: body.marketing.as_ref().map(marketing_to_sdk),
        software_revenue: body
            .software_revenue
            .as_ref()
            .map(software_revenue_to_sdk)
            .transpose()?,
        life_cycle: body.life_cycle.as_ref().map(life_cycle_to_sdk),
    })
}

// ---- SDK → ours -----------------------------------------------------------------------------

pub fn customer_from_sdk(customer: &sdk::Customer) -> Customer {
    Customer {
        account: customer.account().map(|a| Account {
            industry: a.industry().map(|i| i.as_str().to_owned()),
            other_industry: owned(a.other_industry()),
            company_name: owned(Some(a.company_name())),
            website_url: owned(a.website_url()),
            aws_account_id: owned(a.aws_account_id()),
            address: a.address().map(|ad| Address {
                city: owned(ad.city()),
                postal_code: owned(ad.postal_code()),
                state_or_region: owned(ad.state_or_region()),
                country_code: ad.country_code().map(|c| c.as_str().to_owned()),
                street_address: owned(ad.street_address()),
            }),
            duns: owned(a.duns()),
        }),
        contacts: (!customer.contacts().is_empty())
            .then(|| customer.contacts().iter().map(contact_from_sdk).collect()),
    }
}

pub fn contact_from_sdk(contact: &sdk::Contact) -> Contact {
    Contact {
        email: owned(contact.email()),
        first_name: owned(contact.first_name()),
        last_name: owned(contact.last_name()),
        business_title: owned(contact.business_title()),
        phone: owned(contact.phone()),
    }
}

pub fn project_from_sdk(project: &sdk::Project) -> Project {
    Project {
        delivery_models: strings(project.delivery_models(), |d| d.as_str()),
        expected_customer_spend: (!project.expected_customer_spend().is_empty()).then(|| {
            project
                .expected_customer_spend()
                .iter()
                .map(|s| ExpectedCustomerSpend {
                    amount: owned(Some(s.amount())),
                    currency_code: owned(Some(s.currency_code().as_str())),
                    frequency: owned(Some(s.frequency().as_str())),
                    target_company: owned(Some(s.target_company())),
                    estimation_url: owned(s.estimation_url()),
                })
                .collect()
        }),
        expected_contract_duration: project.expected_contract_duration().map(|d| {
            ExpectedContractDuration {
                term: owned(Some(d.term().as_str())),
                value: owned(Some(d.value())),
            }
        }),
        title: owned(project.title()),
        apn_programs: strings(project.apn_programs(), |s| s.as_str()),
        customer_business_problem: owned(project.customer_business_problem()),
        customer_use_case: owned(project.customer_use_case()),
        related_opportunity_identifier: owned(project.related_opportunity_identifier()),
        sales_activities: strings(project.sales_activities(), |s| s.as_str()),
        competitor_name: project.competitor_name().map(|c| c.as_str().to_owned()),
        other_competitor_names: owned(project.other_competitor_names()),
        other_solution_description: owned(project.other_solution_description()),
        additional_comments: owned(project.additional_comments()),
        aws_partition: project.aws_partition().map(|p| p.as_str().to_owned()),
    }
}

pub fn marketing_from_sdk(marketing: &sdk::Marketing) -> Marketing {
    Marketing {
        campaign_name: owned(marketing.campaign_name()),
        source: marketing.source().map(|s| s.as_str().to_owned()),
        use_cases: strings(marketing.use_cases(), |s| s.as_str()),
        channels: strings(marketing.channels(), |c| c.as_str()),
        aws_funding_used: marketing.aws_funding_used().map(|a| a.as_str().to_owned()),
    }
}

pub fn software_revenue_from_sdk(revenue: &sdk::SoftwareRevenue) -> SoftwareRevenue {
    SoftwareRevenue {
        delivery_model: revenue.delivery_model().map(|d| d.as_str().to_owned()),
        value: revenue.value().map(|v| MonetaryValue {
            amount: owned(Some(v.amount())),
            currency_code: owned(Some(v.currency_code().as_str())),
        }),
        effective_date: owned(revenue.effective_date()),
        expiration_date: owned(revenue.expiration_date()),
    }
}

pub fn life_cycle_from_sdk(life_cycle: &sdk::LifeCycle) -> LifeCycle {
    LifeCycle {
        stage: life_cycle.stage().map(|s| s.as_str().to_owned()),
        closed_lost_reason: life_cycle
            .closed_lost_reason()
            .map(|r| r.as_str().to_owned()),
        next_steps: owned(life_cycle.next_steps()),
        target_close_date: owned(life_cycle.target_close_date()),
        review_status: life_cycle.review_status().map(|r| r.as_str().to_owned()),
        review_comments: owned(life_cycle.review_comments()),
        review_status_reason: owned(life_cycle.review_status_reason()),
        next_steps_history: (!life_cycle.next_steps_history().is_empty()).then(|| {
            life_cycle
                .next_steps_history()
                .iter()
                .filter_map(|h| {
                    Some(NextStepsHistory {
                        value: h.value().to_owned(),
                        time: from_datetime(h.time())?,
                    })
                })
                .collect()
        }),
    }
}

pub fn related_from_sdk(related: Option<&sdk::RelatedEntityIdentifiers>) -> RelatedEntities {
    let Some(r) = related else {
        return RelatedEntities::default();
    };
    RelatedEntities {
        solutions: r.solutions().to_vec(),
        aws_products: r.aws_products().to_vec(),
        aws_marketplace_offers: r.aws_marketplace_offers().to_vec(),
        aws_marketplace_offer_sets: r.aws_marketplace_offer_sets().to_vec(),
        aws_marketplace_solutions: r.aws_marketplace_solutions().to_vec(),
        aws_marketplace_products: r.aws_marketplace_products().to_vec(),
    }
}

/// The body of a GetOpportunity answer.
pub fn body_from_get(
    out: &aws_sdk_partnercentralselling::operation::get_opportunity::GetOpportunityOutput,
) -> Opportunity {
    Opportunity {
        primary_needs_from_aws: strings(out.primary_needs_from_aws(), |n| n.as_str()),
        national_security: out.national_security().map(|n| n.as_str().to_owned()),
        partner_opportunity_identifier: owned(out.partner_opportunity_identifier()),
        customer: out.customer().map(customer_from_sdk),
        project: out.project().map(project_from_sdk),
        opportunity_type: out.opportunity_type().map(|t| t.as_str().to_owned()),
        marketing: out.marketing().map(marketing_from_sdk),
        software_revenue: out.software_revenue().map(software_revenue_from_sdk),
        life_cycle: out.life_cycle().map(life_cycle_from_sdk),
    }
    .normalized()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_sample_body_survives_the_sdk_round_trip() {
        let mut sample: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/ace/createOpportunity.json"
        ))
        .unwrap();
        for key in ["ClientToken", "Catalog", "Origin", "OpportunityTeam"] {
            sample.as_object_mut().unwrap().remove(key);
        }
        sample["LifeCycle"]
            .as_object_mut()
            .unwrap()
            .remove("ReviewStatus");
        let ours = Opportunity::from_json(sample).unwrap();
        let sdk = body_to_sdk(&ours).unwrap();
        let back = Opportunity {
            primary_needs_from_aws: sdk
                .primary_needs_from_aws
                .as_ref()
                .map(|v| v.iter().map(|n| n.as_str().to_owned()).collect()),
            national_security: sdk.national_security.map(|n| n.as_str().to_owned()),
            partner_opportunity_identifier: sdk.partner_opportunity_identifier.clone(),
            customer: sdk.customer.as_ref().map(customer_from_sdk),
            project: sdk.project.as_ref().map(project_from_sdk),
            opportunity_type: sdk.opportunity_type.map(|t| t.as_str().to_owned()),
            marketing: sdk.marketing.as_ref().map(marketing_from_sdk),
            software_revenue: sdk.software_revenue.as_ref().map(software_revenue_from_sdk),
            life_cycle: sdk.life_cycle.as_ref().map(life_cycle_from_sdk),
        }
        .normalized();
        assert_eq!(back, ours.normalized());
        // The wire strings survive even where the Rust variant is spelled differently.
        let industry = sdk.customer.unwrap().account.unwrap().industry.unwrap();
        assert_eq!(industry, sdk::Industry::FinancialServices);
        assert_eq!(industry.as_str(), "Financial Services");
    }

    #[test]
    fn unknown_enum_values_round_trip() {
        let ours = Opportunity {
            opportunity_type: Some("Brand New Kind".into()),
            ..Default::default()
        };
        let sdk = body_to_sdk(&ours).unwrap();
        assert_eq!(sdk.opportunity_type.unwrap().as_str(), "Brand New Kind");
    }

    #[test]
    fn a_missing_company_name_cannot_build() {
        let ours = Opportunity {
            customer: Some(Customer {
                account: Some(Account::default()),
                contacts: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            body_to_sdk(&ours).err(),
            Some(MissingMember {
                field: "Customer.Account.CompanyName"
            })
        );
    }

    #[test]
    fn datetimes_convert_both_ways() {
        let t = time::macros::datetime!(2025-01-02 03:04:05.678 UTC);
        assert_eq!(from_datetime(&to_datetime(t)), Some(t));
    }
}
