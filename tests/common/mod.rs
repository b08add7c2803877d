//! Helpers shared by the integration tests: privilege checks, self-cleaning named
//! namespaces, and scans of which namespace each thread of this process sits in.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use ns_runtime::NetNs;

/// Whether this process may create and enter namespaces (`CAP_SYS_ADMIN`).
pub fn has_cap_sys_admin() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}

/// Returns early from a test that needs root. Under `CI=true` a missing privilege is
/// a failure, never a silent skip.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::common::has_cap_sys_admin() {
            let msg = "this test creates real network namespaces and needs CAP_SYS_ADMIN: \
                       run the suite as root, e.g. `sudo -E cargo test`";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{msg} (CI=true: not skipping)");
            }
            eprintln!("SKIPPED {}: {msg}", module_path!());
            return;
        }
    };
}

/// A unique name for a namespace made by this test process.
pub fn unique_name(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("nsrt-{}-{n}-{tag}", std::process::id())
}

/// A named network namespace under `/run/netns` that is removed when dropped, also
/// when the test fails (drop runs while unwinding).
pub struct TestNs {
    pub name: String,
    pub ns: NetNs,
}

impl TestNs {
    pub fn new(tag: &str) -> TestNs {
        let name = unique_name(tag);
        let ns = NetNs::create_named(&name).expect("create a named test namespace");
        TestNs { name, ns }
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        // It may already be gone (a test that removes it itself); anything else left
        // behind would be a bug worth seeing.
        match NetNs::remove_named(&self.name) {
            Ok(()) | Err(ns_runtime::Error::NotFound { .. }) => {}
            Err(err) => eprintln!("could not remove test namespace {}: {err}", self.name),
        }
    }
}

/// The inode in a `net:[INODE]` link of `/proc/.../ns/net`.
fn link_inode(path: &str) -> Option<u64> {
    let target = fs::read_link(path).ok()?;
    let target = target.to_str()?;
    target
        .strip_prefix("net:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The network namespace inode of the calling thread, straight from procfs (not via
/// the library under test).
pub fn thread_net_inode() -> u64 {
    link_inode("/proc/thread-self/ns/net").expect("read /proc/thread-self/ns/net")
}

/// The network namespace inode of the main thread (the process's "host" namespace).
pub fn host_net_inode() -> u64 {
    link_inode("/proc/self/ns/net").expect("read /proc/self/ns/net")
}

/// One thread of this process: its name and the inode of its network namespace.
#[derive(Debug, Clone)]
pub struct TaskNs {
    pub tid: u32,
    pub name: String,
    pub net_inode: u64,
}

/// Every thread of this process with its network namespace.
pub fn tasks() -> Vec<TaskNs> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc/self/task")
        .expect("read /proc/self/task")
        .flatten()
    {
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        // A thread may exit between readdir and these reads.
        let name = fs::read_to_string(format!("/proc/self/task/{tid}/comm"));
        let inode = link_inode(&format!("/proc/self/task/{tid}/ns/net"));
        if let (Ok(name), Some(net_inode)) = (name, inode) {
            out.push(TaskNs {
                tid,
                name: name.trim_end().to_owned(),
                net_inode,
            });
        }
    }
    out
}

/// Namespace threads of a network namespace are named `ns-<inode>` (async ones
/// `nsa-<inode>`), those of other kinds and sets `nsk-<inode>` / `nska-<inode>`;
/// the helper that makes new namespaces is `ns-create`.
pub fn is_runtime_thread(task: &TaskNs) -> bool {
    ["ns-", "nsa-", "nsk-", "nska-"]
        .iter()
        .any(|prefix| task.name.starts_with(prefix))
}

/// The namespace inode a namespace thread is named after.
pub fn home_of(task: &TaskNs) -> Option<u64> {
    let digits = task
        .name
        .strip_prefix("ns-")
        .or_else(|| task.name.strip_prefix("nsa-"))?;
    digits.parse().ok()
}

/// Asserts the invariant of the whole design: every thread that is not a namespace
/// thread sits in the host namespace, and every namespace thread sits in the
/// namespace it is named after.
pub fn assert_threads_where_they_belong() {
    let audit = ns_runtime::audit().expect("audit");
    assert!(audit.strays.is_empty(), "{audit:#?}");
    // And the same from procfs directly, without the library under test.
    let host = host_net_inode();
    for task in tasks() {
        if let Some(inode) = home_of(&task) {
            assert_eq!(
                task.net_inode, inode,
                "namespace thread left its namespace: {task:?}"
            );
        } else if !is_runtime_thread(&task) && task.net_inode != host {
            // A thread starts with its creator's name and gets its own a moment
            // later: a namespace thread just started by a test thread may already
            // be inside under the test's name. Look again before judging.
            std::thread::sleep(std::time::Duration::from_millis(20));
            let again = tasks().into_iter().find(|t| t.tid == task.tid);
            if let Some(again) = again.filter(|t| !is_runtime_thread(t)) {
                assert_eq!(
                    again.net_inode, host,
                    "a non-runtime thread changed namespace: {again:?}"
                );
            }
        }
    }
}

/// How many threads of this process sit in the namespace with `inode`.
pub fn threads_in(inode: u64) -> usize {
    tasks().iter().filter(|t| t.net_inode == inode).count()
}

/// A helper process in new net, uts and mount namespaces, with a hostname and a
/// tmpfs of its own; killed when dropped.
pub struct Helper {
    child: Child,
    pub hostname: String,
}

impl Helper {
    pub fn start() -> Helper {
        let hostname = unique_name("h");
        let script = format!(
            "hostname {hostname} && mount -t tmpfs -o size=1m nsrt-helper-tmpfs /mnt && echo ready && exec sleep 600"
        );
        let mut child = Command::new("unshare")
            .args([
                "--net",
                "--uts",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
            ])
            .arg(script)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run unshare (util-linux)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the helper did not start");
        Helper { child, hostname }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.stop();
    }
}
