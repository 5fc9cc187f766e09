//! Where an import's files come from: files on disk, or the entries of a zip
//! archive (SIS exports often arrive zipped). Entries are read straight from
//! the archive into memory, never unpacked to disk, where children's data
//! would sit unencrypted; each once per import (a format opens a file more
//! than once: to sniff it, to sample it, to read it), kept with the
//! [`Source`] that [`expand`] made for the import, and freed with it.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};

/// A zip entry larger than this (uncompressed) is refused: no SIS export is
/// that large, and a "zip bomb" must not exhaust memory.
const MAX_ENTRY: u64 = 1 << 30;

/// One input file.
#[derive(Clone, Debug)]
pub enum Source {
    File(PathBuf),
    Zipped {
        archive: PathBuf,
        entry: String,
        size: u64,
        /// The entry unpacked, once opened (shared by the clones of this
        /// source, so by everything one import reads).
        unpacked: Unpacked,
    },
}

/// A zip entry's bytes, unpacked the first time it is opened.
#[derive(Clone, Debug, Default)]
pub struct Unpacked(Arc<OnceLock<Arc<[u8]>>>);

/// A reader over bytes unpacked once.
struct Shared(Arc<[u8]>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Source {
    /// The file's own name (`users.csv`), which formats look for.
    pub fn file_name(&self) -> &str {
        match self {
            Source::File(p) => p.file_name().and_then(|n| n.to_str()).unwrap_or(""),
            Source::Zipped { entry, .. } => entry.rsplit('/').next().unwrap_or(entry),
        }
    }

    /// Where it is, for the import record and messages.
    pub fn describe(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Zipped { archive, entry, .. } => format!("{}:{entry}", archive.display()),
        }
    }

    pub fn size(&self) -> u64 {
        match self {
            Source::File(p) => p.metadata().map(|m| m.len()).unwrap_or(0),
            Source::Zipped { size, .. } => *size,
        }
    }

    /// The file as it is now (its size and modification time), to tell
    /// whether it changed between a preview and its confirmation.
    pub fn stamp(&self) -> String {
        let (path, size) = match self {
            Source::File(p) => (p, None),
            Source::Zipped { archive, size, .. } => (archive, Some(*size)),
        };
        let meta = path.metadata().ok();
        let modified = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let len = meta.map_or(0, |m| m.len());
        format!("{len}:{modified}:{}", size.unwrap_or(len))
    }

    /// Its bytes from the start (each call starts again; a zip entry is
    /// unpacked on the first only).
    pub fn open(&self) -> Result<Box<dyn Read>> {
        match self {
            Source::File(p) => Ok(Box::new(File::open(p).map_err(|e| Error::io(p, e))?)),
            Source::Zipped { unpacked, .. } => {
                if let Some(bytes) = unpacked.0.get() {
                    return Ok(Box::new(Cursor::new(Shared(bytes.clone()))));
                }
                let bytes: Arc<[u8]> = self.unpack()?.into();
                // Two threads unpacking at once keep the first; both are right.
                let bytes = unpacked.0.get_or_init(|| bytes).clone();
                Ok(Box::new(Cursor::new(Shared(bytes))))
            }
        }
    }

    /// A zip entry's bytes, read from the archive.
    fn unpack(&self) -> Result<Vec<u8>> {
        match self {
            Source::File(_) => unreachable!("only zip entries are unpacked"),
            Source::Zipped { archive, entry, .. } => {
                let bad = |e: zip::result::ZipError| {
                    Error::Invalid(format!(
                        "{}: cannot read {entry} from the zip file: {e}",
                        archive.display()
                    ))
                };
                let f = File::open(archive).map_err(|e| Error::io(archive, e))?;
                let mut zip = zip::ZipArchive::new(f).map_err(bad)?;
                let mut file = zip.by_name(entry).map_err(bad)?;
                let mut bytes = Vec::with_capacity(file.size().min(MAX_ENTRY) as usize);
                (&mut file)
                    .take(MAX_ENTRY + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::io(archive, e))?;
                if bytes.len() as u64 > MAX_ENTRY {
                    return Err(Error::Invalid(format!(
                        "{}: {entry} is larger than 1 GB unpacked; that is not an SIS export",
                        archive.display()
                    )));
                }
                Ok(bytes)
            }
        }
    }
}

fn is_zip(p: &std::path::Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// The files of `paths`: a folder's files (not recursive), a zip archive's
/// entries, or the file itself; in a stable order.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if meta.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| Error::io(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            inside.sort();
            out.extend(inside.into_iter().map(Source::File));
        } else if is_zip(p) {
            let f = File::open(p).map_err(|e| Error::io(p, e))?;
            let mut zip = zip::ZipArchive::new(f).map_err(|e| {
                Error::Invalid(format!("{} is not a readable zip file: {e}", p.display()))
            })?;
            let mut entries = Vec::new();
            for i in 0..zip.len() {
                let e = zip.by_index(i).map_err(|e| {
                    Error::Invalid(format!("{}: entry {i} cannot be read: {e}", p.display()))
                })?;
                if e.is_file() && !e.name().starts_with("__MACOSX/") {
                    entries.push(Source::Zipped {
                        archive: p.clone(),
                        entry: e.name().to_owned(),
                        size: e.size(),
                        unpacked: Unpacked::default(),
                    });
                }
            }
            entries.sort_by_key(Source::describe);
            out.extend(entries);
        } else {
            out.push(Source::File(p.clone()));
        }
    }
    Ok(out)
}

/// The file called `name` (case-insensitive) among `files`.
pub fn find<'a>(files: &'a [Source], name: &str) -> Option<&'a Source> {
    files
        .iter()
        .find(|f| f.file_name().eq_ignore_ascii_case(name))
}

/// The bytes of the files called `names` among `files`: what a format reads,
/// for its progress.
pub fn size_of(files: &[Source], names: &[&str]) -> u64 {
    names
        .iter()
        .filter_map(|n| find(files, n))
        .map(Source::size)
        .sum()
}

/// The file called `name` among `files`, or an error saying it is missing
/// from the set and what `set` ("a Clever export has …") should hold.
pub fn require<'a>(files: &'a [Source], name: &str, set: &str) -> Result<&'a Source> {
    find(files, name).ok_or_else(|| {
        Error::Invalid(format!(
            "{name} is missing: {set}. Export the whole set again."
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zip_entry_is_unpacked_once_per_import_not_once_per_open() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("export.zip");
        let mut zip = zip::ZipWriter::new(File::create(&archive).unwrap());
        zip.start_file("users.csv", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, b"sourcedId\ns1\n").unwrap();
        zip.finish().unwrap();
        let files = expand(std::slice::from_ref(&archive)).unwrap();
        let read = |f: &Source| {
            let mut text = String::new();
            f.open().unwrap().read_to_string(&mut text).unwrap();
            text
        };
        assert_eq!(read(&files[0]), "sourcedId\ns1\n");
        // Opened again (by a clone, as the reading thread has), the archive
        // is not read again: it may even be gone.
        std::fs::remove_file(&archive).unwrap();
        let again = files[0].clone();
        assert_eq!(read(&again), "sourcedId\ns1\n");
        // A new import expands the archive afresh.
        assert!(expand(&[archive]).is_err());
    }
}
