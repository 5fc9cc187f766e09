use std::time::Instant;

use qrcode::{QrCode, render::svg};
use typst::World;
use typst::diag::Warned;
use typst::foundations::{Array, Bytes, Dict, IntoValue, Value};
use typst_as_lib::{TypstEngine, TypstTemplateMainFile, typst_kit_options::TypstKitFontOptions};
use typst_layout::PagedDocument;

static TEMPLATE: &str = include_str!("../templates/letters.typ");
static NOTO_REGULAR: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
static NOTO_BOLD: &[u8] = include_bytes!("../fonts/NotoSans-Bold.ttf");
static NOTO_MONO: &[u8] = include_bytes!("../fonts/NotoSansMono-Regular.ttf");
static SCHOOL_JSON: &str = r#"{"name":"Gymnasium Am Hafen","address":"Hafenstraße 1, 20457 Hamburg","url":"https://example.school/login"}"#;

struct Person {
    name: String,
    family: String,
    class: String,
    username: String,
    password: String,
}

fn qr_svg(text: &str) -> Bytes {
    let code = QrCode::new(text.as_bytes()).expect("qr");
    let svg: String = code.render::<svg::Color>().min_dimensions(200, 200).build();
    Bytes::new(svg.into_bytes())
}

fn person_value(p: &Person) -> Value {
    let mut d = Dict::new();
    d.insert("name".into(), p.name.as_str().into_value());
    d.insert("family".into(), p.family.as_str().into_value());
    d.insert("class".into(), p.class.as_str().into_value());
    d.insert("username".into(), p.username.as_str().into_value());
    d.insert("password".into(), p.password.as_str().into_value());
    d.insert("qr".into(), qr_svg(&format!("https://example.school/login?u={}", p.username)).into_value());
    Value::Dict(d)
}

fn inputs(title: &str, paper: &str, people: &[Person]) -> Dict {
    let mut d = Dict::new();
    d.insert("title".into(), title.into_value());
    d.insert("paper".into(), paper.into_value());
    d.insert("people".into(), Value::Array(people.iter().map(person_value).collect::<Array>()));
    d
}

fn make_engine(system_fonts: bool, evict: bool) -> TypstEngine<TypstTemplateMainFile> {
    let b = TypstEngine::builder()
        .main_file(TEMPLATE)
        .fonts([NOTO_REGULAR, NOTO_BOLD, NOTO_MONO])
        .with_static_file_resolver([("school.json", SCHOOL_JSON.as_bytes())])
        // typst-as-lib defaults to comemo::evict(0) after EVERY compile; None = keep cache.
        .comemo_evict_max_age(if evict { Some(0) } else { None });
    let b = if system_fonts {
        b.search_fonts_with(TypstKitFontOptions::new().include_system_fonts(true))
    } else {
        b
    };
    b.build()
}

/// Pre-flight: chars of `text` that no font in the world's FontBook covers
/// (same rule as typst's own fallback: FontBook::select_fallback -> coverage.contains).
fn uncovered_chars(book: &typst::text::FontBook, text: &str) -> Vec<char> {
    let mut out = vec![];
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() { continue; }
        let mut i = 0;
        let mut found = false;
        while let Some(info) = book.info(i) {
            if info.coverage.contains(c as u32) { found = true; break; }
            i += 1;
        }
        if !found && !out.contains(&c) { out.push(c); }
    }
    out
}

/// Post-layout: every glyph id 0 (.notdef, a "tofu") with its page index and char.
fn tofus(doc: &PagedDocument) -> Vec<(usize, String)> {
    fn walk(frame: &typst::layout::Frame, page: usize, out: &mut Vec<(usize, String)>) {
        for (_, item) in frame.items() {
            match item {
                typst::layout::FrameItem::Group(g) => walk(&g.frame, page, out),
                typst::layout::FrameItem::Text(t) => {
                    for g in &t.glyphs {
                        if g.id == 0 {
                            out.push((page, t.text[g.range()].to_string()));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = vec![];
    for (i, page) in doc.pages().iter().enumerate() {
        walk(&page.frame, i, &mut out);
    }
    out
}

fn render(engine: &TypstEngine<TypstTemplateMainFile>, inp: Dict) -> (PagedDocument, Vec<u8>) {
    let Warned { output, warnings } = engine.compile_with_input::<_, PagedDocument>(inp);
    for w in &warnings {
        eprintln!("typst warning: {} {:?}", w.message, w.hints);
    }
    let doc = output.unwrap_or_else(|e| panic!("compile failed: {e:?}"));
    let pdf = typst_pdf::pdf(&doc, &typst_pdf::PdfOptions::default()).expect("pdf");
    (doc, pdf)
}

fn p(name: &str, family: &str, class: &str, user: &str) -> Person {
    Person { name: name.into(), family: family.into(), class: class.into(), username: user.into(), password: "Kx7-pQ2m".into() }
}

fn demo() {
    let people = vec![
        p("Zoë Ångström-Müller", "Ångström-Müller", "7b", "zoe.angstrom"),
        p("Анастасия Кузнецова", "Кузнецова", "8a", "anastasia.kuznetsova"),
        p("Nguyễn Thị Phương", "Nguyễn", "9c", "nguyen.phuong"),
        p("王小明", "王", "5a", "wang.xiaoming"),
        p("Σοφία Παπαδοπούλου", "Παπαδοπούλου", "6a", "sofia.papadopoulou"),
        p("Test 𞓐𞓑𞓒 Person", "Test", "1a", "test.tofu"), // Nag Mundari: no font here covers it
    ];
    let t = Instant::now();
    let engine = make_engine(true, true);
    eprintln!("engine build (incl. system font scan): {:?}", t.elapsed());

    // Preview check before printing.
    let world = engine.world_builder().build().expect("world");
    let book = world.book();
    for person in &people {
        let miss = uncovered_chars(book, &person.name);
        if !miss.is_empty() {
            println!("PREFLIGHT: {} has chars no font covers: {:?}", person.name,
                miss.iter().map(|c| format!("U+{:04X}", *c as u32)).collect::<Vec<_>>());
        }
    }

    for paper in ["a4", "us-letter"] {
        let t = Instant::now();
        let (doc, pdf) = render(&engine, inputs("Welcome letters – 2026", paper, &people));
        let path = format!("letters-{paper}.pdf");
        std::fs::write(&path, &pdf).unwrap();
        eprintln!("{path}: {} pages, {} bytes, {:?}", doc.pages().len(), pdf.len(), t.elapsed());
        for (page, s) in tofus(&doc) {
            println!("TOFU on page {} ({}): {:?}", page + 1, people[page].name, s);
        }
    }
    // Without system fonts: the Chinese name has no font either.
    let e2 = make_engine(false, true);
    let (doc, _) = render(&e2, inputs("x", "a4", &people[3..4]));
    println!("embedded-only tofus for {}: {:?}", people[3].name, tofus(&doc));
}

fn bench(total: usize, batch: usize, evict: bool, per_letter: bool) {
    let engine = make_engine(false, false); // we evict by hand
    let t0 = Instant::now();
    let mut pages = 0;
    let mut bytes = 0;
    let mut n = 0;
    while n < total {
        let people: Vec<Person> = (n..(n + batch).min(total))
            .map(|i| p(&format!("Schüler Nummer {i} Łódź"), "Família", "7b", &format!("user{i:05}")))
            .collect();
        if per_letter {
            for one in people.chunks(1) {
                let (doc, pdf) = render(&engine, inputs("Welcome", "a4", one));
                pages += doc.pages().len(); bytes += pdf.len();
            }
        } else {
            let (doc, pdf) = render(&engine, inputs("Welcome", "a4", &people));
            pages += doc.pages().len(); bytes += pdf.len();
        }
        if evict { comemo::evict(0); }
        n += batch;
    }
    let el = t0.elapsed();
    println!("bench total={total} batch={batch} evict={evict} per_letter={per_letter}: {pages} pages, {} MB pdf, {:.2?} total, {:.2} ms/letter",
        bytes / 1_000_000, el, el.as_secs_f64() * 1000.0 / total as f64);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(|s| s.as_str()) {
        Some("bench") => bench(
            args[2].parse().unwrap(), args[3].parse().unwrap(),
            args[4] == "evict", args.get(5).map(|s| s == "per-letter").unwrap_or(false)),
        _ => demo(),
    }
}
