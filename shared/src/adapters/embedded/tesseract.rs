//! OCR on one machine with the Tesseract command-line program: PDFs are rasterised with
//! `pdftoppm` (poppler-utils) first, every page image then goes through one `tesseract`
//! run that writes the text (pages separated by form feeds) and, when asked, a searchable
//! PDF. The programs are looked for lazily, at the first OCR, so a deployment that never
//! runs OCR needs neither; document text is never logged.

use crate::ports::engines::{EngineError, codes};
use crate::ports::ocr::{Ocr, Recognised, ScanFormat, check_format};
use async_trait::async_trait;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Where Tesseract and `pdftoppm` are, and what Tesseract reads when a step names no
/// language.
#[derive(Clone, Debug)]
pub struct TesseractConfig {
    /// The `tesseract` program (a bare name is looked up on `PATH`).
    pub tesseract: PathBuf,
    /// The `pdftoppm` program that rasterises PDF pages.
    pub pdftoppm: PathBuf,
    /// Tesseract language codes joined with `+` ("eng+nld") used when a step names none.
    pub default_languages: String,
    /// How long one page may take before the run is stopped.
    pub page_timeout: Duration,
}

/// The languages OCR reads when neither the step nor the operator names any.
pub const DEFAULT_OCR_LANGUAGES: &str = "eng+nld";

/// Resolution PDF pages are rasterised at: what Tesseract reads best.
const PDF_DPI: &str = "300";

/// What tesseract writes between the pages of its text output (a form feed).
const PAGE_SEPARATOR: char = '\x0c';

/// A TIFF's pages are not counted up front; its run may take this many pages' time.
const TIFF_PAGE_ALLOWANCE: u32 = 10;

impl Default for TesseractConfig {
    fn default() -> Self {
        TesseractConfig {
            tesseract: "tesseract".into(),
            pdftoppm: "pdftoppm".into(),
            default_languages: DEFAULT_OCR_LANGUAGES.into(),
            page_timeout: Duration::from_secs(120),
        }
    }
}

/// [`Ocr`] through the `tesseract` program.
#[derive(Debug)]
pub struct TesseractOcr {
    config: TesseractConfig,
    /// The installed language data (`tesseract --list-langs`), read once it succeeds.
    installed: OnceCell<Vec<String>>,
}

impl TesseractOcr {
    /// An OCR engine with `config`; nothing is run until the first recognition.
    pub fn new(config: TesseractConfig) -> Self {
        TesseractOcr { config, installed: OnceCell::new() }
    }

    /// The installed Tesseract languages; `ocr_unavailable` when tesseract is missing.
    async fn installed_languages(&self) -> Result<&[String], EngineError> {
        let installed = self
            .installed
            .get_or_try_init(|| async {
                let args = [OsString::from("--list-langs")];
                let output = run(&self.config.tesseract, &args, Duration::from_secs(30), tesseract_missing).await?;
                if !output.status.success() {
                    return Err(EngineError::new(codes::OCR_UNAVAILABLE, "`tesseract --list-langs` failed"));
                }
                Ok(parse_language_list(&String::from_utf8_lossy(&output.stdout)))
            })
            .await?;
        Ok(installed)
    }

    /// The `-l` argument for `languages` (ISO 639-1; empty: the configured default), each
    /// checked against the installed language data.
    async fn language_argument(&self, languages: &[String]) -> Result<String, EngineError> {
        let installed = self.installed_languages().await?;
        let wanted: Vec<(String, &str)> = if languages.is_empty() {
            let configured = self.config.default_languages.split(['+', ',']).filter(|code| !code.is_empty());
            configured.map(|code| (format!("the configured default `{code}`"), code)).collect()
        } else {
            languages.iter().map(|iso| Ok((format!("`{iso}`"), tesseract_code(iso)?))).collect::<Result<_, _>>()?
        };
        let mut codes = Vec::new();
        for (named, code) in wanted {
            if !installed.iter().any(|have| have == code) {
                return Err(not_installed(&named, code));
            }
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        if codes.is_empty() {
            return Err(EngineError::new(codes::UNSUPPORTED_LANGUAGE, "no OCR language is configured"));
        }
        Ok(codes.join("+"))
    }

    /// The page images of `document`, written into `dir`: the image itself, or a PDF's
    /// pages rasterised by `pdftoppm`.
    async fn page_images(&self, dir: &Path, document: &[u8], format: ScanFormat) -> Result<Vec<PathBuf>, EngineError> {
        let input = dir.join(format!("input.{}", format.extension()));
        tokio::fs::write(&input, document).await.map_err(|e| failed(format!("cannot write a temporary file: {e}")))?;
        if format != ScanFormat::Pdf {
            return Ok(vec![input]);
        }
        let prefix = dir.join("page");
        let args = [OsString::from("-r"), PDF_DPI.into(), "-png".into(), input.into_os_string(), prefix.into()];
        let timeout = self.config.page_timeout * pdf_page_estimate(document);
        let output = run(&self.config.pdftoppm, &args, timeout, pdftoppm_missing).await?;
        if !output.status.success() {
            return Err(EngineError::new(codes::UNREADABLE_DOCUMENT, "the PDF cannot be read (pdftoppm refused it)"));
        }
        let pages = rasterised_pages(dir).map_err(|e| failed(format!("cannot list the rasterised pages: {e}")))?;
        if pages.is_empty() {
            return Err(EngineError::new(codes::UNREADABLE_DOCUMENT, "the PDF has no pages"));
        }
        Ok(pages)
    }

    /// Runs tesseract over `pages` into `<dir>/out.txt` (and `out.pdf`).
    async fn run_tesseract(&self, dir: &Path, pages: &[PathBuf], job: &Job) -> Result<(), EngineError> {
        let input = match pages {
            [single] => single.clone(),
            _ => {
                let list = dir.join("pages.txt");
                let lines: String = pages.iter().map(|page| format!("{}\n", page.display())).collect();
                tokio::fs::write(&list, lines).await.map_err(|e| failed(format!("cannot write the page list: {e}")))?;
                list
            }
        };
        let mut args =
            vec![input.into_os_string(), dir.join("out").into_os_string(), "-l".into(), (&job.languages).into()];
        if job.format == ScanFormat::Pdf {
            args.extend(["--dpi".into(), PDF_DPI.into()]);
        }
        args.push("txt".into());
        if job.searchable_pdf {
            args.push("pdf".into());
        }
        let allowance = if job.format == ScanFormat::Tiff { TIFF_PAGE_ALLOWANCE } else { pages.len() as u32 };
        let output =
            run(&self.config.tesseract, &args, self.config.page_timeout * allowance, tesseract_missing).await?;
        if output.status.success() { Ok(()) } else { Err(tesseract_failure(&output)) }
    }
}

/// One recognition's settings.
struct Job {
    format: ScanFormat,
    languages: String,
    searchable_pdf: bool,
}

#[async_trait]
impl Ocr for TesseractOcr {
    async fn recognise(
        &self,
        document: &[u8],
        format: ScanFormat,
        languages: &[String],
        searchable_pdf: bool,
    ) -> Result<Recognised, EngineError> {
        check_format(document, format)?;
        let job = Job { format, languages: self.language_argument(languages).await?, searchable_pdf };
        let dir = tempfile::tempdir().map_err(|e| failed(format!("cannot make a temporary directory: {e}")))?;
        let pages = self.page_images(dir.path(), document, format).await?;
        self.run_tesseract(dir.path(), &pages, &job).await?;
        let text = tokio::fs::read_to_string(dir.path().join("out.txt"))
            .await
            .map_err(|e| failed(format!("tesseract wrote no text: {e}")))?;
        let pdf = match searchable_pdf {
            true => Some(
                tokio::fs::read(dir.path().join("out.pdf"))
                    .await
                    .map_err(|e| failed(format!("tesseract wrote no PDF: {e}")))?,
            ),
            false => None,
        };
        let expected = if format == ScanFormat::Tiff { 1 } else { pages.len() };
        Ok(Recognised { pages: split_pages(&text, expected), pdf })
    }
}

/// Runs `program` with `args`, stopping it after `timeout`; `missing` tells what to
/// install when the program is not there.
async fn run(
    program: &Path,
    args: &[OsString],
    timeout: Duration,
    missing: fn(&Path) -> EngineError,
) -> Result<Output, EngineError> {
    let child = tokio::process::Command::new(program)
        .args(args)
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing(program)),
        Err(e) => return Err(failed(format!("cannot run {}: {e}", program.display()))),
    };
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(e)) => Err(failed(format!("{} failed: {e}", program.display()))),
        Err(_) => {
            Err(failed(format!("{} took longer than {} s and was stopped", program.display(), timeout.as_secs())))
        }
    }
}

fn failed(detail: String) -> EngineError {
    EngineError::new(codes::OCR_FAILED, detail)
}

fn tesseract_missing(program: &Path) -> EngineError {
    EngineError::new(
        codes::OCR_UNAVAILABLE,
        format!(
            "OCR needs Tesseract, and `{}` is not installed: install the tesseract-ocr package with the \
             language data you need (e.g. tesseract-ocr-eng, tesseract-ocr-nld), or give its path with --tesseract",
            program.display()
        ),
    )
}

fn pdftoppm_missing(program: &Path) -> EngineError {
    EngineError::new(
        codes::OCR_UNAVAILABLE,
        format!("OCR of PDFs needs `{}` to rasterise the pages: install the poppler-utils package", program.display()),
    )
}

/// Why tesseract failed: an image it cannot read, or something else (its last message,
/// which never holds document text).
fn tesseract_failure(output: &Output) -> EngineError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let unreadable = ["cannot be read", "pixRead", "Unsupported image type", "cannot read input file"];
    if unreadable.iter().any(|sign| stderr.contains(sign)) {
        return EngineError::new(codes::UNREADABLE_DOCUMENT, "the image cannot be read (tesseract refused it)");
    }
    let last: String =
        stderr.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("").chars().take(200).collect();
    failed(format!("tesseract failed ({}): {last}", output.status))
}

/// The language codes of `tesseract --list-langs` (after its heading line).
fn parse_language_list(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|line| !line.starts_with("List of available languages"))
        .skip(1)
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.contains(' '))
        .map(String::from)
        .collect()
}

/// Tesseract's language code of an ISO 639-1 code (a region is ignored, except for
/// traditional Chinese); `unsupported_language` for a language Tesseract has no data for.
pub fn tesseract_code(iso: &str) -> Result<&'static str, EngineError> {
    let iso = iso.trim().to_ascii_lowercase().replace('_', "-");
    let code = match iso.as_str() {
        "zh-tw" | "zh-hant" => "chi_tra",
        other => match other.split('-').next().unwrap_or_default() {
            "en" => "eng",
            "nl" => "nld",
            "de" => "deu",
            "fr" => "fra",
            "es" => "spa",
            "it" => "ita",
            "pt" => "por",
            "da" => "dan",
            "sv" => "swe",
            "no" | "nb" => "nor",
            "fi" => "fin",
            "pl" => "pol",
            "cs" => "ces",
            "sk" => "slk",
            "sl" => "slv",
            "hu" => "hun",
            "ro" => "ron",
            "hr" => "hrv",
            "bg" => "bul",
            "el" => "ell",
            "et" => "est",
            "lv" => "lav",
            "lt" => "lit",
            "ca" => "cat",
            "tr" => "tur",
            "ru" => "rus",
            "uk" => "ukr",
            "ar" => "ara",
            "he" => "heb",
            "ja" => "jpn",
            "ko" => "kor",
            "zh" => "chi_sim",
            _ => return Err(EngineError::new(codes::UNSUPPORTED_LANGUAGE, format!("OCR does not read `{iso}`"))),
        },
    };
    Ok(code)
}

/// `unsupported_language` for a language whose Tesseract data is not installed.
fn not_installed(named: &str, code: &str) -> EngineError {
    let package = format!("tesseract-ocr-{}", code.replace('_', "-").to_lowercase());
    EngineError::new(
        codes::UNSUPPORTED_LANGUAGE,
        format!("OCR in {named} needs Tesseract's `{code}` language data, which is not installed (package {package})"),
    )
}

/// How many pages a PDF has, for its time allowance (1 when it cannot be told here).
fn pdf_page_estimate(document: &[u8]) -> u32 {
    lopdf::Document::load_mem(document).map(|doc| doc.get_pages().len() as u32).unwrap_or(1).max(1)
}

/// The `page-N.png` files `pdftoppm` wrote into `dir`, in page order.
fn rasterised_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut pages: Vec<(u32, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let number = name.strip_prefix("page-").and_then(|rest| rest.strip_suffix(".png"));
        if let Some(number) = number.and_then(|n| n.parse().ok()) {
            pages.push((number, path));
        }
    }
    pages.sort();
    Ok(pages.into_iter().map(|(_, path)| path).collect())
}

/// Tesseract's text split into pages (it separates them with form feeds), at least
/// `expected` of them, each without trailing whitespace.
fn split_pages(text: &str, expected: usize) -> Vec<String> {
    let mut pages: Vec<String> = text.split(PAGE_SEPARATOR).map(|page| page.trim_end().to_string()).collect();
    if pages.len() > expected && pages.last().is_some_and(String::is_empty) {
        pages.pop();
    }
    while pages.len() < expected {
        pages.push(String::new());
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_codes_map_to_tesseract_codes() {
        let pairs = [("en", "eng"), ("nl", "nld"), ("de", "deu"), ("fr", "fra"), ("es", "spa"), ("it", "ita")];
        for (iso, code) in pairs.into_iter().chain([("pt-BR", "por"), ("NL", "nld"), ("zh-TW", "chi_tra")]) {
            assert_eq!(tesseract_code(iso).unwrap(), code, "{iso}");
        }
        assert_eq!(tesseract_code("xx").unwrap_err().code, "unsupported_language");
    }

    #[test]
    fn the_language_list_is_parsed_after_its_heading() {
        let out = "List of available languages in \"/usr/share/tesseract-ocr/5/tessdata/\" (3):\neng\nnld\nosd\n";
        assert_eq!(parse_language_list(out), vec!["eng", "nld", "osd"]);
    }

    #[test]
    fn pages_are_separated_by_form_feeds() {
        assert_eq!(split_pages("one\n\x0ctwo\n", 2), vec!["one", "two"]);
        assert_eq!(split_pages("one\n\x0ctwo\n\x0c", 2), vec!["one", "two"], "a trailing separator");
        assert_eq!(split_pages("", 2), vec!["", ""], "blank pages");
        assert_eq!(split_pages("a\x0cb\x0cc", 1), vec!["a", "b", "c"], "a TIFF's pages");
    }

    #[tokio::test]
    async fn a_missing_tesseract_is_ocr_unavailable_with_what_to_install() {
        let ocr = TesseractOcr::new(TesseractConfig {
            tesseract: "/nonexistent/tesseract".into(),
            ..TesseractConfig::default()
        });
        let png = b"\x89PNG\r\n\x1a\n0000";
        let err = ocr.recognise(png, ScanFormat::Png, &[], false).await.unwrap_err();
        assert_eq!(err.code, "ocr_unavailable");
        assert!(err.detail.contains("tesseract-ocr"), "{}", err.detail);
        assert!(!err.retryable);
    }
}
