//! `cloudhp campaign send`: mails every selected customer of the shop database their personal
//! link, once per campaign, through the configured mail transport.
//!
//! Exactly once, across kills and re-runs: before a mail is handed over its row of `mailing`
//! (lottery database) becomes `sending`; once the transport answers it becomes `sent`,
//! `failed` (retried by the next run) or `rejected` (a 5xx: never retried). A run that finds a
//! `sending` row knows an earlier run stopped in the middle of that send:
//!
//! - with the spool transport the mail's file is named after the campaign and the customer, so
//!   sending it again rewrites the same file: the row is simply sent again (exactly once);
//! - with SMTP the relay may or may not have taken the mail, and nothing on our side can tell:
//!   the row becomes `uncertain` and is **not** sent again (at most once: no customer gets the
//!   campaign twice), the summary counts it, and `--resend-uncertain` sends those rows again
//!   once the operator chose to (after checking the relay's log, say).

mod template;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use cloudhp_core::CustomerId;
use cloudhp_links::Links;
use cloudhp_mail::{Address, MailError, Mailbox, OutgoingMail, Transport, TransportOptions};
use cloudhp_store::{
    CustomerDb, CustomerSelection, LotteryDb, MailingCustomer, MailingRecord, MailingState, Pool,
    PoolSettings, StoreError, TablePrefix,
};
use futures::StreamExt;
use time::{Date, OffsetDateTime};

use crate::config::{Admission, Config};
use crate::telemetry::chain;

pub use template::{MailVars, Rendered, TemplateError, Templates};

/// Customers read from the shop database at a time.
const PAGE: u32 = 500;
/// Transport failures in a row (not refusals of one recipient) after which the run stops: the
/// relay is down or the spool unwritable, and every further customer would fail the same way.
const MAX_FAILURES_IN_A_ROW: u32 = 10;
/// Exit status when some mails could not be sent (failed, refused or uncertain).
pub const EXIT_NOT_ALL_SENT: u8 = 3;

/// What `cloudhp campaign send` was asked to do.
#[derive(Clone, Debug)]
pub struct SendOptions {
    pub selection: CustomerSelection,
    /// Skip inactive customers even when `identity.inactive = "include"`.
    pub active_only: bool,
    /// Messages per second.
    pub rate: f64,
    pub dry_run: bool,
    /// Send again the mails a stopped run left uncertain (SMTP).
    pub resend_uncertain: bool,
}

/// Parses `--id` values: ids and ranges (`7`, `10-20`), comma-separated or repeated.
pub fn parse_ids(values: &[String]) -> Result<Vec<(CustomerId, CustomerId)>, String> {
    let mut ranges = Vec::new();
    for item in values.iter().flat_map(|v| v.split(',')) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let id =
            |s: &str| CustomerId::parse(s.trim()).map_err(|e| format!("`{item}` in --id: {e}"));
        let range = match item.split_once('-') {
            Some((from, to)) => (id(from)?, id(to)?),
            None => (id(item)?, id(item)?),
        };
        if range.0 > range.1 {
            return Err(format!("`{item}` in --id: the range ends before it starts"));
        }
        ranges.push(range);
    }
    if ranges.len() > 1000 {
        return Err("--id: 1000 ids or ranges at most; give ranges (10-2000)".into());
    }
    Ok(ranges)
}

/// Parses `--created-since`: a day, `YYYY-MM-DD`.
pub fn parse_day(value: &str) -> Result<Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value.trim(), format)
        .map_err(|e| format!("`{value}` is not a day as YYYY-MM-DD ({e})"))
}

/// Why a selected customer gets no mail from this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    Deleted,
    Inactive,
    Guest,
    InvalidEmail,
    /// Refused for good by the relay in an earlier run.
    RejectedEarlier,
    /// An earlier run stopped between handing it to the relay and recording the answer.
    Uncertain,
    /// Another run of the same campaign began this customer's mail first.
    OtherRun,
}

impl Skip {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Deleted => "deleted customer",
            Self::Inactive => "inactive customer",
            Self::Guest => "guest account",
            Self::InvalidEmail => "invalid e-mail address",
            Self::RejectedEarlier => "refused for good by the relay in an earlier run",
            Self::Uncertain => {
                "uncertain: an earlier run stopped while the relay had it (--resend-uncertain)"
            }
            Self::OtherRun => "being sent by another run of this campaign",
        }
    }

    /// Whether the customer still waits for their mail (the exit status says so).
    fn leaves_work(self) -> bool {
        matches!(self, Self::Uncertain | Self::OtherRun)
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Customers the selection matched (deleted ones included).
    pub selected: u64,
    /// Mails handed over by this run (with `--dry-run`: that would be).
    pub sent: u64,
    /// Customers mailed by an earlier run.
    pub already_sent: u64,
    pub skipped: BTreeMap<Skip, u64>,
    /// Failures of this run that the next run retries, by reason.
    pub failed: BTreeMap<String, u64>,
    /// Permanent refusals of this run (never retried), by reason.
    pub rejected: BTreeMap<String, u64>,
    /// The run was stopped (a signal, or the transport failing again and again).
    pub interrupted: Option<String>,
}

impl Summary {
    /// True when every selected customer who can be mailed has been.
    pub fn all_sent(&self) -> bool {
        self.failed.is_empty()
            && self.rejected.is_empty()
            && self.interrupted.is_none()
            && !self.skipped.keys().any(|s| s.leaves_work())
    }

    /// The lines printed at the end of a run.
    pub fn lines(&self, campaign: &str, dry_run: bool) -> Vec<String> {
        let total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
        let mut out = vec![format!(
            "campaign {campaign}: {} customers selected",
            self.selected
        )];
        let verb = if dry_run { "would send" } else { "sent" };
        out.push(format!("  {verb:<14} {}", self.sent));
        out.push(format!("  {:<14} {}", "already sent", self.already_sent));
        out.push(format!(
            "  {:<14} {}",
            "skipped",
            self.skipped.values().sum::<u64>()
        ));
        for (skip, n) in &self.skipped {
            out.push(format!("    {n:>8}  {}", skip.describe()));
        }
        for (label, reasons) in [("failed", &self.failed), ("refused", &self.rejected)] {
            out.push(format!("  {label:<14} {}", total(reasons)));
            for (reason, n) in reasons {
                out.push(format!("    {n:>8}  {reason}"));
            }
        }
        if !self.failed.is_empty() {
            out.push("  (failed mails are retried by the next run of the same command)".into());
        }
        if let Some(why) = &self.interrupted {
            out.push(format!(
                "  stopped early: {why}; run the same command again to resume"
            ));
        }
        out
    }
}

/// What one delivery came to.
enum Outcome {
    Sent,
    /// Not begun: the run is stopping.
    NotStarted,
    Skipped(Skip),
    /// Retried by the next run; `transport` when the transport itself failed (not one
    /// recipient).
    Failed {
        reason: String,
        transport: bool,
    },
    Rejected(String),
}

/// One customer to mail, and the row of `mailing` it had when read.
struct Job {
    customer: MailingCustomer,
    to: Mailbox,
    record: Option<MailingRecord>,
}

/// Everything a delivery needs, shared by the deliveries in flight.
struct Sender {
    campaign: String,
    shop_name: String,
    from: Mailbox,
    links: Links,
    templates: Templates,
    transport: Arc<dyn Transport>,
    timeout: Duration,
    lottery: LotteryDb,
    limiter: governor::DefaultDirectRateLimiter,
    /// Deliveries in flight at once.
    concurrency: usize,
    stop: Arc<AtomicBool>,
}

impl Sender {
    fn mail(&self, job: &Job) -> Result<OutgoingMail, anyhow::Error> {
        let c = &job.customer.record.customer;
        let vars = MailVars {
            shop_name: self.shop_name.clone(),
            campaign: self.campaign.clone(),
            customer_id: c.id.get(),
            firstname: cloudhp_mail::one_line(&c.firstname),
            lastname: cloudhp_mail::one_line(&c.lastname),
            email: job.to.email.to_string(),
            link: self.links.page_url(c.id),
        };
        let Rendered { subject, body } = self.templates.render(language(&job.customer), &vars)?;
        let key = mail_key(&self.campaign, c.id);
        Ok(cloudhp_mail::customer_mail(
            &self.from,
            job.to.clone(),
            key,
            &subject,
            body,
        )?)
    }

    /// Begins the attempt (compare and set on the row as read), hands the mail over, and
    /// records the answer.
    async fn deliver(&self, job: Job) -> anyhow::Result<Outcome> {
        if self.stop.load(Ordering::SeqCst) {
            return Ok(Outcome::NotStarted);
        }
        self.limiter.until_ready().await;
        if self.stop.load(Ordering::SeqCst) {
            return Ok(Outcome::NotStarted);
        }
        let id = job.customer.record.customer.id;
        let mail = self.mail(&job)?;
        let now = OffsetDateTime::now_utc();
        let Some(attempt) = self
            .lottery
            .mailing_begin(&self.campaign, id, job.record.as_ref(), now)
            .await
            .context("cannot record the mailing's progress")?
        else {
            return Ok(Outcome::Skipped(Skip::OtherRun));
        };
        let result = cloudhp_mail::send_within(self.transport.as_ref(), &mail, self.timeout).await;
        let (state, error, outcome) = match result {
            Ok(()) => (MailingState::Sent, None, Outcome::Sent),
            Err(e) => {
                let detail = chain(&e);
                let reason = reason(&e);
                tracing::warn!(customer = %id, error = %detail, "campaign mail not sent");
                if e.is_permanent() {
                    (
                        MailingState::Rejected,
                        Some(detail),
                        Outcome::Rejected(reason),
                    )
                } else {
                    let transport = e.smtp_code().is_none();
                    (
                        MailingState::Failed,
                        Some(detail),
                        Outcome::Failed { reason, transport },
                    )
                }
            }
        };
        let settled = self
            .lottery
            .mailing_settle(
                &self.campaign,
                id,
                MailingState::Sending,
                attempt,
                state,
                error.as_deref(),
                OffsetDateTime::now_utc(),
            )
            .await
            .context("cannot record the mailing's progress")?;
        if !settled {
            tracing::warn!(customer = %id, "the mailing row changed during the send");
        }
        Ok(outcome)
    }
}

/// The spool's file name and the Message-ID's left part of a customer's campaign mail.
pub fn mail_key(campaign: &str, id: CustomerId) -> String {
    format!("campaign-{campaign}-{id}")
}

/// The language of a customer's mail: their shop account's (PrestaShop's `id_lang`, through
/// `<prefix>lang`), else the default; a language without a template falls back to the default.
fn language(customer: &MailingCustomer) -> &str {
    customer
        .record
        .customer
        .language
        .as_deref()
        .unwrap_or(template::DEFAULT_LANGUAGE)
}

/// A short reason for the summary's counts (the full chain goes to the log and to
/// `mailing.last_error`).
fn reason(e: &MailError) -> String {
    match e.smtp_code() {
        Some(code) if e.is_permanent() => format!("SMTP {code}: refused for good"),
        Some(code) => format!("SMTP {code}: refused for now"),
        None => e.to_string(),
    }
}

/// The address of a customer, or why it cannot be mailed.
fn mailbox(customer: &MailingCustomer) -> Option<Mailbox> {
    let c = &customer.record.customer;
    let address: Address = c.email.trim().parse().ok()?;
    let name = cloudhp_mail::one_line(&format!("{} {}", c.firstname, c.lastname));
    let name = name.trim();
    Some(Mailbox::new(
        (!name.is_empty()).then(|| name.to_owned()),
        address,
    ))
}

/// The progress display: a bar with an ETA on a terminal, a log line now and then otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    done: u64,
    last_log: Instant,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{wide_bar} {pos}/{len} {per_sec} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Self {
            bar,
            total,
            done: 0,
            last_log: Instant::now(),
        }
    }

    fn step(&mut self, summary: &Summary) {
        self.done += 1;
        match &self.bar {
            Some(bar) => {
                bar.set_position(self.done);
                bar.set_message(format!("sent {}", summary.sent));
            }
            None => {
                if self.last_log.elapsed() >= Duration::from_secs(10) {
                    self.last_log = Instant::now();
                    tracing::info!(
                        done = self.done,
                        total = self.total,
                        sent = summary.sent,
                        "campaign mailing in progress"
                    );
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Runs the mailing; prints nothing but the dry run's sample (the caller prints the summary).
/// `stop`: set to stop after the mails in flight (a signal).
pub async fn send(
    config: &Config,
    options: &SendOptions,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Summary> {
    config.campaign.validate_names()?;
    config.mailing.validate()?;
    crate::config::check_rate("--rate", options.rate)?;
    let campaign = config.campaign.name.clone();
    if config.server.public_url.is_empty() {
        let message = format!(
            "server.public_url is not set: the links would point at http://{}, which customers \
             cannot open; set it to the web role's public address (https://lottery.shop.example)",
            config.server.listen
        );
        if !options.dry_run {
            anyhow::bail!(message);
        }
        eprintln!("warning: {message}");
    }
    let links = crate::cli::links_of(config)?;
    let templates = Templates::load(
        (!config.mailing.templates_dir.as_os_str().is_empty())
            .then_some(config.mailing.templates_dir.as_path()),
    )?;
    let from: Mailbox = config.mail.from.parse().map_err(|e| {
        anyhow::anyhow!(
            "invalid configuration key `mail.from`: `{}`: {e}",
            config.mail.from
        )
    })?;
    let mail_url = config.mail_url();
    let spool = mail_url.starts_with("file://") || !mail_url.contains("://");

    let customers_pool = Pool::connect_lazy(
        &config.identity_url(),
        &PoolSettings {
            max_connections: 2,
            acquire_timeout: config.identity.acquire_timeout.max(Duration::from_secs(3)),
            read_only: !config.embedded_customers(),
        },
    )
    .context("invalid identity.database")?;
    let customers = CustomerDb::new(
        customers_pool.clone(),
        TablePrefix::parse(&config.identity.table_prefix)?,
    );
    let lottery_pool = Pool::connect_lazy(
        &config.lottery_url(),
        &PoolSettings {
            max_connections: config.mailing.concurrency + 1,
            acquire_timeout: config.lottery.acquire_timeout,
            read_only: false,
        },
    )
    .context("invalid lottery.database")?;
    let lottery = LotteryDb::from_pool(lottery_pool.clone());

    let result = async {
        if !options.dry_run {
            cloudhp_store::retry_while_unavailable("lottery database", 15, || lottery.migrate())
                .await
                .context("cannot prepare the lottery database schema")?;
        }
        let transport: Arc<dyn Transport> = if options.dry_run {
            Arc::new(DryRun)
        } else {
            let transport_options = TransportOptions {
                tls_ca_file: (!config.mail.tls_ca_file.as_os_str().is_empty())
                    .then(|| config.mail.tls_ca_file.clone()),
                timeout: config.mail.timeout,
            };
            cloudhp_mail::transport_from_url(&mail_url, &transport_options)
                .context("cannot open the mail transport (mail.url)")?
                .into()
        };
        let rate = NonZeroU32::new(options.rate.ceil() as u32).unwrap_or(NonZeroU32::MIN);
        let quota = governor::Quota::with_period(Duration::from_secs_f64(1.0 / options.rate))
            .unwrap_or_else(|| governor::Quota::per_second(rate))
            .allow_burst(NonZeroU32::MIN);
        let sender = Sender {
            campaign: campaign.clone(),
            shop_name: config.campaign.shop_name.clone(),
            from,
            links,
            templates,
            transport,
            timeout: config.mail.timeout,
            lottery: lottery.clone(),
            limiter: governor::RateLimiter::direct(quota),
            concurrency: usize::try_from(config.mailing.concurrency).unwrap_or(1),
            stop,
        };
        let policy = Policy {
            inactive: options.active_only || config.identity.inactive == Admission::Exclude,
            guests: config.identity.guests == Admission::Exclude,
            spool,
            resend_uncertain: options.resend_uncertain,
        };
        run(
            &sender,
            &customers,
            &options.selection,
            options.dry_run,
            &policy,
        )
        .await
    }
    .await;
    customers_pool.close().await;
    lottery_pool.close().await;
    result
}

/// Which customers are left out, and what a `sending` row means.
struct Policy {
    inactive: bool,
    guests: bool,
    /// Sending again rewrites the same spool file.
    spool: bool,
    resend_uncertain: bool,
}

async fn run(
    sender: &Sender,
    customers: &CustomerDb,
    selection: &CustomerSelection,
    dry_run: bool,
    policy: &Policy,
) -> anyhow::Result<Summary> {
    let campaign = &sender.campaign;
    let selected = cloudhp_store::retry_while_unavailable("customer database", 15, || {
        customers.count_selected(selection)
    })
    .await
    .with_context(|| format!("cannot read the customer table {}", customers.table()))?;
    let mut summary = Summary {
        selected,
        ..Summary::default()
    };
    let mut progress = Progress::new(selected);
    let mut after = None;
    let mut failures_in_a_row = 0;
    let mut sample_shown = false;
    loop {
        if sender.stop.load(Ordering::SeqCst) {
            summary
                .interrupted
                .get_or_insert_with(|| "stopped by a signal".into());
            break;
        }
        let page = customers
            .select_page(selection, after, PAGE)
            .await
            .with_context(|| format!("cannot read the customer table {}", customers.table()))?;
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            break;
        };
        after = Some(last.record.customer.id);
        let mut records = match sender
            .lottery
            .mailing_records(campaign, first.record.customer.id, last.record.customer.id)
            .await
        {
            Ok(records) => records,
            // A dry run on a lottery database that never mailed: nothing recorded yet.
            Err(e) if dry_run && e.is_missing_table() => Default::default(),
            Err(e) => return Err(e).context("cannot read the mailing's progress"),
        };
        let mut jobs = Vec::new();
        for customer in page {
            let record = records.remove(&customer.record.customer.id);
            match triage(sender, customer, record, policy, dry_run).await? {
                Triage::Skip(skip) => {
                    *summary.skipped.entry(skip).or_default() += 1;
                    progress.step(&summary);
                }
                Triage::AlreadySent => {
                    summary.already_sent += 1;
                    progress.step(&summary);
                }
                Triage::Send(job) => {
                    if dry_run {
                        if !sample_shown {
                            sample_shown = true;
                            show_sample(sender, &job)?;
                        }
                        summary.sent += 1;
                        progress.step(&summary);
                    } else {
                        jobs.push(*job);
                    }
                }
            }
        }
        let mut deliveries = futures::stream::iter(jobs)
            .map(|job| sender.deliver(job))
            .buffer_unordered(sender.concurrency);
        while let Some(outcome) = deliveries.next().await {
            match outcome? {
                Outcome::Sent => {
                    failures_in_a_row = 0;
                    summary.sent += 1;
                }
                Outcome::NotStarted => continue,
                Outcome::Skipped(skip) => *summary.skipped.entry(skip).or_default() += 1,
                Outcome::Failed { reason, transport } => {
                    *summary.failed.entry(reason.clone()).or_default() += 1;
                    if transport {
                        failures_in_a_row += 1;
                        if failures_in_a_row >= MAX_FAILURES_IN_A_ROW {
                            sender.stop.store(true, Ordering::SeqCst);
                            summary.interrupted = Some(format!(
                                "the mail transport failed {failures_in_a_row} times in a row \
                                 ({reason}; {})",
                                sender.transport.describe()
                            ));
                        }
                    }
                }
                Outcome::Rejected(reason) => {
                    failures_in_a_row = 0;
                    *summary.rejected.entry(reason).or_default() += 1;
                }
            }
            progress.step(&summary);
        }
    }
    progress.finish();
    Ok(summary)
}

enum Triage {
    Skip(Skip),
    AlreadySent,
    Send(Box<Job>),
}

/// What to do with one selected customer, given their row of `mailing`.
async fn triage(
    sender: &Sender,
    customer: MailingCustomer,
    record: Option<MailingRecord>,
    policy: &Policy,
    dry_run: bool,
) -> Result<Triage, StoreError> {
    if customer.deleted {
        return Ok(Triage::Skip(Skip::Deleted));
    }
    if policy.inactive && !customer.record.active {
        return Ok(Triage::Skip(Skip::Inactive));
    }
    if policy.guests && customer.record.is_guest {
        return Ok(Triage::Skip(Skip::Guest));
    }
    let Some(to) = mailbox(&customer) else {
        return Ok(Triage::Skip(Skip::InvalidEmail));
    };
    let id = customer.record.customer.id;
    let record = match record.as_ref().map(|r| r.state) {
        None | Some(MailingState::Failed) => record,
        Some(MailingState::Sent) => return Ok(Triage::AlreadySent),
        Some(MailingState::Rejected) => return Ok(Triage::Skip(Skip::RejectedEarlier)),
        Some(MailingState::Uncertain) if !policy.resend_uncertain => {
            return Ok(Triage::Skip(Skip::Uncertain));
        }
        Some(MailingState::Uncertain) => record,
        // An earlier run stopped during this send: the spool rewrites the same file, so it is
        // sent again; an SMTP relay may have taken it, so it is not (at most once).
        Some(MailingState::Sending) if policy.spool || policy.resend_uncertain => record,
        Some(MailingState::Sending) => {
            if !dry_run && let Some(r) = &record {
                sender
                    .lottery
                    .mailing_settle(
                        &sender.campaign,
                        id,
                        MailingState::Sending,
                        r.attempts,
                        MailingState::Uncertain,
                        Some("the run stopped while the relay had the mail"),
                        OffsetDateTime::now_utc(),
                    )
                    .await?;
            }
            return Ok(Triage::Skip(Skip::Uncertain));
        }
    };
    Ok(Triage::Send(Box::new(Job {
        customer,
        to,
        record,
    })))
}

/// The dry run shows the first mail it would send.
fn show_sample(sender: &Sender, job: &Job) -> anyhow::Result<()> {
    let mail = sender.mail(job)?;
    let text = String::from_utf8_lossy(&mail.formatted()).into_owned();
    eprintln!("The first mail would be:\n\n{text}\n");
    Ok(())
}

/// The transport of a dry run: takes nothing anywhere.
struct DryRun;

#[async_trait::async_trait]
impl Transport for DryRun {
    async fn send(&self, _: &OutgoingMail) -> Result<(), MailError> {
        Ok(())
    }
    async fn ready(&self) -> Result<(), MailError> {
        Ok(())
    }
    fn describe(&self) -> String {
        "dry run".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_ranges_parse() {
        let id = |n| CustomerId::new(n).unwrap();
        let ranges = parse_ids(&["7, 10-20".into(), "3".into()]).unwrap();
        assert_eq!(
            ranges,
            vec![(id(7), id(7)), (id(10), id(20)), (id(3), id(3))]
        );
        assert!(parse_ids(&["20-10".into()]).unwrap_err().contains("20-10"));
        assert!(parse_ids(&["x".into()]).unwrap_err().contains("`x`"));
        assert!(parse_ids(&["0".into()]).is_err());
        assert_eq!(parse_ids(&[]).unwrap(), vec![]);
    }

    #[test]
    fn days_parse() {
        assert_eq!(
            parse_day("2026-11-01").unwrap(),
            time::macros::date!(2026 - 11 - 01)
        );
        assert!(parse_day("01/11/2026").unwrap_err().contains("YYYY-MM-DD"));
    }

    #[test]
    fn the_summary_says_what_is_left() {
        let mut s = Summary {
            selected: 10,
            sent: 7,
            ..Summary::default()
        };
        s.skipped.insert(Skip::Deleted, 1);
        s.skipped.insert(Skip::InvalidEmail, 2);
        assert!(s.all_sent());
        let text = s.lines("spring", false).join("\n");
        assert!(
            text.contains("campaign spring: 10 customers selected"),
            "{text}"
        );
        assert!(text.contains("2  invalid e-mail address"), "{text}");
        s.failed.insert("SMTP 451: refused for now".into(), 1);
        assert!(!s.all_sent());
        let text = s.lines("spring", false).join("\n");
        assert!(text.contains("1  SMTP 451: refused for now"), "{text}");
        assert!(text.contains("retried by the next run"), "{text}");
    }
}
