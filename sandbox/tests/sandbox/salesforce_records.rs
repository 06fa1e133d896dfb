//! The Salesforce simulator creates records and upserts them by External ID over REST as an
//! org does (salesforce.md §4): the checks of an update plus the required fields, unique
//! External IDs, `201`/`200`/`204`/`300`/`404` by case, and the workflow rule for a record
//! created in the state it watches.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use url::Url;

use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::{FieldValue, parse_date};
use ace_sync_sandbox::salesforce::{
    NotificationState, OutboundConfig, SalesforceSim, Seed, SimConfig,
};

/// A session of the integration user, minted through the JWT bearer endpoint.
async fn session(sim: &SalesforceSim) -> String {
    #[derive(serde::Serialize)]
    struct Claims<'a> {
        iss: &'a str,
        sub: &'a str,
        aud: &'a str,
        exp: u64,
    }
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 120;
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(sim.keys().private_pem().expose().as_bytes())
        .expect("key");
    let assertion = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &Claims {
            iss: sim.consumer_key(),
            sub: sim.username(),
            aud: "https://login.salesforce.com",
            exp,
        },
        &key,
    )
    .expect("sign");
    let answer: Value = reqwest::Client::new()
        .post(sim.base_url().join("/services/oauth2/token").expect("url"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.as_str()),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    answer["access_token"].as_str().expect("a token").to_owned()
}

struct Rest {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Rest {
    async fn new(sim: &SalesforceSim) -> Rest {
        Rest {
            http: reqwest::Client::new(),
            base: sim.base_url().as_str().trim_end_matches('/').to_owned(),
            token: session(sim).await,
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the simulator answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
}

const V: &str = "/services/data/v62.0";

fn error_code(body: &Value) -> &str {
    body[0]["errorCode"].as_str().unwrap_or_default()
}

fn opportunity(name: &str) -> Value {
    json!({"Name": name, "StageName": "Prospecting", "CloseDate": "2030-03-31"})
}

#[tokio::test]
async fn records_are_created_with_the_checks_of_an_update_and_the_required_fields() {
    let sim = SalesforceSim::start(SimConfig::new(Seed::small()))
        .await
        .expect("start");
    let rest = Rest::new(&sim).await;
    let mut body = opportunity("Northwind - Referral");
    body["ACE_Origin__c"] = json!("AWS Referral");
    body["ACE_Customer_Country__c"] = json!("US");
    let (status, created) = rest.post(&format!("{V}/sobjects/Opportunity/"), body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["success"], true);
    assert_eq!(created["errors"], json!([]));
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("006") && id.len() == 18, "{id}");
    let (status, got) = rest.get(&format!("{V}/sobjects/Opportunity/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["ACE_Origin__c"], "AWS Referral");
    assert_eq!(got["IsClosed"], false, "the stage's derived fields are set");
    assert_eq!(got["Probability"], 10);

    let cases = [
        (
            json!({"Name": "No stage"}),
            "REQUIRED_FIELD_MISSING",
            json!(["StageName", "CloseDate"]),
        ),
        (
            {
                let mut b = opportunity(&"x".repeat(121));
                b["StageName"] = json!("Prospecting");
                b
            },
            "STRING_TOO_LONG",
            json!(["Name"]),
        ),
        (
            {
                let mut b = opportunity("Bad reason");
                b["ACE_Invitation_Rejection_Reason__c"] = json!("Too busy");
                b
            },
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            json!(["ACE_Invitation_Rejection_Reason__c"]),
        ),
        (
            {
                let mut b = opportunity("Bad country");
                b["ACE_Customer_Country__c"] = json!("USA");
                b
            },
            "STRING_TOO_LONG",
            json!(["ACE_Customer_Country__c"]),
        ),
    ];
    for (body, code, fields) in cases {
        let (status, answer) = rest.post(&format!("{V}/sobjects/Opportunity"), body).await;
        assert_eq!((status, error_code(&answer)), (400, code), "{answer}");
        let mut got: Vec<Value> = answer[0]["fields"].as_array().cloned().unwrap_or_default();
        let mut want = fields.as_array().cloned().unwrap_or_default();
        got.sort_by_key(Value::to_string);
        want.sort_by_key(Value::to_string);
        assert_eq!(got, want, "{answer}");
    }
    let (status, answer) = rest
        .post(&format!("{V}/sobjects/Opportunity"), json!({"Nope__c": 1}))
        .await;
    assert_eq!((status, error_code(&answer)), (400, "INVALID_FIELD"));
    let (status, answer) = rest
        .post(&format!("{V}/sobjects/Account"), json!({"Name": "Contoso"}))
        .await;
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = rest
        .post(
            &format!("{V}/sobjects/Account"),
            json!({"Website": "contoso.example"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&answer)),
        (400, "REQUIRED_FIELD_MISSING")
    );
    sim.stop().await;
}

#[tokio::test]
async fn upserts_by_external_id_create_update_or_refuse() {
    let sim = SalesforceSim::start(SimConfig::new(Seed::small()))
        .await
        .expect("start");
    let rest = Rest::new(&sim).await;
    let by_invitation = format!("{V}/sobjects/Opportunity/ACE_Invitation_Id__c/engi-aaaaaaaaaaaaa");

    // None holds it: created, with the External ID set from the URL.
    let mut referral = opportunity("Northwind - Referral");
    referral["ACE_Invitation_Status__c"] = json!("Pending");
    let (status, created) = rest.patch(&by_invitation, referral.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["created"], true);
    let id: SfRecordId = created["id"].as_str().expect("id").parse().expect("an id");
    assert_eq!(
        sim.record(&id)
            .and_then(|r| r.fields.get("ACE_Invitation_Id__c").cloned()),
        Some(FieldValue::Text("engi-aaaaaaaaaaaaa".to_owned()))
    );
    // One holds it (External IDs compare without regard to case): updated.
    let (status, updated) = rest
        .patch(
            &format!("{V}/sobjects/Opportunity/ACE_Invitation_Id__c/ENGI-AAAAAAAAAAAAA"),
            json!({"ACE_Invitation_Status__c": "Accepted"}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        updated,
        json!({"id": id.as_str(), "success": true, "errors": [], "created": false})
    );
    // Before API version 46.0 an update answers 204 without a body.
    let (status, _) = rest
        .patch(
            &by_invitation.replace("v62.0", "v45.0"),
            json!({"ACE_Invitation_Status__c": "Expired"}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, got) = rest.get(&by_invitation).await;
    assert_eq!(status, 200);
    assert_eq!(got["Id"], id.as_str());
    assert_eq!(got["ACE_Invitation_Status__c"], "Expired");
    // A create by upsert needs the required fields; the body may not name another id.
    let (status, answer) = rest
        .patch(
            &format!("{V}/sobjects/Opportunity/ACE_Invitation_Id__c/engi-bbbbbbbbbbbbb"),
            json!({"Name": "No stage"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&answer)),
        (400, "REQUIRED_FIELD_MISSING")
    );
    let (status, answer) = rest
        .patch(
            &by_invitation,
            json!({"ACE_Invitation_Id__c": "engi-ccccccccccccc"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&answer)),
        (400, "INVALID_FIELD"),
        "{answer}"
    );
    // The URL's value is checked as the field's: Text(20).
    let (status, answer) = rest
        .patch(
            &format!(
                "{V}/sobjects/Opportunity/ACE_Invitation_Id__c/{}",
                "e".repeat(21)
            ),
            opportunity("Too long"),
        )
        .await;
    assert_eq!((status, error_code(&answer)), (400, "STRING_TOO_LONG"));
    // Unique: no other record may take the value.
    let (status, answer) = rest
        .patch(
            &format!("{V}/sobjects/Opportunity/0065g00000QrStUAAV"),
            json!({"ACE_Invitation_Id__c": "ENGI-AAAAAAAAAAAAA"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&answer)),
        (400, "DUPLICATE_VALUE"),
        "{answer}"
    );
    assert!(
        answer[0]["message"]
            .as_str()
            .is_some_and(|m| m.ends_with(id.as_str()))
    );

    // A field that is not an External ID, or no field at all: 404.
    for path in [
        format!("{V}/sobjects/Opportunity/Name/Acme"),
        format!("{V}/sobjects/Opportunity/Nope__c/1"),
    ] {
        let (status, answer) = rest.patch(&path, json!({"NextStep": "x"})).await;
        assert_eq!((status, error_code(&answer)), (404, "NOT_FOUND"), "{path}");
    }
    // Several hold it: 300 with their URLs, for the read and for the upsert.
    for raw in ["0065g00000QrStVAAV", "0065g00000QrStWAAV"] {
        sim.update_as_integration_user(
            &raw.parse().expect("id"),
            &[(
                "ACE_Opportunity_Id__c",
                Some(FieldValue::Text("O42".to_owned())),
            )],
        )
        .expect("set");
    }
    let by_ace_id = format!("{V}/sobjects/Opportunity/ACE_Opportunity_Id__c/O42");
    for (status, answer) in [
        rest.patch(&by_ace_id, json!({"NextStep": "x"})).await,
        rest.get(&by_ace_id).await,
    ] {
        assert_eq!(status, 300, "{answer}");
        assert_eq!(
            answer,
            json!([
                format!("{V}/sobjects/Opportunity/0065g00000QrStVAAV"),
                format!("{V}/sobjects/Opportunity/0065g00000QrStWAAV"),
            ])
        );
    }
    let (status, _) = rest
        .get(&format!(
            "{V}/sobjects/Opportunity/ACE_Opportunity_Id__c/O404"
        ))
        .await;
    assert_eq!(status, 404);
    sim.stop().await;
}

#[tokio::test]
async fn a_created_record_fires_the_outbound_message_when_the_rule_holds() {
    // Nothing listens at the endpoint: the notifications stay queued, which is what is looked at.
    let mut config = SimConfig::new(Seed::small());
    config.outbound = Some(OutboundConfig::new(
        Url::parse("http://127.0.0.1:9/outbound").expect("url"),
    ));
    let sim = SalesforceSim::start(config).await.expect("start");
    let rest = Rest::new(&sim).await;
    let queued_for = |id: &SfRecordId| {
        sim.notifications()
            .iter()
            .filter(|n| &n.record_id == id)
            .count()
    };
    // A rep's new opportunity has a stage: it fires.
    let by_rep = sim
        .create_as_user(
            "Opportunity",
            &[
                ("Name", FieldValue::Text("Rep's new deal".to_owned())),
                ("StageName", FieldValue::Text("Qualification".to_owned())),
                (
                    "CloseDate",
                    FieldValue::Date(parse_date("2030-01-31").expect("date")),
                ),
            ],
        )
        .expect("created");
    assert_eq!(queued_for(&by_rep), 1);
    // The same through the control route a standalone org offers.
    let answer: Value = reqwest::Client::new()
        .post(format!(
            "{}/__sim/as/rep@acme.example/sobjects/Opportunity",
            rest.base
        ))
        .json(&opportunity("Another rep deal"))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    let by_route: SfRecordId = answer["id"].as_str().expect("id").parse().expect("an id");
    assert_eq!(queued_for(&by_route), 1);
    // The integration user's records (ace-sync creating a referral) do not fire.
    let (status, created) = rest
        .patch(
            &format!("{V}/sobjects/Opportunity/ACE_Invitation_Id__c/engi-ddddddddddddd"),
            opportunity("Referral"),
        )
        .await;
    assert_eq!(status, 201);
    let by_sync: SfRecordId = created["id"].as_str().expect("id").parse().expect("an id");
    assert_eq!(queued_for(&by_sync), 0);
    // An Account is not what the rule watches.
    let account = sim
        .create_as_user(
            "Account",
            &[("Name", FieldValue::Text("Fabrikam".to_owned()))],
        )
        .expect("account");
    assert_eq!(queued_for(&account), 0);
    assert!(
        sim.wait_for_notifications(Duration::from_secs(10), |all| all
            .iter()
            .any(|n| n.attempts > 0))
            .await,
        "the sender tried to deliver"
    );
    assert!(
        sim.notifications()
            .iter()
            .all(|n| n.state == NotificationState::Pending)
    );
    sim.stop().await;
}
