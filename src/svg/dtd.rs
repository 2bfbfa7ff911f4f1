//! The internal DTD subset of an SVG: the only part of a doctype renditiond
//! reads is plain-text entity declarations, which drawing programs use for
//! namespace URIs (`<!ENTITY ns_svg "http://www.w3.org/2000/svg">`).
//!
//! Everything that makes DTDs dangerous is refused before anything is
//! expanded: external entities (XXE), parameter entities, and entities whose
//! value holds markup or references (billion laughs, smuggled elements).
//! Element, attribute-list and notation declarations are skipped: renditiond
//! never applies DTD defaults, and its output carries no doctype.

use std::collections::HashMap;

use super::SvgError;

/// The most entities one document may declare.
const MAX_ENTITIES: usize = 256;
/// The longest entity value accepted.
const MAX_ENTITY_VALUE: usize = 4096;

/// Declared general entities: name → replacement text.
pub type Entities = HashMap<String, String>;

/// Reads the entity declarations of a doctype's content (what follows
/// `<!DOCTYPE` up to its closing `>`).
pub fn entities(doctype: &str) -> Result<Entities, SvgError> {
    let mut entities = Entities::new();
    let Some(subset) = internal_subset(doctype)? else {
        return Ok(entities);
    };
    let mut rest = subset;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(entities);
        }
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = skip_past(after, "-->")?;
        } else if let Some(after) = rest.strip_prefix("<?") {
            rest = skip_past(after, "?>")?;
        } else if let Some(after) = rest.strip_prefix("<!ENTITY") {
            let (name, value, after) = entity(after)?;
            if entities.len() >= MAX_ENTITIES {
                return Err(forbidden("too many entity declarations"));
            }
            entities.entry(name.to_owned()).or_insert_with(|| value.to_owned());
            rest = after;
        } else if ["<!ELEMENT", "<!ATTLIST", "<!NOTATION"]
            .iter()
            .any(|d| rest.starts_with(d))
        {
            rest = skip_declaration(rest)?;
        } else if rest.starts_with('%') {
            return Err(forbidden("parameter entity references are not allowed"));
        } else {
            return Err(malformed("unreadable DTD declaration"));
        }
    }
}

/// The text between `[` and `]` of the doctype, if it has an internal subset.
fn internal_subset(doctype: &str) -> Result<Option<&str>, SvgError> {
    let Some(open) = find_unquoted(doctype, '[') else {
        return Ok(None);
    };
    let subset = &doctype[open + 1..];
    let end = subset.rfind(']').ok_or_else(|| malformed("unterminated DTD"))?;
    Ok(Some(&subset[..end]))
}

/// The position of the first `target` outside quoted literals.
fn find_unquoted(text: &str, target: char) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == target => return Some(i),
            None => {}
        }
    }
    None
}

/// One `<!ENTITY name "value">` after its keyword: name, value, and the rest.
fn entity(text: &str) -> Result<(&str, &str, &str), SvgError> {
    let text = text.trim_start();
    if text.starts_with('%') {
        return Err(forbidden("parameter entities are not allowed"));
    }
    let name_end = text
        .find(|c: char| c.is_whitespace())
        .ok_or_else(|| malformed("unterminated entity declaration"))?;
    let (name, text) = (&text[..name_end], text[name_end..].trim_start());
    if name.is_empty() || name.contains(['&', ';', '<', '>', '"', '\'']) {
        return Err(malformed("invalid entity name"));
    }
    if text.starts_with("SYSTEM") || text.starts_with("PUBLIC") {
        return Err(forbidden("external entities are not allowed"));
    }
    let quote = text
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')
        .ok_or_else(|| malformed("entity value must be quoted"))?;
    let body = &text[1..];
    let end = body.find(quote).ok_or_else(|| malformed("unterminated entity value"))?;
    let value = &body[..end];
    if value.contains(['&', '%', '<']) {
        return Err(forbidden("entity values may only be plain text"));
    }
    if value.len() > MAX_ENTITY_VALUE {
        return Err(forbidden("entity value too long"));
    }
    let rest = body[end + 1..].trim_start();
    let rest = rest
        .strip_prefix('>')
        .ok_or_else(|| malformed("unterminated entity declaration"))?;
    Ok((name, value, rest))
}

/// Skips a markup declaration up to its closing `>`, minding quotes.
fn skip_declaration(text: &str) -> Result<&str, SvgError> {
    find_unquoted(text, '>')
        .map(|end| &text[end + 1..])
        .ok_or_else(|| malformed("unterminated DTD declaration"))
}

fn skip_past<'a>(text: &'a str, end: &str) -> Result<&'a str, SvgError> {
    text.find(end)
        .map(|at| &text[at + end.len()..])
        .ok_or_else(|| malformed("unterminated DTD comment or instruction"))
}

fn forbidden(reason: &str) -> SvgError {
    SvgError::Forbidden(reason.to_owned())
}

fn malformed(reason: &str) -> SvgError {
    SvgError::Malformed(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_text_entities_and_skips_other_declarations() {
        let doctype = r#" svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [
            <!ENTITY ns_svg "http://www.w3.org/2000/svg">
            <!-- a comment with ] and > -->
            <!ENTITY ns_xlink 'http://www.w3.org/1999/xlink'>
            <!ATTLIST svg onload CDATA "alert(1)">
            <!ENTITY ns_svg "ignored: the first declaration wins">
        ]"#;
        let e = entities(doctype).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e["ns_svg"], "http://www.w3.org/2000/svg");
        assert_eq!(e["ns_xlink"], "http://www.w3.org/1999/xlink");
        assert!(
            entities(r#" svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd""#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn refuses_dangerous_declarations() {
        for subset in [
            r#"<!ENTITY xxe SYSTEM "file:///etc/passwd">"#,
            r#"<!ENTITY xxe PUBLIC "x" "http://example.invalid/">"#,
            r#"<!ENTITY % p SYSTEM "http://example.invalid/"> %p;"#,
            r#"<!ENTITY a "lol"><!ENTITY b "&a;&a;">"#,
            r#"<!ENTITY s "<script>alert(1)</script>">"#,
            r#"%p;"#,
        ] {
            let doctype = format!(" svg [{subset}]");
            assert!(matches!(entities(&doctype), Err(SvgError::Forbidden(_))), "{subset}");
        }
        assert!(matches!(
            entities(" svg [<!ENTITY a \"x\""),
            Err(SvgError::Malformed(_))
        ));
        assert!(matches!(entities(" svg [ junk ]"), Err(SvgError::Malformed(_))));
    }
}
