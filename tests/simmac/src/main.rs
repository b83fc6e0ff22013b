//! The simulated Mac's multi-call binary: `simmac --state <mac-dir> <tool> [args…]`.

fn main() -> std::process::ExitCode {
    simmac::cli::main()
}
