//! `cloudhp customers import FILE.csv`: loads a PrestaShop customer export into the embedded
//! customer table.
//!
//! The file is PrestaShop's customer CSV format, `;`-separated, with its header:
//! `ID;Active (0/1);Titles ID (Mr = 1, Ms = 2, else 0);Email *;Password *;Birthday (yyyy-mm-dd);
//! Last Name *;First Name *;Newsletter (0/1);Opt-in (0/1);Groups (x,y,z...);Default group ID`.
//! The columns are read by their name: each of these must be there once, in any order (names
//! compared without case); other columns are ignored.
//!
//! Every row is checked first; rows that cannot be imported are reported with their line number
//! and the reason, and the others are imported in one transaction: a fatal error (unreadable
//! file, wrong header, database failure) imports nothing. Passwords are not kept: the lottery
//! never logs anyone in.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use cloudhp_core::CustomerId;
use cloudhp_store::{CustomerDb, NewCustomer};
use serde::Deserialize;
use time::Date;
use time::macros::format_description;

/// The columns of PrestaShop's export, in its order (a file may have them in any order).
pub const HEADER: [&str; 12] = [
    "ID",
    "Active (0/1)",
    "Titles ID (Mr = 1, Ms = 2, else 0)",
    "Email *",
    "Password *",
    "Birthday (yyyy-mm-dd)",
    "Last Name *",
    "First Name *",
    "Newsletter (0/1)",
    "Opt-in (0/1)",
    "Groups (x,y,z...)",
    "Default group ID",
];

/// One row of the export, its fields read by column name as they are (the checks of [`row`]
/// give the reasons a row is refused). The password column is not read.
#[derive(Debug, Deserialize)]
struct Row {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Active (0/1)")]
    active: String,
    #[serde(rename = "Titles ID (Mr = 1, Ms = 2, else 0)")]
    title: String,
    #[serde(rename = "Email *")]
    email: String,
    #[serde(rename = "Birthday (yyyy-mm-dd)")]
    birthday: String,
    #[serde(rename = "Last Name *")]
    lastname: String,
    #[serde(rename = "First Name *")]
    firstname: String,
    #[serde(rename = "Newsletter (0/1)")]
    newsletter: String,
    #[serde(rename = "Opt-in (0/1)")]
    optin: String,
    #[serde(rename = "Groups (x,y,z...)")]
    groups: String,
    #[serde(rename = "Default group ID")]
    default_group: String,
}

/// Longest names and e-mail PrestaShop 1.6 stores.
const MAX_NAME: usize = 32;
const MAX_EMAIL: usize = 128;

/// A row that is not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

/// What an import found: the rows to import with their line numbers, and the others.
#[derive(Debug, Default)]
pub struct Checked {
    pub customers: Vec<(u64, NewCustomer)>,
    pub rejected: Vec<Rejected>,
}

/// A problem that stops the whole import.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("line {line}: the file is not valid CSV")]
    Csv {
        line: u64,
        #[source]
        source: csv::Error,
    },
    #[error("the header is not PrestaShop's customer export: it has no column `{0}`")]
    MissingColumn(&'static str),
    #[error("the header is not PrestaShop's customer export: column `{0}` appears twice")]
    DuplicateColumn(&'static str),
    #[error("the file is empty")]
    Empty,
}

fn flag(value: &str, name: &str) -> Result<bool, String> {
    match value.trim() {
        "1" => Ok(true),
        "0" | "" => Ok(false),
        other => Err(format!("{name} must be 0 or 1, not `{other}`")),
    }
}

fn name(value: &str, column: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{column} is required"));
    }
    if value.chars().count() > MAX_NAME {
        return Err(format!("{column} is longer than {MAX_NAME} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{column} holds control characters"));
    }
    Ok(value.to_owned())
}

fn email(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("Email is required".into());
    }
    if value.len() > MAX_EMAIL {
        return Err(format!("Email is longer than {MAX_EMAIL} characters"));
    }
    // The same parser the mail side uses.
    value
        .parse::<cloudhp_mail::Address>()
        .map(|_| value.to_owned())
        .map_err(|_| format!("`{value}` is not an e-mail address"))
}

fn row(record: &csv::StringRecord, header: &csv::StringRecord) -> Result<NewCustomer, String> {
    if record.len() != header.len() {
        return Err(format!(
            "{} columns instead of {}",
            record.len(),
            header.len()
        ));
    }
    let row: Row = record
        .deserialize(Some(header))
        .map_err(|e| format!("unreadable row: {e}"))?;
    let raw_id = row.id.trim();
    if raw_id.is_empty() {
        return Err("ID is required: the lottery's links use the shop's customer ids".into());
    }
    let id = CustomerId::parse(raw_id).map_err(|e| format!("ID `{raw_id}`: {e}"))?;
    let gender = match row.title.trim() {
        "1" => 1,
        "2" => 2,
        "0" | "" => 0,
        other => return Err(format!("Titles ID must be 0, 1 or 2, not `{other}`")),
    };
    let birthday = match row.birthday.trim() {
        "" | "0000-00-00" => None,
        text => Some(
            Date::parse(text, format_description!("[year]-[month]-[day]"))
                .map_err(|_| format!("Birthday `{text}` is not a date (yyyy-mm-dd)"))?,
        ),
    };
    let groups = row.groups.trim();
    if !groups.is_empty() && groups.split(',').any(|g| g.trim().parse::<u32>().is_err()) {
        return Err(format!(
            "Groups `{groups}` must be numbers separated by commas"
        ));
    }
    let default_group = match row.default_group.trim() {
        "" => 3,
        text => text
            .parse::<u32>()
            .map_err(|_| format!("Default group ID `{text}` is not a number"))?,
    };
    Ok(NewCustomer {
        id,
        firstname: name(&row.firstname, "First Name")?,
        lastname: name(&row.lastname, "Last Name")?,
        email: email(&row.email)?,
        active: flag(&row.active, "Active")?,
        gender,
        birthday,
        newsletter: flag(&row.newsletter, "Newsletter")?,
        optin: flag(&row.optin, "Opt-in")?,
        default_group,
        // Not kept: an unusable value in PrestaShop's column.
        password_hash: "!".into(),
    })
}

/// The header with PrestaShop's column names spelt as [`HEADER`] spells them (whatever their
/// case, spaces around them and a byte order mark), other columns as they are; every column
/// of [`HEADER`] must be there, once.
fn column_names(header: &csv::StringRecord) -> Result<csv::StringRecord, ImportError> {
    let mut seen = [false; HEADER.len()];
    let mut names = csv::StringRecord::with_capacity(header.as_slice().len(), header.len());
    for found in header {
        let found = found.trim().trim_start_matches('\u{feff}').trim();
        match HEADER
            .iter()
            .position(|name| found.eq_ignore_ascii_case(name))
        {
            Some(i) if seen[i] => return Err(ImportError::DuplicateColumn(HEADER[i])),
            Some(i) => {
                seen[i] = true;
                names.push_field(HEADER[i]);
            }
            None => names.push_field(found),
        }
    }
    match seen.iter().position(|&present| !present) {
        Some(missing) => Err(ImportError::MissingColumn(HEADER[missing])),
        None => Ok(names),
    }
}

/// Reads and checks a whole export. Rows with problems are set aside with their reason;
/// duplicate ids within the file keep their first row. `progress` is told the byte offset
/// reached.
pub fn check(input: impl Read, mut progress: impl FnMut(u64)) -> Result<Checked, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let header = reader
        .headers()
        .map_err(|source| ImportError::Csv { line: 1, source })?
        .clone();
    if header.is_empty() || (header.len() == 1 && header[0].trim().is_empty()) {
        return Err(ImportError::Empty);
    }
    let header = column_names(&header)?;
    let mut checked = Checked::default();
    let mut seen = HashSet::new();
    for record in reader.records() {
        let record = record.map_err(|source| ImportError::Csv {
            line: source.position().map_or(0, |p| p.line()),
            source,
        })?;
        let line = record.position().map_or(0, |p| p.line());
        progress(record.position().map_or(0, |p| p.byte()));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        match row(&record, &header) {
            Ok(customer) if !seen.insert(customer.id) => checked.rejected.push(Rejected {
                line,
                reason: format!("customer {} appears earlier in the file", customer.id),
            }),
            Ok(customer) => checked.customers.push((line, customer)),
            Err(reason) => checked.rejected.push(Rejected { line, reason }),
        }
    }
    Ok(checked)
}

/// What `cloudhp customers import` did.
#[derive(Debug, Default)]
pub struct Summary {
    pub imported: usize,
    pub rejected: Vec<Rejected>,
}

/// Imports `path` into `db` (the embedded table): checks every row, sets aside those that
/// cannot go in (including ids already in the table), and inserts the rest in one transaction.
pub async fn import(
    db: &CustomerDb,
    path: &Path,
    dry_run: bool,
    progress: impl FnMut(u64),
) -> anyhow::Result<Summary> {
    let file = std::fs::File::open(path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mut checked = check(std::io::BufReader::new(file), progress)?;
    let ids: Vec<CustomerId> = checked.customers.iter().map(|(_, c)| c.id).collect();
    let existing = if dry_run {
        // A dry run changes nothing, not even the schema: a missing table holds nobody.
        match db.existing_ids(&ids).await {
            Err(e) if e.is_missing_table() => Default::default(),
            other => other?,
        }
    } else {
        db.create_embedded_table().await?;
        db.existing_ids(&ids).await?
    };
    let mut customers = Vec::with_capacity(checked.customers.len());
    for (line, customer) in checked.customers {
        if existing.contains(&customer.id) {
            checked.rejected.push(Rejected {
                line,
                reason: format!("customer {} exists already in the table", customer.id),
            });
        } else {
            customers.push(customer);
        }
    }
    checked.rejected.sort_by_key(|r| r.line);
    if !dry_run {
        db.insert_all(&customers, time::OffsetDateTime::now_utc())
            .await?;
    }
    Ok(Summary {
        imported: customers.len(),
        rejected: checked.rejected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "ID;Active (0/1);Titles ID (Mr = 1, Ms = 2, else 0);Email *;Password *;\
        Birthday (yyyy-mm-dd);Last Name *;First Name *;Newsletter (0/1);Opt-in (0/1);\
        Groups (x,y,z...);Default group ID\n";

    fn run(body: &str) -> Result<Checked, ImportError> {
        check(format!("{HEAD}{body}").as_bytes(), |_| {})
    }

    #[test]
    fn good_rows_are_read_with_every_field() {
        let checked = run(
            "7;1;2;zoe@example.com;secret;1990-05-17;Lefèvre;Zoé;1;0;1,2,3;3\n\
             8;0;0;a@example.com;x;;Smith;Ann;0;1;;\n",
        )
        .unwrap();
        assert!(checked.rejected.is_empty(), "{:?}", checked.rejected);
        let zoe = &checked.customers[0].1;
        assert_eq!(checked.customers[0].0, 2);
        assert_eq!(zoe.id.get(), 7);
        assert_eq!(
            (zoe.firstname.as_str(), zoe.lastname.as_str()),
            ("Zoé", "Lefèvre")
        );
        assert!(zoe.active && zoe.newsletter && !zoe.optin);
        assert_eq!(zoe.gender, 2);
        assert_eq!(zoe.birthday.unwrap().to_string(), "1990-05-17");
        assert_eq!(zoe.password_hash, "!", "passwords are not kept");
        let ann = &checked.customers[1].1;
        assert!(!ann.active && ann.birthday.is_none() && ann.default_group == 3);
    }

    #[test]
    fn bad_rows_are_set_aside_with_their_line_and_reason() {
        let checked = run("1;1;1;ok@example.com;x;;Ok;Ok;0;0;;3\n\
             ;1;1;noid@example.com;x;;No;Id;0;0;;3\n\
             3;1;1;not-an-email;x;;Bad;Mail;0;0;;3\n\
             4;2;1;a@example.com;x;;Bad;Active;0;0;;3\n\
             5;1;1;b@example.com;x;1990-13-01;Bad;Birthday;0;0;;3\n\
             6;1;1;c@example.com;x;;;NoLast;0;0;;3\n\
             7;1;1;d@example.com;x;;ThisLastNameIsMuchLongerThanThirtyTwo;Long;0;0;;3\n\
             1;1;1;dup@example.com;x;;Dup;Licate;0;0;;3\n\
             0;1;1;zero@example.com;x;;Zero;Id;0;0;;3\n\
             9;1;1;e@example.com;x;;Few\n")
        .unwrap();
        assert_eq!(checked.customers.len(), 1);
        let lines: Vec<u64> = checked.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7, 8, 9, 10, 11]);
        let reasons: Vec<&str> = checked.rejected.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons[0].contains("ID is required"));
        assert!(reasons[1].contains("not an e-mail address"));
        assert!(reasons[2].contains("Active must be 0 or 1"));
        assert!(reasons[3].contains("Birthday"));
        assert!(reasons[4].contains("Last Name is required"));
        assert!(reasons[5].contains("longer than 32"));
        assert!(reasons[6].contains("appears earlier"));
        assert!(reasons[7].contains("greater than zero"));
        assert!(reasons[8].contains("columns"));
    }

    #[test]
    fn a_wrong_header_stops_everything() {
        let err = check("ID;Email;Name\n1;a@b.c;x\n".as_bytes(), |_| {}).unwrap_err();
        assert!(
            matches!(err, ImportError::MissingColumn("Active (0/1)")),
            "{err}"
        );
        assert!(err.to_string().contains("header"), "{err}");
        assert!(matches!(
            check("".as_bytes(), |_| {}),
            Err(ImportError::Empty)
        ));
        // A column twice (whatever its case) is ambiguous.
        let twice = format!("{};email *\n", HEAD.trim_end());
        assert!(matches!(
            check(twice.as_bytes(), |_| {}),
            Err(ImportError::DuplicateColumn("Email *"))
        ));
    }

    /// The export's header and rows, its columns put in the order of `order` (indexes into
    /// [`HEADER`]), with `extra` columns (name, value of every row) after.
    fn reordered(order: &[usize], extra: &[(&str, &str)], rows: &[&str]) -> String {
        let mut header: Vec<&str> = order.iter().map(|&i| HEADER[i]).collect();
        header.extend(extra.iter().map(|(name, _)| *name));
        let mut text = header.join(";") + "\n";
        for row in rows {
            let fields: Vec<&str> = row.split(';').collect();
            let mut out: Vec<&str> = order.iter().map(|&i| fields[i]).collect();
            out.extend(extra.iter().map(|(_, value)| *value));
            text.push_str(&out.join(";"));
            text.push('\n');
        }
        text
    }

    const ROWS: [&str; 2] = [
        "7;1;2;zoe@example.com;secret;1990-05-17;Lefèvre;Zoé;1;0;1,2,3;3",
        "8;0;0;a@example.com;x;;Smith;Ann;0;1;;",
    ];

    fn customers(text: &str) -> Vec<(u64, NewCustomer)> {
        let checked = check(text.as_bytes(), |_| {}).unwrap();
        assert!(checked.rejected.is_empty(), "{:?}", checked.rejected);
        checked.customers
    }

    #[test]
    fn columns_are_read_by_name_in_any_order() {
        let in_order = customers(&reordered(&(0..12).collect::<Vec<_>>(), &[], &ROWS));
        let reversed = customers(&reordered(&(0..12).rev().collect::<Vec<_>>(), &[], &ROWS));
        let shuffled = customers(&reordered(
            &[7, 3, 11, 0, 6, 9, 1, 5, 10, 2, 8, 4],
            &[],
            &ROWS,
        ));
        assert_eq!(in_order, reversed);
        assert_eq!(in_order, shuffled);
        let zoe = &shuffled[0].1;
        assert_eq!((zoe.id.get(), zoe.gender, zoe.default_group), (7, 2, 3));
        assert_eq!(
            (zoe.firstname.as_str(), zoe.lastname.as_str()),
            ("Zoé", "Lefèvre")
        );
        assert_eq!(zoe.email, "zoe@example.com");
        assert!(zoe.active && zoe.newsletter && !zoe.optin);
        assert_eq!(zoe.birthday.unwrap().to_string(), "1990-05-17");
        let ann = &shuffled[1].1;
        assert!(!ann.active && ann.optin && ann.birthday.is_none());
    }

    #[test]
    fn extra_columns_anywhere_are_ignored() {
        let plain = customers(&reordered(&(0..12).collect::<Vec<_>>(), &[], &ROWS));
        // Columns of a newer PrestaShop (or a module) after the known ones...
        let after = customers(&reordered(
            &(0..12).collect::<Vec<_>>(),
            &[
                ("Company", "ACME Inc"),
                ("Last visit", "2026-11-01"),
                ("", ""),
            ],
            &ROWS,
        ));
        assert_eq!(plain, after);
        // ...or among them, with the names in another case and spaces around them.
        let text = "id ; ACTIVE (0/1);Shop;Titles ID (Mr = 1, Ms = 2, else 0);Email *;\
            Password *;Birthday (yyyy-mm-dd);Last Name *;first name *;Newsletter (0/1);\
            Opt-in (0/1);Groups (x,y,z...);Default group ID;Note\n\
            7;1;Main;2;zoe@example.com;secret;1990-05-17;Lefèvre;Zoé;1;0;1,2,3;3;VIP\n\
            8;0;Other;0;a@example.com;x;;Smith;Ann;0;1;;;\n";
        let among = customers(text);
        assert_eq!(plain, among);
    }

    #[test]
    fn reordered_rows_are_checked_and_reported_as_before() {
        let text = reordered(
            &[3, 0, 7, 6, 1, 2, 4, 5, 8, 9, 10, 11],
            &[("Company", "x")],
            &[
                "1;1;1;ok@example.com;x;;Ok;Ok;0;0;;3",
                "2;1;1;not-an-email;x;;Bad;Mail;0;0;;3",
                ";1;1;noid@example.com;x;;No;Id;0;0;;3",
            ],
        );
        let checked = check(text.as_bytes(), |_| {}).unwrap();
        assert_eq!(checked.customers.len(), 1);
        let rejected: Vec<(u64, &str)> = checked
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(rejected.len(), 2);
        assert_eq!(rejected[0].0, 3);
        assert!(
            rejected[0].1.contains("not an e-mail address"),
            "{rejected:?}"
        );
        assert_eq!(rejected[1].0, 4);
        assert!(rejected[1].1.contains("ID is required"), "{rejected:?}");
        // A row shorter than the header is refused with its line, as before.
        let short = format!(
            "{}1;2;3\n",
            reordered(&(0..12).collect::<Vec<_>>(), &[("Company", "x")], &[])
        );
        let checked = check(short.as_bytes(), |_| {}).unwrap();
        assert_eq!(checked.rejected[0].line, 2);
        assert!(
            checked.rejected[0]
                .reason
                .contains("3 columns instead of 13")
        );
    }

    #[test]
    fn a_byte_order_mark_and_blank_lines_are_tolerated() {
        let text = format!("\u{feff}{HEAD}\n1;1;1;a@example.com;x;;A;B;0;0;;3\n\n");
        let checked = check(text.as_bytes(), |_| {}).unwrap();
        assert_eq!(checked.customers.len(), 1);
        assert!(checked.rejected.is_empty());
    }

    /// Fuzzing (see docs/fuzzing.md): a fixed number of cases, PROPTEST_CASES raises it.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// A field: any text, or values close to the valid ones.
        fn field() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[0-9]{1,11}",
                "[a-z]{1,8}@[a-z]{1,8}\\.example",
                "[0-9]{4}-[0-9]{2}-[0-9]{2}",
                "[ \"';,\r\n\t]{0,3}",
                Just(String::new()),
            ]
        }

        /// Any bytes; PrestaShop's header then any bytes; or the header then rows of fields
        /// joined by `;`.
        fn files() -> impl Strategy<Value = Vec<u8>> {
            let rows = proptest::collection::vec(proptest::collection::vec(field(), 0..14), 0..6)
                .prop_map(|rows| {
                    let body: Vec<String> = rows.iter().map(|r| r.join(";")).collect();
                    format!("{HEAD}{}", body.join("\n")).into_bytes()
                });
            let junk = proptest::collection::vec(any::<u8>(), 0..512);
            let after_header = junk.clone().prop_map(|bytes| {
                let mut file = HEAD.as_bytes().to_vec();
                file.extend(bytes);
                file
            });
            // Valid rows, each with one field replaced: every check is reached, and rows pass.
            let valid = "1;1;1;a@example.com;x;1990-01-31;Doe;Jane;0;1;1,2;3";
            let near = proptest::collection::vec((0..12usize, field(), 1u32..2000), 1..8).prop_map(
                move |rows| {
                    let body: Vec<String> = rows
                        .iter()
                        .map(|(i, value, id)| {
                            let mut fields: Vec<String> =
                                valid.split(';').map(str::to_owned).collect();
                            fields[0] = id.to_string();
                            fields[*i] = value.clone();
                            fields.join(";")
                        })
                        .collect();
                    format!("{HEAD}{}\n", body.join("\n")).into_bytes()
                },
            );
            prop_oneof![junk, after_header, rows, near]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

            /// Any file: a report (rows accepted, rows rejected with a line and a reason) or a
            /// typed error; never a panic. What is accepted is importable.
            #[test]
            fn fuzz_any_file_gives_a_report_or_an_error(file in files()) {
                let lines = file.iter().filter(|b| **b == b'\n').count() as u64 + 1;
                let Ok(checked) = check(file.as_slice(), |_| {}) else {
                    return Ok(());
                };
                let mut ids = HashSet::new();
                for (line, c) in &checked.customers {
                    prop_assert!(*line >= 2 && *line <= lines, "line {line} of {lines}");
                    prop_assert!(ids.insert(c.id), "customer {} twice", c.id);
                    for name in [&c.firstname, &c.lastname] {
                        prop_assert!(!name.is_empty() && name.chars().count() <= MAX_NAME);
                        prop_assert!(!name.chars().any(char::is_control), "{name:?}");
                    }
                    prop_assert!(c.email.parse::<cloudhp_mail::Address>().is_ok());
                }
                for r in &checked.rejected {
                    prop_assert!(r.line >= 2 && r.line <= lines, "line {} of {lines}", r.line);
                    prop_assert!(!r.reason.is_empty());
                }
            }
        }
    }
}
