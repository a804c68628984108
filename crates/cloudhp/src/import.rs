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
use cloudhp_store::{CustomerDb, CustomerProfile, NewCustomer};
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
/// give the reasons a row is refused). The password and groups columns are not read (the
/// header must still have them, as PrestaShop's does).
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
    #[serde(rename = "Default group ID")]
    default_group: String,
}

/// Longest names and e-mail PrestaShop 1.6 stores.
const MAX_NAME: usize = 32;
const MAX_EMAIL: usize = 128;

/// One problem of a row: what kind of problem (the report counts them by kind), and the
/// detail with the value found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub kind: &'static str,
    pub detail: String,
}

impl Problem {
    fn new(kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

/// A row that is not imported, and every reason why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub problems: Vec<Problem>,
}

impl Rejected {
    fn one(line: u64, problem: Problem) -> Self {
        Self {
            line,
            problems: vec![problem],
        }
    }

    /// Every problem of the row, in one line.
    pub fn reason(&self) -> String {
        let details: Vec<&str> = self.problems.iter().map(|p| p.detail.as_str()).collect();
        details.join("; ")
    }
}

/// A customer read from a row, its id as the file gives it: `None` when the `ID` cell is
/// empty, as in PrestaShop's import template (PrestaShop numbers such customers itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub line: u64,
    pub id: Option<CustomerId>,
    pub fields: CustomerProfile,
}

/// What an import found: the rows to import, and the others.
#[derive(Debug, Default)]
pub struct Checked {
    pub customers: Vec<Accepted>,
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
    #[error(
        "line {line}: the file is not UTF-8 text. Exports saved by a spreadsheet are often \
         Windows-1252 (or ISO-8859-1): convert the file first, for instance \
         `iconv -f WINDOWS-1252 -t UTF-8 FILE > FILE-utf8.csv`, then import the converted file"
    )]
    NotUtf8 { line: u64 },
    #[error(
        "the file looks truncated: its last line ({line}) stops after {found} of {expected} \
         columns and has no line end, as a download cut short. Nothing was imported; get the \
         whole file again"
    )]
    Truncated {
        line: u64,
        found: usize,
        expected: usize,
    },
    #[error("the header is not PrestaShop's customer export: it has no column `{0}`")]
    MissingColumn(&'static str),
    #[error("the header is not PrestaShop's customer export: column `{0}` appears twice")]
    DuplicateColumn(&'static str),
    #[error("the file is empty")]
    Empty,
}

fn flag(value: &str, column: &'static str, problems: &mut Vec<Problem>) -> bool {
    match value.trim() {
        "1" => true,
        "0" | "" => false,
        other => {
            problems.push(Problem::new(
                column,
                format!("{column} must be 0 or 1, not `{other}`"),
            ));
            false
        }
    }
}

fn name(value: &str, column: &'static str, problems: &mut Vec<Problem>) -> String {
    let value = value.trim();
    let problem = if value.is_empty() {
        format!("{column} is required")
    } else if value.chars().count() > MAX_NAME {
        format!("{column} is longer than {MAX_NAME} characters")
    } else if value.chars().any(char::is_control) {
        format!("{column} holds control characters")
    } else {
        return value.to_owned();
    };
    problems.push(Problem::new(column, problem));
    String::new()
}

fn email(value: &str, problems: &mut Vec<Problem>) -> String {
    let value = value.trim();
    let problem = if value.is_empty() {
        "Email is required".to_owned()
    } else if value.len() > MAX_EMAIL {
        format!("Email is longer than {MAX_EMAIL} characters")
    } else if value.parse::<cloudhp_mail::Address>().is_err() {
        // The same parser the mail side uses.
        format!("`{value}` is not an e-mail address")
    } else {
        return value.to_owned();
    };
    problems.push(Problem::new("Email", problem));
    String::new()
}

/// Reads a row. Only the columns the lottery uses can refuse it (id, names, e-mail, the
/// active, newsletter and opt-in flags); every problem of the row is reported. The columns it
/// does not use (title, birthday, groups, default group, password) never refuse a row:
/// PrestaShop accepts group names in `Groups`, dates it cannot read are left empty.
fn row(record: &csv::StringRecord, header: &csv::StringRecord) -> Result<Accepted, Vec<Problem>> {
    let line = record.position().map_or(0, |p| p.line());
    if record.len() != header.len() {
        return Err(vec![Problem::new(
            "columns",
            format!("{} columns instead of {}", record.len(), header.len()),
        )]);
    }
    let row: Row = record
        .deserialize(Some(header))
        .map_err(|e| vec![Problem::new("unreadable", format!("unreadable row: {e}"))])?;
    let mut problems = Vec::new();
    let raw_id = row.id.trim();
    let id = if raw_id.is_empty() {
        None
    } else {
        match CustomerId::parse(raw_id) {
            Ok(id) => Some(id),
            Err(e) => {
                problems.push(Problem::new("ID", format!("ID `{raw_id}`: {e}")));
                None
            }
        }
    };
    let gender = match row.title.trim() {
        "1" => 1,
        "2" => 2,
        _ => 0,
    };
    let birthday = Date::parse(
        row.birthday.trim(),
        format_description!("[year]-[month]-[day]"),
    )
    .ok();
    let default_group = row.default_group.trim().parse::<u32>().unwrap_or(3);
    let fields = CustomerProfile {
        firstname: name(&row.firstname, "First Name", &mut problems),
        lastname: name(&row.lastname, "Last Name", &mut problems),
        email: email(&row.email, &mut problems),
        active: flag(&row.active, "Active", &mut problems),
        gender,
        birthday,
        newsletter: flag(&row.newsletter, "Newsletter", &mut problems),
        optin: flag(&row.optin, "Opt-in", &mut problems),
        default_group,
    };
    if problems.is_empty() {
        Ok(Accepted { line, id, fields })
    } else {
        Err(problems)
    }
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

/// A reader that remembers the last byte it gave: whether the file ends with a line end.
struct LastByte<R> {
    inner: R,
    last: Option<u8>,
}

impl<R: Read> Read for LastByte<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.last = Some(buf[n - 1]);
        }
        Ok(n)
    }
}

fn csv_error(source: csv::Error) -> ImportError {
    let line = source.position().map_or(0, |p| p.line());
    match source.kind() {
        csv::ErrorKind::Utf8 { pos, .. } => ImportError::NotUtf8 {
            line: pos.as_ref().map_or(line, |p| p.line()),
        },
        _ => ImportError::Csv { line, source },
    }
}

/// Reads and checks a whole export. Rows with problems are set aside with their reasons;
/// duplicate ids within the file keep their first row. A last row cut short (fewer columns and
/// no line end) refuses the whole file. `progress` is told the byte offset reached.
pub fn check(input: impl Read, mut progress: impl FnMut(u64)) -> Result<Checked, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(true)
        .flexible(true)
        .from_reader(LastByte {
            inner: input,
            last: None,
        });
    let header = reader.headers().map_err(csv_error)?.clone();
    if header.is_empty() || (header.len() == 1 && header[0].trim().is_empty()) {
        return Err(ImportError::Empty);
    }
    let header = column_names(&header)?;
    let mut checked = Checked::default();
    let mut seen = HashSet::new();
    // The last row with too few columns, kept until it is known whether it ends the file.
    let mut short: Option<(u64, usize)> = None;
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        progress(record.position().map_or(0, |p| p.byte()));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        short = (record.len() < header.len()).then_some((line, record.len()));
        match row(&record, &header) {
            Ok(accepted) if accepted.id.is_some_and(|id| !seen.insert(id)) => {
                checked.rejected.push(Rejected::one(
                    line,
                    Problem::new(
                        "duplicate",
                        format!(
                            "customer {} appears earlier in the file",
                            accepted.id.map_or(0, |id| id.get())
                        ),
                    ),
                ));
            }
            Ok(accepted) => checked.customers.push(accepted),
            Err(problems) => checked.rejected.push(Rejected { line, problems }),
        }
    }
    let ends_with_line_end = matches!(reader.get_ref().last, Some(b'\n' | b'\r'));
    if let Some((line, found)) = short
        && !ends_with_line_end
    {
        return Err(ImportError::Truncated {
            line,
            found,
            expected: header.len(),
        });
    }
    Ok(checked)
}

/// What `cloudhp customers import` did.
#[derive(Debug, Default)]
pub struct Summary {
    pub imported: usize,
    pub rejected: Vec<Rejected>,
    /// The ids given to the rows without one, in file order.
    pub assigned: Option<Assigned>,
}

/// The ids given to the rows without one: `first..=last`, `count` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assigned {
    pub first: u32,
    pub last: u32,
    pub count: usize,
}

impl Summary {
    /// How many rejected rows had each kind of problem, most frequent first.
    pub fn problems_by_kind(&self) -> Vec<(&'static str, usize)> {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for problem in self.rejected.iter().flat_map(|r| &r.problems) {
            match counts.iter_mut().find(|(kind, _)| *kind == problem.kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((problem.kind, 1)),
            }
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        counts
    }
}

/// Numbers the rows without an id as PrestaShop does on import, in file order, after the
/// highest id of the table and of the file; rows past the last possible id are rejected.
fn assign_ids(
    customers: Vec<Accepted>,
    highest: u32,
    rejected: &mut Vec<Rejected>,
) -> (Vec<(u64, NewCustomer)>, Option<Assigned>) {
    let highest = customers
        .iter()
        .filter_map(|c| c.id.map(CustomerId::get))
        .fold(highest, u32::max);
    let mut next = u64::from(highest) + 1;
    let mut assigned: Option<Assigned> = None;
    let mut out = Vec::with_capacity(customers.len());
    for c in customers {
        let id = match c.id {
            Some(id) => id,
            None => match u32::try_from(next).ok().and_then(CustomerId::new) {
                Some(id) => {
                    next += 1;
                    let so_far = assigned.map_or((id.get(), 0), |a| (a.first, a.count));
                    assigned = Some(Assigned {
                        first: so_far.0,
                        last: id.get(),
                        count: so_far.1 + 1,
                    });
                    id
                }
                None => {
                    rejected.push(Rejected::one(
                        c.line,
                        Problem::new("ID", "no customer id is left to give this row"),
                    ));
                    continue;
                }
            },
        };
        out.push((c.line, NewCustomer::imported(id, c.fields)));
    }
    (out, assigned)
}

/// Imports `path` into `db` (the embedded table): checks every row, numbers the rows without
/// an id, sets aside those that cannot go in (including ids already in the table), and inserts
/// the rest in one transaction. The import is recorded (unless a dry run), even when it
/// imports nobody: demo customers are never seeded into a table an import has touched.
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
    let checked = check(std::io::BufReader::new(file), progress)?;
    let mut rejected = checked.rejected;
    if !dry_run {
        db.create_embedded_table().await?;
    }
    // A dry run changes nothing, not even the schema: a missing table holds nobody.
    let highest = match db.max_id().await {
        Err(e) if dry_run && e.is_missing_table() => 0,
        other => other?,
    };
    let (numbered, assigned) = assign_ids(checked.customers, highest, &mut rejected);
    let ids: Vec<CustomerId> = numbered.iter().map(|(_, c)| c.id).collect();
    let existing = match db.existing_ids(&ids).await {
        Err(e) if dry_run && e.is_missing_table() => Default::default(),
        other => other?,
    };
    let mut customers = Vec::with_capacity(numbered.len());
    for (line, customer) in numbered {
        if existing.contains(&customer.id) {
            rejected.push(Rejected::one(
                line,
                Problem::new(
                    "exists",
                    format!("customer {} exists already in the table", customer.id),
                ),
            ));
        } else {
            customers.push(customer);
        }
    }
    rejected.sort_by_key(|r| r.line);
    if !dry_run {
        let now = time::OffsetDateTime::now_utc();
        db.record_import(
            &path.display().to_string(),
            customers.len() as u64,
            rejected.len() as u64,
            now,
        )
        .await?;
        db.insert_all(&customers, now).await?;
    }
    Ok(Summary {
        imported: customers.len(),
        rejected,
        assigned,
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
        let zoe = &checked.customers[0].fields;
        assert_eq!(checked.customers[0].line, 2);
        assert_eq!(checked.customers[0].id.map(CustomerId::get), Some(7));
        assert_eq!(
            (zoe.firstname.as_str(), zoe.lastname.as_str()),
            ("Zoé", "Lefèvre")
        );
        assert!(zoe.active && zoe.newsletter && !zoe.optin);
        assert_eq!(zoe.gender, 2);
        assert_eq!(zoe.birthday.unwrap().to_string(), "1990-05-17");
        let kept = NewCustomer::imported(CustomerId::new(7).unwrap(), zoe.clone());
        assert_eq!(kept.password_hash, "!", "passwords are not kept");
        let ann = &checked.customers[1].fields;
        assert!(!ann.active && ann.birthday.is_none() && ann.default_group == 3);
    }

    #[test]
    fn bad_rows_are_set_aside_with_their_line_and_reason() {
        let checked = run("1;1;1;ok@example.com;x;;Ok;Ok;0;0;;3\n\
             3;1;1;not-an-email;x;;Bad;Mail;0;0;;3\n\
             4;2;1;a@example.com;x;;Bad;Active;0;0;;3\n\
             6;1;1;c@example.com;x;;;NoLast;0;0;;3\n\
             7;1;1;d@example.com;x;;ThisLastNameIsMuchLongerThanThirtyTwo;Long;0;0;;3\n\
             1;1;1;dup@example.com;x;;Dup;Licate;0;0;;3\n\
             0;1;1;zero@example.com;x;;Zero;Id;0;0;;3\n\
             9;1;1;e@example.com;x;;Few\n\
             10;1;1;f@example.com;x;;Last;First;0;0;;3\n")
        .unwrap();
        assert_eq!(checked.customers.len(), 2);
        let lines: Vec<u64> = checked.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7, 8, 9]);
        let reasons: Vec<String> = checked.rejected.iter().map(Rejected::reason).collect();
        assert!(reasons[0].contains("not an e-mail address"));
        assert!(reasons[1].contains("Active must be 0 or 1"));
        assert!(reasons[2].contains("Last Name is required"));
        assert!(reasons[3].contains("longer than 32"));
        assert!(reasons[4].contains("appears earlier"));
        assert!(reasons[5].contains("greater than zero"));
        assert!(reasons[6].contains("columns"));
    }

    #[test]
    fn every_problem_of_a_row_is_reported() {
        let checked =
            run("0;7;1;nope;x;;;ThisFirstNameIsMuchLongerThanThirtyTwo;2;x;;3\n").unwrap();
        assert!(checked.customers.is_empty());
        let kinds: Vec<&str> = checked.rejected[0]
            .problems
            .iter()
            .map(|p| p.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "ID",
                "First Name",
                "Last Name",
                "Email",
                "Active",
                "Newsletter",
                "Opt-in"
            ]
        );
        let reason = checked.rejected[0].reason();
        assert!(
            reason.contains("`nope` is not an e-mail address"),
            "{reason}"
        );
        assert!(
            reason.contains("Active must be 0 or 1, not `7`"),
            "{reason}"
        );
    }

    #[test]
    fn columns_the_lottery_does_not_use_never_refuse_a_row() {
        // Group names (PrestaShop accepts them), a title, a birthday and a default group it
        // cannot read: the row goes in, those fields at their defaults.
        let checked =
            run("5;1;9;a@example.com;x;1990-13-45;Doe;Jane;0;1;Customer,Guest;Visitor\n").unwrap();
        assert!(checked.rejected.is_empty(), "{:?}", checked.rejected);
        let jane = &checked.customers[0].fields;
        assert_eq!(
            (jane.gender, jane.birthday, jane.default_group),
            (0, None, 3)
        );
        assert!(jane.optin && !jane.newsletter);
    }

    #[test]
    fn rows_without_an_id_are_numbered_after_the_highest_in_file_order() {
        // PrestaShop's import template: the ID column is empty.
        let checked = run(";1;1;a@example.com;x;;A;A;0;0;;3\n\
             ;1;1;b@example.com;x;;B;B;0;0;;3\n\
             40;1;1;c@example.com;x;;C;C;0;0;;3\n\
             ;1;1;d@example.com;x;;D;D;0;0;;3\n")
        .unwrap();
        assert!(checked.rejected.is_empty(), "{:?}", checked.rejected);
        let mut rejected = Vec::new();
        let (customers, assigned) = assign_ids(checked.customers, 12, &mut rejected);
        let ids: Vec<(u64, u32)> = customers.iter().map(|(l, c)| (*l, c.id.get())).collect();
        assert_eq!(ids, [(2, 41), (3, 42), (4, 40), (5, 43)]);
        let range = |first, last, count| Some(Assigned { first, last, count });
        assert_eq!(assigned, range(41, 43, 3));
        assert!(rejected.is_empty());
        // An empty table and a file of unnumbered rows: 1, 2, …
        let checked = run(";1;1;a@example.com;x;;A;A;0;0;;3\n").unwrap();
        let (customers, assigned) = assign_ids(checked.customers, 0, &mut rejected);
        assert_eq!(customers[0].1.id.get(), 1);
        assert_eq!(assigned, range(1, 1, 1));
        // No id left past the largest.
        let checked = run(";1;1;a@example.com;x;;A;A;0;0;;3\n").unwrap();
        let (customers, assigned) = assign_ids(checked.customers, u32::MAX, &mut rejected);
        assert!(customers.is_empty() && assigned.is_none());
        assert_eq!(rejected[0].line, 2);
    }

    #[test]
    fn a_last_row_cut_short_refuses_the_file() {
        let good = "1;1;1;a@example.com;x;;A;A;0;0;;3\n";
        let err = run(&format!("{good}2;1;1;b@exam")).unwrap_err();
        assert!(
            matches!(
                err,
                ImportError::Truncated {
                    line: 3,
                    found: 4,
                    expected: 12
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("truncated"), "{err}");
        // A cut inside a quoted field swallows the rest of the file: still a short last row.
        let err = run(&format!("{good}2;1;1;\"b@exam")).unwrap_err();
        assert!(matches!(err, ImportError::Truncated { .. }), "{err}");
        // A whole last row without a line end is fine; a short row with its line end is a
        // rejected row, not a truncated file.
        assert_eq!(run(good.trim_end()).unwrap().customers.len(), 1);
        let checked = run(&format!("{good}2;1;1\n")).unwrap();
        assert_eq!(checked.rejected[0].line, 3);
    }

    #[test]
    fn a_file_that_is_not_utf8_gets_a_hint() {
        let mut bytes = HEAD.as_bytes().to_vec();
        bytes.extend_from_slice(b"1;1;1;a@example.com;x;;Lef\xe8vre;A;0;0;;3\n");
        let err = check(bytes.as_slice(), |_| {}).unwrap_err();
        assert!(matches!(err, ImportError::NotUtf8 { line: 2 }), "{err}");
        assert!(err.to_string().contains("iconv -f WINDOWS-1252"), "{err}");
    }

    #[test]
    fn the_report_counts_problems_by_kind() {
        let checked = run("1;1;1;bad;x;;A;A;0;0;;3\n\
             2;1;1;bad2;x;;;A;0;0;;3\n\
             3;1;1;c@example.com;x;;;A;0;0;;3\n")
        .unwrap();
        let summary = Summary {
            rejected: checked.rejected,
            ..Summary::default()
        };
        assert_eq!(summary.problems_by_kind(), [("Email", 2), ("Last Name", 2)]);
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

    fn customers(text: &str) -> Vec<Accepted> {
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
        assert_eq!(shuffled[0].id.map(CustomerId::get), Some(7));
        let zoe = &shuffled[0].fields;
        assert_eq!((zoe.gender, zoe.default_group), (2, 3));
        assert_eq!(
            (zoe.firstname.as_str(), zoe.lastname.as_str()),
            ("Zoé", "Lefèvre")
        );
        assert_eq!(zoe.email, "zoe@example.com");
        assert!(zoe.active && zoe.newsletter && !zoe.optin);
        assert_eq!(zoe.birthday.unwrap().to_string(), "1990-05-17");
        let ann = &shuffled[1].fields;
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
                "x;1;1;badid@example.com;x;;Bad;Id;0;0;;3",
            ],
        );
        let checked = check(text.as_bytes(), |_| {}).unwrap();
        assert_eq!(checked.customers.len(), 2, "a row without an id goes in");
        assert_eq!(checked.customers[1].id, None);
        let rejected: Vec<(u64, String)> = checked
            .rejected
            .iter()
            .map(|r| (r.line, r.reason()))
            .collect();
        assert_eq!(rejected.len(), 2);
        assert_eq!(rejected[0].0, 3);
        assert!(
            rejected[0].1.contains("not an e-mail address"),
            "{rejected:?}"
        );
        assert_eq!(rejected[1].0, 5);
        assert!(rejected[1].1.contains("ID `x`"), "{rejected:?}");
        // A row shorter than the header is refused with its line, as before.
        let short = format!(
            "{}1;2;3\n",
            reordered(&(0..12).collect::<Vec<_>>(), &[("Company", "x")], &[])
        );
        let checked = check(short.as_bytes(), |_| {}).unwrap();
        assert_eq!(checked.rejected[0].line, 2);
        assert!(
            checked.rejected[0]
                .reason()
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
                for Accepted { line, id, fields: c } in &checked.customers {
                    prop_assert!(*line >= 2 && *line <= lines, "line {line} of {lines}");
                    if let Some(id) = id {
                        prop_assert!(ids.insert(*id), "customer {id} twice");
                    }
                    for name in [&c.firstname, &c.lastname] {
                        prop_assert!(!name.is_empty() && name.chars().count() <= MAX_NAME);
                        prop_assert!(!name.chars().any(char::is_control), "{name:?}");
                    }
                    prop_assert!(c.email.parse::<cloudhp_mail::Address>().is_ok());
                }
                for r in &checked.rejected {
                    prop_assert!(r.line >= 2 && r.line <= lines, "line {} of {lines}", r.line);
                    prop_assert!(!r.problems.is_empty() && !r.reason().is_empty());
                }
            }
        }
    }
}
