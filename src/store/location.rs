//! Store locations: the text of `RENDITIOND_ORIGINALS` or
//! `RENDITIOND_RENDITIONS` parsed, validated and opened.
//!
//! A plain path or `file://` URL is a local folder. `s3://bucket[/prefix]`,
//! `gs://bucket[/prefix]` and `az://container[/prefix]` are cloud buckets whose
//! credentials, region and endpoint come from the environment variables
//! `object_store` reads (`AWS_*`, `GOOGLE_*`, `AZURE_*`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};
use thiserror::Error;
use url::Url;

/// Where a store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local folder.
    Local(PathBuf),
    /// A cloud bucket, with an optional key prefix.
    Cloud {
        /// The bucket URL: `s3://bucket`, `gs://bucket` or `az://container`.
        url: Url,
        /// The key prefix inside the bucket, without slashes at either end.
        prefix: String,
    },
}

/// Why a location cannot be used.
#[derive(Debug, Error)]
pub enum LocationError {
    /// The text is not a path or a URL of a known scheme.
    #[error("{0}")]
    Invalid(String),
    /// The store could not be opened.
    #[error("{0}")]
    Open(String),
}

impl Location {
    /// Parses a location; `file://` URLs and plain paths are local folders.
    pub fn parse(text: &str) -> Result<Self, LocationError> {
        if text.trim().is_empty() {
            return Err(LocationError::Invalid("empty location".into()));
        }
        if !text.contains("://") {
            return Ok(Self::Local(PathBuf::from(text)));
        }
        let url = Url::parse(text).map_err(|e| LocationError::Invalid(format!("invalid URL {text:?}: {e}")))?;
        match url.scheme() {
            "file" => url
                .to_file_path()
                .map(Self::Local)
                .map_err(|_| LocationError::Invalid(format!("invalid file URL {text:?}"))),
            "s3" | "gs" | "az" => {
                let bucket = url.host_str().unwrap_or_default();
                if bucket.is_empty() {
                    return Err(LocationError::Invalid(format!("{text:?} names no bucket")));
                }
                let prefix = url.path().trim_matches('/').to_owned();
                let mut bucket_url = url.clone();
                bucket_url.set_path("");
                Ok(Self::Cloud {
                    url: bucket_url,
                    prefix,
                })
            }
            other => Err(LocationError::Invalid(format!(
                "unsupported scheme {other}:// (use a path, file://, s3://, gs:// or az://)"
            ))),
        }
    }

    /// Whether this is a local folder.
    pub fn is_local(&self) -> bool {
        matches!(self, Self::Local(_))
    }

    /// Whether both are reached through the same cloud service (the same
    /// scheme, hence the same endpoint and credentials from the
    /// environment), so that an outage of one is an outage of the other.
    pub fn same_service(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Cloud { url: a, .. }, Self::Cloud { url: b, .. }) => a.scheme() == b.scheme(),
            _ => false,
        }
    }

    /// Opens the store; network calls retry briefly and give up after
    /// `timeout`, so an outage surfaces as an error instead of a hang.
    pub fn open(&self, timeout: Duration) -> Result<Arc<dyn ObjectStore>, LocationError> {
        let open_error = |e: object_store::Error| LocationError::Open(e.to_string());
        match self {
            Self::Local(path) => {
                if !path.is_dir() {
                    return Err(LocationError::Open(format!("{} is not a folder", path.display())));
                }
                let fs = LocalFileSystem::new_with_prefix(path).map_err(open_error)?;
                Ok(Arc::new(fs))
            }
            Self::Cloud { url, prefix } => {
                let retry = RetryConfig {
                    backoff: BackoffConfig::default(),
                    max_retries: 2,
                    retry_timeout: timeout,
                };
                // Timeouts go in as settings: replacing the client options would
                // drop those the builders read from the environment (AWS_ALLOW_HTTP…).
                let timeouts = [
                    (ClientConfigKey::Timeout, format!("{}ms", timeout.as_millis())),
                    (
                        ClientConfigKey::ConnectTimeout,
                        format!("{}ms", timeout.min(Duration::from_secs(5)).as_millis()),
                    ),
                ];
                // The three builders share their method names, not a trait.
                macro_rules! cloud {
                    ($builder:ty, $key:path) => {
                        Arc::new(
                            timeouts
                                .iter()
                                .fold(<$builder>::from_env(), |b, (k, v)| {
                                    b.with_config($key(*k), v)
                                })
                                .with_url(url.as_str())
                                .with_retry(retry)
                                .build()
                                .map_err(open_error)?,
                        )
                    };
                }
                let store: Arc<dyn ObjectStore> = match url.scheme() {
                    "s3" => cloud!(AmazonS3Builder, AmazonS3ConfigKey::Client),
                    "gs" => cloud!(GoogleCloudStorageBuilder, GoogleConfigKey::Client),
                    _ => cloud!(MicrosoftAzureBuilder, AzureConfigKey::Client),
                };
                if prefix.is_empty() {
                    return Ok(store);
                }
                Ok(Arc::new(PrefixStore::new(store, prefix.as_str())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud(url: &str, prefix: &str) -> Location {
        Location::Cloud {
            url: Url::parse(url).expect("valid URL"),
            prefix: prefix.to_owned(),
        }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(
            Location::parse("./test-images").ok(),
            Some(Location::Local("./test-images".into()))
        );
        assert_eq!(
            Location::parse("file:///srv/images").ok(),
            Some(Location::Local("/srv/images".into()))
        );
        assert_eq!(Location::parse("s3://bucket").ok(), Some(cloud("s3://bucket", "")));
        assert_eq!(
            Location::parse("s3://bucket/a/b/").ok(),
            Some(cloud("s3://bucket", "a/b"))
        );
        assert_eq!(
            Location::parse("gs://b/renditions").ok(),
            Some(cloud("gs://b", "renditions"))
        );
        assert_eq!(Location::parse("az://c/x").ok(), Some(cloud("az://c", "x")));
    }

    #[test]
    fn stores_of_one_scheme_share_a_service() {
        let s3 = Location::parse("s3://media/originals").expect("s3");
        assert!(s3.same_service(&Location::parse("s3://renditions").expect("s3")));
        assert!(!s3.same_service(&Location::parse("gs://media").expect("gs")));
        let local = Location::parse("/srv").expect("local");
        assert!(!local.same_service(&local));
    }

    #[test]
    fn refuses_unknown_forms() {
        for text in [
            "",
            "  ",
            "ftp://host/x",
            "s3://",
            "s3:///prefix",
            "http://example.com/x",
        ] {
            assert!(Location::parse(text).is_err(), "{text:?}");
        }
    }
}
