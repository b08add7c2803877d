//! Caller threads that live for a whole benchmark, shared by the benches.

use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// `callers` threads started once (not per sample): each run of the returned
/// function hands every caller its share of `iters` calls and times from the
/// moment all are released until the last one is done.
pub(crate) fn persistent_callers<'scope, M, C>(
    scope: &'scope thread::Scope<'scope, '_>,
    callers: usize,
    make: &'scope M,
) -> impl FnMut(u64) -> Duration + 'scope
where
    M: Fn() -> C + Sync,
    C: FnMut(),
{
    let start = Arc::new(Barrier::new(callers + 1));
    let finish = Arc::new(Barrier::new(callers + 1));
    let shares: Vec<mpsc::Sender<u64>> = (0..callers)
        .map(|_| {
            let (tx, rx) = mpsc::channel::<u64>();
            let (start, finish) = (Arc::clone(&start), Arc::clone(&finish));
            scope.spawn(move || {
                let mut call = make();
                for share in rx {
                    start.wait();
                    (0..share).for_each(|_| call());
                    finish.wait();
                }
            });
            tx
        })
        .collect();
    move |iters| {
        let share = iters.div_ceil(callers as u64);
        for tx in &shares {
            tx.send(share).expect("caller alive");
        }
        start.wait();
        let began = Instant::now();
        finish.wait();
        began.elapsed()
    }
}
