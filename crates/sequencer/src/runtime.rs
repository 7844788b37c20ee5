//! The engine thread: one thread owns the sequencer (and so the engine); everything else
//! talks to it through one bounded queue. Requests ask for the outcome of a command by
//! its offset, or run a read-only query against the engine between batches.
//!
//! If the log fails, the thread reopens the sequencer from its snapshot and the log
//! (recovery is exactly-once) after a short pause, and keeps answering queries meanwhile.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tradecraft_engine::Engine;
use tradecraft_log::{EventLog, LogError, Offset};

use crate::sequencer::{CommandOutcome, Sequencer, SequencerConfig, SequencerError};
use crate::snapshots::SnapshotStore;

/// Outcomes kept for requests that arrive after their command was applied.
const OUTCOMES_KEPT: usize = 16_384;
/// How long the thread sleeps when there is nothing to do before looking at the log again.
const IDLE_WAIT: Duration = Duration::from_millis(20);
/// How long a standby engine (one that may lead, but does not) rests after reading to the
/// log's end: nobody waits for its outcomes, and reading in larger batches spares it the
/// cost of a read and a wake-up per handful of commands. It notices the leadership within
/// this time (well inside the take-over target).
const STANDBY_PACE: Duration = Duration::from_millis(50);
/// Pause before reopening after a log failure: the first, doubling (with jitter) to the
/// longest while the log stays unavailable.
const RECOVERY_PAUSE: Duration = Duration::from_millis(200);
const RECOVERY_PAUSE_MAX: Duration = Duration::from_secs(5);

type OutcomeReply = Box<dyn FnOnce(Result<CommandOutcome, String>) + Send>;
/// Sees every command's outcome on the engine thread, after its outputs are stored.
pub type Listener = Box<dyn FnMut(&CommandOutcome) + Send>;
type Query = Box<dyn FnOnce(&Engine) + Send>;

/// What the engine thread is asked to do.
pub enum Request {
    /// Reply once the command at `offset` is applied (and its outputs stored).
    Outcome { offset: Offset, reply: OutcomeReply },
    /// Run a read-only function on the engine thread.
    Query(Query),
    /// New commands are in the log: look now rather than after the idle wait.
    Wake,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Outcome { offset, .. } => write!(formatter, "Outcome({offset})"),
            Self::Query(_) => formatter.write_str("Query"),
            Self::Wake => formatter.write_str("Wake"),
        }
    }
}

/// Why a request was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    #[error("the engine queue is full")]
    Busy,
    #[error("the engine has stopped")]
    Stopped,
}

/// What the engine thread reports about itself.
#[derive(Debug, Default)]
pub struct RuntimeStatus {
    /// Offset of the next command to apply.
    pub next_command: AtomicU64,
    pub commands_applied: AtomicU64,
    /// Polls that applied at least one command, and the time they took in all.
    pub batches: AtomicU64,
    pub batch_nanos_total: AtomicU64,
    pub recoveries: AtomicU64,
    /// Requests waiting in the queue (approximate).
    pub queue_depth: AtomicU64,
    /// The last failure, if the engine is recovering from one.
    pub failure: Mutex<Option<String>>,
    /// Whether the engine has applied every command the log held when it (re)opened: until
    /// then its state is from the middle of a replay and must not be served.
    pub recovered: AtomicBool,
    /// The command offset the engine must reach to be recovered.
    pub recovering_to: AtomicU64,
    /// Where the engine's state came from when it last (re)opened: the first command it
    /// replayed (its snapshot's end, 0 without one). Commands before it were applied by a
    /// process before this one.
    pub opened_at: AtomicU64,
    /// Damage was found (a corrupt log or snapshot, missing commands): the engine applies
    /// nothing more and keeps no snapshot until an operator repairs the data.
    pub halted: AtomicBool,
}

/// A cloneable handle to the engine thread.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    sender: SyncSender<Request>,
    stop: Arc<AtomicBool>,
    status: Arc<RuntimeStatus>,
}

impl EngineHandle {
    /// Queues a request without waiting; a full queue is [`RuntimeError::Busy`].
    pub fn request(&self, request: Request) -> Result<(), RuntimeError> {
        match self.sender.try_send(request) {
            Ok(()) => {
                self.status.queue_depth.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(RuntimeError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(RuntimeError::Stopped),
        }
    }

    pub fn status(&self) -> &RuntimeStatus {
        &self.status
    }

    /// Asks the thread to write a snapshot and stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.sender.try_send(Request::Wake);
    }
}

struct Worker {
    config: SequencerConfig,
    log: Arc<dyn EventLog>,
    snapshots: SnapshotStore,
    sequencer: Sequencer,
    receiver: Receiver<Request>,
    stop: Arc<AtomicBool>,
    status: Arc<RuntimeStatus>,
    recent: VecDeque<CommandOutcome>,
    waiting: BTreeMap<Offset, Vec<OutcomeReply>>,
    listener: Listener,
    /// Commands before this were applied and seen by the listener already: a reopened
    /// sequencer replays them from its snapshot without telling anyone again.
    seen: Offset,
    /// A command panicked the engine (or the listener) part-way: its state is not one the
    /// log ever gave, so it answers no query either.
    panicked: bool,
}

/// Opens the sequencer (recovering it) and starts the engine thread.
pub fn start(
    config: SequencerConfig,
    log: Arc<dyn EventLog>,
    snapshots: SnapshotStore,
    queue_capacity: usize,
    listener: Listener,
) -> Result<(EngineHandle, JoinHandle<()>), SequencerError> {
    let sequencer = Sequencer::open(config.clone(), Arc::clone(&log), snapshots.clone())?;
    let (sender, receiver) = sync_channel(queue_capacity);
    let stop = Arc::new(AtomicBool::new(false));
    let status = Arc::new(RuntimeStatus::default());
    status.next_command.store(sequencer.next_command(), Ordering::Relaxed);
    mark_recovery(&status, log.as_ref(), sequencer.next_command());
    let handle = EngineHandle { sender, stop: Arc::clone(&stop), status: Arc::clone(&status) };
    let mut worker = Worker {
        config,
        log,
        snapshots,
        sequencer,
        receiver,
        stop,
        status,
        recent: VecDeque::with_capacity(OUTCOMES_KEPT),
        waiting: BTreeMap::new(),
        listener,
        seen: 0,
        panicked: false,
    };
    let thread = std::thread::Builder::new()
        .name("engine".to_owned())
        .spawn(move || worker.run())
        .map_err(|error| SequencerError::Log(tradecraft_log::LogError::Unavailable(error.to_string())))?;
    Ok((handle, thread))
}

/// Whether `error` is damage to the stored data, which retrying cannot cure.
fn is_damage(error: &SequencerError) -> bool {
    match error {
        SequencerError::Log(LogError::Corrupt(_))
        | SequencerError::EngineSnapshot(_)
        | SequencerError::CommandsLost { .. }
        | SequencerError::CommandsMissing { .. }
        | SequencerError::CommandGap { .. }
        | SequencerError::Diverged { .. } => true,
        SequencerError::Log(_) | SequencerError::Snapshots(_) | SequencerError::NotLeader => false,
    }
}

/// Records where a (re)opened engine stands: recovered once it reaches the log's end as it
/// is now (a log that cannot say counts as recovered at once).
fn mark_recovery(status: &RuntimeStatus, log: &dyn EventLog, next_command: u64) {
    status.opened_at.store(next_command, Ordering::SeqCst);
    let end = log.end_offset(crate::TRADE_ORDERS, 0).unwrap_or(0);
    status.recovering_to.store(end, Ordering::SeqCst);
    status.recovered.store(next_command >= end, Ordering::SeqCst);
}

impl Worker {
    fn run(&mut self) {
        loop {
            self.drain_requests();
            if self.stop.load(Ordering::SeqCst) {
                let _ = self.sequencer.snapshot();
                return;
            }
            if self.status.halted.load(Ordering::SeqCst) {
                return self.halt();
            }
            if self.sequencer.publishing() != self.config.publish.now() {
                self.change_role();
                continue;
            }
            let seen = self.seen;
            let recent = &mut self.recent;
            let waiting = &mut self.waiting;
            let listener = &mut self.listener;
            let status = &self.status;
            let started = std::time::Instant::now();
            let batch = self.sequencer.next_command();
            let sequencer = &mut self.sequencer;
            // A bug that panics on a command would panic on it again on every replay: the
            // engine halts saying where, rather than its thread dying unseen (health would
            // still say ready, and an active engine would keep its leadership).
            let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                sequencer.poll_with(|outcome| {
                    // The batch's events are stored before its outcomes are seen: whoever is
                    // answered next may read past this command (the read store waits for it).
                    status.next_command.fetch_max(outcome.offset + 1, Ordering::Relaxed);
                    if outcome.offset < seen {
                        return;
                    }
                    listener(&outcome);
                    if let Some(replies) = waiting.remove(&outcome.offset) {
                        for reply in replies {
                            reply(Ok(outcome.clone()));
                        }
                    }
                    if recent.len() == OUTCOMES_KEPT {
                        recent.pop_front();
                    }
                    recent.push_back(outcome);
                })
            }));
            let result = match polled {
                Ok(result) => result,
                Err(panic) => return self.halt_on_panic(batch, panic.as_ref()),
            };
            match result {
                Ok(progress) => {
                    if progress.commands > 0 {
                        self.status.batches.fetch_add(1, Ordering::Relaxed);
                        self.status.batch_nanos_total.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    }
                    self.seen = self.seen.max(self.sequencer.next_command());
                    self.status.next_command.store(self.sequencer.next_command(), Ordering::Relaxed);
                    if !self.status.recovered.load(Ordering::Relaxed) && self.sequencer.next_command() >= self.status.recovering_to.load(Ordering::Relaxed) {
                        self.status.recovered.store(true, Ordering::SeqCst);
                    }
                    self.status.commands_applied.fetch_add(progress.commands as u64, Ordering::Relaxed);
                    if progress.commands == 0 {
                        self.wait_for_work(IDLE_WAIT);
                    } else if self.standing_by() && progress.commands < self.config.batch_commands_max {
                        self.wait_for_work(STANDBY_PACE);
                    }
                }
                Err(error) => self.recover(&error),
            }
        }
    }

    /// Halts for a panic met applying the batch from `batch`, saying where and why.
    fn halt_on_panic(&mut self, batch: Offset, panic: &(dyn std::any::Any + Send)) {
        let message = panic.downcast_ref::<&str>().map(|text| (*text).to_owned()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
        let failure = format!("the engine panicked applying the commands from offset {batch}: {message}");
        tracing::error!(batch, message, "the engine panicked: it applies nothing more and keeps no snapshot until the fault is fixed");
        if let Ok(mut slot) = self.status.failure.lock() {
            *slot = Some(failure);
        }
        self.panicked = true;
        self.status.recovered.store(false, Ordering::SeqCst);
        self.status.halted.store(true, Ordering::SeqCst);
        self.halt();
    }

    /// Stopped by damage: queries are still answered (the state is the last good one),
    /// commands are not applied, outcomes are refused, and nothing is snapshotted. Stopped
    /// by a panic: queries are not answered either.
    fn halt(&mut self) {
        let reason = self.status.failure.lock().ok().and_then(|failure| failure.clone()).unwrap_or_default();
        for (_, replies) in std::mem::take(&mut self.waiting) {
            for reply in replies {
                reply(Err(format!("the engine stopped: {reason}")));
            }
        }
        while !self.stop.load(Ordering::SeqCst) {
            match self.receiver.recv_timeout(IDLE_WAIT) {
                Ok(Request::Outcome { reply, .. }) => {
                    self.status.queue_depth.fetch_sub(1, Ordering::Relaxed);
                    reply(Err(format!("the engine stopped: {reason}")));
                }
                // Dropped unanswered: the asker hears that the engine stopped.
                Ok(Request::Query(_)) if self.panicked => {
                    self.status.queue_depth.fetch_sub(1, Ordering::Relaxed);
                }
                Ok(request) => self.handle(request),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Whether this engine may lead and does not: it follows the log only to take over.
    fn standing_by(&self) -> bool {
        matches!(self.config.publish, crate::Publish::WhileLeader(_)) && !self.sequencer.publishing()
    }

    fn wait_for_work(&mut self, timeout: Duration) {
        match self.receiver.recv_timeout(timeout) {
            Ok(request) => self.handle(request),
            Err(RecvTimeoutError::Timeout) => {}
            // Every handle is gone: nobody can ask for anything any more.
            Err(RecvTimeoutError::Disconnected) => self.stop.store(true, Ordering::SeqCst),
        }
    }

    fn drain_requests(&mut self) {
        while let Ok(request) = self.receiver.try_recv() {
            self.handle(request);
        }
    }

    fn handle(&mut self, request: Request) {
        self.status.queue_depth.fetch_sub(1, Ordering::Relaxed);
        match request {
            Request::Query(query) => query(self.sequencer.engine()),
            Request::Wake => {}
            Request::Outcome { offset, reply } => {
                if offset < self.sequencer.next_command() {
                    // Outcomes arrive in offset order, so the ring is sorted by offset.
                    let position = self.recent.partition_point(|outcome| outcome.offset < offset);
                    match self.recent.get(position).filter(|outcome| outcome.offset == offset) {
                        Some(outcome) => reply(Ok(outcome.clone())),
                        None => reply(Err(format!("the outcome of command {offset} is no longer kept"))),
                    }
                } else {
                    self.waiting.entry(offset).or_default().push(reply);
                }
            }
        }
    }

    /// Leadership was won (a replica becomes the publishing engine) or lost (the other way):
    /// reopening from the snapshot and the log publishes whatever the former leader did not,
    /// exactly once, and then goes on; or turns this into a replica.
    fn change_role(&mut self) {
        let leading = self.config.publish.now();
        tracing::warn!(leading, next_command = self.sequencer.next_command(), "engine role changes: reopening");
        let started = std::time::Instant::now();
        match Sequencer::open(self.config.clone(), Arc::clone(&self.log), self.snapshots.clone()) {
            Ok(sequencer) => {
                mark_recovery(&self.status, self.log.as_ref(), sequencer.next_command());
                self.sequencer = sequencer;
                self.status.recoveries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(leading, next_command = self.sequencer.next_command(), milliseconds = started.elapsed().as_millis() as u64, "engine reopened");
            }
            Err(error) => self.recover(&error),
        }
    }

    /// Reopens the sequencer from its snapshot and the log after a failure the storage may
    /// recover from; damage halts the engine instead (it would fail the same way forever).
    fn recover(&mut self, error: &SequencerError) {
        tracing::warn!(error = %error, "engine: the log failed; reopening from the snapshot");
        self.status.recovered.store(false, Ordering::SeqCst);
        if let Ok(mut failure) = self.status.failure.lock() {
            *failure = Some(error.to_string());
        }
        if is_damage(error) {
            tracing::error!(error = %error, "damage found: the engine stops applying commands until the data is repaired");
            self.status.halted.store(true, Ordering::SeqCst);
            return;
        }
        let mut backoff = tradecraft_log::Backoff::new(RECOVERY_PAUSE, RECOVERY_PAUSE_MAX);
        loop {
            self.drain_requests();
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            // Requests keep being answered (queries) while it waits.
            let until = std::time::Instant::now() + backoff.next_wait();
            while let Some(left) = until.checked_duration_since(std::time::Instant::now()).filter(|left| !left.is_zero()) {
                if self.stop.load(Ordering::SeqCst) {
                    return;
                }
                self.wait_for_work(left);
            }
            let reopened = Sequencer::open(self.config.clone(), Arc::clone(&self.log), self.snapshots.clone());
            if let Err(error) = &reopened
                && is_damage(error)
            {
                return self.recover(error);
            }
            if let Err(error) = &reopened {
                tracing::warn!(error = %error, "engine: reopening failed; trying again");
            }
            if let Ok(sequencer) = reopened {
                mark_recovery(&self.status, self.log.as_ref(), sequencer.next_command());
                self.sequencer = sequencer;
                self.status.recoveries.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut failure) = self.status.failure.lock() {
                    *failure = None;
                }
                return;
            }
        }
    }
}
