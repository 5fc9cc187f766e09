//! The live preview's cost after a keystroke (bench/letters.sh runs it):
//! the Letters screen keeps one renderer and, at each edit of the template,
//! parses it and lays out the first page from the school's real data.
//!
//!   KEYROLL_DB_KEY=… cargo run --release -p keyroll-core --example letters_preview -- DB [EDITS]

use std::time::Instant;

use keyroll_core::letters::{self, templates, Audience, Layout, Per, Renderer, Request};
use keyroll_core::people::{Kind, PeopleQuery};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let db = args.next().ok_or("usage: letters_preview DB [EDITS]")?;
    let edits: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(20);
    let key = keyroll_core::DbKey::take_from_env()?.ok_or("set KEYROLL_DB_KEY")?;
    let store = keyroll_core::Store::open(std::path::Path::new(&db), &key)?;
    let started = Instant::now();
    let renderer = Renderer::new();
    // The first preview also loads the fonts: the screen's opening, not a keystroke.
    let base = templates::default_for(Audience::Parent);
    let request = |text: &str| -> keyroll_core::Result<Request> {
        Ok(Request {
            query: PeopleQuery {
                kind: Some(Kind::Contact),
                ..Default::default()
            },
            per: Per::Family,
            layout: Layout::Letter,
            template: Some(letters::Template::new(&base.name, base.audience, text)?),
            ..Default::default()
        })
    };
    letters::sample(&store, &renderer, &request(&base.text)?, 1)?;
    let opening = started.elapsed();
    let mut text = base.text.clone();
    let mut times = Vec::new();
    for i in 0..edits {
        // A keystroke: one more character in the last paragraph.
        text.push(if i % 6 == 5 { ' ' } else { 'x' });
        let t = Instant::now();
        let pages = letters::sample(&store, &renderer, &request(&text)?, 1)?;
        assert_eq!(pages.len(), 1);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "opening {:.0} ms; after a keystroke: median {:.0} ms, slowest {:.0} ms ({edits} edits)",
        opening.as_secs_f64() * 1000.0,
        times[times.len() / 2],
        times[times.len() - 1]
    );
    Ok(())
}
