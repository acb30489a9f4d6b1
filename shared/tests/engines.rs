//! The Solution Center's engine ports through their real adapters:
//! - Tesseract (one machine) on a letter this file renders itself (lopdf, then pdftoppm);
//! - the LibreTranslate-compatible endpoint client against a tiny server speaking that
//!   protocol (D-TRANSLATE-ENGINE);
//! - Comprehend's DetectPiiEntities against moto server (`scripts/test` starts it and sets
//!   `PRINTCLOUD_MOTO_ENDPOINT`); what moto 5.2.5 does not implement (Translate,
//!   DetectEntities) or answers malformed (DetectDocumentText: its `DocumentMetadata.Pages`
//!   is an object, which the SDK refuses) against a small server speaking the protocols the
//!   SDKs use (AWS JSON 1.1; Smithy RPC v2 CBOR for Translate), so request encoding and
//!   answer decoding still go through the real SDKs.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use serde_json::{Value, json};
use shared::adapters::aws::{AwsTranslator, ComprehendPii, TextractOcr};
use shared::adapters::embedded::{NoTranslator, TesseractConfig, TesseractOcr, TranslationEndpoint};
use shared::ports::pii::{PiiDetector, PiiType};
use shared::ports::{Ocr, ScanFormat, Translator};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};

const DUTCH: [&str; 2] = ["Geachte heer Jansen,", "Hartelijk dank voor uw brief."];
const ENGLISH: [&str; 2] = ["Dear Mrs Smith,", "Thank you for your letter."];

// ---------------------------------------------------------------------------------------
// Fixtures: a letter rendered with lopdf and rasterised with pdftoppm.

/// A PDF of `pages`, each a few lines in standard Helvetica.
fn letter_pdf(pages: &[&[&str]]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica"});
    let resources = doc.add_object(dictionary! {"Font" => dictionary! {"F1" => font}});
    let mut kids: Vec<Object> = Vec::new();
    for lines in pages {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 24.into()]),
            Operation::new("Td", vec![72.into(), 720.into()]),
        ];
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                operations.push(Operation::new("Td", vec![0.into(), (-40).into()]));
            }
            operations.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
        }
        operations.push(Operation::new("ET", vec![]));
        let content = Content { operations }.encode().unwrap();
        let contents = doc.add_object(Stream::new(dictionary! {}, content));
        let media_box: Vec<Object> = vec![0.into(), 0.into(), 595.into(), 842.into()];
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => contents, "MediaBox" => media_box,
            "Resources" => resources,
        });
        kids.push(page.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(pages_id, Object::Dictionary(dictionary! {"Type" => "Pages", "Kids" => kids, "Count" => count}));
    let catalog = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// Fails (never skips) when an OCR tool is missing: `scripts/test` installs them.
fn require(program: &str, package: &str) {
    let found = Command::new(program).arg("-v").output().is_ok();
    assert!(found, "`{program}` is not installed: install {package} (scripts/test installs it on Debian)");
}

/// The first page of `pdf` as a PNG at 200 dpi.
fn rasterise(pdf: &[u8]) -> Vec<u8> {
    rasterise_as(pdf, "-png", "png")
}

/// The first page of `pdf` at 200 dpi, in the image format `option` asks pdftoppm for.
fn rasterise_as(pdf: &[u8], option: &str, extension: &str) -> Vec<u8> {
    require("pdftoppm", "poppler-utils");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.pdf"), pdf).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-r", "200", option, "-singlefile", "in.pdf", "out"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "pdftoppm rasterises the test letter");
    std::fs::read(dir.path().join(format!("out.{extension}"))).unwrap()
}

fn tesseract() -> TesseractOcr {
    require("tesseract", "tesseract-ocr tesseract-ocr-eng tesseract-ocr-nld");
    TesseractOcr::new(TesseractConfig::default())
}

/// Lower case without any whitespace, so OCR's spacing does not matter.
fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase()
}

fn assert_reads(page: &str, lines: &[&str]) {
    for line in lines {
        assert!(
            squeezed(page).contains(&squeezed(line)),
            "OCR should read {line:?}; it read {} characters",
            page.len()
        );
    }
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| t.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// Tesseract (R-SC-9: OCR of scans, text and searchable PDF).

// R-SC-9: a PNG scan of a Dutch and English letter is read.
#[tokio::test]
async fn tesseract_reads_a_png_scan() {
    let png = rasterise(&letter_pdf(&[&[DUTCH[0], DUTCH[1], ENGLISH[0], ENGLISH[1]]]));
    let languages = strings(&["nl", "en"]);
    let recognised = tesseract().recognise(&png, ScanFormat::Png, &languages, false).await.unwrap();
    assert_eq!(recognised.pages.len(), 1);
    assert_reads(&recognised.pages[0], &DUTCH);
    assert_reads(&recognised.pages[0], &ENGLISH);
    assert!(recognised.pdf.is_none(), "no PDF unless asked");
}

// R-SC-9: a PDF is read page by page (default languages) and a searchable PDF comes back.
#[tokio::test]
async fn tesseract_reads_a_pdf_page_by_page_and_makes_a_searchable_pdf() {
    let pdf = letter_pdf(&[&DUTCH, &ENGLISH]);
    let recognised = tesseract().recognise(&pdf, ScanFormat::Pdf, &[], true).await.unwrap();
    assert_eq!(recognised.pages.len(), 2, "one text per page");
    assert_reads(&recognised.pages[0], &DUTCH);
    assert_reads(&recognised.pages[1], &ENGLISH);
    let searchable = recognised.pdf.expect("a searchable PDF was asked for");
    assert!(searchable.starts_with(b"%PDF"));
    assert_eq!(Document::load_mem(&searchable).unwrap().get_pages().len(), 2);
}

// R-SC-9: the searchable PDF of an image scan has its one page.
#[tokio::test]
async fn tesseract_makes_a_searchable_pdf_of_an_image() {
    let png = rasterise(&letter_pdf(&[&DUTCH]));
    let recognised = tesseract().recognise(&png, ScanFormat::Png, &strings(&["nl"]), true).await.unwrap();
    assert_reads(&recognised.pages[0], &DUTCH);
    let searchable = recognised.pdf.unwrap();
    assert!(searchable.starts_with(b"%PDF"));
    assert_eq!(Document::load_mem(&searchable).unwrap().get_pages().len(), 1);
}

// Garbage, a broken image and a broken PDF are unreadable documents, not engine failures.
#[tokio::test]
async fn tesseract_refuses_what_is_not_an_image() {
    let ocr = tesseract();
    require("pdftoppm", "poppler-utils");
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let mut broken_png = b"\x89PNG\r\n\x1a\n".to_vec();
    broken_png.extend_from_slice(&garbage);
    let mut broken_pdf = b"%PDF-1.4\n".to_vec();
    broken_pdf.extend_from_slice(&garbage);
    let cases = [(garbage.clone(), ScanFormat::Png), (broken_png, ScanFormat::Png), (broken_pdf, ScanFormat::Pdf)];
    for (bytes, format) in cases {
        let err = ocr.recognise(&bytes, format, &[], false).await.unwrap_err();
        assert_eq!(err.code, "unreadable_document", "{format:?}: {err}");
        assert!(!err.retryable);
    }
}

// A language Tesseract has no data for, or whose data is not installed, is refused by name.
#[tokio::test]
async fn tesseract_refuses_a_language_it_cannot_read() {
    let ocr = tesseract();
    let png = rasterise(&letter_pdf(&[&DUTCH]));
    let err = ocr.recognise(&png, ScanFormat::Png, &strings(&["xx"]), false).await.unwrap_err();
    assert_eq!(err.code, "unsupported_language");
    let listed = Command::new("tesseract").arg("--list-langs").output().unwrap();
    let installed = String::from_utf8_lossy(&listed.stdout).to_string();
    let missing = ["ko", "he", "el", "ja", "ar"]
        .into_iter()
        .find(|iso| {
            !installed.lines().any(|l| Some(l) == shared::adapters::embedded::tesseract::tesseract_code(iso).ok())
        })
        .expect("some language is not installed");
    let err = ocr.recognise(&png, ScanFormat::Png, &strings(&[missing]), false).await.unwrap_err();
    assert_eq!(err.code, "unsupported_language");
    assert!(err.detail.contains("tesseract-ocr-"), "names the package to install: {}", err.detail);
}

// ---------------------------------------------------------------------------------------
// Translation endpoint (D-TRANSLATE-ENGINE, R-SC-10 auto-detection).

/// A server speaking LibreTranslate's protocol: upper-cases, detects "nl", refuses target
/// "xx" (400), fails on "BOOM" (500); `single` answers the single-string form.
#[derive(Clone, Default)]
struct FakeLibre {
    requests: Arc<Mutex<Vec<Value>>>,
    single: bool,
}

async fn libre_translate(State(fake): State<FakeLibre>, body: axum::Json<Value>) -> Response {
    let body = body.0;
    fake.requests.lock().unwrap().push(body.clone());
    let texts: Vec<String> = match &body["q"] {
        Value::Array(items) => items.iter().map(|t| t.as_str().unwrap_or_default().to_string()).collect(),
        other => vec![other.as_str().unwrap_or_default().to_string()],
    };
    if body["target"] == "xx" {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "xx is not supported"}))).into_response();
    }
    if texts.iter().any(|t| t.contains("BOOM")) {
        return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"error": "Cannot translate text"})))
            .into_response();
    }
    let detected = json!({"confidence": 90, "language": "nl"});
    let auto = body["source"] == "auto";
    let answer = if fake.single {
        json!({"translatedText": texts[0].to_uppercase(), "detectedLanguage": detected})
    } else {
        let translated: Vec<String> = texts.iter().map(|t| t.to_uppercase()).collect();
        let detected: Vec<Value> = texts.iter().map(|_| detected.clone()).collect();
        if auto {
            json!({"translatedText": translated, "detectedLanguage": detected})
        } else {
            json!({"translatedText": translated})
        }
    };
    axum::Json(answer).into_response()
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

async fn libre(single: bool) -> (FakeLibre, String) {
    let fake = FakeLibre { single, ..FakeLibre::default() };
    let addr = serve(Router::new().route("/translate", post(libre_translate)).with_state(fake.clone())).await;
    (fake, format!("http://{addr}/"))
}

// D-TRANSLATE-ENGINE, R-SC-10: the request shape (auto source, target, key, format), batches
// under 50 KB, order kept, empty paragraphs never sent, the detected language answered.
#[tokio::test]
async fn the_endpoint_translates_in_batches_in_order_and_detects_the_source() {
    let (fake, url) = libre(false).await;
    let translator = TranslationEndpoint::new(&url, Some("test-key".into())).unwrap();
    let long = "Dit is een zin. ".repeat(2500);
    let texts = vec!["Hallo wereld".into(), String::new(), long.clone(), "  ".into(), long.clone(), "Dag".into()];
    let answer = translator.translate(&texts, None, "en").await.unwrap();
    let expected =
        vec!["HALLO WERELD".into(), String::new(), long.to_uppercase(), "  ".into(), long.to_uppercase(), "DAG".into()];
    assert_eq!(answer.texts, expected);
    assert_eq!(answer.detected_source.as_deref(), Some("nl"));
    let requests = fake.requests.lock().unwrap().clone();
    assert!(requests.len() >= 2, "more than 50 KB goes in several requests");
    for request in &requests {
        assert_eq!(
            (&request["source"], &request["target"], &request["format"]),
            (&json!("auto"), &json!("en"), &json!("text"))
        );
        assert_eq!(request["api_key"], "test-key");
        let q: Vec<&str> = request["q"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert!(q.iter().all(|t| !t.trim().is_empty()), "blank paragraphs are not sent");
        assert!(q.iter().map(|t| t.len()).sum::<usize>() <= 50 * 1024);
    }
}

// R-SC-10: a named source is sent as is and nothing is reported as detected; no key, no api_key.
#[tokio::test]
async fn the_endpoint_takes_a_named_source_and_the_single_answer_form() {
    let (fake, url) = libre(false).await;
    let translator = TranslationEndpoint::new(&url, None).unwrap();
    let answer = translator.translate(&strings(&["Hallo"]), Some("nl"), "de").await.unwrap();
    assert_eq!((answer.texts, answer.detected_source), (strings(&["HALLO"]), None));
    let request = fake.requests.lock().unwrap()[0].clone();
    assert_eq!((&request["source"], &request["target"]), (&json!("nl"), &json!("de")));
    assert!(request.get("api_key").is_none());
    let (_, url) = libre(true).await;
    let answer = TranslationEndpoint::new(&url, None).unwrap().translate(&strings(&["Hoi"]), None, "en").await.unwrap();
    assert_eq!((answer.texts, answer.detected_source.as_deref()), (strings(&["HOI"]), Some("nl")));
}

// D-TRANSLATE-ENGINE: without an endpoint a translation fails with translation_unavailable,
// and nothing is empty-translated in its place.
#[tokio::test]
async fn without_an_endpoint_translation_is_unavailable() {
    let err = NoTranslator.translate(&strings(&["Hallo"]), None, "en").await.unwrap_err();
    assert_eq!((err.code, err.retryable), ("translation_unavailable", false));
    assert!(err.detail.contains("--translate-endpoint"), "{}", err.detail);
}

// Failures: server error and unreachable are retryable, an unsupported language is not.
#[tokio::test]
async fn endpoint_failures_are_classified() {
    let (_, url) = libre(false).await;
    let translator = TranslationEndpoint::new(&url, None).unwrap();
    let err = translator.translate(&strings(&["BOOM"]), None, "en").await.unwrap_err();
    assert_eq!((err.code, err.retryable), ("translation_failed", true));
    let err = translator.translate(&strings(&["Hallo"]), None, "xx").await.unwrap_err();
    assert_eq!((err.code, err.retryable), ("unsupported_language", false));
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let unreachable = TranslationEndpoint::new(&format!("http://{closed}"), None).unwrap();
    let err = unreachable.translate(&strings(&["Hallo"]), None, "en").await.unwrap_err();
    assert_eq!((err.code, err.retryable), ("translation_failed", true));
}

// ---------------------------------------------------------------------------------------
// AWS adapters against moto (Textract DetectDocumentText, Comprehend DetectPiiEntities).

fn moto_endpoint() -> String {
    std::env::var("PRINTCLOUD_MOTO_ENDPOINT").expect(
        "PRINTCLOUD_MOTO_ENDPOINT is not set: run the tests with scripts/test, which installs and starts moto server",
    )
}

async fn sdk_config(endpoint: String) -> aws_config::SdkConfig {
    let credentials = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "engine-tests");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

// R-SC-12 on AWS: DetectPiiEntities' NAME (moto's canned answer: characters 50..58) becomes
// a person at the right byte offsets past multi-byte characters; patterns still find e-mail.
#[tokio::test]
async fn comprehend_on_moto_finds_names_at_byte_offsets() {
    let pii = ComprehendPii::new(aws_sdk_comprehend::Client::new(&sdk_config(moto_endpoint()).await));
    let text = format!("{}Jan Smit and more text, mail jan@example.com please.", "é".repeat(50));
    let found = pii.find(&text, "en", &[PiiType::Person, PiiType::Email]).await.unwrap();
    let spans: Vec<(PiiType, &str)> = found.iter().map(|f| (f.kind, &text[f.start..f.end])).collect();
    assert_eq!(spans, vec![(PiiType::Person, "Jan Smit"), (PiiType::Email, "jan@example.com")]);
    assert!(pii.supported().contains(&PiiType::Organisation));
    let nothing_asked = pii.find(&text, "nl", &[PiiType::Email]).await.unwrap();
    assert_eq!(nothing_asked.len(), 1, "pattern types need no Comprehend language");
}

// Comprehend refusing the language code (moto knows only "en" for DetectPiiEntities) is
// unsupported_language; a language no Comprehend call serves is refused before calling.
#[tokio::test]
async fn comprehend_language_refusals_are_unsupported_language() {
    let pii = ComprehendPii::new(aws_sdk_comprehend::Client::new(&sdk_config(moto_endpoint()).await));
    let err = pii.find("Juan García vive aquí.", "es", &[PiiType::Person]).await.unwrap_err();
    assert_eq!(err.code, "unsupported_language", "{err}");
    let err = pii.find("Jan de Vries", "nl", &[PiiType::Address]).await.unwrap_err();
    assert_eq!(err.code, "unsupported_language");
}

// ---------------------------------------------------------------------------------------
// What moto lacks, through the real SDKs against a server speaking AWS's JSON protocol.

/// A fake of Translate's TranslateText (RPC v2 CBOR), Comprehend's DetectEntities and
/// Textract's DetectDocumentText (AWS JSON 1.1), recording the requests.
#[derive(Clone, Default)]
struct FakeAws {
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

fn aws_json(status: StatusCode, body: Value) -> Response {
    (status, [("content-type", "application/x-amz-json-1.1")], body.to_string()).into_response()
}

fn aws_error(kind: &str) -> Response {
    aws_json(StatusCode::BAD_REQUEST, json!({"__type": kind, "message": format!("fake {kind}")}))
}

fn cbor_answer(status: StatusCode, body: &Value) -> Response {
    let mut bytes = Vec::new();
    cbor::encode(body, &mut bytes);
    (status, [("content-type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")], bytes).into_response()
}

/// The RPC v2 CBOR endpoint (`POST /service/{service}/operation/{operation}`).
async fn fake_cbor(
    State(fake): State<FakeAws>,
    axum::extract::Path((_service, operation)): axum::extract::Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let body = cbor::decode(&body).unwrap_or(Value::Null);
    fake.requests.lock().unwrap().push((operation.clone(), body.clone()));
    let (status, answer) = match operation.as_str() {
        "TranslateText" => translate_text(&body),
        _ => (StatusCode::BAD_REQUEST, json!({"__type": "UnknownOperationException"})),
    };
    cbor_answer(status, &answer)
}

async fn fake_aws(State(fake): State<FakeAws>, headers: HeaderMap, body: String) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let operation = target.rsplit('.').next().unwrap_or_default().to_string();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    fake.requests.lock().unwrap().push((operation.clone(), body.clone()));
    match operation.as_str() {
        "DetectEntities" => detect_entities(&body),
        "DetectDocumentText" => detect_document_text(&body),
        _ => aws_error("UnknownOperationException"),
    }
}

/// Upper-cases; detects "nl"; "MERGE" joins lines (so batches must fall back); target
/// "xx" is an unsupported pair; "THROTTLE" is throttled.
fn translate_text(body: &Value) -> (StatusCode, Value) {
    let text = body["Text"].as_str().unwrap_or_default();
    let source = body["SourceLanguageCode"].as_str().unwrap_or_default();
    let error = |kind: &str| json!({"__type": format!("com.amazonaws.translate#{kind}"), "message": "fake"});
    if body["TargetLanguageCode"] == "xx" {
        return (StatusCode::BAD_REQUEST, error("UnsupportedLanguagePairException"));
    }
    if text.contains("THROTTLE") {
        return (StatusCode::BAD_REQUEST, error("TooManyRequestsException"));
    }
    let mut translated = text.to_uppercase();
    if text.contains("MERGE") {
        translated = translated.replace('\n', " ");
    }
    let source = if source == "auto" { "nl" } else { source };
    let target = body["TargetLanguageCode"].clone();
    (StatusCode::OK, json!({"TranslatedText": translated, "SourceLanguageCode": source, "TargetLanguageCode": target}))
}

/// Finds "Müller" (PERSON) and "Acme GmbH" (ORGANIZATION) at character offsets.
fn detect_entities(body: &Value) -> Response {
    let text = body["Text"].as_str().unwrap_or_default();
    let mut entities = Vec::new();
    for (name, kind) in [("Müller", "PERSON"), ("Acme GmbH", "ORGANIZATION"), ("Berlin", "LOCATION")] {
        for (at, _) in text.match_indices(name) {
            let begin = text[..at].chars().count();
            let end = begin + name.chars().count();
            entities.push(json!({"Type": kind, "Text": name, "BeginOffset": begin, "EndOffset": end, "Score": 0.99}));
        }
    }
    aws_json(StatusCode::OK, json!({"Entities": entities}))
}

/// Answers LINE (and WORD) blocks naming the page count of the PDF it received; bytes
/// "BAD" are an unsupported document, "SLOW" throttled.
/// The words the fake Textract finds on every page, with their boxes (left, top, width,
/// height in fractions of the shown page); the first is a word no test letter holds.
const FAKE_WORDS: [(&str, [f32; 4]); 3] =
    [("Spookwoord", [0.1, 0.2, 0.3, 0.03]), ("één", [0.45, 0.2, 0.1, 0.03]), ("€5", [0.6, 0.5, 0.05, 0.02])];

fn detect_document_text(body: &Value) -> Response {
    let encoded = body["Document"]["Bytes"].as_str().unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap_or_default();
    if bytes.windows(3).any(|w| w == b"BAD") {
        return aws_error("UnsupportedDocumentException");
    }
    if bytes.windows(4).any(|w| w == b"SLOW") {
        return aws_error("ProvisionedThroughputExceededException");
    }
    let pages = Document::load_mem(&bytes).map(|d| d.get_pages().len()).unwrap_or(0);
    let mut blocks = vec![
        json!({"BlockType": "PAGE", "Id": "p"}),
        json!({"BlockType": "LINE", "Id": "l1", "Text": "Geachte heer Jansen,"}),
        json!({"BlockType": "WORD", "Id": "w0", "Text": "Geachte"}),
        json!({"BlockType": "LINE", "Id": "l2", "Text": format!("pages in this call: {pages}")}),
    ];
    for (n, (text, [left, top, width, height])) in FAKE_WORDS.iter().enumerate() {
        let bounds = json!({"Left": left, "Top": top, "Width": width, "Height": height});
        blocks.push(json!({"BlockType": "WORD", "Id": format!("w{}", n + 1), "Text": text,
            "Geometry": {"BoundingBox": bounds}}));
    }
    aws_json(StatusCode::OK, json!({"Blocks": blocks, "DocumentMetadata": {"Pages": 1}}))
}

async fn fake_aws_server() -> (FakeAws, aws_config::SdkConfig) {
    let fake = FakeAws::default();
    let router = Router::new()
        .route("/", post(fake_aws))
        .route("/service/{service}/operation/{operation}", post(fake_cbor))
        .with_state(fake.clone());
    let addr = serve(router).await;
    (fake.clone(), sdk_config(format!("http://{addr}")).await)
}

// R-SC-10 on AWS: paragraphs are joined per call under 10,000 bytes, source "auto", order
// kept, blank paragraphs never sent, the detected source answered.
#[tokio::test]
async fn translate_batches_paragraphs_under_the_call_limit() {
    let (fake, sdk) = fake_aws_server().await;
    let translator = AwsTranslator::new(aws_sdk_translate::Client::new(&sdk));
    let mut texts: Vec<String> = (0..30).map(|i| format!("Alinea nummer {i} met wat tekst erin.")).collect();
    texts.insert(3, String::new());
    texts.push("Lange alinea. ".repeat(1200));
    let answer = translator.translate(&texts, None, "en").await.unwrap();
    let expected: Vec<String> = texts.iter().map(|t| t.to_uppercase()).collect();
    assert_eq!(answer.texts, expected);
    assert_eq!(answer.detected_source.as_deref(), Some("nl"));
    let requests = fake.requests.lock().unwrap().clone();
    assert!(requests.len() < texts.len(), "paragraphs share calls: {} calls", requests.len());
    for (operation, body) in &requests {
        assert_eq!(operation, "TranslateText");
        assert_eq!((&body["SourceLanguageCode"], &body["TargetLanguageCode"]), (&json!("auto"), &json!("en")));
        let text = body["Text"].as_str().unwrap();
        assert!(text.len() <= 10_000 && !text.trim().is_empty(), "{} bytes", text.len());
    }
}

// A batch whose answer does not split into its paragraphs is sent one paragraph a call.
#[tokio::test]
async fn translate_falls_back_to_one_paragraph_per_call() {
    let (fake, sdk) = fake_aws_server().await;
    let translator = AwsTranslator::new(aws_sdk_translate::Client::new(&sdk));
    let texts = strings(&["Eerste MERGE", "Tweede", "Derde"]);
    let answer = translator.translate(&texts, Some("nl"), "en").await.unwrap();
    assert_eq!((answer.texts, answer.detected_source), (strings(&["EERSTE MERGE", "TWEEDE", "DERDE"]), None));
    assert_eq!(fake.requests.lock().unwrap().len(), 4, "one joined call, then one per paragraph");
}

// Translate's refusals: an unsupported pair is unsupported_language, throttling retryable.
#[tokio::test]
async fn translate_errors_are_classified() {
    let (_, sdk) = fake_aws_server().await;
    let translator = AwsTranslator::new(aws_sdk_translate::Client::new(&sdk));
    let err = translator.translate(&strings(&["Hallo"]), None, "xx").await.unwrap_err();
    assert_eq!((err.code, err.retryable), ("unsupported_language", false));
    let err = translator.translate(&strings(&["THROTTLE"]), None, "en").await.unwrap_err();
    assert_eq!((err.code, err.retryable), ("translation_failed", true));
}

// R-SC-12 on AWS: DetectEntities' PERSON and ORGANIZATION in German text, over chunks of a
// text longer than one call, at byte offsets of the whole text.
#[tokio::test]
async fn comprehend_entities_are_found_across_chunks_at_byte_offsets() {
    let (fake, sdk) = fake_aws_server().await;
    let pii = ComprehendPii::new(aws_sdk_comprehend::Client::new(&sdk));
    let filler = "Grüße aus Köln und Düsseldorf. ".repeat(4000);
    let text = format!("Herr Müller von Acme GmbH. {filler}Wieder Herr Müller in Berlin.");
    let found = pii.find(&text, "de", &[PiiType::Person, PiiType::Organisation]).await.unwrap();
    let spans: Vec<(PiiType, &str)> = found.iter().map(|f| (f.kind, &text[f.start..f.end])).collect();
    assert_eq!(
        spans,
        vec![(PiiType::Person, "Müller"), (PiiType::Organisation, "Acme GmbH"), (PiiType::Person, "Müller")]
    );
    assert_eq!(found[2].start, text.rfind("Müller").unwrap());
    let requests = fake.requests.lock().unwrap().clone();
    assert!(requests.len() >= 2, "more than 100 KB takes several calls");
    for (operation, body) in &requests {
        assert_eq!((operation.as_str(), &body["LanguageCode"]), ("DetectEntities", &json!("de")));
        assert!(body["Text"].as_str().unwrap().len() <= 100_000);
    }
}

// R-SC-9 on AWS: a PDF goes one single-page PDF per call; a page is its LINE blocks.
#[tokio::test]
async fn textract_sends_single_pages_and_joins_line_blocks() {
    let (_, sdk) = fake_aws_server().await;
    let ocr = TextractOcr::new(aws_sdk_textract::Client::new(&sdk));
    let pdf = letter_pdf(&[&DUTCH, &ENGLISH]);
    let recognised = ocr.recognise(&pdf, ScanFormat::Pdf, &[], false).await.unwrap();
    let page = "Geachte heer Jansen,\npages in this call: 1";
    assert_eq!(recognised.pages, strings(&[page, page]));
    let bad = letter_pdf(&[&["BAD"]]);
    let err = ocr.recognise(&bad, ScanFormat::Pdf, &[], false).await.unwrap_err();
    assert_eq!((err.code, err.retryable), ("unreadable_document", false));
    let slow = letter_pdf(&[&["SLOW"]]);
    let err = ocr.recognise(&slow, ScanFormat::Pdf, &[], false).await.unwrap_err();
    assert_eq!((err.code, err.retryable), ("ocr_failed", true));
    let err = ocr.recognise(&pdf, ScanFormat::Pdf, &strings(&["ja"]), false).await.unwrap_err();
    assert_eq!(err.code, "unsupported_language");
}

/// A page as `pdftotext -bbox` reads it: its size and every word with its box (left, top,
/// right, bottom in points from the top-left corner of the page as shown).
#[derive(Debug)]
struct ReadPage {
    width: f32,
    height: f32,
    words: Vec<(String, [f32; 4])>,
}

/// What a PDF reader finds in `pdf` (poppler's `pdftotext`).
fn read_words(pdf: &[u8]) -> Vec<ReadPage> {
    require("pdftotext", "poppler-utils");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.pdf"), pdf).unwrap();
    let output = Command::new("pdftotext").args(["-bbox", "in.pdf", "-"]).current_dir(dir.path()).output().unwrap();
    assert!(output.status.success(), "pdftotext reads the PDF: {}", String::from_utf8_lossy(&output.stderr));
    let html = String::from_utf8(output.stdout).unwrap();
    let page = regex::Regex::new(r#"<page width="([\d.]+)" height="([\d.]+)">"#).unwrap();
    let word =
        regex::Regex::new(r#"<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>"#)
            .unwrap();
    let number = |text: &str| text.parse::<f32>().unwrap();
    let mut pages: Vec<ReadPage> = Vec::new();
    for line in html.lines() {
        if let Some(size) = page.captures(line) {
            pages.push(ReadPage { width: number(&size[1]), height: number(&size[2]), words: Vec::new() });
        } else if let Some(found) = word.captures(line) {
            let bounds = [number(&found[1]), number(&found[2]), number(&found[3]), number(&found[4])];
            let text = found[5].replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">");
            pages.last_mut().expect("a word is on a page").words.push((text, bounds));
        }
    }
    pages
}

/// Asserts every fake Textract word is on `page` where its box says, within `slack` points.
fn assert_fake_words_placed(page: &ReadPage, slack: f32) {
    assert_fake_words_placed_on(page, (page.width, page.height), slack);
}

/// As [`assert_fake_words_placed`] on a page shown `shown` (width, height) in size, which
/// pdftotext reads in shown coordinates but reports unturned.
fn assert_fake_words_placed_on(page: &ReadPage, (shown_width, shown_height): (f32, f32), slack: f32) {
    for (text, [left, top, width, height]) in FAKE_WORDS {
        let (_, [x_min, y_min, x_max, y_max]) = page
            .words
            .iter()
            .find(|(read, _)| read == text)
            .unwrap_or_else(|| panic!("{text:?} is not on the page: {page:?}"));
        let near = |read: f32, expected: f32| (read - expected).abs() <= slack;
        let (starts, ends) = (left * shown_width, (left + width) * shown_width);
        assert!(near(*x_min, starts), "{text} starts at {x_min}, not {starts}");
        assert!(near(*x_max, ends), "{text} ends at {x_max}, not {ends}");
        let middle = (y_min + y_max) / 2.0;
        let (box_top, box_bottom) = (top * shown_height, (top + height) * shown_height);
        assert!(middle > box_top - slack && middle < box_bottom + slack, "{text} at {y_min}..{y_max}: {page:?}");
    }
}

/// The image XObjects of `pdf`: their dictionaries and stored bytes.
fn images(pdf: &[u8]) -> Vec<(lopdf::Dictionary, Vec<u8>)> {
    let document = Document::load_mem(pdf).unwrap();
    let streams = document.objects.values().filter_map(|object| object.as_stream().ok());
    let images = streams.filter(|stream| stream.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image"));
    images.map(|stream| (stream.dict.clone(), stream.content.clone())).collect()
}

// R-SC-9 on AWS: the searchable PDF of a PDF scan is that PDF with Textract's words laid
// over each page where Textract found them, invisible: the pages look exactly as before.
#[tokio::test]
async fn textract_searchable_pdf_lays_invisible_words_over_each_page() {
    let (_, sdk) = fake_aws_server().await;
    let ocr = TextractOcr::new(aws_sdk_textract::Client::new(&sdk));
    let scan = letter_pdf(&[&DUTCH, &ENGLISH]);
    let recognised = ocr.recognise(&scan, ScanFormat::Pdf, &[], true).await.unwrap();
    assert_eq!(recognised.pages.len(), 2, "the text still comes back");
    let searchable = recognised.pdf.expect("a searchable PDF was asked for");
    let pages = read_words(&searchable);
    assert_eq!(pages.len(), 2);
    for (page, own_word) in pages.iter().zip(["Jansen,", "Smith,"]) {
        assert_eq!((page.width, page.height), (595.0, 842.0));
        assert_fake_words_placed(page, 1.0);
        assert!(page.words.iter().any(|(word, _)| word == own_word), "the letter's own text stays: {page:?}");
    }
    assert_eq!(rasterise(&searchable), rasterise(&scan), "the words are invisible");
}

// R-SC-9 on AWS: a page shown turned (/Rotate 90) gets its words where they are seen.
#[tokio::test]
async fn textract_searchable_pdf_follows_a_turned_page() {
    let (_, sdk) = fake_aws_server().await;
    let ocr = TextractOcr::new(aws_sdk_textract::Client::new(&sdk));
    let mut turned = Document::load_mem(&letter_pdf(&[&DUTCH])).unwrap();
    let page = *turned.get_pages().values().next().unwrap();
    turned.get_dictionary_mut(page).unwrap().set("Rotate", 90);
    let mut scan = Vec::new();
    turned.save_to(&mut scan).unwrap();
    let searchable = ocr.recognise(&scan, ScanFormat::Pdf, &[], true).await.unwrap().pdf.unwrap();
    let pages = read_words(&searchable);
    assert_fake_words_placed_on(&pages[0], (842.0, 595.0), 1.0);
    let letter_word = pages[0].words.iter().find(|(word, _)| word == "Geachte").unwrap().1;
    assert!(letter_word[3] - letter_word[1] > letter_word[2] - letter_word[0], "the letter itself reads downwards");
}

// R-SC-9 on AWS: an image scan becomes a page of its own (fitted to A4) holding the image
// — a JPEG as it came, a PNG losslessly — under the invisible words.
#[tokio::test]
async fn textract_searchable_pdf_of_an_image_puts_it_on_a_page() {
    let (_, sdk) = fake_aws_server().await;
    let ocr = TextractOcr::new(aws_sdk_textract::Client::new(&sdk));
    let letter = letter_pdf(&[&DUTCH]);
    let png = rasterise(&letter);
    let searchable = ocr.recognise(&png, ScanFormat::Png, &[], true).await.unwrap().pdf.unwrap();
    let pages = read_words(&searchable);
    assert_eq!(pages.len(), 1);
    let fitted_width = 841.89 * 1653.0 / 2339.0;
    assert!((pages[0].height - 841.89).abs() < 0.01 && (pages[0].width - fitted_width).abs() < 0.01, "{pages:?}");
    assert_fake_words_placed(&pages[0], 1.0);
    let [(image, pixels)] = &images(&searchable)[..] else { panic!("one image") };
    let (width, height) =
        (image.get(b"Width").unwrap().as_i64().unwrap(), image.get(b"Height").unwrap().as_i64().unwrap());
    assert_eq!((width, height), (1653, 2339), "the scan's own pixels (200 dpi)");
    let mut stored = lopdf::Stream::new(image.clone(), pixels.clone());
    stored.decompress().unwrap();
    let channels = if image.get(b"ColorSpace").unwrap().as_name().unwrap() == b"DeviceGray" { 1 } else { 3 };
    assert_eq!(stored.content.len() as i64, width * height * channels);

    let jpeg = rasterise_as(&letter, "-jpeg", "jpg");
    let searchable = ocr.recognise(&jpeg, ScanFormat::Jpeg, &[], true).await.unwrap().pdf.unwrap();
    assert_fake_words_placed(&read_words(&searchable)[0], 1.0);
    let [(image, bytes)] = &images(&searchable)[..] else { panic!("one image") };
    assert_eq!(image.get(b"Filter").unwrap().as_name().unwrap(), b"DCTDecode");
    assert_eq!(bytes, &jpeg, "the JPEG is kept as it came");

    let err = ocr.recognise(b"\x89PNG\r\n\x1a\nnot really", ScanFormat::Png, &[], true).await.unwrap_err();
    assert_eq!(err.code, "unreadable_document", "{err}");
}

/// Just enough CBOR (RFC 8949) for the fake RPC v2 CBOR endpoint: JSON-shaped values.
mod cbor {
    use serde_json::{Map, Value};

    /// The value encoded in `bytes`.
    pub fn decode(bytes: &[u8]) -> Option<Value> {
        let mut at = 0;
        item(bytes, &mut at)
    }

    fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Option<&'a [u8]> {
        let slice = bytes.get(*at..*at + n)?;
        *at += n;
        Some(slice)
    }

    fn argument(bytes: &[u8], at: &mut usize, info: u8) -> Option<u64> {
        let width = match info {
            0..=23 => return Some(info as u64),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return None,
        };
        Some(take(bytes, at, width)?.iter().fold(0u64, |n, &b| n << 8 | b as u64))
    }

    fn item(bytes: &[u8], at: &mut usize) -> Option<Value> {
        let initial = *take(bytes, at, 1)?.first()?;
        let (major, info) = (initial >> 5, initial & 31);
        if info == 31 {
            return indefinite(bytes, at, major);
        }
        if major == 7 {
            return simple(bytes, at, info);
        }
        let n = argument(bytes, at, info)?;
        match major {
            0 => Some(Value::from(n)),
            1 => Some(Value::from(-1 - n as i64)),
            2 => Some(Value::from(take(bytes, at, n as usize)?.to_vec())),
            3 => Some(Value::from(String::from_utf8(take(bytes, at, n as usize)?.to_vec()).ok()?)),
            4 => (0..n).map(|_| item(bytes, at)).collect::<Option<Vec<_>>>().map(Value::Array),
            5 => (0..n).map(|_| entry(bytes, at)).collect::<Option<Map<_, _>>>().map(Value::Object),
            _ => item(bytes, at), // a tag: its content
        }
    }

    fn entry(bytes: &[u8], at: &mut usize) -> Option<(String, Value)> {
        let key = item(bytes, at)?.as_str()?.to_string();
        Some((key, item(bytes, at)?))
    }

    fn indefinite(bytes: &[u8], at: &mut usize, major: u8) -> Option<Value> {
        let mut items = Vec::new();
        while bytes.get(*at) != Some(&0xff) {
            items.push(if major == 5 {
                let (k, v) = entry(bytes, at)?;
                Value::Array(vec![k.into(), v])
            } else {
                item(bytes, at)?
            });
        }
        *at += 1;
        match major {
            3 => Some(Value::from(items.iter().filter_map(Value::as_str).collect::<String>())),
            4 => Some(Value::Array(items)),
            5 => Some(Value::Object(
                items
                    .into_iter()
                    .filter_map(|pair| {
                        let [k, v]: [Value; 2] = pair.as_array()?.clone().try_into().ok()?;
                        Some((k.as_str()?.to_string(), v))
                    })
                    .collect(),
            )),
            _ => None,
        }
    }

    fn simple(bytes: &[u8], at: &mut usize, info: u8) -> Option<Value> {
        match info {
            20 => Some(Value::Bool(false)),
            21 => Some(Value::Bool(true)),
            22 | 23 => Some(Value::Null),
            26 => Some(Value::from(f32::from_bits(argument(bytes, at, 26)? as u32) as f64)),
            27 => Some(Value::from(f64::from_bits(argument(bytes, at, 27)?))),
            _ => None,
        }
    }

    fn head(major: u8, n: u64, out: &mut Vec<u8>) {
        let major = major << 5;
        match n {
            0..=23 => out.push(major | n as u8),
            24..=0xff => out.extend([major | 24, n as u8]),
            0x100..=0xffff => out.extend([[major | 25].as_slice(), &(n as u16).to_be_bytes()].concat()),
            0x1_0000..=0xffff_ffff => out.extend([[major | 26].as_slice(), &(n as u32).to_be_bytes()].concat()),
            _ => out.extend([[major | 27].as_slice(), &n.to_be_bytes()].concat()),
        }
    }

    /// `value` encoded into `out`.
    pub fn encode(value: &Value, out: &mut Vec<u8>) {
        match value {
            Value::Null => out.push(0xf6),
            Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
            Value::Number(n) if n.is_u64() => head(0, n.as_u64().unwrap(), out),
            Value::Number(n) if n.is_i64() => head(1, (-1 - n.as_i64().unwrap()) as u64, out),
            Value::Number(n) => out.extend([[0xfb].as_slice(), &n.as_f64().unwrap().to_be_bytes()].concat()),
            Value::String(s) => {
                head(3, s.len() as u64, out);
                out.extend(s.as_bytes());
            }
            Value::Array(items) => {
                head(4, items.len() as u64, out);
                items.iter().for_each(|v| encode(v, out));
            }
            Value::Object(map) => {
                head(5, map.len() as u64, out);
                for (k, v) in map {
                    encode(&Value::from(k.as_str()), out);
                    encode(v, out);
                }
            }
        }
    }

    #[test]
    fn values_survive_a_round_trip() {
        let value = serde_json::json!({"Text": "héllo", "n": 300, "neg": -7, "list": [true, null, 1.5], "m": {}});
        let mut bytes = Vec::new();
        encode(&value, &mut bytes);
        assert_eq!(decode(&bytes), Some(value));
        let indefinite = [0xbf, 0x61, b'a', 0x7f, 0x61, b'x', 0x61, b'y', 0xff, 0xff];
        assert_eq!(decode(&indefinite), Some(serde_json::json!({"a": "xy"})));
    }
}
