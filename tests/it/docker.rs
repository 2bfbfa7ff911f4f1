//! The Dockerfile passes hadolint (from the test virtualenv; no Docker
//! engine is needed or used) and has the shape the service needs.

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

#[test]
fn dockerfile_is_multi_stage_non_root_and_listens_on_8080() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert_eq!(lines.iter().filter(|l| l.starts_with("FROM ")).count(), 2, "two stages");
    assert!(
        lines.iter().any(|l| l.contains("/cc-debian12:nonroot")),
        "small distroless runtime"
    );
    assert!(lines.contains(&"EXPOSE 8080"));
    assert!(lines.iter().any(|l| l.contains("RENDITIOND_LISTEN=0.0.0.0:8080")));
    let user = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert!(!user.contains("root") && !user.contains(" 0"), "{user}");
    assert!(lines.contains(&"CMD [\"serve\"]"));
}
