//! The HTTP service with originals and renditions in a real S3-compatible
//! server (SeaweedFS, started by `scripts/test`): the scenarios of
//! [`crate::cloud`].

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;

use crate::cloud::{Bucket, read_scenarios, var, write_scenarios};

/// The S3 server `scripts/test` started.
fn bucket(test: &str) -> Bucket {
    let var = |name| var(name, "SeaweedFS");
    let (endpoint, name) = (var("RENDITIOND_TEST_S3_ENDPOINT"), var("RENDITIOND_TEST_S3_BUCKET"));
    let (key, secret) = (var("RENDITIOND_TEST_S3_KEY"), var("RENDITIOND_TEST_S3_SECRET"));
    let store = AmazonS3Builder::new()
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name(&name)
        .with_access_key_id(&key)
        .with_secret_access_key(&secret)
        .build()
        .expect("S3 client");
    let settings = vec![
        ("AWS_ENDPOINT", endpoint),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_ACCESS_KEY_ID", key),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_REGION", "us-east-1".into()),
    ];
    Bucket::new(&format!("s3://{name}"), settings, Arc::new(store), test)
}

read_scenarios!("needs SeaweedFS: run scripts/test", bucket);
write_scenarios!("needs SeaweedFS: run scripts/test", bucket);
