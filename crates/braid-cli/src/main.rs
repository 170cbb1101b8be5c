//! The `braid` command-line tool.
//!
//! `braid decode FILE` prints a pcap capture or a hex dump of SCTP packets as a protocol
//! trace. More subcommands (`perf`, `server`, `client`, `sim`) come with the transport.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod decode;

/// Braid, an SCTP stack: tools.
#[derive(Debug, Parser)]
#[command(name = "braid", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode SCTP packets from a pcap file or a hex dump and print them as a trace.
    Decode(decode::DecodeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("braid: {e}");
            ExitCode::FAILURE
        }
    }
}
