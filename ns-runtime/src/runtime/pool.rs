//! The calls of one runtime for one target: hand-off cells for the worker that
//! waits on them, a queue behind them, and the bookkeeping of which runtime
//! threads are in the target (present, on their way, asleep).
//!
//! The hot path is the cells (`cells.rs`): a worker with nothing to do arms
//! them and spins; a caller claims one with one compare-and-swap, and the call
//! and its answer travel in the cell's cache line. No lock, no allocation, no
//! other shared write. Every other case (no worker waiting, more callers at once
//! than cells, a body's call into another target) goes through the queue, with
//! the job and its latch on the caller's stack (`job.rs`, `latch.rs`).

use std::collections::VecDeque;
use std::panic;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::cells::{Armed, Cells, Taken, CELLS};
use super::config::Config;
use super::job::{JobRef, StackJob};
use super::latch::{spin_until_timed, TIGHT_LOOKS};
use super::place;
use super::quiet::PAUSED_LOOKS;
use super::sched::{Instead, Sched, Taker};
use super::sleeper::{Sleeper, Woken};
use super::sync::{self, AtomicBool, AtomicUsize, Mutex, MutexGuard};
use super::ticks::Span;
use super::worker::{Look, Worker};
use crate::error::{Error, Result};
use crate::target::{Target, TargetKey};

/// How long a caller whose job nobody has taken waits, with no job finishing
/// anywhere in the pool, before it asks for another thread.
const GROWTH_PATIENCE: Duration = Duration::from_millis(1);

/// Rounds of patience after which a thread asked for and not come is started anew.
const HURRY_AFTER: u32 = 10;

/// How much longer than `spin` a caller spins for a worker that moves to its
/// target (see [`Answer::Moving`]).
const MOVING_SPIN_FACTOR: u32 = 4;

/// Calls in a row that a thread finds waiting in its other cells when it comes
/// back from an answer, before it counts as outrun by its callers (see
/// [`Pool::note_backlog`]): a few tens of microseconds of calls that never let
/// it wait.
const OUTRUN_AFTER: u32 = 128;

/// What spinning workers read, and the queue's counters, on a cache line of
/// their own (away from the cells).
#[repr(align(128))]
struct Hot {
    /// `queue.len()`, readable without the lock by a spinning worker.
    queued: AtomicUsize,
    /// Workers running a queued job.
    busy: AtomicUsize,
    /// Queued jobs finished so far (the cells count their own calls).
    completed: AtomicUsize,
    /// Workers that hold armed cells: they share the cells between them.
    arming: AtomicUsize,
}

pub(crate) struct Pool {
    /// Calls handed straight to a waiting worker.
    cells: Cells,
    hot: Hot,
    /// This pool, for the threads it asks for.
    me: Weak<Pool>,
    /// The target's last handle is gone, or the runtime was dropped: workers leave.
    leaving: AtomicBool,
    state: Mutex<State>,
    /// What the workers enter. Weak: the handles own the target, and once the
    /// last is gone nobody may enter it again.
    target: Weak<Target>,
    key: TargetKey,
    /// For messages: the target as it was displayed.
    name: String,
    /// Thread names: `ns-INODE` (`nsk-` for other targets than one net namespace).
    pub(crate) thread_name: std::ffi::CString,
    /// Served by threads of its own that never move: a mount namespace (its
    /// threads have a private fs struct), or a runtime built with dedicated threads.
    pub(crate) dedicated: bool,
    pub(crate) runtime: Arc<Shared>,
    /// The thread that drives this target's async bodies, if one runs.
    #[cfg(all(feature = "tokio", not(loom)))]
    pub(crate) driver: super::driver_slot::DriverSlot,
}

#[derive(Default)]
struct State {
    queue: VecDeque<JobRef>,
    /// Workers in the target (running a body, waiting or asleep).
    present: usize,
    /// Workers assigned here and on their way.
    incoming: usize,
    /// Present workers asleep, the one asleep longest first.
    sleepers: VecDeque<Sleeper>,
}

/// When a queued job's answer can come, as its caller sees it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// An awake worker here takes it.
    Soon,
    /// An awake worker moves here for it, a `setns` away. The caller spins a
    /// little longer than for a hand-off, which keeps its CPU from going idle:
    /// on a virtual machine, waking an idle CPU costs more than the move, and a
    /// caller visiting targets one after another that slept for each would
    /// find the worker asleep at its next call too.
    Moving,
    /// A sleeping worker was woken for it, or a thread started.
    AfterWakeUp,
    /// After the jobs queued before it.
    Behind,
}

/// What a caller does after queueing, outside the lock.
enum Then {
    Nothing,
    Wake(Sleeper),
    /// Get a thread here (one was counted as incoming).
    Demand,
    /// The thread asked for has not come: start one if nobody took the demand.
    Hurry,
}

impl Pool {
    pub(crate) fn new(target: &Arc<Target>, runtime: Arc<Shared>) -> Arc<Pool> {
        let dedicated = runtime.config.dedicated || target.includes(crate::NsKind::Mnt);
        Arc::new_cyclic(|me| Pool {
            me: me.clone(),
            cells: Cells::new(),
            hot: Hot {
                queued: AtomicUsize::new(0),
                busy: AtomicUsize::new(0),
                completed: AtomicUsize::new(0),
                arming: AtomicUsize::new(0),
            },
            leaving: AtomicBool::new(false),
            // Room from the start for a few sleepers, and for the calls of
            // twice as many callers as cells (256 bytes): going to sleep never
            // allocates in the steady state, nor do up to 16 queued calls.
            state: Mutex::new(State {
                sleepers: VecDeque::with_capacity(4),
                queue: VecDeque::with_capacity(2 * CELLS),
                ..State::default()
            }),
            target: Arc::downgrade(target),
            key: target.key(),
            name: target.to_string(),
            thread_name: std::ffi::CString::new(target.thread_name(false)).unwrap_or_default(),
            dedicated,
            runtime,
            #[cfg(all(feature = "tokio", not(loom)))]
            driver: Default::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        sync::lock(&self.state)
    }

    /// This pool as the `Arc` it lives in (unless it is being dropped).
    pub(crate) fn arc(&self) -> Option<Arc<Pool>> {
        self.me.upgrade()
    }

    /// The target, while a handle keeps it.
    pub(crate) fn target(&self) -> Option<Arc<Target>> {
        self.target.upgrade()
    }

    pub(crate) fn key(&self) -> &TargetKey {
        &self.key
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Whether workers should leave: the target was released or the runtime closed.
    pub(crate) fn is_leaving(&self) -> bool {
        self.leaving.load(Ordering::Acquire)
    }

    /// The target's last handle is gone (or the runtime was dropped): idle workers
    /// leave at once, busy ones after their body; the async thread finishes its
    /// bodies and exits.
    pub(crate) fn release(&self) {
        crate::stats::event!(ns = %self.name, "target released: its threads leave");
        self.leaving.store(true, Ordering::Release);
        let sleepers: Vec<Sleeper> = self.lock().sleepers.drain(..).collect();
        for sleeper in sleepers {
            sleeper.wake();
        }
        #[cfg(all(feature = "tokio", not(loom)))]
        self.driver.close();
    }

    /// Runs `f` on a worker in this pool's target and waits for it: through a
    /// cell if a worker waits on one, else (and always for a call from a
    /// runtime thread, `from_runtime_thread`) through the queue.
    pub(crate) fn run<F, R>(&self, f: F, from_runtime_thread: bool) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let spin = self.runtime.config.spin;
        if from_runtime_thread {
            // A body's call into another target: through the queue. A call in a
            // cell waits for the thread that armed the cell, which may be busy
            // in a body that waits for this one (A → B → A: both calls waited
            // for ever, each in a cell of the other's thread); a queued call
            // gets another thread when it waits too long (`Pool::grow`).
            return self.run_queued(f, spin);
        }
        match self.cells.call(f, spin) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(payload)) => panic::resume_unwind(payload),
            Err(f) => self.run_queued(f, spin),
        }
    }

    /// Runs `f` through the queue: a worker here takes it when free, else one is
    /// woken, moved here or started.
    fn run_queued<F, R>(&self, f: F, spin: Duration) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let job = StackJob::new(f);
        // SAFETY: `job` and `job_ref` stay in this frame, unmoved, until the latch
        // is set, and we do not return before that: every path below ends in a
        // wait on the latch, and nothing between queueing the job and the wait
        // can unwind (a failure to get a thread completes the job with the error).
        let job_ref = unsafe { job.as_job_ref() };
        let mut progress = self.progress();
        // SAFETY: a bitwise copy of the JobRef (it has no destructor); the queue's
        // copy is completed exactly once.
        let answer = self.submit(unsafe { std::ptr::read(&job_ref) });
        // After waking a sleeping thread (or asking for one), the answer takes a
        // wake-up anyway: park at once. But first give up the CPU once: the woken
        // thread often lands on this one, and then answers before we sleep,
        // which spares us a sleep and a wake-up (about half the time of a sparse
        // call on the virtual machines measured). Behind other jobs, spin as for
        // a job taken soon: the spin yields its CPU to the threads that serve
        // them, and a caller that parked would cost its worker a wake-up (with
        // more callers than cells, 16 callers on 2 CPUs took 2.0 µs a call when
        // those parked, 0.7 µs when they spin).
        if answer == Answer::AfterWakeUp {
            sync::thread::yield_now();
        }
        let own_spin = match answer {
            Answer::Soon | Answer::Behind => spin,
            Answer::Moving => spin * MOVING_SPIN_FACTOR,
            Answer::AfterWakeUp => Duration::ZERO,
        };
        if !job.latch.spin_for_answer(own_spin) {
            // Still waiting. Another thread may come only if the job is not even
            // taken and no job at all finished for a while: then every thread here
            // is stuck in something slow. (A thread that is merely descheduled on
            // a busy machine, with jobs finishing around it, is no reason to add
            // threads: they would only take CPU from it.)
            let recheck = spin.max(GROWTH_PATIENCE);
            // loom has no time to be patient with: there, decide before waiting.
            let mut waited = cfg!(loom);
            let mut patience_spent = 0;
            loop {
                if waited {
                    if job.latch.is_taken() {
                        job.latch.wait();
                        break;
                    }
                    let now = self.progress();
                    if now == progress {
                        patience_spent += 1;
                        self.grow(job_ref.id(), patience_spent);
                    }
                    progress = now;
                }
                if job.latch.wait_for(recheck) {
                    break;
                }
                waited = true;
            }
        }
        job.into_result()
    }

    /// Queues `job` and makes sure a worker will take it: one awake here, a
    /// sleeper woken, or a thread got from the runtime. Says when the answer
    /// can come.
    fn submit(&self, job: JobRef) -> Answer {
        let mut state = self.lock();
        let ahead = state.queue.len();
        state.queue.push_back(job);
        self.hot.queued.store(state.queue.len(), Ordering::Release);
        let then = self.see_to_queue(&mut state, ahead > 0);
        drop(state);
        let answer = self.then(then);
        if ahead > 0 {
            Answer::Behind
        } else {
            answer
        }
    }

    /// Decides who takes the queued jobs. `crowded`: callers are queueing behind
    /// each other, so another thread adds throughput (up to the runtime's
    /// `throughput_threads_per_ns`).
    fn see_to_queue(&self, state: &mut State, crowded: bool) -> Then {
        if state.queue.is_empty() {
            return Then::Nothing;
        }
        let short = state.queue.len() > self.idle_awake(state) + state.incoming;
        if short {
            if let Some(sleeper) = state.sleepers.pop_front() {
                return Then::Wake(sleeper);
            }
        }
        let threads = state.present + state.incoming;
        // Callers queueing behind each other: another thread adds throughput, as
        // long as the threads and their callers each have CPUs (by default half
        // the CPUs serve one target at most this way; on two CPUs, one thread).
        let wanted =
            threads == 0 || (crowded && short && threads < self.runtime.config.throughput_limit());
        if wanted {
            state.incoming += 1;
            return Then::Demand;
        }
        Then::Nothing
    }

    /// Does what `see_to_queue` decided. Returns when the first queued job can
    /// be answered (never [`Answer::Behind`]: the caller knows what is ahead).
    fn then(&self, then: Then) -> Answer {
        match then {
            Then::Nothing => Answer::Soon,
            Then::Wake(sleeper) => {
                sleeper.wake();
                Answer::AfterWakeUp
            }
            Then::Demand if self.demand() => Answer::Moving,
            Then::Demand => Answer::AfterWakeUp,
            Then::Hurry => {
                let me = self.arc();
                if let Some(me) = me.and_then(|me| self.runtime.sched.hurry(&me)) {
                    crate::stats::event!(ns = %self.name, "a thread asked for did not come: starting one");
                    me.start_thread();
                }
                Answer::AfterWakeUp
            }
        }
    }

    /// Gets a thread here (counted as incoming already): one of this pool's own
    /// for a dedicated pool, else whatever the runtime has. Returns whether an
    /// awake thread will come, rather than one woken or started.
    fn demand(&self) -> bool {
        let Some(me) = self.arc() else {
            return false; // being dropped: nobody can be waiting
        };
        crate::stats::event!(ns = %self.name, "target asks for a thread");
        if self.dedicated {
            me.start_thread();
            return false;
        }
        match self.runtime.sched.demand(me) {
            Taker::Awake => true,
            Taker::Woken => false,
            Taker::Start(pool) => {
                pool.start_thread();
                false
            }
        }
    }

    /// Starts a runtime thread for this pool (counted here as incoming); if
    /// none can be started, the jobs waiting for it hear why.
    pub(crate) fn start_thread(self: Arc<Pool>) {
        if let Err(err) = (self.runtime.start_thread)(Arc::clone(&self)) {
            self.arrival_failed(&err);
        }
    }

    /// Workers here that are neither asleep nor running a body (a guess: read
    /// without the workers' lock, and a call waiting in a cell counts its
    /// worker as busy already).
    fn idle_awake(&self, state: &State) -> usize {
        let busy = self.hot.busy.load(Ordering::Relaxed) + self.cells.holding_calls();
        state.present.saturating_sub(state.sleepers.len() + busy)
    }

    /// Calls finished so far, through the queue or the cells (a caller waiting
    /// in the queue tells slow threads from busy ones by it).
    fn progress(&self) -> usize {
        self.hot
            .completed
            .load(Ordering::Relaxed)
            .wrapping_add(self.cells.calls())
    }

    /// Job `id` has waited a while untaken, with no job finishing here. If every
    /// worker here is stuck in a body, wakes a sleeper, or asks for another thread
    /// within the limit (unless one is on its way).
    fn grow(&self, id: *const (), patience_spent: u32) {
        let mut state = self.lock();
        if !state.queue.iter().any(|job| job.id() == id) {
            return; // taken meanwhile
        }
        let then = if let Some(sleeper) = state.sleepers.pop_front() {
            Then::Wake(sleeper)
        } else if self.idle_awake(&state) > 0 {
            // A worker here is neither in a body nor asleep: merely descheduled on
            // a busy machine, it takes the job when it runs. No reason to add one.
            Then::Nothing
        } else if state.incoming > 0 {
            // A thread was asked for and has not come. On a busy machine it may
            // just not have run yet; after ten rounds of patience, the awake worker
            // counted on to take the demand is more likely stuck in a body (maybe
            // one that waits for this very call): start one instead.
            if patience_spent >= HURRY_AFTER || cfg!(loom) {
                Then::Hurry
            } else {
                Then::Nothing
            }
        } else if state.present < self.runtime.config.max_threads || place::is_runtime_thread() {
            // (A call from a runtime thread may be part of a cycle, A -> B -> A,
            // whose threads are all blocked: it may exceed the limit so that it
            // cannot deadlock.)
            state.incoming += 1;
            Then::Demand
        } else {
            Then::Nothing
        };
        drop(state);
        self.then(then);
    }

    /// What [`Runtime::stats`](super::Runtime::stats) shows of this pool.
    pub(crate) fn stats(&self) -> crate::stats::TargetStats {
        let state = self.lock();
        crate::stats::TargetStats::new(
            self.name.clone(),
            state.present,
            state.incoming,
            state.sleepers.len(),
            state.queue.len(),
            self.progress() as u64,
        )
    }

    /// A worker has arrived in the target.
    pub(crate) fn arrived(&self) {
        let mut state = self.lock();
        state.incoming -= 1;
        state.present += 1;
    }

    /// A worker on its way here could not enter (or none could be started). If no
    /// other is here or coming, every queued job fails with `err`.
    pub(crate) fn arrival_failed(&self, err: &Error) {
        let mut state = self.lock();
        state.incoming -= 1;
        if state.present + state.incoming > 0 {
            return;
        }
        let failed: Vec<JobRef> = state.queue.drain(..).collect();
        self.hot.queued.store(0, Ordering::Release);
        drop(state);
        for job in failed {
            // SAFETY: a queued job is alive and not completed; removed from the queue,
            // it is completed here and nowhere else.
            unsafe { job.fail_and_release(err.replicate()) };
        }
    }

    /// A worker leaves the target (to serve elsewhere, go home or exit). If jobs
    /// are queued and no other awake worker is here, someone else is found.
    pub(crate) fn left(&self) {
        let mut state = self.lock();
        state.present -= 1;
        let then = self.see_to_queue(&mut state, false);
        drop(state);
        self.then(then);
    }

    fn pop(&self) -> Option<JobRef> {
        if self.hot.queued.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut state = self.lock();
        let job = state.queue.pop_front();
        self.hot.queued.store(state.queue.len(), Ordering::Release);
        job
    }

    /// Runs a job taken from the queue and tells its owner. Returns when the
    /// body began and ended.
    ///
    /// `counted`: whether the worker is counted as awake for the runtime's
    /// demands; it is from the end of the body on.
    fn run_job(&self, job: JobRef, counted: &mut bool) -> Span {
        self.hot.busy.fetch_add(1, Ordering::Relaxed);
        // SAFETY: a job in the queue is alive until released (its owner waits on
        // the latch), and was taken from there exactly once.
        let body = unsafe {
            job.mark_taken();
            job.run()
        };
        // Idle again before the owner can return and call again, so that it never
        // takes this worker for a busy one and asks for another.
        self.hot.busy.fetch_sub(1, Ordering::Relaxed);
        self.count_awake(counted);
        self.hot.completed.fetch_add(1, Ordering::Relaxed);
        // SAFETY: run above; not touched after this.
        unsafe { job.release() };
        body
    }

    /// Runs a call from one of the worker's cells and answers it. Returns when
    /// the body began and ended.
    ///
    /// After a slow body, a worker with other cells gives this one up with the
    /// answer: calls in its cells would wait for such bodies one after another
    /// (see [`Pool::wait`]). A caller of the cell that had to yield its CPU for
    /// an answer, on the worker's CPU, shares it with the worker: then the
    /// worker moves off it, after answering (see `cpu.rs`).
    fn answer(
        &self,
        call: Taken,
        worker: &mut Worker,
        armed: &mut Armed,
        counted: &mut bool,
    ) -> Span {
        let body = self.cells.run(&call);
        self.count_awake(counted);
        let crowded = self.cells.crowded_here(&call);
        let last = self.is_leaving() || (armed.count() > 1 && worker.slow(body));
        worker.caller_spun = self.cells.answer(call, armed, last);
        let looks = worker.quiet_looks(body);
        if !last {
            armed.leave_alone(looks);
        }
        if let Some(cpu) = crowded {
            // A steady caller's call, which the thread woke for on its caller's
            // CPU: every such call would cost its caller a yield.
            let at_once = worker.pace.expecting();
            worker.mover.leave(cpu, at_once);
        }
        body
    }

    /// Notes whether the call just answered waited behind another caller's
    /// (`behind`: it was waiting in another cell than the one answered before
    /// it, when the worker came back from that answer). A worker whose callers
    /// outrun it for [`OUTRUN_AFTER`] calls in a row gives up its cells beyond
    /// its share (the threads that come arm them) and asks for another thread,
    /// up to `throughput_threads_per_ns`; outrun as long again while the one
    /// asked for has not come, it starts one (a demand counts on an idle awake
    /// thread, and the only one may be this busy one). Callers that each found
    /// a cell never queue: this is how short bodies from several callers get
    /// more threads. (After the answer: its caller does not wait for this.)
    fn note_backlog(
        &self,
        behind: bool,
        worker: &mut Worker,
        armed: &mut Armed,
        counted: &mut bool,
    ) {
        if !behind {
            worker.backlog = 0;
            return;
        }
        worker.backlog += 1;
        if worker.backlog < OUTRUN_AFTER {
            return;
        }
        worker.backlog = 0;
        if self.is_leaving() {
            return;
        }
        let limit = self.runtime.config.throughput_limit();
        let mut state = self.lock();
        let threads = state.present + state.incoming;
        let then = if state.incoming > 0 {
            Then::Hurry
        } else if threads < limit {
            state.incoming += 1;
            Then::Demand
        } else {
            Then::Nothing
        };
        drop(state);
        let coming = threads + usize::from(matches!(then, Then::Demand));
        self.cells.trim(armed, CELLS / coming.clamp(1, CELLS));
        if matches!(then, Then::Nothing) {
            return;
        }
        crate::stats::event!(ns = %self.name, "callers outrun its thread: another comes");
        // Busy, so not an idle thread that could take the demand itself.
        if std::mem::take(counted) {
            self.runtime.stop_awake();
        }
        self.then(then);
    }

    /// The next call in the worker's cells (see [`Cells::take`]); with jobs
    /// queued, also one in the cell it answered last, which otherwise the
    /// looks after its answer pass by (`quiet.rs`): no queued job goes before
    /// a call waiting in a cell.
    fn take_call(&self, armed: &mut Armed) -> Option<Taken> {
        self.cells.take(armed).or_else(|| {
            if self.hot.queued.load(Ordering::Relaxed) == 0 {
                return None;
            }
            armed.leave_alone(0);
            self.cells.take(armed)
        })
    }

    /// Counts the worker as awake for the runtime, at the end of a body and
    /// before its caller hears back: a caller visiting targets one after
    /// another then finds this thread to move to the next, rather than a
    /// thread started for each call. (Not while jobs are queued here: it takes
    /// them next, uncounted.)
    fn count_awake(&self, counted: &mut bool) {
        if !self.dedicated && !*counted && self.hot.queued.load(Ordering::Relaxed) == 0 {
            self.runtime.sched.awake(1);
            *counted = true;
        }
    }

    /// Serves calls until this worker should go elsewhere; see [`Next`].
    ///
    /// The worker answers the calls in its cells and the queued jobs in turn;
    /// with none, it arms cells and spins on them (how long adapts to how often
    /// calls come: see `pace.rs`), then gives them up and sleeps until a caller
    /// or the runtime wakes it or the keep-alive runs out. Before it sleeps it
    /// checks that it is still in the target; one that is not (a body moved it)
    /// is retired, and gives the calls in its cells back to their callers.
    pub(crate) fn serve(&self, worker: &mut Worker) -> Next {
        let config = &self.runtime.config;
        // Counted among the runtime's awake idle workers (which take demand from
        // other pools). Stays counted from one call to the next, so that
        // back-to-back calls touch no shared counter.
        let mut counted = false;
        let mut armed = Armed::default();
        // (Nobody here has called it yet.)
        worker.caller_spun = false;
        worker.backlog = 0;
        let next = loop {
            let waiting = self.take_call(&mut armed);
            if waiting.is_none() {
                // No call was waiting as it came back: not outrun.
                worker.backlog = 0;
            }
            let body = if let Some(call) = waiting {
                let behind = call.waited_behind_another(&armed);
                let body = self.answer(call, worker, &mut armed, &mut counted);
                self.note_backlog(behind, worker, &mut armed, &mut counted);
                Some(body)
            } else if let Some(job) = self.pop() {
                worker.pace.call_found();
                // Busy with queued jobs (callers are waiting here): not awake for
                // other targets' demands, which must not wait behind them.
                if std::mem::take(&mut counted) {
                    self.runtime.stop_awake();
                }
                worker.caller_spun = false;
                Some(self.run_job(job, &mut counted))
            } else if let Some(call) = self.wait(worker, &mut armed, &mut counted) {
                Some(self.answer(call, worker, &mut armed, &mut counted))
            } else if self.hot.queued.load(Ordering::Acquire) > 0 {
                continue;
            } else {
                // Give the cells up; a call that came meanwhile is served.
                self.give_up(&mut armed).map(|call| {
                    worker.pace.call_found();
                    self.answer(call, worker, &mut armed, &mut counted)
                })
            };
            if let Some(body) = body {
                if worker.pace.job_done() {
                    // Calls are sparse: the caller just woken (or preempted by
                    // us) often waits for this CPU; everything else can wait.
                    sync::thread::yield_now();
                }
                if !worker.after_call(&self.key, body) {
                    self.bounce_all(&mut armed);
                    break Next::Retire;
                }
                continue;
            }
            // Idle, every cell given up. (A job queued meanwhile is found under
            // the lock, before sleeping.)
            //
            // Still counted as awake (if it was): a demand coming now is taken
            // before sleeping, rather than met with a thread started for it.
            if self.is_leaving() {
                // It goes home and may serve elsewhere from there: as before any
                // move, a thread a body moved is retired instead.
                if !worker.still_in(&self.key, Look::BeforeMoving) {
                    break Next::Retire;
                }
                break Next::Leave;
            }
            let remaining = config.keep_alive.saturating_sub(worker.pace.idle_for());
            if remaining.is_zero() {
                break Next::Exit;
            }
            let timeout = worker.pace.sleep_for(remaining);
            match self.sleep(worker, timeout, &mut counted) {
                Ok(waker) => {
                    worker.pace.woken(waker);
                    worker.caller_spun = false;
                }
                Err(next) => break next,
            }
        };
        if counted {
            self.runtime.stop_awake();
        }
        next
    }

    /// Arms cells (while short calls come back to back, its share of them, the
    /// workers here sharing them all; else one: a call in a cell waits for that
    /// cell's worker, and slow bodies are better met by more workers, through
    /// the queue; with eight cells armed, eight callers of 1 ms bodies waited
    /// for one worker) and spins for as long as the pace says, until a call
    /// comes to one of them (returned), a job is queued, the target is released
    /// or (for a worker that may move) another target asks for a thread.
    fn wait(&self, worker: &mut Worker, armed: &mut Armed, counted: &mut bool) -> Option<Taken> {
        let quick_calls = worker.pace.back_to_back() && !worker.slow_body;
        let wanted = if quick_calls {
            let others = self.hot.arming.load(Ordering::Relaxed) - usize::from(armed.counted);
            CELLS / (others + 1).min(CELLS)
        } else {
            1
        };
        self.cells.trim(armed, wanted);
        if self.is_leaving() || !self.cells.arm(armed, wanted) {
            return None; // (other workers serve every cell)
        }
        if !std::mem::replace(&mut armed.counted, true) {
            self.hot.arming.fetch_add(1, Ordering::Relaxed);
        }
        let sched = &self.runtime.sched;
        let stealable = !self.dedicated;
        if stealable && !*counted {
            sched.awake(1);
            *counted = true;
        }
        let mut call = None;
        // Looks with no pause between them only while quick calls come back to
        // back from a caller that spins for its answers: others wait longer
        // for their next call, and on a busy machine a thread that never
        // pauses keeps its CPU from the threads that would make or answer it
        // (a caller that parked for every answer, beside eight callers of 1 ms
        // bodies and their eight threads on two CPUs: those ran 3–5 bodies at
        // once instead of 7).
        let tight = if quick_calls && worker.caller_spun {
            TIGHT_LOOKS
        } else {
            armed.leave_alone_at_most(PAUSED_LOOKS);
            0
        };
        let (_, clocked) = spin_until_timed(worker.pace.window(), tight, || {
            call = self.cells.take(armed);
            call.is_some()
                || self.hot.queued.load(Ordering::Relaxed) > 0
                || self.is_leaving()
                || (stealable && sched.has_demand())
        });
        if let Some(since) = clocked {
            worker.pace.waiting_since(since);
        }
        // (A call queued instead is taken next, from the queue or a cell.)
        if call.is_some() || self.hot.queued.load(Ordering::Relaxed) > 0 {
            worker.pace.call_found();
        }
        call
    }

    /// Gives every call in the worker's cells back to its caller, unrun, and the
    /// cells up (the worker cannot serve this target any more).
    fn bounce_all(&self, armed: &mut Armed) {
        while let Some(call) = self.give_up(armed) {
            self.cells.bounce(call, armed);
        }
    }

    /// Gives the worker's cells up (see [`Cells::give_up`]).
    fn give_up(&self, armed: &mut Armed) -> Option<Taken> {
        let call = self.cells.give_up(armed);
        if call.is_none() && std::mem::take(&mut armed.counted) {
            self.hot.arming.fetch_sub(1, Ordering::Relaxed);
        }
        call
    }

    /// Sleeps until woken or `timeout`, unless a job, a release or (for a worker
    /// that may move) a demand comes first. `Ok`: look again; it says when the
    /// thread was woken (or a job found), `None` if the timeout ran out.
    /// `Err`: serve no more here.
    /// `counted`: the worker is counted as awake; it is not any more once it
    /// looked at the runtime's demands.
    fn sleep(
        &self,
        worker: &mut Worker,
        timeout: Duration,
        counted: &mut bool,
    ) -> Result<Option<Woken>, Next> {
        let sched = &self.runtime.sched;
        if !self.dedicated && sched.has_demand() {
            if !worker.still_in(&self.key, Look::BeforeMoving) {
                return Err(Next::Retire);
            }
            if let Some(pool) = sched.take_demand(counted) {
                return Err(Next::Serve(pool));
            }
        }
        // Not moving: look at all of it before sleeping (and before anyone can
        // count on this thread as a sleeper to wake).
        if !worker.still_in(&self.key, Look::BeforeSleeping) {
            return Err(Next::Retire);
        }
        let sleeper = worker.sleeper();
        {
            let mut state = self.lock();
            if !state.queue.is_empty() {
                return Ok(Some(Woken {
                    at: Instant::now(),
                    cpu: None,
                }));
            }
            if self.is_leaving() {
                return Err(Next::Leave);
            }
            state.sleepers.push_back(sleeper.clone());
        }
        if !self.dedicated {
            // Under the runtime's lock: a demand that came while this worker was
            // counted as awake is taken now, instead of sleeping on it.
            match sched.sleep_unless_demand(&sleeper, counted) {
                Instead::Serve(pool) => {
                    self.forget_sleeper(&sleeper);
                    return Err(Next::Serve(pool));
                }
                Instead::Exit => {
                    self.forget_sleeper(&sleeper);
                    return Err(Next::Leave);
                }
                Instead::Sleep => {}
            }
        }
        if let Some(cpu) = worker.pace.caller_cpu_before_timer() {
            // The timer must not wake the thread where its caller will run.
            worker.mover.leave(cpu, true);
        }
        let waker = sleeper.park(timeout);
        if !self.dedicated {
            sched.forget_sleeper(&sleeper);
        }
        self.forget_sleeper(&sleeper);
        Ok(waker)
    }

    fn forget_sleeper(&self, sleeper: &Sleeper) {
        self.lock().sleepers.retain(|s| !s.is(sleeper));
    }
}

/// What the threads and pools of a runtime share (in one process). Here, beside
/// [`Pool`], because each refers to the other: a pool asks its runtime for
/// threads, and the runtime releases its pools when it is dropped.
pub(crate) struct Shared {
    /// Tells this runtime's pool from another's in an anchor's list (and a forked
    /// child's from its parent's).
    pub(crate) id: usize,
    /// The `fork` generation of the process that made it.
    pub(crate) generation: usize,
    pub(crate) config: Config,
    pub(crate) sched: Sched<Pool>,
    /// Starts a runtime thread whose first assignment is the pool given
    /// (counted there as incoming). The thread's life (`thread.rs`) is built
    /// on pools: the runtime hands it in rather than this module reaching up.
    start_thread: fn(Arc<Pool>) -> Result<()>,
    closed: AtomicBool,
    /// Every pool made, to release them when the runtime is dropped.
    pools: Mutex<Vec<Weak<Pool>>>,
}

impl Shared {
    pub(crate) fn new(config: Config, start_thread: fn(Arc<Pool>) -> Result<()>) -> Arc<Shared> {
        static IDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        Arc::new(Shared {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            generation: super::fork::generation(),
            config,
            sched: Sched::new(),
            start_thread,
            closed: AtomicBool::new(false),
            pools: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn track(&self, pool: &Arc<Pool>) {
        let mut pools = sync::lock(&self.pools);
        pools.retain(|pool| pool.strong_count() > 0);
        pools.push(Arc::downgrade(pool));
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Every pool of this runtime still alive.
    pub(crate) fn live_pools(&self) -> Vec<Arc<Pool>> {
        let pools = sync::lock(&self.pools);
        pools.iter().filter_map(Weak::upgrade).collect()
    }

    /// The runtime was dropped: every pool is released, idle threads exit.
    /// Returns the pools it released (for the anchors to forget).
    #[must_use = "the anchors must forget the pools returned (`anchor::forget_runtime`)"]
    pub(crate) fn close(&self) -> Vec<Arc<Pool>> {
        self.closed.store(true, Ordering::Release);
        let pools = self.live_pools();
        for pool in &pools {
            pool.release();
        }
        self.sched.close();
        pools
    }

    /// A worker counted as awake stops looking at demands (see
    /// [`Sched::stop_awake`]); a thread is started for a demand that counted
    /// on it, if one must be.
    pub(crate) fn stop_awake(&self) {
        if let Some(pool) = self.sched.stop_awake() {
            pool.start_thread();
        }
    }
}

/// Why a worker stopped serving a pool.
pub(crate) enum Next {
    /// Go and serve another pool (taken from the runtime's demand).
    Serve(Arc<Pool>),
    /// The target was released or the runtime closed.
    Leave,
    /// Idle for the keep-alive.
    Exit,
    /// A body moved the thread out of the target.
    Retire,
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::namespace::{Namespace, Origin};
    use crate::sys::NsFile;
    use crate::NsKind;

    /// Counts the thread asked for as on its way, and starts none.
    fn start_none(_: Arc<Pool>) -> Result<()> {
        Ok(())
    }

    /// A pool of a runtime whose pools grow to `throughput_threads` for
    /// throughput, with one worker (this thread) holding every cell.
    fn pool_with_all_cells(throughput_threads: usize) -> (Arc<Pool>, Worker, Armed) {
        let file = NsFile::open(Path::new("/proc/self/ns/uts"), Some(NsKind::Uts)).unwrap();
        let ns = Arc::new(Namespace {
            file,
            origin: Origin::Thread,
        });
        let target = Arc::new(Target::new(vec![ns], None).unwrap());
        let config = Config {
            throughput_threads,
            ..Config::default()
        };
        let worker = Worker::new(&config);
        let pool = Pool::new(&target, Shared::new(config, start_none));
        pool.lock().present = 1;
        let mut armed = Armed::default();
        assert!(pool.cells.arm(&mut armed, CELLS));
        assert_eq!(armed.count(), CELLS);
        (pool, worker, armed)
    }

    /// Notes `calls` answered calls that waited behind another (`behind`), or
    /// not, for a worker that is not counted as awake.
    fn note(pool: &Pool, worker: &mut Worker, armed: &mut Armed, calls: u32, behind: bool) {
        let mut counted = false;
        for _ in 0..calls {
            pool.note_backlog(behind, worker, armed, &mut counted);
        }
    }

    #[test]
    fn a_thread_its_callers_outrun_asks_for_another_and_shares_its_cells() {
        let (pool, mut worker, mut armed) = pool_with_all_cells(3);
        note(&pool, &mut worker, &mut armed, OUTRUN_AFTER - 1, true);
        assert_eq!(pool.stats().incoming, 0, "not outrun for long enough yet");
        note(&pool, &mut worker, &mut armed, 1, true);
        assert_eq!(pool.stats().incoming, 1, "asked for a thread");
        assert_eq!(armed.count(), CELLS / 2, "kept its share of the cells");
        // One on its way: no other asked for until it came.
        note(&pool, &mut worker, &mut armed, OUTRUN_AFTER, true);
        assert_eq!(pool.stats().incoming, 1);
        pool.arrived();
        note(&pool, &mut worker, &mut armed, OUTRUN_AFTER, true);
        assert_eq!(pool.stats().incoming, 1, "a third, the limit");
        pool.arrived();
        note(&pool, &mut worker, &mut armed, OUTRUN_AFTER, true);
        assert_eq!(pool.stats().incoming, 0, "none beyond throughput_threads");
    }

    #[test]
    fn a_call_that_did_not_wait_behind_another_starts_the_count_again() {
        let (pool, mut worker, mut armed) = pool_with_all_cells(3);
        note(&pool, &mut worker, &mut armed, OUTRUN_AFTER - 1, true);
        note(&pool, &mut worker, &mut armed, 1, false);
        note(&pool, &mut worker, &mut armed, OUTRUN_AFTER - 1, true);
        assert_eq!(pool.stats().incoming, 0);
        assert_eq!(armed.count(), CELLS, "kept every cell");
    }

    #[test]
    fn an_outrun_thread_whose_demand_nobody_takes_starts_a_thread() {
        let (pool, mut worker, mut armed) = pool_with_all_cells(3);
        let sched = &pool.runtime.sched;
        // Another worker counted as awake (busy, as it may be), and this one.
        sched.awake(2);
        let mut counted = true;
        for _ in 0..OUTRUN_AFTER {
            pool.note_backlog(true, &mut worker, &mut armed, &mut counted);
        }
        assert!(!counted, "busy: no longer counted as awake for demands");
        assert!(sched.has_demand(), "left for the awake worker to take");
        assert_eq!(pool.stats().incoming, 1);
        note(&pool, &mut worker, &mut armed, OUTRUN_AFTER, true);
        assert!(
            !sched.has_demand(),
            "withdrawn: a thread was started instead"
        );
        assert_eq!(pool.stats().incoming, 1, "still the one thread on its way");
    }

    #[test]
    fn a_released_target_asks_for_no_thread() {
        let (pool, mut worker, mut armed) = pool_with_all_cells(3);
        pool.release();
        note(&pool, &mut worker, &mut armed, OUTRUN_AFTER, true);
        assert_eq!(pool.stats().incoming, 0);
    }

    /// Two calls queued behind each other, one thread here: another is asked
    /// for only below the throughput setting.
    #[test]
    fn callers_queueing_behind_each_other_get_threads_up_to_the_setting() {
        for (setting, another) in [(1, false), (2, true), (3, true)] {
            let (pool, _worker, _armed) = pool_with_all_cells(setting);
            let job = StackJob::new(|| ());
            let mut state = pool.lock();
            for _ in 0..2 {
                // SAFETY: never run or completed: the queue is emptied below,
                // while `job` is alive.
                state.queue.push_back(unsafe { job.as_job_ref() });
            }
            let then = pool.see_to_queue(&mut state, true);
            state.queue.clear();
            assert_eq!(matches!(then, Then::Demand), another, "setting {setting}");
            assert_eq!(state.incoming, usize::from(another), "setting {setting}");
        }
    }

    #[test]
    fn at_the_throughput_limit_an_outrun_thread_asks_for_none() {
        let (pool, mut worker, mut armed) = pool_with_all_cells(1);
        note(&pool, &mut worker, &mut armed, 4 * OUTRUN_AFTER, true);
        assert_eq!(pool.stats().incoming, 0);
        assert_eq!(armed.count(), CELLS, "the only thread keeps every cell");
    }
}
