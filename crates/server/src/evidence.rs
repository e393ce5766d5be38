//! Evidence bytes, content-addressed: `DIR/sha256/AB/ABCDEF…` holds the bytes whose SHA-256 is
//! `ABCDEF…`. Writes go to a temporary file, are synced, then renamed into place, so a crash
//! never leaves a half-written blob under a real hash. Identical content is stored once.

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

/// What a re-check of stored bytes found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Intact,
    Missing,
    Changed { sha256: String, size: u64 },
}

/// Writes one blob as it arrives, hashing as it goes.
#[derive(Debug)]
pub struct BlobWriter {
    file: tokio::fs::File,
    temp: PathBuf,
    hasher: Sha256,
    size: u64,
    limit: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the content is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl BlobStore {
    pub fn new(dir: PathBuf) -> BlobStore {
        BlobStore { dir }
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64
            && sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        valid.then(|| self.dir.join("sha256").join(&sha256[..2]).join(sha256))
    }

    /// A fresh path in the store's own temporary folder (same file system as the blobs, so a
    /// rename into place is atomic), named `PREFIX` + 128 random bits + `suffix`.
    pub async fn temp_path(&self, prefix: &str, suffix: &str) -> io::Result<PathBuf> {
        let temp_dir = self.dir.join("tmp");
        tokio::fs::create_dir_all(&temp_dir).await?;
        let mut name = [0u8; 16];
        getrandom::fill(&mut name).map_err(|error| io::Error::other(error.to_string()))?;
        let random: String = name.iter().map(|b| format!("{b:02x}")).collect();
        Ok(temp_dir.join(format!("{prefix}{random}{suffix}")))
    }

    pub async fn writer(&self, limit: u64) -> io::Result<BlobWriter> {
        let temp = self.temp_path("", "").await?;
        let file = tokio::fs::File::create(&temp).await?;
        Ok(BlobWriter { file, temp, hasher: Sha256::new(), size: 0, limit })
    }

    /// Stores bytes already in memory.
    pub async fn put(&self, bytes: &[u8], limit: u64) -> Result<(String, u64), BlobError> {
        let mut writer = self.writer(limit).await?;
        writer.write(bytes).await?;
        writer.finish(self).await
    }

    pub async fn read(&self, sha256: &str) -> io::Result<tokio::fs::File> {
        let path = self
            .path(sha256)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a SHA-256"))?;
        tokio::fs::File::open(path).await
    }

    /// The file holding `sha256`, for exports.
    pub fn file_path(&self, sha256: &str) -> Option<PathBuf> {
        self.path(sha256)
    }

    /// Re-reads the stored bytes and compares them with what was recorded at acquisition.
    pub async fn check(&self, sha256: &str, size: u64) -> io::Result<Check> {
        let Some(path) = self.path(sha256) else { return Ok(Check::Missing) };
        let hashed = tokio::task::spawn_blocking(move || hash_file(&path))
            .await
            .map_err(|error| io::Error::other(error.to_string()))?;
        match hashed {
            Ok((actual, actual_size)) if actual == sha256 && actual_size == size => {
                Ok(Check::Intact)
            }
            Ok((actual, actual_size)) => Ok(Check::Changed { sha256: actual, size: actual_size }),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Check::Missing),
            Err(error) => Err(error),
        }
    }
}

fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((firebreak_core::Hash(hasher.finalize().into()).to_hex(), size))
}

impl BlobWriter {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            let _ = tokio::fs::remove_file(&self.temp).await;
            return Err(BlobError::TooLarge(self.limit));
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        Ok(())
    }

    /// Syncs and moves the blob under its hash. Returns the hash and the size.
    pub async fn finish(mut self, store: &BlobStore) -> Result<(String, u64), BlobError> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        let sha256 = firebreak_core::Hash(self.hasher.finalize().into()).to_hex();
        let path = store.path(&sha256).ok_or_else(|| io::Error::other("bad hash"))?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        if tokio::fs::try_exists(&path).await? {
            tokio::fs::remove_file(&self.temp).await?;
        } else {
            tokio::fs::rename(&self.temp, &path).await?;
            if let Some(parent) = path.parent() {
                tokio::fs::File::open(parent).await?.sync_all().await?;
            }
        }
        Ok((sha256, self.size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_are_stored_once_under_their_hash_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path().to_owned());
        let (sha, size) = store.put(b"abc", 10).await.unwrap();
        assert_eq!(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(size, 3);
        assert_eq!(store.put(b"abc", 10).await.unwrap().0, sha);
        assert_eq!(store.check(&sha, 3).await.unwrap(), Check::Intact);
        std::fs::write(store.file_path(&sha).unwrap(), b"abd").unwrap();
        assert!(matches!(store.check(&sha, 3).await.unwrap(), Check::Changed { .. }));
        std::fs::remove_file(store.file_path(&sha).unwrap()).unwrap();
        assert_eq!(store.check(&sha, 3).await.unwrap(), Check::Missing);
        assert!(matches!(store.put(b"0123456789abc", 10).await, Err(BlobError::TooLarge(10))));
        assert_eq!(store.check("../../etc/passwd", 3).await.unwrap(), Check::Missing);
    }
}
