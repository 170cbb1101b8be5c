//! The `braid` command-line tool.
//!
//! - `braid perf`: a loopback throughput test (or `--rtt`: echo latency) over real UDP sockets.
//! - `braid server` / `braid client`: the echo/discard pair of `docs/peer-contract.md`, for
//!   interoperability runs against other SCTP stacks.
//! - `braid decode FILE`: a pcap capture or a hex dump of SCTP packets as a protocol trace.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod decode;
mod peer;
mod perf;

/// Braid, an SCTP stack: tools.
#[derive(Debug, Parser)]
#[command(name = "braid", version, about)]
struct Cli {
    /// Log filter for diagnostics on stderr (`info`, `debug`, `braid=trace`, …).
    #[arg(long, global = true, default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Loopback SCTP transfer over real UDP sockets with a live progress line and a summary.
    Perf(perf::PerfArgs),
    /// Echo/discard server: accepts one association, checks every message.
    Server(peer::ServerArgs),
    /// Echo/discard client: sends a numbered message stream and checks the echoes.
    Client(peer::ClientArgs),
    /// Decode SCTP packets from a pcap file or a hex dump and print them as a trace.
    Decode(decode::DecodeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    if let Command::Decode(args) = &cli.command {
        return match decode::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("braid: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::Client(args) = &cli.command {
        if let Err(msg) = args.validate() {
            eprintln!("braid client: {msg}");
            return ExitCode::from(2);
        }
    }
    // Latency runs on one thread: a wake-up between threads costs more than the protocol.
    let single = matches!(&cli.command, Command::Perf(a) if a.rtt);
    let mut builder = if single {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("braid: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Perf(args) => perf::run(args).await,
            Command::Server(args) => peer::server(args).await,
            Command::Client(args) => peer::client(args).await,
            Command::Decode(_) => Ok(true),
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("braid: {e}");
            ExitCode::FAILURE
        }
    }
}
