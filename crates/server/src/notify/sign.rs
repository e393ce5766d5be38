//! Signatures: the server's acknowledgement-link key (created once in the data directory,
//! readable by its owner only) and HMAC-SHA256 for links and webhook bodies.

use std::fmt;
use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The key that signs acknowledgement links.
#[derive(Clone)]
pub struct AckKey([u8; 32]);

impl fmt::Debug for AckKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AckKey([redacted])")
    }
}

/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "notify-ack.key";

impl AckKey {
    /// Reads the key from `data_dir`, or creates it there (mode 0600) on the first start.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<AckKey> {
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => return AckKey::from_hex(text.trim()).ok_or_else(|| bad_key(&path)),
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
            Err(_) => {}
        }
        std::fs::create_dir_all(data_dir)?;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|error| std::io::Error::other(error.to_string()))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut file) => {
                file.write_all(hex(&bytes).as_bytes())?;
                file.sync_all()?;
                Ok(AckKey(bytes))
            }
            // Another process made it first: use theirs.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path)?;
                AckKey::from_hex(text.trim()).ok_or_else(|| bad_key(&path))
            }
            Err(error) => Err(error),
        }
    }

    fn from_hex(text: &str) -> Option<AckKey> {
        firebreak_core::Hash::from_hex(text).map(|hash| AckKey(hash.0))
    }

    fn message(notification_id: i64) -> String {
        format!("firebreak-ack:{notification_id}")
    }

    /// The signature an acknowledgement link for this notification carries.
    pub fn sign(&self, notification_id: i64) -> String {
        hex(&hmac(&self.0, Self::message(notification_id).as_bytes()))
    }

    /// Whether `signature` (hex) is this notification's; compared in constant time.
    pub fn verify(&self, notification_id: i64, signature: &str) -> bool {
        let Some(given) = firebreak_core::Hash::from_hex(signature) else { return false };
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.0) else { return false };
        mac.update(Self::message(notification_id).as_bytes());
        mac.verify_slice(&given.0).is_ok()
    }
}

fn bad_key(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{} does not hold a 64-hex-digit key", path.display()),
    )
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this never fails.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

pub fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        text.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_private_and_signs_one_notification_only() {
        let dir = tempfile::tempdir().unwrap();
        let key = AckKey::load_or_create(dir.path()).unwrap();
        let again = AckKey::load_or_create(dir.path()).unwrap();
        assert_eq!(key.sign(7), again.sign(7));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let signature = key.sign(7);
        assert!(key.verify(7, &signature));
        assert!(!key.verify(8, &signature));
        assert!(!key.verify(7, &key.sign(8)));
        assert!(!key.verify(7, ""));
        assert!(!key.verify(7, "zz"));
        assert!(!format!("{key:?}").contains(&hex(&key.0)));
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
