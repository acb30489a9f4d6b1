//! Documents the Solution Center tests and benchmark run on: a scanned-style image of a
//! Dutch letter (rendered from a PDF with `pdftoppm`, as a scanner would deliver it: grey,
//! 200 dpi, no text layer) and multi-page scans of it; and a runner whose administrator
//! manages solutions and solution quotas.

use crate::Storage;
use crate::print_env::{PrintEnv, pdf_of};
use serde_json::{Value, json};
use std::process::Command;

/// The letter's lines, in reading order.
pub const LETTER: [&str; 22] = [
    "Van Dijk Advocaten",
    "Keizersgracht 123",
    "1015 CJ Amsterdam",
    "",
    "Amsterdam, 12 maart 2026",
    "",
    "Betreft: uw aanvraag",
    "",
    "Geachte heer Jansen,",
    "",
    "Hartelijk dank voor uw brief van vorige week. Wij hebben uw aanvraag",
    "in goede orde ontvangen en zullen deze binnen twee weken behandelen.",
    "",
    "Het verschuldigde bedrag kunt u overmaken op rekeningnummer",
    "NL91 ABNA 0417 1643 00 ten name van Van Dijk Advocaten.",
    "Voor vragen kunt u ons bereiken via info@vandijk-advocaten.nl",
    "of telefonisch op 020-1234567.",
    "",
    "Uw dossiernummer is DOS-2026-0042.",
    "",
    "Met vriendelijke groet,",
    "Mr. P. de Vries",
];

/// What redaction must remove from the letter: the IBAN, the e-mail address, the phone
/// number and the file number (a custom expression).
pub const REDACTED: [&str; 6] = ["NL91", "0417 1643", "info@vandijk", "vandijk-advocaten.nl", "1234567", "DOS-2026"];

/// What must survive redaction.
pub const KEPT: [&str; 5] = [
    "Geachte heer Jansen",
    "Hartelijk dank voor uw brief",
    "Betreft: uw aanvraag",
    "rekeningnummer",
    "Met vriendelijke groet",
];

/// A PDF with `pages` pages, each holding the letter as text in Helvetica 11 pt.
pub fn letter_pdf(pages: usize) -> Vec<u8> {
    let mut content = String::from("BT /F1 11 Tf 14 TL 72 770 Td\n");
    for line in LETTER {
        let escaped = line.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)");
        content.push_str(&format!("({escaped}) Tj T*\n"));
    }
    content.push_str("ET");
    let font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";
    let contents_id = pages + 3;
    let font_id = pages + 4;
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!(
            "<< /Type /Pages /Count {pages} /Kids [{}] >>",
            (0..pages).map(|p| format!("{} 0 R", p + 3)).collect::<Vec<_>>().join(" ")
        ),
    ];
    for _ in 0..pages {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {contents_id} 0 R \
             /Resources << /Font << /F1 {font_id} 0 R >> >> >>"
        ));
    }
    objects.push(format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()));
    objects.push(font.to_string());
    pdf_of(&objects.into_iter().map(String::into_bytes).collect::<Vec<_>>())
}

/// Rasterises page 1 of `pdf` as a grey PNG at `dpi`, as a scanner would: no text left.
pub fn scan_png(pdf: &[u8], dpi: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let input = dir.path().join("letter.pdf");
    std::fs::write(&input, pdf).expect("the PDF is written");
    let output = dir.path().join("scan");
    let status = Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-gray", "-png", "-singlefile"])
        .arg(&input)
        .arg(&output)
        .status()
        .expect("pdftoppm runs (scripts/test installs poppler-utils)");
    assert!(status.success(), "pdftoppm failed");
    std::fs::read(dir.path().join("scan.png")).expect("pdftoppm wrote the PNG")
}

/// A scanned-style PNG of the Dutch letter (grey, 200 dpi).
pub fn dutch_letter_png() -> Vec<u8> {
    scan_png(&letter_pdf(1), 200)
}

/// A scanned-style PDF of `pages` pages of the letter: each page a JPEG at 200 dpi
/// (`pdftoppm -jpeg`), embedded as it is (DCTDecode), with no text layer — what a scanner
/// sends.
pub fn scanned_letter_pdf(pages: usize) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let input = dir.path().join("letter.pdf");
    std::fs::write(&input, letter_pdf(pages)).expect("the PDF is written");
    let status = Command::new("pdftoppm")
        .args(["-r", "200", "-gray", "-jpeg"])
        .arg(&input)
        .arg(dir.path().join("page"))
        .status()
        .expect("pdftoppm runs (scripts/test installs poppler-utils)");
    assert!(status.success(), "pdftoppm failed");
    let mut images: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the pages")
        .map(|entry| entry.expect("a page").path())
        .filter(|path| path.extension().is_some_and(|e| e == "jpg"))
        .collect();
    images.sort();
    let jpegs: Vec<Vec<u8>> = images.iter().map(|path| std::fs::read(path).expect("a page image")).collect();
    image_pdf(&jpegs)
}

/// The pixel size and colour space of a JPEG, from its start-of-frame marker.
fn jpeg_frame(jpeg: &[u8]) -> (u32, u32, &'static str) {
    let mut at = 2;
    while at + 9 < jpeg.len() {
        let (marker, length) = (jpeg[at + 1], u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]) as usize);
        if (0xC0..=0xC3).contains(&marker) {
            let height = u16::from_be_bytes([jpeg[at + 5], jpeg[at + 6]]) as u32;
            let width = u16::from_be_bytes([jpeg[at + 7], jpeg[at + 8]]) as u32;
            let colours = if jpeg[at + 9] == 1 { "/DeviceGray" } else { "/DeviceRGB" };
            return (width, height, colours);
        }
        at += 2 + length;
    }
    panic!("a JPEG without a frame header");
}

/// A PDF whose A4 pages each show one grey JPEG, full page.
fn image_pdf(jpegs: &[Vec<u8>]) -> Vec<u8> {
    let pages = jpegs.len();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Count {pages} /Kids [{}] >>",
            (0..pages).map(|p| format!("{} 0 R", 3 + p * 3)).collect::<Vec<_>>().join(" ")
        )
        .into_bytes(),
    ];
    let draw = "q 595 0 0 842 0 0 cm /Im0 Do Q";
    for (n, jpeg) in jpegs.iter().enumerate() {
        let (page, contents, image) = (3 + n * 3, 4 + n * 3, 5 + n * 3);
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {contents} 0 R \
                 /Resources << /XObject << /Im0 {image} 0 R >> >> >>"
            )
            .into_bytes(),
        );
        debug_assert_eq!(objects.len(), page);
        objects.push(format!("<< /Length {} >>\nstream\n{draw}\nendstream", draw.len()).into_bytes());
        let (width, height, colours) = jpeg_frame(jpeg);
        let mut image_object = format!(
            "<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace {colours} \
             /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
            jpeg.len()
        )
        .into_bytes();
        image_object.extend_from_slice(jpeg);
        image_object.extend_from_slice(b"\nendstream");
        objects.push(image_object);
    }
    pdf_of(&objects)
}

/// A print environment whose administrator manages solutions and solution quotas and whose
/// users may run solutions and print.
pub async fn solution_env(storage: Storage) -> PrintEnv {
    solution_env_with(storage, |_| {}).await
}

/// [`solution_env`] with the runner's options changed by `customise`.
pub async fn solution_env_with(
    storage: Storage,
    customise: impl FnOnce(&mut printcloud::serve::ServeOptions),
) -> PrintEnv {
    let mut env = PrintEnv::start_customised(storage, chrono::Utc::now(), customise).await;
    let me: Value = env.http.get(env.url("/v1/me")).bearer_auth(&env.admin).send().await.unwrap().json().await.unwrap();
    let admin_roles = json!({"roles": ["Organization Administrator", "Print Release Management Administrator",
        "Solution Center Administrator", "Solutions Quota Administrator"]});
    env.send_ok("PUT", &format!("/roles/users/{}", me["user"]["id"].as_str().unwrap()), admin_roles).await;
    env.send_ok("PUT", "/roles/org", json!({"roles": ["Print Release Management User", "Solution Center User"]})).await;
    env.refresh_admin().await;
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scanned PDF really shows the letter: Tesseract reads it back from the page images.
    #[test]
    fn the_scanned_pdf_shows_the_letter() {
        let dir = tempfile::tempdir().unwrap();
        let pdf = dir.path().join("scan.pdf");
        std::fs::write(&pdf, scanned_letter_pdf(1)).unwrap();
        let status = Command::new("pdftoppm")
            .args(["-r", "200", "-png", "-singlefile"])
            .arg(&pdf)
            .arg(dir.path().join("page"))
            .status()
            .unwrap();
        assert!(status.success());
        let out = Command::new("tesseract").arg(dir.path().join("page.png")).args(["-", "-l", "nld"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Geachte heer Jansen"), "{text}");
    }
}
