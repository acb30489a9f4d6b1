//! What each planned step does: OCR (R-SC-8, R-SC-9), translation (R-SC-10), redaction
//! (R-SC-11, R-SC-12), the footer (R-SC-13), and the destinations e-mail (R-SC-14),
//! download (R-SC-15) and cloud print queue (R-SC-16). Actions that use a solution quota
//! check it against the characters they will process before working, and debit what they
//! processed exactly once per step (D-SOLUTION-UNIT) before their documents are stored.

use super::docx;
use super::formats::DocFormat;
use super::quotas::{self, SolutionService};
use super::redaction::{self, MARK, RedactionRules, Redactor};
use super::runs::{self, Run, RunDocument};
use super::steps::{OcrFormat, StepItem};
use crate::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::mail::Letter;
use crate::ports::{Attachment, EngineError, StoreError};
use crate::print::options::PrintOptions;
use crate::print::submit::{self, Made, NewJob};
use bytes::Bytes;

/// Largest total of documents one e-mail carries (R-SCE-11).
pub const MAX_MAIL_BYTES: u64 = runs::MAX_BYTES_MAILED;

/// What a step did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The documents it made (or, for a download, links to).
    pub outputs: Vec<RunDocument>,
    /// Characters processed and debited.
    pub characters: Option<u64>,
    /// Addresses mailed or print jobs made.
    pub delivered: Vec<String>,
}

/// Why a step failed, and whether trying again may help.
#[derive(Debug)]
pub struct Failure {
    /// Stable code.
    pub code: String,
    /// What happened.
    pub detail: String,
    /// Whether the cause may pass (a backend hiccup), so the step is tried again.
    pub retryable: bool,
}

impl From<EngineError> for Failure {
    fn from(err: EngineError) -> Self {
        Failure { code: err.code.to_string(), detail: err.detail, retryable: err.retryable }
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        tracing::warn!(error = %err, "storage failed during a solution step");
        Failure {
            code: "storage_unavailable".into(),
            detail: "Storage did not answer; trying again.".into(),
            retryable: true,
        }
    }
}

impl From<Problem> for Failure {
    fn from(problem: Problem) -> Self {
        // A quota busy with concurrent debits answers `conflict`: worth another try.
        let retryable = problem.status >= 500 || problem.code == "conflict";
        Failure { retryable, code: problem.code, detail: problem.detail }
    }
}

fn failure(code: &str, detail: impl Into<String>) -> Failure {
    Failure { code: code.into(), detail: detail.into(), retryable: false }
}

/// Does planned step `index` of `run`.
pub async fn perform(ctx: &Ctx, run: &Run, index: usize) -> Result<Outcome, Failure> {
    let step = &run.steps[index];
    let inputs: Vec<RunDocument> = match step.reads {
        None => run.input.clone().into_iter().collect(),
        Some(before) => run.steps[before].outputs.clone(),
    };
    let work = Work { ctx, run, index };
    match &step.action {
        StepItem::Ocr { format, .. } => work.ocr(&inputs, format.unwrap_or(OcrFormat::Docx)).await,
        StepItem::Translate { source, targets, .. } => {
            work.translate(&inputs, source.as_deref(), targets.as_deref().unwrap_or_default()).await
        }
        StepItem::Redact { language, pii, custom, .. } => {
            let rules =
                RedactionRules { pii: pii.clone().unwrap_or_default(), custom: custom.clone().unwrap_or_default() };
            work.redact(&inputs, language.as_deref().unwrap_or("en"), &rules).await
        }
        StepItem::Footer { text, .. } => work.footer(&inputs, text.as_deref().unwrap_or_default()).await,
        StepItem::Email { recipients, send_copy, .. } => {
            work.email(&inputs, recipients.as_deref().unwrap_or_default(), *send_copy).await
        }
        StepItem::Download => Ok(Outcome { outputs: inputs, ..Outcome::default() }),
        StepItem::PrintQueue => work.print(&inputs).await,
    }
}

/// One step at work.
struct Work<'a> {
    ctx: &'a Ctx,
    run: &'a Run,
    index: usize,
}

/// The text of a document an action reads: DOCX paragraphs, TXT lines, or OCR's text of a
/// searchable PDF.
enum Text {
    Docx(Bytes, Vec<String>),
    Plain(Vec<String>),
}

impl Text {
    fn paragraphs(&self) -> &[String] {
        match self {
            Text::Docx(_, paragraphs) | Text::Plain(paragraphs) => paragraphs,
        }
    }

    fn characters(&self) -> u64 {
        self.paragraphs().iter().map(|p| p.chars().count() as u64).sum()
    }
}

impl Work<'_> {
    /// The quota key of this step: a retry never debits twice.
    fn once_key(&self) -> String {
        format!("{}#{}", self.run.id, self.index)
    }

    async fn read(&self, document: &RunDocument) -> Result<Bytes, Failure> {
        match self.ctx.blobs.get(&document.key).await? {
            Some((_, bytes)) => Ok(bytes),
            None => Err(failure("document_missing", format!("{} is no longer stored.", document.name))),
        }
    }

    async fn text_of(&self, document: &RunDocument) -> Result<Text, Failure> {
        let unreadable = |err: docx::DocxError| failure("unreadable_document", format!("{}: {err}", document.name));
        match (document.format, &document.text_key) {
            (DocFormat::Docx, _) => {
                let bytes = self.read(document).await?;
                let paragraphs = docx::paragraphs(&bytes).map_err(unreadable)?;
                Ok(Text::Docx(bytes, paragraphs))
            }
            (DocFormat::Txt, _) => Ok(Text::Plain(lines(&self.read(document).await?))),
            (DocFormat::Pdf, Some(text_key)) => {
                let sidecar = RunDocument { key: text_key.clone(), ..document.clone() };
                Ok(Text::Plain(lines(&self.read(&sidecar).await?)))
            }
            _ => Err(failure("requires_docx", format!("{} has no text to work on; add OCR first.", document.name))),
        }
    }

    /// Stores a document this step made.
    async fn store(&self, name: String, format: DocFormat, bytes: Vec<u8>) -> Result<RunDocument, Failure> {
        let key = runs::document_key(&self.run.org_id, &self.run.id, &format!("{}-{}", self.index, name));
        let size = bytes.len() as u64;
        self.ctx.blobs.put(&key, Bytes::from(bytes), format.content_type()).await?;
        Ok(RunDocument { key, name, format, size, text_key: None })
    }

    fn languages(&self) -> Vec<String> {
        let mut languages: Vec<String> = self
            .run
            .steps
            .iter()
            .filter_map(|step| match &step.action {
                StepItem::Redact { language, .. } => language.clone(),
                StepItem::Translate { source, .. } => source.clone(),
                _ => None,
            })
            .map(|code| code.split('-').next().unwrap_or_default().to_string())
            .collect();
        languages.sort();
        languages.dedup();
        languages
    }

    async fn ocr(&self, inputs: &[RunDocument], format: OcrFormat) -> Result<Outcome, Failure> {
        let languages = self.languages();
        let mut recognised = Vec::new();
        for document in inputs {
            let scan = document.format.scan().ok_or_else(|| {
                failure("unsupported_document", format!("{}: OCR reads images and PDFs (R-SCE-9).", document.name))
            })?;
            let bytes = self.read(document).await?;
            let result = self.ctx.ocr.recognise(&bytes, scan, &languages, format == OcrFormat::Pdf).await?;
            recognised.push((document, result));
        }
        let characters: u64 = recognised.iter().flat_map(|(_, r)| &r.pages).map(|p| p.chars().count() as u64).sum();
        quotas::debit(
            self.ctx,
            &self.run.org_id,
            &self.run.user_id,
            SolutionService::Ocr,
            characters,
            &self.once_key(),
        )
        .await?;
        let mut outputs = Vec::new();
        for (document, result) in recognised {
            let text = result.pages.join("\u{c}");
            let stem = stem(&document.name);
            let output = match format {
                OcrFormat::Txt => self.store(format!("{stem}.txt"), DocFormat::Txt, text.into_bytes()).await?,
                OcrFormat::Docx => self.store(format!("{stem}.docx"), DocFormat::Docx, docx::from_text(&text)).await?,
                OcrFormat::Pdf => {
                    let pdf = result.pdf.ok_or_else(|| failure("ocr_failed", "OCR made no PDF."))?;
                    let sidecar = self.store(format!("{stem}.ocr.txt"), DocFormat::Txt, text.into_bytes()).await?;
                    let mut output = self.store(format!("{stem}.pdf"), DocFormat::Pdf, pdf).await?;
                    output.text_key = Some(sidecar.key);
                    output
                }
            };
            outputs.push(output);
        }
        Ok(Outcome { outputs, characters: Some(characters), delivered: Vec::new() })
    }

    async fn translate(
        &self,
        inputs: &[RunDocument],
        source: Option<&str>,
        targets: &[String],
    ) -> Result<Outcome, Failure> {
        let mut texts = Vec::new();
        for document in inputs {
            texts.push((document, self.text_of(document).await?));
        }
        let characters = texts.iter().map(|(_, text)| text.characters()).sum::<u64>() * targets.len() as u64;
        let (org, user) = (&self.run.org_id, &self.run.user_id);
        quotas::check(self.ctx, org, user, SolutionService::Translate, characters).await?;
        let mut made = Vec::new();
        for (document, text) in &texts {
            for target in targets {
                let translation = self.ctx.translator.translate(text.paragraphs(), source, target).await?;
                made.push(translated(document, text, target, translation.texts)?);
            }
        }
        quotas::debit(self.ctx, org, user, SolutionService::Translate, characters, &self.once_key()).await?;
        let mut outputs = Vec::new();
        for (name, format, bytes) in made {
            outputs.push(self.store(name, format, bytes).await?);
        }
        Ok(Outcome { outputs, characters: Some(characters), delivered: Vec::new() })
    }

    async fn redact(&self, inputs: &[RunDocument], language: &str, rules: &RedactionRules) -> Result<Outcome, Failure> {
        let redactor = Redactor::new(rules)?;
        let mut texts = Vec::new();
        for document in inputs {
            texts.push((document, self.text_of(document).await?));
        }
        let characters = texts.iter().map(|(_, text)| text.characters()).sum::<u64>();
        let (org, user) = (&self.run.org_id, &self.run.user_id);
        quotas::check(self.ctx, org, user, SolutionService::Redact, characters).await?;
        let mut made = Vec::new();
        for (document, text) in &texts {
            let spans = self.spans(&redactor, text.paragraphs(), language).await?;
            made.push(redacted(document, text, &spans)?);
        }
        quotas::debit(self.ctx, org, user, SolutionService::Redact, characters, &self.once_key()).await?;
        let mut outputs = Vec::new();
        for (name, format, bytes) in made {
            outputs.push(self.store(name, format, bytes).await?);
        }
        Ok(Outcome { outputs, characters: Some(characters), delivered: Vec::new() })
    }

    /// What to cut in each paragraph: the PII the detector finds and the custom texts, found
    /// in the whole text at once (so the detector is asked once per document) and split
    /// back onto the paragraphs.
    async fn spans(
        &self,
        redactor: &Redactor,
        paragraphs: &[String],
        language: &str,
    ) -> Result<Vec<Vec<(usize, usize)>>, Failure> {
        let whole = paragraphs.join("\n");
        let mut spans = redactor.custom_spans(&whole);
        if !redactor.pii().is_empty() {
            let found = self.ctx.pii.find(&whole, language, redactor.pii()).await?;
            spans.extend(found.into_iter().map(|found| (found.start, found.end)));
        }
        Ok(per_paragraph(paragraphs, &redaction::merge(spans)))
    }

    async fn footer(&self, inputs: &[RunDocument], text: &str) -> Result<Outcome, Failure> {
        let mut outputs = Vec::new();
        for document in inputs {
            if document.format != DocFormat::Docx {
                return Err(failure("requires_docx", format!("{}: the footer needs DOCX (R-SC-13).", document.name)));
            }
            let bytes = self.read(document).await?;
            let with_footer = docx::with_footer(&bytes, text)
                .map_err(|err| failure("unreadable_document", format!("{}: {err}", document.name)))?;
            outputs.push(self.store(document.name.clone(), DocFormat::Docx, with_footer).await?);
        }
        Ok(Outcome { outputs, ..Outcome::default() })
    }

    async fn email(&self, inputs: &[RunDocument], recipients: &[String], send_copy: bool) -> Result<Outcome, Failure> {
        let mut to: Vec<String> = recipients.iter().map(|r| r.trim().to_lowercase()).collect();
        let org = store::get_org(self.ctx, &self.run.org_id).await?;
        let org_name = org.map(|o| o.name).unwrap_or_default();
        if send_copy {
            let user = store::get_user(self.ctx, &self.run.org_id, &self.run.user_id).await?;
            let user = user.ok_or_else(|| failure("user_gone", "The person who ran the solution no longer exists."))?;
            to.push(user.user.email.to_lowercase());
        }
        to.sort();
        to.dedup();
        if to.is_empty() {
            return Err(failure("recipients_required", "Nobody to mail: give recipients or ask for a copy (R-SC-14)."));
        }
        let total: u64 = inputs.iter().map(|d| d.size).sum();
        if total > MAX_MAIL_BYTES {
            return Err(failure(
                "attachment_too_large",
                "The documents exceed 25 MB, the most one e-mail carries (R-SCE-11).",
            ));
        }
        let mut letter = Letter::new(&org_name, format!("{}: {}", self.run.solution_name, self.run.file_name))
            .text("Hello,")
            .text(format!(
                "The solution \"{}\" processed your document. The result is attached:",
                self.run.solution_name
            ))
            .list(inputs.iter().map(|d| d.name.clone()).collect());
        for document in inputs {
            let bytes = self.read(document).await?;
            letter = letter.attach(Attachment {
                filename: document.name.clone(),
                content_type: document.format.content_type().to_string(),
                bytes: bytes.to_vec(),
            });
        }
        self.ctx.mailer.send(&letter.to_mail(&self.ctx.config.mail_from, to.clone())).await?;
        Ok(Outcome { outputs: inputs.to_vec(), characters: None, delivered: to })
    }

    async fn print(&self, inputs: &[RunDocument]) -> Result<Outcome, Failure> {
        let mut jobs = Vec::new();
        for (n, document) in inputs.iter().enumerate() {
            let bytes = self.read(document).await?;
            let job_id = format!("{}-{}-{n}", self.run.id, self.index);
            let job = NewJob {
                name: document.name.clone(),
                description: Some(format!("Solution Center: {}", self.run.solution_name)),
                source: crate::print::jobs::JobSource::SolutionCenter,
                options: PrintOptions::default(),
                owner_id: None,
                document: None,
            };
            let made = Made { job_id: job_id.clone(), expires_by: None };
            match submit::create_as(self.ctx, &self.run.org_id, &self.run.user_id, job, Some(bytes), made).await {
                Ok(_) => {}
                Err(problem) if problem.code == "job_exists" => {}
                Err(problem) => return Err(problem.into()),
            }
            jobs.push(job_id);
        }
        Ok(Outcome { outputs: inputs.to_vec(), characters: None, delivered: jobs })
    }
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes).split('\n').map(|line| line.trim_end_matches('\r').to_string()).collect()
}

fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}

/// The translated document: DOCX keeps its layout; text stays text; OCR's PDF text becomes DOCX.
fn translated(
    document: &RunDocument,
    text: &Text,
    target: &str,
    texts: Vec<String>,
) -> Result<(String, DocFormat, Vec<u8>), Failure> {
    let stem = stem(&document.name);
    match text {
        Text::Docx(bytes, _) => {
            let out =
                docx::replace_paragraphs(bytes, &texts).map_err(|e| failure("translation_failed", e.to_string()))?;
            Ok((format!("{stem}-{target}.docx"), DocFormat::Docx, out))
        }
        Text::Plain(_) if document.format == DocFormat::Txt => {
            Ok((format!("{stem}-{target}.txt"), DocFormat::Txt, texts.join("\n").into_bytes()))
        }
        Text::Plain(_) => Ok((format!("{stem}-{target}.docx"), DocFormat::Docx, docx::from_text(&texts.join("\n")))),
    }
}

/// The redacted document, with the text really removed (R-SC-12).
fn redacted(
    document: &RunDocument,
    text: &Text,
    spans: &[Vec<(usize, usize)>],
) -> Result<(String, DocFormat, Vec<u8>), Failure> {
    match text {
        Text::Docx(bytes, _) => {
            let out =
                docx::remove_spans(bytes, spans, MARK).map_err(|e| failure("unreadable_document", e.to_string()))?;
            Ok((document.name.clone(), DocFormat::Docx, out))
        }
        Text::Plain(paragraphs) => {
            let cut: Vec<String> =
                paragraphs.iter().zip(spans).map(|(paragraph, spans)| redaction::cut(paragraph, spans)).collect();
            let name = format!("{}.txt", stem(&document.name).trim_end_matches(".ocr"));
            Ok((name, DocFormat::Txt, cut.join("\n").into_bytes()))
        }
    }
}

/// Spans over paragraphs joined by `'\n'` (sorted, not overlapping), split back onto each
/// paragraph: a span across a paragraph break is cut in each paragraph it touches.
pub fn per_paragraph(paragraphs: &[String], spans: &[(usize, usize)]) -> Vec<Vec<(usize, usize)>> {
    let mut out = Vec::with_capacity(paragraphs.len());
    let (mut start_of, mut first) = (0, 0);
    for paragraph in paragraphs {
        let end_of = start_of + paragraph.len();
        while first < spans.len() && spans[first].1 <= start_of {
            first += 1;
        }
        let mine = spans[first..]
            .iter()
            .take_while(|(start, _)| *start < end_of)
            .map(|&(start, end)| (start.max(start_of), end.min(end_of)))
            .filter(|(from, to)| from < to)
            .map(|(from, to)| (from - start_of, to - start_of))
            .collect();
        out.push(mine);
        start_of = end_of + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_of_the_joined_text_land_on_their_paragraphs() {
        let paragraphs: Vec<String> = ["ab cd", "", "efgh", "ij"].iter().map(|s| s.to_string()).collect();
        // "ab cd\n\nefgh\nij": "cd" = 3..5, "fg" = 8..10, "gh\ni" = 9..13
        assert_eq!(per_paragraph(&paragraphs, &[(3, 5), (8, 10)]), vec![vec![(3, 5)], vec![], vec![(1, 3)], vec![]]);
        assert_eq!(per_paragraph(&paragraphs, &[(9, 13)]), vec![vec![], vec![], vec![(2, 4)], vec![(0, 1)]]);
        assert_eq!(per_paragraph(&paragraphs, &[(0, 14)]), vec![vec![(0, 5)], vec![], vec![(0, 4)], vec![(0, 2)]]);
    }
}
