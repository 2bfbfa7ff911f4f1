//! CSS in `<style>` elements and `style` attributes: parsed and rewritten
//! from the rules and declarations that are understood and harmless.
//!
//! At-rules (`@import`, `@font-face`, `@namespace`, ...) never survive the
//! rewrite. A declaration survives when it sets a presentation property and
//! its value passes [`safe_value`]: no escapes or comments to hide a
//! keyword, no script URL or legacy script hook, and `url()` only to a
//! fragment of the document itself.

use simplecss::{DeclarationTokenizer, StyleSheet};

use super::allowlist;

/// Function names whose argument is fetched, beside `url(`.
const LOADING_FUNCTIONS: [&str; 5] = ["image-set(", "image(", "src(", "cross-fade(", "element("];

/// Keywords that run or load something in some browser (white space removed).
const DANGEROUS: [&str; 6] = [
    "javascript:",
    "vbscript:",
    "expression(",
    "-moz-binding:",
    "behavior:",
    "@import",
];

/// A `<style>` element's text, keeping only safe rules.
pub fn stylesheet(text: &str) -> String {
    if text.contains('\\') {
        // Escapes can spell any keyword; no real drawing needs them.
        return String::new();
    }
    let sheet = StyleSheet::parse(text);
    let mut out = String::new();
    for rule in &sheet.rules {
        let selector = shorthand_selectors(&rule.selector.to_string());
        if selector.contains(['\\', '@', '{', '}', ';', '<']) || !safe_value(&selector) {
            continue;
        }
        let declarations: Vec<String> = rule
            .declarations
            .iter()
            .filter_map(|d| declaration(d.name, d.value, d.important))
            .collect();
        if !declarations.is_empty() {
            out.push_str(&format!("{selector}{{{}}}\n", declarations.join(";")));
        }
    }
    out
}

/// A `style` attribute's text, keeping only safe declarations; `None` when
/// nothing is left.
pub fn declarations(text: &str) -> Option<String> {
    if text.contains('\\') {
        return None;
    }
    let kept: Vec<String> = DeclarationTokenizer::from(text)
        .filter_map(|d| declaration(d.name, d.value, d.important))
        .collect();
    (!kept.is_empty()).then(|| kept.join(";"))
}

/// `*[class~='a']` back to `*.a` and `*[id='a']` to `*#a`, as written:
/// the same elements, and the specificity browsers give the original.
fn shorthand_selectors(selector: &str) -> String {
    let mut out = selector.to_owned();
    for (long, short) in [("[class~='", "."), ("[id='", "#")] {
        while let Some(start) = out.find(long) {
            let value_start = start + long.len();
            let Some(length) = out[value_start..].find("']") else {
                break;
            };
            let value = out[value_start..value_start + length].to_owned();
            if value.is_empty() || !value.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
                break;
            }
            out.replace_range(start..value_start + length + 2, &format!("{short}{value}"));
        }
    }
    out
}

fn declaration(name: &str, value: &str, important: bool) -> Option<String> {
    let name = name.trim().to_ascii_lowercase();
    let value = value.trim();
    let plain = !value.contains(['{', '}', ';', '<', '>']);
    (allowlist::css_property(&name) && plain && safe_value(value)).then(|| {
        let important = if important { " !important" } else { "" };
        format!("{name}:{value}{important}")
    })
}

/// Whether an attribute or CSS value neither runs nor loads anything: no
/// backslash escapes or comments, no script scheme or legacy CSS hooks, no
/// loading function, and every `url()` a local `#id`.
pub fn safe_value(value: &str) -> bool {
    if value.contains('\\') || value.contains("/*") {
        return false;
    }
    let compact: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    if DANGEROUS
        .iter()
        .chain(LOADING_FUNCTIONS.iter())
        .any(|k| compact.contains(k))
    {
        return false;
    }
    let mut rest = compact.as_str();
    while let Some(at) = rest.find("url(") {
        let after = &rest[at + 4..];
        let Some(end) = after.find(')') else {
            return false;
        };
        let target = after[..end].trim_matches(['"', '\'']);
        if !is_fragment(target) {
            return false;
        }
        rest = &after[end + 1..];
    }
    true
}

/// `#id`: a reference into the document itself.
pub fn is_fragment(target: &str) -> bool {
    target.strip_prefix('#').is_some_and(|id| {
        !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.') || (!c.is_ascii() && !c.is_control()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_drawing_rules() {
        let css = ".st0{fill:#FF0000;stroke:url(#g)} rect > circle { opacity: .5 !important } #a, g{stroke-width:2}";
        let out = stylesheet(css);
        assert!(out.contains("*.st0{fill:#FF0000;stroke:url(#g)}"), "{out}");
        assert!(out.contains("rect > circle{opacity:.5 !important}"), "{out}");
        assert!(
            out.contains("*#a{stroke-width:2}") && out.contains("g{stroke-width:2}"),
            "{out}"
        );
        assert_eq!(shorthand_selectors("g *[class~='x-1'][id='y']"), "g *.x-1#y");
        assert_eq!(shorthand_selectors("*[class~='a b']"), "*[class~='a b']");
        assert_eq!(
            declarations("fill: red; stroke-width:3px;").as_deref(),
            Some("fill:red;stroke-width:3px")
        );
    }

    #[test]
    fn drops_everything_that_loads_or_runs() {
        let css = concat!(
            "@import url(/cb/x); @import \"/cb/y\"; @font-face { src: url(/cb/z) }\n",
            "rect { fill: url(http://example.invalid/p.svg#g); stroke: blue }\n",
            "g { filter: url( 'data:image/svg+xml,x' ); mask: image-set(\"/cb/m\" 1x) }\n",
            "a { behavior: url(x.htc); -moz-binding: url(x.xml#b); width: expression(alert(1)) }\n",
            "circle { background-image: url(#ok); fill: u/**/rl(/cb/c) }\n",
        );
        let out = stylesheet(css);
        assert_eq!(out, "rect{stroke:blue}\n");
        assert_eq!(stylesheet("@\\69mport url(/cb/x); rect{fill:red}"), "");
        assert_eq!(declarations("fill:url(/cb/a); behavior:url(b)"), None);
        assert_eq!(declarations("fill:u\\72l(/cb/a)"), None);
    }

    #[test]
    fn urls_must_be_local_fragments() {
        assert!(safe_value("url(#grad)") && safe_value("url( \"#a-1\" ) none") && safe_value("behavior-icon"));
        for value in [
            "url(/cb/x)",
            "url(#)",
            "url(#a)url(http://x)",
            "URL(http://x)",
            "url(",
            "java\tscript:alert(1)",
            "x;behavior : foo",
            "JavaScript:alert(1)",
            "url(#x\\29)",
        ] {
            assert!(!safe_value(value), "{value}");
        }
    }
}
