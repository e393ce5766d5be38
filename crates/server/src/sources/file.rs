//! File sources: `[[sources.file]]` follows a log file the way `tail -F` does and reads each
//! complete line like a syslog message (parsed, spooled, stored, detected).
//!
//! - The file is polled every 250 ms. Appended lines are read; a last line without its newline
//!   waits until it is complete.
//! - Rotation (the file renamed, a new one created at the path, told apart by device and inode):
//!   the old file is read to its end, its last line too, then the new one from its start. While
//!   nothing is at the path, the old file is still read.
//! - Truncation (the file is shorter than what was read of it): it is read again from its start.
//! - The position (device, inode, offset) is saved in `data_dir/sources/file-HASH.json`, written
//!   atomically, after the lines it covers are in the spool: a restart carries on where the last
//!   run stopped, losing and repeating nothing. (A crash between the spool's sync and the
//!   position's rename repeats that batch at the next start: lines are never lost.) When the
//!   file was rotated while the server was stopped, the old one is looked for in the same
//!   directory (same device and inode) and finished first.
//! - Where to start in a file never read before (`start`): at its `end` (the default, as
//!   `tail -f`: what is written from now on, so that years of old logs do not open incidents
//!   today) or at its `beginning`. A file that appears at the path later (created, or after a
//!   rotation) is new, and always read from its start.
//! - The format is the one configured, or, as `firebreak scan` does, judged from the file's
//!   first lines, for each file anew (a rotated file is judged again).
//! - A line longer than the parsers' limit is skipped and counted; bytes that are not UTF-8 are
//!   replaced and the line read (counted), so that one bad byte cannot hide a line; a line no
//!   parser reads is counted and dropped. If the spool refuses a batch, nothing is skipped: the
//!   lines are read again at the next poll.
//!
//! Device and inode make this Unix-only, as is the rest of the server's durability (directory
//! syncs).

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use firebreak_core::{Clock, Hash};
use firebreak_detect::parse::detect_format::{Format, detect_format};
use firebreak_detect::{LineParser, ParseConfig, ParseError};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio::sync::watch;

use super::{Pending, append};
use crate::metrics::Metrics;
use crate::spool::Spool;

/// How often the file is looked at.
const POLL: Duration = Duration::from_millis(250);
/// Bytes read at a time.
const CHUNK: usize = 1 << 20;
/// Lines the format is judged from, as `firebreak scan` does.
const SAMPLE_LINES: usize = 20;

/// `format` of a file source: a built-in parser, or `auto` (judged from the first lines).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileFormat {
    #[default]
    Auto,
    Syslog,
    Access,
    NginxError,
    ApacheError,
    Json,
}

impl FileFormat {
    fn format(self) -> Option<Format> {
        match self {
            FileFormat::Auto => None,
            FileFormat::Syslog => Some(Format::Syslog),
            FileFormat::Access => Some(Format::Access),
            FileFormat::NginxError => Some(Format::NginxError),
            FileFormat::ApacheError => Some(Format::ApacheError),
            FileFormat::Json => Some(Format::Json),
        }
    }
}

/// Where to start in a file never read before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Start {
    /// Only what is written from now on.
    #[default]
    End,
    /// What the file already holds, then what is written.
    Beginning,
}

/// One followed file: `[[sources.file]]` with `path`, and optionally `format` and `start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSource {
    pub path: PathBuf,
    #[serde(default)]
    pub format: FileFormat,
    #[serde(default)]
    pub start: Start,
}

/// Which file: a rename keeps its device and inode, a new file at the path has others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FileId {
    device: u64,
    inode: u64,
}

impl FileId {
    fn of(meta: &fs::Metadata) -> FileId {
        FileId { device: meta.dev(), inode: meta.ino() }
    }
}

/// How far a file has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    #[serde(flatten)]
    id: FileId,
    /// Bytes read and handled: the start of a line, unless `skipping`.
    offset: u64,
    /// In a line too long to keep: the rest of it, up to its newline, is skipped.
    skipping: bool,
}

/// The position file: the path too, for people who look.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    path: PathBuf,
    #[serde(flatten)]
    position: Position,
}

/// Where to begin in the file now at the path, given the position saved for the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resume {
    /// The same file: carry on from the position.
    At(Position),
    /// The same file, shorter than what was read: read it again from its start.
    Truncated,
    /// Another file: the saved one was rotated away. Finish it if it can be found, then read
    /// this one from its start.
    Rotated(Position),
    /// No position: a file never read.
    New,
}

fn resume(saved: Option<Position>, id: FileId, size: u64) -> Resume {
    match saved {
        None => Resume::New,
        Some(position) if position.id != id => Resume::Rotated(position),
        Some(position) if position.offset > size => Resume::Truncated,
        Some(position) => Resume::At(position),
    }
}

/// What to do once the open file has been read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Nothing changed (or the file grew, or nothing is at the path for now): poll again.
    Wait,
    /// The open file is shorter than what was read of it.
    Truncated,
    /// Another file is at the path.
    Rotated,
}

/// `size` is the open file's own, `at_path` the file the path names now (if any).
fn next(open: &Position, size: u64, at_path: Option<FileId>) -> Next {
    match at_path {
        Some(id) if id != open.id => Next::Rotated,
        _ if size < open.offset => Next::Truncated,
        _ => Next::Wait,
    }
}

/// Starts following the file on a thread of its own (blocking file I/O; batches go to the spool
/// through the runtime).
pub(super) fn start(
    source: FileSource,
    data_dir: &Path,
    spool: Spool,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> io::Result<tokio::task::JoinHandle<()>> {
    let dir = data_dir.join("sources");
    fs::create_dir_all(&dir)?;
    let hash = Hash::sha256(source.path.as_os_str().as_encoded_bytes()).to_hex();
    let state_path = dir.join(format!("file-{}.json", hash.get(..16).unwrap_or(&hash)));
    let saved = read_position(&state_path, &source.path);
    tracing::info!(path = %source.path.display(), "Following a file.");
    let out = Out {
        actor: format!("file {}", source.path.display()),
        state_path,
        spool,
        clock,
        metrics,
        runtime: Handle::current(),
        stop,
        max_line: ParseConfig::default().max_line_len,
    };
    let tail = Tail { start: source.start, source, saved, open: None, buffer: vec![0; CHUNK], out };
    Ok(tokio::task::spawn_blocking(move || run(tail)))
}

/// Polls until the server stops. A failure (a file that cannot be read, a spool that refuses)
/// is reported once and tried again at each poll, from the last position in the spool.
fn run(mut tail: Tail) {
    let mut stop = tail.out.stop.clone();
    let mut failing = false;
    loop {
        match tail.poll() {
            Ok(()) => failing = false,
            Err(error) => {
                tail.out.metrics.file_errors.add(1);
                if !failing {
                    tracing::warn!(path = %tail.source.path.display(), %error, "A followed file could not be read; trying again.");
                }
                failing = true;
                if let Some(open) = &mut tail.open {
                    open.cursor = open.committed;
                }
            }
        }
        if *stop.borrow() {
            return;
        }
        // Either way (a stop, or the server dropping the sender), the wait ends the source.
        let stopped = tail
            .out
            .runtime
            .block_on(async { tokio::time::timeout(POLL, stop.changed()).await.is_ok() });
        if stopped {
            return;
        }
    }
}

/// What the lines go to.
struct Out {
    actor: String,
    state_path: PathBuf,
    spool: Spool,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    runtime: Handle,
    stop: watch::Receiver<bool>,
    max_line: usize,
}

impl Out {
    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Puts the batch in the spool, then saves the position that covers it.
    fn commit(&self, path: &Path, pending: &mut Pending, open: &mut Open) -> io::Result<()> {
        if pending.count > 0 {
            let appended = self.runtime.block_on(append(
                &self.actor,
                &self.spool,
                &*self.clock,
                &self.metrics,
                pending,
            ));
            appended?;
        }
        if open.cursor != open.committed {
            // The lines are in the spool: a position not saved only means they may be read
            // again after a restart, so a failure here is a warning, not a rollback.
            if let Err(error) = save_position(&self.state_path, path, open.cursor) {
                tracing::warn!(path = %path.display(), %error, "Could not save how far a followed file was read.");
            }
            open.committed = open.cursor;
        }
        Ok(())
    }
}

/// The followed path and the file open at it.
struct Tail {
    source: FileSource,
    /// Where to begin in a file never read: as configured for the file there at the first
    /// look, and the beginning for any file that comes later.
    start: Start,
    /// The position saved by an earlier run, until the file at the path is opened.
    saved: Option<Position>,
    open: Option<Open>,
    buffer: Vec<u8>,
    out: Out,
}

/// An open file, and how far it was read.
struct Open {
    file: File,
    /// Handled up to here.
    cursor: Position,
    /// In the spool and saved up to here.
    committed: Position,
    reader: Reader,
}

/// The parser of a file, once its format is known.
enum Reader {
    /// Auto-detection waits for more lines.
    Undecided,
    Parser(Box<LineParser>),
    /// Not a format firebreak reads: lines are counted as unreadable.
    Unknown,
}

impl Tail {
    /// Reads what there is to read, following rotations and truncations.
    fn poll(&mut self) -> io::Result<()> {
        loop {
            if self.open.is_none() && !self.open_path()? {
                return Ok(());
            }
            let Some(open) = self.open.as_mut() else { return Ok(()) };
            read(&self.source, &self.out, open, &mut self.buffer, false)?;
            if self.out.stopping() {
                return Ok(());
            }
            let size = open.file.metadata()?.len();
            let at_path = match fs::metadata(&self.source.path) {
                Ok(meta) => Some(FileId::of(&meta)),
                Err(error) if error.kind() == io::ErrorKind::NotFound => None,
                Err(error) => return Err(error),
            };
            match next(&open.cursor, size, at_path) {
                Next::Wait => return Ok(()),
                Next::Truncated => {
                    self.out.metrics.file_truncations.add(1);
                    tracing::info!(path = %self.source.path.display(), "A followed file was truncated; reading it from its start.");
                    open.cursor = Position { offset: 0, skipping: false, ..open.cursor };
                    open.reader = new_reader(self.source.format);
                }
                Next::Rotated => {
                    // Whatever was written to the old file before the new one appeared, its
                    // last line too, then the new file from its start.
                    read(&self.source, &self.out, open, &mut self.buffer, true)?;
                    if self.out.stopping() {
                        // Not finished: the next start finds it beside the new one.
                        return Ok(());
                    }
                    self.out.metrics.file_rotations.add(1);
                    tracing::info!(path = %self.source.path.display(), "A followed file was rotated; reading the new one.");
                    self.open = None;
                    self.start = Start::Beginning;
                }
            }
        }
    }

    /// Opens the file at the path (or the file it was before a rotation, to finish it). False
    /// when there is none yet.
    fn open_path(&mut self) -> io::Result<bool> {
        let path = &self.source.path;
        let file = match File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                // A file created later is new: read all of it.
                self.start = Start::Beginning;
                return Ok(false);
            }
            Err(error) => return Err(error),
        };
        let meta = file.metadata()?;
        let id = FileId::of(&meta);
        let fresh = Position { id, offset: 0, skipping: false };
        let (file, position) = match resume(self.saved.take(), id, meta.len()) {
            Resume::At(position) => (file, position),
            Resume::Truncated => {
                self.out.metrics.file_truncations.add(1);
                (file, fresh)
            }
            Resume::Rotated(position) => match find_beside(path, position.id) {
                Some((old, size)) => {
                    tracing::info!(path = %path.display(), "The file was rotated while firebreak was stopped; finishing the old one first.");
                    let offset = if position.offset > size { 0 } else { position.offset };
                    (old, Position { offset, ..position })
                }
                None => {
                    tracing::warn!(path = %path.display(), "The file was rotated while firebreak was stopped and the old one is not beside it any more; what was written to it after the last stop is not read.");
                    (file, fresh)
                }
            },
            Resume::New => match self.start {
                Start::Beginning => (file, fresh),
                Start::End => {
                    let (offset, skipping) = last_line_start(&file, meta.len(), self.out.max_line)?;
                    (file, Position { id, offset, skipping })
                }
            },
        };
        // Saved at once, so that a file begun at its end does not lose what is written to it
        // before a restart.
        if let Err(error) = save_position(&self.out.state_path, path, position) {
            tracing::warn!(path = %path.display(), %error, "Could not save how far a followed file was read.");
        }
        self.open = Some(Open {
            file,
            cursor: position,
            committed: position,
            reader: new_reader(self.source.format),
        });
        Ok(true)
    }
}

fn new_reader(format: FileFormat) -> Reader {
    match format.format() {
        Some(format) => Reader::Parser(Box::new(LineParser::new(format, ParseConfig::default()))),
        None => Reader::Undecided,
    }
}

/// Reads the complete lines after the cursor into the spool, batch by batch. With `finish`
/// (the file is no longer at the path), a last line without its newline is read too.
fn read(
    source: &FileSource,
    out: &Out,
    open: &mut Open,
    buffer: &mut [u8],
    finish: bool,
) -> io::Result<()> {
    let path = &source.path;
    decide_format(path, out, open, finish)?;
    if matches!(open.reader, Reader::Undecided) {
        return Ok(());
    }
    let mut pending = Pending::default();
    loop {
        let base = open.cursor.offset;
        let size = read_at(&open.file, buffer, base)?;
        let data = &buffer[..size];
        let mut at = 0;
        if open.cursor.skipping {
            match data.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    at = end + 1;
                    open.cursor.skipping = false;
                }
                None => at = size,
            }
            open.cursor.offset = base + at as u64;
        }
        while let Some(end) = data[at..].iter().position(|&b| b == b'\n') {
            read_line(out, open, &data[at..at + end], &mut pending);
            at += end + 1;
            open.cursor.offset = base + at as u64;
            if pending.is_full() {
                out.commit(path, &mut pending, open)?;
            }
        }
        let rest = &data[at..];
        let at_end = size < buffer.len();
        if rest.len() > out.max_line {
            // No newline in sight and already too long: skip to the line's end.
            out.metrics.file_lines.add(1);
            out.metrics.file_too_long.add(1);
            open.cursor.skipping = true;
            at = size;
        } else if finish && at_end && !rest.is_empty() {
            read_line(out, open, rest, &mut pending);
            at = size;
        }
        open.cursor.offset = base + at as u64;
        out.commit(path, &mut pending, open)?;
        // A partial line waits for its newline; a full chunk means there is more to read.
        if at_end || at == 0 || out.stopping() {
            return Ok(());
        }
    }
}

/// Reads one complete line into the batch, or counts why not.
fn read_line(out: &Out, open: &mut Open, line: &[u8], pending: &mut Pending) {
    if line.trim_ascii().is_empty() {
        return;
    }
    out.metrics.file_lines.add(1);
    let Reader::Parser(parser) = &mut open.reader else {
        out.metrics.file_unreadable.add(1);
        return;
    };
    let invalid_utf8 = parser.stats().invalid_utf8;
    match parser.parse(line, out.clock.now()) {
        Ok(event) => pending.push(&event),
        Err(ParseError::TooLong { .. }) => out.metrics.file_too_long.add(1),
        Err(_) => out.metrics.file_unreadable.add(1),
    }
    if parser.stats().invalid_utf8 > invalid_utf8 {
        out.metrics.file_invalid_utf8.add(1);
    }
}

/// With `format = "auto"`, judges the format from the file's first lines, once there are
/// enough of them (or the file is finished).
fn decide_format(path: &Path, out: &Out, open: &mut Open, finish: bool) -> io::Result<()> {
    if !matches!(open.reader, Reader::Undecided) {
        return Ok(());
    }
    let mut head = vec![0u8; SAMPLE_LINES * 4096];
    let size = read_at(&open.file, &mut head, 0)?;
    let mut lines: Vec<&[u8]> = head[..size].split(|&b| b == b'\n').collect();
    // What follows the last newline is a line only once the file is finished.
    if !finish {
        lines.pop();
    }
    lines.truncate(SAMPLE_LINES);
    let samples: Vec<String> =
        lines.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
    let samples: Vec<&str> = samples.iter().map(String::as_str).collect();
    match detect_format(&samples, out.clock.now()) {
        Some(format) => {
            tracing::info!(path = %path.display(), format = format.name(), "Reading a followed file in the format of its first lines.");
            open.reader = Reader::Parser(Box::new(LineParser::new(format, ParseConfig::default())));
        }
        None if finish || lines.len() >= SAMPLE_LINES || size == head.len() => {
            tracing::warn!(path = %path.display(), "Cannot tell which log format a followed file is in from its first lines (syslog/OpenSSH, nginx or Apache access or error logs, JSON); its lines are counted as unreadable. Set `format` in its [[sources.file]].");
            open.reader = Reader::Unknown;
        }
        None => {} // Too few lines yet.
    }
    Ok(())
}

/// Reads from `offset` until the buffer is full or the file ends; returns the bytes read.
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read_at(&mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Where the line being written at the end of a file starts (just after the last newline), so
/// that a line half written when the file is first opened is read whole once complete. Also
/// whether that line is already too long to keep (then it is skipped).
fn last_line_start(file: &File, size: u64, max_line: usize) -> io::Result<(u64, bool)> {
    let back = size.min(max_line as u64 + 1);
    let mut tail = vec![0u8; usize::try_from(back).unwrap_or(max_line)];
    let read = read_at(file, &mut tail, size - back)?;
    Ok(match tail[..read].iter().rposition(|&b| b == b'\n') {
        Some(newline) => (size - back + newline as u64 + 1, false),
        None if back == size => (0, false),
        None => (size, true),
    })
}

/// The file with the given identity in the same directory as `path` (where a rotation usually
/// leaves it: `auth.log.1`), with its size.
fn find_beside(path: &Path, id: FileId) -> Option<(File, u64)> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::read_dir(dir).ok()?.filter_map(Result::ok).find_map(|entry| {
        let candidate = entry.path();
        let meta = fs::metadata(&candidate).ok()?;
        if candidate == path || !meta.is_file() || FileId::of(&meta) != id {
            return None;
        }
        Some((File::open(&candidate).ok()?, meta.len()))
    })
}

/// The position an earlier run saved for `path`, if any (a file that does not read is
/// reported and ignored: the file is then read as one never seen).
fn read_position(state: &Path, path: &Path) -> Option<Position> {
    let bytes = match fs::read(state) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return None,
        Err(error) => {
            tracing::warn!(file = %state.display(), %error, "The saved position of a followed file cannot be read.");
            return None;
        }
    };
    match serde_json::from_slice::<Saved>(&bytes) {
        Ok(saved) if saved.path == path => Some(saved.position),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(file = %state.display(), %error, "The saved position of a followed file does not read.");
            None
        }
    }
}

/// Writes the position atomically: a temporary file, synced, renamed over the old one, and the
/// directory synced so that the rename holds.
fn save_position(state: &Path, path: &Path, position: Position) -> io::Result<()> {
    let bytes =
        serde_json::to_vec(&Saved { path: path.to_owned(), position }).map_err(io::Error::other)?;
    let temp = state.with_extension("json.tmp");
    let mut file = File::create(&temp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    fs::rename(&temp, state)?;
    if let Some(dir) = state.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: FileId = FileId { device: 1, inode: 10 };
    const B: FileId = FileId { device: 1, inode: 11 };

    fn at(id: FileId, offset: u64) -> Position {
        Position { id, offset, skipping: false }
    }

    #[test]
    fn where_a_restart_begins() {
        let cases = [
            (None, A, 100, Resume::New),
            (Some(at(A, 40)), A, 100, Resume::At(at(A, 40))),
            (Some(at(A, 100)), A, 100, Resume::At(at(A, 100))),
            (Some(at(A, 140)), A, 100, Resume::Truncated),
            (Some(at(A, 40)), B, 100, Resume::Rotated(at(A, 40))),
            (Some(at(A, 40)), B, 0, Resume::Rotated(at(A, 40))),
        ];
        for (saved, id, size, want) in cases {
            assert_eq!(resume(saved, id, size), want, "{saved:?} {id:?} {size}");
        }
    }

    #[test]
    fn what_follows_the_end_of_the_open_file() {
        let cases = [
            (at(A, 100), 100, Some(A), Next::Wait),
            (at(A, 100), 150, Some(A), Next::Wait),
            (at(A, 100), 100, None, Next::Wait),
            (at(A, 100), 20, Some(A), Next::Truncated),
            (at(A, 100), 20, None, Next::Truncated),
            (at(A, 100), 100, Some(B), Next::Rotated),
            // Rotated and the old file cut as well: the rotation wins (the old one is finished).
            (at(A, 100), 20, Some(B), Next::Rotated),
        ];
        for (open, size, at_path, want) in cases {
            assert_eq!(next(&open, size, at_path), want, "{open:?} {size} {at_path:?}");
        }
    }

    #[test]
    fn a_file_begun_at_its_end_begins_at_its_unfinished_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let cases: [(&[u8], (u64, bool)); 5] = [
            (b"", (0, false)),
            (b"one\ntwo\n", (8, false)),
            (b"one\ntwo\nthr", (8, false)),
            (b"unfinished", (0, false)),
            (b"one\nxxxxxxxxxxxxxxxxxxxx", (24, true)),
        ];
        for (content, want) in cases {
            std::fs::write(&path, content).unwrap();
            let file = File::open(&path).unwrap();
            let size = content.len() as u64;
            assert_eq!(last_line_start(&file, size, 16).unwrap(), want, "{content:?}");
        }
    }

    #[test]
    fn the_rotated_file_is_found_beside_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        std::fs::write(&path, "old\n").unwrap();
        let old = FileId::of(&std::fs::metadata(&path).unwrap());
        std::fs::rename(&path, dir.path().join("auth.log.1")).unwrap();
        std::fs::write(&path, "new line\n").unwrap();
        let (_, size) = find_beside(&path, old).unwrap();
        assert_eq!(size, 4);
        let new = FileId::of(&std::fs::metadata(&path).unwrap());
        assert!(find_beside(&path, new).is_none(), "the file at the path is not the old one");
    }

    #[test]
    fn a_position_survives_a_save_and_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("file-x.json");
        let path = Path::new("/var/log/auth.log");
        let position = Position { id: A, offset: 1234, skipping: true };
        save_position(&state, path, position).unwrap();
        assert_eq!(read_position(&state, path), Some(position));
        assert_eq!(read_position(&state, Path::new("/var/log/other.log")), None);
        std::fs::write(&state, "{ torn").unwrap();
        assert_eq!(read_position(&state, path), None);
    }
}
