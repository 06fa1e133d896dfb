//! How the SQS adapter handles batch entries SQS did not accept. moto never fails an entry, so
//! these tests put a small stand-in for SQS's SendMessageBatch (the awsJson1_0 protocol the
//! real aws-sdk-sqs client speaks) in front of the real client and ingress.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use crate::helpers::app::{SINGLE, TestApp, message_with};
use crate::helpers::sqs::FifoQueue;

/// How the stand-in answers each SendMessageBatch call, in order; after the script runs out
/// every entry succeeds.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// Fail the first `n` entries, SQS's fault (worth retrying).
    FailTransient(usize),
    /// Fail the first entry, the sender's fault (not worth retrying).
    FailSender,
}

#[derive(Default)]
struct Recorded {
    script: VecDeque<Answer>,
    calls: Vec<Vec<String>>,
    accepted: Vec<String>,
}

async fn sqs_stand_in(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<Recorded>>,
) -> HttpResponse {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match target.as_str() {
        "AmazonSQS.SendMessageBatch" => {
            let entries = input["Entries"].as_array().cloned().unwrap_or_default();
            let mut state = state.lock().unwrap();
            let ids: Vec<String> = entries.iter().map(|e| e["Id"].as_str().unwrap_or_default().to_owned()).collect();
            state.calls.push(ids.clone());
            let answer = state.script.pop_front();
            let mut successful = Vec::new();
            let mut failed = Vec::new();
            for (i, entry) in entries.iter().enumerate() {
                let id = entry["Id"].as_str().unwrap_or_default();
                let fail = match answer {
                    Some(Answer::FailTransient(n)) => i < n,
                    Some(Answer::FailSender) => i == 0,
                    None => false,
                };
                if fail {
                    failed.push(json!({
                        "Id": id,
                        "SenderFault": matches!(answer, Some(Answer::FailSender)),
                        "Code": if matches!(answer, Some(Answer::FailSender)) { "InvalidParameterValue" } else { "InternalError" },
                        "Message": "injected by the test",
                    }));
                } else {
                    state.accepted.push(entry["MessageDeduplicationId"].as_str().unwrap_or_default().to_owned());
                    successful.push(json!({"Id": id, "MessageId": format!("m-{id}"), "MD5OfMessageBody": "0"}));
                }
            }
            HttpResponse::Ok()
                .content_type("application/x-amz-json-1.0")
                .json(json!({"Successful": successful, "Failed": failed}))
        }
        "AmazonSQS.GetQueueAttributes" => HttpResponse::Ok()
            .content_type("application/x-amz-json-1.0")
            .json(json!({"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:000000000000:stand-in.fifo"}})),
        other => HttpResponse::BadRequest()
            .content_type("application/x-amz-json-1.0")
            .json(json!({"__type": "com.amazonaws.sqs#InvalidAction", "message": format!("not in the stand-in: {other}")})),
    }
}

async fn start(script: &[Answer]) -> (String, Arc<web::Data<Mutex<Recorded>>>) {
    let state = web::Data::new(Mutex::new(Recorded {
        script: script.iter().copied().collect(),
        ..Recorded::default()
    }));
    let shared = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .default_service(web::to(sqs_stand_in))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    (format!("http://127.0.0.1:{port}"), Arc::new(state))
}

fn queue(endpoint: &str) -> FifoQueue {
    FifoQueue {
        url: format!("{endpoint}/000000000000/stand-in.fifo"),
        dlq_url: format!("{endpoint}/000000000000/stand-in-dlq.fifo"),
    }
}

#[tokio::test]
async fn entries_sqs_failed_are_sent_again_and_the_message_is_acked() {
    let (endpoint, state) = start(&[Answer::FailTransient(4), Answer::FailTransient(1)]).await;
    let app = TestApp::spawn_on(&endpoint, queue(&endpoint), &[]).await;
    let response = app.post_outbound(message_with(10)).await;
    assert_eq!(response.status().as_u16(), 200);
    let (sizes, mut accepted) = {
        let recorded = state.lock().unwrap();
        let sizes: Vec<usize> = recorded.calls.iter().map(Vec::len).collect();
        (sizes, recorded.accepted.clone())
    };
    // 10 entries, then the 4 that failed, then the 1 that failed again.
    assert_eq!(sizes, [10, 4, 1]);
    accepted.sort();
    accepted.dedup();
    assert_eq!(
        accepted.len(),
        10,
        "every notification accepted exactly once"
    );
    assert_eq!(app.metric("ace_sync_sqs_entries_retried_total").await, 5.0);
}

#[tokio::test]
async fn entries_that_keep_failing_get_a_fault_and_no_ack() {
    let script = [Answer::FailTransient(1); 10];
    let (endpoint, state) = start(&script).await;
    let app = TestApp::spawn_on(&endpoint, queue(&endpoint), &["[queue]\nsend_attempts = 3"]).await;
    let response = app.post_outbound(SINGLE).await;
    assert_eq!(response.status().as_u16(), 503);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("1 of 1 notifications could not be queued"),
        "{body}"
    );
    assert!(!body.contains("<Ack>"));
    assert_eq!(
        state.lock().unwrap().calls.len(),
        3,
        "send_attempts calls, then give up"
    );
}

#[tokio::test]
async fn an_entry_refused_as_the_senders_fault_is_not_sent_again() {
    let (endpoint, state) = start(&[Answer::FailSender]).await;
    let app = TestApp::spawn_on(&endpoint, queue(&endpoint), &[]).await;
    let response = app.post_outbound(SINGLE).await;
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(state.lock().unwrap().calls.len(), 1);
}
