//! YAML as JSON values: CloudFormation's short-form tags (`!Ref`, `!GetAtt`, `!Sub`, …)
//! written out in their long form, and multi-document streams (kustomize's output).

use serde::Deserialize;
use serde_json::{Map, Value, json};
use yaml_serde::Value as Yaml;

/// One YAML document, with CloudFormation tags expanded: `!Ref X` → `{"Ref": "X"}`,
/// `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`, `!Name v` → `{"Fn::Name": v}`.
pub fn document(text: &str) -> Value {
    let yaml: Yaml = yaml_serde::from_str(text).expect("well-formed YAML");
    to_json(yaml)
}

/// Every document of a `---`-separated stream.
pub fn documents(text: &str) -> Vec<Value> {
    yaml_serde::Deserializer::from_str(text)
        .map(|document| to_json(Yaml::deserialize(document).expect("well-formed YAML")))
        .filter(|value| !value.is_null())
        .collect()
}

fn to_json(yaml: Yaml) -> Value {
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => serde_json::to_value(&n).expect("a YAML number is a JSON number"),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Yaml::Mapping(mapping) => Value::Object(
            mapping
                .into_iter()
                .map(|(key, value)| {
                    let key = match key {
                        Yaml::String(s) => s,
                        other => yaml_serde::to_string(&other)
                            .expect("a YAML key")
                            .trim()
                            .to_owned(),
                    };
                    (key, to_json(value))
                })
                .collect::<Map<_, _>>(),
        ),
        Yaml::Tagged(tagged) => {
            let name = tagged.tag.to_string();
            let name = name.trim_start_matches('!');
            let value = to_json(tagged.value);
            match (name, value) {
                ("Ref", value) => json!({ "Ref": value }),
                ("GetAtt", Value::String(s)) => {
                    let (resource, attribute) =
                        s.split_once('.').expect("!GetAtt Resource.Attribute");
                    json!({ "Fn::GetAtt": [resource, attribute] })
                }
                (name, value) => json!({ format!("Fn::{name}"): value }),
            }
        }
    }
}
