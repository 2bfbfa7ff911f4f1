//! The HTTP service with originals and renditions in Azure Blob Storage as
//! Azurite emulates it (`tests/azure/azurite`, started by `scripts/test`):
//! the scenarios of [`crate::cloud`], and a store that stops answering (a
//! private emulator, stopped with SIGSTOP).

use std::sync::Arc;

use object_store::azure::MicrosoftAzureBuilder;

use crate::cloud::{Bucket, Emulator, Setting, read_scenarios, var, write_scenarios};

/// Azurite's well-known development account and key.
const ACCOUNT: &str = "devstoreaccount1";
const ACCOUNT_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// The container of the emulator at `url`, which the server reaches with
/// `settings`.
fn connect(url: &str, container: &str, settings: Vec<Setting>, test: &str) -> Bucket {
    // Azurite serves the account as the first path segment.
    let store = MicrosoftAzureBuilder::new()
        .with_endpoint(format!("{url}/{ACCOUNT}"))
        .with_allow_http(true)
        .with_account(ACCOUNT)
        .with_access_key(ACCOUNT_KEY)
        .with_container_name(container)
        .build()
        .expect("Azure client");
    Bucket::new(&format!("az://{container}"), settings, Arc::new(store), test)
}

/// The emulator `scripts/test` started, reached as a production account is:
/// its name, its key and (here only) an endpoint.
fn bucket(test: &str) -> Bucket {
    let var = |name| var(name, "Azurite");
    let url = var("RENDITIOND_TEST_AZURE_URL");
    let settings = vec![
        ("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT.to_owned()),
        ("AZURE_STORAGE_ACCOUNT_KEY", ACCOUNT_KEY.to_owned()),
        ("AZURE_STORAGE_ENDPOINT", format!("{url}/{ACCOUNT}")),
        ("AZURE_ALLOW_HTTP", "true".to_owned()),
    ];
    connect(&url, &var("RENDITIOND_TEST_AZURE_CONTAINER"), settings, test)
}

read_scenarios!("needs Azurite: run scripts/test", bucket);
write_scenarios!("needs Azurite: run scripts/test", bucket);

/// This one reaches its private emulator through object_store's emulator
/// switch, as the README shows for Azurite.
#[test]
#[ignore = "needs Azurite: run scripts/test"]
fn a_stalled_store_answers_503_then_recovers() {
    let emulator = Emulator::start("tests/azure/azurite", "AZURITE", "RENDITIOND_TEST_AZURITE");
    let url = emulator.var("RENDITIOND_TEST_AZURE_URL");
    let settings = vec![
        ("AZURE_STORAGE_USE_EMULATOR", "true".to_owned()),
        ("AZURITE_BLOB_STORAGE_URL", url.clone()),
    ];
    let bucket = connect(
        &url,
        &emulator.var("RENDITIOND_TEST_AZURE_CONTAINER"),
        settings,
        "stall",
    );
    crate::cloud::a_stalled_store_answers_503_then_recovers(&emulator, &bucket);
}
