//! Helpers shared by the integration tests: the harness that reports a test needing
//! privileges as not run, privilege checks, self-cleaning named namespaces, and scans
//! of which namespace each thread of this process sits in.
//!
//! # The harness, and how to add a test
//!
//! The test files that create namespaces run on [`libtest_mimic`] instead of the
//! built-in harness (`harness = false` in the root `Cargo.toml`): it can report a test
//! as *ignored, with the reason* when it finds out at run time that it cannot run,
//! where the built-in one could only report it as passed. Such a file ends with a
//! [`tests!`] list, and its test functions carry no `#[test]`:
//!
//! ```ignore
//! #[macro_use]
//! mod common;
//!
//! fn a_new_test_that_makes_namespaces() {
//!     require_root!(); // first line: without CAP_SYS_ADMIN, stop here, reported ignored
//!     let t = common::TestNs::new("tag");
//!     // ...
//! }
//!
//! tests! {
//!     a_new_test_that_makes_namespaces,
//!     #[ignore = "long form: a minute of stress"]
//!     a_long_test,
//! }
//! ```
//!
//! - A new test in such a file: a plain `fn name()` (a test that needs no privileges
//!   just leaves out `require_root!()`), and its name in the file's `tests!` list.
//!   Do not write `#[test]`: under `harness = false` rustc drops such a function
//!   without a word, so the harness refuses to start while a file has one.
//! - A new file: `#[macro_use] mod common;`, a `tests!` list at the end, and in the
//!   root `Cargo.toml` a `[[test]]` entry with its name and `harness = false`.
//!
//! Without `CAP_SYS_ADMIN` a test that called `require_root!()` shows as
//! `test NAME ... ignored (needs CAP_SYS_ADMIN: ...)` and counts in the summary's
//! `ignored`; under `CI=true` it fails instead. Filters, `--exact`, `--skip`,
//! `--ignored`, `--include-ignored`, `--list` and `--test-threads` mean what they mean
//! for the built-in harness. Output is not captured: what a test prints, and the
//! panic messages of bodies that panic on purpose, appear as they happen.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::cell::Cell;
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use libtest_mimic::{Arguments, Completion, Trial};
use ns_runtime::NetNs;

/// Writes `fn main` for a test file: runs the listed test functions on
/// [`libtest_mimic`], each under its own name, in the order given. An entry may be
/// preceded by `#[ignore = "reason"]`, which means what it means on a `#[test]`.
/// See the module docs for how to add a test.
#[macro_export]
macro_rules! tests {
    ($( $(#[ignore = $reason:literal])? $name:ident ),* $(,)?) => {
        fn main() -> ::std::process::ExitCode {
            $crate::common::run_tests(
                file!(),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", file!())),
                vec![$($crate::common::Test {
                    name: stringify!($name),
                    body: $name,
                    ignore: [$($reason)?].first().copied(),
                }),*],
            )
        }
    };
}

/// One entry of a [`tests!`] list.
pub struct Test {
    pub name: &'static str,
    pub body: fn(),
    /// The reason of an `#[ignore = ".."]`.
    pub ignore: Option<&'static str>,
}

thread_local! {
    /// Set by `require_root!()` when the test on this thread returns without running.
    static NOT_RUN: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// The reason given for a test that needs privileges it does not have.
pub const NEEDS_ROOT: &str = "needs CAP_SYS_ADMIN: run the tests as root, \
                              e.g. sudo -E env \"PATH=$PATH\" cargo test --workspace";

/// What `require_root!()` does when the privilege is missing: under `CI=true` the
/// test fails, never skips; otherwise the harness reports it as not run.
pub fn not_run(reason: &'static str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("this test creates real namespaces and {reason} (CI=true: not skipping)");
    }
    NOT_RUN.set(Some(reason));
}

/// The `main` of a test file, written by [`tests!`]: `file` and `source` are that
/// file's path and text.
pub fn run_tests(file: &str, source: &str, tests: Vec<Test>) -> ExitCode {
    refuse_test_attributes(file, source);
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        args.test_threads = std::env::var("RUST_TEST_THREADS")
            .ok()
            .and_then(|n| n.parse().ok());
    }
    let run_ignored = args.ignored || args.include_ignored;
    let trials = tests
        .into_iter()
        .map(|test| {
            // libtest-mimic prints no reason for a trial flagged as ignored, so an
            // `#[ignore]`d test is flagged only to be picked by `--ignored`, and
            // otherwise says itself that it was ignored, and why.
            let flagged = test.ignore.is_some() && args.ignored;
            Trial::ignorable_test(test.name, move || Ok(test.run(run_ignored)))
                .with_ignored_flag(flagged)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

impl Test {
    fn run(self, run_ignored: bool) -> Completion {
        if let (Some(reason), false) = (self.ignore, run_ignored) {
            return Completion::ignored_with(reason);
        }
        NOT_RUN.set(None);
        (self.body)();
        match NOT_RUN.take() {
            Some(reason) => Completion::ignored_with(reason),
            None => Completion::Completed,
        }
    }
}

/// A `#[test]` in a file on this harness would never run, silently: refuse to start.
fn refuse_test_attributes(file: &str, source: &str) {
    let lines: Vec<String> = source
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.trim_start();
            line.starts_with("#[test]") || line.starts_with("#[tokio::test")
        })
        .map(|(i, _)| format!("{file}:{}", i + 1))
        .collect();
    assert!(
        lines.is_empty(),
        "{} is run by tests/common's harness (harness = false), which never runs a \
         #[test] function: remove the attribute and add the function to the file's \
         `tests! {{ .. }}` list (see tests/common/mod.rs). At: {}",
        file,
        lines.join(", ")
    );
}

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

/// Returns early from a test that needs root, which the harness then reports as
/// ignored, with the reason. Under `CI=true` a missing privilege is a failure, never
/// a skip.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::common::has_cap_sys_admin() {
            $crate::common::not_run($crate::common::NEEDS_ROOT);
            return;
        }
    };
}

/// A command that runs `program` without any capability: under `setpriv` with every
/// capability dropped when this process has `CAP_SYS_ADMIN` (as root), as is
/// otherwise (an unprivileged process has none to drop).
pub fn without_capabilities(program: impl AsRef<OsStr>) -> Command {
    if !has_cap_sys_admin() {
        return Command::new(program);
    }
    let mut command = Command::new("setpriv");
    command
        .args([
            "--bounding-set=-all",
            "--inh-caps=-all",
            "--ambient-caps=-all",
        ])
        .arg(program);
    command
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

/// Of `calls` calls into `ns` through `rt`, how many ran on the thread `tid`:
/// how long a thread a body damaged went on serving before it was retired.
#[allow(dead_code)] // (not every test binary looks for damaged threads)
pub fn calls_served_by(
    rt: &ns_runtime::Runtime,
    ns: &NetNs,
    tid: nix::unistd::Pid,
    calls: usize,
) -> usize {
    (0..calls)
        .filter(|_| rt.run(ns, nix::unistd::gettid).unwrap() == tid)
        .count()
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
        let mut command = Command::new("unshare");
        command
            .args([
                "--net",
                "--uts",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
            ])
            .arg(script);
        let child = started(&mut command);
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

/// Runs `child` in a forked child process (killed by an alarm after 10 s, so a
/// hang fails instead of blocking the suite); returns its exit code.
pub fn in_forked_child(child: impl FnOnce() -> bool) -> i32 {
    // SAFETY: the child only runs `child` and exits; what it calls (the runtime,
    // allocation, thread creation) is what this test is about, on glibc, whose
    // malloc and thread creation work in a child of a multi-threaded process.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            // SAFETY: alarm has no memory preconditions.
            unsafe { libc::alarm(10) };
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(false);
            // SAFETY: leaves the child at once, without running the parent's atexit
            // handlers or destructors twice.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        nix::unistd::ForkResult::Parent { child } => match nix::sys::wait::waitpid(child, None)
            .expect("waitpid")
        {
            nix::sys::wait::WaitStatus::Exited(_, code) => code,
            other => panic!("the child did not exit normally (a hang ends in SIGALRM): {other:?}"),
        },
    }
}

/// Starts `command` (a program of util-linux) with its stdout piped, and waits
/// until it prints `ready`.
pub fn started(command: &mut Command) -> Child {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("run unshare (util-linux)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "{command:?} did not start");
    child
}

/// Runs `test` of this test binary again, alone, in a new process made by
/// `command` (the binary itself, or `setpriv` running it), with `env` set so that
/// the test knows where it runs; asserts that it passed, and returns what it
/// printed.
pub fn run_test_again(test: &str, mut command: Command, env: (&str, &str)) -> String {
    let out = command
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(env.0, env.1)
        .output()
        .expect("run the test binary");
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{test} failed, run again:\n{text}");
    assert!(
        text.contains("1 passed"),
        "{test} did not run again:\n{text}"
    );
    text.into_owned()
}

/// A helper process in new namespaces of all eight kinds, like a container's first
/// process: `unshare --user --map-root-user --pid --fork --mount-proc --net --uts
/// --ipc --cgroup --time`, with a hostname and a tmpfs on `/mnt` (holding a
/// directory `inside`) of its own. Killed when dropped.
pub struct Container {
    unshare: Child,
    /// Its first process (pid 1 inside), as this process sees it.
    pid: u32,
    pub hostname: String,
}

/// The kinds in the order the `/proc/self/ns` links are compared.
pub const ALL_KINDS: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

/// A shell command that prints the program's eight namespace links, one a line.
pub const PRINT_NS_LINKS: &str =
    "for k in cgroup ipc mnt net pid time user uts; do readlink /proc/self/ns/$k; done";

impl Container {
    pub fn start() -> Container {
        let hostname = unique_name("c");
        let script = format!(
            "hostname {hostname} && mount -t tmpfs -o size=1m nsrt-container-tmpfs /mnt \
             && mkdir /mnt/inside && echo ready && exec sleep 600"
        );
        let mut command = Command::new("unshare");
        command
            .args([
                "--user",
                "--map-root-user",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "--net",
                "--uts",
                "--ipc",
                "--cgroup",
                "--time",
                "sh",
                "-c",
            ])
            .arg(script);
        let unshare = started(&mut command);
        let id = unshare.id();
        let children = fs::read_to_string(format!("/proc/{id}/task/{id}/children")).unwrap();
        let pid = children.split_whitespace().next().unwrap().parse().unwrap();
        Container {
            unshare,
            pid,
            hostname,
        }
    }

    /// The pid of its first process (pid 1 inside).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// What `nsenter --target PID --all sh -c SCRIPT` prints.
    pub fn nsenter(&self, script: &str) -> String {
        let out = Command::new("nsenter")
            .args([
                "--target",
                &self.pid.to_string(),
                "--all",
                "sh",
                "-c",
                script,
            ])
            .output()
            .expect("run nsenter (util-linux)");
        assert!(out.status.success(), "nsenter: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Ends it (its pid namespace with it), and waits until it is gone.
    pub fn stop(&mut self) {
        // SAFETY: kill has no memory preconditions; the pid is our grandchild,
        // kept from reuse while `unshare`, its parent, has not reaped it.
        unsafe { libc::kill(self.pid as i32, libc::SIGKILL) };
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.stop();
    }
}

/// This process's children that exist (zombies included), from procfs.
pub fn children() -> Vec<u32> {
    let mut all = Vec::new();
    for task in fs::read_dir("/proc/self/task").unwrap().flatten() {
        let path = task.path().join("children");
        if let Ok(list) = fs::read_to_string(path) {
            all.extend(
                list.split_whitespace()
                    .filter_map(|pid| pid.parse::<u32>().ok()),
            );
        }
    }
    all
}

/// Waits up to `within` until thread `tid` of this process has ended; false if it
/// is still there.
pub fn thread_gone(tid: u32, within: std::time::Duration) -> bool {
    let task = format!("/proc/self/task/{tid}");
    let deadline = std::time::Instant::now() + within;
    while std::path::Path::new(&task).exists() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    true
}

/// Waits (up to 2 s) until no thread named `name` is left; false if one stays.
pub fn threads_named_gone(name: &str) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while tasks().iter().any(|t| t.name == name) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    true
}
