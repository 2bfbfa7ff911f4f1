//! renditiond against a real Wagtail 8.0.1 (installed in a virtualenv by
//! `scripts/test`, which passes its Python in `RENDITIOND_TEST_PYTHON`).
//! These tests are ignored by a plain `cargo test`; `scripts/test` runs them.

use std::process::Command;

use crate::support::{root, test_python};

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
fn svg_renditions_match_wagtails_own() {
    python_script("compare_svg.py", &[]);
}
