//! Capture of every datagram a shard sends and receives, written as SCTP over UDP to a pcap
//! file by a writer thread (so the drivers never block on the disk).

use std::fs::File;
use std::io::{self, BufWriter};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use braid_wire::pcap::PcapWriter;

/// Records waiting for the writer before new ones are dropped.
const QUEUE: usize = 16 * 1024;

type Record = (Duration, SocketAddr, SocketAddr, Vec<u8>);

/// A shard's end of the capture.
#[derive(Debug, Clone)]
pub(crate) struct PcapSink {
    tx: mpsc::SyncSender<Record>,
}

/// The writer thread; joined when the endpoint closes.
#[derive(Debug)]
pub(crate) struct PcapThread {
    handle: JoinHandle<io::Result<u64>>,
}

impl PcapSink {
    /// Creates the file and starts the writer.
    pub(crate) fn create(path: &Path) -> io::Result<(Self, PcapThread)> {
        let file = BufWriter::new(File::create(path)?);
        let mut writer = PcapWriter::new(file)?;
        let (tx, rx) = mpsc::sync_channel::<Record>(QUEUE);
        let handle = std::thread::Builder::new()
            .name("braid-pcap".into())
            .spawn(move || {
                let mut written = 0u64;
                while let Ok(first) = rx.recv() {
                    let mut next = Some(first);
                    while let Some((ts, src, dst, data)) = next {
                        writer.write_udp_encapsulated(ts, src, dst, &data)?;
                        written += 1;
                        next = rx.try_recv().ok();
                    }
                    writer.flush()?;
                }
                writer.flush()?;
                Ok(written)
            })?;
        Ok((Self { tx }, PcapThread { handle }))
    }

    /// Records one datagram; dropped when the writer falls behind.
    pub(crate) fn record(&mut self, src: SocketAddr, dst: SocketAddr, data: &[u8]) {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let _ = self.tx.try_send((ts, src, dst, data.to_vec()));
    }

    /// This shard is done capturing.
    pub(crate) fn finish(self) {}
}

impl PcapThread {
    /// Waits for the writer to drain (every sink must be gone) and returns the packet count.
    pub(crate) fn join(self) -> io::Result<u64> {
        self.handle
            .join()
            .map_err(|_| io::Error::other("pcap writer panicked"))?
    }
}
