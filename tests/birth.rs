//! Runtime threads start from the process's own state, whoever needed the first
//! one: the process's namespaces, its CPU set, asynchronous signals blocked; and
//! a start from a thread that dropped what cannot be regained is a typed error.
//! Each case runs in a forked child, whose runtime (and spawner) start afresh
//! from the thread the case prepares.

#[macro_use]
mod common;

use common::in_forked_child;
use ns_runtime::{Error, NetNs};

// The tests in this file run one at a time: a fork copies whatever other test
// threads hold at that moment.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A field of `/proc/thread-self/status` (hex masks and the like).
fn status_field(field: &str) -> String {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// CPUs in the affinity of thread `tid` (0: the calling thread).
fn cpu_count_of(tid: i32) -> usize {
    let cpus = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(tid)).unwrap();
    (0..nix::sched::CpuSet::count())
        .filter(|&cpu| cpus.is_set(cpu).unwrap_or(false))
        .count()
}

/// In a forked child: runs `prepare` and then `first_call` on a new thread, then
/// `then` on the child's main thread; exit code 0 if both said yes.
fn from_a_prepared_thread(
    prepare: fn(),
    first_call: fn(&NetNs) -> bool,
    then: fn(&NetNs) -> bool,
) -> i32 {
    let ns = NetNs::create().unwrap();
    in_forked_child(move || {
        let first = std::thread::scope(|s| {
            s.spawn(|| {
                prepare();
                first_call(&ns)
            })
            .join()
            .unwrap_or(false)
        });
        first && then(&ns)
    })
}

/// A call from a thread with the process's state runs inside.
fn runs_inside(ns: &NetNs) -> bool {
    ns.run(common::thread_net_inode).unwrap() == ns.inode()
}

fn a_caller_in_its_own_uts_namespace_pinned_with_signals_blocked_starts_clean_threads() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let code = from_a_prepared_thread(
        || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUTS).unwrap();
            nix::unistd::sethostname("nsrt-dirty-caller").unwrap();
            let mut cpu0 = nix::sched::CpuSet::new();
            cpu0.set(0).unwrap();
            nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &cpu0).unwrap();
            let mut usr1 = nix::sys::signal::SigSet::empty();
            usr1.add(nix::sys::signal::Signal::SIGUSR1);
            usr1.thread_block().unwrap();
        },
        |ns| {
            let (host, cpus, blocked) = ns
                .run(|| (hostname(), cpu_count_of(0), status_field("SigBlk")))
                .unwrap();
            // The process's CPU set: its main thread's (pid = main thread's tid).
            let process_cpus = cpu_count_of(std::process::id() as i32);
            let blocked = u64::from_str_radix(&blocked, 16).unwrap();
            let sigterm = 1 << (libc::SIGTERM - 1);
            let fine =
                host != "nsrt-dirty-caller" && blocked & sigterm != 0 && cpus == process_cpus;
            if !fine {
                eprintln!(
                    "body saw hostname {host:?}, {cpus} of {process_cpus} cpus, SigBlk {blocked:#x}"
                );
            }
            fine
        },
        runs_inside,
    );
    assert_eq!(
        code, 0,
        "a runtime thread inherited its first caller's state"
    );
}

fn a_caller_that_dropped_a_capability_gets_a_typed_error_and_others_still_work() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let code = from_a_prepared_thread(
        || {
            const CAP_NET_ADMIN: libc::c_ulong = 12;
            // SAFETY: PR_CAPBSET_DROP takes a capability number and touches no memory.
            let dropped = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0) };
            assert_eq!(dropped, 0);
        },
        |ns| match ns.run(|| ()) {
            Err(Error::UncleanStart { detail }) => detail.contains("capabilities"),
            other => {
                eprintln!("expected UncleanStart, got {other:?}");
                false
            }
        },
        // The refusal is not kept: the main thread (every capability) starts one.
        runs_inside,
    );
    assert_eq!(code, 0, "no typed error for a caller without a capability");
}

fn a_caller_in_a_mount_namespace_of_its_own_gets_a_typed_error() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let code = from_a_prepared_thread(
        || {
            nix::sched::unshare(
                nix::sched::CloneFlags::CLONE_FS | nix::sched::CloneFlags::CLONE_NEWNS,
            )
            .unwrap();
        },
        |ns| match ns.run(|| ()) {
            Err(Error::UncleanStart { detail }) => detail.contains("mount namespace"),
            other => {
                eprintln!("expected UncleanStart, got {other:?}");
                false
            }
        },
        runs_inside,
    );
    assert_eq!(code, 0);
}

tests! {
    a_caller_in_its_own_uts_namespace_pinned_with_signals_blocked_starts_clean_threads,
    a_caller_that_dropped_a_capability_gets_a_typed_error_and_others_still_work,
    a_caller_in_a_mount_namespace_of_its_own_gets_a_typed_error,
}
