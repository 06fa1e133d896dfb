//! The committed `openapi.yaml` is the document the code generates, it is valid OpenAPI 3.1
//! (checked by openapi-spec-validator), and every route it documents is served.

use std::path::PathBuf;
use std::process::Command;

use crate::helpers::app::{SINGLE, TestApp};
use crate::helpers::env;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml")
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = ace_sync::ingress::openapi::yaml();
    let committed = std::fs::read_to_string(committed_path()).expect("openapi.yaml");
    assert!(
        generated == committed,
        "openapi.yaml is out of date: regenerate it with `cargo run -- openapi > openapi.yaml`"
    );
}

#[test]
fn the_committed_document_is_valid_openapi() {
    let output = Command::new(env::venv_bin("openapi-spec-validator"))
        .arg(committed_path())
        .output()
        .expect("run openapi-spec-validator");
    assert!(
        output.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let document = ace_sync::ingress::openapi::document();
    let json = serde_json::to_value(&document).unwrap();
    assert!(
        json["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        json["openapi"]
    );
}

#[tokio::test]
async fn every_documented_route_is_served_and_nothing_else() {
    let app = TestApp::spawn(&[]).await;
    let document = serde_json::to_value(ace_sync::ingress::openapi::document()).unwrap();
    let paths = document["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 5, "{:?}", paths.keys().collect::<Vec<_>>());
    for (path, item) in paths {
        let concrete = path.replace("{secret}", "some-secret");
        for method in item.as_object().unwrap().keys() {
            let response = match method.as_str() {
                "get" => app.get(&concrete).await,
                "post" => app.post_to(&concrete, SINGLE, "text/xml").await,
                other => panic!("undocumented method kind {other}"),
            };
            let status = response.status().as_u16();
            assert!(
                status != 404 && status != 405,
                "{method} {path} answered {status}"
            );
            let documented = item[method]["responses"]
                .as_object()
                .unwrap()
                .contains_key(&status.to_string());
            assert!(
                documented,
                "{method} {path} answered {status}, which is not documented"
            );
        }
    }
    assert_eq!(app.get("/not-a-route").await.status().as_u16(), 404);
}
