//! The committed `openapi.yaml` is the document the code generates, it is valid OpenAPI 3.1
//! (checked by openapi-spec-validator), and every route it documents is served (the API's by
//! an ingress with `api.enabled`, whose operations `flow_api::external_services` checks in
//! depth).

use std::path::PathBuf;
use std::process::Command;

use crate::flow_api::{ApiIngress, SYNC_KEY};
use crate::helpers::app::{SINGLE, TestApp};
use crate::helpers::env;
use crate::helpers::world::{self, Options, World};

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
    // An ingress serving the API too (api.enabled), joined to both simulators.
    let id = "0065g00000QrStUAAV";
    let world = World::start(
        world::seed(vec![world::complete_opportunity(
            id,
            "Acme - Data Platform",
            "Qualification",
        )]),
        Options::default(),
    )
    .await;
    let app = ApiIngress::start(&world).await;
    let http = reqwest::Client::new();
    let document = serde_json::to_value(ace_sync::ingress::openapi::document()).unwrap();
    let paths = document["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 9, "{:?}", paths.keys().collect::<Vec<_>>());
    for (path, item) in paths {
        let concrete = path
            .replace("{secret}", "some-secret")
            .replace("{opportunityId}", id);
        let url = format!("{}{concrete}", app.base);
        for method in item.as_object().unwrap().keys() {
            let request = match method.as_str() {
                "get" => http.get(&url),
                "post" if path.starts_with("/api/") => http.post(&url),
                "post" => http
                    .post(&url)
                    .header("content-type", "text/xml")
                    .body(SINGLE),
                other => panic!("undocumented method kind {other}"),
            };
            let request = if path.starts_with("/api/") {
                request.bearer_auth(SYNC_KEY)
            } else {
                request
            };
            let status = request.send().await.expect("request").status().as_u16();
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
    assert_eq!(
        http.get(format!("{}/not-a-route", app.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn an_ingress_with_the_api_off_serves_none_of_it() {
    let app = TestApp::spawn(&[]).await;
    for path in [
        "/api/v1/openapi.json",
        "/api/v1/opportunities/0065g00000QrStUAAV/check",
    ] {
        assert_eq!(app.get(path).await.status().as_u16(), 404, "{path}");
    }
}
