//! `deploy/salesforce`'s metadata for the API Salesforce Flows call, checked against the code
//! and the OpenAPI document it registers: the External Credential sends the header the service
//! reads (`Authorization: Bearer <key>`), one principal per key scope; the Named Credential
//! uses it; the External Service registration holds exactly the committed document and its
//! operations; each quick action on Opportunity runs a screen Flow whose External Service
//! action names an operation of the document, passes parameters it has, reads outputs it
//! defines (into Apex types named after its schemas, showing only properties they have); and
//! every principal and Flow is granted by a permission set.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use quick_xml::Reader;
use quick_xml::events::Event;
use regex::Regex;
use serde_json::Value;

use super::salesforce_metadata::{one, project, texts, values};
use super::support::repository;

/// An element, its text and its children, in order.
#[derive(Debug, Default, Clone)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the child `name` ("" when absent).
    fn get(&self, name: &str) -> &str {
        self.child(name).map_or("", |c| c.text.as_str())
    }
}

/// The document element of an XML file, as a tree (the tests in `salesforce_metadata.rs`
/// check every file is well-formed).
fn tree(path: &Path) -> Node {
    let xml = std::fs::read_to_string(path).unwrap();
    let mut reader = Reader::from_str(&xml);
    let mut stack = vec![Node::default()];
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => stack.push(Node {
                name: e.name().as_ref().to_owned(),
                ..Node::default()
            }),
            Event::Empty(e) => stack.last_mut().unwrap().children.push(Node {
                name: e.name().as_ref().to_owned(),
                ..Node::default()
            }),
            Event::End(_) => {
                let mut node = stack.pop().unwrap();
                node.text = node.text.trim().to_owned();
                stack.last_mut().unwrap().children.push(node);
            }
            Event::Text(t) => stack.last_mut().unwrap().text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.xml10_content().as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("{}: entity {other}", path.display()),
                };
                stack.last_mut().unwrap().text.push_str(resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    stack.pop().unwrap().children.remove(0)
}

fn metadata(kind: &str, name: &str) -> PathBuf {
    project()
        .join("force-app/main/default")
        .join(kind)
        .join(name)
}

/// The metadata files of a folder, by API name (the file name before its suffix).
fn components(kind: &str, suffix: &str) -> BTreeMap<String, PathBuf> {
    std::fs::read_dir(project().join("force-app/main/default").join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.strip_suffix(suffix)?.to_owned();
            Some((name, p))
        })
        .collect()
}

const EXTERNAL_CREDENTIAL: &str = "ACE_Sync_API";
const NAMED_CREDENTIAL: &str = "ACE_Sync";
const REGISTRATION: &str = "ACE_Sync";

fn document() -> Value {
    let text =
        std::fs::read_to_string(repository().join("openapi/salesforce-external-service.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `operationId` → the operation.
fn operations(doc: &Value) -> BTreeMap<String, Value> {
    doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| (op["operationId"].as_str().unwrap().to_owned(), op.clone()))
        .collect()
}

#[test]
fn the_named_credential_sends_the_api_key_the_service_reads() {
    let credential = tree(&metadata(
        "externalCredentials",
        &format!("{EXTERNAL_CREDENTIAL}.externalCredential-meta.xml"),
    ));
    assert_eq!(credential.get("authenticationProtocol"), "Custom");
    let parameters: Vec<&Node> = credential.all("externalCredentialParameters").collect();
    let principals: BTreeSet<&str> = parameters
        .iter()
        .filter(|p| p.get("parameterType") == "NamedPrincipal")
        .map(|p| p.get("parameterName"))
        .collect();
    assert_eq!(principals, BTreeSet::from(["Check", "SyncNow"]));
    let headers: Vec<&&Node> = parameters
        .iter()
        .filter(|p| p.get("parameterType") == "AuthHeader")
        .collect();
    assert_eq!(headers.len(), 1, "{headers:?}");
    assert!(
        headers[0]
            .get("parameterName")
            .eq_ignore_ascii_case(actix_web::http::header::AUTHORIZATION.as_str())
    );
    // `'Bearer ' & $Credential.<this credential>.<the principal's parameter>`.
    let formula = Regex::new(r"^\{!'(\w+) ' & \$Credential\.(\w+)\.(\w+)\}$").unwrap();
    let value = headers[0].get("parameterValue");
    let parts = formula
        .captures(value)
        .unwrap_or_else(|| panic!("not a Bearer formula: {value}"));
    assert_eq!(&parts[1], ace_sync::api::auth::SCHEME);
    assert_eq!(&parts[2], EXTERNAL_CREDENTIAL);

    let named = tree(&metadata(
        "namedCredentials",
        &format!("{NAMED_CREDENTIAL}.namedCredential-meta.xml"),
    ));
    assert_eq!(named.get("namedCredentialType"), "SecuredEndpoint");
    let parameter = |kind: &str| {
        named
            .all("namedCredentialParameters")
            .find(|p| p.get("parameterType") == kind)
            .unwrap_or_else(|| panic!("no {kind} parameter"))
    };
    assert_eq!(
        parameter("Authentication").get("externalCredential"),
        EXTERNAL_CREDENTIAL
    );
    assert!(
        parameter("Url")
            .get("parameterValue")
            .starts_with("https://")
    );
}

#[test]
fn the_registration_holds_the_committed_document_and_its_operations() {
    let path = metadata(
        "externalServiceRegistrations",
        &format!("{REGISTRATION}.externalServiceRegistration-meta.xml"),
    );
    let doc = document();
    if std::env::var_os("ACE_SYNC_BLESS").is_some() {
        // Rewrites the schema from the committed document (which the OpenAPI tests keep
        // equal to the generated one).
        let xml = std::fs::read_to_string(&path).unwrap();
        let (head, rest) = xml.split_once("<schema>").unwrap();
        let (_, tail) = rest.split_once("</schema>").unwrap();
        let schema = serde_json::to_string(&doc)
            .unwrap()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        std::fs::write(&path, format!("{head}<schema>{schema}</schema>{tail}")).unwrap();
    }
    let registration = tree(&path);
    assert_eq!(
        registration.get("namedCredentialReference"),
        NAMED_CREDENTIAL
    );
    assert_eq!(registration.get("schemaType"), "OpenApi3");
    assert_eq!(registration.get("registrationProviderType"), "Custom");
    assert_eq!(registration.get("status"), "Complete");
    let schema: Value = serde_json::from_str(registration.get("schema")).unwrap();
    assert!(
        schema == doc,
        "the registration's <schema> is not openapi/salesforce-external-service.json: rerun this test with ACE_SYNC_BLESS=1"
    );
    let registered: BTreeSet<&str> = registration
        .all("operations")
        .map(|o| {
            assert_eq!(o.get("active"), "true", "{o:?}");
            o.get("name")
        })
        .collect();
    let documented = operations(&doc);
    assert_eq!(
        registered,
        documented
            .keys()
            .map(String::as_str)
            .collect::<BTreeSet<_>>()
    );
}

/// The schema a response's JSON body refers to.
fn response_schema<'a>(doc: &'a Value, response: &'a Value) -> (&'a str, &'a Value) {
    let target = response["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .expect("a named schema");
    let name = target.trim_start_matches("#/components/schemas/");
    (name, &doc["components"]["schemas"][name])
}

#[test]
fn the_quick_actions_run_flows_calling_operations_the_document_has() {
    let doc = document();
    let operations = operations(&doc);
    let flows = components("flows", ".flow-meta.xml");
    let mut called = BTreeSet::new();
    let reference = Regex::new(r"\{!(\w+)\.(\w+)\}").unwrap();
    for (name, path) in components("quickActions", ".quickAction-meta.xml") {
        assert!(
            name.starts_with("Opportunity."),
            "{name}: not on Opportunity"
        );
        let action = tree(&path);
        assert_eq!(
            (action.get("type"), action.get("actionSubtype")),
            ("Flow", "ScreenFlow")
        );
        let flow_name = action.get("flowDefinition");
        let flow = tree(
            flows
                .get(flow_name)
                .unwrap_or_else(|| panic!("no flow {flow_name}")),
        );
        assert_eq!(
            flow.get("processType"),
            "Flow",
            "{flow_name}: a screen Flow"
        );
        let variables: BTreeMap<&str, &Node> =
            flow.all("variables").map(|v| (v.get("name"), v)).collect();
        let record_id = variables["recordId"];
        assert_eq!(
            (record_id.get("dataType"), record_id.get("isInput")),
            ("String", "true")
        );

        for call in flow
            .all("actionCalls")
            .filter(|c| c.get("actionType") == "externalService")
        {
            let (service, operation_id) = call.get("actionName").split_once('.').unwrap();
            assert_eq!(service, REGISTRATION, "{flow_name}");
            let operation = operations
                .get(operation_id)
                .unwrap_or_else(|| panic!("{flow_name}: no operation {operation_id}"));
            called.insert(operation_id.to_owned());
            let parameters: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let given: BTreeSet<&str> =
                call.all("inputParameters").map(|p| p.get("name")).collect();
            assert!(
                given.is_subset(&parameters),
                "{flow_name}: {given:?} ⊄ {parameters:?}"
            );
            assert!(given.contains("opportunityId"), "{flow_name}");
            let responses = &operation["responses"];
            let success = responses
                .as_object()
                .unwrap()
                .keys()
                .find(|s| s.starts_with('2'))
                .unwrap();
            let mut apex: BTreeMap<&str, &str> = BTreeMap::new();
            for output in call.all("outputParameters") {
                let output_name = output.get("name");
                let variable = variables[output.get("assignToReference")];
                if output_name == "responseCode" {
                    assert_eq!(variable.get("dataType"), "Number");
                    continue;
                }
                let response = responses.get(output_name).unwrap_or_else(|| {
                    panic!("{flow_name}: {operation_id} has no output {output_name}")
                });
                let (schema, _) = response_schema(&doc, response);
                assert_eq!(
                    variable.get("apexClass"),
                    format!("ExternalService__{REGISTRATION}_{schema}"),
                    "{flow_name}: {output_name}"
                );
                apex.insert(variable.get("name"), schema);
            }
            // The Flow branches on the operation's success status.
            let success_value = format!("{success}.0");
            assert!(
                flow.all("decisions")
                    .flat_map(|d| d.all("rules"))
                    .flat_map(|r| r.all("conditions"))
                    .any(|c| c.get("leftValueReference") == "responseCode"
                        && c.child("rightValue").map(|v| v.get("numberValue"))
                            == Some(success_value.as_str())),
                "{flow_name}: no branch on {success}"
            );
            // What the screens show of the outputs exists in their schemas.
            for screen in flow.all("screens") {
                for field in screen.all("fields") {
                    for found in reference.captures_iter(field.get("fieldText")) {
                        let Some(schema) = apex.get(&found[1]) else {
                            continue;
                        };
                        assert!(
                            doc["components"]["schemas"][schema]["properties"]
                                .get(&found[2])
                                .is_some(),
                            "{flow_name}: {schema} has no {}",
                            &found[2]
                        );
                    }
                }
            }
        }
    }
    assert_eq!(
        called,
        BTreeSet::from(["checkOpportunity".to_owned(), "syncOpportunity".to_owned()])
    );
}

#[test]
fn each_principal_and_flow_is_granted_by_a_permission_set() {
    let dir = project().join("force-app/main/default/permissionsets");
    let mut principals = BTreeSet::new();
    let mut flows = BTreeSet::new();
    for path in components("permissionsets", ".permissionset-meta.xml").values() {
        let texts = texts(path);
        principals.extend(
            values(
                &texts,
                "PermissionSet/externalCredentialPrincipalAccesses/externalCredentialPrincipal",
            )
            .into_iter()
            .map(str::to_owned),
        );
        flows.extend(
            values(&texts, "PermissionSet/flowAccesses/flow")
                .into_iter()
                .map(str::to_owned),
        );
    }
    for principal in ["Check", "SyncNow"] {
        assert!(
            principals.contains(&format!("{EXTERNAL_CREDENTIAL}-{principal}")),
            "no permission set grants {principal}: {principals:?}"
        );
    }
    let sync_now = texts(&dir.join("ACE_Sync_Now.permissionset-meta.xml"));
    assert_eq!(
        one(
            &sync_now,
            "PermissionSet/externalCredentialPrincipalAccesses/externalCredentialPrincipal"
        ),
        format!("{EXTERNAL_CREDENTIAL}-SyncNow")
    );
    for action in components("quickActions", ".quickAction-meta.xml").values() {
        let flow = tree(action).get("flowDefinition").to_owned();
        assert!(flows.contains(&flow), "no permission set runs {flow}");
    }
}
