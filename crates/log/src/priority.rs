//! Thread priority of background work.

/// Lowers the calling thread to the lowest scheduling priority (nice 19), for work that
/// may lag (projection, snapshot and log writing) so it gives way to order handling when
/// the cores are busy and still gets every idle cycle. Does nothing where it cannot.
pub fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        // Linux keeps a nice value per thread: the thread id names this one.
        let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19);
    }
}
