//! Building and reading the AWS event shapes the functions consume, so the embedded
//! runner produces exactly what S3, SQS and EventBridge deliver on AWS.

use crate::ports::BlobMeta;
use aws_lambda_events::event::s3::{S3Bucket, S3Entity, S3Event, S3EventRecord, S3Object};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Characters S3 leaves unescaped in event object keys (it form-encodes the rest, with
/// spaces as `+`).
const S3_EVENT_KEY: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'*').remove(b' ');

/// An `ObjectCreated:Put` event for `meta` in `bucket`, as S3 sends it to a queue.
pub fn s3_object_created(bucket: &str, configuration_id: &str, meta: &BlobMeta) -> S3Event {
    let mut object = S3Object::default();
    object.key = Some(utf8_percent_encode(&meta.key, S3_EVENT_KEY).to_string().replace(' ', "+"));
    object.size = Some(meta.size as i64);
    object.sequencer = Some(format!("{:016X}", meta.last_modified.timestamp_micros()));
    let mut s3_bucket = S3Bucket::default();
    s3_bucket.name = Some(bucket.to_string());
    s3_bucket.arn = Some(format!("arn:aws:s3:::{bucket}"));
    let mut entity = S3Entity::default();
    entity.schema_version = Some("1.0".into());
    entity.configuration_id = Some(configuration_id.to_string());
    entity.bucket = s3_bucket;
    entity.object = object;
    let mut record = S3EventRecord::default();
    record.event_version = Some("2.1".into());
    record.event_source = Some("aws:s3".into());
    record.aws_region = Some("local".into());
    record.event_time = meta.last_modified;
    record.event_name = Some("ObjectCreated:Put".into());
    record.s3 = entity;
    let mut event = S3Event::default();
    event.records = vec![record];
    event
}

/// The object key of an S3 event record, decoded (S3 form-encodes keys in events).
pub fn s3_event_key(record: &S3EventRecord) -> Option<String> {
    let raw = record.s3.object.key.as_deref()?.replace('+', " ");
    percent_decode_str(&raw).decode_utf8().ok().map(|k| k.into_owned())
}

/// The S3 records carried in the body of one SQS record (S3 event notifications to SQS).
/// S3's one-off `s3:TestEvent` carries none. S3-compatible stores that write an
/// `eventTime` without a time zone (read as UTC) or leave out the identity sections are
/// accepted too.
pub fn s3_records_in(
    message: &aws_lambda_events::event::sqs::SqsMessage,
) -> Result<Vec<S3EventRecord>, serde_json::Error> {
    let body = message.body.as_deref().unwrap_or_default();
    let mut value: serde_json::Value = serde_json::from_str(body)?;
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    for record in value.get_mut("Records").and_then(|r| r.as_array_mut()).into_iter().flatten() {
        complete_record(record);
    }
    Ok(serde_json::from_value::<S3Event>(value)?.records)
}

fn complete_record(record: &mut serde_json::Value) {
    let Some(fields) = record.as_object_mut() else { return };
    for section in ["userIdentity", "requestParameters", "responseElements"] {
        fields.entry(section).or_insert_with(|| serde_json::json!({}));
    }
    if let Some(time) = fields.get_mut("eventTime")
        && let Some(text) = time.as_str().filter(|t| !has_zone(t))
    {
        *time = serde_json::Value::String(format!("{text}Z"));
    }
}

fn has_zone(timestamp: &str) -> bool {
    let time_part = timestamp.split_once('T').map_or("", |(_, t)| t);
    time_part.ends_with('Z') || time_part.contains('+') || time_part.contains('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn object_keys_survive_the_event_encoding() {
        let meta = BlobMeta { key: "mail/a b+c/ü.eml".into(), size: 3, content_type: None, last_modified: Utc::now() };
        let event = s3_object_created("bucket", "ingest", &meta);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["Records"][0]["s3"]["object"]["key"], "mail/a+b%2Bc/%C3%BC.eml");
        let back: S3Event = serde_json::from_value(json).unwrap();
        assert_eq!(s3_event_key(&back.records[0]).as_deref(), Some("mail/a b+c/ü.eml"));
    }
}
