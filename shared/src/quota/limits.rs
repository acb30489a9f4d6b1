//! What a print quota allows in a month, and the arithmetic every quota decision shares:
//! which month a moment falls in (D-QUOTA-PERIOD), which limits a definition sets for that
//! month (BR-QT-02), whether a reservation fits (D-QUOTA-UNIT, D-QUOTA-COLOUR) and the
//! status a user's remainder shows (D-QUOTA-STATUS, BR-QT-10).
//!
//! Counts are printed sides (D-QUOTA-UNIT). "Consumed" is what is used plus what is
//! reserved by releases not yet settled, so a limit is never overshot.

use crate::http::Problem;
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Largest limit a definition may set, in sides a month: far beyond any printer fleet's
/// month, and small enough that sums never overflow.
pub const MAX_LIMIT: u64 = 1_000_000_000;

/// The total a quota allows in a month (BR-QT-03).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", tag = "kind", content = "sides")]
pub enum TotalLimit {
    /// Print without limit.
    Unlimited,
    /// Print up to this many sides.
    Limit(u64),
    /// Printing is disabled.
    Disabled,
}

/// What a quota allows in colour, as part of the total (BR-QT-04).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", tag = "kind", content = "sides")]
pub enum ColourLimit {
    /// Colour counts against the total only.
    Allow,
    /// No colour at all; mono within the total.
    Deny,
    /// Up to this many colour sides, which also count against the total.
    Limit(u64),
}

/// The limits of one month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthLimits {
    /// The total of mono and colour sides.
    pub total: TotalLimit,
    /// The colour sub-limit.
    pub colour: ColourLimit,
}

impl MonthLimits {
    /// Printing without any limit: what applies when quotas are off or nothing is set.
    pub const UNLIMITED: MonthLimits = MonthLimits { total: TotalLimit::Unlimited, colour: ColourLimit::Allow };

    /// The total in sides, `None` when unlimited; disabled printing allows 0.
    pub fn total_sides(&self) -> Option<u64> {
        match self.total {
            TotalLimit::Unlimited => None,
            TotalLimit::Limit(sides) => Some(sides),
            TotalLimit::Disabled => Some(0),
        }
    }

    /// The colour allowance in sides, `None` when only the total bounds it.
    pub fn colour_sides(&self) -> Option<u64> {
        let own = match self.colour {
            ColourLimit::Allow => None,
            ColourLimit::Deny => Some(0),
            ColourLimit::Limit(sides) => Some(sides),
        };
        match (own, self.total_sides()) {
            (Some(colour), Some(total)) => Some(colour.min(total)),
            (own, total) => own.or(total),
        }
    }

    /// Refuses limits out of range, naming `field`.
    pub fn validate(&self, field: &str) -> Result<(), Problem> {
        if let TotalLimit::Limit(sides) = self.total
            && sides > MAX_LIMIT
        {
            return Err(invalid(&format!("{field}.total"), format!("a limit is at most {MAX_LIMIT} sides")));
        }
        if let ColourLimit::Limit(sides) = self.colour {
            if sides > MAX_LIMIT {
                return Err(invalid(&format!("{field}.colour"), format!("a limit is at most {MAX_LIMIT} sides")));
            }
            if let TotalLimit::Limit(total) = self.total
                && sides > total
            {
                return Err(invalid(
                    &format!("{field}.colour"),
                    "the colour limit is part of the total and cannot exceed it (BR-QT-04)",
                ));
            }
        }
        Ok(())
    }
}

/// How a definition sets its limits (BR-QT-02).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum QuotaLimits {
    /// The same limits every month.
    SameEveryMonth {
        /// The limits of each month.
        limits: MonthLimits,
    },
    /// Limits for chosen months; a month not chosen prints without limit.
    PerMonth {
        /// The chosen months, each once.
        months: Vec<LimitsOfMonth>,
    },
}

/// The limits of one chosen month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitsOfMonth {
    /// The month, 1 (January) to 12.
    pub month: u32,
    /// Its limits.
    pub limits: MonthLimits,
}

impl QuotaLimits {
    /// The limits that apply in `month` (1–12).
    pub fn for_month(&self, month: u32) -> MonthLimits {
        match self {
            QuotaLimits::SameEveryMonth { limits } => *limits,
            QuotaLimits::PerMonth { months } => months
                .iter()
                .find(|chosen| chosen.month == month)
                .map_or(MonthLimits::UNLIMITED, |chosen| chosen.limits),
        }
    }

    /// Refuses an empty month list, month numbers outside 1–12 and limits out of range.
    pub fn validate(&self) -> Result<(), Problem> {
        match self {
            QuotaLimits::SameEveryMonth { limits } => limits.validate("limits.limits"),
            QuotaLimits::PerMonth { months } => {
                if months.is_empty() {
                    return Err(invalid("limits.months", "choose at least one month"));
                }
                let mut seen = [false; 13];
                for (n, chosen) in months.iter().enumerate() {
                    let field = format!("limits.months[{n}]");
                    let Some(first) = seen.get_mut(chosen.month as usize).filter(|_| chosen.month >= 1) else {
                        return Err(invalid(&field, format!("{} is not a month (1 to 12)", chosen.month)));
                    };
                    if std::mem::replace(first, true) {
                        return Err(invalid(&field, format!("month {} is chosen twice", chosen.month)));
                    }
                    chosen.limits.validate(&format!("{field}.limits"))?;
                }
                Ok(())
            }
        }
    }
}

/// 400 `invalid_field` naming the field and why.
fn invalid(field: &str, why: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

/// The quota month `at` falls in, in the organisation's time zone (D-QUOTA-PERIOD), as
/// `(year, month)`.
pub fn month_of(at: DateTime<Utc>, zone: Tz) -> (i32, u32) {
    let local = at.with_timezone(&zone);
    (local.year(), local.month())
}

/// The key of a quota month, `yyyy-mm`, for usage records.
pub fn month_key((year, month): (i32, u32)) -> String {
    format!("{year:04}-{month:02}")
}

/// What a user has consumed of a month: used (settled) plus reserved (released, not yet
/// settled), in total and in colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consumed {
    /// Mono and colour sides used or reserved.
    pub total: u64,
    /// Colour sides used or reserved.
    pub colour: u64,
}

/// Why a reservation does not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The total left is too small (`quota_exceeded`).
    Total {
        /// Sides left of the total.
        remaining: u64,
    },
    /// The colour allowance left is too small (`colour_quota_exceeded`, D-QUOTA-COLOUR).
    Colour {
        /// Colour sides left.
        remaining_colour: u64,
        /// Sides left of the total, which a mono release may still use.
        remaining: Option<u64>,
    },
}

/// Whether `sides` more (of which `colour_sides` in colour) fit in `limits` after
/// `consumed` (D-QUOTA-UNIT). The colour allowance is checked first, so a colour job over
/// it is told it may print in mono (D-QUOTA-COLOUR).
pub fn check_reservation(
    limits: &MonthLimits,
    consumed: Consumed,
    sides: u64,
    colour_sides: u64,
) -> Result<(), Refusal> {
    let remaining = limits.total_sides().map(|total| total.saturating_sub(consumed.total));
    if colour_sides > 0
        && let Some(colour) = limits.colour_sides()
    {
        let remaining_colour = colour.saturating_sub(consumed.colour);
        if colour_sides > remaining_colour {
            return Err(Refusal::Colour { remaining_colour, remaining });
        }
    }
    match remaining {
        Some(remaining) if sides > remaining => Err(Refusal::Total { remaining }),
        _ => Ok(()),
    }
}

/// A user's quota status (D-QUOTA-STATUS, BR-QT-10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum QuotaStatus {
    /// More than 10 % of both the total and the colour allowance left.
    #[serde(rename = "OK")]
    Ok,
    /// 10 % or less of either left.
    Warning,
    /// Nothing left of either.
    Exceeded,
}

/// How much of `limit` is left after `consumed`, as a status.
fn status_of(limit: Option<u64>, consumed: u64) -> QuotaStatus {
    let Some(limit) = limit else { return QuotaStatus::Ok };
    let remaining = limit.saturating_sub(consumed);
    if remaining == 0 {
        QuotaStatus::Exceeded
    } else if remaining * 10 <= limit {
        QuotaStatus::Warning
    } else {
        QuotaStatus::Ok
    }
}

/// The status of a user who consumed `consumed` of `limits`: the worse of the total's
/// and the colour allowance's. A colour allowance of 0 by choice (`Deny`) is not a
/// shortage, so it does not count.
pub fn status(limits: &MonthLimits, consumed: Consumed) -> QuotaStatus {
    let total = status_of(limits.total_sides(), consumed.total);
    let colour = match limits.colour {
        ColourLimit::Deny => QuotaStatus::Ok,
        _ => status_of(limits.colour_sides(), consumed.colour),
    };
    worse(total, colour)
}

fn worse(a: QuotaStatus, b: QuotaStatus) -> QuotaStatus {
    let rank = |s| match s {
        QuotaStatus::Ok => 0,
        QuotaStatus::Warning => 1,
        QuotaStatus::Exceeded => 2,
    };
    if rank(a) >= rank(b) { a } else { b }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn limits(total: TotalLimit, colour: ColourLimit) -> MonthLimits {
        MonthLimits { total, colour }
    }

    fn used(total: u64, colour: u64) -> Consumed {
        Consumed { total, colour }
    }

    #[test]
    fn d_quota_unit_a_reservation_fits_only_within_what_is_left() {
        let ten = limits(TotalLimit::Limit(100), ColourLimit::Allow);
        assert_eq!(check_reservation(&ten, used(90, 0), 10, 0), Ok(()));
        assert_eq!(check_reservation(&ten, used(88, 0), 12, 0), Ok(()), "exactly what is left");
        assert_eq!(check_reservation(&ten, used(90, 0), 12, 0), Err(Refusal::Total { remaining: 10 }));
        assert_eq!(check_reservation(&MonthLimits::UNLIMITED, used(u64::MAX / 2, 0), 1_000, 1_000), Ok(()));
    }

    #[test]
    fn br_qt_03_disabled_printing_refuses_every_side() {
        let disabled = limits(TotalLimit::Disabled, ColourLimit::Allow);
        assert_eq!(check_reservation(&disabled, used(0, 0), 1, 0), Err(Refusal::Total { remaining: 0 }));
        assert_eq!(status(&disabled, used(0, 0)), QuotaStatus::Exceeded);
    }

    #[test]
    fn d_quota_colour_a_colour_job_past_the_colour_limit_is_told_mono_still_fits() {
        let quota = limits(TotalLimit::Limit(100), ColourLimit::Limit(20));
        assert_eq!(
            check_reservation(&quota, used(30, 18), 5, 5),
            Err(Refusal::Colour { remaining_colour: 2, remaining: Some(70) })
        );
        assert_eq!(check_reservation(&quota, used(30, 18), 5, 0), Ok(()), "the same job in mono fits (ER-QT-02)");
        let denied = limits(TotalLimit::Unlimited, ColourLimit::Deny);
        assert_eq!(
            check_reservation(&denied, used(0, 0), 1, 1),
            Err(Refusal::Colour { remaining_colour: 0, remaining: None })
        );
    }

    #[test]
    fn br_qt_04_the_colour_limit_is_part_of_the_total() {
        let quota = limits(TotalLimit::Limit(10), ColourLimit::Limit(50));
        assert!(quota.validate("limits").is_err(), "a colour limit above the total is refused");
        let quota = limits(TotalLimit::Limit(10), ColourLimit::Allow);
        assert_eq!(quota.colour_sides(), Some(10));
        let quota = limits(TotalLimit::Limit(100), ColourLimit::Limit(20));
        assert_eq!(check_reservation(&quota, used(95, 0), 8, 8), Err(Refusal::Total { remaining: 5 }));
    }

    #[test]
    fn d_quota_status_thresholds_eleven_percent_ok_ten_warning_zero_exceeded() {
        let quota = limits(TotalLimit::Limit(100), ColourLimit::Limit(50));
        assert_eq!(status(&quota, used(89, 0)), QuotaStatus::Ok, "11 % left");
        assert_eq!(status(&quota, used(90, 0)), QuotaStatus::Warning, "10 % left");
        assert_eq!(status(&quota, used(100, 0)), QuotaStatus::Exceeded, "nothing left");
        assert_eq!(status(&quota, used(45, 45)), QuotaStatus::Warning, "10 % of the colour limit left");
        assert_eq!(status(&quota, used(50, 50)), QuotaStatus::Exceeded, "the colour limit used up");
        assert_eq!(status(&MonthLimits::UNLIMITED, used(1_000_000, 1_000_000)), QuotaStatus::Ok);
        let no_colour = limits(TotalLimit::Limit(100), ColourLimit::Deny);
        assert_eq!(status(&no_colour, used(0, 0)), QuotaStatus::Ok, "denied colour is a choice, not a shortage");
    }

    #[test]
    fn br_qt_02_per_month_limits_apply_in_their_month_only() {
        let march = limits(TotalLimit::Limit(500), ColourLimit::Deny);
        let chosen = |month| LimitsOfMonth { month, limits: march };
        let quota = QuotaLimits::PerMonth { months: vec![chosen(3)] };
        assert_eq!(quota.for_month(3), march);
        assert_eq!(quota.for_month(4), MonthLimits::UNLIMITED);
        assert!(quota.validate().is_ok());
        for bad in [vec![chosen(13)], vec![chosen(0)], vec![chosen(3), chosen(3)], vec![]] {
            assert_eq!(QuotaLimits::PerMonth { months: bad }.validate().unwrap_err().code, "invalid_field");
        }
        let parsed: QuotaLimits = serde_json::from_str(
            r#"{"kind": "perMonth", "months": [{"month": 3, "limits": {"total": {"kind": "disabled"}, "colour": {"kind": "deny"}}}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.for_month(3).total, TotalLimit::Disabled, "months arrive as JSON");
    }

    #[test]
    fn d_quota_period_months_turn_in_the_organisations_time_zone() {
        let new_year_utc = Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(month_of(new_year_utc, chrono_tz::UTC), (2026, 12));
        assert_eq!(month_of(new_year_utc, chrono_tz::Europe::Amsterdam), (2027, 1));
        assert_eq!(month_of(new_year_utc, chrono_tz::America::New_York), (2026, 12));
        assert_eq!(month_key((2027, 1)), "2027-01");
    }
}
