//! The small fakes: `sudo`, `sw_vers`, `sysctl`, `ping`, `osascript`, `brew`, and the tool-dir wrapper
//! scripts (`<sandbox>/bin/<tool>`).
//!
//! `ping` never sends a packet: it answers from `machine.json` `reachable` (and 127.0.0.0/8).

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use crate::cli::{self, Ctx, Outcome};
use crate::state::{self, SudoPolicy};

/// The version the fake `brew install ollama` claims to install.
pub const OLLAMA_VERSION: &str = "0.5.7";

/// Homebrew's refusal to run as root (real text, `tests/fixtures/macos/brew/install-as-root.stderr`).
pub const BREW_ROOT_ERROR: &str = "Error: Running Homebrew as root is extremely dangerous and no longer supported.\n\
As Homebrew does not drop privileges on installation you would be giving all\n\
build scripts full access to your system.\n";

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The `#!/bin/sh` wrapper that makes `<bin>/<tool>` run `simmac --state <state> <tool>`.
pub fn wrapper_script(simmac: &Path, state: &Path, tool: &str) -> String {
    format!(
        "#!/bin/sh\nexec {} --state {} {tool} \"$@\"\n",
        shell_quote(&simmac.display().to_string()),
        shell_quote(&state.display().to_string()),
    )
}

/// Writes the executable wrapper `<bin>/<tool>`.
pub fn write_wrapper(bin: &Path, simmac: &Path, state: &Path, tool: &str) -> std::io::Result<()> {
    let path = bin.join(tool);
    state::write_atomic(&path, wrapper_script(simmac, state, tool).as_bytes())?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
}

/// Runs `sudo [-n] [-u user] <command> args…`: fakes run in-process as root; other programs
/// run with the elevation marker in their environment.
pub fn sudo(ctx: &Ctx, args: &[String]) -> Outcome {
    let mut non_interactive = false;
    // `-u USER` (or `-u #UID`): the command runs as that user, not as root.
    let mut as_user: Option<&str> = None;
    let mut rest = args;
    while let Some((first, tail)) = rest.split_first() {
        match first.as_str() {
            "-n" => non_interactive = true,
            "-u" | "-g" => {
                if first == "-u" {
                    as_user = tail.first().map(String::as_str);
                }
                rest = tail.get(1..).unwrap_or_default();
                continue;
            }
            "--" => {
                rest = tail;
                break;
            }
            flag if flag.starts_with('-') => {
                if flag.contains('n') {
                    non_interactive = true;
                }
            }
            _ => break,
        }
        rest = tail;
    }
    let Some((program, program_args)) = rest.split_first() else {
        return Outcome::err(
            1,
            "usage: sudo -h | -K | -k | -V\nusage: sudo [-AbEHknPS] [-u user] command [arg ...]\n",
        );
    };
    if ctx.machine.sudo == SudoPolicy::Refuse {
        let text = if non_interactive {
            "sudo: a password is required\n"
        } else {
            "sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required\n"
        };
        return Outcome::err(1, text);
    }
    let elevated = as_user.is_none_or(|u| matches!(u, "root" | "#0" | "0"));
    let name = program.rsplit('/').next().unwrap_or(program);
    if cli::TOOLS.contains(&name) {
        let root = Ctx {
            mac: ctx.mac.clone(),
            machine: ctx.machine.clone(),
            elevated,
        };
        let inner = cli::call(&root, name, program_args);
        return Outcome {
            mutating: false,
            ..inner
        };
    }
    let wrapper = ctx.mac.bin_dir().join(name);
    let path = if wrapper.exists() {
        wrapper
    } else {
        Path::new(program).to_path_buf()
    };
    match Command::new(&path)
        .args(program_args)
        .env(state::ELEVATED_ENV, if elevated { "1" } else { "0" })
        .output()
    {
        Ok(out) => Outcome {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out
                .status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(1),
            mutating: false,
        },
        Err(_) => Outcome::err(1, format!("sudo: {program}: command not found\n")),
    }
}

/// Runs `sw_vers [-productName|-productVersion|-buildVersion]`.
pub fn sw_vers(ctx: &Ctx, args: &[String]) -> Outcome {
    let m = &ctx.machine;
    match args.first().map(String::as_str) {
        None => Outcome::ok(format!(
            "ProductName:\t\tmacOS\nProductVersion:\t\t{}\nBuildVersion:\t\t{}\n",
            m.os_version, m.os_build
        )),
        Some("-productName" | "--productName") => Outcome::ok("macOS\n"),
        Some("-productVersion" | "--productVersion") => Outcome::ok(format!("{}\n", m.os_version)),
        Some("-buildVersion" | "--buildVersion") => Outcome::ok(format!("{}\n", m.os_build)),
        Some(_) => Outcome::err(
            1,
            "usage: sw_vers [-productName|-productVersion|-productVersionExtra|-buildVersion]\n",
        ),
    }
}

/// Runs `sysctl [-n] <oid>…` for the OIDs the simulated Mac has (`hw.memsize`,
/// `iogpu.wired_limit_mb`, from `machine.json`), as macOS prints them: `name: value` per line,
/// `-n` the value only; an unknown OID is `sysctl: unknown oid '<oid>'` on stderr (the other
/// OIDs are still printed) and exit 1. A write (`oid=value`) needs root, as on macOS, and sets
/// `iogpu.wired_limit_mb` (the simulated Mac's only writable OID) until the sandbox ends.
pub fn sysctl(ctx: &Ctx, args: &[String]) -> Outcome {
    let mut values_only = false;
    let mut out = String::new();
    let mut err = String::new();
    let mut machine = ctx.machine.clone();
    let mut wrote = false;
    for arg in args {
        if arg == "-n" {
            values_only = true;
            continue;
        }
        if let Some((oid, value)) = arg.split_once('=') {
            if oid != "iogpu.wired_limit_mb" {
                let _ = writeln!(err, "sysctl: unknown oid '{oid}'");
                continue;
            }
            if !ctx.is_root() {
                let _ = writeln!(err, "sysctl: {oid}={value}: Operation not permitted");
                continue;
            }
            let Ok(mb) = value.parse::<u64>() else {
                let _ = writeln!(err, "sysctl: invalid integer '{value}'");
                continue;
            };
            let old = machine.wired_limit_mb;
            machine.wired_limit_mb = mb;
            wrote = true;
            // macOS prints the change as `name: old -> new`.
            let _ = writeln!(out, "{oid}: {old} -> {mb}");
            continue;
        }
        let value = match arg.as_str() {
            "hw.memsize" => machine.memsize,
            "iogpu.wired_limit_mb" => machine.wired_limit_mb,
            other => {
                let _ = writeln!(err, "sysctl: unknown oid '{other}'");
                continue;
            }
        };
        if values_only {
            let _ = writeln!(out, "{value}");
        } else {
            let _ = writeln!(out, "{arg}: {value}");
        }
    }
    if wrote && let Err(e) = ctx.mac.set_machine(&machine) {
        let _ = writeln!(err, "sysctl: cannot save machine.json: {e}");
    }
    Outcome {
        stdout: out,
        code: u8::from(!err.is_empty()),
        stderr: err,
        mutating: wrote,
    }
}

/// Runs `ping [-c N] [-t S] <host>`; never sends anything.
pub fn ping(ctx: &Ctx, args: &[String]) -> Outcome {
    let mut count: u32 = 1;
    let mut host = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-c" => count = iter.next().and_then(|c| c.parse().ok()).unwrap_or(1),
            "-t" | "-W" | "-i" | "-s" | "-S" | "-m" => {
                iter.next();
            }
            flag if flag.starts_with('-') => {}
            other => host = Some(other.to_owned()),
        }
    }
    let Some(host) = host else {
        return Outcome::err(64, "usage: ping [-c count] [-t timeout] host\n");
    };
    let reachable = host.starts_with("127.") || ctx.machine.reachable.contains(&host);
    let mut out = format!("PING {host} ({host}): 56 data bytes\n");
    if reachable {
        for seq in 0..count {
            let _ = writeln!(
                out,
                "64 bytes from {host}: icmp_seq={seq} ttl=64 time=0.412 ms"
            );
        }
        let _ = write!(
            out,
            "\n--- {host} ping statistics ---\n{count} packets transmitted, {count} packets received, 0.0% packet loss\nround-trip min/avg/max/stddev = 0.412/0.412/0.412/0.000 ms\n"
        );
        Outcome::ok(out)
    } else {
        for seq in 0..count {
            let _ = writeln!(out, "Request timeout for icmp_seq {seq}");
        }
        let _ = write!(
            out,
            "\n--- {host} ping statistics ---\n{count} packets transmitted, 0 packets received, 100.0% packet loss\n"
        );
        Outcome::out(2, out)
    }
}

/// Runs `osascript -e 'quit app "Name"'` (also `tell application "Name" to quit`): stops the
/// `ollama serve` children of the `Name.app` processes, then removes those processes from
/// `processes.json`.
///
/// Ollama.app quits like this (`app/server/server.go`, `Server.Run` / `Server.cmd`): quitting
/// cancels the context its `ollama serve` child runs under, whose `cmd.Cancel` is `stop`, which
/// sends SIGINT (`terminate`, `app/server/server_unix.go`) and kills the server if it has not
/// exited within 5 seconds; the app exits after that.
pub fn osascript(ctx: &Ctx, args: &[String]) -> Outcome {
    let script: Vec<&str> = args
        .iter()
        .zip(args.iter().skip(1))
        .filter(|(flag, _)| *flag == "-e")
        .map(|(_, s)| s.as_str())
        .collect();
    let script = script.join("\n");
    let app = quit_target(&script);
    let Some(app) = app else {
        return Outcome::err(
            1,
            "0:0: execution error: the simulated osascript only understands quit app \"…\" (-2700)\n",
        );
    };
    let marker = format!("/{app}.app/");
    let quitting: Vec<u32> = ctx
        .mac
        .processes()
        .processes
        .iter()
        .filter(|p| p.command.contains(&marker))
        .map(|p| p.pid)
        .collect();
    crate::procs::stop_servers_of(ctx, &quitting);
    ctx.mac.locked(|| {
        let mut procs = ctx.mac.processes();
        procs.processes.retain(|p| !p.command.contains(&marker));
        let _ = ctx.mac.set_processes(&procs);
    });
    Outcome::ok("").mutating(true)
}

fn quit_target(script: &str) -> Option<String> {
    let script = script.trim();
    let quoted = |s: &str| -> Option<String> {
        let s = s.trim().strip_prefix('"')?;
        let end = s.find('"')?;
        Some(s[..end].to_owned())
    };
    if let Some(rest) = script
        .strip_prefix("quit app ")
        .or_else(|| script.strip_prefix("quit application "))
    {
        return quoted(rest);
    }
    let rest = script
        .strip_prefix("tell application ")
        .or_else(|| script.strip_prefix("tell app "))?;
    let name = quoted(rest)?;
    rest.trim_end().ends_with("to quit").then_some(name)
}

/// Runs `brew --prefix [formula]` or `brew install ollama` (writes `<bin>/ollama`).
pub fn brew(ctx: &Ctx, args: &[String]) -> Outcome {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let prefix = ctx
        .mac
        .machine()
        .brew_prefix
        .map_or_else(|| "/opt/homebrew".to_owned(), |p| p.display().to_string());
    match args.as_slice() {
        ["--prefix"] => Outcome::ok(format!("{prefix}\n")),
        // `brew --prefix <formula>` prints the formula's opt path whether or not it is installed
        // (Homebrew's `Formula#opt_prefix`).
        ["--prefix", formula] => Outcome::ok(format!("{prefix}/opt/{formula}\n")),
        ["--version"] => Outcome::ok("Homebrew 4.4.20\n"),
        _ if ctx.is_root() => {
            Outcome::err(1, BREW_ROOT_ERROR).mutating(args.first() == Some(&"install"))
        }
        ["install", formulae @ ..] => ctx.mac.locked(|| install(ctx, formulae)).mutating(true),
        [other, ..] => Outcome::err(1, format!("Error: Unknown command: {other}\n")),
        [] => Outcome::ok(
            "Example usage:\n  brew search TEXT|/REGEX/\n  brew info [FORMULA|CASK...]\n  brew install FORMULA|CASK...\n",
        ),
    }
}

fn install(ctx: &Ctx, formulae: &[&str]) -> Outcome {
    let formulae: Vec<&str> = formulae
        .iter()
        .copied()
        .filter(|f| !f.starts_with('-'))
        .collect();
    match formulae.as_slice() {
        ["ollama"] => {}
        [] => {
            return Outcome::err(
                1,
                "Error: Invalid usage: This command requires at least 1 formula or cask argument.\n",
            );
        }
        [other, ..] => {
            return Outcome::err(
                1,
                format!(
                    "Warning: No available formula with the name \"{other}\".\nError: No formulae or casks found for {other}.\n"
                ),
            );
        }
    }
    let bin = match ctx.mac.machine().brew_prefix {
        Some(prefix) => prefix.join("opt").join("ollama").join("bin"),
        None => ctx.mac.bin_dir(),
    };
    let v = OLLAMA_VERSION;
    if bin.join("ollama").exists() {
        return Outcome::err(
            0,
            format!(
                "Warning: ollama {v} is already installed and up-to-date.\nTo reinstall {v}, run:\n  brew reinstall ollama\n"
            ),
        );
    }
    // `brew-installs-nothing`: the install reports success but no program appears (a broken
    // keg, a link step that did not run).
    let written = if ctx.mac.fault("brew-installs-nothing").is_some() {
        Ok(())
    } else {
        std::fs::create_dir_all(&bin).and_then(|()| {
            std::env::current_exe()
                .and_then(|exe| write_wrapper(&bin, &exe, ctx.mac.dir(), "ollama"))
        })
    };
    if let Err(e) = written {
        return Outcome::err(1, format!("Error: {e}\n"));
    }
    Outcome::ok(format!(
        "==> Downloading https://ghcr.io/v2/homebrew/core/ollama/manifests/{v}\n\
==> Fetching ollama\n\
==> Pouring ollama--{v}.arm64_sonoma.bottle.tar.gz\n\
==> Caveats\n\
To start ollama now and restart at login:\n  brew services start ollama\n\
Or, if you don't want/need a background service you can just run:\n  /opt/homebrew/opt/ollama/bin/ollama serve\n\
==> Summary\n\
\u{1f37a}  /opt/homebrew/Cellar/ollama/{v}: 8 files, 25.4MB\n"
    ))
}
