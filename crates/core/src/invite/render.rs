//! A template made into one person's email: the subject, a plain-text part
//! and an HTML part, from the letters' merge fields. Data never becomes
//! markup: every value is escaped in the HTML part.

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::templates::InvitationTemplate;
use crate::letters::template::{Block, Span};
use crate::letters::{activation_link, long_date, merge_fields, Cred, LetterSettings, Recipient};

/// One person's email, before it is queued. The parts may hold a password
/// or code: they are wiped from memory when dropped.
pub struct Rendered {
    pub subject: String,
    pub text: Zeroizing<String>,
    pub html: Zeroizing<String>,
}

/// The values an email's fields take for one recipient.
struct Values<'a> {
    fields: HashMap<String, String>,
    r: &'a Recipient,
    cred: &'a Cred,
    settings: &'a LetterSettings,
}

impl Values<'_> {
    fn get(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Renders `t` for `r`, with the credential issued for this email.
pub fn render(t: &InvitationTemplate, r: &Recipient, cred: &Cred, s: &LetterSettings) -> Rendered {
    let (kind, secret, expires) = cred.parts();
    let expires = expires.map(long_date).unwrap_or_default();
    let link = if kind == "code" {
        activation_link(s, secret)
    } else {
        String::new()
    };
    let today = long_date(&crate::store::now());
    let fields = merge_fields(r, s, secret, kind, &link, &expires, &today)
        .into_iter()
        .collect();
    let v = Values {
        fields,
        r,
        cred,
        settings: s,
    };
    let subject = t
        .subject_spans
        .iter()
        .map(|sp| plain_span(sp, &v))
        .collect::<String>();
    let mut text = Zeroizing::new(String::new());
    let mut html = Zeroizing::new(String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family: sans-serif; line-height: 1.5; color: #1a1a1a;\">\n",
    ));
    for block in &t.body.blocks {
        text_block(block, &v, &mut text);
        html_block(block, &v, &mut html);
    }
    html.push_str("</body></html>\n");
    Rendered {
        subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
        text: Zeroizing::new(text.trim_end().to_owned() + "\n"),
        html,
    }
}

fn plain_span(sp: &Span, v: &Values) -> String {
    match sp {
        Span::Text { v: t } => t.clone(),
        Span::Field { v: name } => v.get(name).to_owned(),
        Span::Bold { c } | Span::Italic { c } => c.iter().map(|s| plain_span(s, v)).collect(),
    }
}

fn html_span(sp: &Span, v: &Values) -> String {
    match sp {
        Span::Text { v: t } => escape(t),
        Span::Field { v: name } if name == "activation_link" || name == "sign_in_url" => {
            link(v.get(name))
        }
        Span::Field { v: name } => escape(v.get(name)),
        Span::Bold { c } => format!(
            "<strong>{}</strong>",
            c.iter().map(|s| html_span(s, v)).collect::<String>()
        ),
        Span::Italic { c } => format!(
            "<em>{}</em>",
            c.iter().map(|s| html_span(s, v)).collect::<String>()
        ),
    }
}

/// HTML-escapes text (element content and attribute values alike).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn link(url: &str) -> String {
    if url.starts_with("https://") || url.starts_with("http://") {
        format!("<a href=\"{0}\">{0}</a>", escape(url))
    } else {
        escape(url)
    }
}

fn text_block(b: &Block, v: &Values, out: &mut String) {
    let line = |c: &[Span]| c.iter().map(|s| plain_span(s, v)).collect::<String>();
    match b {
        Block::Heading { c, .. } => {
            let h = line(c);
            out.push_str(&format!(
                "{h}\n{}\n\n",
                "=".repeat(h.chars().count().min(60))
            ));
        }
        Block::Para { c } => out.push_str(&format!("{}\n\n", line(c))),
        Block::List { items } => {
            for i in items {
                out.push_str(&format!("  - {}\n", line(i)));
            }
            out.push('\n');
        }
        Block::Insert { v: name } => {
            let t = insert_text(name, v);
            if !t.is_empty() {
                out.push_str(&t);
                out.push('\n');
            }
        }
    }
}

fn html_block(b: &Block, v: &Values, out: &mut String) {
    let line = |c: &[Span]| c.iter().map(|s| html_span(s, v)).collect::<String>();
    match b {
        Block::Heading { level, c } => {
            let l = (*level).clamp(1, 3) + 1;
            out.push_str(&format!("<h{l}>{}</h{l}>\n", line(c)));
        }
        Block::Para { c } => out.push_str(&format!("<p>{}</p>\n", line(c))),
        Block::List { items } => {
            out.push_str("<ul>\n");
            for i in items {
                out.push_str(&format!("<li>{}</li>\n", line(i)));
            }
            out.push_str("</ul>\n");
        }
        Block::Insert { v: name } => out.push_str(&insert_html(name, v)),
    }
}

/// The credential lines: what to open or type, and with what.
fn credential_lines(v: &Values) -> Vec<(&'static str, String, bool)> {
    let mut lines = vec![("Username", v.r.username.clone(), true)];
    match v.cred {
        Cred::Password(p) => {
            lines.push(("Initial password", p.to_string(), true));
            if !v.settings.sign_in_url.is_empty() {
                lines.push(("Sign in at", v.settings.sign_in_url.clone(), false));
            }
        }
        Cred::Code(code, _) => {
            let link = v.get("activation_link");
            if !link.is_empty() {
                lines.push(("Activate your account", link.to_owned(), false));
            }
            lines.push(("Activation code", code.to_string(), true));
            let expires = v.get("expires");
            if !expires.is_empty() {
                lines.push(("The code works until", expires.to_owned(), false));
            }
        }
        Cred::Unchanged => {
            if !v.settings.sign_in_url.is_empty() {
                lines.push(("Sign in at", v.settings.sign_in_url.clone(), false));
            }
        }
    }
    lines
}

fn insert_text(name: &str, v: &Values) -> String {
    match name {
        "credentials" => credential_lines(v)
            .into_iter()
            .map(|(label, value, _)| format!("  {label}: {value}\n"))
            .collect(),
        "children_table" => {
            v.r.children
                .iter()
                .map(|c| {
                    let mut line = format!("  - {}", c.name);
                    if !c.username.is_empty() {
                        line.push_str(&format!(" (username {})", c.username));
                    }
                    if !c.year.is_empty() {
                        line.push_str(&format!(", Year {}", c.year));
                    }
                    line + "\n"
                })
                .collect()
        }
        // A QR code belongs on paper; an email carries the link itself.
        "qr_code" => String::new(),
        _ => String::new(),
    }
}

fn insert_html(name: &str, v: &Values) -> String {
    match name {
        "credentials" => {
            let rows: String = credential_lines(v)
                .into_iter()
                .map(|(label, value, mono)| {
                    let value = if mono {
                        format!("<code style=\"font-size: 1.1em;\">{}</code>", escape(&value))
                    } else {
                        link(&value)
                    };
                    format!("<tr><th style=\"text-align: left; padding-right: 1em;\">{label}</th><td>{value}</td></tr>\n")
                })
                .collect();
            format!(
                "<table style=\"border: 1px solid #999; padding: 0.5em; margin: 1em 0;\">\n{rows}</table>\n"
            )
        }
        "children_table" if !v.r.children.is_empty() => {
            let rows: String =
                v.r.children
                    .iter()
                    .map(|c| {
                        format!(
                            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>\n",
                            escape(&c.name),
                            escape(&c.username),
                            escape(&c.year)
                        )
                    })
                    .collect();
            format!(
                "<table style=\"border-collapse: collapse; margin: 1em 0;\">\n\
                 <tr><th style=\"text-align: left;\">Child</th><th style=\"text-align: left;\">Username</th>\
                 <th style=\"text-align: left;\">Year</th></tr>\n{rows}</table>\n"
            )
        }
        _ => String::new(),
    }
}
