//! The fake `ps` and `lsof`: the simulated Mac's process table is `launchd` (pid 1), the
//! `processes.json` entries, the running instances of loaded jobs, and live fake Ollama servers
//! (`ollama/listeners/<pid>.json`), each with its parent pid as real `ps` prints it.
//!
//! `lsof` keeps the captured column layout (docs/macos.md §8.3): widths grow with the content, with
//! the capture's widths as minimums for COMMAND (9), PID (5), FD (4) and DEVICE (18).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::cli::{Ctx, Outcome};
use crate::state::{self, FakeProcess, Listen};

/// A listener file written by the fake Ollama server.
#[derive(Debug, Deserialize)]
struct ListenerFile {
    pid: u32,
    /// Its parent: the real one, or the fake app that started it (see the server's listener
    /// file).
    #[serde(default)]
    ppid: Option<u32>,
    /// The executable it stands for, when not the tool dir's `ollama`.
    #[serde(default)]
    command: Option<String>,
    address: String,
}

/// Every process of the simulated Mac, sorted by pid.
pub fn processes(ctx: &Ctx) -> Vec<FakeProcess> {
    let mut all = vec![FakeProcess {
        pid: 1,
        ppid: Some(0),
        user: "root".to_owned(),
        command: "/sbin/launchd".to_owned(),
        args: Vec::new(),
        listen: Vec::new(),
    }];
    all.extend(ctx.mac.processes().processes);
    for (pid, user, def) in crate::launchd::job_processes(ctx) {
        let command = def
            .arguments
            .first()
            .cloned()
            .unwrap_or_else(|| def.executable());
        // A job's process is launchd's child, whoever really spawned it here.
        all.push(FakeProcess {
            pid,
            ppid: Some(1),
            user,
            command,
            args: def.arguments.iter().skip(1).cloned().collect(),
            listen: Vec::new(),
        });
    }
    for listener in listeners(&ctx.mac.listeners_dir()) {
        let listen = Listen::new(listener.address);
        if let Some(proc) = all.iter_mut().find(|p| p.pid == listener.pid) {
            proc.listen.push(listen);
        } else {
            all.push(FakeProcess {
                pid: listener.pid,
                ppid: listener.ppid,
                user: ctx
                    .mac
                    .fault("job-user")
                    .unwrap_or_else(|| ctx.machine.user.clone()),
                command: listener
                    .command
                    .unwrap_or_else(|| ctx.mac.bin_dir().join("ollama").display().to_string()),
                args: vec!["serve".to_owned()],
                listen: vec![listen],
            });
        }
    }
    all.sort_by_key(|p| p.pid);
    all
}

fn listeners(dir: &Path) -> Vec<ListenerFile> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<ListenerFile> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| state::read_json::<ListenerFile>(&e.path()))
        .filter(|l| state::pid_alive(l.pid))
        .collect();
    out.sort_by_key(|l| l.pid);
    out
}

/// Stops the live fake `ollama serve` processes whose parent is one of `parents` the way
/// Ollama.app stops its server (`app/server/server.go`, `stop`): SIGINT, then SIGKILL if one is
/// still alive after 5 seconds. Only real listener processes are signalled, never a pid of
/// `processes.json` (those are not real).
pub fn stop_servers_of(ctx: &Ctx, parents: &[u32]) {
    use rustix::process::Signal;
    let children: Vec<u32> = listeners(&ctx.mac.listeners_dir())
        .into_iter()
        .filter(|l| l.ppid.is_some_and(|p| parents.contains(&p)))
        .map(|l| l.pid)
        .collect();
    for pid in &children {
        state::kill_pid(*pid, Signal::INT);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while children.iter().any(|p| state::pid_alive(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    for pid in children.iter().filter(|p| state::pid_alive(**p)) {
        state::kill_pid(*pid, Signal::KILL);
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// One `lsof` row.
struct Row {
    command: String,
    pid: u32,
    user: String,
    fd: u32,
    ip_type: String,
    device: String,
    name: String,
}

fn device_for(pid: u32, fd: u32) -> String {
    let mut x = (u64::from(pid) << 20 | u64::from(fd)) ^ 0x9e37_79b9_7f4a_7c15;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    format!("0x{:016x}", x | (1 << 60))
}

fn port_of(address: &str) -> Option<&str> {
    address.rsplit_once(':').map(|(_, port)| port)
}

/// Runs `lsof args…` (`-nP -iTCP:<port> -sTCP:LISTEN`, plus `-t` and `-F<fields>`).
pub fn lsof(ctx: &Ctx, args: &[String]) -> Outcome {
    let mut port: Option<String> = None;
    let mut tcp_state: Option<String> = None;
    let mut terse = false;
    let mut fields: Option<String> = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if let Some(spec) = arg.strip_prefix("-i") {
            let spec = if spec.is_empty() {
                iter.next().map_or("", String::as_str)
            } else {
                spec
            };
            port = port_of(spec).map(str::to_owned);
        } else if let Some(spec) = arg.strip_prefix("-s") {
            let spec = if spec.is_empty() {
                iter.next().map_or("", String::as_str)
            } else {
                spec
            };
            tcp_state = spec.split_once(':').map(|(_, s)| s.to_ascii_uppercase());
        } else if let Some(spec) = arg.strip_prefix("-F") {
            fields = Some(spec.to_owned());
        } else if arg.starts_with('-') && arg.contains('t') {
            terse = true;
        }
    }
    if tcp_state.as_deref().is_some_and(|s| s != "LISTEN") {
        return Outcome::err(1, "");
    }
    let rows: Vec<Row> = processes(ctx)
        .into_iter()
        .flat_map(|p| {
            p.listen
                .iter()
                .filter(|l| {
                    port.as_deref()
                        .is_none_or(|want| port_of(&l.address) == Some(want))
                })
                .map(|l| Row {
                    command: basename(&p.command).chars().take(9).collect(),
                    pid: p.pid,
                    user: p.user.clone(),
                    fd: l.fd,
                    ip_type: l.ip_type.clone().unwrap_or_else(|| {
                        if l.address.starts_with('[') {
                            "IPv6"
                        } else {
                            "IPv4"
                        }
                        .to_owned()
                    }),
                    device: l.device.clone().unwrap_or_else(|| device_for(p.pid, l.fd)),
                    name: l.address.clone(),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if rows.is_empty() {
        return Outcome::err(1, "");
    }
    if terse {
        let mut pids: Vec<u32> = rows.iter().map(|r| r.pid).collect();
        pids.dedup();
        let mut out = String::new();
        for pid in pids {
            let _ = writeln!(out, "{pid}");
        }
        return Outcome::ok(out);
    }
    if let Some(fields) = fields {
        return Outcome::ok(lsof_fields(ctx, &rows, &fields));
    }
    Outcome::ok(lsof_table(&rows))
}

fn lsof_table(rows: &[Row]) -> String {
    let w_cmd = rows
        .iter()
        .map(|r| r.command.len())
        .max()
        .unwrap_or(0)
        .max(9);
    let w_pid = rows
        .iter()
        .map(|r| r.pid.to_string().len())
        .max()
        .unwrap_or(0)
        .max(5);
    let w_user = rows.iter().map(|r| r.user.len()).max().unwrap_or(0).max(4);
    let w_fd = rows
        .iter()
        .map(|r| r.fd.to_string().len())
        .max()
        .unwrap_or(0)
        .max(4);
    let w_dev = rows
        .iter()
        .map(|r| r.device.len())
        .max()
        .unwrap_or(0)
        .max(18);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<w_cmd$} {:>w_pid$} {:>w_user$} {:>w_fd$}   {:<4} {:>w_dev$} SIZE/OFF NODE NAME",
        "COMMAND", "PID", "USER", "FD", "TYPE", "DEVICE"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<w_cmd$} {:>w_pid$} {:>w_user$} {:>w_fd$}u  {:<4} {:>w_dev$} {:>8} {:>4} {} (LISTEN)",
            r.command, r.pid, r.user, r.fd, r.ip_type, r.device, "0t0", "TCP", r.name
        );
    }
    out
}

fn lsof_fields(ctx: &Ctx, rows: &[Row], fields: &str) -> String {
    let mut out = String::new();
    let mut last_pid = None;
    for r in rows {
        if last_pid != Some(r.pid) {
            last_pid = Some(r.pid);
            let _ = writeln!(out, "p{}", r.pid);
            for field in fields.chars() {
                match field {
                    'c' => {
                        let _ = writeln!(out, "c{}", r.command);
                    }
                    'L' => {
                        let _ = writeln!(out, "L{}", r.user);
                    }
                    'u' => {
                        let uid = if r.user == ctx.machine.user {
                            ctx.machine.uid
                        } else {
                            0
                        };
                        let _ = writeln!(out, "u{uid}");
                    }
                    _ => {}
                }
            }
        }
        let _ = writeln!(out, "f{}", r.fd);
        for field in fields.chars() {
            match field {
                't' => {
                    let _ = writeln!(out, "t{}", r.ip_type);
                }
                'P' => out.push_str("PTCP\n"),
                'n' => {
                    let _ = writeln!(out, "n{}", r.name);
                }
                _ => {}
            }
        }
    }
    out
}

/// Runs `ps args…` (BSD syntax: `-axo pid=,ppid=,user=,comm=`, `-p <pid>`, `-o` keys `pid`, `ppid`,
/// `user`, `uid`, `comm`, `command`/`args`; a key ending in `=` has an empty header).
pub fn ps(ctx: &Ctx, args: &[String]) -> Outcome {
    let mut spec: Option<String> = None;
    let mut pids: Option<Vec<u32>> = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let Some(flags) = arg.strip_prefix('-') else {
            continue;
        };
        for (i, flag) in flags.char_indices() {
            if flag == 'o' || flag == 'p' {
                let rest = &flags[i + 1..];
                let value = if rest.is_empty() {
                    iter.next().cloned().unwrap_or_default()
                } else {
                    rest.to_owned()
                };
                if flag == 'o' {
                    spec = Some(match spec {
                        Some(prev) => format!("{prev},{value}"),
                        None => value,
                    });
                } else {
                    pids.get_or_insert_with(Vec::new).extend(
                        value
                            .split(',')
                            .filter_map(|p| p.trim().parse::<u32>().ok()),
                    );
                }
                break;
            }
        }
    }
    let spec = spec.unwrap_or_else(|| "pid,tty,time,command".to_owned());
    let columns: Vec<(String, String)> = spec
        .split(',')
        .map(|c| match c.split_once('=') {
            Some((key, header)) => (key.to_owned(), header.to_owned()),
            None => (c.to_owned(), default_header(c)),
        })
        .collect();
    let procs: Vec<FakeProcess> = processes(ctx)
        .into_iter()
        .filter(|p| pids.as_ref().is_none_or(|want| want.contains(&p.pid)))
        .collect();
    let cell = |p: &FakeProcess, key: &str| -> String {
        match key {
            "pid" => p.pid.to_string(),
            "ppid" => p.ppid.unwrap_or(1).to_string(),
            "user" => p.user.clone(),
            "uid" => if p.user == ctx.machine.user {
                ctx.machine.uid
            } else {
                0
            }
            .to_string(),
            "comm" | "ucomm" => p.command.clone(),
            "tty" => "??".to_owned(),
            "time" => "0:00.01".to_owned(),
            _ => std::iter::once(p.command.clone())
                .chain(p.args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" "),
        }
    };
    let table: Vec<Vec<String>> = procs
        .iter()
        .map(|p| columns.iter().map(|(key, _)| cell(p, key)).collect())
        .collect();
    let mut out = String::new();
    let show_header = columns.iter().any(|(_, h)| !h.is_empty());
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (key, header))| {
            let content = table.iter().map(|row| row[i].len()).max().unwrap_or(0);
            let min = if key == "pid" || key == "ppid" { 5 } else { 0 };
            content.max(header.len()).max(min)
        })
        .collect();
    let mut lines: Vec<Vec<String>> = Vec::new();
    if show_header {
        lines.push(columns.iter().map(|(_, h)| h.clone()).collect());
    }
    lines.extend(table.iter().cloned());
    for line in lines {
        let mut text = String::new();
        for (i, value) in line.iter().enumerate() {
            let key = columns[i].0.as_str();
            let last = i + 1 == line.len();
            if i > 0 {
                text.push(' ');
            }
            if matches!(key, "pid" | "ppid" | "uid") {
                let _ = write!(text, "{value:>w$}", w = widths[i]);
            } else if last {
                text.push_str(value);
            } else {
                let _ = write!(text, "{value:<w$}", w = widths[i]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    let code = u8::from(procs.is_empty());
    Outcome::out(code, out)
}

fn default_header(key: &str) -> String {
    match key {
        "pid" => "PID",
        "ppid" => "PPID",
        "user" => "USER",
        "uid" => "UID",
        "comm" | "ucomm" => "COMM",
        "tty" => "TTY",
        "time" => "TIME",
        "args" => "ARGS",
        _ => "COMMAND",
    }
    .to_owned()
}
