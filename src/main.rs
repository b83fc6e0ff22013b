//! The `ssollama` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    ssollama::cli::run(std::env::args_os())
}
