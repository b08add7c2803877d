//! Caller threads that live for a whole benchmark, shared by the benches.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// What every caller does in one run.
#[derive(Clone, Copy)]
pub(crate) enum Share {
    /// Each caller makes this many calls; the run lasts until the last is done
    /// (a caller the scheduler left behind makes the run longer).
    Calls(u64),
    /// Every caller calls for this long, as often as it can: the callers' rate
    /// together.
    #[allow(dead_code)] // (not every bench calls for a while)
    For(Duration),
}

/// `callers` threads started once (not per sample): each run of the returned
/// function has every caller do its [`Share`], and returns how long the run
/// took, from the moment all callers are released, and how many calls they
/// made in all.
pub(crate) fn persistent_callers<'scope, M, C>(
    scope: &'scope thread::Scope<'scope, '_>,
    callers: usize,
    make: &'scope M,
) -> impl FnMut(Share) -> (Duration, u64) + 'scope
where
    M: Fn() -> C + Sync,
    C: FnMut(),
{
    let start = Arc::new(Barrier::new(callers + 1));
    let finish = Arc::new(Barrier::new(callers + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let shares: Vec<mpsc::Sender<Share>> = (0..callers)
        .map(|_| {
            let (tx, rx) = mpsc::channel::<Share>();
            let (start, finish) = (Arc::clone(&start), Arc::clone(&finish));
            let (stop, made) = (Arc::clone(&stop), Arc::clone(&made));
            scope.spawn(move || {
                let mut call = make();
                for share in rx {
                    start.wait();
                    let calls = match share {
                        Share::Calls(calls) => {
                            (0..calls).for_each(|_| call());
                            calls
                        }
                        Share::For(_) => {
                            let mut calls = 0;
                            while !stop.load(Ordering::Relaxed) {
                                call();
                                calls += 1;
                            }
                            calls
                        }
                    };
                    made.fetch_add(calls, Ordering::Relaxed);
                    finish.wait();
                }
            });
            tx
        })
        .collect();
    move |share| {
        stop.store(false, Ordering::Relaxed);
        for tx in &shares {
            tx.send(share).expect("caller alive");
        }
        start.wait();
        let began = Instant::now();
        if let Share::For(window) = share {
            thread::sleep(window);
            stop.store(true, Ordering::Relaxed);
        }
        finish.wait();
        (began.elapsed(), made.swap(0, Ordering::Relaxed))
    }
}
