//! A namespace-resolved XML element tree, read with hard limits.
//!
//! Comments, processing instructions (`<?xml-stylesheet?>` included) and the
//! doctype never reach the tree; CDATA sections become plain text; entity
//! references are replaced from the predefined five and the document's own
//! plain-text entities (see [`dtd`](super::dtd)) within a budget. Prefixes are
//! resolved to namespaces, so what an element or attribute *is* never
//! depends on how its prefix is spelled.

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

use super::dtd::{self, Entities};
use super::{SvgError, SvgLimits};

/// The SVG namespace.
pub const SVG_NS: &str = "http://www.w3.org/2000/svg";
/// The XLink namespace (`xlink:href`).
pub const XLINK_NS: &str = "http://www.w3.org/1999/xlink";
/// The namespace of the `xml:` prefix.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// The namespaces the sanitizer tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// No namespace (unprefixed attributes).
    None,
    /// SVG.
    Svg,
    /// XLink.
    Xlink,
    /// The `xml:` attributes (`xml:space`, `xml:lang`).
    Xml,
    /// Anything else: XHTML, XInclude, editor metadata, ...
    Other,
}

impl Namespace {
    fn from_uri(uri: &str) -> Self {
        match uri {
            "" => Self::None,
            SVG_NS => Self::Svg,
            XLINK_NS => Self::Xlink,
            XML_NS => Self::Xml,
            _ => Self::Other,
        }
    }
}

/// An attribute: namespace, local name, and its value with references replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// Namespace.
    pub ns: Namespace,
    /// Local name.
    pub local: String,
    /// Value.
    pub value: String,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// An element.
    Element(Element),
    /// Character data (text and CDATA alike).
    Text(String),
}

/// An element with its attributes and children.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// Namespace.
    pub ns: Namespace,
    /// Local name.
    pub local: String,
    /// Attributes, `xmlns` declarations excluded.
    pub attributes: Vec<Attribute>,
    /// Children in document order.
    pub children: Vec<Node>,
}

impl Element {
    /// An element with no attributes or children.
    pub fn new(ns: Namespace, local: &str) -> Self {
        Self {
            ns,
            local: local.to_owned(),
            attributes: Vec::new(),
            children: Vec::new(),
        }
    }

    /// The value of the attribute `local` in namespace `ns`.
    pub fn attribute(&self, ns: Namespace, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.ns == ns && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// Sets (or adds) the unprefixed attribute `local`.
    pub fn set_attribute(&mut self, local: &str, value: String) {
        match self
            .attributes
            .iter_mut()
            .find(|a| a.ns == Namespace::None && a.local == local)
        {
            Some(a) => a.value = value,
            None => self.attributes.push(Attribute {
                ns: Namespace::None,
                local: local.to_owned(),
                value,
            }),
        }
    }

    /// The element children.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }
}

/// Parses `text` into its root element.
pub fn parse(text: &str, limits: &SvgLimits) -> Result<Element, SvgError> {
    // XML 1.0 forbids these anywhere in a document; refusing them here (as
    // Wagtail's expat does) means the tree the sanitizer checks is exactly
    // the tree that is written, with nothing that a writer would have to drop.
    if !text.chars().all(is_xml_char) {
        return Err(malformed("a character XML does not allow"));
    }
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;

    let mut parser = Parser {
        entities: Entities::new(),
        // References may add at most as much text as the limit allows the file.
        expansion_budget: limits.max_bytes,
        scopes: HashMap::new(),
        open: Vec::new(),
        elements: 0,
        limits,
    };
    let mut root = None;
    loop {
        let event = reader.read_event().map_err(|e| malformed(e.to_string()))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(malformed("content after the root element"));
                }
                parser.open(&start)?;
            }
            Event::End(_) => {
                let element = parser.close()?;
                match parser.open.last_mut() {
                    Some((parent, _)) => parent.children.push(Node::Element(element)),
                    None => root = Some(element),
                }
            }
            Event::Text(t) => parser.text(&t.xml10_content().map_err(|e| malformed(e.to_string()))?)?,
            Event::CData(c) => parser.text(&c.decode().map_err(|e| malformed(e.to_string()))?)?,
            Event::GeneralRef(r) => {
                let replacement = parser.reference(&r)?;
                parser.text(&replacement)?;
            }
            Event::DocType(d) => {
                if root.is_some() || !parser.open.is_empty() {
                    return Err(malformed("misplaced doctype"));
                }
                parser.entities = dtd::entities(&d.decode().map_err(|e| malformed(e.to_string()))?)?;
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Empty(_) => return Err(malformed("unexpanded empty element")),
            Event::Eof => break,
        }
    }
    if !parser.open.is_empty() {
        return Err(malformed("unclosed element"));
    }
    let mut root = root.ok_or_else(|| malformed("no root element"))?;
    // A document that declares no namespace at all is read as SVG, as
    // Wagtail (ElementTree) reads it; the output then declares it properly.
    if root.ns == Namespace::None && root.local == "svg" {
        adopt_svg_namespace(&mut root);
    }
    Ok(root)
}

/// Parsing state: declared entities, namespace scopes and open elements.
struct Parser<'l> {
    entities: Entities,
    expansion_budget: usize,
    /// The bindings in scope per prefix, innermost last; `""` is the
    /// default namespace. A lookup is one hash probe, however many
    /// bindings are in scope.
    scopes: HashMap<String, Vec<Namespace>>,
    /// Open elements, each with the prefixes it declared.
    open: Vec<(Element, Vec<String>)>,
    elements: usize,
    limits: &'l SvgLimits,
}

impl Parser<'_> {
    fn open(&mut self, start: &BytesStart<'_>) -> Result<(), SvgError> {
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(SvgError::TooManyElements {
                limit: self.limits.max_elements,
            });
        }
        if self.open.len() >= self.limits.max_depth {
            return Err(SvgError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        let mut raw = Vec::new();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|e| malformed(e.to_string()))?;
            let name = utf8(attribute.key.as_ref())?.to_owned();
            let value = self.attribute_value(utf8(&attribute.value)?)?;
            raw.push((name, value));
        }
        // Declarations first: they apply to the element's own name and attributes.
        let mut bindings = Vec::new();
        for (name, value) in &raw {
            let prefix = match name.strip_prefix("xmlns") {
                Some("") => "",
                Some(rest) => match rest.strip_prefix(':') {
                    Some(prefix) => prefix,
                    None => continue,
                },
                None => continue,
            };
            self.scopes
                .entry(prefix.to_owned())
                .or_default()
                .push(Namespace::from_uri(value));
            bindings.push(prefix.to_owned());
        }
        let name = start.name();
        let (prefix, local) = split(utf8(name.as_ref())?);
        let mut element = Element::new(self.resolve(prefix.unwrap_or(""))?, local);
        for (name, value) in raw {
            if name == "xmlns" || name.starts_with("xmlns:") {
                continue;
            }
            let (prefix, local) = split(&name);
            let ns = match prefix {
                Some(prefix) => self.resolve(prefix)?,
                None => Namespace::None,
            };
            element.attributes.push(Attribute {
                ns,
                local: local.to_owned(),
                value,
            });
        }
        self.open.push((element, bindings));
        Ok(())
    }

    fn close(&mut self) -> Result<Element, SvgError> {
        let (element, bindings) = self.open.pop().ok_or_else(|| malformed("unmatched end tag"))?;
        for prefix in bindings {
            if let Some(stack) = self.scopes.get_mut(&prefix) {
                stack.pop();
                if stack.is_empty() {
                    self.scopes.remove(&prefix);
                }
            }
        }
        Ok(element)
    }

    /// Appends character data to the open element (outside the root only
    /// whitespace may appear, and it is dropped).
    fn text(&mut self, text: &str) -> Result<(), SvgError> {
        let Some((element, _)) = self.open.last_mut() else {
            return if text.trim().is_empty() {
                Ok(())
            } else {
                Err(malformed("text outside the root element"))
            };
        };
        match element.children.last_mut() {
            Some(Node::Text(previous)) => previous.push_str(text),
            _ => element.children.push(Node::Text(text.to_owned())),
        }
        Ok(())
    }

    /// The namespace bound to `prefix` (`""`: the default namespace).
    fn resolve(&self, prefix: &str) -> Result<Namespace, SvgError> {
        if prefix == "xml" {
            return Ok(Namespace::Xml);
        }
        match self.scopes.get(prefix).and_then(|stack| stack.last()) {
            Some(ns) => Ok(*ns),
            None if prefix.is_empty() => Ok(Namespace::None),
            None => Err(malformed(format!("undeclared namespace prefix {prefix:?}"))),
        }
    }

    /// The replacement text of a reference in content.
    fn reference(&mut self, reference: &BytesRef<'_>) -> Result<String, SvgError> {
        let name = reference.decode().map_err(|e| malformed(e.to_string()))?;
        self.replacement(&name)
    }

    /// The replacement of `&name;` (character, predefined or declared entity).
    fn replacement(&mut self, name: &str) -> Result<String, SvgError> {
        if let Some(number) = name.strip_prefix('#') {
            let code = match number.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => number.parse(),
            };
            return code
                .ok()
                .and_then(char::from_u32)
                .filter(|c| is_xml_char(*c))
                .map(String::from)
                .ok_or_else(|| malformed(format!("invalid character reference &{name};")));
        }
        let predefined = match name {
            "lt" => Some("<"),
            "gt" => Some(">"),
            "amp" => Some("&"),
            "apos" => Some("'"),
            "quot" => Some("\""),
            _ => None,
        };
        let value = match predefined {
            Some(v) => v,
            None => self
                .entities
                .get(name)
                .map(String::as_str)
                .ok_or_else(|| malformed(format!("undeclared entity &{name};")))?,
        };
        self.expansion_budget = self
            .expansion_budget
            .checked_sub(value.len())
            .ok_or(SvgError::TooManyBytes {
                limit: self.limits.max_bytes,
            })?;
        Ok(value.to_owned())
    }

    /// An attribute value with references replaced and white space
    /// normalised as XML prescribes.
    fn attribute_value(&mut self, raw: &str) -> Result<String, SvgError> {
        let mut value = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(at) = rest.find(['&', '\t', '\n', '\r']) {
            value.push_str(&rest[..at]);
            let tail = &rest[at..];
            if let Some(reference) = tail.strip_prefix('&') {
                let end = reference.find(';').ok_or_else(|| malformed("unterminated reference"))?;
                let replacement = self.replacement(&reference[..end])?;
                // Declared entities hold plain text; its white space is normalised too.
                let literal = reference.starts_with('#');
                value.extend(
                    replacement
                        .chars()
                        .map(|c| if !literal && is_space(c) { ' ' } else { c }),
                );
                rest = &reference[end + 1..];
            } else {
                value.push(' ');
                rest = tail.strip_prefix("\r\n").unwrap_or(&tail[1..]);
            }
        }
        value.push_str(rest);
        Ok(value)
    }
}

/// A character XML 1.0 lets a document hold (its `Char` production).
pub fn is_xml_char(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
}

/// `prefix:local` → `(Some(prefix), local)`.
fn split(name: &str) -> (Option<&str>, &str) {
    match name.split_once(':') {
        Some((prefix, local)) => (Some(prefix), local),
        None => (None, name),
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, SvgError> {
    std::str::from_utf8(bytes).map_err(|_| malformed("invalid UTF-8 in markup"))
}

fn adopt_svg_namespace(element: &mut Element) {
    if element.ns == Namespace::None {
        element.ns = Namespace::Svg;
    }
    for child in &mut element.children {
        if let Node::Element(e) = child {
            adopt_svg_namespace(e);
        }
    }
}

fn malformed(reason: impl Into<String>) -> SvgError {
    SvgError::Malformed(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Result<Element, SvgError> {
        parse(text, &SvgLimits::default())
    }

    #[test]
    fn resolves_namespaces_whatever_the_prefix() {
        let root = tree(
            r##"<s:svg xmlns:s="http://www.w3.org/2000/svg" xmlns:l="http://www.w3.org/1999/xlink">
                <s:use l:href="#a"/><g xmlns="http://www.w3.org/1999/xhtml"><script/></g></s:svg>"##,
        )
        .unwrap();
        assert_eq!((root.ns, root.local.as_str()), (Namespace::Svg, "svg"));
        let children: Vec<_> = root.elements().collect();
        assert_eq!(children[0].ns, Namespace::Svg);
        assert_eq!(children[0].attribute(Namespace::Xlink, "href"), Some("#a"));
        assert_eq!(children[1].ns, Namespace::Other);
        assert!(tree(r#"<svg xmlns="http://www.w3.org/2000/svg"><x:a/></svg>"#).is_err());
    }

    #[test]
    fn bindings_end_with_their_element() {
        let root = tree(concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:p="http://www.w3.org/1999/xlink">"#,
            r#"<g xmlns:p="urn:other"><use p:href="a"/></g><use p:href="b"/></svg>"#
        ))
        .unwrap();
        let inner = root.elements().next().and_then(|g| g.elements().next()).unwrap();
        assert_eq!(inner.attributes[0].ns, Namespace::Other);
        let outer = root.elements().nth(1).unwrap();
        assert_eq!(outer.attribute(Namespace::Xlink, "href"), Some("b"));
        let unbound = r#"<svg xmlns="http://www.w3.org/2000/svg"><g xmlns:q="urn:q"/><q:g/></svg>"#;
        assert!(matches!(tree(unbound), Err(SvgError::Malformed(_))));
    }

    #[test]
    fn a_document_without_namespaces_is_svg() {
        let root = tree("<svg><rect/></svg>").unwrap();
        assert_eq!(root.ns, Namespace::Svg);
        assert_eq!(root.elements().next().map(|e| e.ns), Some(Namespace::Svg));
    }

    #[test]
    fn replaces_references_and_drops_what_is_not_content() {
        let root = tree(concat!(
            "<?xml version=\"1.0\"?><!DOCTYPE svg [<!ENTITY ns \"http://www.w3.org/2000/svg\"><!ENTITY t \"a\tb\">]>",
            "<?xml-stylesheet href=\"x.css\"?><!-- c --><svg xmlns=\"&ns;\" id=\"&t;&#x9;&lt;\">",
            "<![CDATA[<script>]]>&amp;&#65;&t;<!-- <script> --></svg>"
        ))
        .unwrap();
        assert_eq!(root.ns, Namespace::Svg);
        assert_eq!(root.attribute(Namespace::None, "id"), Some("a b\t<"));
        assert_eq!(root.children, vec![Node::Text("<script>&Aa\tb".into())]);
    }

    #[test]
    fn enforces_limits() {
        let limits = SvgLimits {
            max_bytes: 1000,
            max_elements: 3,
            max_depth: 2,
            ..SvgLimits::default()
        };
        assert!(parse("<svg><g/><g/></svg>", &limits).is_ok());
        assert!(matches!(
            parse("<svg><g/><g/><g/></svg>", &limits),
            Err(SvgError::TooManyElements { .. })
        ));
        assert!(matches!(
            parse("<svg><g><g/></g></svg>", &limits),
            Err(SvgError::TooDeep { .. })
        ));
        let long = "x".repeat(400);
        let quadratic = format!("<!DOCTYPE svg [<!ENTITY x \"{long}\">]><svg>&x;&x;&x;</svg>");
        assert!(matches!(parse(&quadratic, &limits), Err(SvgError::TooManyBytes { .. })));
    }

    #[test]
    fn refuses_malformed_documents() {
        for text in [
            "<svg>",
            "<svg></g>",
            "<svg/><svg/>",
            "<svg>&nope;</svg>",
            "<svg a='&#0;'/>",
            "<svg a='&#x1d;'/>",
            "<svg>&#xFFFE;</svg>",
            "<svg a='hre\u{0}f'/>",
            "<svg>\u{1d}</svg>",
            "text<svg/>",
            "",
        ] {
            assert!(matches!(tree(text), Err(SvgError::Malformed(_))), "{text}");
        }
    }
}
