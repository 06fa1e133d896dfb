//! AssociateOpportunity / DisassociateOpportunity against the seeded solutions, AWS's product
//! list and the identifier formats (ace-api.md §3, §10).

use super::*;

#[tokio::test]
async fn associations_are_checked_against_solutions_products_and_formats() {
    let sim = TestSim::new().await;
    let solutions = sim
        .client
        .list_solutions()
        .catalog("Sandbox")
        .send()
        .await
        .expect("solutions");
    assert_eq!(solutions.solution_summaries()[0].id(), "S-0001111");
    assert!(solutions.next_token().is_some());
    let sandbox = sim
        .client
        .list_solutions()
        .catalog("Sandbox")
        .identifier("S-1234567")
        .send()
        .await
        .expect("by id");
    assert_eq!(sandbox.solution_summaries().len(), 1);
    assert_eq!(
        sandbox.solution_summaries()[0].status(),
        &pcs::types::SolutionStatus::Active
    );
    let all: Vec<_> = sim
        .client
        .list_solutions()
        .catalog("Sandbox")
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert!(all.len() > 20);

    let id = create(&sim, "assoc").await;
    let assoc = |kind: RelatedEntityType, entity: &str| {
        sim.client
            .associate_opportunity()
            .catalog("Sandbox")
            .opportunity_identifier(&id)
            .related_entity_type(kind)
            .related_entity_identifier(entity)
            .send()
    };
    use pcs::operation::associate_opportunity::AssociateOpportunityError as E;
    match assoc(RelatedEntityType::Solutions, "S-7654321")
        .await
        .expect_err("unknown")
        .into_service_error()
    {
        E::ResourceNotFoundException(e) => {
            assert!(e.message().is_some_and(|m| m.contains("S-7654321")))
        }
        other => panic!("{other:?}"),
    }
    match assoc(RelatedEntityType::Solutions, "SOL-1")
        .await
        .expect_err("format")
        .into_service_error()
    {
        E::ValidationException(e) => {
            assert_eq!(
                fields(&e),
                vec![(
                    "RelatedEntityIdentifier".to_owned(),
                    ValidationExceptionErrorCode::InvalidStringFormat
                )]
            );
        }
        other => panic!("{other:?}"),
    }
    match assoc(RelatedEntityType::AwsProducts, "AmazonTeleporter")
        .await
        .expect_err("product")
        .into_service_error()
    {
        E::ValidationException(e) => assert!(
            e.error_list()[0]
                .message()
                .contains("must be one of the allowed AWS products")
        ),
        other => panic!("{other:?}"),
    }
    let offer = "arn:aws:aws-marketplace:us-east-1:123456789012:AWSMarketplace/Offer/offer-abc";
    assoc(RelatedEntityType::AwsMarketplaceOffers, offer)
        .await
        .expect("offer");
    let other = create(&sim, "assoc-2").await;
    let err = sim
        .client
        .associate_opportunity()
        .catalog("Sandbox")
        .opportunity_identifier(&other)
        .related_entity_type(RelatedEntityType::AwsMarketplaceOffers)
        .related_entity_identifier(offer)
        .send()
        .await
        .expect_err("offer taken");
    match err.into_service_error() {
        E::ValidationException(e) => assert_eq!(
            e.error_list()[0].code(),
            &ValidationExceptionErrorCode::DuplicateKeyValue
        ),
        other => panic!("{other:?}"),
    }
    assoc(RelatedEntityType::Solutions, "S-1234567")
        .await
        .expect("solution");
    let got = get(&sim, &id).await;
    assert_eq!(
        got.related_entity_identifiers()
            .map(|r| r.solutions().to_vec()),
        Some(vec!["S-1234567".to_owned()])
    );
    sim.client
        .disassociate_opportunity()
        .catalog("Sandbox")
        .opportunity_identifier(&id)
        .related_entity_type(RelatedEntityType::Solutions)
        .related_entity_identifier("S-1234567")
        .send()
        .await
        .expect("disassociate");
    let err = sim
        .client
        .disassociate_opportunity()
        .catalog("Sandbox")
        .opportunity_identifier(&id)
        .related_entity_type(RelatedEntityType::Solutions)
        .related_entity_identifier("S-1234567")
        .send()
        .await
        .expect_err("not associated");
    assert!(matches!(err.into_service_error(), pcs::operation::disassociate_opportunity::DisassociateOpportunityError::ResourceNotFoundException(_)));
    assert!(
        get(&sim, &id)
            .await
            .related_entity_identifiers()
            .is_some_and(|r| r.solutions().is_empty())
    );
    sim.finish().await;
}
