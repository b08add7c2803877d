//! A process forked from one that used the runtime gets working fresh threads in
//! the child, never a hang: after a real `fork`, and inside `Command::pre_exec`
//! (which runs in a forked child).

#[macro_use]
mod common;

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use common::{in_forked_child, thread_net_inode};
use ns_runtime::NetNs;

// The tests in this file run one at a time: a fork copies whatever other test
// threads hold at that moment.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn a_call_in_a_forked_child_gets_fresh_threads() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = NetNs::create().unwrap();
    // Threads of the parent are inside, waiting or asleep, when it forks.
    assert_eq!(ns.run(thread_net_inode).unwrap(), ns.inode());
    std::thread::sleep(Duration::from_millis(1));
    let code = in_forked_child(|| {
        let inside = ns.run(thread_net_inode).unwrap() == ns.inode();
        let again = ns.run(thread_net_inode).unwrap() == ns.inode();
        // The same namespace opened anew in the child.
        let path = format!("/proc/{}/fd/{}", std::process::id(), {
            use std::os::fd::{AsFd, AsRawFd};
            ns.as_fd().as_raw_fd()
        });
        let reopened = NetNs::from_path(path).unwrap();
        let reopened_inside = reopened.run(thread_net_inode).unwrap() == ns.inode();
        inside && again && reopened_inside
    });
    assert_eq!(code, 0, "the child's calls failed");
    // And the parent keeps serving.
    assert_eq!(ns.run(thread_net_inode).unwrap(), ns.inode());
}

/// The inode a fresh thread of `ns` reports, awaited from a new tokio runtime.
fn inode_from_an_async_call(ns: &NetNs) -> u64 {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio
        .block_on(ns.run_async(|| async { thread_net_inode() }))
        .unwrap()
}

fn an_async_call_in_a_forked_child_gets_a_fresh_thread() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = NetNs::create().unwrap();
    assert_eq!(inode_from_an_async_call(&ns), ns.inode());
    let code = in_forked_child(|| inode_from_an_async_call(&ns) == ns.inode());
    assert_eq!(code, 0, "the child's async call failed");
}

fn a_call_inside_pre_exec_runs_in_the_namespace() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = NetNs::create().unwrap();
    assert_eq!(ns.run(thread_net_inode).unwrap(), ns.inode());
    let target = ns.inode();
    let child_ns = ns.clone();
    let mut command = Command::new("true");
    // SAFETY: the hook runs in the forked child before exec; it uses the runtime,
    // which is what this test is about (glibc: allocation and threads work there).
    unsafe {
        command.pre_exec(move || {
            let inode = child_ns
                .run(thread_net_inode)
                .map_err(std::io::Error::from)?;
            if inode == target {
                Ok(())
            } else {
                Err(std::io::Error::other("ran outside the namespace"))
            }
        });
    }
    let status = command.status().expect("the hook's call failed or hung");
    assert!(status.success());
}

tests! {
    a_call_in_a_forked_child_gets_fresh_threads,
    an_async_call_in_a_forked_child_gets_a_fresh_thread,
    a_call_inside_pre_exec_runs_in_the_namespace,
}
