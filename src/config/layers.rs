//! Where settings come from, and how every problem in them is found in one pass.
//!
//! Each source is one layer: the embedded defaults, the config file, and one layer per
//! `ACE_SYNC_<SECTION>__<KEY>` environment variable, so an error names the variable actually
//! set (`ACE_SYNC_FOO__BAR`, not a guess rebuilt from the key path). serde stops at the first
//! error it meets; to report them all, the offending key is taken out of every layer but the
//! defaults and the settings are extracted again, until they extract. Cross-field rules then
//! run on what is left, so one `config check` lists every problem there is.

use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::{ConfigError, DEFAULTS, ENV_PREFIX, Settings};

/// Settings holding free text that must reach the program as written (PEM keys, a mapping's
/// TOML, secrets): their environment values are never parsed as numbers, arrays or tables.
const TEXT_KEYS: &[&str] = &[
    "ingress.shared_secret",
    "salesforce.consumer_key",
    "salesforce.username",
    "salesforce.private_key",
    "ace.mapping",
];

/// Whether the setting at `path` is free text (see [`TEXT_KEYS`]); the API's keys
/// (`api.keys.<name>.key`) are too.
fn is_text_key(path: &[String]) -> bool {
    TEXT_KEYS.contains(&path.join(".").as_str())
        || matches!(path, [api, keys, _, key] if api == "api" && keys == "keys" && key == "key")
}

/// A source of settings and what it holds.
#[derive(Debug, Clone)]
pub(super) struct Layer {
    /// How a person would name it: `environment variable ACE_SYNC_HTTP__PORT`.
    origin: String,
    is_default: bool,
    dict: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.origin.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

impl Layer {
    fn toml(origin: String, is_default: bool, text: &str) -> Result<Layer, String> {
        use figment::providers::Format;
        let data = figment::providers::Toml::string(text)
            .data()
            .map_err(|e| format!("{origin} is not valid TOML: {}", e.kind))?;
        Ok(Layer {
            origin,
            is_default,
            dict: data.into_values().next().unwrap_or_default(),
        })
    }

    /// The embedded defaults.
    pub(super) fn defaults() -> Layer {
        // The defaults are tested to load (`tests::defaults_load`).
        Layer::toml("the embedded defaults".to_owned(), true, DEFAULTS)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A TOML document given as text (tests, the demo).
    pub(super) fn text(index: usize, text: &str) -> Result<Layer, String> {
        Layer::toml(format!("settings layer {}", index + 1), false, text)
    }

    /// The config file, which must exist.
    pub(super) fn file(path: &Path) -> Result<Layer, String> {
        let origin = format!("config file {}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{origin} does not exist"),
            _ => format!("cannot read {origin}: {e}"),
        })?;
        Layer::toml(origin, false, &text)
    }

    /// One layer per `ACE_SYNC_*` variable of `vars` (the process environment, in practice),
    /// and a problem for each variable that names no key.
    pub(super) fn environment(
        vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    ) -> (Vec<Layer>, Vec<String>) {
        let mut layers = Vec::new();
        let mut problems = Vec::new();
        for (name, value) in vars {
            let Some(name) = name.to_str().map(str::to_owned) else {
                continue;
            };
            let Some(rest) = strip_prefix_ignoring_case(&name, ENV_PREFIX) else {
                continue;
            };
            // ACE_SYNC_CONFIG names the file itself and is not a setting.
            if rest.eq_ignore_ascii_case("config") {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if path.iter().any(String::is_empty) {
                problems.push(format!(
                    "environment variable {name} names no setting: use {ENV_PREFIX}<SECTION>__<KEY>, e.g. {ENV_PREFIX}HTTP__PORT"
                ));
                continue;
            }
            let Some(value) = value.to_str().map(str::to_owned) else {
                problems.push(format!("environment variable {name} is not valid UTF-8"));
                continue;
            };
            let value = if is_text_key(&path) {
                Value::from(value)
            } else {
                value
                    .parse::<Value>()
                    .unwrap_or_else(|never| match never {})
            };
            let mut dict = Dict::new();
            insert(&mut dict, &path, value);
            layers.push(Layer {
                origin: format!("environment variable {name}"),
                is_default: false,
                dict,
            });
        }
        layers.sort_by(|a, b| a.origin.cmp(&b.origin));
        (layers, problems)
    }
}

fn strip_prefix_ignoring_case<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &name[prefix.len()..])
}

fn insert(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

/// Whether `dict` holds something at `path` (or, where a value stops being a table, at the
/// part of `path` that reaches it).
fn holds(dict: &Dict, path: &[String]) -> bool {
    match path {
        [] => !dict.is_empty(),
        [first, rest @ ..] => match dict.get(first) {
            Some(Value::Dict(_, inner)) => rest.is_empty() || holds(inner, rest),
            Some(_) => true,
            None => false,
        },
    }
}

/// Takes out whatever `holds` finds at `path`; whether anything was taken.
fn remove(dict: &mut Dict, path: &[String]) -> bool {
    match path {
        [] => false,
        [last] => dict.remove(last).is_some(),
        [first, rest @ ..] => match dict.get_mut(first) {
            Some(Value::Dict(_, inner)) => {
                let removed = remove(inner, rest);
                if inner.is_empty() {
                    dict.remove(first);
                }
                removed
            }
            Some(_) => dict.remove(first).is_some(),
            None => false,
        },
    }
}

/// The layers, in order of precedence (later wins).
#[derive(Debug, Clone)]
pub(super) struct Layers(Vec<Layer>);

/// How many times the settings are extracted again after taking out a bad key.
const MAX_ROUNDS: usize = 64;

impl Layers {
    pub(super) fn new(layers: Vec<Layer>) -> Layers {
        Layers(layers)
    }

    fn figment(&self) -> Figment {
        self.0.iter().fold(Figment::new(), |figment, layer| {
            figment.merge(layer.clone())
        })
    }

    /// The sources (other than the defaults) that set `path` or something under it, e.g.
    /// `environment variable ACE_SYNC_FOO__BAR` for the key `foo`.
    pub(super) fn origins(&self, path: &[String]) -> Vec<&str> {
        self.0
            .iter()
            .filter(|layer| !layer.is_default && holds(&layer.dict, path))
            .map(|layer| layer.origin.as_str())
            .collect()
    }

    /// ` (from …)` for a message about `path`, or nothing when the default is at fault.
    pub(super) fn origin_note(&self, path: &[String]) -> String {
        match self.origins(path).as_slice() {
            [] => String::new(),
            origins => format!(" (from {})", origins.join(", ")),
        }
    }

    fn remove_everywhere(&mut self, path: &[String]) -> bool {
        let mut removed = false;
        for layer in self.0.iter_mut().filter(|layer| !layer.is_default) {
            removed |= remove(&mut layer.dict, path);
        }
        removed
    }

    /// Extracts the settings, collecting every problem: each key serde refuses is reported
    /// and taken out, and the rest extracted again; then the cross-field rules run.
    pub(super) fn extract(mut self, mut problems: Vec<String>) -> Result<Settings, ConfigError> {
        for _ in 0..MAX_ROUNDS {
            match self.figment().extract::<Settings>() {
                Ok(settings) => {
                    problems.extend(
                        settings
                            .problems()
                            .into_iter()
                            .map(|problem| self.with_origin(problem)),
                    );
                    return if problems.is_empty() {
                        Ok(settings)
                    } else {
                        Err(ConfigError::many(problems))
                    };
                }
                Err(err) => {
                    let mut progressed = false;
                    for error in err {
                        let (path, message) = describe(&error);
                        problems.push(format!("{message}{}", self.origin_note(&path)));
                        progressed |= self.remove_everywhere(&path);
                    }
                    if !progressed {
                        break;
                    }
                }
            }
        }
        Err(ConfigError::many(problems))
    }

    /// A cross-field problem (`key `a.b`: …`) with the sources of its key appended.
    fn with_origin(&self, problem: String) -> String {
        let key = problem
            .strip_prefix("key `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(key, _)| key.to_owned());
        match key {
            Some(key) => {
                let path: Vec<String> = key.split('.').map(str::to_owned).collect();
                format!("{problem}{}", self.origin_note(&path))
            }
            None => problem,
        }
    }
}

/// The key an extraction error is about, and the message without its origin.
fn describe(error: &figment::Error) -> (Vec<String>, String) {
    use figment::error::Kind;
    let joined = |field: &str| -> Vec<String> {
        let mut path = error.path.clone();
        if path.last().map(String::as_str) != Some(field) {
            path.push(field.to_owned());
        }
        path
    };
    match &error.kind {
        Kind::UnknownField(field, _) => {
            let path = joined(field);
            let message = format!("unknown key `{}`", path.join("."));
            (path, message)
        }
        Kind::MissingField(field) => {
            let path = joined(field);
            let message = format!("missing key `{}`", path.join("."));
            (path, message)
        }
        kind if error.path.is_empty() => (Vec::new(), kind.to_string()),
        kind => (
            error.path.clone(),
            format!("key `{}`: {kind}", error.path.join(".")),
        ),
    }
}

/// The layers `Settings::load` reads: defaults, the file if any, the environment.
pub(super) fn from_sources(
    file: Option<&Path>,
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> (Layers, Vec<String>) {
    let mut problems = Vec::new();
    let mut layers = vec![Layer::defaults()];
    if let Some(file) = file {
        match Layer::file(file) {
            Ok(layer) => layers.push(layer),
            Err(problem) => problems.push(problem),
        }
    }
    let (env, env_problems) = Layer::environment(vars);
    layers.extend(env);
    problems.extend(env_problems);
    (Layers::new(layers), problems)
}

/// Where `--config` may also come from.
pub fn config_path_from_env() -> Option<PathBuf> {
    std::env::var_os("ACE_SYNC_CONFIG").map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let (layers, problems) = from_sources(None, vars(pairs));
        layers.extract(problems)
    }

    #[test]
    fn an_unknown_variable_is_named_as_set() {
        let err = load(&[("ACE_SYNC_FOO__BAR", "1")]).unwrap_err();
        assert_eq!(
            err.problems(),
            ["unknown key `foo` (from environment variable ACE_SYNC_FOO__BAR)"]
        );
        let err = load(&[("ACE_SYNC_HTTP__PROT", "1")]).unwrap_err();
        assert_eq!(
            err.problems(),
            ["unknown key `http.prot` (from environment variable ACE_SYNC_HTTP__PROT)"]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = load(&[
            ("ACE_SYNC_HTTP__PORT", "eighty"),
            ("ACE_SYNC_FOO__BAR", "1"),
            ("ACE_SYNC_WORKER__CONCURRENCY", "0"),
            ("ACE_SYNC_QUEUE__SEND_DEADLINE", "soon"),
            ("ACE_SYNC_SALESFORCE__ORG_IDS", "[\"00X\"]"),
        ])
        .unwrap_err();
        let text = err.to_string();
        for expected in [
            "ACE_SYNC_HTTP__PORT",
            "ACE_SYNC_FOO__BAR",
            "ACE_SYNC_WORKER__CONCURRENCY",
            "ACE_SYNC_QUEUE__SEND_DEADLINE",
            "ACE_SYNC_SALESFORCE__ORG_IDS",
        ] {
            assert!(text.contains(expected), "{expected} missing from: {text}");
        }
        assert_eq!(err.problems().len(), 5, "{text}");
    }

    #[test]
    fn free_text_is_kept_as_written() {
        let settings = load(&[("ACE_SYNC_INGRESS__SHARED_SECRET", "1234567890123456789")])
            .expect("a numeric secret is still text");
        assert_eq!(
            settings.ingress.shared_secret.unwrap().expose(),
            "1234567890123456789"
        );
        let settings = load(&[("ACE_SYNC_ACE__MAPPING", "[trigger]\ncreate_at = \"x\"")])
            .expect("a mapping is text");
        assert!(settings.ace.mapping.unwrap().starts_with("[trigger]"));
        let key = "12345678901234567890123456789012345";
        let settings = load(&[
            ("ACE_SYNC_API__KEYS__FLOWS__KEY", key),
            ("ACE_SYNC_API__KEYS__FLOWS__SCOPES", "[check, status]"),
        ])
        .expect("an API key is text; its scopes a list");
        let flows = &settings.api.keys["flows"];
        assert_eq!(flows.key.expose(), key);
        assert_eq!(flows.scopes.len(), 2);
    }

    #[test]
    fn a_variable_naming_no_key_is_reported() {
        let err = load(&[("ACE_SYNC_HTTP____PORT", "1")]).unwrap_err();
        assert!(err.to_string().contains("ACE_SYNC_HTTP____PORT"), "{err}");
        assert!(load(&[("OTHER_HTTP__PORT", "x"), ("ACE_SYNC_CONFIG", "/x")]).is_ok());
    }
}
