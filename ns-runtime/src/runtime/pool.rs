//! The threads of one namespace: a queue of jobs, workers that take them, growth
//! when all are busy, and exit after a keep-alive.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::job::{JobRef, StackJob};
use super::latch::spin_until;
use super::sync::{self, AtomicUsize, Condvar, Mutex, MutexGuard, Ready};
use super::worker;
use super::RuntimeInner;
use crate::error::{Error, Result};
use crate::target::Target;

pub(crate) struct Pool {
    /// This pool, for the workers it starts (each holds it alive).
    me: Weak<Pool>,
    pub(crate) target: Arc<Target>,
    pub(crate) runtime: Arc<RuntimeInner>,
    state: Mutex<State>,
    /// Workers with nothing to do sleep here (after spinning).
    wakeup: Condvar,
    /// `state.queue.len()`, readable without the lock by spinning workers.
    queued: AtomicUsize,
    /// Jobs finished so far: waiting callers tell slow threads from busy ones.
    completed: AtomicUsize,
    /// Idle workers spinning for work: at most one, so that a grown pool does not
    /// spend every CPU waiting.
    spinning: AtomicUsize,
    /// The thread that drives this namespace's async bodies, if one runs.
    #[cfg(all(feature = "tokio", not(loom)))]
    pub(crate) driver: super::driver::DriverSlot,
}

/// How long a caller whose job nobody has taken waits, with no job finishing
/// anywhere in the pool, before it starts another thread.
const GROWTH_PATIENCE: Duration = Duration::from_millis(1);

/// A caller with this many jobs queued ahead of its own parks without spinning.
const PARK_BEHIND: usize = 1;

#[derive(Default)]
struct State {
    queue: VecDeque<JobRef>,
    /// Live workers, including those still starting.
    threads: usize,
    /// Workers spawned but not yet inside the namespace.
    starting: usize,
    /// Workers inside the namespace and not running a job (spinning or sleeping).
    idle: usize,
    /// Idle workers waiting on `wakeup`.
    sleeping: usize,
    /// The runtime was dropped: idle workers exit at once.
    closed: bool,
}

impl Pool {
    pub(crate) fn new(target: Arc<Target>, runtime: Arc<RuntimeInner>) -> Arc<Pool> {
        Arc::new_cyclic(|me| Pool {
            me: me.clone(),
            target,
            runtime,
            state: Mutex::new(State::default()),
            wakeup: Condvar::new(),
            queued: AtomicUsize::new(0),
            completed: AtomicUsize::new(0),
            spinning: AtomicUsize::new(0),
            #[cfg(all(feature = "tokio", not(loom)))]
            driver: Default::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        sync::lock(&self.state)
    }

    /// Makes every worker exit as soon as it is idle (a busy one finishes its job
    /// first): the runtime that owns this pool was dropped.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.wakeup.notify_all();
        #[cfg(all(feature = "tokio", not(loom)))]
        self.driver.close();
    }

    /// This pool as the `Arc` it always lives in.
    pub(crate) fn arc(&self) -> Arc<Pool> {
        let Some(pool) = self.me.upgrade() else {
            unreachable!("a pool is only used through an Arc that keeps it alive");
        };
        pool
    }

    /// Runs `f` on a thread of this pool and waits for it.
    pub(crate) fn run<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let job = StackJob::new(f);
        // SAFETY: `job` stays in this frame, unmoved, until its latch is set, and we
        // do not return before that: `wait` returns only once the latch is set, and
        // nothing between `submit` and `wait` can unwind (a failure to start a
        // thread completes the job with the error instead).
        let job_ref = unsafe { job.as_job_ref() };
        let id = job_ref.id();
        let mut completed = self.completed.load(Ordering::Relaxed);
        let ahead = self.submit(job_ref);
        let spin = self.runtime.config.spin;
        // Behind several other jobs, spinning would only take CPU from the threads
        // that serve them: park at once.
        let own_spin = if ahead >= PARK_BEHIND {
            Duration::ZERO
        } else {
            spin
        };
        if !job.latch.spin(own_spin) {
            // Still waiting. Another thread may start only if the job is not even
            // taken and no job at all finished for a while: then every thread is
            // stuck in something slow. (A thread that is merely descheduled on a
            // busy machine, with jobs finishing around it, is no reason to add
            // threads: they would only take CPU from it.)
            let recheck = spin.max(GROWTH_PATIENCE);
            // loom has no time to be patient with: there, decide before waiting.
            let mut waited = cfg!(loom);
            loop {
                if waited {
                    if job.latch.is_taken() {
                        job.latch.wait();
                        break;
                    }
                    let now = self.completed.load(Ordering::Relaxed);
                    if now == completed {
                        self.grow(id);
                    }
                    completed = now;
                }
                if job.latch.wait_for(recheck) {
                    break;
                }
                waited = true;
            }
        }
        job.into_result()
    }

    /// Queues `job` and wakes a sleeping worker if no awake one will take it. An
    /// empty pool starts its first worker here, so that a failure to enter the
    /// namespace reaches the caller at once.
    /// Returns how many jobs were queued before this one.
    fn submit(&self, job: JobRef) -> usize {
        let id = job.id();
        let mut state = self.lock();
        let ahead = state.queue.len();
        state.queue.push_back(job);
        self.queued.store(state.queue.len(), Ordering::Relaxed);
        let awake_idle = state.idle - state.sleeping;
        let wake = state.sleeping > 0 && state.queue.len() > awake_idle;
        if state.threads == 0 {
            self.start_worker_for(state, id);
            return ahead;
        }
        drop(state);
        if wake {
            // After unlocking: a worker woken while we hold the lock would only
            // block on it again.
            self.wakeup.notify_one();
        }
        ahead
    }

    /// Starts another worker if queued jobs outnumber the workers that will take
    /// them, within the limit.
    fn grow(&self, id: *const ()) {
        let state = self.lock();
        let short = state.queue.len() > state.idle + state.starting;
        // A call from a namespace thread may be part of a cycle (A -> B -> A) whose
        // threads are all blocked: it may exceed the limit so that it cannot deadlock.
        let allowed = state.threads < self.runtime.config.max_threads || worker::is_worker();
        if short && allowed {
            self.start_worker_for(state, id);
        }
    }

    /// Starts a worker on behalf of the caller whose queued job is `id`. If none can
    /// be started and no worker is left to take the queue, every queued job fails
    /// with the error; a nested caller's own job fails too, since the busy workers
    /// may be the ones waiting for it.
    fn start_worker_for(&self, mut state: MutexGuard<'_, State>, id: *const ()) {
        state.threads += 1;
        state.starting += 1;
        drop(state);
        let Err(err) = self.start_worker() else {
            return;
        };
        let mut state = self.lock();
        state.threads -= 1;
        state.starting -= 1;
        let failed: Vec<JobRef> = if state.threads == 0 {
            state.queue.drain(..).collect()
        } else if worker::is_worker() {
            let at = state.queue.iter().position(|job| job.id() == id);
            at.and_then(|at| state.queue.remove(at))
                .into_iter()
                .collect()
        } else {
            Vec::new() // the busy workers take the job when they are done
        };
        self.queued.store(state.queue.len(), Ordering::Relaxed);
        drop(state);
        for job in failed {
            // SAFETY: a queued job is alive and not completed; removed from the queue,
            // it is completed here and nowhere else.
            unsafe { job.fail_and_release(err.replicate()) };
        }
    }

    /// Starts one worker and waits until it is inside the namespace or has failed to
    /// enter it. The caller has already counted it in `threads` and `starting`.
    fn start_worker(&self) -> Result<()> {
        let ready = Arc::new(Ready::new());
        let pool = self.arc();
        let name = self.target.thread_name(false);
        let report = Arc::clone(&ready);
        let worker = sync::spawn(name, self.runtime.config.stack_size, move || {
            worker::main(pool, &report)
        })
        .map_err(|source| Error::ThreadSpawn {
            target: self.target.to_string(),
            source,
        })?;
        // The worker always reports once before it can exit.
        let started = ready.wait();
        if started.is_err() {
            // A thread that could not enter leaves nothing behind: wait until it is gone.
            let _ = worker.join();
        }
        started
    }

    /// Bookkeeping of a worker that has entered the namespace.
    pub(crate) fn worker_started(&self) {
        let mut state = self.lock();
        state.starting -= 1;
        state.idle += 1;
    }

    /// The loop of a worker inside the namespace: take jobs; when there are none,
    /// spin a little, then sleep; after `keep_alive` without work, exit.
    ///
    /// How long it spins adapts to how often calls come: 1.5 times the interval
    /// between its last two jobs, between `spin` and `max_idle_spin`. A namespace
    /// that is called every few hundred microseconds keeps its thread awake (a call
    /// then costs a hand-off, not the wake-up of an idle CPU); one called rarely
    /// lets it sleep after the short spin.
    ///
    /// Before it sleeps, it checks that it is still in its namespace. One that is
    /// not (a body called `setns` through code the attribute cannot see) retires:
    /// it leaves the pool, is reported by [`audit`](crate::audit), and never runs
    /// another job.
    pub(crate) fn serve(&self, tid: u32) {
        let config = &self.runtime.config;
        let longest_spin = config.max_idle_spin.max(config.spin);
        let mut idle_spin = config.spin;
        let mut last_job: Option<Instant> = None;
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                state.idle -= 1;
                self.queued.store(state.queue.len(), Ordering::Relaxed);
                drop(state);
                // SAFETY: every queued JobRef is alive until released (its owner waits
                // on the latch) and is popped, so run and released, exactly once.
                unsafe {
                    job.mark_taken();
                    job.run();
                }
                state = self.lock();
                // Idle again before the owner can return and submit its next job, so
                // that it never sees this worker as busy and starts another.
                state.idle += 1;
                // SAFETY: run above; not touched after this.
                unsafe { job.release() };
                self.completed.fetch_add(1, Ordering::Relaxed);
                // Off the caller's path: it has been released.
                let now = Instant::now();
                if let Some(previous) = last_job.replace(now) {
                    idle_spin = (now - previous)
                        .mul_f32(1.5)
                        .clamp(config.spin, longest_spin);
                }
                continue;
            }
            drop(state);
            let work_came = self.spinning.fetch_add(1, Ordering::Relaxed) == 0
                && spin_until(idle_spin, || self.queued.load(Ordering::Relaxed) > 0);
            self.spinning.fetch_sub(1, Ordering::Relaxed);
            state = self.lock();
            if work_came || !state.queue.is_empty() {
                continue;
            }
            if state.closed {
                state.idle -= 1;
                state.threads -= 1;
                return;
            }
            if let Some(moved) = self.target.moved_away() {
                state.idle -= 1;
                state.threads -= 1;
                drop(state);
                crate::audit::record_retired(tid, moved);
                return;
            }
            state.sleeping += 1;
            let (guard, timed_out) = sync::wait_timeout(&self.wakeup, state, config.keep_alive);
            state = guard;
            state.sleeping -= 1;
            if (timed_out || state.closed) && state.queue.is_empty() {
                state.idle -= 1;
                state.threads -= 1;
                return;
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.runtime.forget_pool(self.target.id());
    }
}
