//! Documents sent inside a JSON body: base64, at most [`MAX_INLINE_BYTES`]; larger ones go
//! to a presigned upload URL instead. Print jobs and solution runs both take them.

use super::Problem;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;

/// Largest document sent inline.
pub const MAX_INLINE_BYTES: usize = 5 * 1024 * 1024;

/// The bytes of the base64 `encoded` document: 413 `document_too_large_for_inline` over
/// [`MAX_INLINE_BYTES`] (checked before decoding), 400 `invalid_field` naming `document`
/// when it is not base64 or empty.
pub fn decode(encoded: &str) -> Result<Bytes, Problem> {
    if encoded.len() > MAX_INLINE_BYTES.div_ceil(3) * 4 + 4 {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "document_too_large_for_inline",
            format!(
                "Inline documents are at most {MAX_INLINE_BYTES} bytes; leave `document` out and upload to the uploadUrl."
            ),
        ));
    }
    let invalid = |why: &str| Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("document: {why}"));
    let bytes = STANDARD.decode(encoded.trim()).map_err(|_| invalid("is not valid base64"))?;
    if bytes.is_empty() {
        return Err(invalid("is empty"));
    }
    Ok(Bytes::from(bytes))
}
