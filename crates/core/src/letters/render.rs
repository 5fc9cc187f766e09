//! Laying letters out and writing them as PDF, with typst as a library
//! (docs/letters-probe.md). The fonts ship with Keyroll (Noto Sans, SIL OFL
//! 1.1: Latin, Greek, Cyrillic, Vietnamese), so every office prints the same;
//! other scripts fall back to the system's fonts, and [`Coverage::uncovered`]
//! finds a name that no font can print before anything is.
//!
//! typst memoises across compiles; a run compiles in batches and evicts
//! typst's caches after each (and on every error path), so memory stays
//! flat however many letters there are. The batches' pages then make one
//! document, written as one PDF.

use typst::foundations::{Array, Bytes, Dict, IntoValue, Value};
use typst::World;
use typst_as_lib::typst_kit_options::TypstKitFontOptions;
use typst_as_lib::{TypstEngine, TypstTemplateMainFile};
use typst_layout::{Page, PagedDocument};

use crate::error::{Error, Result};

const LAYOUT: &str = include_str!("layout.typ");

static FONTS: [&[u8]; 6] = [
    include_bytes!("fonts/NotoSans-Regular.ttf"),
    include_bytes!("fonts/NotoSans-Bold.ttf"),
    include_bytes!("fonts/NotoSans-Italic.ttf"),
    include_bytes!("fonts/NotoSans-BoldItalic.ttf"),
    include_bytes!("fonts/NotoSansMono-Regular.ttf"),
    include_bytes!("fonts/NotoSansMono-Bold.ttf"),
];

/// The typst engine with Keyroll's layouts and fonts. Building one scans
/// the system's fonts (about 0.1 s): build it once and keep it.
pub struct Renderer {
    engine: TypstEngine<TypstTemplateMainFile>,
}

/// Evicts typst's memoised results when dropped: after every batch,
/// whether it laid out, failed or panicked.
struct Evict;

impl Drop for Evict {
    fn drop(&mut self) {
        comemo::evict(0);
    }
}

impl Renderer {
    pub fn new() -> Renderer {
        let engine = TypstEngine::builder()
            .main_file(LAYOUT)
            .fonts(FONTS)
            .search_fonts_with(TypstKitFontOptions::new().include_system_fonts(true))
            // We evict per batch ourselves (Evict), not after every compile.
            .comemo_evict_max_age(None)
            .build();
        Renderer { engine }
    }

    /// The fonts a run can draw with (Keyroll's and the system's), to
    /// check names against before anything is printed.
    pub fn coverage(&self) -> Result<Coverage<'_>> {
        let world = self
            .engine
            .world_builder()
            .build()
            .map_err(|e| Error::Invalid(format!("the letter layout could not start: {e}")))?;
        Ok(Coverage { world })
    }

    /// Lays out one batch (`inputs` as `sys.inputs`), returning its pages.
    pub fn pages(&self, inputs: Dict) -> Result<Vec<Page>> {
        let _evict = Evict;
        let warned = self.engine.compile_with_input::<_, PagedDocument>(inputs);
        let doc = warned.output.map_err(|e| {
            Error::Invalid(format!(
                "the letters could not be laid out ({}); this is a fault in Keyroll, please report it",
                describe(&e)
            ))
        })?;
        Ok(doc.pages().to_vec())
    }

    /// One PDF of `pages` (from one or more batches), titled `title`.
    pub fn pdf(&self, pages: Vec<Page>, title: &str, author: &str) -> Result<Vec<u8>> {
        let _evict = Evict;
        let info = typst::model::DocumentInfo {
            title: Some(title.into()),
            author: vec![author.into()],
            ..Default::default()
        };
        let doc = PagedDocument::new(pages.into_iter().collect(), info);
        typst_pdf::pdf(&doc, &typst_pdf::PdfOptions::default()).map_err(|e| {
            Error::Invalid(format!(
                "the PDF could not be written ({:?}); this is a fault in Keyroll, please report it",
                e.iter().map(|d| d.message.as_str()).collect::<Vec<_>>()
            ))
        })
    }

    /// Page `page` as SVG, for the app's live preview.
    pub fn svg(page: &Page) -> String {
        typst_svg::svg(page, &typst_svg::SvgOptions::default())
    }
}

/// The fonts' coverage, as typst's own fallback sees it.
pub struct Coverage<'a> {
    world: typst_as_lib::TypstWorld<'a>,
}

impl Coverage<'_> {
    /// The characters of `text` that no font can draw: what would print as
    /// empty boxes (typst says nothing about them).
    pub fn uncovered(&self, text: &str) -> Vec<char> {
        let book = self.world.book();
        let mut out: Vec<char> = Vec::new();
        for c in text.chars() {
            if c.is_whitespace() || c.is_control() || out.contains(&c) {
                continue;
            }
            let covered = (0..)
                .map_while(|i| book.info(i))
                .any(|info| info.coverage.contains(c as u32));
            if !covered {
                out.push(c);
            }
        }
        out
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

fn describe(e: &typst_as_lib::TypstAsLibError) -> String {
    match e {
        typst_as_lib::TypstAsLibError::TypstSource(diags) => diags
            .iter()
            .map(|d| d.message.to_string())
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// A QR code of `text` (the qrcode crate's modules, error correction M)
/// as SVG bytes, for `image(…, format: "svg")`: one path whose subpaths
/// are each row's runs of dark modules. (The crate's own SVG draws every
/// module apart; three times the subpaths cost a letter run a third of its
/// time, in parsing and in the PDF.)
pub fn qr_svg(text: &str) -> Result<Bytes> {
    use std::fmt::Write;
    let code = qrcode::QrCode::new(text.as_bytes())
        // Not the text itself: it may hold an activation code.
        .map_err(|e| {
            Error::Invalid(format!(
                "an address of {} characters is too long for a QR code ({e}); shorten the \
                 sign-in or activation address in the letter settings",
                text.chars().count()
            ))
        })?;
    let w = code.width();
    let modules = code.to_colors();
    // The quiet zone the standard asks for: four modules all round.
    let quiet = 4;
    let size = w + 2 * quiet;
    let mut d = String::with_capacity(w * w);
    for y in 0..w {
        let row = &modules[y * w..(y + 1) * w];
        let mut x = 0;
        while x < w {
            if row[x] != qrcode::Color::Dark {
                x += 1;
                continue;
            }
            let start = x;
            while x < w && row[x] == qrcode::Color::Dark {
                x += 1;
            }
            let run = x - start;
            let _ = write!(d, "M{} {}h{run}v1h-{run}z", start + quiet, y + quiet);
        }
    }
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path d=\"{d}\" fill=\"#000\"/></svg>"
    );
    Ok(Bytes::new(svg.into_bytes()))
}

/// A JSON value as typst sees it.
pub fn value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::None,
        serde_json::Value::Bool(b) => b.into_value(),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => i.into_value(),
            None => n.as_f64().unwrap_or(0.0).into_value(),
        },
        serde_json::Value::String(s) => s.as_str().into_value(),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(value).collect::<Array>()),
        serde_json::Value::Object(o) => Value::Dict(dict(o)),
    }
}

/// A JSON object as a typst dictionary.
pub fn dict(o: &serde_json::Map<String, serde_json::Value>) -> Dict {
    let mut d = Dict::new();
    for (k, v) in o {
        d.insert(k.as_str().into(), value(v));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dark modules our SVG path draws: each `M x y h run` subpath.
    fn drawn(svg: &str) -> Vec<(usize, usize)> {
        let d = svg.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        let mut out = Vec::new();
        for sub in d.split('M').filter(|s| !s.is_empty()) {
            let (xy, rest) = sub.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let run: usize = rest.split('v').next().unwrap().parse().unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            out.extend((x..x + run).map(|x| (x - 4, y - 4)));
        }
        out.sort();
        out
    }

    #[test]
    fn the_qr_path_draws_exactly_the_crates_dark_modules() {
        for text in [
            "https://accounts.example.school",
            "https://accounts.example.school/activate?code=5GUNUC5YJN8FCTD2CGVXR34P28",
        ] {
            let svg = String::from_utf8(qr_svg(text).unwrap().to_vec()).unwrap();
            let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
            let w = code.width();
            let mut want: Vec<(usize, usize)> = code
                .to_colors()
                .iter()
                .enumerate()
                .filter(|(_, c)| **c == qrcode::Color::Dark)
                .map(|(i, _)| (i % w, i / w))
                .collect();
            want.sort();
            assert_eq!(drawn(&svg), want, "{text}");
            assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", w + 8)));
        }
    }
}
