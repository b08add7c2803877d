//! Which runtime thread serves a target that has none: an awake idle thread moves
//! there (one `setns`), else a sleeping one is woken, else a thread is started.
//!
//! Pools that need a thread post a *demand*; awake idle workers (spinning in a
//! pool whose queue is empty, or at home) look at the demand count while they
//! spin and take one. A pool asks only when no awake worker could: then the
//! runtime wakes the thread asleep longest, or starts one.
//!
//! What asks (`P`, a pool) is opaque here, and threads are started by the
//! caller: where this says [`Taker::Start`], the caller starts one for the pool
//! it names.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::sleeper::Sleeper;
use super::sync::{self, AtomicIsize, AtomicUsize, Mutex};

pub(crate) struct Sched<P> {
    state: Mutex<State<P>>,
    /// Workers that spin and look at `demands` (counted in and out by them).
    awake: AtomicIsize,
    /// `state.demand.len()`, read by spinning workers.
    demands: AtomicUsize,
}

struct State<P> {
    /// Pools waiting for a thread (each counted one incoming).
    demand: VecDeque<Arc<P>>,
    /// Workers that may move, asleep; the one asleep longest first.
    sleepers: VecDeque<Sleeper>,
    /// The runtime was dropped: nobody goes to sleep any more.
    closed: bool,
}

/// What a worker about to sleep does instead, or not.
pub(crate) enum Instead<P> {
    /// Serve this pool, which asked for a thread.
    Serve(Arc<P>),
    /// The runtime was dropped: exit.
    Exit,
    /// Nothing: it is registered as asleep (park, then [`Sched::forget_sleeper`]).
    Sleep,
}

/// Who takes a demand that [`Sched::demand`] posted.
pub(crate) enum Taker<P> {
    /// An awake idle worker takes it (a `setns` away).
    Awake,
    /// The worker asleep longest was woken for it.
    Woken,
    /// Nobody: the caller starts a thread for this pool (counted there as
    /// incoming; from [`Sched::stop_awake`], another pool than the caller's).
    Start(Arc<P>),
}

impl<P> Sched<P> {
    pub(crate) fn new() -> Sched<P> {
        Sched {
            // Room from the start: sleeping and asking for threads never allocate
            // in the steady state.
            state: Mutex::new(State {
                demand: VecDeque::with_capacity(8),
                sleepers: VecDeque::with_capacity(8),
                closed: false,
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
    /// if none sleeps, a thread is to be started for the newest demand.
    pub(crate) fn demand(&self, pool: Arc<P>) -> Taker<P> {
        let mut state = sync::lock(&self.state);
        state.demand.push_back(pool);
        self.demands.store(state.demand.len(), Ordering::SeqCst);
        // Pairs with the SeqCst decrement of a worker that stops spinning: either
        // it sees this demand (it looks again under this lock before it sleeps,
        // or in `stop_awake`) or this sees it gone.
        if self.awake.load(Ordering::SeqCst) > 0 {
            return Taker::Awake;
        }
        self.find_taker(state)
    }

    /// Demands wait and no worker is awake to take them: wakes the thread asleep
    /// longest, or says to start one for the newest demand.
    fn find_taker(&self, mut state: sync::MutexGuard<'_, State<P>>) -> Taker<P> {
        if let Some(sleeper) = state.sleepers.pop_front() {
            drop(state);
            sleeper.wake();
            return Taker::Woken;
        }
        let pool = state.demand.pop_back();
        self.demands.store(state.demand.len(), Ordering::SeqCst);
        match pool {
            Some(pool) => Taker::Start(pool),
            // (Cannot happen: called with a demand waiting.)
            None => Taker::Awake,
        }
    }

    /// A worker counted as awake stops looking at demands without going to sleep
    /// here (it leaves, exits or is retired). Demands that counted on it are
    /// handed on if it was the last one awake: returns the pool to start a
    /// thread for, if one must be.
    #[must_use = "a pool returned here waits for a thread that only the caller starts"]
    pub(crate) fn stop_awake(&self) -> Option<Arc<P>> {
        if self.awake.fetch_sub(1, Ordering::SeqCst) > 1 || self.demands.load(Ordering::SeqCst) == 0
        {
            return None;
        }
        let state = sync::lock(&self.state);
        if self.awake.load(Ordering::SeqCst) > 0 || state.demand.is_empty() {
            return None;
        }
        match self.find_taker(state) {
            Taker::Start(pool) => Some(pool),
            Taker::Awake | Taker::Woken => None,
        }
    }

    /// `pool`'s demand has waited too long: if nobody took it yet, it is
    /// withdrawn, and returned for the caller to start a thread for it.
    #[must_use = "a pool returned here waits for a thread that only the caller starts"]
    pub(crate) fn hurry(&self, pool: &Arc<P>) -> Option<Arc<P>> {
        let mut state = sync::lock(&self.state);
        let at = state.demand.iter().position(|p| Arc::ptr_eq(p, pool));
        let taken = at.and_then(|at| state.demand.remove(at));
        self.demands.store(state.demand.len(), Ordering::SeqCst);
        taken
    }

    fn take_locked(&self, state: &mut State<P>) -> Option<Arc<P>> {
        let pool = state.demand.pop_front();
        self.demands.store(state.demand.len(), Ordering::SeqCst);
        pool
    }

    /// Takes a demand if there is one (the worker then is not counted as awake
    /// any more, if it was).
    pub(crate) fn take_demand(&self, awake: &mut bool) -> Option<Arc<P>> {
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
    pub(crate) fn sleep_unless_demand(&self, sleeper: &Sleeper, awake: &mut bool) -> Instead<P> {
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
