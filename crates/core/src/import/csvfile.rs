//! Opening one SIS CSV file the way schools' machines write them: any of
//! UTF-8 (with or without BOM), UTF-16 LE/BE (with a BOM or by the NUL-byte
//! pattern) or Windows-1252; comma, semicolon or tab delimited; CRLF or LF.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use encoding_rs::Encoding;

use super::{RowError, Source, Spot};
use crate::error::{Error, Result};
use crate::people::RawFields;
use std::sync::Arc;

/// How many bytes are sniffed for encoding and delimiter.
const SNIFF: usize = 64 * 1024;

/// Decides a file's encoding: from its first bytes, and when those look like
/// UTF-8, from all of it. (A Windows-1252 export is often pure ASCII for its
/// first thousands of rows; one "é" further down must not become "�".)
fn detect_file_encoding(src: &Source, head: &[u8]) -> Result<&'static Encoding> {
    let guess = detect_encoding(head);
    if guess != encoding_rs::UTF_8 || Encoding::for_bom(head).is_some() {
        return Ok(guess);
    }
    let io_err = |e| Error::io(src.describe(), e);
    let mut f = src.open()?;
    let mut buf = vec![0u8; SNIFF];
    let mut carry = 0; // bytes of a character cut off at the end of a chunk
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let mut valid = true;
    loop {
        let n = f.read(&mut buf[carry..]).map_err(io_err)?;
        let end = carry + n;
        if n == 0 {
            valid = carry == 0;
            if !valid {
                det.feed(&buf[..end], true);
            }
            break;
        }
        match std::str::from_utf8(&buf[..end]) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_none() => {
                let cut = e.valid_up_to();
                buf.copy_within(cut..end, 0);
                carry = end - cut;
            }
            Err(_) => valid = false,
        }
        if !valid {
            // Not UTF-8 after all: the detector needs only the non-ASCII
            // text, which starts in this chunk.
            det.feed(&buf[..end], false);
            // Keep feeding the detector the rest of the file.
            loop {
                let n = f.read(&mut buf).map_err(io_err)?;
                det.feed(&buf[..n], n == 0);
                if n == 0 {
                    break;
                }
            }
            break;
        }
    }
    Ok(if valid {
        encoding_rs::UTF_8
    } else {
        det.guess(None, chardetng::Utf8Detection::Deny)
    })
}

/// Decides a file's text encoding from its first bytes.
pub fn detect_encoding(head: &[u8]) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(head) {
        return enc;
    }
    // UTF-16 without a BOM: text of mostly ASCII has a NUL in every other byte.
    let pairs = head.len() / 2;
    if pairs >= 2 {
        let even_nuls = head.iter().step_by(2).filter(|&&b| b == 0).count();
        let odd_nuls = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
        if odd_nuls * 10 >= pairs * 3 && even_nuls * 10 < pairs {
            return encoding_rs::UTF_16LE;
        }
        if even_nuls * 10 >= pairs * 3 && odd_nuls * 10 < pairs {
            return encoding_rs::UTF_16BE;
        }
    }
    // Valid UTF-8 (allowing a character cut off by the sniff window) is UTF-8.
    match std::str::from_utf8(head) {
        Ok(_) => return encoding_rs::UTF_8,
        Err(e) if e.error_len().is_none() && head.len() - e.valid_up_to() < 4 => {
            return encoding_rs::UTF_8
        }
        Err(_) => {}
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(head, head.len() < SNIFF);
    // Not UTF-8 (checked above), so only legacy encodings are candidates.
    det.guess(None, chardetng::Utf8Detection::Deny)
}

/// The delimiter of the header line: whichever of , ; tab it holds most of
/// (outside quotes), comma on a tie.
pub fn detect_delimiter(first_line: &str) -> u8 {
    let (mut comma, mut semi, mut tab, mut quoted) = (0, 0, 0, false);
    for c in first_line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => comma += 1,
            ';' if !quoted => semi += 1,
            '\t' if !quoted => tab += 1,
            '\n' => break,
            _ => {}
        }
    }
    if tab > comma && tab >= semi {
        b'\t'
    } else if semi > comma {
        b';'
    } else {
        b','
    }
}

/// Counts the raw bytes read, for an honest progress bar whatever the encoding.
struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

type Decoded = encoding_rs_io::DecodeReaderBytes<Counted<Box<dyn Read>>, Vec<u8>>;

/// Where rows come from: a CSV text stream, or a worksheet read whole (a
/// workbook is a zip of XML, which cannot be streamed row by row).
// One per open file: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Rows {
    Csv(csv::Reader<Decoded>),
    Sheet {
        rows: std::vec::IntoIter<csv::StringRecord>,
        total: usize,
    },
}

/// Whether a file is a spreadsheet workbook, by its name.
pub fn is_workbook(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// The columns of a file kept as raw SIS fields ([`CsvFile::raw_columns`]):
/// each header once, in order, with its columns.
#[derive(Clone, Debug, Default)]
pub struct RawColumns(Vec<(String, Vec<usize>)>);

impl RawColumns {
    /// Only the columns whose header `keep` accepts.
    pub fn filter(mut self, keep: impl Fn(&str) -> bool) -> RawColumns {
        self.0.retain(|(header, _)| keep(header));
        self
    }
}

/// An open CSV file with its header and encoding known.
pub struct CsvFile {
    /// The file name as shown in error messages.
    pub name: String,
    pub encoding: &'static Encoding,
    pub delimiter: u8,
    /// Header names as written (BOM and surrounding spaces removed).
    pub headers: Vec<String>,
    /// The same names (and the file name) shared, for [`Spot`]s.
    shared_name: Arc<str>,
    shared_headers: Vec<Arc<str>>,
    lower: Vec<String>,
    reader: Rows,
    /// The worksheet read, for a workbook.
    pub sheet: Option<String>,
    read_bytes: Rc<Cell<u64>>,
    pub size: u64,
    /// Whether lines end in CRLF (see [`CsvFile::line_of`]).
    crlf: bool,
    /// Shared by the links read from this file (made on first use).
    link_header: Option<Arc<super::FileHeader>>,
}

impl CsvFile {
    /// Opens a CSV file, or the first worksheet of a workbook (.xlsx, .xls, .ods).
    pub fn open(src: &Source) -> Result<CsvFile> {
        if is_workbook(src.file_name()) {
            return CsvFile::open_sheet(src, None);
        }
        let io_err = |e| Error::io(src.describe(), e);
        let size = src.size();
        let mut head = Vec::with_capacity(SNIFF);
        src.open()?
            .take(SNIFF as u64)
            .read_to_end(&mut head)
            .map_err(io_err)?;
        let encoding = detect_file_encoding(src, &head)?;
        let (text, _, _) = encoding.decode(&head);
        let delimiter = detect_delimiter(text.trim_start_matches('\u{feff}'));
        let crlf = text.find('\n').is_some_and(|i| text[..i].ends_with('\r'));
        drop(text);
        let f = src.open()?;
        let read_bytes = Rc::new(Cell::new(0));
        let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
            .encoding(Some(encoding))
            .bom_override(true)
            .build(Counted {
                inner: f,
                count: read_bytes.clone(),
            });
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(decoded);
        let name = src.file_name().to_owned();
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| Error::Invalid(format!("{name}:1: cannot read the header line: {e}")))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
            .collect();
        Ok(CsvFile::new(
            name,
            headers,
            Rows::Csv(reader),
            (encoding, delimiter, crlf),
            read_bytes,
            size,
        ))
    }

    fn new(
        name: String,
        headers: Vec<String>,
        reader: Rows,
        (encoding, delimiter, crlf): (&'static Encoding, u8, bool),
        read_bytes: Rc<Cell<u64>>,
        size: u64,
    ) -> CsvFile {
        let lower = headers.iter().map(|h| header_word(h)).collect();
        CsvFile {
            delimiter,
            shared_name: name.as_str().into(),
            shared_headers: headers.iter().map(|h| h.as_str().into()).collect(),
            name,
            encoding,
            headers,
            lower,
            reader,
            sheet: None,
            read_bytes,
            size,
            crlf,
            link_header: None,
        }
    }

    /// Opens a worksheet of a workbook: `sheet` by name, or the first that
    /// holds anything. Its first non-empty row is the header; line numbers
    /// are the spreadsheet's row numbers, columns its column numbers (A = 1).
    pub fn open_sheet(src: &Source, sheet: Option<&str>) -> Result<CsvFile> {
        use calamine::Reader as _;
        let name = src.file_name().to_owned();
        let mut bytes = Vec::new();
        src.open()?
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(src.describe(), e))?;
        let unreadable = |e: &dyn std::fmt::Display| {
            Error::Invalid(format!(
                "{name} cannot be read as a spreadsheet ({e}). Open it in Excel or LibreOffice, \
                 save it again as .xlsx or .csv, and import that file."
            ))
        };
        let mut book = calamine::open_workbook_auto_from_rs(io::Cursor::new(bytes))
            .map_err(|e| unreadable(&e))?;
        let names = book.sheet_names();
        let chosen: Vec<String> = match sheet {
            Some(want) => {
                let found = names.iter().find(|n| n.eq_ignore_ascii_case(want));
                vec![found.cloned().ok_or_else(|| {
                    Error::Invalid(format!(
                        "{name} has no worksheet called \"{want}\" (it has: {})",
                        names.join(", ")
                    ))
                })?]
            }
            None => names.clone(),
        };
        for sheet_name in chosen {
            let range = book
                .worksheet_range(&sheet_name)
                .map_err(|e| unreadable(&e))?;
            let Some((top, left)) = range.start() else {
                continue; // an empty sheet
            };
            let mut rows = range.rows().enumerate().filter_map(|(i, row)| {
                let fields: Vec<String> = row.iter().map(cell_text).collect();
                let line = u64::from(top) + i as u64 + 1;
                (!fields.iter().all(|f| f.trim().is_empty())).then_some((line, fields))
            });
            let Some((_, header)) = rows.next() else {
                continue;
            };
            // Columns left of the used range still count for "column N".
            let pad = left as usize;
            let mut headers = vec![String::new(); pad];
            headers.extend(header.iter().map(|h| h.trim().to_owned()));
            while headers.last().is_some_and(String::is_empty) {
                headers.pop();
            }
            let records: Vec<csv::StringRecord> = rows
                .map(|(line, fields)| {
                    let mut rec = csv::StringRecord::new();
                    (0..pad).for_each(|_| rec.push_field(""));
                    fields.iter().for_each(|f| rec.push_field(f));
                    // Empty cells past the header are not fields.
                    while rec.len() > headers.len() && rec.get(rec.len() - 1) == Some("") {
                        rec.truncate(rec.len() - 1);
                    }
                    let mut pos = csv::Position::new();
                    pos.set_line(line);
                    rec.set_position(Some(pos));
                    rec
                })
                .collect();
            let total = records.len();
            let mut f = CsvFile::new(
                name,
                headers,
                Rows::Sheet {
                    rows: records.into_iter(),
                    total,
                },
                (encoding_rs::UTF_8, b',', false),
                Rc::new(Cell::new(0)),
                src.size(),
            );
            f.sheet = Some(sheet_name);
            return Ok(f);
        }
        Err(Error::Invalid(format!(
            "{name} has no rows{}: choose the file that holds the school's list",
            sheet
                .map(|s| format!(" on worksheet \"{s}\""))
                .unwrap_or_default()
        )))
    }

    /// The index of a column, matched ignoring case, and with a space the
    /// same as an underscore (exports write "School id" for "School_id").
    pub fn column(&self, name: &str) -> Option<usize> {
        let name = header_word(name);
        self.lower.iter().position(|h| *h == name)
    }

    /// The index of a column matched more loosely than [`CsvFile::column`]:
    /// case, spaces and punctuation ignored ("SIS ID", "SISID", "sis_id"),
    /// for vendors whose own files write their headers several ways.
    pub fn loose_column(&self, name: &str) -> Option<usize> {
        let name = super::fields::squash(name);
        self.headers
            .iter()
            .position(|h| super::fields::squash(h) == name)
    }

    /// Indexes of required columns, or one error per missing column.
    pub fn require(&self, names: &[&str]) -> std::result::Result<Vec<usize>, Vec<RowError>> {
        self.require_by(names, |n| self.column(n))
    }

    fn require_by(
        &self,
        names: &[&str],
        column: impl Fn(&str) -> Option<usize>,
    ) -> std::result::Result<Vec<usize>, Vec<RowError>> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for n in names {
            match column(n) {
                Some(i) => found.push(i),
                None => missing.push(RowError {
                    file: self.name.clone(),
                    line: 1,
                    column: 0,
                    field: (*n).to_owned(),
                    reason: format!(
                        "required column \"{n}\" is missing (the header has: {})",
                        self.headers.join(", ")
                    ),
                    outcome: Default::default(),
                }),
            }
        }
        if missing.is_empty() {
            Ok(found)
        } else {
            Err(missing)
        }
    }

    /// The columns kept as raw SIS fields: all but `mapped` (held as named
    /// fields or links) and any secret column (never stored).
    pub fn raw_columns(&self, mapped: &[usize]) -> RawColumns {
        let mut by_header: Vec<(String, Vec<usize>)> = Vec::new();
        for i in 0..self.headers.len() {
            let header = &self.headers[i];
            if mapped.contains(&i) || super::fields::is_secret_column(header) {
                continue;
            }
            match by_header.iter_mut().find(|(h, _)| h == header) {
                Some((_, columns)) => columns.push(i),
                None => by_header.push((header.clone(), vec![i])),
            }
        }
        by_header.sort_by(|a, b| a.0.cmp(&b.0));
        RawColumns(by_header)
    }

    /// The non-empty values of `columns` in `rec`, by header, written
    /// straight to their JSON. A header named twice keeps its last
    /// non-empty value, as a map made from the row would.
    pub fn raw_fields(&self, rec: &csv::StringRecord, columns: &RawColumns) -> RawFields {
        RawFields::from_sorted(columns.0.iter().filter_map(|(header, at)| {
            let value = at
                .iter()
                .rev()
                .filter_map(|&i| rec.get(i))
                .find(|v| !v.trim().is_empty())?;
            Some((header.as_str(), value))
        }))
    }

    /// What was read: for the preview, which shows each file's encoding.
    pub fn info(&self) -> super::FileInfo {
        if let Some(sheet) = &self.sheet {
            let lower = self.name.to_ascii_lowercase();
            return super::FileInfo {
                file: self.name.clone(),
                encoding: if lower.ends_with(".ods") {
                    "OpenDocument spreadsheet"
                } else {
                    "Excel workbook"
                },
                delimiter: "",
                sheet: Some(sheet.clone()),
                size: self.size,
            };
        }
        super::FileInfo {
            file: self.name.clone(),
            sheet: None,
            encoding: match self.encoding.name() {
                "UTF-16LE" | "UTF-16BE" => "UTF-16",
                "windows-1252" => "Windows-1252",
                other => other,
            },
            delimiter: match self.delimiter {
                b'\t' => "tab",
                b';' => "semicolon",
                _ => "comma",
            },
            size: self.size,
        }
    }

    /// Raw bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read_bytes.get()
    }

    /// Reads the next record into `rec`; false at the end of the file.
    pub fn next(&mut self, rec: &mut csv::StringRecord) -> Result<bool> {
        let reader = match &mut self.reader {
            Rows::Csv(r) => r,
            Rows::Sheet { rows, total } => {
                let Some(next) = rows.next() else {
                    return Ok(false);
                };
                *rec = next;
                // Progress by rows: a workbook's bytes are compressed XML.
                let done = (*total - rows.len()) as u64;
                self.read_bytes
                    .set(self.size * done / (*total).max(1) as u64);
                return Ok(true);
            }
        };
        reader.read_record(rec).map_err(|e| {
            let at = e
                .position()
                .map(|p| format!("{}:{}", self.name, p.line()))
                .unwrap_or_else(|| self.name.clone());
            match e.kind() {
                csv::ErrorKind::Utf8 { .. } => Error::Invalid(format!(
                    "{at}: the text is not valid {}; save the file as UTF-8 and import it again",
                    self.encoding.name()
                )),
                _ => Error::Invalid(format!("{at}: {e}")),
            }
        })
    }

    /// An error about one field (0-based `column`) of `rec`.
    pub fn error(&self, rec: &csv::StringRecord, column: usize, reason: String) -> RowError {
        self.spot(rec, column).error(reason)
    }

    /// The line `rec` starts on. csv-core counts a CRLF terminator's LF only
    /// when it reads the next record, so in CRLF files its start line for
    /// every data row is one short.
    pub fn line_of(&self, rec: &csv::StringRecord) -> u64 {
        rec.position()
            .map_or(0, |p| p.line() + u64::from(self.crlf))
    }

    /// What is wrong with a row's id in `column`, if anything: it is missing,
    /// or `seen` (ids read so far, with their lines) already has it. `what`
    /// names the row in the message ("user", "org").
    pub fn id_problem<S: std::hash::BuildHasher>(
        &self,
        rec: &csv::StringRecord,
        column: usize,
        id: &str,
        what: &str,
        seen: &std::collections::HashMap<String, u64, S>,
    ) -> Option<RowError> {
        let name = &self.headers[column];
        if id.is_empty() {
            return Some(self.error(rec, column, format!("the {what} has no {name}")));
        }
        let first = seen.get(id)?;
        Some(self.error(
            rec,
            column,
            format!("{name} \"{id}\" is already used on line {first}"),
        ))
    }

    /// The email in `column` of `rec` (empty if none); a malformed one is
    /// reported in `errors`.
    pub fn email(
        &self,
        rec: &csv::StringRecord,
        column: Option<usize>,
        errors: &mut Vec<RowError>,
    ) -> String {
        let email = super::fields::field(rec, column);
        if !email.is_empty() && !super::fields::is_email(&email) {
            let why = format!("\"{email}\" is not an email address");
            errors.push(self.error(rec, column.unwrap_or(0), why));
        }
        email
    }

    /// Where a link between two columns (0-based) of `rec` is stated.
    pub fn link_at(
        &mut self,
        rec: &csv::StringRecord,
        from_column: usize,
        to_column: usize,
    ) -> super::LinkAt {
        let file = self
            .link_header
            .get_or_insert_with(|| {
                Arc::new(super::FileHeader {
                    name: self.name.clone(),
                    headers: self.headers.clone(),
                })
            })
            .clone();
        super::LinkAt {
            file,
            line: self.line_of(rec),
            from_column: from_column as u32,
            to_column: to_column as u32,
        }
    }

    /// Where one field (0-based `column`) of `rec` is.
    pub fn spot(&self, rec: &csv::StringRecord, column: usize) -> Spot {
        Spot {
            file: self.shared_name.clone(),
            line: self.line_of(rec),
            column: column + 1,
            field: self
                .shared_headers
                .get(column)
                .cloned()
                .unwrap_or_else(|| "".into()),
        }
    }

    /// Checks the row has as many fields as the header (extra empty trailing
    /// fields, as some exporters write, are accepted).
    pub fn check_width(&self, rec: &csv::StringRecord) -> std::result::Result<(), RowError> {
        let want = self.headers.len();
        let got = rec.len();
        if got == want || (got > want && rec.iter().skip(want).all(|f| f.trim().is_empty())) {
            return Ok(());
        }
        Err(self.error(
            rec,
            got.min(want),
            format!("the row has {got} fields but the header has {want}; check for a stray or missing delimiter"),
        ))
    }
}

/// Whether the header line of `src` names `column` (matched as
/// [`CsvFile::column`] matches names), from the file's first bytes only:
/// detection looks at headers and must not read whole files. An unreadable
/// file names nothing.
pub fn header_names(src: &Source, column: &str) -> bool {
    let mut head = Vec::with_capacity(8192);
    let read = src.open().and_then(|r| {
        r.take(8192)
            .read_to_end(&mut head)
            .map_err(|e| Error::io(src.describe(), e))
    });
    if read.is_err() || is_workbook(src.file_name()) {
        return false;
    }
    let (text, _, _) = detect_encoding(&head).decode(&head);
    let text = text.trim_start_matches('\u{feff}');
    let line = text.lines().next().unwrap_or("");
    let delimiter = char::from(detect_delimiter(line));
    let want = header_word(column);
    line.split(delimiter)
        .any(|h| header_word(h.trim().trim_matches('"')) == want)
}

/// A header name as columns are matched: lowercase, spaces as underscores.
fn header_word(h: &str) -> String {
    h.trim().to_ascii_lowercase().replace(' ', "_")
}

/// A cell as text: whole numbers without ".0" (ids and years are often typed
/// as numbers), dates as YYYY-MM-DD, booleans as TRUE/FALSE.
fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(d) => {
            let (y, m, day, h, min, s, _) = d.to_ymd_hms_milli();
            if d.is_duration() {
                format!("{h:02}:{min:02}:{s:02}")
            } else if (h, min, s) == (0, 0, 0) {
                format!("{y:04}-{m:02}-{day:02}")
            } else {
                format!("{y:04}-{m:02}-{day:02} {h:02}:{min:02}:{s:02}")
            }
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_encodings() {
        assert_eq!(
            detect_encoding(b"\xEF\xBB\xBFname\r\nZo\xC3\xAB"),
            encoding_rs::UTF_8
        );
        assert_eq!(detect_encoding("name,Zoë".as_bytes()), encoding_rs::UTF_8);
        let utf16le: Vec<u8> = "sourcedId,givenName\r\nS1,Zoë\r\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(detect_encoding(&utf16le), encoding_rs::UTF_16LE);
        let utf16be: Vec<u8> = "sourcedId,givenName\r\nS1,Zoë\r\n"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        assert_eq!(detect_encoding(&utf16be), encoding_rs::UTF_16BE);
        let cp1252 =
            b"sourcedId,givenName,familyName\r\n1,Zo\xEB,M\xFCller\r\n2,Jos\xE9,Garc\xEDa\r\n";
        assert_eq!(detect_encoding(cp1252), encoding_rs::WINDOWS_1252);
    }

    #[test]
    fn a_late_windows_1252_byte_decides_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        let mut body = b"sourcedId,givenName\r\n".to_vec();
        for i in 0..20_000 {
            body.extend_from_slice(format!("s{i},Ana\r\n").as_bytes());
        }
        body.extend_from_slice(b"s-last,Zo\xEB Ren\xE9e\r\n"); // past the first 64 KB
        std::fs::write(&path, &body).unwrap();
        let mut f = CsvFile::open(&Source::File(path)).unwrap();
        assert_eq!(f.encoding, encoding_rs::WINDOWS_1252);
        let mut rec = csv::StringRecord::new();
        let mut last = String::new();
        while f.next(&mut rec).unwrap() {
            last = rec[1].to_owned();
        }
        assert_eq!(last, "Zoë Renée");
    }

    #[test]
    fn raw_fields_are_the_json_of_the_rows_map() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("people.csv");
        // Unsorted headers, one named twice, a secret, quotes and non-ASCII.
        std::fs::write(
            &path,
            "id,Zone,House,Note,password,House,Empty\n\
             1,Z1,Kauri,\"say \"\"hi\"\"\\ \u{e9}\",pw,Rimu, \n\
             2,Z2,Kauri,,pw,,\n\
             3,,,,,,\n",
        )
        .unwrap();
        let mut f = CsvFile::open(&Source::File(path)).unwrap();
        let columns = f.raw_columns(&[0]);
        let mut rec = csv::StringRecord::new();
        let mut got = Vec::new();
        while f.next(&mut rec).unwrap() {
            // What the map of the row's non-empty raw columns serialises to.
            let map: std::collections::BTreeMap<String, String> = (1..rec.len())
                .filter(|&i| i != 4 && !rec[i].trim().is_empty())
                .map(|i| (f.headers[i].clone(), rec[i].to_owned()))
                .collect();
            let raw = f.raw_fields(&rec, &columns);
            assert_eq!(raw.json(), serde_json::to_string(&map).unwrap());
            got.push(raw.fields().clone());
        }
        // The later House wins where both are filled, the earlier where only it is.
        assert_eq!(got[0]["House"], "Rimu");
        assert_eq!(got[0]["Note"], "say \"hi\"\\ \u{e9}");
        assert_eq!(got[1]["House"], "Kauri");
        assert!(got[2].is_empty());
    }

    #[test]
    fn detects_delimiters() {
        assert_eq!(detect_delimiter("a,b,c"), b',');
        assert_eq!(detect_delimiter("a;b;c"), b';');
        assert_eq!(detect_delimiter("a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter("\"a;x\",b,c"), b',');
    }
}
