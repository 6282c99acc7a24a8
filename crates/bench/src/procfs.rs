//! Reading a process's CPU time and resident memory from `/proc` (Linux), for the
//! server's and the load generator's own share of the machine during a measurement.

use std::sync::OnceLock;

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 almost
/// everywhere).
fn ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// User plus system CPU seconds the process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) … utime(14) stime(15), so indexes 11 and 12 here.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks_per_second())
}

/// Resident set size in bytes (`VmRSS`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Measures the CPU two processes (the server and this one) use over a window.
pub struct CpuWindow {
    server: u32,
    server_start: f64,
    client_start: f64,
    started: std::time::Instant,
}

/// Cores used over a window (1.0 = one core busy the whole time).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// By the server process.
    pub server: f64,
    /// By the load generator (this process).
    pub client: f64,
}

impl CpuWindow {
    /// Starts a window watching `server`.
    pub fn start(server: u32) -> Self {
        Self {
            server,
            server_start: cpu_seconds(server).unwrap_or(0.0),
            client_start: cpu_seconds(std::process::id()).unwrap_or(0.0),
            started: std::time::Instant::now(),
        }
    }

    /// Cores used since the start.
    pub fn finish(&self) -> CpuUse {
        let wall = self.started.elapsed().as_secs_f64().max(1e-9);
        CpuUse {
            server: (cpu_seconds(self.server).unwrap_or(0.0) - self.server_start) / wall,
            client: (cpu_seconds(std::process::id()).unwrap_or(0.0) - self.client_start) / wall,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(cpu_seconds(pid).is_some());
        assert!(rss_bytes(pid).is_some_and(|rss| rss > 0));
    }
}
