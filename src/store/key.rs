//! Storage keys: the one place that decides which keys may reach a store.
//!
//! A key comes from a URL, after percent-decoding. Whatever the backend (a
//! local folder or a bucket), a key must name an object *inside* the store's
//! root, so anything that could climb out of it or confuse a backend is
//! refused here, before any I/O: empty keys and segments, `.` and `..`
//! segments, absolute paths, backslashes, control characters (NUL included)
//! and over-long keys.

use std::fmt;

use thiserror::Error;

/// The longest key accepted, in bytes (S3's own limit).
pub const MAX_KEY_BYTES: usize = 1024;

/// A validated, relative, `/`-separated key of an object in a store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorageKey(String);

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid storage key: {0}")]
pub struct InvalidKey(pub &'static str);

impl StorageKey {
    /// Validates `key` (already percent-decoded).
    pub fn new(key: &str) -> Result<Self, InvalidKey> {
        if key.is_empty() {
            return Err(InvalidKey("empty"));
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(InvalidKey("too long"));
        }
        if key.starts_with('/') {
            return Err(InvalidKey("absolute path"));
        }
        if key.contains('\\') {
            return Err(InvalidKey("backslash"));
        }
        if key.chars().any(char::is_control) {
            return Err(InvalidKey("control character"));
        }
        for segment in key.split('/') {
            match segment {
                "" => return Err(InvalidKey("empty path segment")),
                "." | ".." => return Err(InvalidKey("relative path segment")),
                _ => {}
            }
        }
        Ok(Self(key.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last segment without its extension (`photos/cat.jpg` → `cat`).
    pub fn stem(&self) -> &str {
        let name = self.0.rsplit('/').next().unwrap_or(&self.0);
        match name.rfind('.') {
            Some(dot) if dot > 0 => &name[..dot],
            _ => name,
        }
    }
}

impl fmt::Display for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_relative_keys() {
        for key in [
            "a.jpg",
            "original_images/photo.jpg",
            "a/b/c d+é%2e.png",
            ".hidden",
            "a..b/c",
        ] {
            assert_eq!(StorageKey::new(key).map(|k| k.0), Ok(key.to_owned()), "{key}");
        }
    }

    #[test]
    fn refuses_keys_that_could_leave_the_store() {
        let long = "a".repeat(MAX_KEY_BYTES + 1);
        for key in [
            "",
            "/etc/passwd",
            "../secret",
            "a/../../b",
            "a/..",
            "./a",
            "a/./b",
            "a//b",
            "a/",
            "a\\..\\b",
            "..\\x",
            "a\0b",
            "a\nb",
            "a\u{7f}",
            long.as_str(),
        ] {
            assert!(StorageKey::new(key).is_err(), "{key:?} was accepted");
        }
    }

    #[test]
    fn stem_is_the_file_name_without_extension() {
        for (key, stem) in [
            ("a/b/cat.jpg", "cat"),
            ("cat", "cat"),
            ("x.tar.gz", "x.tar"),
            (".env", ".env"),
        ] {
            assert_eq!(StorageKey::new(key).map(|k| k.stem().to_owned()), Ok(stem.to_owned()));
        }
    }
}
