//! A burst of draws: every customer of a range presses Play at the same moment, then reloads
//! their page as the page itself does (every `web.refresh`) until it shows the result.

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::common::{self, Answers, Ids, Latency, Target, shows_na};
use crate::sample::{self, Sampler};

/// How a customer presses and watches: the page (its form posts to the page's URL and is
/// answered a redirect back to the page, which reloads itself) or the JSON API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    Page,
    Api,
}

/// A burst's options; the `burst` subcommand's flags.
#[derive(Clone, Debug, clap::Args)]
pub struct Options {
    /// Customer ids that have not played yet, as FIRST-LAST.
    #[arg(long)]
    pub customers: Ids,
    /// How often a customer's page reloads (the server's web.refresh).
    #[arg(long, default_value = "2s", value_parser = common::duration)]
    pub refresh: Duration,
    /// Press and reload through the page (form POST, redirect, HTML) or the JSON API.
    #[arg(long, value_enum, default_value_t = Via::Page)]
    pub via: Via,
    /// A customer without a result this long after the press is stuck.
    #[arg(long, default_value = "120s", value_parser = common::duration)]
    pub give_up: Duration,
    /// A press or reload without an answer this long has hung (`timeout`).
    #[arg(long, default_value = "10s", value_parser = common::duration)]
    pub hang: Duration,
    /// Server processes to sample (RSS before, peak, after; CPU per draw), PID[,PID..].
    #[arg(long = "sample-pid", value_name = "PID", value_delimiter = ',')]
    pub sample_pids: Vec<u32>,
    /// With --sample-pid: read RSS again this long after the last result.
    #[arg(long, value_parser = common::duration)]
    pub after: Option<Duration>,
    /// W's tempo in seconds: reports the bound tempo + N × CPU per draw / cores + 1 s.
    #[arg(long)]
    pub tempo: Option<f64>,
    /// Print only the summary lines.
    #[arg(skip)]
    pub quiet: bool,
}

/// How one customer's draw ended, as seen from their page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Won,
    NoPrize,
    /// The press was refused (its answer is in `presses`).
    Refused,
    /// Back to "not played" after the press: the draw failed.
    Failed,
    /// No result within `give_up`.
    Stuck,
}

pub struct Customer {
    id: u32,
    end: End,
    /// The wall-clock time of the press, to compare with the server's `played_at`.
    pressed_at: OffsetDateTime,
    /// Press to the first reload that showed the result.
    took: Duration,
    /// Press to the moment the server recorded the result (its `played_at`): what `took` is
    /// less the wait for the next reload. `None` when it could not be read.
    recorded: Option<Duration>,
    press: Duration,
    /// What the press was answered, when it was refused.
    refusal: Option<String>,
    reloads: Answers,
    na: u64,
}

pub struct Outcome {
    pub n: u32,
    pub presses: Answers,
    /// Press answer times.
    pub press_latency: Latency,
    pub reloads: Answers,
    pub na_pages: u64,
    pub won: u32,
    pub no_prize: u32,
    pub failed: u32,
    pub stuck: u32,
    pub refused: u32,
    /// Press to result, per customer with a result.
    pub latency: Latency,
    /// Until the last customer had their result (all ended, the stuck ones at `give_up`).
    pub last: Duration,
    /// Press to the server's record of each result (`played_at`), per customer with a result.
    pub recorded: Latency,
    /// Until the server recorded the last result read (see [`Outcome::last_recorded`]).
    latest_recorded: Duration,
    /// Results whose `played_at` could not be read.
    unread: u32,
    /// CPU seconds the sampled processes used from the press to the last result, per draw.
    pub cpu_per_draw: Option<f64>,
    pub bound: Option<f64>,
    pub rss_idle_mb: Option<f64>,
    pub rss_peak_mb: Option<f64>,
    pub rss_after_mb: Option<f64>,
    pub samples: Vec<sample::Sample>,
}

impl Outcome {
    /// Presses not accepted (anything but the expected 303 or 202), hung ones included.
    pub fn presses_refused(&self) -> u64 {
        self.presses.except(&["accepted"])
    }

    pub fn reloads_refused(&self) -> u64 {
        self.reloads.except(&["200"])
    }

    pub fn print(&self, name: &str) {
        println!(
            "{name}: {} presses: answers {} | press answered in ms: {}",
            self.n,
            self.presses,
            self.press_latency.line()
        );
        println!(
            "{name}: reloads {} | pages with an N/A panel: {}",
            self.reloads, self.na_pages
        );
        println!(
            "{name}: won {}, no prize {}, refused {}, failed {}, stuck {} | last result after {:.2} s | per customer {}",
            self.won,
            self.no_prize,
            self.refused,
            self.failed,
            self.stuck,
            self.last.as_secs_f64(),
            self.latency.line_s()
        );
        if self.unread > 0 {
            println!(
                "{name}: the server's played_at could not be read for {} results",
                self.unread
            );
        } else if let Some(last) = self.last_recorded() {
            println!(
                "{name}: results recorded by the server (played_at) | last after {:.2} s | per customer {}",
                last.as_secs_f64(),
                self.recorded.line_s()
            );
        }
        if let Some(cpu) = self.cpu_per_draw {
            let bound = match (self.bound, self.bound_met()) {
                (Some(b), Some(met)) => format!(
                    " | bound tempo + N × CPU / cores + 1 s = {b:.2} s: {}",
                    if met { "met" } else { "NOT met" }
                ),
                _ => String::new(),
            };
            println!("{name}: server CPU {:.2} ms per draw{bound}", cpu * 1000.0);
        }
        if let (Some(idle), Some(peak)) = (self.rss_idle_mb, self.rss_peak_mb) {
            let after = self
                .rss_after_mb
                .map(|a| format!(", after {a:.1}"))
                .unwrap_or_default();
            println!("{name}: server RSS MB: before {idle:.1}, peak {peak:.1}{after}");
        }
    }

    pub fn empty(n: u32) -> Self {
        Self {
            n,
            presses: Answers::default(),
            press_latency: Latency::default(),
            reloads: Answers::default(),
            na_pages: 0,
            won: 0,
            no_prize: 0,
            failed: 0,
            stuck: 0,
            refused: 0,
            latency: Latency::default(),
            last: Duration::ZERO,
            recorded: Latency::default(),
            latest_recorded: Duration::ZERO,
            unread: 0,
            cpu_per_draw: None,
            bound: None,
            rss_idle_mb: None,
            rss_peak_mb: None,
            rss_after_mb: None,
            samples: Vec::new(),
        }
    }

    /// Counts one customer's draw.
    pub fn tally(&mut self, c: Customer) {
        self.press_latency.record(c.press);
        self.reloads.add(&c.reloads);
        self.na_pages += c.na;
        self.last = self.last.max(c.took);
        match c.end {
            End::Refused => {
                self.refused += 1;
                self.presses
                    .other(c.refusal.as_deref().unwrap_or("refused"));
                return;
            }
            End::Won => self.won += 1,
            End::NoPrize => self.no_prize += 1,
            End::Failed => self.failed += 1,
            End::Stuck => self.stuck += 1,
        }
        self.presses.other("accepted");
        if matches!(c.end, End::Won | End::NoPrize) {
            self.latency.record(c.took);
            match c.recorded {
                Some(recorded) => {
                    self.recorded.record(recorded);
                    self.latest_recorded = self.latest_recorded.max(recorded);
                }
                None => self.unread += 1,
            }
        }
    }

    /// Until the server recorded the last result (`played_at`); `None` when there was no
    /// result, or when one's `played_at` could not be read.
    pub fn last_recorded(&self) -> Option<Duration> {
        (self.unread == 0 && self.recorded.count() > 0).then_some(self.latest_recorded)
    }

    /// Every draw ended well, the last result recorded within the bound: the server's record
    /// (`played_at`) when every one was read, else the last page that showed one.
    pub fn bound_met(&self) -> Option<bool> {
        let bound = self.bound?;
        let last = self.last_recorded().unwrap_or(self.last);
        Some(last.as_secs_f64() <= bound && self.all_ended_well())
    }

    pub fn all_ended_well(&self) -> bool {
        self.refused == 0 && self.failed == 0 && self.stuck == 0
    }
}

/// Whether a reload shows the result: the state of the page's status panel
/// (`<p class="state won">`) or the JSON's `status`.
fn state_of_page(html: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(html).ok()?;
    let start = text.find("class=\"state ")? + "class=\"state ".len();
    let end = text[start..].find('"')? + start;
    Some(&text[start..end])
}

async fn press(target: &Target, o: &Options, n: u32) -> Result<(), String> {
    let request = match o.via {
        Via::Page => target.http.post(target.page_url(n)),
        Via::Api => target.http.post(target.play_api_url(n)),
    };
    match request.timeout(o.hang).send().await {
        Err(e) if e.is_timeout() => Err("timeout".into()),
        Err(_) => Err("error".into()),
        Ok(r) => {
            let status = r.status().as_u16();
            match (o.via, status) {
                (Via::Page, 303) => {
                    let to = r
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    // Back to the page with a notice: the press was not taken.
                    match to.split_once("notice=") {
                        Some((_, notice)) => Err(format!("303 {notice}")),
                        None => Ok(()),
                    }
                }
                (Via::Api, 202) => Ok(()),
                _ => Err(status.to_string()),
            }
        }
    }
}

/// One reload: the state it shows (`None` when it shows none), counted in `c`.
async fn reload(target: &Target, o: &Options, n: u32, c: &mut Customer) -> Option<String> {
    let url = match o.via {
        Via::Page => target.page_url(n),
        Via::Api => target.api_url(n),
    };
    let r = match target.http.get(url).timeout(o.hang).send().await {
        Ok(r) => r,
        Err(e) => {
            c.reloads.failure(&e);
            return None;
        }
    };
    let status = r.status().as_u16();
    let body = match r.bytes().await {
        Ok(b) => b,
        Err(e) => {
            c.reloads.failure(&e);
            return None;
        }
    };
    c.reloads.status(status);
    if status != 200 {
        return None;
    }
    match o.via {
        Via::Page => {
            c.na += u64::from(shows_na(&body));
            state_of_page(&body).map(str::to_owned)
        }
        Via::Api => {
            let json: serde_json::Value = serde_json::from_slice(&body).ok()?;
            let unavailable = json["unavailable"]
                .as_object()
                .is_some_and(|m| !m.is_empty());
            c.na += u64::from(unavailable);
            // The page's names of the states.
            json["status"].as_str().map(|s| s.replace('_', "-"))
        }
    }
}

/// The server's `played_at` of a result, from the JSON API.
async fn played_at(target: &Target, n: u32) -> Option<OffsetDateTime> {
    let r = target
        .http
        .get(target.api_url(n))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    let json: serde_json::Value = r.json().await.ok()?;
    OffsetDateTime::parse(json["played_at"].as_str()?, &Rfc3339).ok()
}

/// From the press to the server's record of the result; zero when the record reads earlier
/// (the server's clock, when it runs elsewhere, may be behind this one's).
fn recorded_after(pressed_at: OffsetDateTime, played_at: OffsetDateTime) -> Duration {
    (played_at - pressed_at)
        .try_into()
        .unwrap_or(Duration::ZERO)
}

/// Reads when the server recorded each result (press to `played_at`), after the burst so that
/// these reads do not load it: a page shows a result only at its next reload, up to
/// `refresh` after it was recorded.
async fn read_recorded(target: &Target, ended: Vec<Customer>) -> Vec<Customer> {
    const AT_ONCE: usize = 64;
    let mut reads = tokio::task::JoinSet::new();
    let mut out = Vec::with_capacity(ended.len());
    for mut c in ended {
        if !matches!(c.end, End::Won | End::NoPrize) {
            out.push(c);
            continue;
        }
        while reads.len() >= AT_ONCE {
            if let Some(Ok(done)) = reads.join_next().await {
                out.push(done);
            }
        }
        let target = target.clone();
        reads.spawn(async move {
            c.recorded = played_at(&target, c.id)
                .await
                .map(|at| recorded_after(c.pressed_at, at));
            c
        });
    }
    while let Some(done) = reads.join_next().await {
        if let Ok(done) = done {
            out.push(done);
        }
    }
    out
}

/// One customer: waits for `at`, presses Play, reloads until the result.
pub async fn customer(target: Target, o: Options, n: u32, at: tokio::time::Instant) -> Customer {
    let mut c = Customer {
        id: n,
        end: End::Stuck,
        pressed_at: OffsetDateTime::now_utc(),
        took: Duration::ZERO,
        recorded: None,
        press: Duration::ZERO,
        refusal: None,
        reloads: Answers::default(),
        na: 0,
    };
    tokio::time::sleep_until(at).await;
    let t0 = Instant::now();
    c.pressed_at = OffsetDateTime::now_utc();
    let pressed = press(&target, &o, n).await;
    c.press = t0.elapsed();
    if let Err(kind) = pressed {
        c.end = End::Refused;
        c.refusal = Some(kind);
        return c;
    }
    // The browser follows the redirect at once, then the page reloads every refresh.
    loop {
        let state = reload(&target, &o, n, &mut c).await;
        match state.as_deref() {
            Some("won") => c.end = End::Won,
            Some("no-prize") => c.end = End::NoPrize,
            Some("not-played") => c.end = End::Failed,
            _ => {}
        }
        if c.end != End::Stuck {
            c.took = t0.elapsed();
            return c;
        }
        if t0.elapsed() >= o.give_up {
            c.took = t0.elapsed();
            return c;
        }
        tokio::time::sleep(o.refresh).await;
    }
}

pub async fn run(target: &Target, o: &Options) -> Outcome {
    let n = o.customers.len();
    let sampler = (!o.sample_pids.is_empty())
        .then(|| Sampler::start(o.sample_pids.clone(), Duration::from_millis(250)));
    let rss_idle = (!o.sample_pids.is_empty()).then(|| sample::rss_total_mb(&o.sample_pids));
    let cpu_before = sample::cpu_total(&o.sample_pids);
    // Every task is spawned and waiting before the moment of the press.
    let at = tokio::time::Instant::now() + Duration::from_millis(300 + u64::from(n / 20));
    let tasks: Vec<_> = o
        .customers
        .iter()
        .map(|id| tokio::spawn(customer(target.clone(), o.clone(), id, at)))
        .collect();
    let mut out = Outcome::empty(n);
    out.rss_idle_mb = rss_idle;
    let mut ended = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(c) = task.await {
            ended.push(c);
        }
    }
    // The CPU of the burst, before the reads of `played_at` below add their own.
    let cpu = sample::cpu_total(&o.sample_pids) - cpu_before;
    for c in read_recorded(target, ended).await {
        out.tally(c);
    }
    if let Some(sampler) = sampler {
        if let Some(after) = o.after {
            if !o.quiet {
                println!(
                    "(last result in; reading RSS again in {:.0} s)",
                    after.as_secs_f64()
                );
            }
            tokio::time::sleep(after).await;
            out.rss_after_mb = Some(sample::rss_total_mb(&o.sample_pids));
        }
        let press = at.into_std().saturating_duration_since(sampler.started);
        let samples = sampler.stop().await;
        // The draws' work ends with the last record: the reloads that only show the results
        // afterwards are not counted in it (the last reading at or before that moment).
        let cpu = out
            .last_recorded()
            .and_then(|last| sample::cpu_at(&samples, (press + last).as_secs_f64()))
            .map_or(cpu, |c| c - cpu_before);
        out.cpu_per_draw = Some(cpu / f64::from(n.max(1)));
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
        // tempo + N × (CPU per draw) / cores + 1 s
        out.bound = o.tempo.map(|tempo| tempo + cpu / cores + 1.0);
        out.rss_peak_mb = Some(sample::peak_mb(&samples, 0.0));
        out.samples = samples;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_of_a_page_is_read() {
        let html = br#"<section class="panel status" id="status"><h2>Status</h2>
    <p class="state no-prize">No prize this time</p>"#;
        assert_eq!(state_of_page(html), Some("no-prize"));
        assert_eq!(state_of_page(b"<p class=\"na\">N/A</p>"), None);
    }

    fn ended(end: End, shown_s: f64, recorded_s: Option<f64>) -> Customer {
        Customer {
            id: 1,
            end,
            pressed_at: OffsetDateTime::UNIX_EPOCH,
            took: Duration::from_secs_f64(shown_s),
            recorded: recorded_s.map(Duration::from_secs_f64),
            press: Duration::from_millis(1),
            refusal: None,
            reloads: Answers::default(),
            na: 0,
        }
    }

    #[test]
    fn the_bound_is_judged_on_the_servers_record_when_every_one_was_read() {
        let mut out = Outcome::empty(3);
        out.bound = Some(7.0);
        // Recorded at 6.2 s, shown by the next reload at 7.9 s: within the bound.
        out.tally(ended(End::Won, 7.9, Some(6.2)));
        out.tally(ended(End::NoPrize, 6.0, Some(5.9)));
        assert_eq!(out.last, Duration::from_secs_f64(7.9));
        assert_eq!(out.last_recorded(), Some(Duration::from_secs_f64(6.2)));
        assert_eq!(out.recorded.count(), 2);
        assert_eq!(out.bound_met(), Some(true));
        // A result whose record could not be read: the pages' time is all there is.
        out.tally(ended(End::Won, 6.5, None));
        assert_eq!(out.last_recorded(), None);
        assert_eq!(out.bound_met(), Some(false));
    }

    #[test]
    fn a_failed_or_refused_draw_never_meets_the_bound() {
        for end in [End::Failed, End::Stuck, End::Refused] {
            let mut out = Outcome::empty(2);
            out.bound = Some(7.0);
            out.tally(ended(End::Won, 6.0, Some(5.5)));
            out.tally(ended(end, 1.0, None));
            assert_eq!(out.bound_met(), Some(false), "{end:?}");
        }
        // No bound without the tempo.
        assert_eq!(Outcome::empty(1).bound_met(), None);
        // No result at all: no time of the last record either.
        assert_eq!(Outcome::empty(1).last_recorded(), None);
    }

    #[test]
    fn a_record_is_timed_from_the_press() {
        let pressed = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(100);
        let played = pressed + time::Duration::milliseconds(6_250);
        assert_eq!(
            recorded_after(pressed, played),
            Duration::from_millis(6_250)
        );
        // A server clock behind this one's reads as no time, not as a panic.
        assert_eq!(recorded_after(played, pressed), Duration::ZERO);
    }
}
