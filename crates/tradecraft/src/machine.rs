//! A description of the machine a benchmark ran on, for its JSON output.

use serde_json::{Value, json};

fn first_value(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|line| line.starts_with(key))
        .and_then(|line| line.split_once(':'))
        .map(|(_, value)| value.trim().to_owned())
}

/// CPU model, core count, memory and OS, as far as /proc tells.
pub(crate) fn describe() -> Value {
    let memory_kib = first_value("/proc/meminfo", "MemTotal")
        .and_then(|value| value.trim_end_matches(" kB").trim().parse::<u64>().ok());
    json!({
        "cpu": first_value("/proc/cpuinfo", "model name"),
        "cores": std::thread::available_parallelism().map(usize::from).ok(),
        "memory_gib": memory_kib.map(|kib| kib / (1024 * 1024)),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

/// Resident set size of this process in bytes.
pub(crate) fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
