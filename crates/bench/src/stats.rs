//! Small statistics: percentiles of a sample (nearest rank) and the median with min–max
//! of a figure measured over several runs.

/// The `p`-th percentile (0–100) of an ascending-sorted sample, by nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // The epsilon keeps 99.9% of 1000 at rank 999 despite binary rounding.
    let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Sorts a sample in place (NaNs last) and returns it.
pub fn sorted(mut sample: Vec<f64>) -> Vec<f64> {
    sample.sort_by(|a, b| a.total_cmp(b));
    sample
}

/// Median, min and max of a figure's runs.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// The median run (the mean of the two middle ones for an even count).
    pub median: f64,
    /// The lowest run.
    pub min: f64,
    /// The highest run.
    pub max: f64,
}

/// Summarises runs; all NaN for none.
pub fn summarize(runs: &[f64]) -> Summary {
    let s = sorted(runs.to_vec());
    if s.is_empty() {
        return Summary {
            median: f64::NAN,
            min: f64::NAN,
            max: f64::NAN,
        };
    }
    let mid = s.len() / 2;
    let median = if s.len() % 2 == 1 {
        s[mid]
    } else {
        (s[mid - 1] + s[mid]) / 2.0
    };
    Summary {
        median,
        min: s[0],
        max: s[s.len() - 1],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(percentile(&s, 50.0), 500.0);
        assert_eq!(percentile(&s, 99.0), 990.0);
        assert_eq!(percentile(&s, 99.9), 999.0);
        assert_eq!(percentile(&s, 100.0), 1000.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        let odd = summarize(&[3.0, 1.0, 2.0]);
        assert_eq!((odd.median, odd.min, odd.max), (2.0, 1.0, 3.0));
        assert_eq!(summarize(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
    }
}
