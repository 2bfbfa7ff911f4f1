//! The path Wagtail stores a rendition at, `images/<name>` (SPEC §4.3): the
//! original's stem, the focal point key when there is one, the spec with `|`
//! as `.`, and the format's extension, cut to at most 60 characters and passed
//! through Django's `get_valid_name`.

use crate::format::OutputFormat;

/// Wagtail's rendition path for an original called `original_filename`
/// (any directories are ignored), or `None` where Django would refuse the name.
pub fn rendition_path(original_filename: &str, spec: &str, vary_key: &str, format: OutputFormat) -> Option<String> {
    let stem = stem(original_filename);
    let mut tail = format!("{}.{}", spec.replace('|', "."), format.extension());
    if !vary_key.is_empty() {
        tail = format!("{vary_key}.{tail}");
    }
    let keep = 59 - tail.chars().count() as i64;
    let name = format!("{}.{tail}", python_prefix(stem, keep));
    valid_name(&name).map(|n| format!("images/{n}"))
}

/// `os.path.splitext(os.path.basename(path))[0]`.
fn stem(path: &str) -> &str {
    let base = path.rsplit('/').next().unwrap_or(path);
    let dots = base.len() - base.trim_start_matches('.').len();
    match base[dots..].rfind('.') {
        Some(at) => &base[..dots + at],
        None => base,
    }
}

/// Python's `s[:n]` on characters: a negative `n` drops that many from the end.
fn python_prefix(s: &str, n: i64) -> &str {
    let count = s.chars().count() as i64;
    let keep = if n < 0 { (count + n).max(0) } else { n.min(count) };
    let end = s.char_indices().nth(keep as usize).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

/// Django's `get_valid_name`: trim, spaces to `_`, keep only `-`, `.` and
/// word characters; `""`, `.` and `..` are refused.
fn valid_name(name: &str) -> Option<String> {
    let cleaned: String = name
        .trim()
        .replace(' ', "_")
        .chars()
        .filter(|&c| c == '-' || c == '.' || c == '_' || c.is_alphanumeric())
        .collect();
    (!matches!(cleaned.as_str(), "" | "." | "..")).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_wagtail_tests() {
        let png = OutputFormat::Png;
        let rows = [
            ("test_rf1.png", "width-100", "", "images/test_rf1.width-100.png"),
            (
                "test_rf2.png",
                "fill-100x100",
                "2e16d0ba",
                "images/test_rf2.2e16d0ba.fill-100x100.png",
            ),
            (
                "test_rf4.png",
                "fill-200x200|height-150",
                "15ee4958",
                "images/test_rf4.15ee4958.fill-200x200.height-150.png",
            ),
            (
                "original_images/test.png",
                "fill-800x600",
                "2e16d0ba",
                "images/test.2e16d0ba.fill-800x600.png",
            ),
        ];
        for (original, spec, key, expected) in rows {
            assert_eq!(rendition_path(original, spec, key, png).as_deref(), Some(expected));
        }
        assert_eq!(
            rendition_path(
                "a_rather_long_original_file_name_for_testing_purposes.png",
                "fill-100x100|format-webp|webpquality-70",
                "2e16d0ba",
                OutputFormat::Webp
            )
            .as_deref(),
            Some("images/a_rath.2e16d0ba.fill-100x100.format-webp.webpquality-70.webp")
        );
    }

    #[test]
    fn long_tails_eat_the_stem() {
        let spec = "fill-100x100|format-webp|webpquality-70|jpegquality-50|avifquality-20";
        let path = rendition_path("photo.jpg", spec, "2e16d0ba", OutputFormat::Webp).unwrap();
        assert_eq!(path, format!("images/.2e16d0ba.{}.webp", spec.replace('|', ".")));
    }

    #[test]
    fn stems_follow_python() {
        assert_eq!(stem("original_images/photo.final.jpg"), "photo.final");
        assert_eq!(stem(".hidden"), ".hidden");
        assert_eq!(stem("noext"), "noext");
        assert_eq!(stem("dir/a b.png"), "a b");
        assert_eq!(python_prefix("abcdef", -2), "abcd");
        assert_eq!(python_prefix("abc", -5), "");
        assert_eq!(python_prefix("abc", 10), "abc");
        assert_eq!(valid_name(" a b?c.png "), Some("a_bc.png".to_owned()));
        assert_eq!(valid_name(".."), None);
    }
}
