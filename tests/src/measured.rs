//! Latencies of one measured phase of a load generator, and the summary row the
//! generators print for it (count, rate, p50, p99, max).

use std::time::Duration;

/// Latencies of one measured call or phase and how long the phase took.
pub struct Measured {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Measured {
    /// The phase's `latencies` (any order) over `elapsed`.
    pub fn new(mut latencies: Vec<Duration>, elapsed: Duration) -> Self {
        latencies.sort();
        Measured { latencies, elapsed }
    }

    /// The latency at quantile `q` (0 to 1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let index = ((self.latencies.len() as f64 * q) as usize).min(self.latencies.len().saturating_sub(1));
        self.latencies.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    /// Calls completed per second over the phase.
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The summary row of `what`: count, per second, p50, p99 and max in milliseconds.
    pub fn row(&self, what: &str) -> String {
        format!(
            "  {what:<44} {:>7} {:>9.0} {:>9.2} {:>9.2} {:>9.2}",
            self.latencies.len(),
            self.per_second(),
            self.quantile_ms(0.50),
            self.quantile_ms(0.99),
            self.quantile_ms(1.0),
        )
    }
}
