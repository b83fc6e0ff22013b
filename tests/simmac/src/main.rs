//! The simulated Mac's multi-call binary: `simmac --state <mac-dir> <tool> [args…]`.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `ollama serve` is long-running and streams its own output: it bypasses the buffered
    // tool dispatch in `cli::main`.
    if let [flag, state, tool, rest @ ..] = args.as_slice()
        && flag == "--state"
        && tool == "ollama"
    {
        return simmac::ollama::run(std::path::Path::new(state), rest);
    }
    simmac::cli::main()
}
