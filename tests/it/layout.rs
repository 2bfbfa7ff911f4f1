//! The one-way flow holds: the pure layers (grammar, geometry, pixels, SVG,
//! identities, signatures, key confinement) import no HTTP, async runtime,
//! database or storage crate and touch no file system, and every module
//! imports only the modules below it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::root;

/// Crates and standard modules that do I/O or belong to the service layers.
const SERVICE_PATHS: [&str; 9] = [
    "actix_web::",
    "tokio::",
    "object_store::",
    "moka::",
    "tracing::",
    "sqlx::",
    "std::fs",
    "std::net",
    "std::process",
];

/// The files of the pure layers.
const PURE: [&str; 9] = [
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

/// Each top-level module and the modules it may import: the arrows point
/// down only (the library never sees the command line, storage never calls
/// the pipeline, the shared state does not know HTTP).
const ALLOWED: [(&str, &[&str]); 18] = [
    ("allocator", &[]),
    ("format", &[]),
    ("spec", &["format"]),
    ("plan", &["format", "spec"]),
    ("svg", &["format", "plan"]),
    ("pipeline", &["format", "plan", "spec", "svg"]),
    ("signature", &[]),
    ("metrics", &[]),
    ("store", &["format"]),
    ("cache", &["format", "pipeline", "plan", "store"]),
    ("workers", &["metrics", "pipeline"]),
    ("wagtail", &["format", "plan", "spec", "store"]),
    (
        "renditions",
        &[
            "cache", "format", "metrics", "pipeline", "plan", "spec", "store", "workers",
        ],
    ),
    (
        "config",
        &[
            "format", "pipeline", "plan", "spec", "store", "svg", "wagtail", "workers",
        ],
    ),
    (
        "state",
        &[
            "cache",
            "config",
            "metrics",
            "pipeline",
            "renditions",
            "signature",
            "spec",
            "store",
            "svg",
            "wagtail",
            "workers",
        ],
    ),
    (
        "http",
        &[
            "cache",
            "config",
            "format",
            "metrics",
            "pipeline",
            "plan",
            "renditions",
            "signature",
            "spec",
            "state",
            "store",
            "svg",
            "wagtail",
            "workers",
        ],
    ),
    ("server", &["config", "http", "signature", "state", "store"]),
    ("lib", &[]),
];

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

/// The lines of a file that are code (not comments), up to its unit tests.
fn code_lines(file: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(file).expect("readable source");
    text.lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line.trim_start().to_owned()))
        .take_while(|(_, line)| line != "#[cfg(test)]")
        .filter(|(_, line)| !line.starts_with("//"))
        .collect()
}

/// The top-level modules a line names through `crate::`, including those
/// of a `use crate::{a, b::c}` group.
fn crate_edges(line: &str, modules: &BTreeSet<&str>) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in line.match_indices("crate::") {
        let rest = &line[at + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group
                .split(['}', ','])
                .map(|part| part.trim().split("::").next().unwrap_or_default())
                .collect(),
            None => vec![
                rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or_default(),
            ],
        };
        found.extend(names.into_iter().filter(|n| modules.contains(n)).map(str::to_owned));
    }
    found
}

#[test]
fn pure_layers_do_no_io() {
    let mut offences = Vec::new();
    for file in PURE.iter().flat_map(|p| rust_files(&root().join(p))) {
        for (n, code) in code_lines(&file) {
            if SERVICE_PATHS.iter().any(|c| code.contains(c)) {
                offences.push(format!("{}:{n}: {code}", file.display()));
            }
        }
    }
    assert!(offences.is_empty(), "pure modules do I/O:\n{}", offences.join("\n"));
}

#[test]
fn modules_import_only_the_layers_below_them() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.into_iter().collect();
    let modules: BTreeSet<&str> = allowed.keys().copied().collect();
    let mut offences = Vec::new();
    let mut seen = BTreeSet::new();
    for file in rust_files(&root().join("src")) {
        let relative = file.strip_prefix(root().join("src")).expect("under src");
        let first = relative.iter().next().and_then(|s| s.to_str()).unwrap_or_default();
        let module = first.trim_end_matches(".rs");
        if matches!(module, "main" | "cli" | "commands") {
            // The binary's own modules may use the whole library.
            continue;
        }
        let Some(may) = allowed.get(module) else {
            offences.push(format!("{}: a module the layering does not know", file.display()));
            continue;
        };
        for (n, code) in code_lines(&file) {
            for target in crate_edges(&code, &modules) {
                seen.insert((module.to_owned(), target.clone()));
                if target != module && !may.contains(&target.as_str()) {
                    offences.push(format!("{}:{n}: {module} -> {target}: {code}", file.display()));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "imports against the flow:\n{}",
        offences.join("\n")
    );
    // The check sees real edges, so it can fail.
    assert!(
        seen.contains(&("renditions".to_owned(), "pipeline".to_owned())),
        "{seen:?}"
    );
    assert!(seen.contains(&("http".to_owned(), "state".to_owned())), "{seen:?}");
}

#[test]
fn the_edge_parser_reads_groups_and_paths() {
    let modules: BTreeSet<&str> = ["http", "store", "plan"].into_iter().collect();
    assert_eq!(crate_edges("use crate::http::signature::Signer;", &modules), ["http"]);
    assert_eq!(
        crate_edges("use crate::{plan::{self, Plan}, store};", &modules),
        ["plan", "store"]
    );
    assert_eq!(
        crate_edges("let x = crate::store::object_path(k);", &modules),
        ["store"]
    );
    assert!(crate_edges("use super::http;", &modules).is_empty());
}
