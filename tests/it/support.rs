//! Shared helpers: the real binary, the test images, the spec matrix.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the real `renditiond` binary.
pub fn renditiond(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_renditiond"))
        .args(args)
        .output()
        .expect("the renditiond binary runs")
}

/// Runs `renditiond render INPUT SPEC -o OUTPUT [--focal-point FOCAL]`.
pub fn render(input: &Path, spec: &str, output: &Path, focal: Option<&str>) -> Output {
    let (input, output) = (input.to_string_lossy(), output.to_string_lossy());
    let mut args = vec!["render", &input, spec, "-o", &output];
    if let Some(fp) = focal {
        args.extend(["--focal-point", fp]);
    }
    renditiond(&args)
}

/// Parses the single JSON line a command printed on stdout.
pub fn json_line(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(text.lines().count(), 1, "one line expected, got {text:?}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

/// The raster test images (SVG and invalid files live in sub-folders).
pub fn raster_images() -> Vec<PathBuf> {
    let mut images: Vec<PathBuf> = std::fs::read_dir(root().join("test-images"))
        .expect("test-images exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && !matches!(p.extension().and_then(|e| e.to_str()), Some("py" | "md")))
        .collect();
    images.sort();
    assert!(images.len() >= 20, "test-images holds only {} images", images.len());
    images
}

/// The spec matrix shared with the Wagtail comparison.
pub fn render_specs() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("tests/data/render-specs.txt")).expect("spec list exists");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// A fresh, empty scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("renditiond-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// The Python of the test virtualenv, which `scripts/test` passes in
/// `RENDITIOND_TEST_PYTHON`; tests that need it fail without it.
pub fn test_python() -> PathBuf {
    std::env::var_os("RENDITIOND_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("RENDITIOND_TEST_PYTHON is not set: run scripts/test, which installs the test tools"))
}
