//! AWS's Partner Central Selling service model, loaded from botocore's `service-2.json`, and a
//! validator driven by it for every shape.
//!
//! The model file (`model/partnercentral-selling.botocore.json`) is botocore 1.43.100's
//! `botocore/data/partnercentral-selling/2022-07-26/service-2.json` (Apache-2.0), whose
//! operations, members and enum values match `aws-sdk-partnercentralselling` 1.84 exactly
//! (ace-api.md §0). Nothing here is hand-written per field: required members, string lengths
//! and patterns, enums, list and map sizes, number ranges, timestamps and unions all come from
//! the model, so the simulator and the pre-flight check agree with the real service's request
//! validation by construction.
//!
//! Two translations are needed to evaluate botocore's patterns with the `regex` crate:
//! - botocore drops the anchors of Smithy's patterns, which always match the whole value, so
//!   every pattern is anchored here;
//! - the crate has no lookahead, and the model writes length limits as `(?=.{a,b}$)rest`; such
//!   a prefix (and a whole pattern of the form `(?s).{a,b}`) becomes a length check on
//!   characters plus the rest of the pattern. Smithy patterns are ECMA-262 regexes, where `\w`
//!   and `\d` are ASCII, so they are mapped to the crate's ASCII classes.
//!
//! Members the model does not know are ignored, as the service's awsJson deserializers do;
//! [`ServiceModel::unknown_members`] lists them for callers who want to warn.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

/// The embedded botocore model.
const BOTOCORE_JSON: &str = include_str!("model/partnercentral-selling.botocore.json");

/// What can go wrong turning the embedded model into a [`ServiceModel`].
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the service model is not valid botocore JSON")]
    Json(#[source] serde_json::Error),
    #[error("shape {shape} has type {kind:?}, which this model reader does not know")]
    UnknownShapeType { shape: String, kind: String },
    #[error("{from} refers to shape {to}, which the model does not define")]
    DanglingReference { from: String, to: String },
    #[error("the pattern of shape {shape} ({pattern:?}) uses a form that cannot be translated")]
    UnsupportedPattern { shape: String, pattern: String },
    #[error("the pattern of shape {shape} ({pattern:?}) does not compile")]
    Pattern {
        shape: String,
        pattern: String,
        #[source]
        source: Box<regex::Error>,
    },
}

/// The service's metadata block.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// `AWSPartnerCentralSelling`: the prefix of `X-Amz-Target`.
    pub target_prefix: String,
    pub api_version: String,
    pub json_version: String,
    pub signing_name: String,
    pub service_id: String,
}

/// One operation of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub name: String,
    /// Input shape, if the operation takes one.
    pub input: Option<String>,
    /// Output shape; `None` means the service answers `{}`.
    pub output: Option<String>,
    /// The error shapes the operation declares; an SDK parses any other error as unhandled.
    pub errors: Vec<String>,
}

impl Operation {
    /// Whether the operation declares the error shape `error`.
    pub fn declares(&self, error: &str) -> bool {
        self.errors.iter().any(|e| e == error)
    }
}

/// A typed view of a botocore shape.
#[derive(Debug, Clone)]
pub struct Shape {
    pub name: String,
    pub kind: ShapeKind,
    /// Marked `sensitive`: the SDKs redact it in debug output, and so must our logs.
    pub sensitive: bool,
}

#[derive(Debug, Clone)]
pub enum ShapeKind {
    Structure(StructureShape),
    List(ListShape),
    Map(MapShape),
    String(StringShape),
    Integer(Range<i64>),
    Long(Range<i64>),
    Float(Range<f64>),
    Double(Range<f64>),
    Boolean,
    Timestamp(TimestampFormat),
    Blob,
}

impl Shape {
    pub fn as_structure(&self) -> Option<&StructureShape> {
        match &self.kind {
            ShapeKind::Structure(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_string(&self) -> Option<&StringShape> {
        match &self.kind {
            ShapeKind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&ListShape> {
        match &self.kind {
            ShapeKind::List(l) => Some(l),
            _ => None,
        }
    }
}

/// A structure (or union: exactly one member set) with its members in model order.
#[derive(Debug, Clone)]
pub struct StructureShape {
    pub members: Vec<Member>,
    pub union: bool,
    /// An error shape; `fault` marks server-side errors.
    pub exception: bool,
    pub fault: bool,
}

impl StructureShape {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    /// The member's shape.
    pub target: String,
    pub required: bool,
    /// `idempotencyToken`: the SDKs fill it with a UUID when the caller leaves it unset.
    pub idempotency_token: bool,
}

#[derive(Debug, Clone)]
pub struct ListShape {
    pub member: String,
    pub min: Option<u64>,
    pub max: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct MapShape {
    pub key: String,
    pub value: String,
    pub min: Option<u64>,
    pub max: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct StringShape {
    pub enum_values: Option<Vec<String>>,
    /// Length limits in characters (Unicode scalar values, as Smithy counts).
    pub min: Option<u64>,
    pub max: Option<u64>,
    pub pattern: Option<Arc<StringPattern>>,
}

/// Inclusive bounds of a number shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range<T> {
    pub min: Option<T>,
    pub max: Option<T>,
}

/// How a timestamp travels in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    /// An RFC 3339 string (`timestampFormat: iso8601`).
    Iso8601,
    /// Seconds since the epoch as a JSON number: awsJson's default.
    EpochSeconds,
}

/// A botocore pattern as the service evaluates it: anchored, with its length lookahead turned
/// into a length check.
#[derive(Debug)]
pub struct StringPattern {
    source: String,
    length: Option<LengthBound>,
    regex: Option<Regex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LengthBound {
    min: usize,
    max: usize,
    /// Written `(?s).{a,b}`: `.` also matches line breaks. Without `(?s)` it does not, so a
    /// value with a line break fails the pattern.
    dot_all: bool,
}

/// Why a value failed a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternFailure {
    TooShort { min: usize },
    TooLong { max: usize },
    Mismatch,
}

impl StringPattern {
    /// The pattern as botocore writes it.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, value: &str) -> bool {
        self.check(value).is_ok()
    }

    /// Checks `value`, saying which part of the pattern it fails.
    pub fn check(&self, value: &str) -> Result<(), PatternFailure> {
        if let Some(bound) = self.length {
            let chars = value.chars().count();
            if chars < bound.min {
                return Err(PatternFailure::TooShort { min: bound.min });
            }
            if chars > bound.max {
                return Err(PatternFailure::TooLong { max: bound.max });
            }
            if !bound.dot_all && value.contains(['\n', '\r']) {
                return Err(PatternFailure::Mismatch);
            }
        }
        match &self.regex {
            Some(regex) if !regex.is_match(value) => Err(PatternFailure::Mismatch),
            _ => Ok(()),
        }
    }

    fn compile(shape: &str, source: &str) -> Result<StringPattern, ModelError> {
        let unsupported = || ModelError::UnsupportedPattern {
            shape: shape.to_owned(),
            pattern: source.to_owned(),
        };
        let mut rest = source;
        let mut length = None;
        if let Some(after) = rest.strip_prefix("(?=") {
            let close = closing_paren(after).ok_or_else(unsupported)?;
            let inner = after[..close].strip_suffix('$').ok_or_else(unsupported)?;
            length = Some(parse_length_only(inner).ok_or_else(unsupported)?);
            rest = &after[close + 1..];
        }
        if let Some(bound) = parse_length_only(rest) {
            let bound = match length {
                Some(outer) => LengthBound {
                    min: outer.min.max(bound.min),
                    max: outer.max.min(bound.max),
                    dot_all: outer.dot_all && bound.dot_all,
                },
                None => bound,
            };
            return Ok(StringPattern {
                source: source.to_owned(),
                length: Some(bound),
                regex: None,
            });
        }
        let anchored = format!(r"\A(?:{})\z", ecma_classes_to_ascii(rest));
        let regex = Regex::new(&anchored).map_err(|source_err| ModelError::Pattern {
            shape: shape.to_owned(),
            pattern: source.to_owned(),
            source: Box::new(source_err),
        })?;
        Ok(StringPattern {
            source: source.to_owned(),
            length,
            regex: Some(regex),
        })
    }
}

/// The index of the `)` closing a group whose body starts at `s[0]`.
fn closing_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut escaped = false;
    let mut in_class = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    None
}

/// `(?s).{a,b}` or `.{a,b}`: a pattern that only limits the length.
fn parse_length_only(p: &str) -> Option<LengthBound> {
    let (dot_all, p) = match p.strip_prefix("(?s)") {
        Some(rest) => (true, rest),
        None => (false, p),
    };
    let body = p.strip_prefix(".{")?.strip_suffix('}')?;
    let (min, max) = body.split_once(',')?;
    Some(LengthBound {
        min: min.parse().ok()?,
        max: max.parse().ok()?,
        dot_all,
    })
}

/// ECMA-262 `\w`, `\d` (and negations) are ASCII; the `regex` crate's are Unicode.
fn ecma_classes_to_ascii(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 16);
    let mut chars = p.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let class = match next {
                    'w' => Some("word"),
                    'd' => Some("digit"),
                    'W' => Some("^word"),
                    'D' => Some("^digit"),
                    _ => None,
                };
                match (class, in_class) {
                    (Some(name), true) => out.push_str(&format!("[:{name}:]")),
                    (Some(name), false) => out.push_str(&format!("[[:{name}:]]")),
                    (None, _) => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The wire codes of `ValidationExceptionErrorCode` (ace-api.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViolationCode {
    RequiredFieldMissing,
    InvalidEnumValue,
    InvalidStringFormat,
    InvalidValue,
    NotEnoughValues,
    TooManyValues,
    InvalidResourceState,
    DuplicateKeyValue,
    ValueOutOfRange,
    ActionNotPermitted,
}

impl ViolationCode {
    pub const ALL: [ViolationCode; 10] = [
        Self::RequiredFieldMissing,
        Self::InvalidEnumValue,
        Self::InvalidStringFormat,
        Self::InvalidValue,
        Self::NotEnoughValues,
        Self::TooManyValues,
        Self::InvalidResourceState,
        Self::DuplicateKeyValue,
        Self::ValueOutOfRange,
        Self::ActionNotPermitted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequiredFieldMissing => "REQUIRED_FIELD_MISSING",
            Self::InvalidEnumValue => "INVALID_ENUM_VALUE",
            Self::InvalidStringFormat => "INVALID_STRING_FORMAT",
            Self::InvalidValue => "INVALID_VALUE",
            Self::NotEnoughValues => "NOT_ENOUGH_VALUES",
            Self::TooManyValues => "TOO_MANY_VALUES",
            Self::InvalidResourceState => "INVALID_RESOURCE_STATE",
            Self::DuplicateKeyValue => "DUPLICATE_KEY_VALUE",
            Self::ValueOutOfRange => "VALUE_OUT_OF_RANGE",
            Self::ActionNotPermitted => "ACTION_NOT_PERMITTED",
        }
    }

    pub fn parse(wire: &str) -> Option<ViolationCode> {
        Self::ALL.into_iter().find(|c| c.as_str() == wire)
    }
}

impl fmt::Display for ViolationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One way a request breaks the model (or a business rule), as one `ErrorList` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Dotted member path, list items as `[i]`: `Project.ExpectedCustomerSpend[0].Amount`.
    pub field: String,
    pub code: ViolationCode,
    pub message: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, code: ViolationCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// The data model's text for a missing member: "Field X is required."
    pub fn required(field: &str) -> Self {
        Self::new(
            field,
            ViolationCode::RequiredFieldMissing,
            format!("Field {field} is required."),
        )
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.field, self.code, self.message)
    }
}

/// A member found by [`ServiceModel::resolve_path`].
#[derive(Debug, Clone)]
pub struct ResolvedMember<'a> {
    /// Name of the member's shape (for a list, the list shape itself).
    pub shape: String,
    pub target: &'a Shape,
    /// Whether the last member of the path is required within its structure.
    pub required_in_parent: bool,
    /// The enum values of the member, or of the items of a list member.
    pub enum_values: Option<&'a [String]>,
}

/// Enum lists longer than this are not spelled out in messages (CountryCode has 249 values).
const ENUM_LIST_IN_MESSAGE_MAX: usize = 40;

/// AWS's service model, parsed once; share it as `Arc<ServiceModel>`.
#[derive(Debug)]
pub struct ServiceModel {
    metadata: Metadata,
    operations: Vec<Operation>,
    shapes: HashMap<String, Shape>,
}

impl ServiceModel {
    /// Parses the embedded model and compiles its patterns.
    pub fn load() -> Result<ServiceModel, ModelError> {
        Self::from_botocore_json(BOTOCORE_JSON)
    }

    /// Parses a botocore `service-2.json` document.
    pub fn from_botocore_json(json: &str) -> Result<ServiceModel, ModelError> {
        let raw: raw::Model = serde_json::from_str(json).map_err(ModelError::Json)?;
        let mut patterns: HashMap<String, Arc<StringPattern>> = HashMap::new();
        let mut shapes = HashMap::with_capacity(raw.shapes.len());
        for (name, shape) in raw.shapes {
            let parsed = shape.into_shape(&name, &mut patterns)?;
            shapes.insert(name, parsed);
        }
        let mut operations: Vec<Operation> = raw
            .operations
            .into_iter()
            .map(|(name, op)| Operation {
                name,
                input: op.input.map(|r| r.shape),
                output: op.output.map(|r| r.shape),
                errors: op.errors.into_iter().map(|r| r.shape).collect(),
            })
            .collect();
        operations.sort_by(|a, b| a.name.cmp(&b.name));
        let model = ServiceModel {
            metadata: Metadata {
                target_prefix: raw.metadata.target_prefix,
                api_version: raw.metadata.api_version,
                json_version: raw.metadata.json_version,
                signing_name: raw.metadata.signing_name,
                service_id: raw.metadata.service_id,
            },
            operations,
            shapes,
        };
        model.check_references()?;
        Ok(model)
    }

    fn check_references(&self) -> Result<(), ModelError> {
        let dangling = |from: &str, to: &str| ModelError::DanglingReference {
            from: from.to_owned(),
            to: to.to_owned(),
        };
        for op in &self.operations {
            for to in op.input.iter().chain(&op.output).chain(&op.errors) {
                if !self.shapes.contains_key(to) {
                    return Err(dangling(&op.name, to));
                }
            }
        }
        for shape in self.shapes.values() {
            let targets: Vec<&str> = match &shape.kind {
                ShapeKind::Structure(s) => s.members.iter().map(|m| m.target.as_str()).collect(),
                ShapeKind::List(l) => vec![l.member.as_str()],
                ShapeKind::Map(m) => vec![m.key.as_str(), m.value.as_str()],
                _ => Vec::new(),
            };
            for to in targets {
                if !self.shapes.contains_key(to) {
                    return Err(dangling(&shape.name, to));
                }
            }
        }
        Ok(())
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// All operations, by name.
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.iter()
    }

    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations
            .binary_search_by(|op| op.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.operations[i])
    }

    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// The values of an enum string shape.
    pub fn enum_values(&self, shape: &str) -> Option<&[String]> {
        self.shape(shape)?.as_string()?.enum_values.as_deref()
    }

    /// Validates `value` against the input shape of `operation`; empty = valid. An unknown
    /// operation yields one violation on the empty field.
    pub fn validate_input(&self, operation: &str, value: &Value) -> Vec<Violation> {
        let Some(op) = self.operation(operation) else {
            return vec![Violation::new(
                "",
                ViolationCode::InvalidValue,
                format!("Operation {operation} is not part of the service model."),
            )];
        };
        match &op.input {
            Some(input) => self.validate_shape(input, value),
            None if value.is_object() => Vec::new(),
            None => vec![Violation::new(
                "",
                ViolationCode::InvalidValue,
                "The request body must be a JSON object.",
            )],
        }
    }

    /// Validates `value` against shape `shape`; empty = valid.
    pub fn validate_shape(&self, shape: &str, value: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        match self.shape(shape) {
            Some(s) => self.check(s, value, &mut String::new(), &mut out),
            None => out.push(Violation::new(
                "",
                ViolationCode::InvalidValue,
                format!("Shape {shape} is not part of the service model."),
            )),
        }
        out
    }

    /// Paths of members in `value` that shape `shape` does not define (ignored on input).
    pub fn unknown_members(&self, shape: &str, value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(s) = self.shape(shape) {
            self.collect_unknown(s, value, &mut String::new(), &mut out);
        }
        out
    }

    /// A copy of `value` with every member of a `sensitive` shape replaced, for logs.
    pub fn redacted(&self, shape: &str, value: &Value) -> Value {
        match self.shape(shape) {
            Some(s) => self.redact(s, value),
            None => value.clone(),
        }
    }

    /// `value` reduced to what shape `shape` defines: unknown members and `null`s are dropped,
    /// recursively. Renders a stored document as an operation's output shape.
    pub fn project(&self, shape: &str, value: &Value) -> Value {
        match self.shape(shape) {
            Some(s) => self.project_onto(s, value),
            None => value.clone(),
        }
    }

    fn project_onto(&self, shape: &Shape, value: &Value) -> Value {
        match (&shape.kind, value) {
            (ShapeKind::Structure(structure), Value::Object(object)) => Value::Object(
                structure
                    .members
                    .iter()
                    .filter_map(|member| {
                        let v = object.get(&member.name).filter(|v| !v.is_null())?;
                        let target = self.shape(&member.target)?;
                        Some((member.name.clone(), self.project_onto(target, v)))
                    })
                    .collect(),
            ),
            (ShapeKind::List(list), Value::Array(items)) => match self.shape(&list.member) {
                Some(item) => Value::Array(
                    items
                        .iter()
                        .filter(|i| !i.is_null())
                        .map(|i| self.project_onto(item, i))
                        .collect(),
                ),
                None => value.clone(),
            },
            (ShapeKind::Map(map), Value::Object(entries)) => match self.shape(&map.value) {
                Some(v_shape) => Value::Object(
                    entries
                        .iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (k.clone(), self.project_onto(v_shape, v)))
                        .collect(),
                ),
                None => value.clone(),
            },
            _ => value.clone(),
        }
    }

    /// Resolves a dotted member path such as `Customer.Account.Industry` under a structure
    /// shape. List items are transparent (`Project.ExpectedCustomerSpend.Amount`), and
    /// `[i]` indices are accepted and ignored.
    pub fn resolve_path(&self, root_shape: &str, path: &str) -> Option<ResolvedMember<'_>> {
        let mut current = self.shape(root_shape)?;
        let mut resolved = None;
        for segment in path.split('.') {
            let name = segment.split('[').next().unwrap_or(segment);
            current = self.through_lists(current);
            let member = current.as_structure()?.member(name)?;
            let target = self.shapes.get(&member.target)?;
            resolved = Some(ResolvedMember {
                shape: member.target.clone(),
                target,
                required_in_parent: member.required,
                enum_values: None,
            });
            current = target;
        }
        let mut resolved = resolved?;
        let item = self.through_lists(resolved.target);
        resolved.enum_values = item.as_string().and_then(|s| s.enum_values.as_deref());
        Some(resolved)
    }

    /// The item shape of (nested) lists, or `shape` itself.
    fn through_lists<'a>(&'a self, mut shape: &'a Shape) -> &'a Shape {
        while let ShapeKind::List(list) = &shape.kind {
            match self.shape(&list.member) {
                Some(item) => shape = item,
                None => break,
            }
        }
        shape
    }

    fn check(&self, shape: &Shape, value: &Value, path: &mut String, out: &mut Vec<Violation>) {
        match &shape.kind {
            ShapeKind::Structure(structure) => self.check_structure(structure, value, path, out),
            ShapeKind::List(list) => self.check_list(list, value, path, out),
            ShapeKind::Map(map) => self.check_map(map, value, path, out),
            ShapeKind::String(string) => check_string(&shape.name, string, value, path, out),
            ShapeKind::Integer(range) => {
                check_integer(*range, i32::MIN.into(), i32::MAX.into(), value, path, out)
            }
            ShapeKind::Long(range) => check_integer(*range, i64::MIN, i64::MAX, value, path, out),
            ShapeKind::Float(range) | ShapeKind::Double(range) => {
                check_float(*range, value, path, out)
            }
            ShapeKind::Boolean => {
                if !value.is_boolean() {
                    out.push(wrong_type(path, "a boolean"));
                }
            }
            ShapeKind::Timestamp(format) => check_timestamp(*format, value, path, out),
            ShapeKind::Blob => {
                if !value.is_string() {
                    out.push(wrong_type(path, "a base64 string"));
                }
            }
        }
    }

    fn check_structure(
        &self,
        structure: &StructureShape,
        value: &Value,
        path: &mut String,
        out: &mut Vec<Violation>,
    ) {
        let Some(object) = value.as_object() else {
            out.push(wrong_type(path, "an object"));
            return;
        };
        let mut set = Vec::new();
        for member in &structure.members {
            // awsJson deserializers read `null` as "not set".
            let member_value = object.get(&member.name).filter(|v| !v.is_null());
            let len = push_segment(path, &member.name);
            match member_value {
                None if member.required => out.push(Violation::required(path)),
                None => {}
                Some(v) => {
                    set.push(member.name.as_str());
                    if let Some(target) = self.shape(&member.target) {
                        self.check(target, v, path, out);
                    }
                }
            }
            path.truncate(len);
        }
        if structure.union && set.len() != 1 {
            let names: Vec<&str> = structure.members.iter().map(|m| m.name.as_str()).collect();
            let found = if set.is_empty() {
                "none".to_owned()
            } else {
                set.join(", ")
            };
            out.push(Violation::new(
                path.as_str(),
                ViolationCode::InvalidValue,
                format!(
                    "Field {} must set exactly one of: {} (found: {found}).",
                    display_path(path),
                    names.join(", ")
                ),
            ));
        }
    }

    fn check_list(
        &self,
        list: &ListShape,
        value: &Value,
        path: &mut String,
        out: &mut Vec<Violation>,
    ) {
        let Some(items) = value.as_array() else {
            out.push(wrong_type(path, "a list"));
            return;
        };
        check_count(list.min, list.max, items.len(), "items", path, out);
        let Some(item_shape) = self.shape(&list.member) else {
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            if item.is_null() {
                out.push(Violation::new(
                    path.as_str(),
                    ViolationCode::InvalidValue,
                    format!("Field {path} must not be null."),
                ));
            } else {
                self.check(item_shape, item, path, out);
            }
            path.truncate(len);
        }
    }

    fn check_map(
        &self,
        map: &MapShape,
        value: &Value,
        path: &mut String,
        out: &mut Vec<Violation>,
    ) {
        let Some(entries) = value.as_object() else {
            out.push(wrong_type(path, "an object"));
            return;
        };
        check_count(map.min, map.max, entries.len(), "entries", path, out);
        let key_shape = self.shape(&map.key);
        let value_shape = self.shape(&map.value);
        for (key, entry) in entries {
            let len = push_segment(path, key);
            if let Some(k) = key_shape {
                self.check(k, &Value::String(key.clone()), path, out);
            }
            if let Some(v) = value_shape
                && !entry.is_null()
            {
                self.check(v, entry, path, out);
            }
            path.truncate(len);
        }
    }

    fn collect_unknown(
        &self,
        shape: &Shape,
        value: &Value,
        path: &mut String,
        out: &mut Vec<String>,
    ) {
        match (&shape.kind, value) {
            (ShapeKind::Structure(structure), Value::Object(object)) => {
                for (name, v) in object {
                    let len = push_segment(path, name);
                    match structure.member(name).and_then(|m| self.shape(&m.target)) {
                        Some(target) => self.collect_unknown(target, v, path, out),
                        None => out.push(path.clone()),
                    }
                    path.truncate(len);
                }
            }
            (ShapeKind::List(list), Value::Array(items)) => {
                if let Some(item_shape) = self.shape(&list.member) {
                    for (i, item) in items.iter().enumerate() {
                        let len = path.len();
                        path.push_str(&format!("[{i}]"));
                        self.collect_unknown(item_shape, item, path, out);
                        path.truncate(len);
                    }
                }
            }
            (ShapeKind::Map(map), Value::Object(entries)) => {
                if let Some(value_shape) = self.shape(&map.value) {
                    for (key, v) in entries {
                        let len = push_segment(path, key);
                        self.collect_unknown(value_shape, v, path, out);
                        path.truncate(len);
                    }
                }
            }
            _ => {}
        }
    }

    fn redact(&self, shape: &Shape, value: &Value) -> Value {
        if shape.sensitive && !value.is_null() {
            return Value::String("*** Sensitive Data Redacted ***".to_owned());
        }
        match (&shape.kind, value) {
            (ShapeKind::Structure(structure), Value::Object(object)) => Value::Object(
                object
                    .iter()
                    .map(|(name, v)| {
                        let redacted =
                            match structure.member(name).and_then(|m| self.shape(&m.target)) {
                                Some(target) => self.redact(target, v),
                                // Unknown members are not described by the model: keep them out.
                                None => Value::String("*** Unknown Member Redacted ***".to_owned()),
                            };
                        (name.clone(), redacted)
                    })
                    .collect(),
            ),
            (ShapeKind::List(list), Value::Array(items)) => match self.shape(&list.member) {
                Some(item_shape) => {
                    Value::Array(items.iter().map(|i| self.redact(item_shape, i)).collect())
                }
                None => value.clone(),
            },
            (ShapeKind::Map(map), Value::Object(entries)) => match self.shape(&map.value) {
                Some(value_shape) => Value::Object(
                    entries
                        .iter()
                        .map(|(k, v)| (k.clone(), self.redact(value_shape, v)))
                        .collect(),
                ),
                None => value.clone(),
            },
            _ => value.clone(),
        }
    }
}

/// Appends `.name` (or `name` at the root) and returns the length to truncate back to.
fn push_segment(path: &mut String, name: &str) -> usize {
    let len = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(name);
    len
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "(request)" } else { path }
}

fn wrong_type(path: &str, expected: &str) -> Violation {
    Violation::new(
        path,
        ViolationCode::InvalidValue,
        format!("Field {} must be {expected}.", display_path(path)),
    )
}

fn check_count(
    min: Option<u64>,
    max: Option<u64>,
    count: usize,
    noun: &str,
    path: &str,
    out: &mut Vec<Violation>,
) {
    let count = count as u64;
    if let Some(min) = min
        && count < min
    {
        out.push(Violation::new(
            path,
            ViolationCode::NotEnoughValues,
            format!(
                "Field {} must have at least {min} {noun}.",
                display_path(path)
            ),
        ));
    }
    if let Some(max) = max
        && count > max
    {
        out.push(Violation::new(
            path,
            ViolationCode::TooManyValues,
            format!(
                "Field {} must have at most {max} {noun}.",
                display_path(path)
            ),
        ));
    }
}

fn too_short(path: &str, min: impl fmt::Display) -> Violation {
    Violation::new(
        path,
        ViolationCode::InvalidStringFormat,
        format!("Field {path} does not meet minimum length requirement of {min} characters."),
    )
}

fn too_long(path: &str, max: impl fmt::Display) -> Violation {
    Violation::new(
        path,
        ViolationCode::InvalidStringFormat,
        format!("Field {path} exceeds maximum length of {max} characters."),
    )
}

fn check_string(
    shape_name: &str,
    string: &StringShape,
    value: &Value,
    path: &str,
    out: &mut Vec<Violation>,
) {
    let Some(s) = value.as_str() else {
        out.push(wrong_type(path, "a string"));
        return;
    };
    if let Some(values) = &string.enum_values {
        if !values.iter().any(|v| v == s) {
            let message = if values.len() <= ENUM_LIST_IN_MESSAGE_MAX {
                format!(
                    "Field {path} must be one of the following values: {}.",
                    values.join("; ")
                )
            } else {
                format!("Field {path} must be one of the allowed {shape_name} values.")
            };
            out.push(Violation::new(
                path,
                ViolationCode::InvalidEnumValue,
                message,
            ));
        }
        return;
    }
    let chars = s.chars().count() as u64;
    if let Some(min) = string.min
        && chars < min
    {
        out.push(too_short(path, min));
        return;
    }
    if let Some(max) = string.max
        && chars > max
    {
        out.push(too_long(path, max));
        return;
    }
    if let Some(pattern) = &string.pattern {
        match pattern.check(s) {
            Ok(()) => {}
            Err(PatternFailure::TooShort { min }) => out.push(too_short(path, min)),
            Err(PatternFailure::TooLong { max }) => out.push(too_long(path, max)),
            Err(PatternFailure::Mismatch) => out.push(Violation::new(
                path,
                ViolationCode::InvalidStringFormat,
                format!(
                    "Field {path} does not match the required format: {}.",
                    pattern.source()
                ),
            )),
        }
    }
}

fn check_integer(
    range: Range<i64>,
    lo: i64,
    hi: i64,
    value: &Value,
    path: &str,
    out: &mut Vec<Violation>,
) {
    let Some(n) = value.as_i64().filter(|n| (lo..=hi).contains(n)) else {
        out.push(wrong_type(path, "an integer"));
        return;
    };
    let below = range.min.is_some_and(|min| n < min);
    let above = range.max.is_some_and(|max| n > max);
    if below || above {
        out.push(Violation::new(
            path,
            ViolationCode::ValueOutOfRange,
            format!("Field {path} must be {}.", describe_range(range)),
        ));
    }
}

fn check_float(range: Range<f64>, value: &Value, path: &str, out: &mut Vec<Violation>) {
    let Some(n) = value.as_f64() else {
        out.push(wrong_type(path, "a number"));
        return;
    };
    let below = range.min.is_some_and(|min| n < min);
    let above = range.max.is_some_and(|max| n > max);
    if below || above {
        out.push(Violation::new(
            path,
            ViolationCode::ValueOutOfRange,
            format!("Field {path} must be {}.", describe_range(range)),
        ));
    }
}

fn describe_range<T: fmt::Display>(range: Range<T>) -> String {
    match (range.min, range.max) {
        (Some(min), Some(max)) => format!("between {min} and {max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => "a number".to_owned(),
    }
}

fn check_timestamp(format: TimestampFormat, value: &Value, path: &str, out: &mut Vec<Violation>) {
    match format {
        TimestampFormat::Iso8601 => {
            let valid = value.as_str().is_some_and(|s| {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .is_ok()
            });
            if !valid {
                out.push(Violation::new(
                    path,
                    ViolationCode::InvalidValue,
                    format!("Field {path} must be an ISO 8601 (RFC 3339) date-time such as 2025-01-31T12:00:00Z."),
                ));
            }
        }
        TimestampFormat::EpochSeconds => {
            if !value.is_number() {
                out.push(wrong_type(path, "a number of seconds since the epoch"));
            }
        }
    }
}

/// The botocore JSON, as read.
mod raw {
    use std::collections::HashMap;
    use std::fmt;

    use serde::Deserialize;
    use serde::de::{MapAccess, Visitor};

    use super::{
        ListShape, MapShape, Member, ModelError, Range, Shape, ShapeKind, StringPattern,
        StringShape, StructureShape, TimestampFormat,
    };
    use std::sync::Arc;

    #[derive(Deserialize)]
    pub(super) struct Model {
        pub metadata: RawMetadata,
        pub operations: HashMap<String, RawOperation>,
        pub shapes: HashMap<String, RawShape>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct RawMetadata {
        pub target_prefix: String,
        pub api_version: String,
        pub json_version: String,
        pub signing_name: String,
        pub service_id: String,
    }

    #[derive(Deserialize)]
    pub(super) struct RawOperation {
        pub input: Option<ShapeRef>,
        pub output: Option<ShapeRef>,
        #[serde(default)]
        pub errors: Vec<ShapeRef>,
    }

    #[derive(Deserialize)]
    pub(super) struct ShapeRef {
        pub shape: String,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct RawMember {
        pub shape: String,
        #[serde(default)]
        pub idempotency_token: bool,
    }

    /// Structure members in document order (serde_json's map would sort them).
    pub(super) struct Members(pub Vec<(String, RawMember)>);

    impl<'de> Deserialize<'de> for Members {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct InOrder;
            impl<'de> Visitor<'de> for InOrder {
                type Value = Members;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a map of members")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                    let mut members = Vec::new();
                    while let Some((name, member)) = map.next_entry::<String, RawMember>()? {
                        members.push((name, member));
                    }
                    Ok(Members(members))
                }
            }
            d.deserialize_map(InOrder)
        }
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct RawShape {
        #[serde(rename = "type")]
        pub kind: String,
        pub members: Option<Members>,
        #[serde(default)]
        pub required: Vec<String>,
        #[serde(default)]
        pub union: bool,
        #[serde(default)]
        pub exception: bool,
        #[serde(default)]
        pub fault: bool,
        pub member: Option<ShapeRef>,
        pub key: Option<ShapeRef>,
        pub value: Option<ShapeRef>,
        pub min: Option<serde_json::Number>,
        pub max: Option<serde_json::Number>,
        pub pattern: Option<String>,
        #[serde(rename = "enum")]
        pub enum_values: Option<Vec<String>>,
        #[serde(default)]
        pub sensitive: bool,
        pub timestamp_format: Option<String>,
    }

    impl RawShape {
        pub(super) fn into_shape(
            self,
            name: &str,
            patterns: &mut HashMap<String, Arc<StringPattern>>,
        ) -> Result<Shape, ModelError> {
            let missing = |what: &str| ModelError::DanglingReference {
                from: name.to_owned(),
                to: format!("<{what}>"),
            };
            let min_u = self.min.as_ref().and_then(serde_json::Number::as_u64);
            let max_u = self.max.as_ref().and_then(serde_json::Number::as_u64);
            let int_range = Range {
                min: self.min.as_ref().and_then(serde_json::Number::as_i64),
                max: self.max.as_ref().and_then(serde_json::Number::as_i64),
            };
            let float_range = Range {
                min: self.min.as_ref().and_then(serde_json::Number::as_f64),
                max: self.max.as_ref().and_then(serde_json::Number::as_f64),
            };
            let kind = match self.kind.as_str() {
                "structure" => {
                    let required = self.required;
                    let members = self
                        .members
                        .map(|m| m.0)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(member_name, m)| Member {
                            required: required.contains(&member_name),
                            name: member_name,
                            target: m.shape,
                            idempotency_token: m.idempotency_token,
                        })
                        .collect();
                    ShapeKind::Structure(StructureShape {
                        members,
                        union: self.union,
                        exception: self.exception,
                        fault: self.fault,
                    })
                }
                "list" => ShapeKind::List(ListShape {
                    member: self.member.ok_or_else(|| missing("member"))?.shape,
                    min: min_u,
                    max: max_u,
                }),
                "map" => ShapeKind::Map(MapShape {
                    key: self.key.ok_or_else(|| missing("key"))?.shape,
                    value: self.value.ok_or_else(|| missing("value"))?.shape,
                    min: min_u,
                    max: max_u,
                }),
                "string" => {
                    let pattern = match self.pattern {
                        Some(source) => Some(match patterns.get(&source) {
                            Some(compiled) => Arc::clone(compiled),
                            None => {
                                let compiled = Arc::new(StringPattern::compile(name, &source)?);
                                patterns.insert(source, Arc::clone(&compiled));
                                compiled
                            }
                        }),
                        None => None,
                    };
                    ShapeKind::String(StringShape {
                        enum_values: self.enum_values,
                        min: min_u,
                        max: max_u,
                        pattern,
                    })
                }
                "integer" => ShapeKind::Integer(int_range),
                "long" => ShapeKind::Long(int_range),
                "float" => ShapeKind::Float(float_range),
                "double" => ShapeKind::Double(float_range),
                "boolean" => ShapeKind::Boolean,
                "blob" => ShapeKind::Blob,
                "timestamp" => ShapeKind::Timestamp(match self.timestamp_format.as_deref() {
                    Some("iso8601") => TimestampFormat::Iso8601,
                    _ => TimestampFormat::EpochSeconds,
                }),
                other => {
                    return Err(ModelError::UnknownShapeType {
                        shape: name.to_owned(),
                        kind: other.to_owned(),
                    });
                }
            };
            Ok(Shape {
                name: name.to_owned(),
                kind,
                sensitive: self.sensitive,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A CreateEngagementContext request whose customer has website `url`.
    fn engagement_customer(url: Value) -> Value {
        json!({"Catalog":"AWS","EngagementIdentifier":"eng-abcdefghijklmn","ClientToken":"t","Type":"CustomerProject",
            "Payload":{"CustomerProject":{"Customer":{"Industry":"Retail","CompanyName":"Acme","WebsiteUrl":url,"CountryCode":"US"}}}})
    }

    fn model() -> ServiceModel {
        ServiceModel::load().expect("the embedded model loads")
    }

    /// The request crate 1.84 sent in the wire capture (ace-api.md §1): valid as it stands.
    fn captured_create() -> Value {
        json!({"Catalog":"Sandbox","PartnerOpportunityIdentifier":"006XX000001",
            "Customer":{"Account":{"Industry":"Software and Internet","CompanyName":"Acme","WebsiteUrl":"https://acme.example"}},
            "Project":{"ExpectedCustomerSpend":[{"Amount":"100","CurrencyCode":"USD","Frequency":"Monthly","TargetCompany":"AWS"}],"Title":"T"},
            "ClientToken":"87169d83-774a-430b-a6f5-500044a05ae6",
            "LifeCycle":{"Stage":"Prospect","TargetCloseDate":"2030-01-31"}})
    }

    /// Sets `value` at a dotted path (list indices as `[i]`), creating objects on the way.
    fn with(mut body: Value, path: &str, value: Value) -> Value {
        let mut cursor = &mut body;
        let segments: Vec<&str> = path.split('.').collect();
        for (i, segment) in segments.iter().enumerate() {
            let (name, index) = match segment.split_once('[') {
                Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
                None => (*segment, None),
            };
            let last = i + 1 == segments.len();
            let object = cursor.as_object_mut().expect("object on the path");
            if last && index.is_none() {
                if value.is_null() {
                    object.remove(name);
                } else {
                    object.insert(name.to_owned(), value);
                }
                return body;
            }
            let entry = object.entry(name.to_owned()).or_insert_with(|| json!({}));
            cursor = match index {
                Some(idx) => {
                    let item = &mut entry.as_array_mut().expect("list on the path")[idx];
                    if last {
                        *item = value;
                        return body;
                    }
                    item
                }
                None => entry,
            };
        }
        body
    }

    struct Case {
        name: &'static str,
        operation: &'static str,
        body: Value,
        expect: Option<(&'static str, ViolationCode, &'static str)>,
    }

    fn case(
        name: &'static str,
        operation: &'static str,
        body: Value,
        expect: Option<(&'static str, ViolationCode, &'static str)>,
    ) -> Case {
        Case {
            name,
            operation,
            body,
            expect,
        }
    }

    #[test]
    fn one_case_per_constraint_kind_against_real_shapes() {
        use ViolationCode::*;
        let m = model();
        let create = captured_create;
        let long = |n: usize| Value::String("x".repeat(n));
        let update = json!({"Catalog":"AWS","Identifier":"O1234567","LastModifiedDate":"2025-01-02T03:04:05.678Z"});
        let list = json!({"Catalog":"AWS"});
        let cases = vec![
            case(
                "captured create is valid",
                "CreateOpportunity",
                create(),
                None,
            ),
            case(
                "required top-level member",
                "CreateOpportunity",
                with(create(), "Catalog", Value::Null),
                Some((
                    "Catalog",
                    RequiredFieldMissing,
                    "Field Catalog is required.",
                )),
            ),
            case(
                "required nested member",
                "CreateOpportunity",
                with(create(), "Customer.Account.CompanyName", Value::Null),
                Some((
                    "Customer.Account.CompanyName",
                    RequiredFieldMissing,
                    "Field Customer.Account.CompanyName is required.",
                )),
            ),
            case(
                "required member of a list item",
                "CreateOpportunity",
                with(
                    create(),
                    "Project.ExpectedCustomerSpend[0]",
                    json!({"Amount":"1","Frequency":"Monthly","TargetCompany":"AWS"}),
                ),
                Some((
                    "Project.ExpectedCustomerSpend[0].CurrencyCode",
                    RequiredFieldMissing,
                    "Field Project.ExpectedCustomerSpend[0].CurrencyCode is required.",
                )),
            ),
            case(
                "enum",
                "CreateOpportunity",
                with(create(), "Customer.Account.Industry", json!("Software")),
                Some((
                    "Customer.Account.Industry",
                    InvalidEnumValue,
                    "Field Customer.Account.Industry must be one of the following values: Aerospace; Agriculture;",
                )),
            ),
            case(
                "enum of a list item",
                "CreateOpportunity",
                with(
                    create(),
                    "PrimaryNeedsFromAws",
                    json!(["Co-Sell - Deal Support", "Help"]),
                ),
                Some((
                    "PrimaryNeedsFromAws[1]",
                    InvalidEnumValue,
                    "Field PrimaryNeedsFromAws[1] must be one of the following values: Co-Sell",
                )),
            ),
            case(
                "long enum is named, not listed",
                "CreateOpportunity",
                with(
                    create(),
                    "Customer.Account.Address.CountryCode",
                    json!("USA"),
                ),
                Some((
                    "Customer.Account.Address.CountryCode",
                    InvalidEnumValue,
                    "Field Customer.Account.Address.CountryCode must be one of the allowed CountryCode values.",
                )),
            ),
            case(
                "string max length (length pattern)",
                "CreateOpportunity",
                with(create(), "PartnerOpportunityIdentifier", long(65)),
                Some((
                    "PartnerOpportunityIdentifier",
                    InvalidStringFormat,
                    "Field PartnerOpportunityIdentifier exceeds maximum length of 64 characters.",
                )),
            ),
            case(
                "string min length (length pattern)",
                "CreateOpportunity",
                with(
                    create(),
                    "Project.CustomerBusinessProblem",
                    json!("Too short"),
                ),
                Some((
                    "Project.CustomerBusinessProblem",
                    InvalidStringFormat,
                    "Field Project.CustomerBusinessProblem does not meet minimum length requirement of 20 characters.",
                )),
            ),
            case(
                "length counts characters, not bytes",
                "CreateOpportunity",
                with(
                    create(),
                    "PartnerOpportunityIdentifier",
                    Value::String("é".repeat(64)),
                ),
                None,
            ),
            case(
                "string min/max members",
                "StartProspectingFromEngagementTask",
                json!({"Catalog":"AWS","Identifiers":["eng-abcdefghijklmn"],"TaskName":"","ClientToken":"t"}),
                Some((
                    "TaskName",
                    InvalidStringFormat,
                    "Field TaskName does not meet minimum length requirement of 1 characters.",
                )),
            ),
            case(
                "pattern, anchored",
                "CreateOpportunity",
                with(create(), "Customer.Account.Duns", json!("1234567890")),
                Some((
                    "Customer.Account.Duns",
                    InvalidStringFormat,
                    "Field Customer.Account.Duns does not match the required format: [0-9]{9}.",
                )),
            ),
            case(
                "pattern accepts a match",
                "CreateOpportunity",
                with(create(), "Customer.Account.Duns", json!("123456789")),
                None,
            ),
            case(
                "length-only pattern, too short",
                "CreateOpportunity",
                with(create(), "Customer.Account.WebsiteUrl", json!("a.b")),
                Some((
                    "Customer.Account.WebsiteUrl",
                    InvalidStringFormat,
                    "Field Customer.Account.WebsiteUrl does not meet minimum length requirement of 4 characters.",
                )),
            ),
            case(
                "lookahead length plus pattern, valid",
                "CreateEngagementContext",
                engagement_customer(json!("https://www.acme.example")),
                None,
            ),
            case(
                "lookahead length, too short",
                "CreateEngagementContext",
                engagement_customer(json!("a.b")),
                Some((
                    "Payload.CustomerProject.Customer.WebsiteUrl",
                    InvalidStringFormat,
                    "does not meet minimum length requirement of 4 characters.",
                )),
            ),
            case(
                "lookahead rest of the pattern",
                "CreateEngagementContext",
                engagement_customer(json!("not a website")),
                Some((
                    "Payload.CustomerProject.Customer.WebsiteUrl",
                    InvalidStringFormat,
                    "does not match the required format: (?=.{4,255}$)",
                )),
            ),
            case(
                "lookahead length, too long",
                "CreateOpportunity",
                with(
                    create(),
                    "Tags",
                    json!([{"Key": "k".repeat(129), "Value": "v"}]),
                ),
                Some((
                    "Tags[0].Key",
                    InvalidStringFormat,
                    "Field Tags[0].Key exceeds maximum length of 128 characters.",
                )),
            ),
            case(
                "unicode classes in a pattern",
                "CreateOpportunity",
                with(
                    create(),
                    "Tags",
                    json!([{"Key": "Kostenstelle Köln", "Value": "Ä-1"}]),
                ),
                None,
            ),
            case(
                "lower-case email pattern",
                "CreateOpportunity",
                with(
                    create(),
                    "Customer.Contacts",
                    json!([{"Email": "Jane@Example.com"}]),
                ),
                Some((
                    "Customer.Contacts[0].Email",
                    InvalidStringFormat,
                    "Field Customer.Contacts[0].Email does not match the required format",
                )),
            ),
            case(
                "\\w is ASCII as in ECMA-262",
                "CreateOpportunity",
                with(create(), "Customer.Account.AwsAccountId", json!("kontö")),
                Some((
                    "Customer.Account.AwsAccountId",
                    InvalidStringFormat,
                    "does not match the required format",
                )),
            ),
            case(
                "\\w accepts ASCII word characters",
                "CreateOpportunity",
                with(create(), "Customer.Account.AwsAccountId", json!("acct_12")),
                None,
            ),
            case(
                "list max items",
                "CreateOpportunity",
                with(
                    create(),
                    "Project.ExpectedCustomerSpend",
                    Value::Array(vec![
                        json!({"Amount":"1","CurrencyCode":"USD","Frequency":"Monthly","TargetCompany":"AWS"});
                        11
                    ]),
                ),
                Some((
                    "Project.ExpectedCustomerSpend",
                    TooManyValues,
                    "Field Project.ExpectedCustomerSpend must have at most 10 items.",
                )),
            ),
            case(
                "list min items",
                "CreateOpportunity",
                with(create(), "Tags", json!([])),
                Some((
                    "Tags",
                    NotEnoughValues,
                    "Field Tags must have at least 1 items.",
                )),
            ),
            case(
                "integer max",
                "ListOpportunities",
                with(list.clone(), "MaxResults", json!(101)),
                Some((
                    "MaxResults",
                    ValueOutOfRange,
                    "Field MaxResults must be between 1 and 100.",
                )),
            ),
            case(
                "integer min",
                "ListOpportunities",
                with(list.clone(), "MaxResults", json!(0)),
                Some((
                    "MaxResults",
                    ValueOutOfRange,
                    "Field MaxResults must be between 1 and 100.",
                )),
            ),
            case(
                "integer must be integral",
                "ListOpportunities",
                with(list.clone(), "MaxResults", json!(2.5)),
                Some((
                    "MaxResults",
                    InvalidValue,
                    "Field MaxResults must be an integer.",
                )),
            ),
            case(
                "timestamp as RFC 3339",
                "UpdateOpportunity",
                with(update.clone(), "LastModifiedDate", json!("yesterday")),
                Some((
                    "LastModifiedDate",
                    InvalidValue,
                    "Field LastModifiedDate must be an ISO 8601 (RFC 3339) date-time",
                )),
            ),
            case(
                "timestamp must be a string",
                "UpdateOpportunity",
                with(update.clone(), "LastModifiedDate", json!(1_700_000_000)),
                Some((
                    "LastModifiedDate",
                    InvalidValue,
                    "Field LastModifiedDate must be an ISO 8601",
                )),
            ),
            case(
                "timestamp with offset",
                "UpdateOpportunity",
                with(
                    update.clone(),
                    "LastModifiedDate",
                    json!("2025-01-02T05:04:05+02:00"),
                ),
                None,
            ),
            case(
                "timestamp in a filter",
                "ListOpportunities",
                with(
                    list.clone(),
                    "LastModifiedDate.AfterLastModifiedDate",
                    json!("2025-13-01T00:00:00Z"),
                ),
                Some((
                    "LastModifiedDate.AfterLastModifiedDate",
                    InvalidValue,
                    "must be an ISO 8601",
                )),
            ),
            case(
                "union with two members",
                "CreateEngagementContext",
                json!({"Catalog":"AWS","EngagementIdentifier":"eng-abcdefghijklmn","ClientToken":"t","Type":"CustomerProject",
                    "Payload":{"CustomerProject":{},"ProspectingResult":{}}}),
                Some((
                    "Payload",
                    InvalidValue,
                    "Field Payload must set exactly one of: CustomerProject, Lead, ProspectingResult (found: CustomerProject, ProspectingResult).",
                )),
            ),
            case(
                "union with no member",
                "CreateEngagementContext",
                json!({"Catalog":"AWS","EngagementIdentifier":"eng-abcdefghijklmn","ClientToken":"t","Type":"CustomerProject","Payload":{}}),
                Some(("Payload", InvalidValue, "(found: none)")),
            ),
            case(
                "union with one member",
                "CreateEngagementContext",
                json!({"Catalog":"AWS","EngagementIdentifier":"eng-abcdefghijklmn","ClientToken":"t","Type":"CustomerProject","Payload":{"CustomerProject":{}}}),
                None,
            ),
            case(
                "wrong JSON type: object",
                "CreateOpportunity",
                with(create(), "Customer", json!("Acme")),
                Some((
                    "Customer",
                    InvalidValue,
                    "Field Customer must be an object.",
                )),
            ),
            case(
                "wrong JSON type: string",
                "CreateOpportunity",
                with(create(), "Catalog", json!(5)),
                Some(("Catalog", InvalidValue, "Field Catalog must be a string.")),
            ),
            case(
                "wrong JSON type: list",
                "CreateOpportunity",
                with(
                    create(),
                    "PrimaryNeedsFromAws",
                    json!("Co-Sell - Deal Support"),
                ),
                Some((
                    "PrimaryNeedsFromAws",
                    InvalidValue,
                    "Field PrimaryNeedsFromAws must be a list.",
                )),
            ),
            case(
                "wrong JSON type: integer",
                "ListOpportunities",
                with(list.clone(), "MaxResults", json!("20")),
                Some((
                    "MaxResults",
                    InvalidValue,
                    "Field MaxResults must be an integer.",
                )),
            ),
            case(
                "null reads as not set",
                "CreateOpportunity",
                with(create(), "Marketing", Value::Null),
                None,
            ),
            case(
                "unknown members are ignored",
                "CreateOpportunity",
                with(create(), "Customer.Account.Nickname", json!({"deep": 1})),
                None,
            ),
            case(
                "request must be an object",
                "CreateOpportunity",
                json!([1]),
                Some(("", InvalidValue, "Field (request) must be an object.")),
            ),
            case(
                "unknown operation",
                "DeleteOpportunity",
                json!({}),
                Some((
                    "",
                    InvalidValue,
                    "Operation DeleteOpportunity is not part of the service model.",
                )),
            ),
        ];
        for c in cases {
            let violations = m.validate_input(c.operation, &c.body);
            match c.expect {
                None => assert!(
                    violations.is_empty(),
                    "{}: expected valid, got {violations:?}",
                    c.name
                ),
                Some((field, code, message)) => {
                    assert_eq!(
                        violations.len(),
                        1,
                        "{}: expected one violation, got {violations:?}",
                        c.name
                    );
                    let v = &violations[0];
                    assert_eq!(
                        (v.field.as_str(), v.code),
                        (field, code),
                        "{}: {v:?}",
                        c.name
                    );
                    assert!(
                        v.message.contains(message),
                        "{}: message {:?} lacks {message:?}",
                        c.name,
                        v.message
                    );
                }
            }
        }
    }

    #[test]
    fn map_shapes_check_size_and_values() {
        let m = model();
        let entries: serde_json::Map<String, Value> =
            (0..26).map(|i| (format!("k{i}"), json!("v"))).collect();
        let v = m.validate_shape("RecommendationAttributeMap", &Value::Object(entries));
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].code, ViolationCode::TooManyValues);
        let v = m.validate_shape("RecommendationAttributeMap", &json!({"k": 1}));
        assert_eq!(
            v,
            vec![Violation::new(
                "k",
                ViolationCode::InvalidValue,
                "Field k must be a string."
            )]
        );
        assert!(
            m.validate_shape("RecommendationAttributeMap", &json!({"k": "v"}))
                .is_empty()
        );
    }

    /// The model has no boolean, long or float shapes today; a small botocore document shows
    /// the validator handles them when a newer model brings them.
    #[test]
    fn booleans_longs_and_doubles_from_a_botocore_document() {
        let m = ServiceModel::from_botocore_json(
            r#"{"metadata":{"targetPrefix":"T","apiVersion":"1","jsonVersion":"1.0","signingName":"t","serviceId":"T"},
                "operations":{"Op":{"input":{"shape":"In"},"errors":[]}},
                "shapes":{"In":{"type":"structure","required":["Flag"],"members":{"Flag":{"shape":"Bool"},"Big":{"shape":"Big"},"Ratio":{"shape":"Ratio"}}},
                          "Bool":{"type":"boolean"},"Big":{"type":"long","min":1},"Ratio":{"type":"double","max":1.5}}}"#,
        )
        .expect("a small model");
        assert!(
            m.validate_input(
                "Op",
                &json!({"Flag": true, "Big": 9_000_000_000_i64, "Ratio": 1.5})
            )
            .is_empty()
        );
        let v = m.validate_input("Op", &json!({"Flag": "true", "Big": 0, "Ratio": 2.0}));
        let got: Vec<(&str, ViolationCode)> =
            v.iter().map(|v| (v.field.as_str(), v.code)).collect();
        assert_eq!(
            got,
            vec![
                ("Flag", ViolationCode::InvalidValue),
                ("Big", ViolationCode::ValueOutOfRange),
                ("Ratio", ViolationCode::ValueOutOfRange)
            ]
        );
    }

    #[test]
    fn several_violations_are_all_reported_in_model_order() {
        let m = model();
        let body = json!({"Customer": {"Account": {"Industry": "Nope"}}, "ClientToken": ""});
        let got: Vec<(String, ViolationCode)> = m
            .validate_input("CreateOpportunity", &body)
            .into_iter()
            .map(|v| (v.field, v.code))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Catalog".to_owned(), ViolationCode::RequiredFieldMissing),
                (
                    "Customer.Account.Industry".to_owned(),
                    ViolationCode::InvalidEnumValue
                ),
                (
                    "Customer.Account.CompanyName".to_owned(),
                    ViolationCode::RequiredFieldMissing
                ),
                ("ClientToken".to_owned(), ViolationCode::InvalidStringFormat),
            ]
        );
    }

    #[test]
    fn unknown_members_are_listed_on_request() {
        let m = model();
        let body = with(
            with(captured_create(), "Customer.Account.Nickname", json!("A")),
            "Extra",
            json!(1),
        );
        let body = with(body, "Project.ExpectedCustomerSpend[0].Note", json!("n"));
        assert_eq!(
            m.unknown_members("CreateOpportunityRequest", &body),
            vec![
                "Customer.Account.Nickname",
                "Extra",
                "Project.ExpectedCustomerSpend[0].Note"
            ]
        );
    }

    #[test]
    fn enums_match_the_published_enum_list() {
        let m = model();
        let published: HashMap<String, Vec<String>> =
            serde_json::from_str(include_str!("model/partnercentral-selling.enums.json"))
                .expect("enums json");
        assert_eq!(published.len(), 50);
        for (name, values) in &published {
            assert_eq!(m.enum_values(name), Some(values.as_slice()), "enum {name}");
        }
        let modelled = m
            .shapes
            .values()
            .filter(|s| s.as_string().is_some_and(|s| s.enum_values.is_some()))
            .count();
        assert_eq!(modelled, published.len());
    }

    #[test]
    fn violation_codes_are_the_models_error_codes() {
        let m = model();
        let wire: Vec<&str> = ViolationCode::ALL.iter().map(|c| c.as_str()).collect();
        let modelled: Vec<&str> = m
            .enum_values("ValidationExceptionErrorCode")
            .expect("error code enum")
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(wire, modelled);
        for code in ViolationCode::ALL {
            assert_eq!(ViolationCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn operations_and_their_shapes() {
        let m = model();
        assert_eq!(m.operations().count(), 45);
        assert_eq!(m.metadata().target_prefix, "AWSPartnerCentralSelling");
        let create = m.operation("CreateOpportunity").expect("op");
        assert_eq!(create.input.as_deref(), Some("CreateOpportunityRequest"));
        assert_eq!(create.output.as_deref(), Some("CreateOpportunityResponse"));
        assert!(
            create.declares("ConflictException")
                && !create.declares("ServiceQuotaExceededException")
        );
        assert_eq!(
            m.operation("AssociateOpportunity").expect("op").output,
            None
        );
        let token = m
            .shape("CreateOpportunityRequest")
            .and_then(Shape::as_structure)
            .and_then(|s| s.member("ClientToken"))
            .expect("ClientToken");
        assert!(token.required && token.idempotency_token);
        let internal = m
            .shape("InternalServerException")
            .and_then(Shape::as_structure)
            .expect("error");
        assert!(internal.exception && internal.fault);
    }

    #[test]
    fn resolves_dotted_paths() {
        let m = model();
        let industry = m
            .resolve_path("CreateOpportunityRequest", "Customer.Account.Industry")
            .expect("path");
        assert_eq!(industry.shape, "Industry");
        assert!(!industry.required_in_parent);
        assert!(
            industry
                .enum_values
                .is_some_and(|v| v.iter().any(|x| x == "Software and Internet"))
        );
        let amount = m
            .resolve_path(
                "CreateOpportunityRequest",
                "Project.ExpectedCustomerSpend.Amount",
            )
            .expect("path");
        assert_eq!(amount.shape, "Amount");
        let currency = m
            .resolve_path(
                "CreateOpportunityRequest",
                "Project.ExpectedCustomerSpend[0].CurrencyCode",
            )
            .expect("path");
        assert!(currency.required_in_parent);
        let needs = m
            .resolve_path("CreateOpportunityRequest", "PrimaryNeedsFromAws")
            .expect("path");
        assert!(matches!(needs.target.kind, ShapeKind::List(_)));
        assert_eq!(needs.enum_values.map(<[String]>::len), Some(8));
        assert!(
            m.resolve_path("CreateOpportunityRequest", "Customer.Account.Nope")
                .is_none()
        );
        assert!(
            m.resolve_path("CreateOpportunityRequest", "Catalog.Deeper")
                .is_none()
        );
        assert!(m.resolve_path("NoSuchShape", "Catalog").is_none());
    }

    #[test]
    fn redaction_hides_sensitive_members() {
        let m = model();
        let body = with(
            captured_create(),
            "Customer.Account.Nickname",
            json!("secret"),
        );
        let redacted = m.redacted("CreateOpportunityRequest", &body);
        assert_eq!(
            redacted["Customer"]["Account"]["CompanyName"],
            json!("*** Sensitive Data Redacted ***")
        );
        assert_eq!(
            redacted["Customer"]["Account"]["Nickname"],
            json!("*** Unknown Member Redacted ***")
        );
        assert_eq!(
            redacted["Customer"]["Account"]["Industry"],
            json!("Software and Internet")
        );
        assert_eq!(
            redacted["Project"]["ExpectedCustomerSpend"][0]["Amount"],
            json!("*** Sensitive Data Redacted ***")
        );
        assert_eq!(redacted["ClientToken"], body["ClientToken"]);
    }

    #[test]
    fn projection_keeps_only_modelled_members() {
        let m = model();
        let doc = json!({"Catalog": "AWS", "Id": "O1", "Extra": 1,
            "Customer": {"Account": {"CompanyName": "Acme", "Duns": "123456789", "AwsAccountId": null}},
            "LifeCycle": {"Stage": "Prospect", "NextStepsHistory": [{"Value": "v", "Time": "2025-01-01T00:00:00Z"}]}});
        assert_eq!(
            m.project("OpportunitySummary", &doc),
            json!({"Catalog": "AWS", "Id": "O1", "Customer": {"Account": {"CompanyName": "Acme"}},
                "LifeCycle": {"Stage": "Prospect"}})
        );
    }

    #[test]
    fn pattern_translation() {
        let p = StringPattern::compile("T", "(?=.{1,3}$)[a-z]+").expect("compiles");
        assert_eq!(p.check("abcd"), Err(PatternFailure::TooLong { max: 3 }));
        assert_eq!(p.check(""), Err(PatternFailure::TooShort { min: 1 }));
        assert_eq!(p.check("ab1"), Err(PatternFailure::Mismatch));
        assert!(p.matches("abc"));
        // `.` without (?s) does not match line breaks.
        let dot = StringPattern::compile("T", ".{1,255}").expect("compiles");
        assert!(!dot.matches("a\nb") && dot.matches("a b"));
        let dot_all = StringPattern::compile("T", "(?s).{1,255}").expect("compiles");
        assert!(dot_all.matches("a\nb"));
        // Anchored: a match inside the value is not enough.
        let anchored = StringPattern::compile("T", "O[0-9]{1,19}").expect("compiles");
        assert!(
            !anchored.matches("xO123") && !anchored.matches("O123x") && anchored.matches("O123")
        );
        let digits = StringPattern::compile("T", r"[\d]+\d").expect("compiles");
        assert!(digits.matches("12") && !digits.matches("١٢"));
        assert!(matches!(
            StringPattern::compile("T", "(?=[a-z]{1,3}$).*"),
            Err(ModelError::UnsupportedPattern { .. })
        ));
        assert!(matches!(
            StringPattern::compile("T", "a(?!b)"),
            Err(ModelError::Pattern { .. })
        ));
    }
}
