//! `cloudhp campaign send`: every customer's personal link, once per campaign, whatever kills
//! the command on the way; run as the real binary, against the spool and a real SMTP server.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use cloudhp_store::{MailingProgress, MailingState, demo_customer};
use cloudhp_testkit::{Refusal, SmtpMode, SmtpServer};

use crate::support::*;

const PUBLIC_URL: &str = "https://lottery.shop.example";
const CAMPAIGN: &str = "spring";

/// A sandbox whose campaign is `spring` of "La Boutique", links on [`PUBLIC_URL`], mailing at
/// `rate` per second; `extra` TOML after that.
fn sandbox(rate: u32, extra: &str) -> Sandbox {
    let base = format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n\
         [campaign]\nname = \"{CAMPAIGN}\"\nshop_name = \"La Boutique\"\n\
         [mailing]\nrate = {rate}\nconcurrency = 4\n"
    );
    Sandbox::new(&merge_toml(&base, extra))
}

fn seed(sandbox: &Sandbox, count: u32) {
    seed_customers(sandbox, &sandbox.data_dir(), count);
}

/// `cloudhp campaign send --data-dir <the sandbox's> EXTRA…`, started.
fn start_send(sandbox: &Sandbox, extra: &[&str], name: &str) -> Child {
    let log = |suffix: &str| {
        std::fs::File::create(sandbox.dir.path().join(format!("{name}.{suffix}"))).unwrap()
    };
    Command::new(env!("CARGO_BIN_EXE_cloudhp"))
        .env_clear()
        .env("CLOUDHP_CONFIG", &sandbox.config)
        .args(["campaign", "send", "--data-dir"])
        .arg(sandbox.data_dir())
        .args(extra)
        .stdin(Stdio::null())
        .stdout(log("out"))
        .stderr(log("err"))
        .spawn()
        .expect("start cloudhp campaign send")
}

/// What a finished run printed.
fn output_of(sandbox: &Sandbox, name: &str) -> (String, String) {
    let read = |suffix: &str| {
        std::fs::read_to_string(sandbox.dir.path().join(format!("{name}.{suffix}")))
            .unwrap_or_default()
    };
    (read("out"), read("err"))
}

/// Runs the command to its end: its exit status, standard output and standard error.
fn send(sandbox: &Sandbox, extra: &[&str], name: &str) -> (ExitStatus, String, String) {
    let status = start_send(sandbox, extra, name).wait().unwrap();
    let (out, err) = output_of(sandbox, name);
    (status, out, err)
}

/// Kills the run (SIGKILL: no clean-up of any kind) once `count()` reached `at`, and checks it
/// was still running then.
async fn kill_when(mut child: Child, what: &str, at: usize, count: impl Fn() -> usize) {
    let mut polls = 0u64;
    loop {
        if count() >= at {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the run ended ({status}) before {what} reached {at}: {}",
                count()
            );
        }
        polls += 1;
        assert!(polls < 60_000, "{what} stayed at {} (< {at})", count());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.code().is_none(),
        "killed mid-way, not ended: {status}"
    );
}

/// The campaign's files in the spool.
fn spooled(sandbox: &Sandbox) -> Vec<std::path::PathBuf> {
    sandbox
        .mails()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("campaign-{CAMPAIGN}-")))
        })
        .collect()
}

/// The text of a message's body, its transfer encoding undone.
fn body_of(message: &str) -> String {
    let (head, body) = message
        .split_once("\r\n\r\n")
        .or_else(|| message.split_once("\n\n"))
        .expect("a message has a head and a body");
    let encoding = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Transfer-Encoding:"))
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match encoding.as_str() {
        "quoted-printable" => {
            let joined = body.replace("=\r\n", "").replace("=\n", "");
            let bytes = joined.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'='
                    && let Some(hex) = joined.get(i + 1..i + 3)
                    && let Ok(b) = u8::from_str_radix(hex, 16)
                {
                    out.push(b);
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).expect("utf-8 body")
        }
        "base64" => {
            use base64::Engine;
            let compact: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("base64 body"),
            )
            .expect("utf-8 body")
        }
        _ => body.to_owned(),
    }
}

/// A header's value, its folded lines joined.
fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next().unwrap_or(message);
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
}

/// The customer a campaign message is for, from its Message-ID.
fn customer_of(message: &str) -> u32 {
    let id = header(message, "Message-ID").expect("a Message-ID");
    let id = id.as_str();
    let prefix = format!("<campaign-{CAMPAIGN}-");
    id.strip_prefix(&prefix)
        .and_then(|rest| rest.split('@').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a campaign Message-ID: {id}"))
}

/// Checks that `message` is customer `n`'s campaign mail: to their address, from the shop, with
/// their own link, whose signature the campaign's keys accept.
fn check_mail(message: &str, n: u32, links: &cloudhp::roles::web::Links) {
    let customer = demo_customer(id(n)).profile;
    let to = header(message, "To").expect("a To header");
    assert!(
        to.contains(&format!("<{}>", customer.email)),
        "{n}: To: {to}"
    );
    let body = body_of(message);
    assert!(body.contains("La Boutique"), "{n}: {body}");
    let start = body
        .find(&format!("{PUBLIC_URL}/index.html?"))
        .unwrap_or_else(|| panic!("{n}: no personal link in {body}"));
    let link = body[start..].split_whitespace().next().unwrap();
    let query = link.split_once('?').unwrap().1;
    let params: BTreeMap<&str, &str> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    assert_eq!(params.get("id"), Some(&n.to_string().as_str()), "{link}");
    links
        .check(id(n), params.get("t").copied())
        .unwrap_or_else(|e| panic!("{n}: the link {link} does not open: {e}"));
    assert_eq!(link, links.page_url(id(n)));
}

async fn progress(sandbox: &Sandbox) -> MailingProgress {
    sandbox.lottery().mailing_progress(CAMPAIGN).await.unwrap()
}

/// 20,000 customers, the run killed twice mid-way: exactly 20,000 mails in the spool, one per
/// customer, each with that customer's signed link; a run after that sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_twice_the_spool_still_holds_exactly_one_mail_per_customer() {
    const N: u32 = 20_000;
    // 5,000 a second: the run takes 4 s at least, so the kills land mid-way.
    let sandbox = sandbox(5000, "");
    seed(&sandbox, N);

    let count = || spooled(&sandbox).len();
    kill_when(start_send(&sandbox, &[], "run1"), "the spool", 5_000, count).await;
    let after_first = count();
    kill_when(
        start_send(&sandbox, &[], "run2"),
        "the spool",
        12_000,
        count,
    )
    .await;
    assert!(count() > after_first);
    let (status, out, err) = send(&sandbox, &[], "run3");
    assert!(status.success(), "{status}\n{out}\n{err}");
    assert!(
        out.contains(&format!("campaign {CAMPAIGN}: {N} customers selected")),
        "{out}"
    );

    let files = spooled(&sandbox);
    assert_eq!(files.len(), N as usize, "exactly one mail per customer");
    let links = sandbox.links(PUBLIC_URL);
    let mut seen = BTreeSet::new();
    for file in &files {
        let message = std::fs::read_to_string(file).unwrap();
        let n = customer_of(&message);
        assert_eq!(
            file.file_name().unwrap().to_str().unwrap(),
            format!("campaign-{CAMPAIGN}-{n}.eml")
        );
        check_mail(&message, n, &links);
        assert!(seen.insert(n));
    }
    assert_eq!(seen, (1..=N).collect::<BTreeSet<_>>());
    assert_eq!(
        progress(&sandbox).await,
        MailingProgress {
            sent: u64::from(N),
            ..MailingProgress::default()
        }
    );

    // Run again: everyone was mailed, nothing is sent.
    let (status, out, err) = send(&sandbox, &[], "run4");
    assert!(status.success(), "{status}\n{out}\n{err}");
    assert!(out.contains("sent           0"), "{out}");
    assert!(out.contains(&format!("already sent   {N}")), "{out}");
    assert_eq!(spooled(&sandbox).len(), N as usize);
}

/// On a real SMTP server, killed twice mid-way: no customer gets the campaign twice; the mails
/// a kill left in doubt are counted `uncertain`, not sent again, and sent on request; every
/// other customer gets exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_smtp_a_killed_run_never_mails_a_customer_twice_and_names_the_doubtful_ones() {
    const N: u32 = 20_000;
    let smtp = SmtpServer::start(SmtpMode::Plain, None);
    let sandbox = sandbox(
        2_000,
        &format!("[mail]\nurl = \"{}\"\n", plain_smtp_url(&smtp)),
    );
    seed(&sandbox, N);

    let count = || {
        std::fs::read_dir(&smtp.maildir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
            .count()
    };
    kill_when(
        start_send(&sandbox, &[], "run1"),
        "the SMTP server's messages",
        4_000,
        count,
    )
    .await;
    kill_when(
        start_send(&sandbox, &[], "run2"),
        "the SMTP server's messages",
        11_000,
        count,
    )
    .await;
    let (status, out, err) = send(&sandbox, &[], "run3");

    let received = |smtp: &SmtpServer| {
        let mut per_customer: BTreeMap<u32, u32> = BTreeMap::new();
        for message in smtp.messages() {
            *per_customer.entry(customer_of(&message)).or_default() += 1;
        }
        per_customer
    };
    let per_customer = received(&smtp);
    assert!(
        per_customer.values().all(|&n| n == 1),
        "a customer mailed twice: {:?}",
        per_customer
            .iter()
            .filter(|(_, n)| **n > 1)
            .collect::<Vec<_>>()
    );
    let lottery = sandbox.lottery();
    let mut uncertain = Vec::new();
    for n in 1..=N {
        let record = lottery
            .mailing_record(CAMPAIGN, id(n))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("customer {n} was never reached"));
        match record.state {
            MailingState::Sent => assert_eq!(per_customer.get(&n), Some(&1), "{n}"),
            MailingState::Uncertain => uncertain.push(n),
            other => panic!("customer {n} is {other}"),
        }
    }
    let p = progress(&sandbox).await;
    assert_eq!(p.sent + p.uncertain, u64::from(N), "{p:?}");
    assert_eq!(p.uncertain as usize, uncertain.len());
    // At most the mails in flight at each kill (mailing.concurrency = 4).
    assert!(uncertain.len() <= 8, "{uncertain:?}");
    if uncertain.is_empty() {
        assert!(status.success(), "{status}\n{out}\n{err}");
    } else {
        assert_eq!(status.code(), Some(3), "{out}\n{err}");
        assert!(out.contains("uncertain"), "{out}");
    }

    // Sent again on request: every customer has their mail; only the doubtful ones that the
    // relay had taken before the kill got it twice, and they are exactly counted.
    let had_one: Vec<u32> = uncertain
        .iter()
        .copied()
        .filter(|n| per_customer.contains_key(n))
        .collect();
    let (status, out, err) = send(&sandbox, &["--resend-uncertain"], "run4");
    assert!(status.success(), "{status}\n{out}\n{err}");
    let per_customer = received(&smtp);
    assert_eq!(per_customer.len(), N as usize);
    let total: u32 = per_customer.values().sum();
    assert_eq!(total as usize, N as usize + had_one.len());
    let links = sandbox.links(PUBLIC_URL);
    for message in smtp.messages() {
        check_mail(&message, customer_of(&message), &links);
    }
    assert_eq!(progress(&sandbox).await.sent, u64::from(N));
}

/// A 5xx refusal of a recipient is final (never tried again); a 4xx is retried by the next
/// run; the summary and the exit status say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_refusal_is_not_retried_and_a_transient_one_is() {
    let (refused, busy) = (
        demo_customer(id(3)).profile.email,
        demo_customer(id(5)).profile.email,
    );
    let smtp = SmtpServer::start_refusing(
        SmtpMode::Plain,
        None,
        &[
            Refusal {
                address: refused.clone(),
                code: 550,
                times: None,
            },
            Refusal {
                address: busy.clone(),
                code: 451,
                times: Some(1),
            },
        ],
    );
    let sandbox = sandbox(
        1000,
        &format!("[mail]\nurl = \"{}\"\n", plain_smtp_url(&smtp)),
    );
    seed(&sandbox, 10);

    let (status, out, err) = send(&sandbox, &[], "run1");
    assert_eq!(status.code(), Some(3), "{out}\n{err}");
    assert!(out.contains("1  SMTP 550: refused for good"), "{out}");
    assert!(out.contains("1  SMTP 451: refused for now"), "{out}");
    assert!(out.contains("retried by the next run"), "{out}");
    assert_eq!(smtp.messages().len(), 8);
    assert_eq!(
        progress(&sandbox).await,
        MailingProgress {
            sent: 8,
            failed: 1,
            rejected: 1,
            ..MailingProgress::default()
        }
    );
    let record = sandbox
        .lottery()
        .mailing_record(CAMPAIGN, id(3))
        .await
        .unwrap()
        .unwrap();
    assert!(record.last_error.unwrap().contains("550"));

    let (status, out, err) = send(&sandbox, &[], "run2");
    assert!(status.success(), "{status}\n{out}\n{err}");
    assert!(out.contains("sent           1"), "{out}");
    assert!(
        out.contains("refused for good by the relay in an earlier run"),
        "{out}"
    );
    let refusals = smtp.refusals();
    assert_eq!(
        refusals.get(&refused.to_lowercase()),
        Some(&1),
        "{refusals:?}"
    );
    assert_eq!(refusals.get(&busy.to_lowercase()), Some(&1), "{refusals:?}");
    let mailed: BTreeSet<u32> = smtp.messages().iter().map(|m| customer_of(m)).collect();
    assert_eq!(mailed, (1..=10).filter(|n| *n != 3).collect());
    assert_eq!(
        progress(&sandbox).await,
        MailingProgress {
            sent: 9,
            rejected: 1,
            ..MailingProgress::default()
        }
    );
}

/// The filters select in the shop database; deleted, inactive and unmailable customers are
/// skipped and counted; a dry run sends and records nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_select_skips_are_counted_and_a_dry_run_changes_nothing() {
    let sandbox = sandbox(1000, "");
    seed(&sandbox, 30);
    sandbox.delete_customer(2).await;
    sandbox.deactivate_customer(4).await;
    let mut broken = demo_customer(id(31));
    broken.profile.email = "not an address".into();
    sandbox.add_customer(broken).await;

    let (status, out, err) = send(&sandbox, &["--dry-run"], "dry");
    assert!(status.success(), "{status}\n{out}\n{err}");
    assert_says(
        &out,
        &[
            "campaign spring: 31 customers selected",
            "would send     28",
            "1  deleted customer",
            "1  inactive customer",
            "1  invalid e-mail address",
        ],
    );
    assert!(
        err.contains("Subject: La Boutique: your personal lottery link"),
        "{err}"
    );
    assert!(spooled(&sandbox).is_empty());
    // Nothing recorded: not even the mailing's table was created.
    let untouched = sandbox.lottery().mailing_progress(CAMPAIGN).await;
    assert!(untouched.unwrap_err().is_missing_table());

    // Customers 1 to 12 subscribed to the newsletter (every third one): 3, 6, 9, 12.
    let (status, out, err) = send(&sandbox, &["--id", "1-10,12", "--newsletter"], "some");
    assert!(status.success(), "{status}\n{out}\n{err}");
    assert!(out.contains("4 customers selected"), "{out}");
    let mut mailed: Vec<u32> = spooled(&sandbox)
        .iter()
        .map(|f| customer_of(&std::fs::read_to_string(f).unwrap()))
        .collect();
    mailed.sort();
    assert_eq!(mailed, [3, 6, 9, 12]);

    // Nobody was created after today.
    let (status, out, _) = send(&sandbox, &["--created-since", "2999-01-01"], "none");
    assert!(status.success());
    assert!(out.contains("0 customers selected"), "{out}");

    // Mistakes are usage errors, named.
    let (status, _, err) = send(&sandbox, &["--id", "9-2"], "bad");
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("9-2"), "{err}");
}

/// Without server.public_url the links would point at the listen address: refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_links_need_the_public_url() {
    let sandbox = Sandbox::new("");
    seed(&sandbox, 3);
    let (status, _, err) = send(&sandbox, &[], "run");
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("server.public_url"), "{err}");
    assert!(!Path::new(&sandbox.mail_dir()).exists() || sandbox.mails().is_empty());
}

/// The shop's own MariaDB table (another prefix) and a lottery database on MariaDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_of_a_mariadb_shop_are_mailed_once() {
    let shop = MysqlDatabase::create("shop_").await;
    let lottery = MysqlDatabase::create("lottery_").await;
    let sandbox = sandbox(
        1000,
        &format!(
            "[identity]\ndatabase = \"{}\"\ntable_prefix = \"ps2_\"\n\
             [lottery]\ndatabase = \"{}\"\n",
            shop.url(),
            lottery.url()
        ),
    );
    seed(&sandbox, 40);
    let (status, out, err) = send(&sandbox, &["--id", "1-25"], "run1");
    assert!(status.success(), "{status}\n{out}\n{err}");
    assert!(out.contains("25 customers selected"), "{out}");
    let (status, out, err) = send(&sandbox, &[], "run2");
    assert!(status.success(), "{status}\n{out}\n{err}");
    assert!(out.contains("sent           15"), "{out}");
    assert!(out.contains("already sent   25"), "{out}");
    let links = sandbox.links(PUBLIC_URL);
    let files = spooled(&sandbox);
    assert_eq!(files.len(), 40);
    for file in files {
        let message = std::fs::read_to_string(file).unwrap();
        check_mail(&message, customer_of(&message), &links);
    }
    let db = cloudhp_store::LotteryDb::connect_lazy(
        &lottery.url(),
        &cloudhp_store::PoolSettings::default(),
    )
    .unwrap();
    assert_eq!(db.mailing_progress(CAMPAIGN).await.unwrap().sent, 40);
    assert_eq!(db.mailing_campaigns().await.unwrap(), [CAMPAIGN]);
}

/// SIGTERM (or Ctrl-C) stops after the mails in flight: nothing is left half-sent, the
/// summary says it stopped, and the next run finishes the campaign.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_signal_finishes_the_mails_in_flight_and_the_next_run_resumes() {
    const N: u32 = 300;
    // 100 a second: 3 s at least, so the signal lands mid-way.
    let sandbox = sandbox(100, "");
    seed(&sandbox, N);
    let mut child = start_send(&sandbox, &[], "run1");
    let mut polls = 0;
    while spooled(&sandbox).len() < 50 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before the signal"
        );
        polls += 1;
        assert!(polls < 60_000);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    let (out, err) = output_of(&sandbox, "run1");
    assert_eq!(status.code(), Some(3), "{out}\n{err}");
    assert!(out.contains("stopped early: stopped by a signal"), "{out}");
    let p = progress(&sandbox).await;
    assert_eq!(p.sending, 0, "nothing left half-sent: {p:?}");
    assert!(p.sent < u64::from(N), "{p:?}");
    assert_eq!(spooled(&sandbox).len() as u64, p.sent);

    let (status, out, err) = send(&sandbox, &[], "run2");
    assert!(status.success(), "{status}\n{out}\n{err}");
    assert!(out.contains(&format!("already sent   {}", p.sent)), "{out}");
    assert_eq!(spooled(&sandbox).len(), N as usize);
}
