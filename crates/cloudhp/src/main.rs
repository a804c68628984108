fn main() -> std::process::ExitCode {
    cloudhp::cli::main()
}
