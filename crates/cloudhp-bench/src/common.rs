//! What every scenario shares: the id ranges, durations, the HTTP client, the customers'
//! URLs, latency histograms, counts of answers and the server's own counts (`/metrics`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use cloudhp_core::CustomerId;
use cloudhp_links::Links;
use cloudhp_links::keys::{KEY_FILE, load_or_create};
use hdrhistogram::Histogram;

/// An inclusive range of customer ids, written `FIRST-LAST` (or one id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids {
    pub first: u32,
    pub last: u32,
}

impl Ids {
    pub fn new(first: u32, last: u32) -> Self {
        Self { first, last }
    }

    pub fn len(&self) -> u32 {
        self.last - self.first + 1
    }

    /// The `i`-th id of a walk that visits the range spread out (a stride prime to most sizes).
    pub fn spread(&self, i: u64) -> u32 {
        self.first + ((i.wrapping_mul(7919)) % u64::from(self.len())) as u32
    }

    pub fn iter(&self) -> std::ops::RangeInclusive<u32> {
        self.first..=self.last
    }
}

impl std::str::FromStr for Ids {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Self> {
        let (a, b) = text.split_once('-').unwrap_or((text, text));
        let (a, b): (u32, u32) = (
            a.trim().parse().context("expected FIRST-LAST")?,
            b.trim().parse().context("expected FIRST-LAST")?,
        );
        if a == 0 || b < a {
            bail!("bad range {text}: expected FIRST-LAST with 1 <= FIRST <= LAST");
        }
        Ok(Self::new(a, b))
    }
}

impl std::fmt::Display for Ids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// A duration written `500ms`, `2s`, `1.5s`, `10m`, `1h` (a bare number is seconds).
pub fn duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .with_context(|| format!("bad duration `{text}` (e.g. 500ms, 2s, 10m)"))?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => bail!("bad duration unit `{other}` in `{text}` (ms, s, m, h)"),
    };
    if !seconds.is_finite() || seconds < 0.0 {
        bail!("bad duration `{text}`");
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The one HTTP client of a run: many connections (one per concurrent request, as that many
/// browsers would open), no redirects followed (a press answers one; the harness reads it).
pub fn client(ca_file: Option<&Path>, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    let mut http = reqwest::Client::builder()
        .pool_max_idle_per_host(100_000)
        .pool_idle_timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("{} is not a PEM certificate", path.display()))?;
        http = http.add_root_certificate(cert);
    }
    Ok(http.build()?)
}

/// The personal links of the campaign, signed with the data dir's key as the web role does.
pub fn links(data_dir: &Path, base: &str) -> anyhow::Result<Links> {
    let key_file = data_dir.join(KEY_FILE);
    if key_file.exists() {
        // The first key of the file signs, as in the web role.
        let keys = load_or_create(&key_file)?;
        Ok(Links::signed(&keys, base)?)
    } else {
        Ok(Links::open(base))
    }
}

/// A server under test, as its customers reach it.
#[derive(Clone)]
pub struct Target {
    pub http: reqwest::Client,
    pub base: String,
    pub links: Arc<Links>,
}

impl Target {
    pub fn new(http: reqwest::Client, base: &str, links: Links) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            links: Arc::new(links),
        }
    }

    fn id(n: u32) -> CustomerId {
        CustomerId::new(n).expect("ids start at 1")
    }

    /// The path of a customer's page (`/index.html?id=N&t=…`), also where Play posts.
    pub fn page_path(&self, n: u32) -> String {
        self.links.page_path(Self::id(n))
    }

    pub fn page_url(&self, n: u32) -> String {
        format!("{}{}", self.base, self.page_path(n))
    }

    fn token_query(&self, n: u32) -> String {
        self.links
            .token(Self::id(n))
            .map(|t| format!("?t={t}"))
            .unwrap_or_default()
    }

    /// The customer's JSON (`GET /api/v1/players/N?t=…`).
    pub fn api_url(&self, n: u32) -> String {
        format!("{}/api/v1/players/{n}{}", self.base, self.token_query(n))
    }

    /// The API's Play (`POST /api/v1/players/N/play?t=…`).
    pub fn play_api_url(&self, n: u32) -> String {
        format!(
            "{}/api/v1/players/{n}/play{}",
            self.base,
            self.token_query(n)
        )
    }
}

/// The marker of a panel the page could not fill ("N/A" and why): `templates/player.html`
/// writes every unavailable panel as `<p class="na">`.
pub const NA_MARKER: &str = "class=\"na\"";

/// Whether a page shows at least one "N/A" panel.
pub fn shows_na(html: &[u8]) -> bool {
    html.windows(NA_MARKER.len())
        .any(|w| w == NA_MARKER.as_bytes())
}

/// Sums the samples of a Prometheus metric whose labels contain each of `labels`
/// (`status="503"`).
pub fn metric_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The text of the server's `/metrics`; `None` when it could not be read (an answer other
/// than 200 is no reading: its page would sum to 0).
pub async fn metrics(http: &reqwest::Client, ops: &str) -> Option<String> {
    let r = http
        .get(format!("{}/metrics", ops.trim_end_matches('/')))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?;
    r.text().await.ok()
}

/// Latencies, in microseconds.
#[derive(Clone)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Self(Histogram::new(3).expect("3 significant figures"))
    }
}

impl Latency {
    pub fn record(&mut self, d: Duration) {
        // The histogram grows as needed (`saturating_record` would clamp to its initial bound).
        let _ = self.0.record(d.as_micros().max(1) as u64);
    }

    pub fn add(&mut self, other: &Latency) {
        self.0.add(&other.0).expect("same bounds");
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The `q` quantile in milliseconds (0 when empty).
    pub fn ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.0.max() as f64 / 1000.0
    }

    pub fn mean_ms(&self) -> f64 {
        self.0.mean() / 1000.0
    }

    /// `mean 1.23, p50 1.00, p90 2.00, p99 3.00, max 4.00` (ms).
    pub fn line(&self) -> String {
        format!(
            "mean {:.2}, p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2}",
            self.mean_ms(),
            self.ms(0.5),
            self.ms(0.9),
            self.ms(0.99),
            self.max_ms()
        )
    }

    /// The same in seconds, for draws.
    pub fn line_s(&self) -> String {
        format!(
            "p50 {:.2} s, p90 {:.2} s, p99 {:.2} s, max {:.2} s",
            self.ms(0.5) / 1000.0,
            self.ms(0.9) / 1000.0,
            self.ms(0.99) / 1000.0,
            self.max_ms() / 1000.0
        )
    }
}

/// How many answers of each kind: a status code, `timeout` (no answer in time) or `error`
/// (the connection failed).
#[derive(Clone, Default, Debug)]
pub struct Answers(pub BTreeMap<String, u64>);

impl Answers {
    pub fn status(&mut self, code: u16) {
        *self.0.entry(code.to_string()).or_default() += 1;
    }

    pub fn other(&mut self, kind: &str) {
        *self.0.entry(kind.to_owned()).or_default() += 1;
    }

    /// Counts a failed request as `timeout` or `error`.
    pub fn failure(&mut self, e: &reqwest::Error) {
        self.other(if e.is_timeout() { "timeout" } else { "error" });
    }

    pub fn add(&mut self, other: &Answers) {
        for (k, v) in &other.0 {
            *self.0.entry(k.clone()).or_default() += v;
        }
    }

    pub fn get(&self, kind: &str) -> u64 {
        self.0.get(kind).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Answers other than the ones expected.
    pub fn except(&self, expected: &[&str]) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| !expected.contains(&k.as_str()))
            .map(|(_, v)| v)
            .sum()
    }
}

impl std::fmt::Display for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return write!(f, "none");
        }
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        write!(f, "{}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_summed_by_label() {
        let text = "# TYPE cloudhp_http_requests_total counter
cloudhp_http_requests_total{method=\"GET\",route=\"/index.html\",status=\"200\"} 10
cloudhp_http_requests_total{method=\"GET\",route=\"/index.html\",status=\"503\"} 3
cloudhp_http_requests_total{method=\"POST\",route=\"/index.html\",status=\"503\"} 2
cloudhp_http_requests_total_other 99
";
        assert_eq!(
            metric_sum(text, "cloudhp_http_requests_total", &["status=\"503\""]),
            5.0
        );
        assert_eq!(metric_sum(text, "cloudhp_http_requests_total", &[]), 15.0);
    }

    #[test]
    fn ranges_and_durations_parse() {
        assert_eq!("3-7".parse::<Ids>().unwrap(), Ids::new(3, 7));
        assert_eq!("5".parse::<Ids>().unwrap(), Ids::new(5, 5));
        assert!("0-3".parse::<Ids>().is_err());
        assert!("7-3".parse::<Ids>().is_err());
        assert_eq!(duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(duration("10m").unwrap(), Duration::from_secs(600));
        assert!(duration("3 parsecs").is_err());
    }

    #[test]
    fn the_na_marker_is_found() {
        assert!(shows_na(b"<section><p class=\"na\">N/A</p></section>"));
        assert!(!shows_na(b"<p class=\"state won\">You won</p>"));
    }

    #[test]
    fn spread_stays_in_range() {
        let ids = Ids::new(10, 19);
        let seen: std::collections::BTreeSet<u32> = (0..10).map(|i| ids.spread(i)).collect();
        assert_eq!(seen.len(), 10);
        assert!(seen.iter().all(|n| (10..=19).contains(n)));
    }
}
