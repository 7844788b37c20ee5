//! Structured JSON logs on stderr. A request appends its formatted line to a shared
//! buffer (a short lock, no system call, no thread to wake), and a thread of their own
//! writes the buffer out every few milliseconds with one system call, so logging never
//! waits for the terminal or the disk.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often buffered lines are written out.
const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// Bytes that may wait for the writer thread; beyond that, lines are dropped and counted
/// rather than slowing requests down.
const BUFFERED_BYTES_MAX: usize = 8 << 20;

#[derive(Debug, Default)]
struct Buffer {
    text: Mutex<Vec<u8>>,
    dropped: AtomicU64,
    /// Set when the process is about to exit: write what is left and stop.
    closing: std::sync::atomic::AtomicBool,
}

/// A `MakeWriter` whose writers append to the shared buffer.
#[derive(Clone, Debug)]
pub(crate) struct BufferedWriter {
    buffer: Arc<Buffer>,
}

/// Keep it until the process ends: dropping it writes out the last lines.
#[derive(Debug)]
pub(crate) struct LogGuard {
    buffer: Arc<Buffer>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.buffer.closing.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Write for &BufferedWriter {
    /// The formatter hands over each event's whole line in one call.
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let Ok(mut text) = self.buffer.text.lock() else { return Ok(bytes.len()) };
        if text.len() + bytes.len() > BUFFERED_BYTES_MAX {
            self.buffer.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            text.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'writer> tracing_subscriber::fmt::MakeWriter<'writer> for BufferedWriter {
    type Writer = &'writer BufferedWriter;

    fn make_writer(&'writer self) -> Self::Writer {
        self
    }
}

impl BufferedWriter {
    /// Starts the thread that writes buffered lines to `out`.
    pub(crate) fn start(out: impl Write + Send + 'static) -> std::io::Result<(Self, LogGuard)> {
        let buffer = Arc::new(Buffer::default());
        let shared = Arc::clone(&buffer);
        let thread = std::thread::Builder::new().name("log-output".to_owned()).spawn(move || write_out(&shared, out))?;
        Ok((Self { buffer: Arc::clone(&buffer) }, LogGuard { buffer, thread: Some(thread) }))
    }
}

fn write_out(buffer: &Buffer, mut out: impl Write) {
    tradecraft_log::lower_thread_priority();
    let mut spare = Vec::new();
    loop {
        std::thread::park_timeout(FLUSH_EVERY);
        let closing = buffer.closing.load(Ordering::Acquire);
        if let Ok(mut text) = buffer.text.lock() {
            std::mem::swap(&mut *text, &mut spare);
        }
        let lost = buffer.dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let _ = writeln!(spare, r#"{{"level":"WARN","fields":{{"message":"log lines dropped: the output could not keep up","dropped":{lost}}}}}"#);
        }
        if !spare.is_empty() {
            // Nowhere to report a failed write to: keep serving.
            let _ = out.write_all(&spare).and_then(|()| out.flush());
            spare.clear();
        }
        if closing {
            return;
        }
    }
}

/// Installs the JSON subscriber writing to `out` through the writer thread.
pub(crate) fn install(out: impl Write + Send + 'static) -> std::io::Result<LogGuard> {
    let (writer, guard) = BufferedWriter::start(out)?;
    tracing_subscriber::fmt().json().with_current_span(true).with_span_list(false).with_writer(writer).init();
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_reach_the_output_whole_and_in_order() {
        let out = Shared::default();
        let (writer, guard) = BufferedWriter::start(out.clone()).unwrap();
        let subscriber = tracing_subscriber::fmt().json().with_current_span(true).with_writer(writer).finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = "r1", order_id = tracing::field::Empty);
            span.record("order_id", 42_u64);
            for index in 0..1_000 {
                span.in_scope(|| tracing::info!(index, "request done"));
            }
        });
        // Dropping the guard writes out what is left, at once.
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines.len(), 1_000);
        for (index, line) in lines.iter().enumerate() {
            assert_eq!(line["fields"]["index"], index);
            assert_eq!(line["span"]["request_id"], "r1");
            assert_eq!(line["span"]["order_id"], 42);
        }
    }
}
