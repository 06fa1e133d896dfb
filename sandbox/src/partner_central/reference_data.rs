//! What the simulated partner account holds that is data, not code, and that only the
//! simulator needs: the partner solutions ListSolutions answers and AssociateOpportunity
//! accepts, seeded from AWS's `SamplePartnerSolutions.csv` (aws-samples/partner-crm-integration-samples,
//! MIT). AWS's documented values (US states, postal codes, AWS product codes, use cases) are
//! the product's (`ace_sync::ace::rules`), shared with its pre-flight check.

const SAMPLE_PARTNER_SOLUTIONS: &str = include_str!("data/SamplePartnerSolutions.csv");

/// A partner solution as ListSolutions returns it.
#[derive(Debug, Clone)]
pub struct Solution {
    pub id: String,
    pub name: String,
    pub category: String,
    pub status: String,
    /// RFC 3339.
    pub created_date: String,
}

/// The simulator's own data.
#[derive(Debug)]
pub struct ReferenceData {
    pub solutions: Vec<Solution>,
}

impl ReferenceData {
    pub fn load() -> ReferenceData {
        ReferenceData {
            solutions: seed_solutions(),
        }
    }
}

/// `S-1234567`, the solution AWS's sandbox documentation tells testers to use, then the sample
/// partner solutions (all Active; their offering type is the category).
fn seed_solutions() -> Vec<Solution> {
    let mut solutions = vec![Solution {
        id: "S-1234567".to_owned(),
        name: "Sandbox Test Solution".to_owned(),
        category: "Software Product".to_owned(),
        status: "Active".to_owned(),
        created_date: "2023-01-01T00:00:00.000Z".to_owned(),
    }];
    for row in parse_csv(SAMPLE_PARTNER_SOLUTIONS).into_iter().skip(1) {
        let [id, category, name, created] = row.as_slice() else {
            continue;
        };
        let created_date =
            time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc2822)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_else(|| "2020-01-01T00:00:00Z".to_owned());
        solutions.push(Solution {
            id: id.clone(),
            name: name.clone(),
            category: category.clone(),
            status: "Active".to_owned(),
            created_date,
        });
    }
    solutions
}

/// A small RFC 4180 reader: quoted fields, `""` escapes, CRLF or LF, a leading BOM.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let text = text.trim_start_matches('\u{feff}');
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                if row.iter().any(|f| !f.is_empty()) {
                    rows.push(std::mem::take(&mut row));
                } else {
                    row.clear();
                }
            }
            (other, _) => field.push(other),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_solutions() {
        let data = ReferenceData::load();
        assert_eq!(data.solutions[0].id, "S-1234567");
        assert!(data.solutions.len() > 20);
        assert!(
            data.solutions
                .iter()
                .all(|s| ace_sync::ace::rules::is_solution_id(&s.id))
        );
    }

    #[test]
    fn csv_reader_handles_quotes() {
        let rows = parse_csv("\u{feff}a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n\r\nlast,1");
        assert_eq!(
            rows,
            vec![
                vec!["a", "b"],
                vec!["x, y", "say \"hi\""],
                vec!["last", "1"]
            ]
        );
    }
}
