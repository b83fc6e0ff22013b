//! The `ssollama` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    ssollama::run(std::env::args_os())
}
