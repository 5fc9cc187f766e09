//! How the CLI prints: JSON (one document per command, arrays streamed),
//! and plain tables whose columns line up by display width, whatever the
//! script (a Chinese name takes two columns per character, an accent none).

use std::io::Write;

use anyhow::Result;
use unicode_width::UnicodeWidthStr;

/// Prints `value` as one JSON document.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Writes one JSON array, an element at a time, so large lists stream.
pub struct JsonArray<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonArray<W> {
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"[")?;
        Ok(JsonArray { out, first: true })
    }

    pub fn push(&mut self, item: &impl serde::Serialize) -> std::io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer_pretty(&mut self.out, item)?;
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.out.write_all(b"\n]\n")?;
        self.out.flush()?;
        Ok(())
    }
}

/// `s` in exactly `width` display columns: padded with spaces, or cut with
/// an ellipsis when wider. The last column of a row is best left unpadded
/// (width 0 keeps it whole).
pub fn cell(s: &str, width: usize) -> String {
    if width == 0 {
        return s.to_owned();
    }
    let w = s.width();
    if w <= width {
        return format!("{s}{}", " ".repeat(width - w));
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw + 1 > width {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    used += 1;
    out + &" ".repeat(width - used)
}

/// A row of cells in these widths, separated by a space.
pub fn row(cells: &[(&str, usize)]) -> String {
    let parts: Vec<String> = cells.iter().map(|(s, w)| cell(s, *w)).collect();
    parts.join(" ").trim_end().to_owned()
}

/// Writes a line to `out`, as the library's errors want it.
pub fn line(out: &mut impl Write, text: &str) -> keyroll_core::Result<()> {
    writeln!(out, "{text}").map_err(|e| keyroll_core::Error::io("standard output", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_line_up_by_display_width() {
        assert_eq!(cell("Zoë", 5), "Zoë  ");
        assert_eq!(cell("陈伟", 5), "陈伟 ");
        assert_eq!(cell("Papadopoulos", 6), "Papad…");
        assert_eq!(cell("陈伟陈伟", 6), "陈伟… ");
        assert_eq!(row(&[("a", 3), ("b", 0)]), "a   b");
    }
}
