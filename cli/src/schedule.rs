//! Schedules under `serve`: the `rate(...)` expressions of the SAM template, turned into
//! intervals, and the EventBridge scheduled events the handlers receive on AWS.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The interval of an EventBridge `rate(<n> <unit>)` expression.
pub fn interval(expression: &str) -> Result<Duration, String> {
    let bad = || format!("`{expression}` is not a rate(<n> minute(s)|hour(s)|day(s)) expression");
    let inner = expression.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')).ok_or_else(bad)?;
    let (count, unit) = inner.trim().split_once(' ').ok_or_else(bad)?;
    let count: u64 = count.parse().map_err(|_| bad())?;
    let seconds = match (count, unit) {
        (0, _) => return Err(bad()),
        (1, "minute") | (2.., "minutes") => 60,
        (1, "hour") | (2.., "hours") => 3600,
        (1, "day") | (2.., "days") => 86_400,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(count * seconds))
}

/// The scheduled event EventBridge Scheduler delivers for the schedule `name` at `at`.
pub fn scheduled_event(name: &str, at: DateTime<Utc>, id: String) -> EventBridgeEvent {
    let mut event = EventBridgeEvent::default();
    event.version = Some("0".into());
    event.id = Some(id);
    event.detail_type = "Scheduled Event".into();
    event.source = "aws.scheduler".into();
    event.account = Some("000000000000".into());
    event.time = Some(at);
    event.region = Some("local".into());
    event.resources = Some(vec![format!("arn:aws:scheduler:local:000000000000:schedule/default/printcloud-{name}")]);
    event.detail = serde_json::json!({});
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_expressions_become_intervals() {
        assert_eq!(interval("rate(1 hour)"), Ok(Duration::from_secs(3600)));
        assert_eq!(interval("rate(15 minutes)"), Ok(Duration::from_secs(900)));
        assert_eq!(interval("rate(2 days)"), Ok(Duration::from_secs(172_800)));
        for bad in ["rate(1 hours)", "rate(2 hour)", "rate(0 days)", "cron(0 3 * * ? *)", "rate(x day)"] {
            assert!(interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_function_schedule_is_runnable_and_in_the_template() {
        let template = include_str!("../../infra/template.yaml");
        for function in crate::functions::all() {
            for schedule in &function.schedules {
                assert!(interval(schedule.expression).is_ok(), "{}", schedule.expression);
                assert!(
                    template.contains(&format!("ScheduleExpression: {}", schedule.expression))
                        || template.contains(&format!("ScheduleExpression: \"{}\"", schedule.expression)),
                    "{} is not in infra/template.yaml",
                    schedule.expression
                );
                assert!(template.contains(schedule.name), "{} is not in infra/template.yaml", schedule.name);
                let event = scheduled_event(schedule.name, Utc::now(), "id".into());
                assert!(shared::function::is_schedule(&event, schedule.name));
            }
        }
    }
}
