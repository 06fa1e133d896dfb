//! AWS referrals: engagement invitations with the payload AWS shares (and what it withholds
//! until acceptance), read, accepted through StartEngagementByAcceptingInvitationTask or
//! rejected, and sent to a standalone simulator over HTTP (ace-api.md §3, §9).

use serde_json::json;

use super::*;

#[tokio::test]
async fn aws_referrals_arrive_as_invitations_that_can_be_accepted_or_rejected() {
    let sim = TestSim::new().await;
    let invitation = sim
        .control()
        .create_aws_invitation(&InvitationSpec::default())
        .expect("a valid referral");
    let list = sim
        .client
        .list_engagement_invitations()
        .catalog("Sandbox")
        .participant_type(ParticipantType::Receiver)
        .send()
        .await
        .expect("list");
    let summaries = list.engagement_invitation_summaries();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].id(), invitation);
    assert_eq!(
        summaries[0].status(),
        Some(&pcs::types::InvitationStatus::Pending)
    );
    let got = sim
        .client
        .get_engagement_invitation()
        .catalog("Sandbox")
        .identifier(&invitation)
        .send()
        .await
        .expect("get");
    let payload = match got.payload() {
        Some(pcs::types::Payload::OpportunityInvitation(p)) => p.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        payload.customer().map(|c| c.company_name()),
        Some("Northwind Traders")
    );
    assert_eq!(
        payload.project().map(|p| p.title()),
        Some("Contact center modernization")
    );

    let accept = |token: &str, id: &str| {
        sim.client
            .start_engagement_by_accepting_invitation_task()
            .catalog("Sandbox")
            .client_token(token)
            .identifier(id)
            .send()
    };
    let task = accept("accept-1", &invitation).await.expect("accept");
    assert_eq!(task.task_status(), Some(&pcs::types::TaskStatus::Complete));
    let opportunity = task.opportunity_id().expect("opportunity").to_owned();
    // Calling again with the same token reports the same task.
    let again = accept("accept-1", &invitation).await.expect("replay");
    assert_eq!(again.task_id(), task.task_id());
    let created = get(&sim, &opportunity).await;
    assert_eq!(
        created.project().and_then(|p| p.title()),
        Some("Contact center modernization")
    );
    assert_eq!(
        created.life_cycle().and_then(|l| l.stage()),
        Some(&Stage::Prospect)
    );
    let summary = sim
        .client
        .get_aws_opportunity_summary()
        .catalog("Sandbox")
        .related_opportunity_identifier(&opportunity)
        .send()
        .await
        .expect("summary");
    assert_eq!(summary.origin(), Some(&OpportunityOrigin::AwsReferral));
    let tasks = sim
        .client
        .list_engagement_by_accepting_invitation_tasks()
        .catalog("Sandbox")
        .send()
        .await
        .expect("tasks");
    assert_eq!(tasks.task_summaries().len(), 1);
    assert_eq!(
        sim.control().invitation_status(&invitation).as_deref(),
        Some("ACCEPTED")
    );
    // Accepting it with another token: the task fails, it is not an error.
    let conflict = accept("accept-2", &invitation).await.expect("task");
    assert_eq!(
        conflict.task_status(),
        Some(&pcs::types::TaskStatus::Failed)
    );
    assert_eq!(
        conflict.reason_code(),
        Some(&pcs::types::ReasonCode::EngagementInvitationConflict)
    );

    // Rejecting a second one, then again (a conflict).
    let second = sim
        .control()
        .create_aws_invitation(&InvitationSpec {
            title: "Data lake".into(),
            ..InvitationSpec::default()
        })
        .expect("a valid referral");
    let reject = || {
        sim.client
            .reject_engagement_invitation()
            .catalog("Sandbox")
            .identifier(&second)
            .rejection_reason("Customer problem unclear")
            .send()
    };
    reject().await.expect("reject");
    assert_eq!(
        sim.control().invitation_status(&second).as_deref(),
        Some("REJECTED")
    );
    match reject().await.expect_err("twice").into_service_error() {
        pcs::operation::reject_engagement_invitation::RejectEngagementInvitationError::ConflictException(_) => {}
        other => panic!("{other:?}"),
    }
    // An expired one cannot be accepted.
    let third = sim
        .control()
        .create_aws_invitation(&InvitationSpec::default())
        .expect("a valid referral");
    assert!(sim.control().expire_invitation(&third));
    let expired = accept("accept-3", &third).await.expect("task");
    assert_eq!(
        expired.reason_code(),
        Some(&pcs::types::ReasonCode::InvitationValidationFailed)
    );
    // Status filter.
    let pending = sim
        .client
        .list_engagement_invitations()
        .catalog("Sandbox")
        .participant_type(ParticipantType::Receiver)
        .status(pcs::types::InvitationStatus::Rejected)
        .send()
        .await
        .expect("list");
    assert_eq!(pending.engagement_invitation_summaries().len(), 1);
    let types: Vec<String> = sim
        .control()
        .events()
        .iter()
        .filter_map(|e| e["detail-type"].as_str().map(str::to_owned))
        .collect();
    for expected in [
        "Engagement Invitation Created",
        "Engagement Invitation Accepted",
        "Engagement Invitation Rejected",
        "Engagement Invitation Expired",
        "Opportunity Created",
    ] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} in {types:?}"
        );
    }
    let unknown = sim
        .client
        .get_engagement_invitation()
        .catalog("Sandbox")
        .identifier("engi-0000000000000")
        .send()
        .await
        .expect_err("unknown");
    assert!(matches!(unknown.into_service_error(), pcs::operation::get_engagement_invitation::GetEngagementInvitationError::ResourceNotFoundException(_)));
    sim.finish().await;
}

/// One raw awsJson call, for assertions on the exact answer.
async fn raw_call(sim: &TestSim, operation: &str, input: Value) -> Value {
    reqwest::Client::new()
        .post(sim.handle.endpoint_url())
        .header("content-type", "application/x-amz-json-1.0")
        .header(
            "x-amz-target",
            format!("AWSPartnerCentralSelling.{operation}"),
        )
        .body(input.to_string())
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json")
}

/// Every string a JSON document holds, at any depth.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn an_aws_referral_shares_its_payload_and_withholds_the_rest_until_accepted() {
    let sim = TestSim::new().await;
    let spec = InvitationSpec::default();
    let invitation = sim
        .control()
        .create_aws_invitation(&spec)
        .expect("a valid referral");
    let got = sim
        .client
        .get_engagement_invitation()
        .catalog("Sandbox")
        .identifier(&invitation)
        .send()
        .await
        .expect("get");
    assert_eq!(got.status(), Some(&pcs::types::InvitationStatus::Pending));
    assert_eq!(got.sender_aws_account_id(), Some("AWS"));
    assert_eq!(got.sender_company_name(), Some("Amazon Web Services"));
    assert_eq!(got.invitation_message(), Some(spec.message.as_str()));
    let days = (*got.expiration_date().expect("expiration")).secs()
        - (*got.invitation_date().expect("date")).secs();
    assert_eq!(days, 15 * 24 * 3600, "the default window");
    let Some(pcs::types::Payload::OpportunityInvitation(payload)) = got.payload() else {
        panic!("{got:?}")
    };
    let customer = payload.customer().expect("customer");
    assert_eq!(
        (
            customer.company_name(),
            customer.industry().as_str(),
            customer.website_url(),
            customer.country_code().as_str()
        ),
        (
            "Northwind Traders",
            "Retail",
            "https://northwind.example",
            "US"
        )
    );
    let project = payload.project().expect("project");
    assert_eq!(project.title(), spec.title);
    assert_eq!(project.business_problem(), spec.business_problem);
    assert_eq!(
        project.target_completion_date(),
        spec.target_completion_date
    );
    assert_eq!(project.expected_customer_spend()[0].amount(), "8000");
    let sender = &payload.sender_contacts()[0];
    assert_eq!(
        (
            sender.email(),
            sender.first_name(),
            sender.last_name(),
            sender.phone()
        ),
        (
            "dana.whitfield@aws-sales.example",
            Some("Dana"),
            Some("Whitfield"),
            Some("+12065550142")
        )
    );
    // What AWS withholds before acceptance appears nowhere in what the partner can read.
    let withheld = [
        "2200 Harbor Way",
        "Seattle",
        "98121",
        "ops.director@northwind.example",
        "Priya",
        "210987654321",
    ];
    let raw_get = raw_call(
        &sim,
        "GetEngagementInvitation",
        json!({"Catalog": "Sandbox", "Identifier": invitation}),
    )
    .await;
    let list = raw_call(
        &sim,
        "ListEngagementInvitations",
        json!({"Catalog": "Sandbox", "ParticipantType": "RECEIVER"}),
    )
    .await;
    let readable: Vec<String> = strings(&raw_get)
        .into_iter()
        .chain(strings(&list))
        .chain(sim.control().events().iter().flat_map(strings))
        .collect();
    for secret in withheld {
        assert!(
            !readable.iter().any(|s| s.contains(secret)),
            "{secret} before acceptance"
        );
    }

    // Accepted: the partner's opportunity holds everything.
    let task = sim
        .client
        .start_engagement_by_accepting_invitation_task()
        .catalog("Sandbox")
        .client_token("accept")
        .identifier(&invitation)
        .send()
        .await
        .expect("accept");
    let opportunity = task.opportunity_id().expect("created").to_owned();
    let created = get(&sim, &opportunity).await;
    let account = created
        .customer()
        .and_then(|c| c.account())
        .expect("account");
    let address = account.address().expect("address");
    assert_eq!(
        (
            address.street_address(),
            address.city(),
            address.state_or_region(),
            address.postal_code()
        ),
        (
            Some("2200 Harbor Way"),
            Some("Seattle"),
            Some("Washington"),
            Some("98121")
        )
    );
    assert_eq!(account.aws_account_id(), Some("210987654321"));
    let contact = &created.customer().expect("customer").contacts()[0];
    assert_eq!(contact.email(), Some("ops.director@northwind.example"));
    assert_eq!(
        created.life_cycle().and_then(|l| l.target_close_date()),
        Some(spec.target_completion_date.as_str())
    );
    let summary = sim
        .client
        .get_aws_opportunity_summary()
        .catalog("Sandbox")
        .related_opportunity_identifier(&opportunity)
        .send()
        .await
        .expect("summary");
    assert_eq!(summary.origin(), Some(&OpportunityOrigin::AwsReferral));
    let created_events: Vec<Value> = sim
        .control()
        .events()
        .into_iter()
        .filter(|e| e["detail-type"] == "Opportunity Created")
        .collect();
    assert_eq!(created_events.len(), 1);
    assert_eq!(
        created_events[0]["detail"]["opportunity"]["identifier"],
        opportunity.as_str()
    );
    let invitation_created = sim
        .control()
        .events()
        .into_iter()
        .find(|e| e["detail-type"] == "Engagement Invitation Created")
        .expect("the event");
    let detail = &invitation_created["detail"]["engagementInvitation"];
    assert_eq!(detail["id"], invitation.as_str());
    assert_eq!(detail["participantType"], "Receiver");
    assert!(detail["expirationDate"].is_string(), "{detail}");
    sim.finish().await;
}

#[tokio::test]
async fn a_standalone_simulator_takes_referrals_over_http() {
    let sim = TestSim::start(SimConfig {
        invitation_expiry: Duration::from_secs(3600),
        ..SimConfig::for_tests()
    })
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/__sim/aws-referrals", sim.handle.endpoint_url());
    let created = http
        .post(&url)
        .json(&json!({
            "Title": "Genomics pipeline",
            "CustomerCompanyName": "Contoso Labs",
            "Industry": "Life Sciences",
            "CountryCode": "DE",
            "PostalCode": "10115",
            "SenderContacts": [{"Email": "kai@aws-sales.example", "FirstName": "Kai"}],
        }))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.expect("json");
    let id = body["Id"].as_str().expect("id").to_owned();
    let got = sim
        .client
        .get_engagement_invitation()
        .catalog("Sandbox")
        .identifier(&id)
        .send()
        .await
        .expect("get");
    assert_eq!(got.engagement_title(), Some("Genomics pipeline"));
    assert_eq!(
        got.expiration_date()
            .map(|d| d.secs() - got.invitation_date().unwrap().secs()),
        Some(3600)
    );
    let Some(pcs::types::Payload::OpportunityInvitation(payload)) = got.payload() else {
        panic!("{got:?}")
    };
    assert_eq!(
        payload.customer().map(|c| c.company_name()),
        Some("Contoso Labs")
    );
    assert_eq!(payload.sender_contacts()[0].first_name(), Some("Kai"));
    // Values AWS's model does not take are refused, naming them.
    let refused = http
        .post(&url)
        .json(&json!({"Industry": "Space Tourism"}))
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.expect("json");
    assert!(body["Problems"].to_string().contains("Industry"), "{body}");
    let unknown = http
        .post(&url)
        .json(&json!({"Colour": "blue"}))
        .send()
        .await
        .expect("post");
    assert_eq!(unknown.status(), 400);
    sim.finish().await;
}
