//! Time of one ticket: renders tickets of the demo catalog and prints the CPU time per ticket.
//!
//! `cargo bench -p cloudhp-worker --bench render [-- TICKETS [ROUNDS]]` (defaults 500 and 7);
//! prints each round's milliseconds per ticket and their median. Single-threaded; besides the
//! wall-clock time it prints the thread's CPU time (Linux, from `/proc/thread-self/schedstat`),
//! which other load on the machine does not inflate.

use std::hint::black_box;
use std::time::Instant;

/// CPU time this thread has run, in nanoseconds, where the system tells it.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; skip flags.
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let tickets: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let catalog = cloudhp_worker::Catalog::demo();
    let prizes = catalog.prizes();
    assert!(!prizes.is_empty(), "the demo catalog is empty");

    // Warm-up: a few tickets of every prize.
    for (i, prize) in prizes.iter().enumerate().cycle().take(4 * prizes.len()) {
        black_box(cloudhp_worker::render_ticket(&prize.image, &i.to_string()).unwrap());
    }

    let (w, h) = (prizes[0].image.width(), prizes[0].image.height());
    let mut wall = Vec::with_capacity(rounds);
    let mut cpu = Vec::with_capacity(rounds);
    let mut bytes = 0usize;
    for round in 0..rounds {
        let cpu_start = thread_cpu_ns();
        let start = Instant::now();
        for i in 0..tickets {
            let prize = &prizes[i % prizes.len()];
            let id = (1_000_000 + i).to_string();
            let jpeg = cloudhp_worker::render_ticket(&prize.image, &id).unwrap();
            bytes += jpeg.len();
            black_box(jpeg);
        }
        let ms = start.elapsed().as_secs_f64() * 1e3 / tickets as f64;
        let cpu_ms = cpu_start
            .zip(thread_cpu_ns())
            .map(|(a, b)| (b - a) as f64 / 1e6 / tickets as f64);
        match cpu_ms {
            Some(c) => println!("round {}: {ms:.3} ms per ticket ({c:.3} ms CPU)", round + 1),
            None => println!("round {}: {ms:.3} ms per ticket", round + 1),
        }
        wall.push(ms);
        cpu.extend(cpu_ms);
    }
    println!(
        "{tickets} tickets × {rounds} rounds, {w}×{h} prizes ({} of them), {:.1} KiB per ticket",
        prizes.len(),
        bytes as f64 / (tickets * rounds) as f64 / 1024.0
    );
    print!("median: {:.3} ms per ticket", median(wall));
    if cpu.len() == rounds {
        print!(" ({:.3} ms CPU)", median(cpu));
    }
    println!();

    // A prize's first ticket, which encodes the whole picture (later ones reuse its top).
    let firsts = (tickets / 10).max(prizes.len());
    let cpu_start = thread_cpu_ns();
    let start = Instant::now();
    for i in 0..firsts {
        let template = cloudhp_worker::TicketTemplate::new(&prizes[i % prizes.len()].image);
        black_box(template.unwrap().render(&i.to_string()));
    }
    let ms = start.elapsed().as_secs_f64() * 1e3 / firsts as f64;
    print!("a prize's first ticket: {ms:.3} ms");
    if let Some((a, b)) = cpu_start.zip(thread_cpu_ns()) {
        print!(" ({:.3} ms CPU)", (b - a) as f64 / 1e6 / firsts as f64);
    }
    println!();
}
