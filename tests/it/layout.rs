//! The one-way flow holds: the pure layers (grammar, geometry, pixels, SVG,
//! identities, signatures, key confinement) import no HTTP, async runtime or
//! storage crate, so they stay testable without I/O.

use std::path::{Path, PathBuf};

use crate::support::root;

/// Crates that do I/O or belong to the service layers.
const SERVICE_CRATES: [&str; 5] = ["actix_web", "tokio", "object_store", "moka", "tracing"];

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).expect("readable folder") {
        files.extend(rust_files(&entry.expect("entry").path()));
    }
    files
}

#[test]
fn pure_layers_import_no_service_crates() {
    let pure = [
        "src/spec",
        "src/plan",
        "src/pipeline",
        "src/svg",
        "src/format.rs",
        "src/cache/key.rs",
        "src/store/key.rs",
        "src/signature.rs",
        "src/wagtail/signature.rs",
    ];
    let mut offences = Vec::new();
    for file in pure.iter().flat_map(|p| rust_files(&root().join(p))) {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if SERVICE_CRATES.iter().any(|c| code.contains(&format!("{c}::"))) {
                offences.push(format!("{}:{}: {code}", file.display(), n + 1));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "pure modules use service crates:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_shared_state_does_not_depend_on_the_http_layer() {
    let text = std::fs::read_to_string(root().join("src/state.rs")).expect("readable source");
    let offences: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && l.contains("crate::http"))
        .collect();
    assert!(
        offences.is_empty(),
        "src/state.rs uses the HTTP layer:\n{}",
        offences.join("\n")
    );
}
