//! The Dockerfile passes hadolint (from the test virtualenv; no Docker
//! engine is needed or used).

use std::process::Command;

use crate::support::{root, test_python};

#[test]
#[ignore = "needs the test virtualenv: run scripts/test"]
fn dockerfile_passes_hadolint() {
    let python = test_python();
    let hadolint = python.with_file_name("hadolint");
    let output = Command::new(&hadolint)
        .arg(root().join("Dockerfile"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", hadolint.display()));
    assert!(
        output.status.success(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
