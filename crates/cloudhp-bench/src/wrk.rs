//! Pages measured with wrk (https://github.com/wg/wrk; Debian's package `wrk`): a Lua script
//! rotates over the signed page paths of a range of customers; the same run measures the
//! server's bare `/healthz`, the ceiling of any page on this machine.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::common::{Ids, Target};

#[derive(Clone, Debug)]
pub struct Options {
    pub threads: u32,
    pub connections: u32,
    pub duration: Duration,
}

#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub requests: u64,
    /// "Non-2xx or 3xx responses".
    pub non_2xx: u64,
    /// connect + read + write + timeout.
    pub socket_errors: u64,
}

impl Outcome {
    pub fn print(&self, name: &str) {
        println!(
            "{name}: {:.0} requests/s ({} in all) | latency ms: p50 {:.2}, p99 {:.2}, max {:.2} | non-2xx/3xx {}, socket errors {}",
            self.requests_per_s,
            self.requests,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.non_2xx,
            self.socket_errors
        );
    }
}

/// The Lua script rotating over `paths`, each wrk thread from its own place in the list.
pub fn script(paths: &[String]) -> String {
    let mut s = String::from("local paths = {\n");
    for p in paths {
        // Paths are ASCII, url-safe: no quote or backslash to escape.
        let _ = writeln!(s, "  \"{p}\",");
    }
    s.push_str(
        r#"}
local i = 0
local thread_count = 0
function setup(thread)
  thread:set("offset", thread_count * 7919)
  thread_count = thread_count + 1
end
function init(args)
  i = (offset or 0) % #paths
end
function request()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
"#,
    );
    s
}

/// A wrk duration of milliseconds: `850.00us`, `12.34ms`, `1.02s`, `2.00m`.
fn millis(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        "h" => n * 3_600_000.0,
        _ => return None,
    })
}

/// Reads what `wrk --latency` prints.
pub fn parse(output: &str) -> anyhow::Result<Outcome> {
    let mut o = Outcome::default();
    let mut seen_rate = false;
    for line in output.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", rate] => {
                o.requests_per_s = rate.parse().context("Requests/sec")?;
                seen_rate = true;
            }
            ["50%", v] => o.p50_ms = millis(v).context("50%")?,
            ["99%", v] => o.p99_ms = millis(v).context("99%")?,
            ["Latency", _avg, _stdev, max, _] => o.max_ms = millis(max).unwrap_or(0.0),
            [n, "requests", "in", ..] => o.requests = n.parse().unwrap_or(0),
            ["Non-2xx", "or", "3xx", "responses:", n] => o.non_2xx = n.parse().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                o.socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    if !seen_rate {
        bail!("no Requests/sec in wrk's output:\n{output}");
    }
    Ok(o)
}

/// Runs wrk against `path` (one path), or rotating over the pages of `ids`.
pub async fn run(
    target: &Target,
    ids: Option<Ids>,
    path: &str,
    o: &Options,
) -> anyhow::Result<Outcome> {
    let script_file = std::env::temp_dir().join(format!(
        "cloudhp-bench-{}-{}.lua",
        std::process::id(),
        ids.map_or_else(|| "single".to_owned(), |i| i.to_string())
    ));
    let mut args = vec![
        format!("-t{}", o.threads),
        format!("-c{}", o.connections),
        format!("-d{}s", o.duration.as_secs().max(1)),
        "--latency".to_owned(),
    ];
    if let Some(ids) = ids {
        let paths: Vec<String> = ids.iter().map(|n| target.page_path(n)).collect();
        std::fs::write(&script_file, script(&paths))
            .with_context(|| format!("cannot write {}", script_file.display()))?;
        args.push("-s".into());
        args.push(script_file.display().to_string());
    }
    args.push(format!("{}{path}", target.base));
    let output = tokio::process::Command::new("wrk")
        .args(&args)
        .kill_on_drop(true)
        .output()
        .await;
    let _ = std::fs::remove_file(&script_file);
    let output = match output {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "wrk is not installed (it is needed for this measurement): install it, e.g. \
             `apt-get install wrk` on Debian or Ubuntu, or build it from https://github.com/wg/wrk"
        ),
        Err(e) => return Err(e).context("cannot run wrk"),
    };
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk {} failed ({}):\n{text}{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&text)
}

/// Checks that wrk can be run at all, before a long run needs it.
pub fn check_installed() -> anyhow::Result<()> {
    match std::process::Command::new("wrk").arg("--version").output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "wrk is not installed (it is needed for the page figures): install it, e.g. \
             `apt-get install wrk` on Debian or Ubuntu, or build it from https://github.com/wg/wrk"
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 10s test @ http://127.0.0.1:18181/healthz
  2 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.03ms    1.12ms  31.48ms   87.06%
    Req/Sec    12.56k     1.07k   14.45k    71.00%
  Latency Distribution
     50%    3.86ms
     75%    4.31ms
     90%    5.02ms
     99%  850.00us
  249962 requests in 10.01s, 35.52MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:  24980.61
Transfer/sec:      3.55MB
";

    #[test]
    fn wrk_output_is_read() {
        let o = parse(OUTPUT).unwrap();
        assert!((o.requests_per_s - 24980.61).abs() < 1e-6);
        assert!((o.p50_ms - 3.86).abs() < 1e-9);
        assert!((o.p99_ms - 0.85).abs() < 1e-9);
        assert!((o.max_ms - 31.48).abs() < 1e-9);
        assert_eq!(o.requests, 249962);
        assert_eq!(o.non_2xx, 7);
        assert_eq!(o.socket_errors, 5);
        assert!(parse("nothing").is_err());
    }

    #[test]
    fn the_script_lists_every_path() {
        let s = script(&["/index.html?id=1&t=a".into(), "/index.html?id=2&t=b".into()]);
        assert!(s.contains("\"/index.html?id=2&t=b\","));
        assert!(s.contains("wrk.format(\"GET\", paths[i])"));
    }
}
