//! The searchable PDF that OCR answers on AWS. Textract returns words and where they sit on
//! the page, not a PDF, so this module makes one: every page of the scan (a PDF page kept as
//! it is, or an image put on a page of its own) gets an invisible text layer — text render
//! mode 3 — with each word stretched over the box Textract found it in. Viewers then find,
//! select and copy the words over the unchanged picture.

use crate::ports::engines::{EngineError, codes};
use crate::ports::ocr::ScanFormat;
use aws_sdk_textract::types::{Block, BlockType};
use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat, dictionary};

/// One recognised word and its box, in fractions of the page as it is shown (0..1, from
/// the top-left corner), as Textract reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacedWord {
    /// The word's text.
    pub text: String,
    /// Distance of the box from the page's left edge.
    pub left: f32,
    /// Distance of the box from the page's top edge.
    pub top: f32,
    /// Width of the box.
    pub width: f32,
    /// Height of the box.
    pub height: f32,
}

/// The resource name of the text layer's font on every page.
const FONT_NAME: &str = "PrintcloudOcrText";

/// Where the baseline sits in a word's box, from its top: the rest is room for descenders.
const BASELINE_IN_BOX: f32 = 0.8;

/// Helvetica's advance widths (thousandths of the font size) of the printable ASCII
/// characters, from space (0x20) to tilde (0x7E), as in its Adobe font metrics: with them
/// the horizontal scaling stretches each word to exactly its box's width.
const HELVETICA_ASCII_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0 to ?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @ to O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P to _
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // ` to o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p to ~
];

/// The width taken for a WinAnsi character outside ASCII (mostly accented letters, whose
/// widths are close to it).
const OTHER_GLYPH_WIDTH: u16 = 556;

/// The largest side of an A4 page in points; an image is scaled to fit an A4 page turned
/// its way, since an image carries no page size of its own.
const A4_LONG_SIDE: f32 = 841.89;
/// The short side of an A4 page in points.
const A4_SHORT_SIDE: f32 = 595.28;

/// The words of one page's blocks that carry a box, in Textract's order.
pub fn placed_words(blocks: &[Block]) -> Vec<PlacedWord> {
    let words = blocks.iter().filter(|block| block.block_type() == Some(&BlockType::Word));
    words
        .filter_map(|block| {
            let text = block.text()?.trim();
            let bounds = block.geometry()?.bounding_box()?;
            let placed = PlacedWord {
                text: text.to_string(),
                left: bounds.left(),
                top: bounds.top(),
                width: bounds.width(),
                height: bounds.height(),
            };
            (!text.is_empty() && placed.width > 0.0 && placed.height > 0.0).then_some(placed)
        })
        .collect()
}

/// `document` (in `format`) with an invisible text layer of `pages[n]` on its page `n`.
pub fn searchable_pdf(document: &[u8], format: ScanFormat, pages: &[Vec<PlacedWord>]) -> Result<Vec<u8>, EngineError> {
    let mut pdf = match format {
        ScanFormat::Pdf => {
            Document::load_mem(document).map_err(|e| unreadable(format!("the PDF cannot be read: {e}")))?
        }
        ScanFormat::Png | ScanFormat::Jpeg | ScanFormat::Tiff => image_page(document, format)?,
    };
    let font = pdf.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let page_ids: Vec<ObjectId> = pdf.get_pages().into_values().collect();
    for (page_id, words) in page_ids.into_iter().zip(pages) {
        add_text_layer(&mut pdf, page_id, font, words).map_err(|e| failed(format!("the text layer: {e}")))?;
    }
    let mut bytes = Vec::new();
    pdf.save_to(&mut bytes).map_err(|e| failed(format!("the PDF could not be written: {e}")))?;
    Ok(bytes)
}

/// Adds the invisible words to one page, after its own content, which is wrapped in a
/// saved graphics state so whatever it leaves set cannot move the words.
fn add_text_layer(pdf: &mut Document, page_id: ObjectId, font: ObjectId, words: &[PlacedWord]) -> lopdf::Result<()> {
    let geometry = PageGeometry::of(pdf, page_id)?;
    let layer = text_layer(&geometry, words).encode()?;
    add_font(pdf, page_id, font)?;
    let save = pdf.add_object(Stream::new(Dictionary::new(), b"q\n".to_vec()));
    let mut contents = vec![Object::Reference(save)];
    contents.extend(pdf.get_page_contents(page_id).into_iter().map(Object::Reference));
    let mut restore_and_layer = b"Q\n".to_vec();
    restore_and_layer.extend(layer);
    let mut stream = Stream::new(Dictionary::new(), restore_and_layer);
    stream.compress()?;
    contents.push(Object::Reference(pdf.add_object(stream)));
    pdf.get_dictionary_mut(page_id)?.set("Contents", contents);
    Ok(())
}

/// Names `font` in the page's font resources (made, or copied from the page tree, when
/// the page has none).
fn add_font(pdf: &mut Document, page_id: ObjectId, font: ObjectId) -> lopdf::Result<()> {
    let resources = pdf.get_or_create_resources(page_id)?.as_dict_mut()?;
    let fonts_id = match resources.get(b"Font") {
        Ok(Object::Reference(id)) => *id,
        Ok(Object::Dictionary(_)) => {
            resources.get_mut(b"Font")?.as_dict_mut()?.set(FONT_NAME, Object::Reference(font));
            return Ok(());
        }
        _ => {
            resources.set("Font", dictionary! { FONT_NAME => Object::Reference(font) });
            return Ok(());
        }
    };
    pdf.get_dictionary_mut(fonts_id)?.set(FONT_NAME, Object::Reference(font));
    Ok(())
}

/// The text operators that put `words` on a page, invisible.
fn text_layer(geometry: &PageGeometry, words: &[PlacedWord]) -> Content {
    let mut operations = vec![Operation::new("BT", vec![]), Operation::new("Tr", vec![3.into()])];
    for word in words {
        let size = word.height * geometry.shown_height;
        let encoded = win_ansi(&word.text);
        let natural_width = size * helvetica_width(&encoded);
        if size <= 0.0 || natural_width <= 0.0 {
            continue;
        }
        let stretch = 100.0 * word.width * geometry.shown_width / natural_width;
        let (x, y) = geometry.user_space_point(word.left, word.top + BASELINE_IN_BOX * word.height);
        let [a, b, c, d] = geometry.text_direction();
        operations.push(Operation::new("Tf", vec![FONT_NAME.into(), size.into()]));
        operations.push(Operation::new("Tz", vec![stretch.into()]));
        operations.push(Operation::new("Tm", vec![a.into(), b.into(), c.into(), d.into(), x.into(), y.into()]));
        operations.push(Operation::new("Tj", vec![Object::String(encoded, StringFormat::Literal)]));
    }
    operations.push(Operation::new("ET", vec![]));
    Content { operations }
}

/// How a page's shown area (its crop box, turned by its `/Rotate`) maps onto the user space
/// its content is drawn in.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PageGeometry {
    /// The crop box: left, bottom, right, top.
    bounds: [f32; 4],
    /// Clockwise quarter turns the page is shown with (0–3).
    quarter_turns: u8,
    /// Width of the page as shown, in points.
    shown_width: f32,
    /// Height of the page as shown, in points.
    shown_height: f32,
}

impl PageGeometry {
    /// The geometry of `page_id`, with the boxes and rotation it inherits from the tree.
    fn of(pdf: &Document, page_id: ObjectId) -> lopdf::Result<PageGeometry> {
        let media = inherited(pdf, page_id, b"MediaBox").and_then(|o| rectangle(pdf, o));
        let crop = inherited(pdf, page_id, b"CropBox").and_then(|o| rectangle(pdf, o));
        let bounds = crop.or(media).unwrap_or([0.0, 0.0, A4_SHORT_SIDE, A4_LONG_SIDE]);
        let rotate = inherited(pdf, page_id, b"Rotate").and_then(|o| o.as_i64().ok()).unwrap_or(0);
        Ok(PageGeometry::new(bounds, rotate))
    }

    /// The geometry of a page with crop box `bounds` shown turned by `rotate` degrees.
    fn new(bounds: [f32; 4], rotate: i64) -> PageGeometry {
        let quarter_turns = (rotate.rem_euclid(360) / 90) as u8;
        let (width, height) = (bounds[2] - bounds[0], bounds[3] - bounds[1]);
        let (shown_width, shown_height) = if quarter_turns % 2 == 1 { (height, width) } else { (width, height) };
        PageGeometry { bounds, quarter_turns, shown_width, shown_height }
    }

    /// The user-space point of the shown page's point (`across`, `down`), in fractions.
    fn user_space_point(self, across: f32, down: f32) -> (f32, f32) {
        let [left, bottom, right, top] = self.bounds;
        let (width, height) = (right - left, top - bottom);
        match self.quarter_turns {
            1 => (left + down * width, bottom + across * height),
            2 => (right - across * width, bottom + down * height),
            3 => (right - down * width, top - across * height),
            _ => (left + across * width, top - down * height),
        }
    }

    /// The text matrix's turn, so the words run the way the page is read when shown.
    fn text_direction(self) -> [f32; 4] {
        match self.quarter_turns {
            1 => [0.0, 1.0, -1.0, 0.0],
            2 => [-1.0, 0.0, 0.0, -1.0],
            3 => [0.0, -1.0, 1.0, 0.0],
            _ => [1.0, 0.0, 0.0, 1.0],
        }
    }
}

/// The page's own value of `key`, or the nearest one up its page tree.
fn inherited<'a>(pdf: &'a Document, page_id: ObjectId, key: &[u8]) -> Option<&'a Object> {
    let mut node = pdf.get_dictionary(page_id).ok()?;
    for _ in 0..64 {
        if let Ok(value) = node.get(key) {
            return Some(resolve(pdf, value));
        }
        node = pdf.get_dictionary(node.get(b"Parent").ok()?.as_reference().ok()?).ok()?;
    }
    None
}

/// `object`, or what it refers to.
fn resolve<'a>(pdf: &'a Document, object: &'a Object) -> &'a Object {
    match object {
        Object::Reference(id) => pdf.get_object(*id).unwrap_or(object),
        _ => object,
    }
}

/// A rectangle `[x1 y1 x2 y2]`, normalised to left, bottom, right, top.
fn rectangle(pdf: &Document, object: &Object) -> Option<[f32; 4]> {
    let numbers: Vec<f32> = object.as_array().ok()?.iter().filter_map(|n| resolve(pdf, n).as_float().ok()).collect();
    let [x1, y1, x2, y2] = numbers[..] else { return None };
    let rectangle = [x1.min(x2), y1.min(y2), x1.max(x2), y1.max(y2)];
    (rectangle[2] > rectangle[0] && rectangle[3] > rectangle[1]).then_some(rectangle)
}

/// A one-page PDF showing the image, scaled to fit an A4 page turned its way.
fn image_page(document: &[u8], format: ScanFormat) -> Result<Document, EngineError> {
    let (image, width, height) = image_xobject(document, format)?;
    let scale = if width >= height {
        (A4_LONG_SIDE / width as f32).min(A4_SHORT_SIDE / height as f32)
    } else {
        (A4_SHORT_SIDE / width as f32).min(A4_LONG_SIDE / height as f32)
    };
    let (page_width, page_height) = (width as f32 * scale, height as f32 * scale);
    let mut pdf = Document::with_version("1.5");
    let image = pdf.add_object(image);
    let draw = Content {
        operations: vec![
            Operation::new("q", vec![]),
            Operation::new("cm", vec![page_width.into(), 0.into(), 0.into(), page_height.into(), 0.into(), 0.into()]),
            Operation::new("Do", vec!["Scan".into()]),
            Operation::new("Q", vec![]),
        ],
    };
    let contents = pdf.add_object(Stream::new(Dictionary::new(), draw.encode().map_err(|e| failed(e.to_string()))?));
    let pages_id = pdf.new_object_id();
    let page = pdf.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), page_width.into(), page_height.into()],
        "Resources" => dictionary! { "XObject" => dictionary! { "Scan" => image } },
        "Contents" => contents,
    });
    pdf.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page.into()],
            "Count" => 1,
        }),
    );
    let catalog = pdf.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    pdf.trailer.set("Root", catalog);
    Ok(pdf)
}

/// The image as a PDF image XObject, with its width and height in pixels. A grey or RGB
/// JPEG is kept as it is (DCTDecode); anything else is decoded and stored deflated.
fn image_xobject(document: &[u8], format: ScanFormat) -> Result<(Stream, u32, u32), EngineError> {
    if format == ScanFormat::Jpeg
        && let Some(frame) = jpeg_frame(document)
        && frame.precision == 8
        && matches!(frame.components, 1 | 3)
    {
        let colours = if frame.components == 1 { "DeviceGray" } else { "DeviceRGB" };
        let dictionary = image_dictionary(frame.width, frame.height, colours, "DCTDecode");
        return Ok((Stream::new(dictionary, document.to_vec()), frame.width, frame.height));
    }
    let decoded = decode_image(document, format)?;
    let (width, height) = (decoded.width(), decoded.height());
    let (colours, pixels) = if decoded.color().has_color() {
        ("DeviceRGB", decoded.into_rgb8().into_raw())
    } else {
        ("DeviceGray", decoded.into_luma8().into_raw())
    };
    let mut stream = Stream::new(image_dictionary(width, height, colours, ""), pixels);
    stream.compress().map_err(|e| failed(format!("the image could not be compressed: {e}")))?;
    Ok((stream, width, height))
}

/// The dictionary of an 8-bit image XObject; `filter` is left out when empty.
fn image_dictionary(width: u32, height: u32, colours: &str, filter: &str) -> Dictionary {
    let mut dictionary = dictionary! {
        "Type" => "XObject",
        "Subtype" => "Image",
        "Width" => width as i64,
        "Height" => height as i64,
        "ColorSpace" => colours,
        "BitsPerComponent" => 8,
    };
    if !filter.is_empty() {
        dictionary.set("Filter", filter);
    }
    dictionary
}

/// The image's pixels (transparency is dropped: a scan has none that matters).
fn decode_image(document: &[u8], format: ScanFormat) -> Result<image::DynamicImage, EngineError> {
    let kind = match format {
        ScanFormat::Png => image::ImageFormat::Png,
        ScanFormat::Jpeg => image::ImageFormat::Jpeg,
        _ => image::ImageFormat::Tiff,
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(document), kind);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    reader.limits(limits);
    reader.decode().map_err(|e| unreadable(format!("the image cannot be read: {e}")))
}

/// The longest image side decoded for the searchable PDF, in pixels (an A0 sheet at 300
/// dpi is about 14,000).
const MAX_IMAGE_SIDE: u32 = 20_000;

/// What a JPEG's frame header says.
#[derive(Clone, Copy, Debug, PartialEq)]
struct JpegFrame {
    precision: u8,
    width: u32,
    height: u32,
    components: u8,
}

/// The frame header (SOFn) of a JPEG, found by walking its marker segments.
fn jpeg_frame(jpeg: &[u8]) -> Option<JpegFrame> {
    let mut at = 2;
    while at + 4 <= jpeg.len() {
        if jpeg[at] != 0xFF {
            return None;
        }
        let marker = jpeg[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        let length = u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]) as usize;
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            let header = jpeg.get(at + 4..at + 10)?;
            return Some(JpegFrame {
                precision: header[0],
                height: u16::from_be_bytes([header[1], header[2]]) as u32,
                width: u16::from_be_bytes([header[3], header[4]]) as u32,
                components: header[5],
            });
        }
        at += 2 + length;
    }
    None
}

/// The advance of WinAnsi-encoded `text` in Helvetica, per unit of font size.
fn helvetica_width(text: &[u8]) -> f32 {
    let thousandths: u32 = text
        .iter()
        .map(|&byte| match byte {
            0x20..=0x7E => HELVETICA_ASCII_WIDTHS[(byte - 0x20) as usize],
            _ => OTHER_GLYPH_WIDTH,
        } as u32)
        .sum();
    thousandths as f32 / 1000.0
}

/// `text` in the WinAnsi encoding of the standard fonts; a character it lacks becomes `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' | '\u{A0}'..='\u{FF}' => c as u8,
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            'š' => 0x9A,
            'œ' => 0x9C,
            'ž' => 0x9E,
            'Ÿ' => 0x9F,
            'Š' => 0x8A,
            'Œ' => 0x8C,
            'Ž' => 0x8E,
            _ => b'?',
        })
        .collect()
}

/// The answer when the scan itself cannot be read.
fn unreadable(detail: String) -> EngineError {
    EngineError::new(codes::UNREADABLE_DOCUMENT, detail)
}

/// The answer when the PDF cannot be made.
fn failed(detail: String) -> EngineError {
    EngineError::new(codes::OCR_FAILED, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_points_map_onto_user_space_for_every_rotation() {
        let upright = PageGeometry::new([0.0, 0.0, 600.0, 800.0], 0);
        assert_eq!((upright.shown_width, upright.shown_height), (600.0, 800.0));
        assert_eq!(upright.user_space_point(0.0, 0.0), (0.0, 800.0), "top-left is the top of user space");
        assert_eq!(upright.user_space_point(0.5, 0.25), (300.0, 600.0));
        let quarter = PageGeometry::new([0.0, 0.0, 600.0, 800.0], 90);
        assert_eq!((quarter.shown_width, quarter.shown_height), (800.0, 600.0));
        assert_eq!(quarter.user_space_point(0.0, 0.0), (0.0, 0.0));
        assert_eq!(quarter.user_space_point(1.0, 0.0), (0.0, 800.0), "across the shown page runs up user space");
        let half = PageGeometry::new([10.0, 20.0, 610.0, 820.0], 180);
        assert_eq!(half.user_space_point(0.0, 0.0), (610.0, 20.0));
        let three = PageGeometry::new([0.0, 0.0, 600.0, 800.0], -90);
        assert_eq!(three.quarter_turns, 3);
        assert_eq!(three.user_space_point(0.0, 0.0), (600.0, 800.0));
        assert_eq!(three.user_space_point(0.0, 1.0), (0.0, 800.0));
    }

    #[test]
    fn words_are_measured_with_helvetica_metrics() {
        assert_eq!(helvetica_width(b" "), 0.278);
        assert_eq!(helvetica_width(b"Wim"), (944.0 + 222.0 + 833.0) / 1000.0);
        assert_eq!(helvetica_width(b"~"), 0.584);
        assert_eq!(helvetica_width(&[0xE9]), 0.556);
    }

    #[test]
    fn text_is_encoded_for_the_standard_font() {
        assert_eq!(win_ansi("Hé €5 “x”"), vec![b'H', 0xE9, b' ', 0x80, b'5', b' ', 0x93, b'x', 0x94]);
        assert_eq!(win_ansi("日本"), b"??".to_vec());
    }

    #[test]
    fn a_jpeg_frame_header_is_found_past_other_segments() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB];
        jpeg.extend([0xFF, 0xC0, 0x00, 0x0B, 8, 0x01, 0x2C, 0x00, 0xC8, 3]);
        let frame = jpeg_frame(&jpeg).unwrap();
        assert_eq!(frame, JpegFrame { precision: 8, width: 200, height: 300, components: 3 });
        assert_eq!(jpeg_frame(&[0xFF, 0xD8, 0x00]), None);
    }
}
