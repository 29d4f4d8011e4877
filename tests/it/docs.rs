//! The documentation is kept true by what it cites. README.md and every page of `docs/` are
//! read as text, and a test fails, naming the page and the line, when a cited test function is
//! not in the cited file, when a cited file or a relative link leads nowhere (a link's
//! `#heading` included), or when `docs/configuration.md`'s table and the shipped configs do not
//! name the same keys.
//!
//! A citation is a file in backticks (`` `tests/it/page.rs` ``, `` `src/domain/storage.rs` ``)
//! followed by test names in backticks, separated only by spaces, commas or "and"
//! (`` `page::an_erased_parcels_page_is_not_found` ``, or a unit test's bare name). Plain string
//! scanning: fenced code blocks are skipped, as is everything inside a code span when links are
//! looked for.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The project's root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A page of the documentation: its path from the root, and its text.
struct Page {
    name: String,
    text: String,
}

/// README.md and every `docs/*.md`.
fn pages() -> Vec<Page> {
    let mut names = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| {
            e.expect("a readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    names.extend(docs);
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(root().join(&name)).expect("a readable page");
            Page { name, text }
        })
        .collect()
}

/// The text with every fenced code block's lines blanked (line numbers stay as they were).
fn prose(text: &str) -> String {
    let mut fenced = false;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let fence = line.trim_start().starts_with("```");
        if fence || fenced {
            out.extend(line.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        } else {
            out.push_str(line);
        }
        if fence {
            fenced = !fenced;
        }
    }
    out
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

/// A code span: the byte range of its content (inside the backticks).
struct Span {
    start: usize,
    end: usize,
}

/// The code spans of a text (fenced blocks already blanked), or the lines of paragraphs with
/// a backtick left unpaired, which would make every span after it wrong.
fn spans(text: &str) -> Result<Vec<Span>, Vec<usize>> {
    let mut unpaired = Vec::new();
    let mut offset = 0;
    for paragraph in text.split("\n\n") {
        if paragraph.matches('`').count() % 2 == 1 {
            unpaired.push(line_of(text, offset));
        }
        offset += paragraph.len() + 2;
    }
    if !unpaired.is_empty() {
        return Err(unpaired);
    }
    let ticks: Vec<usize> = text.match_indices('`').map(|(i, _)| i).collect();
    Ok(ticks
        .chunks(2)
        .map(|pair| Span {
            start: pair[0] + 1,
            end: pair[1],
        })
        .collect())
}

/// Whether a span names a file or folder of the project.
fn is_project_path(s: &str) -> bool {
    (s.starts_with("src/") || s.starts_with("tests/"))
        && !s.contains(|c: char| c.is_whitespace() || "*<>{}…".contains(c))
}

/// Whether a span reads as a test's name: `module::name` or `name`.
fn is_test_name(s: &str) -> bool {
    !s.is_empty()
        && s.split("::").all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// Whether the text between two spans keeps a list of names going.
fn continues_list(gap: &str) -> bool {
    gap.replace("and", "")
        .chars()
        .all(|c| c.is_whitespace() || c == ',')
}

/// Whether `source` has a test function `name`: `fn name(` with a test attribute above it.
fn has_test(source: &str, name: &str) -> bool {
    let lines: Vec<&str> = source.lines().collect();
    lines.iter().enumerate().any(|(i, line)| {
        line.contains(&format!("fn {name}("))
            && lines[i.saturating_sub(4)..i]
                .iter()
                .any(|l| l.trim_start().starts_with("#[") && l.contains("test"))
    })
}

/// What is wrong with the citations of one page, each as "page:line: reason", and how many
/// tests it cites.
fn citation_errors(page: &str, text: &str, root: &Path) -> (Vec<String>, usize) {
    let text = prose(text);
    let spans = match spans(&text) {
        Ok(spans) => spans,
        Err(lines) => {
            let errors = lines
                .into_iter()
                .map(|l| format!("{page}:{l}: a backtick without its pair in this paragraph"))
                .collect();
            return (errors, 0);
        }
    };
    let mut errors = Vec::new();
    let mut cited = 0;
    for (i, span) in spans.iter().enumerate() {
        let path = &text[span.start..span.end];
        if !is_project_path(path) {
            continue;
        }
        let line = line_of(&text, span.start);
        let Ok(source) = std::fs::read_to_string(root.join(path)) else {
            if !root.join(path).is_dir() {
                errors.push(format!("{page}:{line}: `{path}` does not exist"));
            }
            continue;
        };
        let stem = Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut previous_end = span.end;
        for next in &spans[i + 1..] {
            let name = &text[next.start..next.end];
            // The gap runs from after the closing backtick to before the opening one.
            if !continues_list(&text[previous_end + 1..next.start - 1]) || !is_test_name(name) {
                break;
            }
            previous_end = next.end;
            cited += 1;
            let line = line_of(&text, next.start);
            let function = name.rsplit("::").next().unwrap_or(name);
            let module = name.split("::").next().unwrap_or(name);
            if path.starts_with("tests/it/") && name.contains("::") && module != stem {
                errors.push(format!(
                    "{page}:{line}: `{name}` is cited from `{path}`, whose module is `{stem}`"
                ));
            } else if !has_test(&source, function) {
                errors.push(format!(
                    "{page}:{line}: `{path}` has no test `{function}` (cited as `{name}`)"
                ));
            }
        }
    }
    (errors, cited)
}

/// A heading's anchor as the usual Markdown renderers make it: lower case, spaces as hyphens,
/// punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a page's headings.
fn anchors(text: &str) -> BTreeSet<String> {
    prose(text)
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| slug(l.trim_start_matches('#')))
        .collect()
}

/// The text with code spans blanked too, so that links are looked for in prose only.
fn without_code(text: &str) -> String {
    let text = prose(text);
    let Ok(spans) = spans(&text) else {
        return text;
    };
    let mut bytes = text.into_bytes();
    for span in spans {
        for b in &mut bytes[span.start..span.end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    // Every byte of a span, a multi-byte character's too, became a space: still UTF-8.
    String::from_utf8(bytes).expect("spaces keep the text valid")
}

/// What is wrong with the relative links of one page, and how many it has.
fn link_errors(page: &str, text: &str, root: &Path) -> (Vec<String>, usize) {
    let plain = without_code(text);
    let dir = Path::new(page).parent().unwrap_or(Path::new(""));
    let mut errors = Vec::new();
    let mut checked = 0;
    for (at, _) in plain.match_indices("](") {
        let rest = &plain[at + 2..];
        let Some(close) = rest.find(')') else {
            continue;
        };
        let target = &rest[..close];
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        checked += 1;
        let line = line_of(&plain, at);
        let (file, anchor) = match target.split_once('#') {
            Some((file, anchor)) => (file, Some(anchor)),
            None => (target, None),
        };
        let path = if file.is_empty() {
            root.join(page)
        } else {
            root.join(dir).join(file)
        };
        if !path.exists() {
            errors.push(format!(
                "{page}:{line}: the link `{target}` leads to no file"
            ));
            continue;
        }
        if let Some(anchor) = anchor {
            let heads = std::fs::read_to_string(&path)
                .map(|t| anchors(&t))
                .unwrap_or_default();
            if !heads.contains(anchor) {
                errors.push(format!(
                    "{page}:{line}: the link `{target}` leads to no heading of that page"
                ));
            }
        }
    }
    (errors, checked)
}

/// The sections a TOML config opens, commented-out ones included. A section whose keys are the
/// user's own (a map, like `[carriers.russian_post.codes]`) is documented as one row.
fn config_sections(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| l.trim_start_matches(|c: char| c == '#' || c.is_whitespace()))
        .filter_map(|l| l.strip_prefix('[').and_then(|l| l.strip_suffix(']')))
        .map(str::to_string)
        .collect()
}

/// The keys a TOML config names, commented-out ones included (`# key = value` under `# [a.b]`).
fn config_keys(text: &str) -> BTreeSet<String> {
    let mut section = String::new();
    let mut keys = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim_start_matches(|c: char| c == '#' || c.is_whitespace());
        let is_key_char = |c: char| c.is_ascii_lowercase() || c == '_' || c == '.';
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if !inner.is_empty() && inner.chars().all(is_key_char) {
                section = inner.to_string();
            }
        } else if let Some((key, _)) = line.split_once(" = ")
            && !key.is_empty()
            && key.chars().all(is_key_char)
        {
            keys.insert(format!("{section}.{key}"));
        }
    }
    keys
}

/// The keys of `docs/configuration.md`'s table, each with its line: rows whose first cell is
/// one dotted key in backticks.
fn documented_keys(text: &str) -> Vec<(String, usize)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let cell = line.strip_prefix("| `")?.split_once("` |")?.0;
            let key_chars = |c: char| c.is_ascii_lowercase() || "_.<>".contains(c);
            (cell.contains('.') && cell.chars().all(key_chars)).then(|| (cell.to_string(), i + 1))
        })
        .collect()
}

/// `carriers.<name>.key` in the table stands for that key in every carrier's section.
fn as_documented(key: &str) -> String {
    match key
        .strip_prefix("carriers.")
        .and_then(|k| k.split_once('.'))
    {
        Some((_, rest)) if !rest.contains('.') => format!("carriers.<name>.{rest}"),
        _ => key.to_string(),
    }
}

#[test]
fn every_cited_test_and_file_exists() {
    let root = root();
    let mut errors = Vec::new();
    let mut cited = 0;
    for page in pages() {
        let (e, n) = citation_errors(&page.name, &page.text, &root);
        errors.extend(e);
        cited += n;
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // The pages cite well over a hundred tests; far fewer means the scan lost its way.
    assert!(cited > 100, "only {cited} cited tests were found");
}

#[test]
fn every_relative_link_leads_to_a_file_and_heading() {
    let root = root();
    let mut errors = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let (e, n) = link_errors(&page.name, &page.text, &root);
        errors.extend(e);
        checked += n;
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(checked > 30, "only {checked} relative links were found");
}

#[test]
fn the_configuration_table_and_the_shipped_configs_name_the_same_keys() {
    let root = root();
    let page = "docs/configuration.md";
    let documented = documented_keys(&std::fs::read_to_string(root.join(page)).unwrap());
    let table: BTreeSet<String> = documented.iter().map(|(k, _)| k.clone()).collect();
    let mut errors = Vec::new();
    for config in ["config/parceld.toml", "config/parceld.system.toml"] {
        let text = std::fs::read_to_string(root.join(config)).unwrap();
        let keys = config_keys(&text);
        let sections = config_sections(&text);
        let named: BTreeSet<String> = keys.iter().map(|k| as_documented(k)).collect();
        for (key, line) in &documented {
            if !keys.contains(key) && !named.contains(key) && !sections.contains(key) {
                errors.push(format!("{page}:{line}: `{key}` is not in {config}"));
            }
        }
        for key in &keys {
            if !table.contains(key) && !table.contains(&as_documented(key)) {
                errors.push(format!("{config}: `{key}` is not in {page}'s table"));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(
        documented.len() > 100,
        "only {} keys in the table",
        documented.len()
    );
}

#[test]
fn ci_runs_the_readmes_test_command() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    let command = readme
        .split("the tests:\n\n```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("README's set-up shows the test command");
    assert!(
        ci.lines().any(|l| l.trim() == command.trim()),
        ".ci/run does not run README's test command `{command}`"
    );
}

#[test]
fn a_wrong_citation_and_a_dead_link_are_named_with_their_page_and_line() {
    let root = root();
    let page = "docs/example.md";
    let text = "# Example\n\nShown by: `tests/it/page.rs` `page::an_erased_parcels_page_is_not_found`,\n\
                `page::no_such_test`; `src/domain/storage.rs` `the_most_specific_period_wins`.\n\n\
                ```\n`tests/it/nowhere.rs` in a code block is not read\n```\n\n\
                See [carriers](carriers.md#storage-deadlines), [gone](gone.md) and\n\
                [no heading](carriers.md#nowhere); `[not a link](x.md)`.\n";
    let (errors, cited) = citation_errors(page, text, &root);
    assert_eq!(cited, 3);
    assert_eq!(
        errors,
        vec![
            "docs/example.md:4: `tests/it/page.rs` has no test `no_such_test` (cited as `page::no_such_test`)"
        ]
    );
    let (errors, checked) = link_errors(page, text, &root);
    assert_eq!(checked, 3);
    assert_eq!(
        errors,
        vec![
            "docs/example.md:10: the link `gone.md` leads to no file",
            "docs/example.md:11: the link `carriers.md#nowhere` leads to no heading of that page",
        ]
    );
}
