//! Benchmark of PDF page counting (D-FORMATS): `shared::print::documents::examine` against
//! poppler's `pdfinfo`.
//!
//! 1. Generates a 1,000-page PDF with lopdf (each page a small text content stream, one shared
//!    font) in a temporary directory.
//! 2. Takes the PDFs of a corpus directory (default: `/usr/share/doc`), searched recursively,
//!    sorted, skipping those `pdfinfo` cannot read, at most [`MAX_CORPUS_FILES`].
//! 3. Times, best of [`RUNS`], reading each file and examining its bytes, and running `pdfinfo`
//!    on it (process wall time); checks both page counts agree; prints a table and the totals
//!    for the generated file and for the corpus.
//!
//! Run: `cargo run --release -p e2e --bin bench-pages [-- <corpus directory>]` (needs
//! `pdfinfo`: `apt-get install poppler-utils`).

use anyhow::{Context, Result, bail};
use shared::print::documents::lopdf::{Document, Object, Stream, dictionary};
use shared::print::documents::{DocumentFacts, examine};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Timed runs of each measurement; the best one counts.
const RUNS: usize = 5;
/// Most corpus files measured.
const MAX_CORPUS_FILES: usize = 100;
/// Pages of the generated PDF.
const GENERATED_PAGES: usize = 1000;
/// Where the corpus is searched when no directory is given.
const DEFAULT_CORPUS: &str = "/usr/share/doc";

fn main() -> Result<()> {
    if Command::new("pdfinfo").arg("-v").output().is_err() {
        eprintln!("pdfinfo is not installed: run `apt-get install poppler-utils` and try again");
        std::process::exit(1);
    }
    let corpus_dir = std::env::args().nth(1).map_or_else(|| PathBuf::from(DEFAULT_CORPUS), PathBuf::from);
    let temp = tempfile::tempdir()?;
    let generated = temp.path().join("generated-1000-pages.pdf");
    std::fs::write(&generated, generated_pdf(GENERATED_PAGES)?)?;

    println!("{:<60} {:>10} {:>7} {:>10} {:>11} {:>7}", "file", "size", "pages", "ours ms", "pdfinfo ms", "ratio");
    let generated_totals = measure_all(&[generated], Path::new(temp.path()))?;
    let corpus = corpus_files(&corpus_dir);
    println!("-- corpus: {} PDFs under {}", corpus.len(), corpus_dir.display());
    if corpus.is_empty() {
        println!("no PDF that pdfinfo reads was found under {}", corpus_dir.display());
    }
    let corpus_totals = measure_all(&corpus, &corpus_dir)?;

    println!();
    generated_totals.print(&format!("{GENERATED_PAGES}-page generated PDF"));
    corpus_totals.print("corpus");
    Ok(())
}

/// A PDF of `pages` A4 pages, each with a small text content stream, sharing one font.
fn generated_pdf(pages: usize) -> Result<Vec<u8>> {
    let mut document = Document::with_version("1.5");
    let pages_id = document.new_object_id();
    let font = document.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources = document.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let kids: Vec<Object> = (1..=pages)
        .map(|page| {
            let text = format!(
                "BT /F1 14 Tf 72 770 Td (Quarterly report) Tj 0 -24 Td /F1 11 Tf \
                 (Page {page} of {pages}: figures, notes and a short summary.) Tj ET"
            );
            let mut content = Stream::new(dictionary! {}, text.into_bytes());
            let _ = content.compress();
            let content = document.add_object(content);
            document
                .add_object(dictionary! {
                    "Type" => "Page", "Parent" => pages_id, "Contents" => content, "Resources" => resources,
                    "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                })
                .into()
        })
        .collect();
    let count = i64::try_from(kids.len())?;
    document.objects.insert(pages_id, dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }.into());
    let catalog = document.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    document.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    document.save_to(&mut bytes)?;
    Ok(bytes)
}

/// The PDFs under `dir`, sorted, that `pdfinfo` reads, at most [`MAX_CORPUS_FILES`].
fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    collect_pdfs(dir, &mut found);
    found.sort();
    found.into_iter().filter(|path| pdfinfo_pages(path).is_ok()).take(MAX_CORPUS_FILES).collect()
}

/// Adds the `*.pdf` files under `dir` to `found`, not following symbolic links to directories.
fn collect_pdfs(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_pdfs(&path, found);
        } else if path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("pdf")) && path.is_file() {
            found.push(path);
        }
    }
}

/// Times of one file.
struct Measurement {
    size: u64,
    ours: Result<DocumentFacts, String>,
    theirs: Result<u32>,
    ours_time: Duration,
    theirs_time: Duration,
}

/// Sums over a set of files.
#[derive(Default)]
struct Totals {
    files: usize,
    ours: Duration,
    theirs: Duration,
    mismatches: Vec<String>,
}

impl Totals {
    fn print(&self, what: &str) {
        println!(
            "{what}: {} files, ours {:.2} ms, pdfinfo {:.2} ms, ratio {:.3}, mismatches {}",
            self.files,
            millis(self.ours),
            millis(self.theirs),
            ratio(self.ours, self.theirs),
            self.mismatches.len()
        );
        for mismatch in &self.mismatches {
            println!("  mismatch: {mismatch}");
        }
    }
}

fn measure_all(files: &[PathBuf], root: &Path) -> Result<Totals> {
    let mut totals = Totals::default();
    for path in files {
        let shown = path.strip_prefix(root).unwrap_or(path).display().to_string();
        let measured = measure(path)?;
        let pages = match (&measured.ours, &measured.theirs) {
            (Ok(facts), Ok(theirs)) if facts.pages == *theirs => facts.pages.to_string(),
            (ours, theirs) => {
                let ours = ours.as_ref().map_or_else(Clone::clone, |facts| facts.pages.to_string());
                let theirs = theirs.as_ref().map_or_else(|error| error.to_string(), u32::to_string);
                totals.mismatches.push(format!("{shown}: ours {ours}, pdfinfo {theirs}"));
                format!("{ours}≠{theirs}")
            }
        };
        println!(
            "{:<60} {:>10} {:>7} {:>10.2} {:>11.2} {:>7.3}",
            ellipsis(&shown, 60),
            measured.size,
            pages,
            millis(measured.ours_time),
            millis(measured.theirs_time),
            ratio(measured.ours_time, measured.theirs_time)
        );
        totals.files += 1;
        totals.ours += measured.ours_time;
        totals.theirs += measured.theirs_time;
    }
    Ok(totals)
}

/// Best of [`RUNS`] of reading and examining the file, and of running `pdfinfo` on it.
fn measure(path: &Path) -> Result<Measurement> {
    let mut ours = Err(String::new());
    let mut ours_time = Duration::MAX;
    let mut size = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        ours = examine(&bytes).map_err(|error| format!("{} ({})", error.code(), error.reason()));
        ours_time = ours_time.min(started.elapsed());
        size = bytes.len() as u64;
    }
    let mut theirs = Err(anyhow::anyhow!("not run"));
    let mut theirs_time = Duration::MAX;
    for _ in 0..RUNS {
        let started = Instant::now();
        theirs = pdfinfo_pages(path);
        theirs_time = theirs_time.min(started.elapsed());
    }
    Ok(Measurement { size, ours, theirs, ours_time, theirs_time })
}

/// The page count `pdfinfo` reports.
fn pdfinfo_pages(path: &Path) -> Result<u32> {
    let output = Command::new("pdfinfo").arg(path).output()?;
    if !output.status.success() {
        bail!("pdfinfo failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let pages = stdout.lines().find_map(|line| line.strip_prefix("Pages:")).context("pdfinfo printed no page count")?;
    Ok(pages.trim().parse()?)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn ratio(ours: Duration, theirs: Duration) -> f64 {
    ours.as_secs_f64() / theirs.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// `text` cut to `width` characters, keeping its end.
fn ellipsis(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        text.to_string()
    } else {
        format!("…{}", text.chars().skip(count + 1 - width).collect::<String>())
    }
}
