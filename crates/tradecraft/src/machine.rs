//! A description of the machine a benchmark ran on, for its JSON output.

use serde_json::{Value, json};

fn first_value(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find(|line| line.starts_with(key)).and_then(|line| line.split_once(':')).map(|(_, value)| value.trim().to_owned())
}

/// CPU model, core count, memory and OS, as far as /proc tells.
pub(crate) fn describe() -> Value {
    let memory_kib = first_value("/proc/meminfo", "MemTotal").and_then(|value| value.trim_end_matches(" kB").trim().parse::<u64>().ok());
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

/// CPU time (user + system, in clock ticks of 10 ms) used so far by this process's
/// threads, summed by thread name; empty where /proc is missing.
pub(crate) fn thread_cpu_ticks() -> std::collections::BTreeMap<String, u64> {
    let mut ticks = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return ticks;
    };
    for task in tasks.flatten() {
        let (Ok(name), Ok(stat)) = (std::fs::read_to_string(task.path().join("comm")), std::fs::read_to_string(task.path().join("stat"))) else {
            continue;
        };
        // Fields after the parenthesised name: state is the 3rd field, utime the 14th.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let used: u64 = [11, 12].iter().filter_map(|index| fields.get(*index)?.parse::<u64>().ok()).sum();
        *ticks.entry(name.trim().to_owned()).or_default() += used;
    }
    ticks
}

/// Per thread name, the CPU microseconds spent between two `thread_cpu_ticks` readings for
/// each of `units` units of work (requests, records).
pub(crate) fn cpu_us_per(before: &std::collections::BTreeMap<String, u64>, after: &std::collections::BTreeMap<String, u64>, units: u64) -> Value {
    let per: serde_json::Map<String, Value> = after
        .iter()
        .map(|(name, ticks)| {
            let used = ticks.saturating_sub(before.get(name).copied().unwrap_or(0));
            (name.clone(), json!((used as f64 * 10_000.0 / units.max(1) as f64 * 10.0).round() / 10.0))
        })
        .filter(|(_, value)| value.as_f64().is_some_and(|value| value > 0.0))
        .collect();
    Value::Object(per)
}
