//! What the admin area shows: its pages (templates of `crates/cloudhp/templates/admin_*.html`),
//! the chart of the draws (SVG drawn here, no script), and the rows of the CSV export.

use askama::Template;
use cloudhp_core::{CampaignReport, DrawPace, ServiceError, Winner, WinnersPage};
use time::OffsetDateTime;
use time::macros::format_description;

/// A date as the admin area shows it: `2026-12-01 09:04 UTC`.
pub fn short(t: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| t.to_string())
}

#[derive(Template)]
#[template(path = "admin_login.html")]
pub struct LoginPage<'a> {
    pub csrf: &'a str,
    pub error: Option<String>,
}

/// One line of the readiness panel.
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// One tile of the campaign at a glance.
pub struct Tile {
    pub label: &'static str,
    pub value: String,
}

pub struct PrizeLine {
    pub name: String,
    pub file: String,
    pub won: u64,
    /// What is left, or "—" when the stock is unknown (unlimited prizes, or no stock known).
    pub stock_left: String,
}

#[derive(Template)]
#[template(path = "admin_overview.html")]
pub struct OverviewPage {
    pub csrf: String,
    pub tiles: Vec<Tile>,
    /// Why the lottery's figures are missing, when they are.
    pub report_error: Option<String>,
    /// Draws by state, every state the database holds.
    pub states: Vec<(String, u64)>,
    pub prizes: Vec<PrizeLine>,
    /// The chart, drawn here from numbers only.
    pub chart: String,
    pub backlog: Option<(u64, u64)>,
    pub checks: Vec<Check>,
    /// The campaign mailings' progress; `None` shows "No mailing yet".
    pub mailing: Option<String>,
}

/// The customer count tile: the number, or "N/A" with the reason.
fn count(result: &Result<u64, ServiceError>) -> String {
    match result {
        Ok(n) => n.to_string(),
        Err(e) => format!("N/A ({e})"),
    }
}

/// The states that count as played: every state but a draw in progress and a failed one.
fn played(report: &CampaignReport) -> u64 {
    report
        .states
        .iter()
        .filter(|(state, _)| !matches!(state.as_str(), "drawing" | "failed"))
        .map(|(_, n)| n)
        .sum()
}

impl OverviewPage {
    pub fn build(
        csrf: String,
        customers: &Result<u64, ServiceError>,
        report: &Result<CampaignReport, ServiceError>,
        checks: Vec<Check>,
    ) -> Self {
        let mut tiles = vec![Tile {
            label: "Customers",
            value: count(customers),
        }];
        let Ok(r) = report else {
            return Self {
                csrf,
                tiles,
                report_error: report.as_ref().err().map(ToString::to_string),
                states: Vec::new(),
                prizes: Vec::new(),
                chart: chart(&DrawPace::default()),
                backlog: None,
                checks,
                mailing: None,
            };
        };
        for (label, value) in [
            ("Played", played(r)),
            ("Won", r.count("won")),
            ("No prize", r.count("no_prize")),
            ("Drawing now", r.count("drawing")),
            ("Failed", r.count("failed")),
        ] {
            tiles.push(Tile {
                label,
                value: value.to_string(),
            });
        }
        Self {
            csrf,
            tiles,
            report_error: None,
            states: r.states.iter().map(|(s, n)| (s.clone(), *n)).collect(),
            prizes: r
                .prizes
                .iter()
                .map(|p| PrizeLine {
                    name: p.name.clone().unwrap_or_else(|| p.prize.display_name()),
                    file: p.prize.file().to_owned(),
                    won: p.won,
                    stock_left: match (p.stock_left, p.stock) {
                        (Some(left), Some(stock)) => format!("{left} of {stock}"),
                        (Some(left), None) => left.to_string(),
                        _ => "unlimited".to_owned(),
                    },
                })
                .collect(),
            chart: chart(&r.pace),
            backlog: Some((r.backlog.pending, r.backlog.delivered)),
            checks,
            mailing: mailing_line(&r.mailings),
        }
    }
}

/// One line per campaign mailing: what was sent, what waits for the next run, what never will.
fn mailing_line(mailings: &[cloudhp_core::MailingTally]) -> Option<String> {
    let lines: Vec<String> = mailings
        .iter()
        .map(|m| {
            format!(
                "{}: {} sent, {} to retry, {} refused for good, {} uncertain, {} in flight",
                m.campaign, m.sent, m.failed, m.rejected, m.uncertain, m.sending
            )
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("; "))
}

pub struct WinnerLine {
    pub id: u32,
    pub name: String,
    pub email: String,
    pub prize: String,
    pub requested_at: String,
    pub played_at: String,
}

#[derive(Template)]
#[template(path = "admin_winners.html")]
pub struct WinnersView {
    pub csrf: String,
    pub search: String,
    pub total: u64,
    pub pager: Pager,
    pub winners: Vec<WinnerLine>,
    pub error: Option<String>,
}

/// Where a paged list stands: this page of how many, and the links to its neighbours.
#[derive(Debug, PartialEq, Eq)]
pub struct Pager {
    pub page: u32,
    pub pages: u32,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// Page `page` of `pages`; `url` is the address of a page by its number.
    pub fn new(page: u32, pages: u32, url: impl Fn(u32) -> String) -> Self {
        Pager {
            previous: (page > 1).then(|| url(page - 1)),
            next: (page < pages).then(|| url(page + 1)),
            page,
            pages,
        }
    }

    /// A list that fits one page, or could not be read: no neighbours.
    pub fn single() -> Self {
        Pager::new(1, 1, |_| String::new())
    }
}

/// The URL of a page of the winners.
pub fn winners_url(search: &str, page: u32) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", search)
        .append_pair("page", &page.to_string())
        .finish();
    format!("/admin/winners?{query}")
}

impl WinnersView {
    pub fn build(csrf: String, search: String, found: Result<WinnersPage, ServiceError>) -> Self {
        match found {
            Ok(page) => Self {
                csrf,
                pager: Pager::new(page.page, page.pages(), |n| winners_url(&search, n)),
                search,
                total: page.total,
                winners: page
                    .winners
                    .iter()
                    .map(|w| WinnerLine {
                        id: w.customer.id.get(),
                        name: format!("{} {}", w.customer.firstname, w.customer.lastname),
                        email: w.customer.email.clone(),
                        prize: w
                            .prize_name
                            .clone()
                            .unwrap_or_else(|| w.prize.display_name()),
                        requested_at: short(w.requested_at),
                        played_at: short(w.played_at),
                    })
                    .collect(),
                error: None,
            },
            Err(e) => Self {
                csrf,
                search,
                total: 0,
                pager: Pager::single(),
                winners: Vec::new(),
                error: Some(e.to_string()),
            },
        }
    }
}

/// Width and height of the chart, in SVG units.
const CHART_W: f64 = 900.0;
const CHART_H: f64 = 220.0;
const PAD_LEFT: f64 = 48.0;
const PAD_BOTTOM: f64 = 28.0;

/// The draws per minute over the campaign, as an SVG bar chart: one bar per bucket, its height
/// the bucket's draws divided by its minutes. Only numbers and dates of ours go in it.
pub fn chart(pace: &DrawPace) -> String {
    let minutes = f64::from(pace.bucket_minutes.max(1));
    let rates: Vec<f64> = pace
        .buckets
        .iter()
        .map(|b| b.draws as f64 / minutes)
        .collect();
    let max = rates.iter().copied().fold(0.0_f64, f64::max);
    let mut svg = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {CHART_W} {CHART_H}\" \
         role=\"img\" aria-label=\"Draws per minute over the campaign\">"
    );
    let plot_w = CHART_W - PAD_LEFT - 8.0;
    let plot_h = CHART_H - PAD_BOTTOM - 12.0;
    let base = 12.0 + plot_h;
    svg.push_str(&format!(
        "<line x1=\"{PAD_LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#9aa1ab\"/>",
        CHART_W - 8.0
    ));
    if rates.is_empty() || max <= 0.0 {
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#5c6370\">No draw yet</text></svg>",
            CHART_W / 2.0,
            CHART_H / 2.0
        ));
        return svg;
    }
    let slot = plot_w / rates.len() as f64;
    let bar = (slot * 0.8).max(1.0);
    for (i, rate) in rates.iter().enumerate() {
        let h = rate / max * plot_h;
        let x = PAD_LEFT + i as f64 * slot + (slot - bar) / 2.0;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"#0b6bcb\">\
             <title>{}: {rate:.2} per minute</title></rect>",
            base - h,
            short(pace.buckets[i].start)
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{}\" y=\"20\" text-anchor=\"end\" font-size=\"12\" fill=\"#5c6370\">{max:.2}</text>\
         <text x=\"{}\" y=\"{base}\" text-anchor=\"end\" font-size=\"12\" fill=\"#5c6370\">0</text>",
        PAD_LEFT - 6.0,
        PAD_LEFT - 6.0
    ));
    let last = pace
        .buckets
        .last()
        .map(|b| short(b.start))
        .unwrap_or_default();
    svg.push_str(&format!(
        "<text x=\"{PAD_LEFT}\" y=\"{}\" font-size=\"12\" fill=\"#5c6370\">{}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\" fill=\"#5c6370\">{last}</text></svg>",
        CHART_H - 8.0,
        short(pace.buckets[0].start),
        CHART_W - 8.0,
        CHART_H - 8.0
    ));
    svg
}

/// The columns of the CSV export.
pub const CSV_HEADER: [&str; 8] = [
    "customer_id",
    "firstname",
    "lastname",
    "email",
    "prize",
    "prize_name",
    "requested_at",
    "played_at",
];

/// A cell a spreadsheet would not run as a formula: text starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading `'`.
pub fn safe_cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// CSV lines (RFC 4180 quoting) of `rows`.
pub fn csv_lines<'a, R>(rows: impl IntoIterator<Item = R>) -> Vec<u8>
where
    R: IntoIterator<Item = &'a str>,
{
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        let cells: Vec<std::borrow::Cow<'_, str>> = row.into_iter().map(safe_cell).collect();
        // Writing to memory cannot fail.
        let _ = out.write_record(cells.iter().map(|c| c.as_ref()));
    }
    out.into_inner().unwrap_or_default()
}

/// The CSV lines of `winners`.
pub fn winner_lines(winners: &[Winner]) -> Vec<u8> {
    let rows: Vec<[String; 8]> = winners
        .iter()
        .map(|w| {
            let rfc = |t: OffsetDateTime| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            };
            [
                w.customer.id.to_string(),
                w.customer.firstname.clone(),
                w.customer.lastname.clone(),
                w.customer.email.clone(),
                w.prize.file().to_owned(),
                w.prize_name
                    .clone()
                    .unwrap_or_else(|| w.prize.display_name()),
                rfc(w.requested_at),
                rfc(w.played_at),
            ]
        })
        .collect();
    csv_lines(rows.iter().map(|r| r.iter().map(String::as_str)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_links_to_the_neighbours_it_has() {
        let url = |n: u32| format!("/p{n}");
        let p = |page, pages| {
            let p = Pager::new(page, pages, url);
            (p.previous, p.next)
        };
        assert_eq!(p(1, 1), (None, None));
        assert_eq!(p(1, 3), (None, Some("/p2".into())));
        assert_eq!(p(2, 3), (Some("/p1".into()), Some("/p3".into())));
        assert_eq!(p(3, 3), (Some("/p2".into()), None));
        assert_eq!(
            Pager::single(),
            Pager {
                page: 1,
                pages: 1,
                previous: None,
                next: None
            }
        );
        // The search stays in the links, encoded.
        let found = Pager::new(2, 2, |n| winners_url("a b&c", n));
        assert_eq!(
            found.previous.as_deref(),
            Some("/admin/winners?q=a+b%26c&page=1")
        );
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        let lines = csv_lines([
            ["1", "a,b", "say \"hi\""],
            ["=SUM(A1)", "+1", "@x"],
            ["-2", "ok", "\tx"],
        ]);
        assert_eq!(
            String::from_utf8(lines).unwrap(),
            "1,\"a,b\",\"say \"\"hi\"\"\"\r\n'=SUM(A1),'+1,'@x\r\n'-2,ok,'\tx\r\n"
        );
    }

    #[test]
    fn an_empty_campaign_charts_no_draw() {
        let svg = chart(&DrawPace::default());
        assert!(
            svg.starts_with("<svg") && svg.contains("No draw yet"),
            "{svg}"
        );
    }
}
