//! A long run is laid out on every core and written as parts of at most
//! [`PART`] letters each, so memory stays flat however many letters there
//! are: a laid-out page is kept (about 0.3 MB) until its PDF is written,
//! and one PDF holds all of its pages. A part of a thousand pages is also
//! what a print queue takes without choking.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use typst::foundations::Dict;
use typst_layout::Page;

use super::render::Renderer;
use crate::error::{Error, Result};

/// Letters per compile: large enough that fonts and the layout are shared,
/// small enough that memory stays flat (docs/letters-probe.md §4).
pub const BATCH: usize = 200;

/// Batches per part (1,000 letters).
pub const PART_BATCHES: usize = 5;

/// Letters per part.
pub const PART: usize = BATCH * PART_BATCHES;

/// The files a run of `parts` parts writes: `out` itself for one part,
/// else `letters-part-01-of-12.pdf` and so on beside it.
pub fn part_paths(out: &Path, parts: usize) -> Vec<PathBuf> {
    if parts <= 1 {
        return vec![out.to_owned()];
    }
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "letters".into());
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pdf".into());
    let width = parts.to_string().len().max(2);
    (1..=parts)
        .map(|i| out.with_file_name(format!("{stem}-part-{i:0width$}-of-{parts:0width$}.{ext}")))
        .collect()
}

/// Lays out `n` batches (`job(i)` makes batch i's `sys.inputs`, QR codes
/// and all, on the thread that lays it out; it has `sizes[i]` letters) on
/// up to four threads, returning their pages in order. `progress(n)` hears
/// of each batch done (from this thread) and may cancel.
pub fn lay_out(
    renderer: &Renderer,
    job: &(dyn Fn(usize) -> Result<Dict> + Sync),
    sizes: &[usize],
    progress: &mut dyn FnMut(usize) -> bool,
) -> Result<Vec<Page>> {
    let n = sizes.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |c| c.get())
        .clamp(1, 4)
        .min(n.max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<(usize, Result<Vec<Page>>)>();
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || stop.load(Ordering::Relaxed) {
                    break;
                }
                if tx
                    .send((i, job(i).and_then(|d| renderer.pages(d))))
                    .is_err()
                {
                    break;
                }
            });
        }
        drop(tx);
        let mut laid: Vec<Option<Vec<Page>>> = (0..n).map(|_| None).collect();
        for (i, result) in rx {
            match result {
                Ok(pages) => {
                    laid[i] = Some(pages);
                    if !progress(sizes[i]) {
                        stop.store(true, Ordering::Relaxed);
                        return Err(Error::Cancelled);
                    }
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(laid.into_iter().flatten().flatten().collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_run_is_written_as_numbered_parts_beside_the_chosen_file() {
        let out = Path::new("/tmp/welcome.pdf");
        assert_eq!(part_paths(out, 1), vec![out.to_owned()]);
        let parts = part_paths(out, 12);
        assert_eq!(parts.len(), 12);
        assert_eq!(parts[0], Path::new("/tmp/welcome-part-01-of-12.pdf"));
        assert_eq!(parts[11], Path::new("/tmp/welcome-part-12-of-12.pdf"));
        assert_eq!(
            part_paths(out, 100)[4],
            Path::new("/tmp/welcome-part-005-of-100.pdf")
        );
    }
}
