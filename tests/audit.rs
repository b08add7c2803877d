//! `ns_runtime::audit`: threads in other namespaces than they should be, and
//! namespace threads moved by a body, retired and never reused.

#[macro_use]
mod common;

use std::os::fd::AsFd;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::thread_net_inode;
use nix::sched::{setns, CloneFlags};
use ns_runtime::{audit, NetNs, NsKind, RetireReason, Runtime};

/// Audits until `done` holds, for a few seconds at most.
fn audit_until(what: &str, mut done: impl FnMut(&ns_runtime::Audit) -> bool) -> ns_runtime::Audit {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let audit = audit().unwrap();
        if done(&audit) {
            return audit;
        }
        assert!(Instant::now() < deadline, "{what}: {audit:#?}");
        thread::sleep(Duration::from_millis(10));
    }
}

// The tests in this file run one at a time: each asserts on the whole process.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn namespace_threads_at_home_are_clean() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let namespaces: Vec<NetNs> = (0..3).map(|_| NetNs::create().unwrap()).collect();
    for ns in &namespaces {
        ns.run(|| ()).unwrap();
    }
    let audit = audit_until("clean", |a| a.strays.is_empty());
    assert!(audit.threads_checked >= 4, "{audit:#?}");
}

fn a_thread_that_called_setns_is_reported_until_it_ends() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = NetNs::create().unwrap();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let target = ns.clone();
    let stray = thread::Builder::new()
        .name("stray-setns".into())
        .spawn(move || {
            setns(target.as_fd(), CloneFlags::CLONE_NEWNET).unwrap();
            entered_tx
                .send(nix::unistd::gettid().as_raw() as u32)
                .unwrap();
            let _ = stop_rx.recv();
        })
        .unwrap();
    let tid = entered_rx.recv().unwrap();

    let audit = audit().unwrap();
    let found = audit
        .strays
        .iter()
        .find(|s| s.tid == tid)
        .expect("the stray is listed");
    assert_eq!(found.name, "stray-setns");
    assert!(!found.namespace_thread);
    let net = found
        .differences
        .iter()
        .find(|d| d.kind == NsKind::Net)
        .unwrap();
    assert_eq!(net.actual_inode, ns.inode());
    assert_eq!(net.expected_inode, common::host_net_inode());
    assert!(!audit.is_clean());

    stop_tx.send(()).unwrap();
    stray.join().unwrap();
    let _ = audit_until("the stray is gone", |a| {
        a.strays.iter().all(|s| s.tid != tid)
    });
}

fn a_namespace_thread_moved_by_a_body_is_retired_and_never_reused() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _ = audit(); // forget earlier incidents
    let rt = Runtime::builder().max_idle_spin(Duration::ZERO).build();
    let home = NetNs::create().unwrap();
    let elsewhere = NetNs::create().unwrap();

    // A body that moves its thread, as code the attribute cannot see might.
    let moved_tid = rt
        .run(&home, || {
            setns(elsewhere.as_fd(), CloneFlags::CLONE_NEWNET).unwrap();
            nix::unistd::gettid().as_raw() as u32
        })
        .unwrap();

    let audit = audit_until("the moved thread is retired", |a| !a.retired.is_empty());
    let retired = &audit.retired[0];
    assert_eq!(retired.tid, moved_tid);
    assert_eq!(retired.kind, NsKind::Net);
    assert_eq!(retired.home_inode, home.inode());
    assert_eq!(retired.found_inode, elsewhere.inode());
    // Reported once.
    assert!(ns_runtime::audit().unwrap().retired.is_empty());

    // The next call runs in the right namespace, on another thread.
    let (inode, tid) = rt
        .run(&home, || {
            (thread_net_inode(), nix::unistd::gettid().as_raw() as u32)
        })
        .unwrap();
    assert_eq!(inode, home.inode());
    assert_ne!(tid, moved_tid);

    // Retired, not reassigned: it exits (its keep-alive is 10 s).
    assert!(
        common::thread_gone(moved_tid, Duration::from_secs(5)),
        "the retired thread {moved_tid} was still alive after 5 s"
    );
}

fn threads_of_ours_that_are_exiting_are_never_strays() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Threads that end all the time: helpers of `create`, and namespace threads
    // with a keep-alive of zero.
    let rt = Runtime::builder()
        .keep_alive(Duration::ZERO)
        .max_idle_spin(Duration::ZERO)
        .spin(Duration::ZERO)
        .build();
    let stop = std::sync::atomic::AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..200 {
                let ns = NetNs::create().unwrap();
                rt.run(&ns, || ()).unwrap();
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        let mut audits = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let audit = audit().unwrap();
            let ours: Vec<_> = audit
                .strays
                .iter()
                .filter(|s| s.name.starts_with("ns-"))
                .collect();
            assert!(ours.is_empty(), "after {audits} audits: {ours:#?}");
            audits += 1;
        }
    });
}

/// A body that gives its thread an fs struct of its own (cwd, root, umask):
/// the thread would carry them to the bodies after it, of other namespaces. It
/// is retired, and serves at most 64 calls before.
fn a_thread_whose_body_unshared_its_fs_struct_is_retired() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _ = audit(); // forget earlier incidents
    let rt = Runtime::builder()
        .keep_alive(Duration::from_secs(60))
        .build();
    let ns = NetNs::create().unwrap();
    let (unshared, tid) = rt
        .run(&ns, || {
            (
                nix::sched::unshare(CloneFlags::CLONE_FS),
                nix::unistd::gettid(),
            )
        })
        .unwrap();
    unshared.unwrap();
    let served_by_it = common::calls_served_by(&rt, &ns, tid, 100);
    assert!(
        served_by_it < 64,
        "{served_by_it} calls on the damaged thread"
    );
    let audit = audit_until("the thread is retired", |a| !a.retired.is_empty());
    let reasons: Vec<RetireReason> = audit.retired.iter().map(|r| r.reason).collect();
    assert_eq!(reasons, [RetireReason::FsStruct]);
    assert_eq!(audit.retired[0].tid, tid.as_raw() as u32);
}

tests! {
    namespace_threads_at_home_are_clean,
    a_thread_that_called_setns_is_reported_until_it_ends,
    a_namespace_thread_moved_by_a_body_is_retired_and_never_reused,
    a_thread_whose_body_unshared_its_fs_struct_is_retired,
    threads_of_ours_that_are_exiting_are_never_strays,
}
