//! A body that moves its thread through code the attribute cannot see: by default
//! the thread is found within 64 calls of that body (or before it sleeps), retired and
//! reported; in sealed mode the kernel refuses the move, and no call ever runs in
//! the wrong place.

#[macro_use]
mod common;

use std::os::fd::{AsFd, AsRawFd};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::thread_net_inode;
use ns_runtime::{NetNs, RetireReason, Runtime};

// The tests in this file run one at a time: they read `audit()` of the process.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Moves the calling thread into `ns`: what a library the body calls might do.
#[inline(never)]
fn hidden_setns(ns: &NetNs) -> i32 {
    // SAFETY: setns takes an fd and a flag; the fd is open while `ns` lives.
    unsafe { libc::setns(ns.as_fd().as_raw_fd(), libc::CLONE_NEWNET) }
}

/// Gives the calling thread an fd table of its own.
#[inline(never)]
fn hidden_unshare(flags: i32) -> i32 {
    // SAFETY: unshare takes flags only.
    unsafe { libc::unshare(flags) }
}

/// `calls` calls into `home`, each after `pause`; how many ran elsewhere.
fn calls_outside(rt: &Runtime, home: &NetNs, calls: usize, pause: Duration) -> usize {
    (0..calls)
        .filter(|_| {
            if !pause.is_zero() {
                let until = Instant::now() + pause;
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
            }
            rt.run(home, thread_net_inode).unwrap() != home.inode()
        })
        .count()
}

fn retired_reasons() -> Vec<RetireReason> {
    let audit = ns_runtime::audit().unwrap();
    audit.retired.iter().map(|r| r.reason).collect()
}

fn a_moved_thread_serves_at_most_64_calls_in_the_wrong_place() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = Runtime::builder()
        .keep_alive(Duration::from_secs(60))
        .build();
    let (home, elsewhere) = (NetNs::create().unwrap(), NetNs::create().unwrap());
    let _ = retired_reasons();
    for pause in [Duration::ZERO, Duration::from_micros(200)] {
        assert_eq!(rt.run(&home, || hidden_setns(&elsewhere)).unwrap(), 0);
        let outside = calls_outside(&rt, &home, 1000, pause);
        assert!(
            outside < 64,
            "{outside} of 1000 calls (each after {pause:?}) ran in the wrong place"
        );
        let reasons = retired_reasons();
        assert_eq!(reasons, [RetireReason::Moved], "pause {pause:?}");
    }
    common::assert_threads_where_they_belong();
}

fn a_thread_with_an_fd_table_of_its_own_is_retired() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = Runtime::builder()
        .keep_alive(Duration::from_secs(60))
        .build();
    let ns = NetNs::create().unwrap();
    let _ = retired_reasons();
    let (rc, tid) = rt
        .run(&ns, || {
            (hidden_unshare(libc::CLONE_FILES), nix::unistd::gettid())
        })
        .unwrap();
    assert_eq!(rc, 0);
    let served_by_it = common::calls_served_by(&rt, &ns, tid, 100);
    assert!(
        served_by_it < 64,
        "{served_by_it} calls on the damaged thread"
    );
    assert_eq!(retired_reasons(), [RetireReason::FdTable]);
}

fn sealed_threads_refuse_hidden_moves_and_no_call_runs_elsewhere() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = Runtime::builder()
        .sealed(true)
        .keep_alive(Duration::from_secs(60))
        .build();
    let (home, elsewhere) = (NetNs::create().unwrap(), NetNs::create().unwrap());
    let _ = retired_reasons();
    let refused = rt
        .run(&home, || {
            let setns = hidden_setns(&elsewhere) == -1
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
            let unshare_net = hidden_unshare(libc::CLONE_NEWNET) == -1;
            let unshare_files = hidden_unshare(libc::CLONE_FILES) == -1;
            (setns, unshare_net, unshare_files)
        })
        .unwrap();
    assert_eq!(refused, (true, true, true));
    for pause in [Duration::ZERO, Duration::from_micros(200)] {
        assert_eq!(rt.run(&home, || hidden_setns(&elsewhere)).unwrap(), -1);
        assert_eq!(calls_outside(&rt, &home, 1000, pause), 0);
    }
    // Threads and processes still start; the runtime's own moves still work.
    let (joined, true_ran, child_unshare_refused) = rt
        .run(&home, || {
            let joined = thread::spawn(thread_net_inode).join().unwrap() == home.inode();
            let true_ran = Command::new("true").status().unwrap().success();
            let child = Command::new("unshare")
                .args(["-n", "true"])
                .status()
                .unwrap();
            (joined, true_ran, !child.success())
        })
        .unwrap();
    assert!(
        joined && true_ran,
        "a sealed body could not start a thread or process"
    );
    assert!(
        child_unshare_refused,
        "a process started by a sealed body made a namespace"
    );
    for _ in 0..10 {
        assert_eq!(
            rt.run(&elsewhere, thread_net_inode).unwrap(),
            elsewhere.inode()
        );
        assert_eq!(rt.run(&home, thread_net_inode).unwrap(), home.inode());
    }
    assert!(retired_reasons().is_empty());
    // The async thread is sealed too, and serves.
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let inode = tokio.block_on(rt.run_async(&home, || async { thread_net_inode() }));
    assert_eq!(inode.unwrap(), home.inode());
}

tests! {
    a_moved_thread_serves_at_most_64_calls_in_the_wrong_place,
    a_thread_with_an_fd_table_of_its_own_is_retired,
    sealed_threads_refuse_hidden_moves_and_no_call_runs_elsewhere,
}
