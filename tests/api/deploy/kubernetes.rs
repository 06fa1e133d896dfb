//! `deploy/k8s`: the example overlay builds with kustomize (the real Go library, from the
//! pinned pykustomize wheel, through `scripts/kustomize-build`), validates strictly against the
//! Kubernetes schemas (kubernetes-validate, offline), follows the security and shutdown rules
//! the issue sets, and each Deployment's settings, resolved from its ConfigMaps, mounts and
//! secret references, pass `ace-sync config check` for its role with no demo default left.

use std::collections::BTreeMap;
use std::process::Command;

use ace_sync::ace::mapping::DEFAULT_MAPPING;
use ace_sync::config::Settings;
use ace_sync_sandbox::salesforce::KeyPair;
use serde_json::{Value, json};

use super::support::{Scratch, ace_sync, printed, repository, run_ok, venv_tool};
use super::yaml;

const OVERLAY: &str = "deploy/k8s/overlays/example";

/// `kustomize build` of the example overlay, as text.
fn build() -> String {
    let output = run_ok(
        Command::new(venv_tool("python"))
            .current_dir(repository())
            .args(["scripts/kustomize-build", OVERLAY]),
    );
    String::from_utf8(output.stdout).expect("UTF-8 manifests")
}

fn find<'a>(objects: &'a [Value], kind: &str, name_prefix: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(name_prefix))
        })
        .unwrap_or_else(|| panic!("no {kind} {name_prefix}"))
}

#[test]
fn the_overlay_builds_and_validates_against_the_kubernetes_schemas() {
    let manifests = build();
    let dir = Scratch::new("k8s");
    let file = dir.write("manifests.yaml", &manifests);
    run_ok(Command::new(venv_tool("kubernetes-validate")).args([
        "--strict",
        "--quiet",
        "--kubernetes-version",
        "1.31.0",
        file.to_str().unwrap(),
    ]));
    let objects = yaml::documents(&manifests);
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    for kind in [
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "ConfigMap",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
}

#[test]
fn pods_run_locked_down_probe_both_health_routes_and_outlast_the_grace() {
    let objects = yaml::documents(&build());
    let grace = Settings::defaults().worker.shutdown_grace.as_secs();
    for name in ["ace-sync-ingress", "ace-sync-worker"] {
        let pod = &find(&objects, "Deployment", name)["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(pod["securityContext"]["runAsUser"], 10001, "{name}");
        let period = pod["terminationGracePeriodSeconds"]
            .as_u64()
            .expect("a grace period");
        assert!(
            period > grace,
            "{name}: {period}s is not above the {grace}s shutdown grace"
        );
        let container = &pod["containers"][0];
        assert_eq!(
            container["securityContext"],
            json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}),
            "{name}"
        );
        assert_eq!(
            container["livenessProbe"]["httpGet"]["path"], "/health/live",
            "{name}"
        );
        assert_eq!(
            container["readinessProbe"]["httpGet"]["path"], "/health/ready",
            "{name}"
        );
    }
    let hpa = find(&objects, "HorizontalPodAutoscaler", "ace-sync-ingress");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "ace-sync-ingress");
}

#[test]
fn the_example_mapping_is_the_embedded_default() {
    let path = repository().join(OVERLAY).join("mapping.toml");
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        DEFAULT_MAPPING,
        "refresh it with `ace-sync mapping defaults > {OVERLAY}/mapping.toml`"
    );
}

/// The environment `container` of a pod in `objects` gets, with files mounted under `root`.
fn resolve(objects: &[Value], pod: &Value, root: &Scratch, key: &KeyPair) -> Vec<(String, String)> {
    let container = &pod["containers"][0];
    let configmap = |name: &str| find(objects, "ConfigMap", name)["data"].clone();
    // Mounts first, so paths can be rewritten to where the files are here.
    let mut mounts = BTreeMap::new();
    for mount in container["volumeMounts"].as_array().into_iter().flatten() {
        let name = mount["name"].as_str().unwrap();
        let volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .expect("a mounted volume");
        let here = root.path().join(name);
        let files: Vec<(String, String)> = if let Some(map) = volume["configMap"]["name"].as_str() {
            configmap(map)
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        } else {
            assert_eq!(volume["secret"]["secretName"], "ace-sync-salesforce");
            vec![(
                "private-key".to_owned(),
                key.private_pem().expose().to_owned(),
            )]
        };
        for (file, contents) in files {
            root.write(&format!("{name}/{file}"), &contents);
        }
        mounts.insert(
            mount["mountPath"].as_str().unwrap().to_owned(),
            here.to_string_lossy().into_owned(),
        );
    }
    let mut env = Vec::new();
    for source in container["envFrom"].as_array().into_iter().flatten() {
        let data = configmap(source["configMapRef"]["name"].as_str().unwrap());
        for (k, v) in data.as_object().unwrap() {
            env.push((k.clone(), v.as_str().unwrap().to_owned()));
        }
    }
    for var in container["env"].as_array().into_iter().flatten() {
        let value = match var["value"].as_str() {
            Some(value) => value.to_owned(),
            None => {
                let secret = &var["valueFrom"]["secretKeyRef"];
                match (secret["name"].as_str(), secret["key"].as_str()) {
                    (Some("ace-sync-ingress"), _) => {
                        "a-shared-secret-of-forty-characters-0123".to_owned()
                    }
                    // The API's keys: distinct, as the check requires.
                    (Some("ace-sync-api"), Some(key)) => {
                        format!("{key}-0123456789abcdefghijklmnopqrstuvwxyz")
                    }
                    other => panic!("a secret the test does not know: {other:?}"),
                }
            }
        };
        env.push((var["name"].as_str().unwrap().to_owned(), value));
    }
    for (_, value) in &mut env {
        for (mount, here) in &mounts {
            if let Some(rest) = value.strip_prefix(mount.as_str()) {
                *value = format!("{here}{rest}");
            }
        }
    }
    env
}

#[test]
fn each_deployments_settings_pass_config_check_for_its_role() {
    let objects = yaml::documents(&build());
    let key = KeyPair::generate().expect("an RSA key");
    for (name, role) in [("ace-sync-ingress", "serve"), ("ace-sync-worker", "work")] {
        let pod = &find(&objects, "Deployment", name)["spec"]["template"]["spec"];
        let root = Scratch::new("k8s-mounts");
        let env = resolve(&objects, pod, &root, &key);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let output = ace_sync(&["config", "check", "--role", role], &env)
            .output()
            .expect("run ace-sync config check");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{name}: {}",
            printed(&output)
        );
        assert!(
            !printed(&output).contains("warning:"),
            "{name} keeps a demo default: {}",
            printed(&output)
        );
    }
}
