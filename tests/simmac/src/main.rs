//! The simulated Mac's multi-call binary: `simmac --state <mac-dir> <tool> [args…]`.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `ollama serve` is long-running and streams its own output: it bypasses the buffered
    // tool dispatch in `cli::main`.
    if let [flag, state, tool, rest @ ..] = args.as_slice()
        && flag == "--state"
        && tool == "ollama"
    {
        let state = std::path::Path::new(state);
        if rest.first().is_none_or(|verb| verb != "serve") {
            // Latency injection for every external call (benchmarks); a server is not a call.
            simmac::state::Mac::new(state).inject_delay("tool-delay-ms");
        }
        return simmac::ollama::run(state, rest);
    }
    simmac::cli::main()
}
