//! Postal-code rules per country, from AWS's two tables (`PostalCodeValidations.csv`,
//! `CountriesWithoutPostalCode.csv` of the ACE data model, aws-samples/partner-crm-integration-samples,
//! MIT): which countries need a postal code, and which formats each accepts.

use std::collections::{HashMap, HashSet};

use regex::Regex;

use super::reference_data::parse_csv;

const POSTAL_CODE_VALIDATIONS: &str = include_str!("data/PostalCodeValidations.csv");
const COUNTRIES_WITHOUT_POSTAL_CODE: &str = include_str!("data/CountriesWithoutPostalCode.csv");

/// The country names of the two postal-code tables, as ISO 3166 alpha-2 codes (the
/// `CountryCode` enum). "Serbia and Montenegro" has no code in the enum and is left out.
const COUNTRY_CODES_BY_TABLE_NAME: &[(&str, &str)] = &[
    ("Afghanistan", "AF"),
    ("Aland Islands", "AX"),
    ("Albania", "AL"),
    ("Algeria", "DZ"),
    ("Angola", "AO"),
    ("Antigua And Barbuda", "AG"),
    ("Armenia", "AM"),
    ("Aruba", "AW"),
    ("Australia", "AU"),
    ("Austria", "AT"),
    ("Bahamas", "BS"),
    ("Bahrain", "BH"),
    ("Bangladesh", "BD"),
    ("Belgium", "BE"),
    ("Belize", "BZ"),
    ("Benin", "BJ"),
    ("Bermuda", "BM"),
    ("Bhutan", "BT"),
    ("Bolivia", "BO"),
    ("Bonaire,Sint Eustatius and Saba", "BQ"),
    ("Bosnia and Herzegovina", "BA"),
    ("Botswana", "BW"),
    ("Brazil", "BR"),
    ("Brunei Darussalam", "BN"),
    ("Bulgaria", "BG"),
    ("Burkina Faso", "BF"),
    ("Burundi", "BI"),
    ("Cambodia", "KH"),
    ("Cameroon", "CM"),
    ("Canada", "CA"),
    ("Cape Verde", "CV"),
    ("Central African Republic", "CF"),
    ("Chad", "TD"),
    ("China", "CN"),
    ("Christmas Island", "CX"),
    ("Cocos (Keeling) Islands", "CC"),
    ("Colombia", "CO"),
    ("Comoros", "KM"),
    ("Congo", "CG"),
    ("Cook Islands", "CK"),
    ("Costa Rica", "CR"),
    ("Cote d'Ivoire", "CI"),
    ("Croatia", "HR"),
    ("Cuba", "CU"),
    ("Curacao", "CW"),
    ("Cyprus", "CY"),
    ("Czech Republic", "CZ"),
    ("Denmark", "DK"),
    ("Djibouti", "DJ"),
    ("Dominica", "DM"),
    ("Dominican Republic", "DO"),
    ("Ecuador", "EC"),
    ("Egypt", "EG"),
    ("El Salvador", "SV"),
    ("Equatorial Guinea", "GQ"),
    ("Eritrea", "ER"),
    ("Estonia", "EE"),
    ("Ethiopia", "ET"),
    ("Faroe Islands", "FO"),
    ("Fiji", "FJ"),
    ("Finland", "FI"),
    ("France", "FR"),
    ("French Guiana", "GF"),
    ("French Polynesia", "PF"),
    ("French Southern Territories", "TF"),
    ("Gambia", "GM"),
    ("Georgia", "GE"),
    ("Germany", "DE"),
    ("Ghana", "GH"),
    ("Great Britain", "GB"),
    ("Greece", "GR"),
    ("Greenland", "GL"),
    ("Grenada", "GD"),
    ("Guadeloupe", "GP"),
    ("Guam", "GU"),
    ("Guatemala", "GT"),
    ("Guinea-Bissau", "GW"),
    ("Guyana", "GY"),
    ("Haiti", "HT"),
    ("Heard Island and McDonald Islands", "HM"),
    ("Holy See (Vatican City State)", "VA"),
    ("Honduras", "HN"),
    ("Hong Kong", "HK"),
    ("Hungary", "HU"),
    ("Iceland", "IS"),
    ("India", "IN"),
    ("Indonesia", "ID"),
    ("Iraq", "IQ"),
    ("Ireland", "IE"),
    ("Israel", "IL"),
    ("Italy", "IT"),
    ("Jamaica", "JM"),
    ("Japan", "JP"),
    ("Jordan", "JO"),
    ("Kazakhstan", "KZ"),
    ("Kenya", "KE"),
    ("Kiribati", "KI"),
    ("Korea", "KR"),
    ("Kuwait", "KW"),
    ("Kyrgyzstan", "KG"),
    ("Lao People's Democratic Republic", "LA"),
    ("Lesotho", "LS"),
    ("Liberia", "LR"),
    ("Libyan Arab Jamahiriya", "LY"),
    ("Liechtenstein", "LI"),
    ("Lithuania", "LT"),
    ("Luxembourg", "LU"),
    ("MACAO", "MO"),
    ("Macedonia, The former Yugoslav Republic Of", "MK"),
    ("Madagascar", "MG"),
    ("Malawi", "MW"),
    ("Malaysia", "MY"),
    ("Maldives", "MV"),
    ("Mali", "ML"),
    ("Malta", "MT"),
    ("Marshall Islands", "MH"),
    ("Martinique", "MQ"),
    ("Mauritania", "MR"),
    ("Mayotte", "YT"),
    ("Mexico", "MX"),
    ("Monaco", "MC"),
    ("Mongolia", "MN"),
    ("Montenegro", "ME"),
    ("Morocco", "MA"),
    ("Mozambique", "MZ"),
    ("Myanmar", "MM"),
    ("Namibia", "NA"),
    ("Nauru", "NR"),
    ("Nepal", "NP"),
    ("Netherlands", "NL"),
    ("Netherlands Antilles", "AN"),
    ("New Caledonia", "NC"),
    ("New Zealand", "NZ"),
    ("Nicaragua", "NI"),
    ("Niger", "NE"),
    ("Nigeria", "NG"),
    ("Niue", "NU"),
    ("Norfolk Island", "NF"),
    ("Northern Mariana Islands", "MP"),
    ("Norway", "NO"),
    ("Oman", "OM"),
    ("Pakistan", "PK"),
    ("Palau", "PW"),
    ("Panama", "PA"),
    ("Papua New Guinea", "PG"),
    ("Paraguay", "PY"),
    ("Peru", "PE"),
    ("Philippines", "PH"),
    ("Poland", "PL"),
    ("Portugal", "PT"),
    ("Puerto Rico", "PR"),
    ("Qatar", "QA"),
    ("Reunion", "RE"),
    ("Romania", "RO"),
    ("Rwanda", "RW"),
    ("Saint Barthelemy", "BL"),
    ("Saint Helena, Ascension and  Tristan Da Cunha", "SH"),
    ("Saint Kitts and Nevis", "KN"),
    ("Saint Martin (French Part)", "MF"),
    ("Saint Pierre and Miquelon", "PM"),
    ("Saint Vincent and the Grenadines", "VC"),
    ("San Marino", "SM"),
    ("Sao Tome and Principe", "ST"),
    ("Saudi Arabia", "SA"),
    ("Senegal", "SN"),
    ("Serbia", "RS"),
    ("Seychelles", "SC"),
    ("Sierra Leone", "SL"),
    ("Singapore", "SG"),
    ("Slovakia", "SK"),
    ("Solomon Islands", "SB"),
    ("South Africa", "ZA"),
    ("South Sudan", "SS"),
    ("Spain", "ES"),
    ("Sri Lanka", "LK"),
    ("Sudan", "SD"),
    ("Suriname", "SR"),
    ("Svalbard and Jan Mayen", "SJ"),
    ("Swaziland", "SZ"),
    ("Sweden", "SE"),
    ("Switzerland", "CH"),
    ("Syrian Arab Republic", "SY"),
    ("Taiwan", "TW"),
    ("Tajikistan", "TJ"),
    ("Thailand", "TH"),
    ("Timor-Leste", "TL"),
    ("Togo", "TG"),
    ("Tokelau", "TK"),
    ("Tonga", "TO"),
    ("Trinidad and Tobago", "TT"),
    ("Tunisia", "TN"),
    ("Turkey", "TR"),
    ("Turkmenistan", "TM"),
    ("Tuvalu", "TV"),
    ("Uganda", "UG"),
    ("Ukraine", "UA"),
    ("United Arab Emirates", "AE"),
    ("United Kingdom", "GB"),
    ("United States", "US"),
    ("Uruguay", "UY"),
    ("Vanuatu", "VU"),
    ("Viet Nam", "VN"),
    ("VIRGIN ISLANDS, U.S.", "VI"),
    ("Wallis and Futuna", "WF"),
    ("Yemen", "YE"),
    ("Zambia", "ZM"),
    ("Zimbabwe", "ZW"),
];

/// Formats whose notation the generic reading (`9`/`N` digit, `A` letter, anything else
/// literal) gets wrong: examples instead of a notation (Great Britain), letters meaning
/// "a letter" (`AC`, `KB`, `M`), and Ireland's Eircode, whose second half is alphanumeric.
const FORMAT_OVERRIDES: &[(&str, &str)] = &[
    ("DT3 6GB", r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}"),
    ("L2 2DP", r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}"),
    ("A(A)N(A/N)NAA", r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}"),
    ("A(A)N(A/N) NAA", r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}"),
    ("9999 AC", r"[0-9]{4} [A-Z]{2}"),
    ("9999AC", r"[0-9]{4}[A-Z]{2}"),
    ("KB9999", r"[A-Z]{2}[0-9]{4}"),
    ("M999", r"[A-Z][0-9]{3}"),
    ("A99 9A9A", r"[A-Z][0-9]{2} [0-9A-Z]{4}"),
    ("A999A9A", r"[A-Z][0-9]{2}[0-9A-Z]{4}"),
];

/// A country's postal-code formats and AWS's message when a code does not fit.
#[derive(Debug)]
pub struct PostalFormat {
    pub country_name: String,
    formats: Vec<Regex>,
    pub message: String,
}

impl PostalFormat {
    pub fn accepts(&self, postal_code: &str) -> bool {
        self.formats.iter().any(|f| f.is_match(postal_code.trim()))
    }
}

/// Postal-code rules per country code.
#[derive(Debug)]
pub struct PostalRules {
    formats: HashMap<&'static str, PostalFormat>,
    without_postal_code: HashSet<&'static str>,
}

impl PostalRules {
    /// Whether addresses in `country_code` need a postal code (everywhere except the
    /// countries AWS lists as having none).
    pub fn requires_postal_code(&self, country_code: &str) -> bool {
        !self.without_postal_code.contains(country_code)
    }

    pub fn format(&self, country_code: &str) -> Option<&PostalFormat> {
        self.formats.get(country_code)
    }

    pub(super) fn load() -> PostalRules {
        let codes: HashMap<&str, &'static str> =
            COUNTRY_CODES_BY_TABLE_NAME.iter().copied().collect();
        let mut formats: HashMap<&'static str, PostalFormat> = HashMap::new();
        for row in parse_csv(POSTAL_CODE_VALIDATIONS).into_iter().skip(1) {
            let [name, message] = row.as_slice() else {
                continue;
            };
            let Some(code) = codes.get(name.trim()) else {
                continue;
            };
            let message = message.trim().to_owned();
            let regexes = format_notation(&message)
                .map(|notation| {
                    notation
                        .split(" OR ")
                        .flat_map(|part| part.split(" or "))
                        .filter_map(|alternative| notation_regex(alternative.trim()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            // Great Britain and United Kingdom both map to GB: accept either table's formats,
            // and keep the first message.
            let entry = formats.entry(code).or_insert_with(|| PostalFormat {
                country_name: name.trim().to_owned(),
                formats: Vec::new(),
                message,
            });
            entry.formats.extend(regexes);
        }
        let without_postal_code = parse_csv(COUNTRIES_WITHOUT_POSTAL_CODE)
            .into_iter()
            .skip(1)
            .filter_map(|row| row.first().and_then(|name| codes.get(name.trim()).copied()))
            .collect();
        PostalRules {
            formats,
            without_postal_code,
        }
    }
}

/// "…postal code must be in 99999 OR 99999-9999 format." → "99999 OR 99999-9999".
fn format_notation(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once("postal code must be in ")?;
    Some(
        rest.trim_end_matches('.')
            .trim_end()
            .strip_suffix("format")?
            .trim(),
    )
}

/// One format of the table as an anchored, case-insensitive regex.
fn notation_regex(notation: &str) -> Option<Regex> {
    if notation.is_empty() {
        return None;
    }
    let body = match FORMAT_OVERRIDES.iter().find(|(n, _)| *n == notation) {
        Some((_, regex)) => (*regex).to_owned(),
        None => notation
            .chars()
            .map(|c| match c {
                '9' | 'N' => "[0-9]".to_owned(),
                'A' => "[A-Z]".to_owned(),
                other => regex::escape(&other.to_string()),
            })
            .collect(),
    };
    Regex::new(&format!(r"(?i)\A{body}\z")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_name_has_a_country_code_in_the_model() {
        let model = ace_sync::ace::model::ServiceModel::load().expect("model");
        let codes = model.enum_values("CountryCode").expect("CountryCode enum");
        let known: HashMap<&str, &str> = COUNTRY_CODES_BY_TABLE_NAME.iter().copied().collect();
        for text in [POSTAL_CODE_VALIDATIONS, COUNTRIES_WITHOUT_POSTAL_CODE] {
            for row in parse_csv(text).into_iter().skip(1) {
                let name = row[0].trim();
                if name == "Serbia and Montenegro" {
                    continue;
                }
                let code = known
                    .get(name)
                    .unwrap_or_else(|| panic!("no code for {name:?}"));
                assert!(
                    codes.iter().any(|c| c == code),
                    "{code} is not a CountryCode"
                );
            }
        }
    }

    #[test]
    fn postal_formats_per_country() {
        let rules = PostalRules::load();
        let cases = [
            ("US", "98109", true),
            ("US", "98109-1234", true),
            ("US", "9810", false),
            ("CA", "K1A 0B1", true),
            ("CA", "K1A0B1", true),
            ("CA", "12345", false),
            ("GB", "SW1A 1AA", true),
            ("GB", "L2 2DP", true),
            ("GB", "12345", false),
            ("NL", "1012 AB", true),
            ("IE", "D02 X285", true),
            ("SE", "SE-11122", true),
            ("SE", "111 22", true),
            ("JP", "100-0001", true),
            ("JP", "1000001", true),
            ("DE", "1011", false),
            ("BR", "01310-100", true),
        ];
        for (code, postal, ok) in cases {
            let format = rules
                .format(code)
                .unwrap_or_else(|| panic!("format for {code}"));
            assert_eq!(format.accepts(postal), ok, "{code} {postal}");
        }
        assert_eq!(
            rules.format("US").map(|f| f.message.as_str()),
            Some(
                "The postal code is invalid for country United States, United States postal code must be in 99999 OR 99999-9999 format."
            )
        );
        assert!(!rules.requires_postal_code("AE") && !rules.requires_postal_code("HK"));
        assert!(rules.requires_postal_code("US") && rules.requires_postal_code("AR"));
    }
}
