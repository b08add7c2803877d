//! The threads of one namespace: a queue of jobs, workers that take them, growth
//! when all are busy, and exit after a keep-alive.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use super::job::{JobRef, StackJob};
use super::latch::spin_until;
use super::worker;
use super::RuntimeInner;
use crate::error::{Error, Result};
use crate::namespace::Namespace;

pub(crate) struct Pool {
    pub(crate) ns: Arc<Namespace>,
    pub(crate) runtime: Arc<RuntimeInner>,
    state: Mutex<State>,
    /// Workers with nothing to do sleep here (after spinning).
    wakeup: Condvar,
    /// `state.queue.len()`, readable without the lock by spinning workers.
    queued: AtomicUsize,
}

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
}

impl Pool {
    pub(crate) fn new(ns: Arc<Namespace>, runtime: Arc<RuntimeInner>) -> Pool {
        Pool {
            ns,
            runtime,
            state: Mutex::new(State::default()),
            wakeup: Condvar::new(),
            queued: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock (jobs run outside it), so a poisoned
        // lock still guards consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on a thread of this pool and waits for it.
    pub(crate) fn run<F, R>(self: &Arc<Self>, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let job = StackJob::new(f);
        // SAFETY: `job` stays in this frame, unmoved, until `wait` returns, and `wait`
        // returns only after the worker has set the latch, its last access to the job.
        // Nothing between `submit` and `wait` can unwind. If `submit` fails, the
        // JobRef was never queued and no thread will run it.
        let job_ref = unsafe { job.as_job_ref() };
        self.submit(job_ref)?;
        job.latch.wait(self.runtime.config.spin);
        Ok(job.into_result())
    }

    /// Queues `job`, first starting a worker if every worker is busy and the limit
    /// allows one. Fails only if the pool has no worker and none could be started.
    fn submit(self: &Arc<Self>, job: JobRef) -> Result<()> {
        // A call from a namespace thread may be part of a cycle (A -> B -> A) whose
        // threads are all blocked: it may exceed the limit so that it cannot deadlock.
        let nested = worker::is_worker();
        let mut state = self.lock();
        let all_busy = state.queue.len() >= state.idle + state.starting;
        if all_busy && (state.threads < self.runtime.config.max_threads || nested) {
            state.threads += 1;
            state.starting += 1;
            drop(state);
            let started = self.start_worker();
            state = self.lock();
            if let Err(err) = started {
                state.threads -= 1;
                state.starting -= 1;
                if state.threads == 0 || nested {
                    return Err(err);
                }
                // Otherwise the busy workers will take the job when they are done.
            }
        }
        state.queue.push_back(job);
        self.queued.store(state.queue.len(), Ordering::Relaxed);
        let awake_idle = state.idle - state.sleeping;
        if state.sleeping > 0 && state.queue.len() > awake_idle {
            self.wakeup.notify_one();
        }
        Ok(())
    }

    /// Starts one worker and waits until it is inside the namespace or has failed to
    /// enter it. The caller has already counted it in `threads` and `starting`.
    fn start_worker(self: &Arc<Self>) -> Result<()> {
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let pool = Arc::clone(self);
        let config = &self.runtime.config;
        let mut builder = thread::Builder::new().name(format!("ns-{}", self.ns.id().ino));
        if let Some(size) = config.stack_size {
            builder = builder.stack_size(size);
        }
        builder
            .spawn(move || worker::main(pool, ready_tx))
            .map_err(|source| Error::ThreadSpawn {
                target: self.ns.to_string(),
                source,
            })?;
        // The worker always sends once before it can exit.
        ready_rx.recv().unwrap_or_else(|_| {
            Err(Error::ThreadSpawn {
                target: self.ns.to_string(),
                source: std::io::Error::other("namespace thread exited before it started"),
            })
        })
    }

    /// Bookkeeping of a worker that has entered the namespace.
    pub(crate) fn worker_started(&self) {
        let mut state = self.lock();
        state.starting -= 1;
        state.idle += 1;
    }

    /// The loop of a worker inside the namespace: take jobs; when there are none,
    /// spin a little, then sleep; after `keep_alive` without work, exit.
    pub(crate) fn serve(&self) {
        let config = &self.runtime.config;
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                state.idle -= 1;
                self.queued.store(state.queue.len(), Ordering::Relaxed);
                drop(state);
                // SAFETY: every queued JobRef is alive until executed (its owner waits
                // on the latch) and is popped, so executed, exactly once.
                unsafe { job.execute() };
                state = self.lock();
                state.idle += 1;
                continue;
            }
            drop(state);
            let work_came = spin_until(config.spin, || self.queued.load(Ordering::Relaxed) > 0);
            state = self.lock();
            if work_came || !state.queue.is_empty() {
                continue;
            }
            state.sleeping += 1;
            let (guard, wait) = self
                .wakeup
                .wait_timeout(state, config.keep_alive)
                .unwrap_or_else(PoisonError::into_inner);
            state = guard;
            state.sleeping -= 1;
            if wait.timed_out() && state.queue.is_empty() {
                state.idle -= 1;
                state.threads -= 1;
                return;
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.runtime.forget_pool(self.ns.id());
    }
}
