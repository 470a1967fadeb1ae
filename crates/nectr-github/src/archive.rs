//! A repository's archive (`GET /repos/{owner}/{repo}/tarball/{ref}`), streamed: the download's
//! chunks feed a gzip decoder and a tar reader on a blocking thread through bounded channels,
//! so memory stays bounded by a few chunks and one file's text, whatever the repository's size.

use std::io::Read;

use futures_util::StreamExt;
use nectr_domain::code_host::{ArchiveFile, ArchiveStream, CodeHostError, PathFilter};
use tokio::sync::mpsc::{Receiver, Sender};

/// Files decompressed ahead of the reader.
const AHEAD: usize = 64;

/// The archive's files from the download's chunks.
pub(crate) fn files(
    chunks: Receiver<Result<Vec<u8>, String>>,
    wants_text: PathFilter,
    max_text_bytes: u64,
) -> ArchiveStream {
    let (sender, receiver) = tokio::sync::mpsc::channel(AHEAD);
    tokio::task::spawn_blocking(move || {
        let reader = ChunkReader { chunks, current: Vec::new(), position: 0 };
        if let Err(error) = untar(reader, &sender, wants_text, max_text_bytes) {
            let _ = sender.blocking_send(Err(error));
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
    .boxed()
}

fn untar(
    reader: ChunkReader,
    sender: &Sender<Result<ArchiveFile, CodeHostError>>,
    wants_text: PathFilter,
    max_text_bytes: u64,
) -> Result<(), CodeHostError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let entries = archive.entries().map_err(broken)?;
    for entry in entries {
        let mut entry = entry.map_err(broken)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let raw = entry.path().map_err(broken)?.to_string_lossy().into_owned();
        // GitHub puts everything under one `owner-repo-sha/` folder.
        let Some((_, path)) = raw.split_once('/') else { continue };
        let path = path.to_owned();
        let size = entry.size();
        let text = match wants_text(&path) && size <= max_text_bytes {
            true => read_text(&mut entry, size)?,
            false => None,
        };
        if sender.blocking_send(Ok(ArchiveFile { path, size, text })).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

fn read_text(entry: &mut impl Read, size: u64) -> Result<Option<String>, CodeHostError> {
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    entry.read_to_end(&mut bytes).map_err(broken)?;
    Ok(String::from_utf8(bytes).ok())
}

fn broken(error: std::io::Error) -> CodeHostError {
    CodeHostError::Unavailable(format!("the repository archive could not be read: {error}"))
}

/// A blocking reader over the download's chunks.
struct ChunkReader {
    chunks: Receiver<Result<Vec<u8>, String>>,
    current: Vec<u8>,
    position: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.position == self.current.len() {
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => {
                    self.current = chunk;
                    self.position = 0;
                }
                Some(Err(error)) => return Err(std::io::Error::other(error)),
            }
        }
        let available = &self.current[self.position..];
        let length = available.len().min(buffer.len());
        buffer[..length].copy_from_slice(&available[..length]);
        self.position += length;
        Ok(length)
    }
}
