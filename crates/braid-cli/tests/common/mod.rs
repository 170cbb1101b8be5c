//! Runs `server` / `client` programs that follow `docs/peer-contract.md` and reads their
//! JSON lines.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest a peer program may run before the test kills it and fails.
pub const LIMIT: Duration = Duration::from_secs(120);

/// A running program whose stdout lines are collected by a thread.
pub struct Peer {
    pub name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<Value>,
}

impl Peer {
    pub fn spawn(name: &str, program: &Path, args: &[String]) -> Peer {
        let mut child = Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {}: {e}", program.display()));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer {
            name: name.to_string(),
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits for the next JSON line with this "event".
    pub fn wait_event(&mut self, event: &str) -> Value {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    eprintln!("[{}] {line}", self.name);
                    let v: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {line}", self.name));
                    self.seen.push(v.clone());
                    if v["event"] == event {
                        return v;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("{}: no {event:?} line (seen: {:?})", self.name, self.seen);
                }
            }
        }
    }

    /// Waits for the program to exit (killing it after the limit); the "done" line, the exit
    /// status and every "error" line.
    pub fn finish(mut self) -> (Value, ExitStatus, Vec<String>) {
        let done = self.wait_event("done");
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // Drain the rest (nothing is expected after "done").
                while let Ok(line) = self.lines.try_recv() {
                    eprintln!("[{}] {line}", self.name);
                }
                return (done, status, self.errors());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{}: did not exit after its done line", self.name);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The "error" lines seen.
    pub fn errors(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter(|v| v["event"] == "error")
            .map(|v| v["msg"].to_string())
            .collect()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client/server run.
#[derive(Debug, Clone)]
pub struct Run {
    pub streams: u16,
    pub count: u64,
    pub size: usize,
    pub unordered: bool,
    pub echo: bool,
    pub mtu: usize,
    /// Server requires exactly `count` messages.
    pub server_count: bool,
    pub server_extra: Vec<String>,
    pub client_extra: Vec<String>,
}

impl Run {
    pub fn new(streams: u16, count: u64, size: usize) -> Run {
        Run {
            streams,
            count,
            size,
            unordered: false,
            echo: true,
            mtu: 1200,
            server_count: true,
            server_extra: Vec::new(),
            client_extra: Vec::new(),
        }
    }
    pub fn unordered(mut self) -> Run {
        self.unordered = true;
        self
    }
    pub fn discard(mut self) -> Run {
        self.echo = false;
        self
    }
    pub fn mtu(mut self, mtu: usize) -> Run {
        self.mtu = mtu;
        self
    }
}

/// Outcome of a run.
pub struct Outcome {
    pub server_done: Value,
    pub server_status: ExitStatus,
    pub client_done: Value,
    pub client_status: ExitStatus,
    pub server_errors: Vec<String>,
    pub client_errors: Vec<String>,
}

impl Outcome {
    /// Both sides exited 0, saw no errors, closed gracefully and counted every message.
    pub fn assert_clean(&self, run: &Run) {
        assert!(
            self.client_errors.is_empty(),
            "client errors: {:?}",
            self.client_errors
        );
        assert!(
            self.server_errors.is_empty(),
            "server errors: {:?}",
            self.server_errors
        );
        for (who, done, status) in [
            ("client", &self.client_done, self.client_status),
            ("server", &self.server_done, self.server_status),
        ] {
            assert_eq!(done["errors"], 0, "{who}: {done}");
            assert_eq!(done["graceful"], true, "{who}: {done}");
            assert_eq!(done["messages"], run.count, "{who}: {done}");
            assert_eq!(done["bytes"], run.count * run.size as u64, "{who}: {done}");
            assert!(status.success(), "{who} exited with {status}");
        }
    }
}

/// Starts `server`, then runs `client` against it.
pub fn run_pair(server: &Path, client: &Path, run: &Run) -> Outcome {
    let mode = if run.echo { "echo" } else { "discard" };
    let mut sargs: Vec<String> = ["server", "--bind", "127.0.0.1:0", "--mode", mode, "--mtu"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    sargs.push(run.mtu.to_string());
    if run.server_count {
        sargs.extend(["--count".to_string(), run.count.to_string()]);
    }
    sargs.extend(run.server_extra.iter().cloned());
    let mut srv = Peer::spawn("server", server, &sargs);
    let listening = srv.wait_event("listening");
    let addr = listening["addr"].as_str().expect("addr").to_string();
    let mut cargs: Vec<String> = vec![
        "client".into(),
        "--connect".into(),
        addr,
        "--bind".into(),
        "127.0.0.1:0".into(),
        "--streams".into(),
        run.streams.to_string(),
        "--count".into(),
        run.count.to_string(),
        "--size".into(),
        run.size.to_string(),
        "--mode".into(),
        mode.into(),
        "--mtu".into(),
        run.mtu.to_string(),
    ];
    if run.unordered {
        cargs.push("--unordered".into());
    }
    cargs.extend(run.client_extra.iter().cloned());
    let cli = Peer::spawn("client", client, &cargs);
    let (client_done, client_status, client_errors) = cli.finish();
    let (server_done, server_status, server_errors) = srv.finish();
    Outcome {
        server_done,
        server_status,
        client_done,
        client_status,
        server_errors,
        client_errors,
    }
}
