//! What the bench ran on: cores, CPU model, memory, kernel, and the load average before
//! it started (other work on the machine skews every figure, so it is recorded).

use serde_json::{Value, json};

/// The machine's description.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Logical CPUs this process may use.
    pub cores: usize,
    /// The CPU model name.
    pub cpu: String,
    /// Total memory in bytes.
    pub memory: u64,
    /// The kernel release.
    pub kernel: String,
    /// `/proc/loadavg` when the bench started.
    pub load_before: String,
}

fn meminfo_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// The first three fields of `/proc/loadavg`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

impl Machine {
    /// Describes this machine.
    pub fn detect() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        Self {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            memory: meminfo_total(),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|k| k.trim().to_owned())
                .unwrap_or_default(),
            load_before: load_average(),
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        format!(
            "{} cores ({}), {:.1} GiB RAM, Linux {}, load average before: {}",
            self.cores,
            self.cpu,
            self.memory as f64 / (1u64 << 30) as f64,
            self.kernel,
            self.load_before
        )
    }

    /// For the JSON report.
    pub fn to_json(&self) -> Value {
        json!({
            "cores": self.cores,
            "cpu": self.cpu,
            "memoryBytes": self.memory,
            "kernel": self.kernel,
            "loadAverageBefore": self.load_before,
        })
    }
}
