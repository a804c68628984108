/// jemalloc instead of the system's allocator: glibc's keeps per-thread arenas that a burst of
/// draws (pictures, JSON, many tasks at once) grows and seldom returns to the system, so a
/// process stayed several times its idle size after a burst. jemalloc's background thread
/// returns the pages freed after a burst within seconds (its decay), without the allocator
/// being called again, and it allocates the small objects of the request path quickly.
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    cloudhp::cli::main()
}
