//! CSS in `<style>` elements and `style` attributes: parsed and rewritten
//! from the rules and declarations that are understood and harmless.
//!
//! At-rules (`@import`, `@font-face`, `@namespace`, ...) never survive the
//! rewrite. A declaration survives when it sets a presentation property and
//! its value passes [`safe_value`]: no escapes or comments to hide a
//! keyword, no script URL or legacy script hook, and `url()` only to a
//! fragment of the document itself.

use std::collections::HashMap;

use simplecss::{DeclarationTokenizer, Selector, SelectorTokenizer};

use super::{SvgError, SvgLimits, allowlist};

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

/// The most bytes of rules written into one `style` element. simplecss,
/// which resvg also parses style sheets with, counts lines from the start
/// of its text at every declaration; short sheets keep that linear.
pub const STYLE_CHUNK_BYTES: usize = 2048;

/// The style sheet limits of one document, and what its sheets used so far.
#[derive(Debug)]
pub struct CssBudget {
    max_bytes: usize,
    max_rules: usize,
    max_parts: usize,
    bytes: usize,
    rules: usize,
}

impl CssBudget {
    /// A budget with nothing used.
    pub fn new(limits: &SvgLimits) -> Self {
        Self {
            max_bytes: limits.max_style_bytes,
            max_rules: limits.max_css_rules,
            max_parts: limits.max_selector_parts,
            bytes: 0,
            rules: 0,
        }
    }

    /// Rules written so far (each selector of a list counted).
    pub fn rules(&self) -> usize {
        self.rules
    }
}

/// A `<style>` element's text, keeping only safe rules, in chunks of at
/// most [`STYLE_CHUNK_BYTES`] (a longer rule is a chunk of its own), each
/// to be written as a `style` element of its own. Linear in the text:
/// statements, selector lists and declarations are split here, and
/// simplecss only ever sees one selector or one declaration at a time.
pub fn stylesheet(text: &str, budget: &mut CssBudget) -> Result<Vec<String>, SvgError> {
    budget.bytes = budget.bytes.saturating_add(text.len());
    if budget.bytes > budget.max_bytes {
        return Err(SvgError::TooCostly(format!(
            "the style sheets are larger than the limit of {} bytes",
            budget.max_bytes
        )));
    }
    if text.contains('\\') {
        // Escapes can spell any keyword; no real drawing needs them.
        return Ok(Vec::new());
    }
    let text = strip_comments(text);
    let mut chunks = Vec::new();
    let mut chunk = String::new();
    for (selectors, block) in rule_sets(&text) {
        let declarations = declaration_list(block);
        for selector in split_top_level(selectors, b',') {
            let Some(selector) = clean_selector(selector, budget)? else {
                continue;
            };
            if declarations.is_empty() {
                continue;
            }
            budget.rules += 1;
            if budget.rules > budget.max_rules {
                return Err(SvgError::TooCostly(format!(
                    "the style sheets have more than the limit of {} rules",
                    budget.max_rules
                )));
            }
            let rule = format!("{selector}{{{}}}\n", declarations.join(";"));
            if !chunk.is_empty() && chunk.len() + rule.len() > STYLE_CHUNK_BYTES {
                chunks.push(std::mem::take(&mut chunk));
            }
            chunk.push_str(&rule);
        }
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    Ok(chunks)
}

/// One selector of a list, re-serialised from simplecss's parse; `None`
/// when it is not understood or not safe, an error when it has more parts
/// than allowed.
fn clean_selector(text: &str, budget: &CssBudget) -> Result<Option<String>, SvgError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let mut parts = 0;
    for token in SelectorTokenizer::from(text) {
        if token.is_err() {
            return Ok(None);
        }
        parts += 1;
        if parts > budget.max_parts {
            return Err(SvgError::TooCostly(format!(
                "a CSS selector has more than the limit of {} parts",
                budget.max_parts
            )));
        }
    }
    let Some(selector) = Selector::parse(text) else {
        return Ok(None);
    };
    let selector = shorthand_selectors(&selector.to_string());
    if selector.contains(['\\', '@', '{', '}', ';', '<']) || !balanced(&selector) || !safe_value(&selector) {
        return Ok(None);
    }
    Ok(Some(selector))
}

/// A `style` attribute's text, keeping only safe declarations; `None` when
/// nothing is left.
pub fn declarations(text: &str) -> Option<String> {
    if text.contains('\\') {
        return None;
    }
    let kept = declaration_list(&strip_comments(text));
    (!kept.is_empty()).then(|| kept.join(";"))
}

/// The safe declarations of a block, one per property: the one that wins
/// the cascade (the last `!important` one, else the last), in the order
/// of the winners. So what is written has at most one declaration per
/// known property, however long the original.
fn declaration_list(block: &str) -> Vec<String> {
    let mut winners: Vec<Option<(String, bool)>> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for piece in split_top_level(block, b';') {
        let Some(d) = DeclarationTokenizer::from(piece).next() else {
            continue;
        };
        let Some(written) = declaration(d.name, d.value, d.important) else {
            continue;
        };
        let name = d.name.trim().to_ascii_lowercase();
        if let Some(&previous) = by_name.get(&name) {
            if winners[previous].as_ref().is_some_and(|(_, important)| *important) && !d.important {
                continue;
            }
            winners[previous] = None;
        }
        by_name.insert(name, winners.len());
        winners.push(Some((written, d.important)));
    }
    winners.into_iter().flatten().map(|(d, _)| d).collect()
}

/// `text` with every comment replaced by a space (comments inside strings
/// are string content); an unterminated comment runs to the end.
fn strip_comments(text: &str) -> String {
    if !text.contains("/*") {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut quote = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'/' && bytes.get(i + 1) == Some(&b'*') => {
                out.push_str(&text[copied..i]);
                out.push(' ');
                let end = text[i + 2..].find("*/").map_or(bytes.len(), |at| i + 2 + at + 2);
                copied = end;
                i = end;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// Splits `text` at `separator` outside strings, parentheses and brackets.
fn split_top_level(text: &str, separator: u8) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut quote = None;
    let mut depth = 0usize;
    let mut start = 0;
    for (i, &b) in text.as_bytes().iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth = depth.saturating_sub(1),
                _ if b == separator && depth == 0 => {
                    pieces.push(&text[start..i]);
                    start = i + 1;
                }
                _ => {}
            },
        }
    }
    pieces.push(&text[start..]);
    pieces
}

/// The rule sets of a comment-free style sheet, as `(selector list,
/// declaration block)`, in one pass. At-rules and rules whose block nests
/// other blocks are skipped whole.
fn rule_sets(text: &str) -> Vec<(&str, &str)> {
    let bytes = text.as_bytes();
    let mut rules = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at].is_ascii_whitespace() {
            at += 1;
            continue;
        }
        let at_rule = bytes[at] == b'@';
        // The prelude ends at `{` (a block follows) or, for at-rules, `;`.
        let Some(open) = find_unquoted(bytes, at, |b| b == b'{' || (at_rule && b == b';')) else {
            break;
        };
        if bytes[open] == b';' {
            at = open + 1;
            continue;
        }
        let (close, nested) = block_end(bytes, open + 1);
        if !at_rule && !nested {
            rules.push((&text[at..open], &text[open + 1..close]));
        }
        at = close + 1;
    }
    rules
}

/// The first position from `from` whose byte satisfies `stop`, outside strings.
fn find_unquoted(bytes: &[u8], from: usize, stop: impl Fn(u8) -> bool) -> Option<usize> {
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if stop(b) => return Some(i),
            None => {}
        }
    }
    None
}

/// The position of the `}` closing a block that starts at `from` (the end
/// of the text if none), and whether the block nests others.
fn block_end(bytes: &[u8], from: usize) -> (usize, bool) {
    let mut depth = 0usize;
    let mut nested = false;
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'{' => {
                    depth += 1;
                    nested = true;
                }
                b'}' if depth == 0 => return (i, nested),
                b'}' => depth -= 1,
                _ => {}
            },
        }
    }
    (bytes.len(), nested)
}

/// `*[class~='a']` back to `*.a` and `*[id='a']` to `*#a`, as written:
/// the same elements, and the specificity browsers give the original.
/// One pass over the selector.
fn shorthand_selectors(selector: &str) -> String {
    let mut out = String::with_capacity(selector.len());
    let mut rest = selector;
    while let Some(start) = rest.find('[') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let shortened = [("[class~='", '.'), ("[id='", '#')]
            .into_iter()
            .find_map(|(long, short)| {
                let value_and_rest = tail.strip_prefix(long)?;
                let length = value_and_rest.find("']")?;
                let value = &value_and_rest[..length];
                (!value.is_empty() && value.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_'))
                    .then(|| (short, value, long.len() + length + 2))
            });
        match shortened {
            Some((short, value, consumed)) => {
                out.push(short);
                out.push_str(value);
                rest = &tail[consumed..];
            }
            None => {
                out.push('[');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn declaration(name: &str, value: &str, important: bool) -> Option<String> {
    let name = name.trim().to_ascii_lowercase();
    let value = value.trim();
    let plain = !value.contains(['{', '}', ';', '<', '>']) && balanced(value);
    (allowlist::css_property(&name) && plain && safe_value(value)).then(|| {
        let important = if important { " !important" } else { "" };
        format!("{name}:{value}{important}")
    })
}

/// Whether every string in `text` is closed on its line and every
/// parenthesis and bracket is closed in order. What is written must read
/// back as the same rules: an open quote or bracket would swallow the
/// rules after it when the sheet is parsed again, here or in a browser.
fn balanced(text: &str) -> bool {
    let mut open = Vec::new();
    let mut quote = None;
    for b in text.bytes() {
        match quote {
            Some(_) if b == b'\n' || b == b'\r' || b == b'\x0c' => return false,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'(' => open.push(b')'),
                b'[' => open.push(b']'),
                b')' | b']' if open.pop() != Some(b) => return false,
                _ => {}
            },
        }
    }
    quote.is_none() && open.is_empty()
}

/// Whether an attribute or CSS value neither runs nor loads anything: no
/// backslash escapes, comments or control characters (but white space), no
/// script scheme or legacy CSS hooks, no loading function, and every
/// `url()` a local `#id`.
pub fn safe_value(value: &str) -> bool {
    if value.contains('\\') || value.contains("/*") || value.chars().any(|c| c.is_control() && !c.is_ascii_whitespace())
    {
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

    fn sheet(css: &str) -> String {
        stylesheet(css, &mut CssBudget::new(&SvgLimits::default()))
            .expect("within limits")
            .concat()
    }

    #[test]
    fn keeps_drawing_rules() {
        let css = ".st0{fill:#FF0000;stroke:url(#g)} rect > circle { opacity: .5 !important } #a, g{stroke-width:2}";
        let out = sheet(css);
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
        let out = sheet(css);
        assert_eq!(out, "rect{stroke:blue}\n");
        assert_eq!(sheet("@\\69mport url(/cb/x); rect{fill:red}"), "");
        assert_eq!(declarations("fill:url(/cb/a); behavior:url(b)"), None);
        assert_eq!(declarations("fill:u\\72l(/cb/a)"), None);
    }

    #[test]
    fn one_declaration_per_property_wins() {
        assert_eq!(
            declarations("fill:red;fill:blue !important;fill:green;stroke:red;fill:'a;b'").as_deref(),
            Some("fill:blue !important;stroke:red")
        );
        assert_eq!(declarations(&"fill:red;".repeat(100_000)).as_deref(), Some("fill:red"));
        assert_eq!(
            sheet("a{fill:red;/* ; */stroke:blue;fill:green}"),
            "a{stroke:blue;fill:green}\n"
        );
        assert_eq!(
            sheet("@media print { a{fill:red} } b{x{}} c{fill:red}"),
            "c{fill:red}\n"
        );
    }

    #[test]
    fn style_sheets_are_bounded_and_chunked() {
        let limits = SvgLimits::default();
        let many: String = (0..3000).map(|i| format!(".c{i}{{fill:red}}")).collect();
        let chunks = stylesheet(&many, &mut CssBudget::new(&limits)).expect("3000 rules");
        assert!(chunks.len() > 10 && chunks.iter().all(|c| c.len() <= STYLE_CHUNK_BYTES));
        assert_eq!(chunks.concat().lines().count(), 3000);
        let mut budget = CssBudget::new(&SvgLimits {
            max_css_rules: 100,
            ..limits
        });
        assert!(matches!(stylesheet(&many, &mut budget), Err(SvgError::TooCostly(_))));
        let classes: String = (0..100).map(|i| format!(".c{i}")).collect();
        let long = format!("{classes}{{fill:red}}");
        assert!(matches!(
            stylesheet(&long, &mut CssBudget::new(&limits)),
            Err(SvgError::TooCostly(m)) if m.contains("parts")
        ));
        let mut budget = CssBudget::new(&SvgLimits {
            max_style_bytes: 1000,
            ..limits
        });
        assert!(stylesheet(&"a{fill:red}".repeat(50), &mut budget).is_ok());
        assert!(matches!(
            stylesheet(&"a{fill:red}".repeat(50), &mut budget),
            Err(SvgError::TooCostly(m)) if m.contains("bytes")
        ));
    }

    #[test]
    fn open_strings_and_brackets_are_dropped() {
        // A rule whose block runs to the end of the sheet.
        assert_eq!(sheet("a{stroke:red;fill:ur('x)"), "a{stroke:red}\n");
        assert_eq!(declarations("fill:red;stroke:f(x]").as_deref(), Some("fill:red"));
        assert_eq!(
            declarations("font-family:'A B';fill:f(\"x)").as_deref(),
            Some("font-family:'A B'")
        );
        assert!(balanced("f(a[b]'c)' \"d\")") && !balanced("f(a]") && !balanced("'a\nb'") && !balanced(")("));
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
            "url(\u{7f}#grad)",
            "red\u{1}",
        ] {
            assert!(!safe_value(value), "{value}");
        }
    }
}
