//! Serialises a sanitized tree: UTF-8, no prolog, no doctype, no comments,
//! every namespace declared once on the root.

use super::tree::{Element, Namespace, Node, SVG_NS, XLINK_NS, is_xml_char};

/// The document as UTF-8 text.
pub fn write(root: &Element) -> String {
    let mut out = String::with_capacity(4096);
    write_element(root, &mut out, true, uses_xlink(root));
    out.push('\n');
    out
}

fn uses_xlink(element: &Element) -> bool {
    element.attributes.iter().any(|a| a.ns == Namespace::Xlink) || element.elements().any(uses_xlink)
}

fn write_element(element: &Element, out: &mut String, root: bool, xlink: bool) {
    out.push('<');
    out.push_str(&element.local);
    if root {
        out.push_str(&format!(" xmlns=\"{SVG_NS}\""));
        if xlink {
            out.push_str(&format!(" xmlns:xlink=\"{XLINK_NS}\""));
        }
    }
    for attribute in &element.attributes {
        let prefix = match attribute.ns {
            Namespace::Xlink => "xlink:",
            Namespace::Xml => "xml:",
            _ => "",
        };
        out.push_str(&format!(" {prefix}{}=\"", attribute.local));
        escape(&attribute.value, true, out);
        out.push('"');
    }
    if element.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &element.children {
        match child {
            Node::Element(e) => write_element(e, out, false, xlink),
            Node::Text(t) => escape(t, false, out),
        }
    }
    out.push_str("</");
    out.push_str(&element.local);
    out.push('>');
}

/// Escapes markup characters; in attributes also quotes and white space
/// that a parser would otherwise normalise. The parser refuses characters
/// XML 1.0 cannot hold; should one reach here all the same, it becomes
/// U+FFFD: never dropped, since dropping could join two checked halves
/// into a word the sanitizer never saw (`hre\0f`).
fn escape(text: &str, attribute: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svg::SvgLimits;
    use crate::svg::tree::parse;

    #[test]
    fn characters_xml_cannot_hold_are_replaced_not_dropped() {
        let mut out = String::new();
        escape("hre\u{0}f\u{1d}\u{FFFE}\t&", true, &mut out);
        assert_eq!(out, "hre\u{FFFD}f\u{FFFD}\u{FFFD}&#9;&amp;");
    }

    #[test]
    fn round_trips_through_the_parser() {
        let text = concat!(
            r#"<s:svg xmlns:s="http://www.w3.org/2000/svg" xmlns:l="http://www.w3.org/1999/xlink" id="a&quot;&lt;&#10;">"#,
            r##"<s:text xml:space="preserve">x &amp; &lt;y&gt;</s:text><s:use l:href="#a"/></s:svg>"##
        );
        let root = parse(text, &SvgLimits::default()).unwrap();
        let written = write(&root);
        assert_eq!(
            written,
            concat!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" id="a&quot;&lt;&#10;">"#,
                r##"<text xml:space="preserve">x &amp; &lt;y&gt;</text><use xlink:href="#a"/></svg>"##,
                "\n"
            )
        );
        assert_eq!(parse(&written, &SvgLimits::default()).unwrap(), root);
    }
}
