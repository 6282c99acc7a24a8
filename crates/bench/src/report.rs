//! The report: each figure as the median of its runs with min–max, its ratio to the
//! reference measured in the same run, and where it stands against docs/CONTRACT.md's floor
//! and aim; printed as a table and written as JSON.

use serde_json::{Value, json};

use crate::stats::{Summary, summarize};

/// How a figure's numbers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Events per second.
    EventsPerSec,
    /// Messages per second.
    MessagesPerSec,
    /// Milliseconds.
    Millis,
    /// Seconds.
    Seconds,
    /// Bytes (shown in KiB or MiB).
    Bytes,
    /// CPU time per second of wall time (1.0 = one core busy).
    Cores,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::EventsPerSec => "events/s",
            Unit::MessagesPerSec => "messages/s",
            Unit::Millis => "ms",
            Unit::Seconds => "s",
            Unit::Bytes => "bytes",
            Unit::Cores => "cores",
        }
    }

    /// Formats a value in this unit.
    pub fn format(self, v: f64) -> String {
        if v.is_nan() {
            return "n/a".into();
        }
        match self {
            Unit::EventsPerSec | Unit::MessagesPerSec => thousands(v),
            Unit::Millis => {
                if v.abs() >= 100.0 {
                    format!("{v:.0} ms")
                } else {
                    format!("{v:.2} ms")
                }
            }
            Unit::Seconds => format!("{v:.2} s"),
            Unit::Cores => format!("{v:.2} cores"),
            Unit::Bytes => {
                if v.abs() >= 1024.0 * 1024.0 {
                    format!("{:.1} MiB", v / (1024.0 * 1024.0))
                } else {
                    format!("{:.1} KiB", v / 1024.0)
                }
            }
        }
    }
}

/// `1234567.8` as `1,234,568`.
pub fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

/// A docs/CONTRACT.md target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Whether the floor and aim apply to the ratio against the reference.
    pub on_ratio: bool,
    /// Whether more is better (throughput) or less (latency, memory, time).
    pub higher_is_better: bool,
    /// The floor that must hold.
    pub floor: f64,
    /// Where we are going.
    pub aim: f64,
}

/// A reference measured in the same run.
#[derive(Debug, Clone)]
pub struct Reference {
    /// What it is.
    pub label: String,
    /// Its runs.
    pub runs: Vec<f64>,
}

/// One row of the report.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Stable key for the JSON.
    pub key: String,
    /// What it measures, for people.
    pub label: String,
    /// Its unit.
    pub unit: Unit,
    /// One value per run.
    pub runs: Vec<f64>,
    /// The reference it is a ratio to.
    pub reference: Option<Reference>,
    /// docs/CONTRACT.md's floor and aim.
    pub target: Option<Target>,
    /// Extra context: CPU shares, errors, loads.
    pub detail: String,
    /// Whether it is a row of the main table (all figures go into the JSON).
    pub in_table: bool,
}

impl Figure {
    /// A figure with no reference or target.
    pub fn new(key: &str, label: impl Into<String>, unit: Unit, runs: Vec<f64>) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            unit,
            runs,
            reference: None,
            target: None,
            detail: String::new(),
            in_table: true,
        }
    }

    /// With a reference.
    pub fn against(mut self, label: impl Into<String>, runs: Vec<f64>) -> Self {
        self.reference = Some(Reference {
            label: label.into(),
            runs,
        });
        self
    }

    /// With a target.
    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// With detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    fn summary(&self) -> Summary {
        summarize(&self.runs)
    }

    /// Median over the reference's median.
    pub fn ratio(&self) -> Option<f64> {
        let reference = summarize(&self.reference.as_ref()?.runs).median;
        Some(self.summary().median / reference)
    }

    /// Where the median stands against the target.
    pub fn status(&self) -> &'static str {
        let Some(t) = self.target else { return "" };
        let value = if t.on_ratio {
            match self.ratio() {
                Some(r) => r,
                None => return "",
            }
        } else {
            self.summary().median
        };
        if value.is_nan() {
            return "not measured";
        }
        let meets = |bound: f64| {
            if t.higher_is_better {
                value >= bound
            } else {
                value < bound
            }
        };
        if meets(t.aim) {
            "meets aim"
        } else if meets(t.floor) {
            "meets floor"
        } else {
            "BELOW FLOOR"
        }
    }

    fn format_bound(&self, bound: f64) -> String {
        if bound.is_infinite() {
            return "measured".into();
        }
        let t = self.target.map(|t| (t.on_ratio, t.higher_is_better));
        match t {
            Some((true, higher)) => format!("{}{bound:.1}x", if higher { ">=" } else { "<" }),
            Some((false, higher)) => {
                format!(
                    "{}{}",
                    if higher { ">=" } else { "<" },
                    self.unit.format(bound)
                )
            }
            None => String::new(),
        }
    }

    /// The table's cells.
    fn cells(&self) -> [String; 6] {
        let s = self.summary();
        let range = if self.runs.len() > 1 {
            format!("{} – {}", self.unit.format(s.min), self.unit.format(s.max))
        } else {
            String::new()
        };
        let versus = match (&self.reference, self.ratio()) {
            (Some(r), Some(ratio)) => format!(
                "{ratio:.2}x of {} ({})",
                r.label,
                self.unit.format(summarize(&r.runs).median)
            ),
            _ => String::new(),
        };
        let (floor, aim) = match self.target {
            Some(t) => (self.format_bound(t.floor), self.format_bound(t.aim)),
            None => (String::new(), String::new()),
        };
        [
            self.unit.format(s.median),
            range,
            versus,
            floor,
            aim,
            self.status().to_owned(),
        ]
    }

    /// For the JSON report.
    pub fn to_json(&self) -> Value {
        let s = self.summary();
        let num = |v: f64| if v.is_nan() { Value::Null } else { json!(v) };
        json!({
            "key": self.key,
            "label": self.label,
            "unit": self.unit.name(),
            "median": num(s.median),
            "min": num(s.min),
            "max": num(s.max),
            "runs": self.runs.iter().map(|v| num(*v)).collect::<Vec<_>>(),
            "reference": self.reference.as_ref().map(|r| {
                let rs = summarize(&r.runs);
                json!({"label": r.label, "median": num(rs.median), "min": num(rs.min), "max": num(rs.max),
                       "runs": r.runs.iter().map(|v| num(*v)).collect::<Vec<_>>()})
            }),
            "ratio": self.ratio().map(num),
            "target": self.target.map(|t| json!({
                "onRatio": t.on_ratio, "higherIsBetter": t.higher_is_better, "floor": t.floor, "aim": t.aim})),
            "status": self.status(),
            "detail": self.detail,
        })
    }
}

/// The table as text (Markdown, so it can go into docs/PERFORMANCE.md as it is).
pub fn table(figures: &[Figure]) -> String {
    let header = [
        "figure",
        "median",
        "min – max",
        "vs reference (same run)",
        "floor",
        "aim",
        "status",
    ];
    let rows: Vec<[String; 7]> = figures
        .iter()
        .filter(|f| f.in_table)
        .map(|f| {
            let [a, b, c, d, e, g] = f.cells();
            [f.label.clone(), a, b, c, d, e, g]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(&header.map(String::from));
    out.push_str(&line(&widths.map(|w| "-".repeat(w))));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(thousands(1234567.8), "1,234,568");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(Unit::Bytes.format(10240.0), "10.0 KiB");
        assert_eq!(Unit::Millis.format(1.234), "1.23 ms");
    }

    #[test]
    fn status_against_floor_and_aim() {
        let target = Target {
            on_ratio: false,
            higher_is_better: false,
            floor: 5.0,
            aim: 2.0,
        };
        let fig = |v: f64| Figure::new("k", "l", Unit::Millis, vec![v]).target(target);
        assert_eq!(fig(1.0).status(), "meets aim");
        assert_eq!(fig(3.0).status(), "meets floor");
        assert_eq!(fig(6.0).status(), "BELOW FLOOR");
        let ratio = Figure::new("k", "l", Unit::EventsPerSec, vec![60.0])
            .against("bare", vec![100.0])
            .target(Target {
                on_ratio: true,
                higher_is_better: true,
                floor: 0.5,
                aim: 0.8,
            });
        assert_eq!(ratio.status(), "meets floor");
        assert!(table(&[ratio]).contains("0.60x of bare"));
    }
}
