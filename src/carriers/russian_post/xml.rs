//! A small namespace-aware element tree over quick-xml, for reading SOAP answers.
//!
//! Elements are named by namespace URI and local name, never by prefix: servers choose
//! prefixes freely (`S:`, `soap:`, `ns3:`, a default namespace). Children can be looked up in
//! any order and unknown or repeated ones are simply there; text is unescaped. Depth and size
//! are bounded, so hostile input costs little.

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// How deep elements may nest.
const MAX_DEPTH: usize = 64;

/// One element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Namespace URI; `None` for an unqualified element.
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    /// Attributes by local name (namespace declarations left out).
    pub attrs: Vec<(String, String)>,
    /// The element's own text, unescaped (whitespace between children included).
    pub text: String,
    /// Child elements, in document order.
    pub children: Vec<Element>,
}

/// The text is not XML parceld can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Not well-formed.
    #[error("not well-formed XML: {0}")]
    Syntax(String),
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("XML nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// No element at all.
    #[error("no XML element in the answer")]
    Empty,
}

impl Element {
    /// Whether this is `name` in namespace `ns`.
    pub fn is(&self, ns: Option<&str>, name: &str) -> bool {
        self.name == name && self.ns.as_deref() == ns
    }

    /// The first child `name` in namespace `ns`.
    pub fn child(&self, ns: Option<&str>, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// Every child `name` in namespace `ns`.
    pub fn children<'a>(
        &'a self,
        ns: Option<&'a str>,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// The first child with this local name, in any namespace or none.
    pub fn child_any(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Follows a path of children, all in namespace `ns`.
    pub fn path(&self, ns: Option<&str>, names: &[&str]) -> Option<&Element> {
        names.iter().try_fold(self, |e, n| e.child(ns, n))
    }

    /// The text of the element, trimmed.
    pub fn text(&self) -> &str {
        self.text.trim()
    }

    /// The trimmed text of a path of children in `ns`, if present and not empty.
    pub fn text_at(&self, ns: Option<&str>, names: &[&str]) -> Option<&str> {
        self.path(ns, names)
            .map(Element::text)
            .filter(|t| !t.is_empty())
    }

    /// An attribute by local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn syntax(e: impl std::fmt::Display) -> XmlError {
    XmlError::Syntax(e.to_string())
}

fn element(ns: ResolveResult<'_>, start: &BytesStart<'_>) -> Result<Element, XmlError> {
    let ns = match ns {
        ResolveResult::Bound(n) => Some(n.0.to_string()),
        ResolveResult::Unbound => None,
        ResolveResult::Unknown(p) => {
            return Err(XmlError::Syntax(format!(
                "undeclared namespace prefix {p:?}"
            )));
        }
    };
    let mut attrs = Vec::new();
    for a in start.attributes() {
        let a = a.map_err(syntax)?;
        let key = a.key.0;
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let local = key.rsplit(':').next().unwrap_or(key).to_string();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(syntax)?
            .into_owned();
        attrs.push((local, value));
    }
    let qname = start.name().0;
    Ok(Element {
        ns,
        name: qname.rsplit(':').next().unwrap_or(qname).to_string(),
        attrs,
        text: String::new(),
        children: Vec::new(),
    })
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => return Err(XmlError::Syntax("more than one root element".into())),
    }
    Ok(())
}

/// Parses a document into its root element.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(syntax)?;
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                let el = element(ns, &e)?;
                stack.push(el);
            }
            Event::Empty(e) => {
                let el = element(ns, &e)?;
                attach(&mut stack, &mut root, el)?;
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| XmlError::Syntax("unexpected end tag".into()))?;
                attach(&mut stack, &mut root, el)?;
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                } else if !t.trim().is_empty() {
                    return Err(XmlError::Syntax("text outside the root element".into()));
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(syntax)? {
                    Some(ch) => ch.to_string(),
                    None => resolve_predefined_entity(&r)
                        .ok_or_else(|| XmlError::Syntax(format!("unknown entity &{};", &*r)))?
                        .to_string(),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Syntax(
            "the document ends inside an element".into(),
        ));
    }
    root.ok_or(XmlError::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_by_namespace_not_prefix() {
        let a = parse(r#"<a:X xmlns:a="urn:x"><a:Y k="1">t &amp; u</a:Y></a:X>"#).unwrap();
        let b = parse(r#"<X xmlns="urn:x"><Y k="1">t &amp; u</Y></X>"#).unwrap();
        assert_eq!(a, b);
        assert!(a.is(Some("urn:x"), "X"));
        let y = a.child(Some("urn:x"), "Y").unwrap();
        assert_eq!((y.text(), y.attr("k")), ("t & u", Some("1")));
        assert!(a.child(None, "Y").is_none(), "unqualified is another name");
    }

    #[test]
    fn unqualified_children_and_char_refs() {
        let e = parse(r#"<p:R xmlns:p="urn:p"><value>&#1055;&#x43E;</value><![CDATA[<x>]]></p:R>"#)
            .unwrap();
        assert_eq!(e.child(None, "value").unwrap().text(), "По");
        assert!(e.text.contains("<x>"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "",
            "not xml",
            "<a><b></a>",
            "<a>",
            "<x:a/>",
            "<a/><b/>",
            "<a>&bogus;</a>",
            "\u{0}\u{1}<<<",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(parse(&deep), Err(XmlError::TooDeep));
    }
}
