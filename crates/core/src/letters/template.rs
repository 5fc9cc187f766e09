//! A letter template's body: a small, forgiving markup an office can edit
//! (headings, paragraphs, bold, italics, lists) with merge fields in double
//! braces, parsed into blocks the layout draws. Data never becomes markup:
//! a name with `*` or `#` in it prints as written.
//!
//! ```text
//! # Welcome to {{school_name}}
//! Dear {{given_name}},
//! your username is **{{username}}**.
//! - keep your password safe
//! {{children_table}}
//! ```

use serde::Serialize;

use super::fields;
use crate::error::{Error, Result};

/// One run of text inside a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "k", rename_all = "lowercase")]
pub enum Span {
    /// Text as written.
    Text {
        v: String,
    },
    /// A merge field's value, by its name.
    Field {
        v: String,
    },
    Bold {
        c: Vec<Span>,
    },
    Italic {
        c: Vec<Span>,
    },
}

/// A block of the letter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "k", rename_all = "lowercase")]
pub enum Block {
    Heading {
        level: u8,
        c: Vec<Span>,
    },
    Para {
        c: Vec<Span>,
    },
    List {
        items: Vec<Vec<Span>>,
    },
    /// A block field on a line of its own: the children table, the QR code,
    /// the logo, the credentials box.
    Insert {
        v: String,
    },
}

/// A parsed template body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Body {
    pub blocks: Vec<Block>,
}

/// Parses a template body, refusing a merge field that does not exist (by
/// line, with the nearest real one), so a typo never prints as a blank.
pub fn parse(text: &str) -> Result<Body> {
    parse_from(text, 1)
}

/// [`parse`] of text that starts on line `first_line` of its file (a
/// template file's body, after its header), so mistakes name that line.
pub fn parse_from(text: &str, first_line: usize) -> Result<Body> {
    let mut blocks = Vec::new();
    let mut para: Vec<Span> = Vec::new();
    let mut list: Vec<Vec<Span>> = Vec::new();
    let flush = |blocks: &mut Vec<Block>, para: &mut Vec<Span>, list: &mut Vec<Vec<Span>>| {
        if !para.is_empty() {
            blocks.push(Block::Para {
                c: std::mem::take(para),
            });
        }
        if !list.is_empty() {
            blocks.push(Block::List {
                items: std::mem::take(list),
            });
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + first_line;
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            flush(&mut blocks, &mut para, &mut list);
            continue;
        }
        if let Some(name) = block_field(trimmed) {
            flush(&mut blocks, &mut para, &mut list);
            check_field(name, line_no, true)?;
            blocks.push(Block::Insert { v: name.to_owned() });
            continue;
        }
        let heading = [("## ", 2u8), ("# ", 1u8)]
            .into_iter()
            .find_map(|(mark, level)| trimmed.strip_prefix(mark).map(|rest| (level, rest)));
        if let Some((level, rest)) = heading {
            flush(&mut blocks, &mut para, &mut list);
            blocks.push(Block::Heading {
                level,
                c: inline(rest.trim(), line_no)?,
            });
            continue;
        }
        if let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        {
            if !para.is_empty() {
                flush(&mut blocks, &mut para, &mut list);
            }
            list.push(inline(item.trim(), line_no)?);
            continue;
        }
        if !list.is_empty() {
            flush(&mut blocks, &mut para, &mut list);
        }
        // Lines of one paragraph join with a line break: an office writes
        // an address or a sign-off line by line and expects it so.
        if !para.is_empty() {
            para.push(Span::Text { v: "\n".into() });
        }
        para.extend(inline(trimmed, line_no)?);
    }
    flush(&mut blocks, &mut para, &mut list);
    Ok(Body { blocks })
}

/// `{{name}}` alone on a line, when `name` is a block field.
fn block_field(line: &str) -> Option<&str> {
    let name = line.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    fields::find(name).filter(|f| f.block).map(|f| f.name)
}

fn check_field(name: &str, line: usize, alone: bool) -> Result<()> {
    match fields::find(name) {
        Some(f) if f.block && !alone => Err(Error::Invalid(format!(
            "line {line}: {{{{{name}}}}} is a block of its own: put it on a line by itself"
        ))),
        Some(_) => Ok(()),
        None if name.starts_with("sis.") && name.len() > 4 => Ok(()),
        None => Err(Error::Invalid(format!(
            "line {line}: there is no merge field {{{{{name}}}}}{}; pick one from the list",
            fields::nearest(name)
                .map(|n| format!(" (did you mean {{{{{n}}}}}?)"))
                .unwrap_or_default()
        ))),
    }
}

/// Text with `**bold**`, `_italic_` and `{{field}}`. An unmatched marker
/// is kept as text.
fn inline(s: &str, line: usize) -> Result<Vec<Span>> {
    let mut out: Vec<Span> = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let taken = match field_at(rest) {
            Some((name, next)) => {
                check_field(name, line, false)?;
                Some((Span::Field { v: name.to_owned() }, next))
            }
            None => marked_at(rest, &text, line)?,
        };
        match taken {
            Some((span, next)) => {
                if !text.is_empty() {
                    out.push(Span::Text {
                        v: std::mem::take(&mut text),
                    });
                }
                out.push(span);
                rest = next;
            }
            None => {
                text.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !text.is_empty() {
        out.push(Span::Text { v: text });
    }
    Ok(out)
}

/// `{{name}}` at the start of `s`: the name and what follows.
fn field_at(s: &str) -> Option<(&str, &str)> {
    let after = s.strip_prefix("{{")?;
    let end = after.find("}}")?;
    Some((after[..end].trim(), &after[end + 2..]))
}

/// A `**bold**` or `_italic_` span at the start of `s` (with `before` the
/// text just before it): the span and what follows.
fn marked_at<'a>(s: &'a str, before: &str, line: usize) -> Result<Option<(Span, &'a str)>> {
    for (mark, bold) in [("**", true), ("_", false)] {
        let Some(after) = s.strip_prefix(mark) else {
            continue;
        };
        // `_` inside a word (a username, an SIS field name) is text.
        if !bold && !starts_word(before) {
            continue;
        }
        if let Some(end) = find_outside_fields(after, mark).filter(|&e| e > 0) {
            let c = inline(&after[..end], line)?;
            let span = if bold {
                Span::Bold { c }
            } else {
                Span::Italic { c }
            };
            return Ok(Some((span, &after[end + mark.len()..])));
        }
    }
    Ok(None)
}

/// Where `mark` first appears in `s` outside a `{{field}}` (whose name
/// may hold `_`).
fn find_outside_fields(s: &str, mark: &str) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        if rest.starts_with("{{") {
            if let Some(end) = rest.find("}}") {
                i += end + 2;
                continue;
            }
        }
        if rest.starts_with(mark) {
            return Some(i);
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// An `_` counts as a marker only at the start of a word.
fn starts_word(before: &str) -> bool {
    before
        .chars()
        .last()
        .is_none_or(|c| c.is_whitespace() || c.is_ascii_punctuation())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &str) -> Span {
        Span::Text { v: v.into() }
    }
    fn f(v: &str) -> Span {
        Span::Field { v: v.into() }
    }

    #[test]
    fn parses_the_markup_an_office_writes() {
        let cases: &[(&str, Vec<Block>)] = &[
            (
                "# Welcome, {{given_name}}",
                vec![Block::Heading {
                    level: 1,
                    c: vec![t("Welcome, "), f("given_name")],
                }],
            ),
            (
                "Dear {{given_name}},\nyour username is **{{username}}**.",
                vec![Block::Para {
                    c: vec![
                        t("Dear "),
                        f("given_name"),
                        t(","),
                        t("\n"),
                        t("your username is "),
                        Span::Bold {
                            c: vec![f("username")],
                        },
                        t("."),
                    ],
                }],
            ),
            (
                "- one\n- _two_\n\nafter",
                vec![
                    Block::List {
                        items: vec![vec![t("one")], vec![Span::Italic { c: vec![t("two")] }]],
                    },
                    Block::Para {
                        c: vec![t("after")],
                    },
                ],
            ),
            (
                "{{children_table}}\n{{qr_code}}",
                vec![
                    Block::Insert {
                        v: "children_table".into(),
                    },
                    Block::Insert {
                        v: "qr_code".into(),
                    },
                ],
            ),
            // Unmatched markers, an underscore inside a word, a raw SIS field.
            (
                "2 ** 3 and snake_case {{sis.Home_Room}}",
                vec![Block::Para {
                    c: vec![t("2 ** 3 and snake_case "), f("sis.Home_Room")],
                }],
            ),
            (
                "## {{school_name}}",
                vec![Block::Heading {
                    level: 2,
                    c: vec![f("school_name")],
                }],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(&parse(text).unwrap().blocks, want, "{text}");
        }
    }

    #[test]
    fn refuses_unknown_fields_by_line_with_the_nearest_one() {
        let err = parse("Hello\nDear {{given_nam}},").unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("{{given_name}}"), "{err}");
        let err = parse("_{{given_nam}}_").unwrap_err().to_string();
        assert!(err.contains("given_name"), "{err}");
        let err = parse("See {{qr_code}} here").unwrap_err().to_string();
        assert!(err.contains("line by itself"), "{err}");
    }
}
