//! Which runtime thread serves a target that has none: an awake idle thread moves
//! there (one `setns`), else a sleeping one is woken, else a thread is started.
//!
//! Pools that need a thread post a *demand*; awake idle workers (spinning in a
//! pool whose queue is empty, or at home) look at the demand count while they
//! spin and take one. A pool asks only when no awake worker could: then the
//! runtime wakes the thread asleep longest, or starts one.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::pool::Pool;
use super::sync::{self, AtomicIsize, AtomicUsize, Mutex, Parker};

/// A runtime thread asleep, as pools and the runtime know it: a flag and the
/// thread's park token.
///
/// The flag, not the token, says whether it was woken: a token may also come
/// from elsewhere (a latch set late for a call the thread made from a body), and
/// a wake-up may come while the sleeper is still on its way to sleep; either way
/// the flag decides. The flag is under a mutex that nobody holds for long, so
/// that the lock alone orders the waker's store before the sleeper's check. A
/// condition variable would make the woken thread take that lock again on its
/// way out of the kernel, and woke it more slowly on the virtual machines
/// measured than the park token.
#[derive(Clone)]
pub(crate) struct Sleeper(Arc<SleeperInner>);

struct SleeperInner {
    /// When it was woken, if it was.
    woken: Mutex<Option<Woken>>,
    /// The sleeping thread (the one that made the sleeper).
    parker: Parker,
}

impl Sleeper {
    /// A sleeper for the calling thread.
    pub(crate) fn new() -> Sleeper {
        Sleeper(Arc::new(SleeperInner {
            woken: Mutex::new(None),
            parker: Parker::current(),
        }))
    }

    pub(crate) fn is(&self, other: &Sleeper) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    pub(crate) fn wake(&self) {
        let woken = Woken {
            at: Instant::now(),
            cpu: super::cpu::current(),
        };
        *sync::lock(&self.0.woken) = Some(woken);
        self.0.parker.unpark();
    }

    /// Sleeps until woken (also by a wake-up that came before) or `timeout`
    /// (loom has no time: until woken, unless the timeout is zero). Called by the
    /// thread that made the sleeper. Returns how it was woken; `None`: the
    /// timeout ran out.
    pub(crate) fn park(&self, timeout: Duration) -> Option<Woken> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(woken) = sync::lock(&self.0.woken).take() {
                return Some(woken);
            }
            // (Under loom, only a zero timeout ends the wait: wall-clock time
            // would make the model's executions differ from one another.)
            let left = if cfg!(loom) {
                timeout
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            if left.is_zero() {
                return None;
            }
            self.0.parker.park_timeout(left);
        }
    }
}

/// When a sleeper was woken, and on which CPU its waker ran: for a sleeper
/// woken for a call, when the call came and where its caller runs (see
/// `cadence.rs`).
#[derive(Clone, Copy)]
pub(crate) struct Woken {
    pub(crate) at: Instant,
    pub(crate) cpu: Option<usize>,
}

pub(crate) struct Sched {
    state: Mutex<State>,
    /// Workers that spin and look at `demands` (counted in and out by them).
    awake: AtomicIsize,
    /// `state.demand.len()`, read by spinning workers.
    demands: AtomicUsize,
}

#[derive(Default)]
struct State {
    /// Pools waiting for a thread (each counted one incoming).
    demand: VecDeque<Arc<Pool>>,
    /// Workers that may move, asleep; the one asleep longest first.
    sleepers: VecDeque<Sleeper>,
    /// The runtime was dropped: nobody goes to sleep any more.
    closed: bool,
}

/// What a worker about to sleep does instead, or not.
pub(crate) enum Instead {
    /// Serve this pool, which asked for a thread.
    Serve(Arc<Pool>),
    /// The runtime was dropped: exit.
    Exit,
    /// Nothing: it is registered as asleep (park, then [`Sched::forget_sleeper`]).
    Sleep,
}

impl Sched {
    pub(crate) fn new() -> Sched {
        Sched {
            // Room from the start: sleeping and asking for threads never allocate
            // in the steady state.
            state: Mutex::new(State {
                demand: VecDeque::with_capacity(8),
                sleepers: VecDeque::with_capacity(8),
                ..State::default()
            }),
            awake: AtomicIsize::new(0),
            demands: AtomicUsize::new(0),
        }
    }

    /// A worker starts (`1`) or stops (`-1`) spinning where it sees demands.
    pub(crate) fn awake(&self, delta: isize) {
        self.awake.fetch_add(delta, Ordering::SeqCst);
    }

    pub(crate) fn has_demand(&self) -> bool {
        self.demands.load(Ordering::Relaxed) > 0
    }

    /// `pool` needs a thread (and has counted it as incoming): an awake worker
    /// will take the demand; if none is awake, the one asleep longest is woken;
    /// if none sleeps, a thread is started. Returns whether an awake worker
    /// takes it.
    pub(crate) fn demand(&self, pool: Arc<Pool>) -> bool {
        let mut state = sync::lock(&self.state);
        state.demand.push_back(pool);
        self.demands.store(state.demand.len(), Ordering::SeqCst);
        // Pairs with the SeqCst decrement of a worker that stops spinning: either
        // it sees this demand (it looks again under this lock before it sleeps,
        // or in `stop_awake`) or this sees it gone.
        if self.awake.load(Ordering::SeqCst) > 0 {
            return true;
        }
        self.find_taker(state);
        false
    }

    /// Demands wait and no worker is awake to take them: wakes the thread asleep
    /// longest, or starts one for the newest demand.
    fn find_taker(&self, mut state: sync::MutexGuard<'_, State>) {
        if let Some(sleeper) = state.sleepers.pop_front() {
            drop(state);
            sleeper.wake();
            return;
        }
        let pool = state.demand.pop_back();
        self.demands.store(state.demand.len(), Ordering::SeqCst);
        drop(state);
        if let Some(pool) = pool {
            if let Err(err) = super::worker::spawn(Arc::clone(&pool)) {
                pool.arrival_failed(&err);
            }
        }
    }

    /// A worker counted as awake stops looking at demands without going to sleep
    /// here (it leaves, exits or is retired). Demands that counted on it are
    /// handed on if it was the last one awake.
    pub(crate) fn stop_awake(&self) {
        if self.awake.fetch_sub(1, Ordering::SeqCst) > 1 || self.demands.load(Ordering::SeqCst) == 0
        {
            return;
        }
        let state = sync::lock(&self.state);
        if self.awake.load(Ordering::SeqCst) > 0 || state.demand.is_empty() {
            return;
        }
        self.find_taker(state);
    }

    /// `pool`'s demand has waited too long: if nobody took it yet, a new thread
    /// takes it.
    pub(crate) fn hurry(&self, pool: &Arc<Pool>) {
        let pool = {
            let mut state = sync::lock(&self.state);
            let at = state.demand.iter().position(|p| Arc::ptr_eq(p, pool));
            let taken = at.and_then(|at| state.demand.remove(at));
            self.demands.store(state.demand.len(), Ordering::SeqCst);
            taken
        };
        if let Some(pool) = pool {
            crate::stats::event!(ns = %pool.name(), "a thread asked for did not come: starting one");
            if let Err(err) = super::worker::spawn(Arc::clone(&pool)) {
                pool.arrival_failed(&err);
            }
        }
    }

    fn take_locked(&self, state: &mut State) -> Option<Arc<Pool>> {
        let pool = state.demand.pop_front();
        self.demands.store(state.demand.len(), Ordering::SeqCst);
        pool
    }

    /// Takes a demand if there is one (the worker then is not counted as awake
    /// any more, if it was).
    pub(crate) fn take_demand(&self, awake: &mut bool) -> Option<Arc<Pool>> {
        if !self.has_demand() {
            return None;
        }
        let mut state = sync::lock(&self.state);
        let pool = self.take_locked(&mut state)?;
        if std::mem::take(awake) {
            self.awake.fetch_sub(1, Ordering::SeqCst);
        }
        Some(pool)
    }

    /// Takes a demand if there is one, says to exit if the runtime was dropped;
    /// otherwise registers `sleeper` as asleep. A worker still counted as awake
    /// (`awake`, then cleared) stops being counted under the same lock as it
    /// looks at the demands: a demand that counted on it is taken, never lost.
    pub(crate) fn sleep_unless_demand(&self, sleeper: &Sleeper, awake: &mut bool) -> Instead {
        let mut state = sync::lock(&self.state);
        if std::mem::take(awake) {
            self.awake.fetch_sub(1, Ordering::SeqCst);
        }
        if state.closed {
            return Instead::Exit;
        }
        if let Some(pool) = self.take_locked(&mut state) {
            return Instead::Serve(pool);
        }
        state.sleepers.push_back(sleeper.clone());
        Instead::Sleep
    }

    pub(crate) fn forget_sleeper(&self, sleeper: &Sleeper) {
        sync::lock(&self.state).sleepers.retain(|s| !s.is(sleeper));
    }

    /// The runtime was dropped: wakes every sleeper (they exit), and nobody
    /// sleeps here any more.
    pub(crate) fn close(&self) {
        let sleepers: Vec<Sleeper> = {
            let mut state = sync::lock(&self.state);
            state.closed = true;
            state.sleepers.drain(..).collect()
        };
        for sleeper in sleepers {
            sleeper.wake();
        }
    }
}
