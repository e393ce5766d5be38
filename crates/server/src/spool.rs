//! The ingest spool: an append-only log of accepted events on disk. An ingest request is
//! acknowledged only after its events are written here and `fdatasync`ed, so nothing
//! acknowledged is lost on `kill -9`; a drain task then moves them into the store, recording how
//! far it got in the same transaction, and the spool is replayed from there at the next start.
//!
//! Layout: `DIR/NNNNNNNNNNNNNNNNNNNN.spool` segment files named by the sequence number of their
//! first event, rolled at `SEGMENT_BYTES`. A segment is a series of records:
//!
//! ```text
//! "FBS1" | first_seq u64 | count u32 | received_at_ns i64 | meta_len u32 | payload_len u32 | crc32 u32
//! | meta (JSON: who sent it, from where) | payload (one normalised event per line)
//! ```
//!
//! integers little-endian, the CRC over everything after the magic but the CRC itself. Writes
//! are grouped: one writer thread takes every request waiting, writes them all and syncs once.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tokio::sync::{mpsc, oneshot, watch};

const MAGIC: &[u8; 4] = b"FBS1";
const HEADER_BYTES: usize = 36;
/// A segment is closed and a new one started once it passes this size.
pub const SEGMENT_BYTES: u64 = 64 << 20;
/// The most bytes one group commit writes before syncing.
const GROUP_BYTES: usize = 32 << 20;
/// The largest record accepted when reading back; anything larger is corruption.
const MAX_RECORD_BYTES: usize = 1 << 30;

/// One request's accepted events, as read back from the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub first_seq: i64,
    pub count: u32,
    pub received_at_ns: i64,
    pub meta: Vec<u8>,
    pub payload: Vec<u8>,
}

impl Record {
    pub fn last_seq(&self) -> i64 {
        self.first_seq + i64::from(self.count) - 1
    }
}

struct Append {
    count: u32,
    received_at_ns: i64,
    meta: Vec<u8>,
    payload: bytes::Bytes,
    reply: oneshot::Sender<io::Result<i64>>,
}

/// The handle that ingest requests append through. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Spool {
    appends: mpsc::Sender<Append>,
    committed: watch::Receiver<i64>,
}

impl std::fmt::Debug for Append {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Append").field("count", &self.count).finish_non_exhaustive()
    }
}

impl Spool {
    /// Opens the spool in `dir`, repairing a torn tail left by a crash, and starts its writer
    /// thread. `checkpoint` is the last sequence number already in the store. Returns the
    /// handle and a reader positioned after `checkpoint`.
    pub fn open(
        dir: &Path,
        checkpoint: i64,
    ) -> io::Result<(Spool, SpoolReader, std::thread::JoinHandle<()>)> {
        fs::create_dir_all(dir)?;
        let segments = list_segments(dir)?;
        let (file, mut next_seq) = match segments.last() {
            Some((start, path)) => {
                let mut file = OpenOptions::new().read(true).write(true).open(path)?;
                let (valid_end, next) = scan_valid(&mut file, *start)?;
                if file.metadata()?.len() != valid_end {
                    tracing::warn!(segment = %path.display(), kept_bytes = valid_end, "Cut a torn record from the end of the spool; it was never acknowledged.");
                    file.set_len(valid_end)?;
                    file.sync_all()?;
                }
                file.seek(SeekFrom::Start(valid_end))?;
                (file, next)
            }
            None => {
                let path = segment_path(dir, checkpoint + 1);
                let file = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .read(true)
                    .write(true)
                    .open(&path)?;
                sync_dir(dir)?;
                (file, checkpoint + 1)
            }
        };
        next_seq = next_seq.max(checkpoint + 1);
        let (committed_tx, committed_rx) = watch::channel(next_seq - 1);
        let (appends_tx, appends_rx) = mpsc::channel::<Append>(1024);
        let writer = Writer { dir: dir.to_owned(), file, next_seq, committed: committed_tx };
        let thread = std::thread::Builder::new()
            .name("spool-writer".into())
            .spawn(move || writer.run(appends_rx))?;
        let reader = SpoolReader::new(dir, checkpoint, committed_rx.clone())?;
        Ok((Spool { appends: appends_tx, committed: committed_rx }, reader, thread))
    }

    /// Appends one request's events and waits until they are on disk. Returns the sequence
    /// number of the first.
    pub async fn append(
        &self,
        count: u32,
        received_at_ns: i64,
        meta: Vec<u8>,
        payload: impl Into<bytes::Bytes>,
    ) -> io::Result<i64> {
        let payload = payload.into();
        let (reply, answer) = oneshot::channel();
        self.appends
            .send(Append { count, received_at_ns, meta, payload, reply })
            .await
            .map_err(|_| io::Error::other("the spool is closed"))?;
        answer.await.map_err(|_| io::Error::other("the spool writer stopped"))?
    }

    /// The last sequence number on disk.
    pub fn committed(&self) -> i64 {
        *self.committed.borrow()
    }
}

struct Writer {
    dir: PathBuf,
    file: File,
    next_seq: i64,
    committed: watch::Sender<i64>,
}

impl Writer {
    fn run(mut self, mut appends: mpsc::Receiver<Append>) {
        while let Some(first) = appends.blocking_recv() {
            let mut group = vec![first];
            let mut bytes = group[0].payload.len();
            while bytes < GROUP_BYTES {
                match appends.try_recv() {
                    Ok(more) => {
                        bytes += more.payload.len();
                        group.push(more);
                    }
                    Err(_) => break,
                }
            }
            match self.write_group(&group) {
                Ok(firsts) => {
                    self.committed.send_replace(self.next_seq - 1);
                    for (append, first) in group.into_iter().zip(firsts) {
                        let _ = append.reply.send(Ok(first));
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "Could not write to the ingest spool; the requests are refused.");
                    for append in group {
                        let _ =
                            append.reply.send(Err(io::Error::new(error.kind(), error.to_string())));
                    }
                }
            }
        }
        // Every sender is gone: all that was acknowledged is already synced.
    }

    fn write_group(&mut self, group: &[Append]) -> io::Result<Vec<i64>> {
        if self.file.stream_position()? >= SEGMENT_BYTES {
            let path = segment_path(&self.dir, self.next_seq);
            self.file = OpenOptions::new().create_new(true).read(true).write(true).open(&path)?;
            sync_dir(&self.dir)?;
        }
        let start = self.file.stream_position()?;
        // The records go out with one vectored write: the payloads are not copied again here,
        // where the writer is the one serial step of ingest.
        let mut headers = Vec::with_capacity(group.len());
        let mut seq = self.next_seq;
        let mut firsts = Vec::with_capacity(group.len());
        for append in group {
            headers.push(header(
                seq,
                append.count,
                append.received_at_ns,
                &append.meta,
                &append.payload,
            ));
            firsts.push(seq);
            seq += i64::from(append.count);
        }
        let mut slices: Vec<io::IoSlice<'_>> = headers
            .iter()
            .zip(group)
            .flat_map(|(header, append)| {
                [
                    io::IoSlice::new(header),
                    io::IoSlice::new(&append.meta),
                    io::IoSlice::new(&append.payload),
                ]
            })
            .collect();
        let written =
            write_all_vectored(&mut self.file, &mut slices).and_then(|()| self.file.sync_data());
        if let Err(error) = written {
            // Put the file back as it was, so that a later write does not follow garbage.
            let _ = self.file.set_len(start);
            let _ = self.file.seek(SeekFrom::Start(start));
            return Err(error);
        }
        self.next_seq = seq;
        Ok(firsts)
    }
}

/// The fixed-size head of a record: magic, fields, and the CRC over the fields, meta and payload.
fn header(
    first_seq: i64,
    count: u32,
    received_at_ns: i64,
    meta: &[u8],
    payload: &[u8],
) -> [u8; HEADER_BYTES] {
    let mut out = [0u8; HEADER_BYTES];
    let fields = first_seq
        .to_le_bytes()
        .into_iter()
        .chain(count.to_le_bytes())
        .chain(received_at_ns.to_le_bytes())
        .chain(u32::try_from(meta.len()).unwrap_or(u32::MAX).to_le_bytes())
        .chain(u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes());
    for (slot, byte) in out.iter_mut().zip(MAGIC.iter().copied().chain(fields)) {
        *slot = byte;
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(out.get(4..HEADER_BYTES - 4).unwrap_or_default());
    crc.update(meta);
    crc.update(payload);
    for (slot, byte) in out.iter_mut().skip(HEADER_BYTES - 4).zip(crc.finalize().to_le_bytes()) {
        *slot = byte;
    }
    out
}

/// One whole record, as [`Writer::write_group`] writes it (for tests that build spool files).
#[cfg(test)]
fn encode(
    out: &mut Vec<u8>,
    first_seq: i64,
    count: u32,
    received_at_ns: i64,
    meta: &[u8],
    payload: &[u8],
) {
    out.extend_from_slice(&header(first_seq, count, received_at_ns, meta, payload));
    out.extend_from_slice(meta);
    out.extend_from_slice(payload);
}

/// `write_all` for several buffers: writes until every one is out.
fn write_all_vectored(file: &mut File, mut slices: &mut [io::IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(written) => io::IoSlice::advance_slices(&mut slices, written),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Reads one record at the file's position. `Ok(None)` when there is no complete, valid
/// record there (the end, or a torn or corrupt tail).
fn read_record(file: &mut File) -> io::Result<Option<Record>> {
    let mut header = [0u8; HEADER_BYTES];
    if !read_full(file, &mut header)? || &header[..4] != MAGIC {
        return Ok(None);
    }
    let field = |range: std::ops::Range<usize>| -> [u8; 8] {
        let mut out = [0u8; 8];
        out[..range.len()].copy_from_slice(&header[range]);
        out
    };
    let first_seq = i64::from_le_bytes(field(4..12));
    let count = u32::from_le_bytes(field(12..16)[..4].try_into().unwrap_or([0; 4]));
    let received_at_ns = i64::from_le_bytes(field(16..24));
    let meta_len = u32::from_le_bytes(field(24..28)[..4].try_into().unwrap_or([0; 4])) as usize;
    let payload_len = u32::from_le_bytes(field(28..32)[..4].try_into().unwrap_or([0; 4])) as usize;
    let stored_crc = u32::from_le_bytes(field(32..36)[..4].try_into().unwrap_or([0; 4]));
    if meta_len + payload_len > MAX_RECORD_BYTES {
        return Ok(None);
    }
    let mut meta = vec![0u8; meta_len];
    let mut payload = vec![0u8; payload_len];
    if !read_full(file, &mut meta)? || !read_full(file, &mut payload)? {
        return Ok(None);
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&header[4..32]);
    crc.update(&meta);
    crc.update(&payload);
    if crc.finalize() != stored_crc {
        return Ok(None);
    }
    Ok(Some(Record { first_seq, count, received_at_ns, meta, payload }))
}

/// Fills `buffer`, or returns false at the end of the file.
fn read_full(file: &mut File, buffer: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => return Ok(false),
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(true)
}

/// Finds the end of the valid records of a segment, and the sequence number after them.
fn scan_valid(file: &mut File, start_seq: i64) -> io::Result<(u64, i64)> {
    file.seek(SeekFrom::Start(0))?;
    let mut end = 0;
    let mut next = start_seq;
    while let Some(record) = read_record(file)? {
        end = file.stream_position()?;
        next = record.last_seq() + 1;
    }
    Ok((end, next))
}

fn segment_path(dir: &Path, first_seq: i64) -> PathBuf {
    dir.join(format!("{first_seq:020}.spool"))
}

fn list_segments(dir: &Path) -> io::Result<Vec<(i64, PathBuf)>> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("spool") {
            continue;
        }
        if let Some(start) =
            path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<i64>().ok())
        {
            segments.push((start, path));
        }
    }
    segments.sort();
    Ok(segments)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reads records back in order, for the drain task. Blocking: call it off the async threads.
#[derive(Debug)]
pub struct SpoolReader {
    dir: PathBuf,
    committed: watch::Receiver<i64>,
    /// The last sequence number handed out.
    after: i64,
    current: Option<(i64, File)>,
    /// Segments read to the end, to delete once what was read from them is in the store.
    finished: Vec<PathBuf>,
}

impl SpoolReader {
    fn new(
        dir: &Path,
        checkpoint: i64,
        committed: watch::Receiver<i64>,
    ) -> io::Result<SpoolReader> {
        let segments = list_segments(dir)?;
        // Segments wholly before the one holding `checkpoint + 1` are already in the store.
        let keep_from =
            segments.iter().rposition(|(start, _)| *start <= checkpoint + 1).unwrap_or(0);
        for (_, path) in &segments[..keep_from] {
            fs::remove_file(path)?;
        }
        Ok(SpoolReader {
            dir: dir.to_owned(),
            committed,
            after: checkpoint,
            current: None,
            finished: Vec::new(),
        })
    }

    pub fn committed(&self) -> i64 {
        *self.committed.borrow()
    }

    /// A receiver that changes whenever more is on disk.
    pub fn watch(&self) -> watch::Receiver<i64> {
        self.committed.clone()
    }

    /// The last sequence number handed out by `read`.
    pub fn position(&self) -> i64 {
        self.after
    }

    /// Reads committed records after the last one returned, up to about `max_events` events.
    pub fn read(&mut self, max_events: usize) -> io::Result<Vec<Record>> {
        let committed = self.committed();
        let mut records = Vec::new();
        let mut events = 0usize;
        while events < max_events && self.after < committed {
            if self.current.is_none() {
                let segments = list_segments(&self.dir)?;
                let pick =
                    segments.iter().rposition(|(start, _)| *start <= self.after + 1).unwrap_or(0);
                let Some((start, path)) = segments.get(pick) else { break };
                self.current = Some((*start, File::open(path)?));
            }
            let Some((start, file)) = self.current.as_mut() else { break };
            let position = file.stream_position()?;
            match read_record(file)? {
                Some(record) if record.first_seq <= committed => {
                    if record.last_seq() > self.after {
                        self.after = record.last_seq();
                        events += record.count as usize;
                        records.push(record);
                    }
                }
                _ => {
                    file.seek(SeekFrom::Start(position))?;
                    // The end of this segment: move on if a later one exists.
                    let start = *start;
                    let next = list_segments(&self.dir)?.into_iter().find(|(s, _)| *s > start);
                    match next {
                        Some((next_start, next_path)) => {
                            self.finished.push(segment_path(&self.dir, start));
                            self.current = Some((next_start, File::open(next_path)?));
                        }
                        None => break,
                    }
                }
            }
        }
        Ok(records)
    }

    /// Deletes segments read to the end. Call only after what was read is in the store.
    pub fn remove_finished(&mut self) -> io::Result<()> {
        for path in self.finished.drain(..) {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(n: u32) -> Vec<u8> {
        (0..n).map(|i| format!("{{\"n\":{i}}}\n")).collect::<String>().into_bytes()
    }

    #[tokio::test]
    async fn appends_are_read_back_in_order_and_resume_after_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, mut reader, _thread) = Spool::open(dir.path(), 0).unwrap();
        assert_eq!(spool.append(3, 1, b"{}".to_vec(), payload(3)).await.unwrap(), 1);
        assert_eq!(spool.append(2, 2, b"{}".to_vec(), payload(2)).await.unwrap(), 4);
        let records = tokio::task::spawn_blocking(move || (reader.read(100).unwrap(), reader))
            .await
            .unwrap()
            .0;
        assert_eq!(
            records.iter().map(|r| (r.first_seq, r.count)).collect::<Vec<_>>(),
            vec![(1, 3), (4, 2)]
        );
        drop(spool);

        // Reopen as after a crash with only the first record in the store.
        let (spool, mut reader, _thread) = Spool::open(dir.path(), 3).unwrap();
        assert_eq!(spool.committed(), 5);
        let records = reader.read(100).unwrap();
        assert_eq!(records.iter().map(|r| r.first_seq).collect::<Vec<_>>(), vec![4]);
        assert_eq!(spool.append(1, 3, Vec::new(), payload(1)).await.unwrap(), 6);
    }

    #[tokio::test]
    async fn a_torn_tail_is_cut_and_numbering_continues() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (spool, _reader, _thread) = Spool::open(dir.path(), 0).unwrap();
            spool.append(2, 1, Vec::new(), payload(2)).await.unwrap();
        }
        let (_, path) = list_segments(dir.path()).unwrap().pop().unwrap();
        let good = fs::metadata(&path).unwrap().len();
        // Half a record, as a crash in the middle of a write leaves it.
        let mut torn = Vec::new();
        encode(&mut torn, 3, 5, 0, b"", &payload(5));
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&torn[..torn.len() / 2]).unwrap();
        drop(file);

        let (spool, mut reader, _thread) = Spool::open(dir.path(), 0).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), good);
        assert_eq!(spool.append(1, 1, Vec::new(), payload(1)).await.unwrap(), 3);
        let seqs: Vec<i64> = reader.read(100).unwrap().iter().map(|r| r.first_seq).collect();
        assert_eq!(seqs, vec![1, 3]);
    }

    #[test]
    fn a_flipped_byte_ends_the_valid_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = segment_path(dir.path(), 1);
        let mut bytes = Vec::new();
        encode(&mut bytes, 1, 1, 0, b"", &payload(1));
        let first = bytes.len();
        encode(&mut bytes, 2, 1, 0, b"", &payload(1));
        bytes[first + HEADER_BYTES + 2] ^= 0x40;
        fs::write(&path, &bytes).unwrap();
        let mut file = File::open(&path).unwrap();
        assert_eq!(scan_valid(&mut file, 1).unwrap(), (first as u64, 2));
    }
}
