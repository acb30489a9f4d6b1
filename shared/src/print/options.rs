//! Print options of a job and a queue's default print settings (part-3 §2.32–2.33): layout
//! (copies, collate, duplex, N-up and its orientation) and paper and finishing (size,
//! source, type, output bin, staple, punch, fold, colour mode).
//!
//! A submitter may leave any option out; the queue's defaults fill it, then the service's
//! own defaults (one collated copy, printer-default duplex, 1-up, colour — a job is treated
//! as colour unless someone says mono, BR-PP-08).

use crate::http::Problem;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// Most copies of one job.
pub const MAX_COPIES: u32 = 999;
/// Longest free-text option (paper source, paper type, output bin).
pub const MAX_OPTION_TEXT: usize = 64;
/// Pages per side a job may ask for.
pub const N_UP_VALUES: [u32; 6] = [1, 2, 4, 6, 9, 16];
/// Paper sizes a job may ask for (besides `printerDefault`).
pub const PAPER_SIZES: [&str; 11] =
    ["A3", "A4", "A5", "A6", "B5", "Letter", "Legal", "Executive", "Statement", "Tabloid", "Folio"];

/// Two-sided printing ("Dubbelzijdig afdrukken").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Duplex {
    /// One-sided.
    Simplex,
    /// Two-sided, bound on the long edge.
    LongEdge,
    /// Two-sided, bound on the short edge.
    ShortEdge,
    /// Whatever the printer does by default ("Printerinstelling gebruiken").
    PrinterDefault,
}

impl Duplex {
    /// Whether the job is known to print on both sides of a sheet.
    pub fn two_sided(self) -> bool {
        matches!(self, Duplex::LongEdge | Duplex::ShortEdge)
    }
}

/// The order pages are placed on a side with N-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum NUpOrientation {
    /// Left to right, then down.
    Horizontal,
    /// Top to bottom, then across.
    Vertical,
}

/// Staple position ("Nieten").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Staple {
    /// No staple.
    Off,
    /// One staple top left.
    TopLeft,
    /// One staple top right.
    TopRight,
    /// Two staples on the left edge.
    DualLeft,
    /// Two staples on the top edge.
    DualTop,
    /// Whatever the printer does by default.
    PrinterDefault,
}

/// Hole punching ("Perforeren").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Punch {
    /// No holes.
    Off,
    /// Two holes.
    TwoHoles,
    /// Three holes.
    ThreeHoles,
    /// Four holes.
    FourHoles,
    /// Whatever the printer does by default.
    PrinterDefault,
}

/// Folding ("Vouwen").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Fold {
    /// No fold.
    Off,
    /// Folded in half.
    Half,
    /// Letter (tri-)fold.
    Letter,
    /// Z-fold.
    Z,
    /// Whatever the printer does by default.
    PrinterDefault,
}

/// Colour mode ("Verander de kwaliteit").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ColourMode {
    /// In colour (where the document has colour).
    Colour,
    /// Black and white.
    Mono,
}

/// Options as a submitter or a queue's defaults give them: every option may be left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrintOptions {
    /// Copies, 1–999.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copies: Option<u32>,
    /// Whether copies are collated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collate: Option<bool>,
    /// One- or two-sided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplex: Option<Duplex>,
    /// Pages per side: 1, 2, 4, 6, 9 or 16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_up: Option<u32>,
    /// Order of the pages on a side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_up_orientation: Option<NUpOrientation>,
    /// `printerDefault` or one of [`PAPER_SIZES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper_size: Option<String>,
    /// Tray name, e.g. `Tray 1` (at most 64 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper_source: Option<String>,
    /// Paper type, e.g. `Plain` (at most 64 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper_type: Option<String>,
    /// Output bin, e.g. `Standard Bin` (at most 64 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bin: Option<String>,
    /// Staple position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staple: Option<Staple>,
    /// Hole punching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub punch: Option<Punch>,
    /// Folding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<Fold>,
    /// Colour or mono.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour_mode: Option<ColourMode>,
}

/// The options a job prints with: every option decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveOptions {
    /// Copies.
    pub copies: u32,
    /// Whether copies are collated.
    pub collate: bool,
    /// One- or two-sided.
    pub duplex: Duplex,
    /// Pages per side.
    pub n_up: u32,
    /// Order of the pages on a side.
    pub n_up_orientation: NUpOrientation,
    /// Paper size or `printerDefault`.
    pub paper_size: String,
    /// Tray, when chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper_source: Option<String>,
    /// Paper type, when chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper_type: Option<String>,
    /// Output bin, when chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bin: Option<String>,
    /// Staple position.
    pub staple: Staple,
    /// Hole punching.
    pub punch: Punch,
    /// Folding.
    pub fold: Fold,
    /// Colour or mono.
    pub colour_mode: ColourMode,
}

fn invalid(field: &str, why: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

fn validate_text(field: &str, value: &Option<String>) -> Result<(), Problem> {
    match value {
        Some(text) if text.trim().is_empty() => Err(invalid(field, "must not be blank")),
        Some(text) if text.chars().count() > MAX_OPTION_TEXT => {
            Err(invalid(field, format!("at most {MAX_OPTION_TEXT} characters")))
        }
        _ => Ok(()),
    }
}

impl PrintOptions {
    /// Checks every given option; 400 `invalid_field` names the first wrong one, under
    /// `prefix` (e.g. `options`).
    pub fn validate(&self, prefix: &str) -> Result<(), Problem> {
        let field = |name: &str| format!("{prefix}.{name}");
        if let Some(copies) = self.copies
            && !(1..=MAX_COPIES).contains(&copies)
        {
            return Err(invalid(&field("copies"), format!("must be between 1 and {MAX_COPIES}")));
        }
        if let Some(n_up) = self.n_up
            && !N_UP_VALUES.contains(&n_up)
        {
            return Err(invalid(&field("nUp"), format!("must be one of {N_UP_VALUES:?}")));
        }
        if let Some(size) = &self.paper_size
            && size != "printerDefault"
            && !PAPER_SIZES.contains(&size.as_str())
        {
            return Err(invalid(&field("paperSize"), format!("must be printerDefault or one of {PAPER_SIZES:?}")));
        }
        validate_text(&field("paperSource"), &self.paper_source)?;
        validate_text(&field("paperType"), &self.paper_type)?;
        validate_text(&field("outputBin"), &self.output_bin)
    }

    /// These options, with the ones left out taken from `defaults`.
    pub fn or(&self, defaults: &PrintOptions) -> PrintOptions {
        PrintOptions {
            copies: self.copies.or(defaults.copies),
            collate: self.collate.or(defaults.collate),
            duplex: self.duplex.or(defaults.duplex),
            n_up: self.n_up.or(defaults.n_up),
            n_up_orientation: self.n_up_orientation.or(defaults.n_up_orientation),
            paper_size: self.paper_size.clone().or_else(|| defaults.paper_size.clone()),
            paper_source: self.paper_source.clone().or_else(|| defaults.paper_source.clone()),
            paper_type: self.paper_type.clone().or_else(|| defaults.paper_type.clone()),
            output_bin: self.output_bin.clone().or_else(|| defaults.output_bin.clone()),
            staple: self.staple.or(defaults.staple),
            punch: self.punch.or(defaults.punch),
            fold: self.fold.or(defaults.fold),
            colour_mode: self.colour_mode.or(defaults.colour_mode),
        }
    }

    /// Every option decided: the ones still left out take the service's defaults.
    pub fn effective(&self) -> EffectiveOptions {
        EffectiveOptions {
            copies: self.copies.unwrap_or(1),
            collate: self.collate.unwrap_or(true),
            duplex: self.duplex.unwrap_or(Duplex::PrinterDefault),
            n_up: self.n_up.unwrap_or(1),
            n_up_orientation: self.n_up_orientation.unwrap_or(NUpOrientation::Horizontal),
            paper_size: self.paper_size.clone().unwrap_or_else(|| "printerDefault".into()),
            paper_source: self.paper_source.clone(),
            paper_type: self.paper_type.clone(),
            output_bin: self.output_bin.clone(),
            staple: self.staple.unwrap_or(Staple::Off),
            punch: self.punch.unwrap_or(Punch::Off),
            fold: self.fold.unwrap_or(Fold::Off),
            colour_mode: self.colour_mode.unwrap_or(ColourMode::Colour),
        }
    }
}

impl EffectiveOptions {
    /// Printed sides of one copy of a `pages`-page document (after N-up; duplex does not
    /// change the number of sides, only of sheets).
    pub fn sides_per_copy(&self, pages: u32) -> u32 {
        pages.div_ceil(self.n_up.max(1))
    }

    /// Printed sides of the whole job.
    pub fn sides(&self, pages: u32) -> u64 {
        u64::from(self.sides_per_copy(pages)) * u64::from(self.copies)
    }

    /// Sheets of the whole job: two sides per sheet when printed two-sided.
    pub fn sheets(&self, pages: u32) -> u64 {
        let per_copy =
            if self.duplex.two_sided() { self.sides_per_copy(pages).div_ceil(2) } else { self.sides_per_copy(pages) };
        u64::from(per_copy) * u64::from(self.copies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn options(value: serde_json::Value) -> PrintOptions {
        serde_json::from_value(value).expect("well-formed options")
    }

    #[test]
    fn part3_2_33_queue_defaults_fill_what_the_submitter_left_out() {
        let submitted = options(json!({"copies": 2}));
        let defaults = options(json!({"copies": 5, "duplex": "longEdge", "colourMode": "mono"}));
        let effective = submitted.or(&defaults).effective();
        assert_eq!(
            (effective.copies, effective.duplex, effective.colour_mode),
            (2, Duplex::LongEdge, ColourMode::Mono)
        );
        assert_eq!(effective.n_up, 1);
    }

    #[test]
    fn br_pp_08_a_job_is_colour_unless_told_mono() {
        assert_eq!(PrintOptions::default().effective().colour_mode, ColourMode::Colour);
    }

    #[test]
    fn part3_2_32_invalid_options_name_the_field() {
        for (bad, field) in [
            (json!({"copies": 0}), "options.copies"),
            (json!({"copies": 1000}), "options.copies"),
            (json!({"nUp": 3}), "options.nUp"),
            (json!({"paperSize": "A0"}), "options.paperSize"),
            (json!({"paperSource": " "}), "options.paperSource"),
        ] {
            let err = options(bad).validate("options").unwrap_err();
            assert!(err.detail.starts_with(field), "{}", err.detail);
        }
        assert!(serde_json::from_value::<PrintOptions>(json!({"duplex": "sideways"})).is_err());
        assert!(options(json!({"copies": 3, "nUp": 4, "paperSize": "A4"})).validate("options").is_ok());
    }

    #[test]
    fn sides_and_sheets_follow_n_up_copies_and_duplex() {
        let effective = options(json!({"copies": 2, "nUp": 2, "duplex": "longEdge"})).effective();
        assert_eq!(effective.sides(5), 6);
        assert_eq!(effective.sheets(5), 4);
        let simplex = options(json!({"duplex": "simplex"})).effective();
        assert_eq!((simplex.sides(3), simplex.sheets(3)), (3, 3));
    }
}
