//! Files Keyroll writes for the office: reports, hand-out sheets (and, with
//! letters, PDFs and exports). Each goes through one check before anything
//! is written: never over the database (or its journal), never over a file
//! of another kind, and never over an earlier hand-out sheet. A report the
//! office saves where the hand-out sheet went must not destroy the only copy
//! of new passwords, nor a second reset the first one's sheet, nor a sheet
//! the database.
//!
//! A file is written whole or not at all: into a temporary file beside it,
//! owner-only, synced, then renamed over the target.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A kind of file Keyroll writes, known by its first line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileKind {
    /// What the office calls it ("hand-out sheet").
    pub name: &'static str,
    /// Its first line, which tells a file of this kind from any other.
    pub header: &'static str,
    /// Whether a new file of this kind may replace an old one. A report
    /// may; a hand-out sheet may not (it may hold passwords not yet handed
    /// out, which exist nowhere else).
    pub replaces: bool,
}

/// Whether `path` may be written as a `kind` file for the database at
/// `database`: it is not the database or one of its journals, and it is
/// new, empty (no bytes at all) or, if `kind` replaces, a `kind` file
/// already.
pub fn check(path: &Path, kind: FileKind, database: &Path) -> Result<()> {
    let target = canonical(path);
    let db = database.as_os_str().to_string_lossy().into_owned();
    for side in ["", "-wal", "-shm", "-journal"] {
        if target.is_some() && target == canonical(Path::new(&format!("{db}{side}"))) {
            return Err(Error::Invalid(format!(
                "{} is Keyroll's database; choose another file for the {}",
                path.display(),
                kind.name
            )));
        }
    }
    if path.is_dir() {
        return Err(Error::Invalid(format!(
            "{} is a folder; choose a file name for the {}",
            path.display(),
            kind.name
        )));
    }
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
        Ok(file) => {
            if is_empty(&file) {
                return Ok(());
            }
            let mut first = String::new();
            std::io::BufReader::new(file)
                .take(4096)
                .read_line(&mut first)
                .map_err(|e| Error::io(path, e))?;
            let first = first.trim_start_matches('\u{feff}').trim_end();
            if first != kind.header {
                Err(Error::Invalid(format!(
                    "{} already exists and is not a {} Keyroll wrote, so it was left as it is; \
                     choose a new file name",
                    path.display(),
                    kind.name
                )))
            } else if !kind.replaces {
                Err(Error::Invalid(format!(
                    "{} is an earlier {} and may hold passwords not yet handed out, so it was \
                     left as it is; choose a new file name",
                    path.display(),
                    kind.name
                )))
            } else {
                Ok(())
            }
        }
    }
}

fn is_empty(file: &std::fs::File) -> bool {
    file.metadata().is_ok_and(|m| m.len() == 0)
}

/// Writes a `kind` file at `path` (after [`check`]) with `write`: into a
/// temporary file beside it, readable by the office user only where the OS
/// has such permissions, synced to the disk, then renamed over `path`. If
/// anything fails, `path` is as it was.
pub fn write(
    path: &Path,
    kind: FileKind,
    database: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    stage(path, kind, database, write)?.persist()
}

/// A file written and synced under a hidden temporary name beside its
/// target, put in place by [`Staged::persist`]. Dropped first (an error, a
/// panic), it is removed: a run of several files puts them all in place
/// only once every one is written.
pub struct Staged {
    temp: tempfile::NamedTempFile,
    path: PathBuf,
    kind: FileKind,
}

/// [`write`]'s first half: checks `path`, then writes and syncs the file
/// under a temporary name beside it.
pub fn stage(
    path: &Path,
    kind: FileKind,
    database: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<Staged> {
    check(path, kind, database)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // tempfile makes it owner-only (0600) on Unix.
    let mut temp = tempfile::Builder::new()
        .prefix(".keyroll-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    {
        let mut out = std::io::BufWriter::new(temp.as_file_mut());
        write(&mut out)?;
        out.flush().map_err(|e| Error::io(path, e))?;
    }
    temp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    Ok(Staged {
        temp,
        path: path.to_owned(),
        kind,
    })
}

impl Staged {
    /// Renames the file over its target.
    pub fn persist(self) -> Result<()> {
        let Staged { temp, path, kind } = self;
        // A kind that never replaces is renamed only onto no file (or an
        // empty one), so a file made since the check is not lost either.
        let over_empty = std::fs::File::open(&path).is_ok_and(|f| is_empty(&f));
        if kind.replaces || over_empty {
            temp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        } else {
            temp.persist_noclobber(&path).map_err(|e| {
                Error::Invalid(format!(
                    "{} was made while the {} was being written ({}); choose a new file name",
                    path.display(),
                    kind.name,
                    e.error
                ))
            })?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `p` with its folder resolved (the file itself may not exist yet).
fn canonical(p: &Path) -> Option<PathBuf> {
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::canonicalize(dir)
        .ok()
        .map(|d| d.join(p.file_name().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHEET: FileKind = FileKind {
        name: "hand-out sheet",
        header: "kind,secret",
        replaces: false,
    };
    const REPORT: FileKind = FileKind {
        name: "report",
        header: "file,line,column,field,reason",
        replaces: true,
    };

    fn body(text: &'static str) -> impl FnOnce(&mut dyn Write) -> Result<()> {
        move |w: &mut dyn Write| w.write_all(text.as_bytes()).map_err(|e| Error::io("x", e))
    }

    #[test]
    fn writes_new_files_and_replaces_only_its_own_kind() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("k.db");
        std::fs::write(&db, b"SQLite format 3\0").unwrap();
        let report = dir.path().join("report.csv");
        write(
            &report,
            REPORT,
            &db,
            body("file,line,column,field,reason\na\n"),
        )
        .unwrap();
        write(
            &report,
            REPORT,
            &db,
            body("file,line,column,field,reason\nb\n"),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&report).unwrap(),
            "file,line,column,field,reason\nb\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&report).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sheet = dir.path().join("sheet.csv");
        std::fs::write(&sheet, "kind,secret\na,1\n").unwrap();
        let blank_first_line = dir.path().join("notes.txt");
        std::fs::write(&blank_first_line, "\nmy notes\n").unwrap();
        for target in [&db, &sheet, &blank_first_line, &dir.path().join("k.db-wal")] {
            let err = write(target, REPORT, &db, body("file\n")).unwrap_err();
            assert!(matches!(err, Error::Invalid(_)), "{err}");
        }
        assert_eq!(std::fs::read(&db).unwrap(), b"SQLite format 3\0");
        assert_eq!(
            std::fs::read_to_string(&sheet).unwrap(),
            "kind,secret\na,1\n"
        );
    }

    #[test]
    fn a_hand_out_sheet_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("k.db");
        let sheet = dir.path().join("sheet.csv");
        write(&sheet, SHEET, &db, body("kind,secret\na,1\n")).unwrap();
        let err = write(&sheet, SHEET, &db, body("kind,secret\nb,2\n")).unwrap_err();
        assert!(err.to_string().contains("not yet handed out"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&sheet).unwrap(),
            "kind,secret\na,1\n"
        );
        // An empty file (one the save dialog made, say) is written.
        let empty = dir.path().join("empty.csv");
        std::fs::write(&empty, "").unwrap();
        write(&empty, SHEET, &db, body("kind,secret\nc,3\n")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&empty).unwrap(),
            "kind,secret\nc,3\n"
        );
    }

    #[test]
    fn a_failed_write_leaves_the_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("k.db");
        let report = dir.path().join("report.csv");
        write(
            &report,
            REPORT,
            &db,
            body("file,line,column,field,reason\n"),
        )
        .unwrap();
        assert!(write(&report, REPORT, &db, |_| Err(Error::Cancelled)).is_err());
        assert_eq!(
            std::fs::read_to_string(&report).unwrap(),
            "file,line,column,field,reason\n"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".keyroll-"))
            .collect();
        assert!(left.is_empty());
    }
}
