/// jemalloc instead of the system's allocator: glibc's keeps per-thread arenas that a burst of
/// draws (pictures, JSON, many tasks at once) grows and seldom returns to the system, so a
/// process stayed several times its idle size after a burst. jemalloc's background thread
/// returns the pages freed after a burst within seconds (its decay), without the allocator
/// being called again, and it allocates the small objects of the request path quickly.
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its start (`_RJEM_MALLOC_CONF` in the environment still
/// overrides them, key by key):
///
/// - Freed pages go back to the system after one second instead of ten, and at once rather
///   than through a second, "muzzy" stage. After a burst of 2,000 draws the process was back
///   at 46 MB a minute later instead of 53 to 85 MB, with the same page throughput.
/// - Two arenas instead of four per core that jemalloc sees (in a container, the host's
///   cores, not the container's share), and no thread cache for objects over 4 KB (the
///   buffers of connections, the tickets): each arena and each thread's cache keeps freed
///   memory of its own, and a burst touches dozens of threads (the blocking ones included).
///   The peak of a burst of 2,000 draws was 10 to 14 MB lower, with the same page throughput.
///   On a host whose cores all serve this process, more arenas may be worth it
///   (`_RJEM_MALLOC_CONF=narenas:N`).
///
/// Figures in `docs/performance.md`. A thin pointer to a C string, as jemalloc reads it.
#[cfg(unix)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 63] = b"dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2,tcache_max:4096\0";

fn main() -> std::process::ExitCode {
    one_arena_for_c();
    cloudhp::cli::main()
}

/// What C code allocates (SQLite above all) goes to glibc's allocator, not jemalloc. glibc
/// gives each thread that allocates at once its own arena, up to eight per core, and an arena
/// seldom returns memory: SQLite runs on a thread per pooled connection, each of which could
/// hold memory in an arena of its own. One arena holds the little SQLite allocates (its page
/// caches are bounded); over a 10-minute soak the process grew 2.3 MB after its first minute
/// instead of 3.9 (`docs/performance.md`). `MALLOC_ARENA_MAX` in the environment still
/// overrides it. Set first thing, so that the threads started later share the one arena.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_arena_for_c() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt sets a parameter of glibc's allocator under its own lock; it reads
        // and writes no memory of ours.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_arena_for_c() {}
