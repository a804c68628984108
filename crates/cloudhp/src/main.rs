/// jemalloc instead of the system's allocator: glibc's keeps per-thread arenas that a burst of
/// draws (pictures, JSON, many tasks at once) grows and seldom returns to the system, so a
/// process stayed several times its idle size after a burst. jemalloc's background thread
/// returns the pages freed after a burst within seconds (its decay), without the allocator
/// being called again, and it allocates the small objects of the request path quickly.
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its start (`_RJEM_MALLOC_CONF` in the environment still
/// overrides them): freed pages go back to the system after one second instead of ten, and
/// at once rather than through a second, "muzzy" stage. After a burst of 2,000 draws the
/// process was back at 46 MB a minute later instead of 53 to 85 MB, with the same page
/// throughput (`docs/performance.md`). A thin pointer to a C string, as jemalloc reads it.
#[cfg(unix)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 37] = b"dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> std::process::ExitCode {
    cloudhp::cli::main()
}
