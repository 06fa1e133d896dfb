//! AWS's business rules for opportunities that the service model does not carry, as data:
//! which fields ACE requires to create and to submit, which fields stay editable while AWS
//! asks for changes or after it approved, the US states, the postal-code formats per country,
//! and the documented customer use cases.
//!
//! Sources, all from AWS:
//! - ACE-Data-Model__Fields.csv (aws-samples/partner-crm-integration-samples,
//!   `opportunity-samples/ACE-Data-Model.xlsx`, sheet *Fields*, MIT-0): the *Required* and
//!   *Update-Action Required* / *Update-Approved* / *Update-After Launched* columns;
//! - ace-api.md §8 (AWS developer guide, working-with-opportunity-updates): the Action Required
//!   whitelist and the fields locked after approval;
//! - `data/postal-codes.tsv`, `data/countries-without-postal-code.tsv` (PostalCodeValidations.csv,
//!   CountriesWithoutPostalCode.csv of the same repository), `data/us-states.tsv` and
//!   `data/customer-use-cases.txt` (the "Valid values" of the service model's documentation);
//!   each file says where it came from and what we added (ISO codes, USPS codes).
//!
//! The Partner Central simulator (the sandbox crate) checks requests against these same tables
//! and functions, so the pre-flight check and the simulator agree on every documented value.

/// `Project.AdditionalComments` holds 1–255 characters (service model).
pub const ADDITIONAL_COMMENTS_MAX: usize = 255;

/// `Project.CustomerBusinessProblem` length, in characters (ACE data model: "at least 20
/// characters and must be less than 2000").
pub const BUSINESS_PROBLEM_MIN: usize = 20;
pub const BUSINESS_PROBLEM_MAX: usize = 2000;

/// What ACE requires to create an opportunity ("Required" in ACE-Data-Model__Fields.csv).
/// Postal code and state are conditional (country, national security) and checked per record.
pub const REQUIRED_FOR_CREATION: &[&str] = &[
    "Customer.Account.CompanyName",
    "Customer.Account.Industry",
    "Customer.Account.WebsiteUrl",
    "Customer.Account.Address.CountryCode",
    "LifeCycle.TargetCloseDate",
    "Project.Title",
    "Project.CustomerBusinessProblem",
    "Project.ExpectedCustomerSpend.Amount",
    "Project.ExpectedCustomerSpend.CurrencyCode",
    "Project.ExpectedCustomerSpend.Frequency",
    "Project.ExpectedCustomerSpend.TargetCompany",
];

/// What ACE additionally requires to submit ("Required for Submission"; ace-api.md §4.3). A
/// solution (or OtherSolutionDescription) and the involvement type are checked separately.
pub const REQUIRED_FOR_SUBMISSION: &[&str] = &[
    "PrimaryNeedsFromAws",
    "Project.CustomerUseCase",
    "Project.DeliveryModels",
    "Project.SalesActivities",
];

/// The only fields an update may change while the review status is `Action Required`
/// (ace-api.md §8; the data model's *Update-Action Required* column lists the same).
pub const EDITABLE_IN_ACTION_REQUIRED: &[&str] = &[
    "Customer.Account.Address.City",
    "Customer.Account.Address.CountryCode",
    "Customer.Account.Address.PostalCode",
    "Customer.Account.Address.StateOrRegion",
    "Customer.Account.Address.StreetAddress",
    "Customer.Account.WebsiteUrl",
    "LifeCycle.TargetCloseDate",
    "Project.ExpectedCustomerSpend",
    "Project.CustomerBusinessProblem",
    "PartnerOpportunityIdentifier",
];

/// Fields that can no longer change once AWS approved the opportunity: the union of ace-api.md
/// §8 (the developer guide) and the members the data model's *Update-Approved* column leaves
/// blank. Where the two disagree (Industry, PartnerOpportunityIdentifier) we keep the field
/// locked: a change we do not send is reported, a change ACE refuses fails the whole update.
pub const LOCKED_AFTER_APPROVAL: &[&str] = &[
    "Customer.Account.Address.CountryCode",
    "Customer.Account.Address.PostalCode",
    "Customer.Account.Address.StateOrRegion",
    "Customer.Account.CompanyName",
    "Customer.Account.Industry",
    "Customer.Account.WebsiteUrl",
    "Project.CustomerBusinessProblem",
    "Project.Title",
    "Project.ExpectedCustomerSpend.CurrencyCode",
    "Project.ExpectedCustomerSpend.Frequency",
    "Project.ExpectedCustomerSpend.TargetCompany",
    "Project.ExpectedCustomerSpend.EstimationUrl",
    "PartnerOpportunityIdentifier",
];

/// What may still change after the stage is `Launched` (*Update-After Launched*; AWS test
/// scenarios 3.12/3.13: other changes "will be ignored").
pub const EDITABLE_AFTER_LAUNCH: &[&str] = &[
    "Project.AdditionalComments",
    "Project.DeliveryModels",
    "SoftwareRevenue",
];

const US_STATES: &str = include_str!("data/us-states.tsv");
const POSTAL_CODES: &str = include_str!("data/postal-codes.tsv");
const NO_POSTAL_CODE: &str = include_str!("data/countries-without-postal-code.tsv");
const CUSTOMER_USE_CASES: &str = include_str!("data/customer-use-cases.txt");
const AWS_PRODUCT_CODES: &str = include_str!("data/aws-product-codes.txt");

/// Whether ACE knows `code` as an AWS product (`AssociateOpportunity` refuses others).
pub fn is_aws_product(code: &str) -> bool {
    data_lines(AWS_PRODUCT_CODES).any(|c| c == code)
}

fn data_lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
}

fn tsv(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    data_lines(text).map(|l| l.split('\t').collect())
}

/// The ACE name of a US state or territory from its USPS code (`CA` → `California`); a name
/// ACE accepts is returned as ACE spells it.
pub fn us_state_name(code_or_name: &str) -> Option<&'static str> {
    let wanted = code_or_name.trim();
    tsv(US_STATES)
        .find(|row| {
            row.first().is_some_and(|c| c.eq_ignore_ascii_case(wanted))
                || row.get(1).is_some_and(|n| n.eq_ignore_ascii_case(wanted))
        })
        .and_then(|row| row.get(1).copied())
}

/// Whether ACE accepts `name` as `StateOrRegion` for a US address (exact spelling).
pub fn is_us_state(name: &str) -> bool {
    tsv(US_STATES).any(|row| row.get(1) == Some(&name))
}

/// The documented `Project.CustomerUseCase` value matching `value` exactly.
pub fn is_customer_use_case(value: &str) -> bool {
    data_lines(CUSTOMER_USE_CASES).any(|v| v == value)
}

/// The documented use case `value` was probably meant to be (ignoring case and spacing).
pub fn customer_use_case_like(value: &str) -> Option<&'static str> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = squash(value);
    data_lines(CUSTOMER_USE_CASES).find(|v| squash(v) == wanted)
}

/// The documented `StateOrRegion` values for US addresses, each with its USPS code:
/// `(code, name)`.
pub fn us_states() -> impl Iterator<Item = (&'static str, &'static str)> {
    tsv(US_STATES).filter_map(|row| Some((*row.first()?, *row.get(1)?)))
}

/// The documented `Project.CustomerUseCase` values.
pub fn customer_use_cases() -> impl Iterator<Item = &'static str> {
    data_lines(CUSTOMER_USE_CASES)
}

/// The AWS product codes ACE knows.
pub fn aws_product_codes() -> impl Iterator<Item = &'static str> {
    data_lines(AWS_PRODUCT_CODES)
}

/// The countries (ISO 3166-1 alpha-2) whose addresses have no postal code.
pub fn countries_without_postal_code() -> impl Iterator<Item = &'static str> {
    tsv(NO_POSTAL_CODE).filter_map(|row| row.first().copied())
}

/// A country's postal-code rule as AWS states it (`data/postal-codes.tsv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostalRule {
    pub country_code: &'static str,
    pub country_name: &'static str,
    /// The format(s) in AWS's notation, alternatives separated by ` OR ` (or ` or `).
    pub formats: &'static str,
    /// AWS's error message for a code that does not fit.
    pub message: &'static str,
}

/// Every country whose postal-code format AWS states.
pub fn postal_rules() -> impl Iterator<Item = PostalRule> {
    tsv(POSTAL_CODES).filter_map(|row| {
        Some(PostalRule {
            country_code: row.first()?,
            country_name: row.get(1)?,
            formats: row.get(2)?,
            message: row.get(3)?,
        })
    })
}

/// The name AWS's postal-code tables give a country (`US` → `United States`).
pub fn country_name(country_code: &str) -> Option<&'static str> {
    tsv(POSTAL_CODES)
        .chain(tsv(NO_POSTAL_CODE))
        .find(|row| row.first() == Some(&country_code))
        .and_then(|row| row.get(1).copied())
}

/// Whether addresses in this country have postal codes (CountriesWithoutPostalCode.csv).
pub fn country_has_postal_codes(country_code: &str) -> bool {
    !tsv(NO_POSTAL_CODE).any(|row| row.first() == Some(&country_code))
}

/// The outcome of checking a postal code against its country's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostalCheck {
    Valid,
    /// The country has no stated format.
    Unknown,
    /// Does not match; AWS's message says which format is expected.
    Invalid {
        message: &'static str,
    },
}

/// Checks a postal code against the format AWS states for the country.
pub fn check_postal_code(country_code: &str, postal_code: &str) -> PostalCheck {
    let Some(row) = tsv(POSTAL_CODES).find(|row| row.first() == Some(&country_code)) else {
        return PostalCheck::Unknown;
    };
    let (Some(formats), Some(message)) = (row.get(2), row.get(3)) else {
        return PostalCheck::Unknown;
    };
    let code = postal_code.trim();
    let matches = formats
        .split(" OR ")
        .flat_map(|f| f.split(" or "))
        .any(|format| matches_format(&parse_format(format.trim()), code));
    if matches {
        PostalCheck::Valid
    } else {
        PostalCheck::Invalid { message }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Digit,
    Letter,
    LetterOrDigit,
    Literal(char),
    Optional(Vec<Token>),
}

/// AWS's notation (see data/postal-codes.tsv): 9/N/digits = a digit, letters = a letter,
/// `A/N` = either, `(…)` = optional.
fn parse_format(format: &str) -> Vec<Token> {
    fn parse(chars: &[char], i: &mut usize, until_close: bool) -> Vec<Token> {
        let mut out = Vec::new();
        while *i < chars.len() {
            let c = chars[*i];
            *i += 1;
            match c {
                ')' if until_close => return out,
                '(' => out.push(Token::Optional(parse(chars, i, true))),
                'A' if chars.get(*i) == Some(&'/') && chars.get(*i + 1) == Some(&'N') => {
                    *i += 2;
                    out.push(Token::LetterOrDigit);
                }
                'N' => out.push(Token::Digit),
                c if c.is_ascii_digit() => out.push(Token::Digit),
                c if c.is_ascii_alphabetic() => out.push(Token::Letter),
                c => out.push(Token::Literal(c)),
            }
        }
        out
    }
    let chars: Vec<char> = format.chars().collect();
    parse(&chars, &mut 0, false)
}

fn matches_format(tokens: &[Token], input: &str) -> bool {
    fn go(tokens: &[Token], input: &[char]) -> bool {
        let Some((first, rest)) = tokens.split_first() else {
            return input.is_empty();
        };
        let one = |ok: bool| ok && go(rest, &input[1..]);
        match first {
            Token::Optional(inner) => {
                let mut with: Vec<Token> = inner.clone();
                with.extend_from_slice(rest);
                go(&with, input) || go(rest, input)
            }
            _ if input.is_empty() => false,
            Token::Digit => one(input[0].is_ascii_digit()),
            Token::Letter => one(input[0].is_ascii_alphabetic()),
            Token::LetterOrDigit => one(input[0].is_ascii_alphanumeric()),
            Token::Literal(c) => one(input[0] == *c),
        }
    }
    let chars: Vec<char> = input.chars().collect();
    go(tokens, &chars)
}

/// A Partner Solution id (`S-` and 1–19 digits; the model's pattern for Solutions).
pub fn is_solution_id(id: &str) -> bool {
    id.strip_prefix("S-")
        .is_some_and(|d| (1..=19).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `path` (data-model notation) is `prefix` or lies under it.
pub fn path_within(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_states_convert_from_codes_and_names() {
        assert_eq!(us_state_name("CA"), Some("California"));
        assert_eq!(us_state_name("dc"), Some("Dist. of Columbia"));
        assert_eq!(us_state_name("new york"), Some("New York"));
        assert_eq!(us_state_name("ON"), None);
        assert!(is_us_state("Washington"));
        assert!(is_us_state("FPO, AP"));
        assert!(!is_us_state("WA"));
    }

    #[test]
    fn postal_codes_follow_aws_formats() {
        // PostalCodeValidations.csv: United States 99999 OR 99999-9999.
        assert_eq!(check_postal_code("US", "98109"), PostalCheck::Valid);
        assert_eq!(check_postal_code("US", "98109-1234"), PostalCheck::Valid);
        let PostalCheck::Invalid { message } = check_postal_code("US", "9931") else {
            panic!("4 digits is not a US ZIP code")
        };
        assert!(message.contains("99999 OR 99999-9999"), "{message}");
        // United Kingdom: A(A)N(A/N)NAA OR A(A)N(A/N) NAA.
        for ok in [
            "SW1A 1AA", "EC1A1BB", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT",
        ] {
            assert_eq!(check_postal_code("GB", ok), PostalCheck::Valid, "{ok}");
        }
        assert!(matches!(
            check_postal_code("GB", "12345"),
            PostalCheck::Invalid { .. }
        ));
        // Canada: A9A 9A9 or A9A9A9.
        assert_eq!(check_postal_code("CA", "K1A 0B1"), PostalCheck::Valid);
        assert!(matches!(
            check_postal_code("CA", "K1A-0B1"),
            PostalCheck::Invalid { .. }
        ));
        // Netherlands 9999 AC; Japan 999-9999; Sweden SE-99999; Ireland (our override).
        assert_eq!(check_postal_code("NL", "1012 AB"), PostalCheck::Valid);
        assert_eq!(check_postal_code("JP", "100-0001"), PostalCheck::Valid);
        assert_eq!(check_postal_code("SE", "SE-11122"), PostalCheck::Valid);
        assert_eq!(check_postal_code("IE", "D02 X285"), PostalCheck::Valid);
        assert_eq!(check_postal_code("IE", "D6W1234"), PostalCheck::Valid);
        // No format stated.
        assert_eq!(check_postal_code("ZZ", "anything"), PostalCheck::Unknown);
    }

    #[test]
    fn the_tables_are_listed_as_the_predicates_read_them() {
        assert!(us_states().all(|(_, name)| is_us_state(name)));
        assert_eq!(us_states().count(), 62);
        assert!(customer_use_cases().all(is_customer_use_case));
        assert!(aws_product_codes().all(is_aws_product));
        assert!(aws_product_codes().count() > 500);
        assert!(countries_without_postal_code().all(|c| !country_has_postal_codes(c)));
        let us = postal_rules()
            .find(|r| r.country_code == "US")
            .expect("a US rule");
        assert_eq!(
            (us.country_name, us.formats),
            ("United States", "99999 OR 99999-9999")
        );
        assert_eq!(country_name("US"), Some("United States"));
        assert_eq!(country_name("AE"), Some("United Arab Emirates"));
        assert_eq!(country_name("ZZ"), None);
    }

    #[test]
    fn countries_without_postal_codes_are_known() {
        assert!(!country_has_postal_codes("AE"));
        assert!(!country_has_postal_codes("HK"));
        assert!(country_has_postal_codes("US"));
        assert!(country_has_postal_codes("DE"));
    }

    #[test]
    fn use_cases_are_the_documented_ones() {
        assert!(is_customer_use_case("Security & Compliance"));
        assert!(!is_customer_use_case("security & compliance"));
        assert_eq!(
            customer_use_case_like("Migration / Database Migration"),
            Some("Migration/Database Migration")
        );
        assert_eq!(customer_use_case_like("Cloud migration"), None);
    }

    #[test]
    fn solution_ids_and_paths() {
        assert!(is_solution_id("S-1234567"));
        assert!(!is_solution_id("soln-123"));
        assert!(!is_solution_id("S-"));
        assert!(path_within(
            "Project.ExpectedCustomerSpend.Amount",
            "Project.ExpectedCustomerSpend"
        ));
        assert!(path_within(
            "Project.ExpectedCustomerSpend[0].Amount",
            "Project.ExpectedCustomerSpend"
        ));
        assert!(!path_within(
            "Project.ExpectedCustomerSpendX",
            "Project.ExpectedCustomerSpend"
        ));
    }
}
