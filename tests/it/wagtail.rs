//! renditiond against a real Wagtail 8.0.1 (installed in a virtualenv by
//! `scripts/test`, which passes its Python in `RENDITIOND_TEST_PYTHON`).
//! These tests are ignored by a plain `cargo test`; `scripts/test` runs them.

use std::process::Command;

use crate::support::{root, scratch, test_python};

fn python_script(script: &str, args: &[&str]) {
    let python = test_python();
    let status = Command::new(&python)
        .arg(root().join("tests/wagtail").join(script))
        .args(["--binary", env!("CARGO_BIN_EXE_renditiond")])
        .args(args)
        .current_dir(root().join("tests/wagtail"))
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        status.success(),
        "{script} found differences (its output above lists them)"
    );
}

#[test]
#[ignore = "needs Wagtail: run scripts/test"]
fn plan_agrees_with_wagtail_on_random_cases() {
    let cases = std::env::var("RENDITIOND_DIFFERENTIAL_CASES").unwrap_or_else(|_| "6000".to_owned());
    python_script("differential.py", &["--cases", &cases]);
}

#[test]
#[ignore = "needs Wagtail: run scripts/test"]
fn renditions_match_wagtails_own() {
    let report = std::env::var("RENDITIOND_COMPARE_REPORT").unwrap_or_default();
    let args: Vec<&str> = if report.is_empty() {
        vec![]
    } else {
        vec!["--report", &report]
    };
    python_script("compare_renders.py", &args);
}

#[test]
#[ignore = "needs Wagtail: run scripts/test"]
fn animations_match_pillows_frames_delays_and_plays() {
    python_script("compare_animation.py", &[]);
}

#[test]
#[ignore = "needs Wagtail: run scripts/test"]
fn svg_renditions_match_wagtails_own() {
    python_script("compare_svg.py", &[]);
}

/// The variable `scripts/test` sets, or a failure naming it.
fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test"))
}

#[test]
#[ignore = "needs Wagtail: run scripts/test"]
fn drop_in_for_a_wagtail_site_on_sqlite() {
    let database = format!("sqlite://{}", scratch("e2e-sqlite").join("wagtail.sqlite3").display());
    python_script("e2e.py", &["--database", &database]);
}

#[test]
#[ignore = "needs PostgreSQL and Wagtail: run scripts/test"]
fn drop_in_for_a_wagtail_site_on_postgresql() {
    let (site, reader) = (
        var("RENDITIOND_TEST_POSTGRES_URL"),
        var("RENDITIOND_TEST_POSTGRES_READONLY_URL"),
    );
    python_script("e2e.py", &["--database", &site, "--renditiond-database", &reader]);
}

#[test]
#[ignore = "needs SeaweedFS and Wagtail: run scripts/test"]
fn drop_in_for_a_wagtail_site_with_originals_in_s3() {
    var("RENDITIOND_TEST_S3_ENDPOINT");
    let database = format!("sqlite://{}", scratch("e2e-s3").join("wagtail.sqlite3").display());
    python_script("e2e.py", &["--database", &database, "--s3"]);
}
