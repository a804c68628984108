//! Resident memory and CPU of processes, read from `/proc` (Linux) at a fixed interval.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

/// One reading of one process.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Seconds since the sampler started.
    pub t: f64,
    pub pid: u32,
    pub rss_kb: u64,
    /// CPU seconds (user + system) since the process started.
    pub cpu_s: f64,
    /// CPU used since the previous reading, in % of one core.
    pub cpu_pct: f64,
}

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`; 100 on Linux in practice).
fn ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// `VmRSS` of a process in kB, and its CPU seconds; `None` once it is gone.
pub fn read(pid: u32) -> Option<(u64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some((rss_kb, cpu_seconds(&stat)?))
}

/// utime + stime of a `/proc/PID/stat` line, in seconds. The command name (field 2) is in
/// parentheses and may hold spaces: fields are counted after its closing one.
fn cpu_seconds(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks_per_second())
}

/// The command name of a process (`/proc/PID/comm`).
pub fn name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into())
}

/// CPU seconds used so far by these processes together.
pub fn cpu_total(pids: &[u32]) -> f64 {
    pids.iter()
        .filter_map(|p| read(*p))
        .map(|(_, cpu)| cpu)
        .sum()
}

/// RSS of these processes together, in MB.
pub fn rss_total_mb(pids: &[u32]) -> f64 {
    pids.iter()
        .filter_map(|p| read(*p))
        .map(|(rss, _)| rss as f64 / 1024.0)
        .sum()
}

/// Samples processes in the background until stopped.
pub struct Sampler {
    /// What the samples' `t` counts from.
    pub started: Instant,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    pub fn start(pids: Vec<u32>, every: Duration) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let into = samples.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let mut last: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => return,
                }
                let t = started.elapsed().as_secs_f64();
                let mut batch = Vec::new();
                for &pid in &pids {
                    let Some((rss_kb, cpu_s)) = read(pid) else {
                        continue;
                    };
                    let cpu_pct = match last.get(&pid) {
                        Some(&(t0, c0)) if t > t0 => (cpu_s - c0) / (t - t0) * 100.0,
                        _ => 0.0,
                    };
                    last.insert(pid, (t, cpu_s));
                    batch.push(Sample {
                        t,
                        pid,
                        rss_kb,
                        cpu_s,
                        cpu_pct,
                    });
                }
                into.lock().unwrap().extend(batch);
            }
        });
        Self {
            started,
            samples,
            stop,
            task,
        }
    }

    pub async fn stop(self) -> Vec<Sample> {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        Arc::try_unwrap(self.samples)
            .map(|m| m.into_inner().unwrap())
            .unwrap_or_else(|m| m.lock().unwrap().clone())
    }
}

/// The highest RSS (all processes together, in MB) among samples taken from `t` on.
pub fn peak_mb(samples: &[Sample], from_t: f64) -> f64 {
    let mut by_time: BTreeMap<u64, f64> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.t >= from_t) {
        *by_time.entry((s.t * 1000.0) as u64).or_default() += s.rss_kb as f64 / 1024.0;
    }
    by_time.values().copied().fold(0.0, f64::max)
}

/// The CPU seconds of all the sampled processes together as last read at or before `t`;
/// `None` when a process had no reading by then.
pub fn cpu_at(samples: &[Sample], t: f64) -> Option<f64> {
    let mut last: BTreeMap<u32, f64> = BTreeMap::new();
    let mut pids = std::collections::BTreeSet::new();
    for s in samples {
        pids.insert(s.pid);
        if s.t <= t {
            last.insert(s.pid, s.cpu_s);
        }
    }
    (last.len() == pids.len() && !pids.is_empty()).then(|| last.values().sum())
}

/// Writes `t_s,pid,name,rss_kb,cpu_pct,cpu_s` lines.
pub fn write_csv(path: &Path, samples: &[Sample]) -> anyhow::Result<()> {
    let mut names = BTreeMap::new();
    let mut out = String::from("t_s,pid,name,rss_kb,cpu_pct,cpu_s\n");
    for s in samples {
        let name = names.entry(s.pid).or_insert_with(|| name(s.pid));
        let _ = writeln!(
            out,
            "{:.2},{},{},{},{:.1},{:.2}",
            s.t, s.pid, name, s.rss_kb, s.cpu_pct, s.cpu_s
        );
    }
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}

/// Per process: RSS first, min, max and last (MB), and its mean CPU (% of one core).
pub fn summary(samples: &[Sample]) -> String {
    let mut by_pid: BTreeMap<u32, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        by_pid.entry(s.pid).or_default().push(s);
    }
    let mut out = String::new();
    for (pid, list) in by_pid {
        let mb = |s: &Sample| s.rss_kb as f64 / 1024.0;
        let (first, last) = (list[0], list[list.len() - 1]);
        let min = list.iter().map(|s| mb(s)).fold(f64::MAX, f64::min);
        let max = list.iter().map(|s| mb(s)).fold(0.0, f64::max);
        let span = last.t - first.t;
        let cpu = if span > 0.0 {
            (last.cpu_s - first.cpu_s) / span * 100.0
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "pid {pid} ({}): RSS MB first {:.1}, min {:.1}, max {:.1}, last {:.1} | CPU mean {:.0} % of a core over {:.0} s",
            name(pid),
            mb(first),
            min,
            max,
            mb(last),
            cpu,
            span
        );
    }
    out
}

/// The RSS curve of all processes together, one line per `step` seconds (for a report).
pub fn curve(samples: &[Sample], step: f64) -> String {
    let mut by_time: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for s in samples {
        let e = by_time.entry((s.t * 1000.0) as u64).or_default();
        e.0 += s.rss_kb as f64 / 1024.0;
        e.1 += s.cpu_pct;
    }
    let mut out = String::new();
    let mut next = 0.0;
    for (ms, (rss, cpu)) in by_time {
        let t = ms as f64 / 1000.0;
        if t + 1e-9 >= next {
            let _ = writeln!(out, "  t {t:>6.0} s  RSS {rss:>7.1} MB  CPU {cpu:>4.0} %");
            next = t + step;
        }
    }
    out
}

/// `cloudhp-bench sample`: samples until the duration is over or Ctrl-C.
pub async fn run(
    pids: Vec<u32>,
    every: Duration,
    duration: Option<Duration>,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    for &pid in &pids {
        if read(pid).is_none() {
            anyhow::bail!("no process {pid} (or /proc/{pid} unreadable)");
        }
    }
    let sampler = Sampler::start(pids, every);
    match duration {
        Some(d) => tokio::select! {
            () = tokio::time::sleep(d) => {}
            _ = tokio::signal::ctrl_c() => {}
        },
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    let samples = sampler.stop().await;
    print!("{}", summary(&samples));
    if let Some(path) = out {
        write_csv(path, &samples)?;
        println!("wrote {} readings to {}", samples.len(), path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_read_after_the_command_name() {
        let stat = "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0";
        let ticks = ticks_per_second();
        assert!((cpu_seconds(stat).unwrap() - 300.0 / ticks).abs() < 1e-9);
    }

    #[test]
    fn cpu_at_a_moment_is_each_process_last_reading_by_then() {
        let at = |t: f64, pid: u32, cpu_s: f64| Sample {
            t,
            pid,
            rss_kb: 1,
            cpu_s,
            cpu_pct: 0.0,
        };
        let samples = [
            at(0.0, 1, 10.0),
            at(0.0, 2, 20.0),
            at(0.25, 1, 10.5),
            at(0.25, 2, 20.25),
            at(0.5, 1, 11.0),
            at(0.5, 2, 21.0),
        ];
        // Between two readings: the earlier one, never one taken after the moment.
        assert_eq!(cpu_at(&samples, 0.4), Some(10.5 + 20.25));
        assert_eq!(cpu_at(&samples, 0.5), Some(11.0 + 21.0));
        assert_eq!(cpu_at(&samples, 9.0), Some(11.0 + 21.0));
        // Before a process was first read there is nothing to tell.
        assert_eq!(cpu_at(&samples[1..], 0.1), None);
        assert_eq!(cpu_at(&[], 1.0), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let (rss, _cpu) = read(std::process::id()).unwrap();
        assert!(rss > 0);
    }
}
