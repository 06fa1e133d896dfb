//! The SOQL the simulator understands: `SELECT f1, Rel.f2 FROM Object [WHERE condition
//! [AND condition]…] [ORDER BY field [ASC|DESC]] [LIMIT n]`, a condition being `Field = 'x'`,
//! `Field IN ('x', …)`, or `Field > | >= | < | <= value` (a field of the object; `true`/`false`
//! for checkboxes; dates and datetimes unquoted, as SOQL writes them), with Salesforce's error
//! codes and caret-style messages for what it cannot run.

use super::schema::{Rejection, Schema};

/// A selected field: `Name`, or `Account.Name` (one relationship hop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected {
    Field(&'static str),
    Related {
        relationship: &'static str,
        via: &'static str,
        target: &'static str,
        field: &'static str,
    },
}

/// A parsed, schema-checked query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub object: &'static str,
    pub fields: Vec<Selected>,
    /// All must hold; empty: every record.
    pub filters: Vec<Filter>,
    /// `ORDER BY field`, and whether descending.
    pub order: Option<(&'static str, bool)>,
    pub limit: Option<usize>,
}

/// One condition of the `WHERE` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub field: &'static str,
    pub op: Op,
    /// The literals, as written (`true`/`false` for checkboxes).
    pub values: Vec<String>,
}

/// A condition's operator: `=` and `IN` match any value; the comparisons take one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    In,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Literal(String),
    Punct(char),
}

fn tokenize(soql: &str) -> Result<Vec<(usize, Token)>, Rejection> {
    let mut tokens = Vec::new();
    let chars: Vec<(usize, char)> = soql.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let start = i;
            // Date and datetime literals are unquoted: 2026-12-03T10:00:00Z, …+01:00.
            let literal = c.is_ascii_digit();
            while i < chars.len()
                && (chars[i].1.is_ascii_alphanumeric()
                    || "_.".contains(chars[i].1)
                    || (literal && "-:+".contains(chars[i].1)))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().map(|(_, c)| c).collect();
            tokens.push((at, Token::Word(word)));
        } else if c == '\'' {
            let mut literal = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(malformed(soql, at, "unexpected end of string literal")),
                    Some((_, '\\')) => {
                        if let Some((_, escaped)) = chars.get(i + 1) {
                            literal.push(*escaped);
                        }
                        i += 2;
                    }
                    Some((_, '\'')) => {
                        i += 1;
                        break;
                    }
                    Some((_, c)) => {
                        literal.push(*c);
                        i += 1;
                    }
                }
            }
            tokens.push((at, Token::Literal(literal)));
        } else if "(),=<>".contains(c) {
            tokens.push((at, Token::Punct(c)));
            i += 1;
        } else {
            return Err(malformed(soql, at, &format!("unexpected token: '{c}'")));
        }
    }
    Ok(tokens)
}

/// Salesforce's multi-line form: the query, a caret under the problem, its row and column.
fn located(soql: &str, at: usize, text: &str) -> String {
    let column = soql[..at.min(soql.len())].chars().count();
    format!(
        "\n{soql}\n{}^\nERROR at Row:1:Column:{}\n{text}",
        " ".repeat(column),
        column + 1
    )
}

fn malformed(soql: &str, at: usize, text: &str) -> Rejection {
    Rejection::new(400, "MALFORMED_QUERY", located(soql, at, text))
}

/// Parses and checks `soql` against `schema`.
pub fn parse(soql: &str, schema: &Schema) -> Result<Query, Rejection> {
    let tokens = tokenize(soql)?;
    let mut pos = 0;
    let end = soql.len();
    let word_is = |pos: usize, keyword: &str| matches!(tokens.get(pos), Some((_, Token::Word(w))) if w.eq_ignore_ascii_case(keyword));
    let unexpected = |pos: usize| match tokens.get(pos) {
        Some((at, Token::Word(w) | Token::Literal(w))) => {
            malformed(soql, *at, &format!("unexpected token: {w}"))
        }
        Some((at, Token::Punct(c))) => malformed(soql, *at, &format!("unexpected token: '{c}'")),
        None => malformed(soql, end, "unexpected token: <EOF>"),
    };

    if !word_is(pos, "SELECT") {
        return Err(unexpected(pos));
    }
    pos += 1;
    let mut raw_fields = Vec::new();
    loop {
        match tokens.get(pos) {
            Some((at, Token::Word(w))) if !w.eq_ignore_ascii_case("FROM") => {
                raw_fields.push((*at, w.clone()));
                pos += 1;
            }
            _ => return Err(unexpected(pos)),
        }
        if matches!(tokens.get(pos), Some((_, Token::Punct(',')))) {
            pos += 1;
            continue;
        }
        break;
    }
    if !word_is(pos, "FROM") {
        return Err(unexpected(pos));
    }
    pos += 1;
    let (object_at, object_name) = match tokens.get(pos) {
        Some((at, Token::Word(w))) => (*at, w.clone()),
        _ => return Err(unexpected(pos)),
    };
    pos += 1;
    let object = schema.object(&object_name).ok_or_else(|| {
        Rejection::new(
            400,
            "INVALID_TYPE",
            located(
                soql,
                object_at,
                &format!(
                    "sObject type '{object_name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
                ),
            ),
        )
    })?;

    let mut fields = Vec::new();
    for (field_at, name) in raw_fields {
        let no_such = |name: &str, entity: &str| {
            Rejection::new(
                400,
                "INVALID_FIELD",
                located(
                    soql,
                    field_at,
                    &format!(
                        "No such column '{name}' on entity '{entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
                    ),
                ),
            )
        };
        let selected = match name.split_once('.') {
            None => Selected::Field(
                object
                    .field(&name)
                    .ok_or_else(|| no_such(&name, object.name))?
                    .name,
            ),
            Some((relationship, field)) => {
                let rel = object
                    .relationship(relationship)
                    .ok_or_else(|| no_such(relationship, object.name))?;
                let target = schema
                    .object(rel.target)
                    .ok_or_else(|| no_such(relationship, object.name))?;
                if field.contains('.') {
                    return Err(no_such(&name, object.name));
                }
                let def = target
                    .field(field)
                    .ok_or_else(|| no_such(field, target.name))?;
                Selected::Related {
                    relationship: rel.name,
                    via: rel.field,
                    target: target.name,
                    field: def.name,
                }
            }
        };
        if fields.contains(&selected) {
            return Err(Rejection::new(
                400,
                "INVALID_FIELD",
                located(soql, field_at, &format!("duplicate field selected: {name}")),
            ));
        }
        fields.push(selected);
    }

    let mut filters = Vec::new();
    if word_is(pos, "WHERE") {
        loop {
            pos += 1;
            let (filter, next) = condition(soql, &tokens, pos, object)?;
            filters.push(filter);
            pos = next;
            if !word_is(pos, "AND") {
                break;
            }
        }
    }
    let mut order = None;
    if word_is(pos, "ORDER") && word_is(pos + 1, "BY") {
        pos += 2;
        let field = match tokens.get(pos) {
            Some((at, Token::Word(w))) => object.field(w).ok_or_else(|| {
                Rejection::new(
                    400,
                    "INVALID_FIELD",
                    located(
                        soql,
                        *at,
                        &format!("No such column '{w}' on entity '{}'.", object.name),
                    ),
                )
            })?,
            _ => return Err(unexpected(pos)),
        };
        pos += 1;
        let descending = word_is(pos, "DESC");
        if descending || word_is(pos, "ASC") {
            pos += 1;
        }
        order = Some((field.name, descending));
    }
    let mut limit = None;
    if word_is(pos, "LIMIT") {
        pos += 1;
        match tokens.get(pos) {
            Some((_, Token::Word(n))) if n.parse::<usize>().is_ok() => {
                limit = n.parse().ok();
                pos += 1;
            }
            _ => return Err(unexpected(pos)),
        }
    }
    if pos < tokens.len() {
        return Err(unexpected(pos));
    }
    Ok(Query {
        object: object.name,
        fields,
        filters,
        order,
        limit,
    })
}

/// One `WHERE` condition from `pos`; it and the position after it.
fn condition(
    soql: &str,
    tokens: &[(usize, Token)],
    mut pos: usize,
    object: &super::schema::ObjectDef,
) -> Result<(Filter, usize), Rejection> {
    let end = soql.len();
    let at = |pos: usize| tokens.get(pos).map(|(at, _)| *at).unwrap_or(end);
    let unexpected = |pos: usize| match tokens.get(pos) {
        Some((at, Token::Word(w) | Token::Literal(w))) => {
            malformed(soql, *at, &format!("unexpected token: {w}"))
        }
        Some((at, Token::Punct(c))) => malformed(soql, *at, &format!("unexpected token: '{c}'")),
        None => malformed(soql, end, "unexpected token: <EOF>"),
    };
    let (field_at, field_name) = match tokens.get(pos) {
        Some((at, Token::Word(w))) => (*at, w.clone()),
        _ => return Err(unexpected(pos)),
    };
    let field = object.field(&field_name).ok_or_else(|| {
        Rejection::new(
            400,
            "INVALID_FIELD",
            located(
                soql,
                field_at,
                &format!(
                    "No such column '{field_name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                    object.name
                ),
            ),
        )
    })?;
    pos += 1;
    // A string literal, the words a checkbox compares with, or a date, datetime or number.
    let literal = |pos: usize| match tokens.get(pos) {
        Some((_, Token::Literal(v))) => Some(v.clone()),
        Some((_, Token::Word(w)))
            if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") =>
        {
            Some(w.to_ascii_lowercase())
        }
        Some((_, Token::Word(w))) if w.starts_with(|c: char| c.is_ascii_digit()) => Some(w.clone()),
        _ => None,
    };
    let punct =
        |pos: usize, c: char| matches!(tokens.get(pos), Some((_, Token::Punct(p))) if *p == c);
    let mut list = Vec::new();
    let op = if punct(pos, '=') {
        pos += 1;
        Op::In
    } else if punct(pos, '>') || punct(pos, '<') {
        let greater = punct(pos, '>');
        pos += 1;
        let inclusive = punct(pos, '=');
        if inclusive {
            pos += 1;
        }
        match (greater, inclusive) {
            (true, false) => Op::Greater,
            (true, true) => Op::GreaterOrEqual,
            (false, false) => Op::Less,
            (false, true) => Op::LessOrEqual,
        }
    } else if matches!(tokens.get(pos), Some((_, Token::Word(w))) if w.eq_ignore_ascii_case("IN")) {
        pos += 1;
        if !punct(pos, '(') {
            return Err(unexpected(pos));
        }
        pos += 1;
        loop {
            list.push(literal(pos).ok_or_else(|| unexpected(pos))?);
            pos += 1;
            if punct(pos, ',') {
                pos += 1;
            } else if punct(pos, ')') {
                pos += 1;
                break;
            } else {
                return Err(unexpected(pos));
            }
        }
        Op::In
    } else {
        return Err(unexpected(pos));
    };
    if list.is_empty() {
        list.push(literal(pos).ok_or_else(|| unexpected(pos))?);
        pos += 1;
    }
    if field.name == "Id" {
        for id in &list {
            if ace_sync::domain::ids::SfRecordId::parse(id).is_err() {
                return Err(Rejection::new(
                    400,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    located(
                        soql,
                        at(pos.saturating_sub(1)),
                        &format!("invalid ID field: {id}"),
                    ),
                ));
            }
        }
    }
    Ok((
        Filter {
            field: field.name,
            op,
            values: list,
        },
        pos,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_parses() {
        let schema = Schema::default();
        let q = parse(
            "select Id, name, Account.Name FROM Opportunity WHERE Id IN ('0065g00000QrStUAAV','0065g00000QrStV') LIMIT 5",
            &schema,
        )
        .unwrap();
        assert_eq!(q.object, "Opportunity");
        assert_eq!(q.fields[1], Selected::Field("Name"));
        assert!(matches!(
            q.fields[2],
            Selected::Related {
                field: "Name",
                target: "Account",
                ..
            }
        ));
        assert_eq!(
            q.filters.first().map(|f| (f.field, f.values.len())),
            Some(("Id", 2))
        );
        assert_eq!(q.limit, Some(5));
        let q = parse(
            "SELECT Name FROM Account WHERE Id = '0015g00000LmNoPAAV'",
            &schema,
        )
        .unwrap();
        assert_eq!(
            q.filters,
            vec![Filter {
                field: "Id",
                op: Op::In,
                values: vec!["0015g00000LmNoPAAV".to_owned()]
            }]
        );
        let q = parse(
            "SELECT Id FROM Opportunity WHERE ace_sync__c = TRUE",
            &schema,
        )
        .unwrap();
        assert_eq!(
            q.filters,
            vec![Filter {
                field: "ACE_Sync__c",
                op: Op::In,
                values: vec!["true".to_owned()]
            }]
        );
        let q = parse(
            "SELECT Id FROM Opportunity WHERE SystemModstamp >= 2026-12-03T10:00:00Z AND StageName IN ('Qualification', 'Closed Won') ORDER BY SystemModstamp DESC LIMIT 200",
            &schema,
        )
        .unwrap();
        assert_eq!(q.filters.len(), 2);
        assert_eq!(q.filters[0].op, Op::GreaterOrEqual);
        assert_eq!(q.filters[0].values, ["2026-12-03T10:00:00Z"]);
        assert_eq!(q.order, Some(("SystemModstamp", true)));
        assert_eq!(q.limit, Some(200));
    }

    #[test]
    fn errors_carry_salesforce_codes_and_carets() {
        let schema = Schema::default();
        let e = parse("SELECT Id, Foo__c FROM Opportunity", &schema).unwrap_err();
        assert_eq!(e.code, "INVALID_FIELD");
        assert_eq!(
            e.message.lines().take(4).collect::<Vec<_>>(),
            vec![
                "",
                "SELECT Id, Foo__c FROM Opportunity",
                "           ^",
                "ERROR at Row:1:Column:12"
            ]
        );
        assert!(
            e.message
                .contains("No such column 'Foo__c' on entity 'Opportunity'")
        );
        let e = parse("SELECT Account.Nope FROM Opportunity", &schema).unwrap_err();
        assert!(e.message.contains("on entity 'Account'"), "{}", e.message);
        assert_eq!(
            parse("SELECT Id FRM Opportunity", &schema)
                .unwrap_err()
                .code,
            "MALFORMED_QUERY"
        );
        assert_eq!(
            parse("SELECT Id FROM Opportunity WHERE", &schema)
                .unwrap_err()
                .code,
            "MALFORMED_QUERY"
        );
        assert_eq!(
            parse("SELECT Id FROM Lead", &schema).unwrap_err().code,
            "INVALID_TYPE"
        );
        assert_eq!(
            parse("SELECT Id FROM Opportunity WHERE Id = 'x'", &schema)
                .unwrap_err()
                .code,
            "INVALID_QUERY_FILTER_OPERATOR"
        );
        assert_eq!(
            parse("SELECT Id FROM Opportunity WHERE Nope__c = 'x'", &schema)
                .unwrap_err()
                .code,
            "INVALID_FIELD"
        );
    }
}
