//! Files Keyroll writes for the office: reports, hand-out sheets (and, with
//! letters, PDFs and exports). Each goes through one check before anything
//! is written: never over the database (or its journal), never over a file
//! of another kind. A report the office saves where the hand-out sheet went
//! must not destroy the only copy of new passwords, nor a sheet the
//! database.
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
}

/// Whether `path` may be written as a `kind` file for the database at
/// `database`: it is not the database or one of its journals, and it is
/// new, empty or a `kind` file already (which it replaces).
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
            let mut first = String::new();
            std::io::BufReader::new(file)
                .take(4096)
                .read_line(&mut first)
                .map_err(|e| Error::io(path, e))?;
            let first = first.trim_start_matches('\u{feff}').trim_end();
            if first.is_empty() || first == kind.header {
                Ok(())
            } else {
                Err(Error::Invalid(format!(
                    "{} already exists and is not a {} Keyroll wrote, so it was left as it is; \
                     choose a new file name",
                    path.display(),
                    kind.name
                )))
            }
        }
    }
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
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
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
    };

    #[test]
    fn writes_new_files_and_its_own_kind_never_others() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("k.db");
        std::fs::write(&db, b"SQLite format 3\0").unwrap();
        let sheet = dir.path().join("sheet.csv");
        let body = |text: &'static str| {
            move |w: &mut dyn Write| w.write_all(text.as_bytes()).map_err(|e| Error::io("x", e))
        };
        write(&sheet, SHEET, &db, body("kind,secret\na,1\n")).unwrap();
        write(&sheet, SHEET, &db, body("kind,secret\nb,2\n")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&sheet).unwrap(),
            "kind,secret\nb,2\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&sheet).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let report = dir.path().join("report.csv");
        std::fs::write(&report, "file,line,column,field,reason\n").unwrap();
        for target in [&db, &report, &dir.path().join("k.db-wal")] {
            let err = write(target, SHEET, &db, body("kind,secret\n")).unwrap_err();
            assert!(matches!(err, Error::Invalid(_)), "{err}");
        }
        assert_eq!(std::fs::read(&db).unwrap(), b"SQLite format 3\0");
        // A failed write leaves the file as it was, and no temporary file.
        let failed = write(&sheet, SHEET, &db, |_| Err(Error::Cancelled));
        assert!(failed.is_err());
        assert_eq!(
            std::fs::read_to_string(&sheet).unwrap(),
            "kind,secret\nb,2\n"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".keyroll-"))
            .collect();
        assert!(left.is_empty());
    }
}
