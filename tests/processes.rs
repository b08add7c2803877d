//! Child processes in any namespaces: `spawn`, `output` and `status` of every
//! handle, user, pid and time included, against `nsenter --all` and
//! `ip netns exec`, with the features of `Command` kept and nothing left behind.

#[macro_use]
mod common;

use std::fs;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{assert_threads_where_they_belong, Container, TestNs, PRINT_NS_LINKS};
use ns_runtime::{Error, Namespaces, NetNs, Ns, NsKind, NsSet};

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn sh(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    command
}

/// Every open fd of this process, with what it is.
fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|fd| {
            let target = fs::read_link(fd.path()).ok()?;
            Some(format!("{:?} {}", fd.file_name(), target.display()))
        })
        .collect();
    fds.sort();
    fds
}

const ALONE: &str = "NSRT_PROCESSES_ALONE";

/// Runs `test` again in a process of its own, where this process's children, fds
/// and threads are the test's alone; true in that process.
fn in_a_process_of_its_own(test: &str) -> bool {
    if std::env::var(ALONE).is_ok_and(|alone| alone == test) {
        return true;
    }
    let this = Command::new(std::env::current_exe().unwrap());
    common::run_test_again(test, this, (ALONE, test));
    false
}

/// Makes what the process keeps once made: the runtime's own (its spawner thread,
/// the files of the process's namespaces) and tokio's (its SIGCHLD pipe).
fn warm_up(set: &NsSet, runtime: &tokio::runtime::Runtime) {
    assert!(set.status(&mut Command::new("true")).unwrap().success());
    let _entered = runtime.enter();
    let child = set.spawn_tokio(&mut tokio::process::Command::new("true"));
    assert!(runtime.block_on(child.unwrap().wait()).unwrap().success());
    // Their helper threads (and the pidfds they wait on) go once they have exited.
    assert!(common::threads_named_gone("ns-spawn"));
}

/// This process's children, fds and helper threads, to compare after a test.
struct Leftovers {
    children: Vec<u32>,
    fds: Vec<String>,
}

impl Leftovers {
    fn now() -> Leftovers {
        let mut children = common::children();
        children.sort_unstable();
        Leftovers {
            children,
            fds: open_fds(),
        }
    }

    /// Nothing more than before: no child (zombie or not), no fd, no helper thread.
    fn assert_none_since(&self) {
        assert!(
            common::threads_named_gone("ns-spawn"),
            "a helper thread stayed"
        );
        assert_eq!(Leftovers::now().children, self.children, "a child was left");
        assert_eq!(open_fds(), self.fds, "an fd was left open");
    }
}

fn a_child_enters_all_eight_namespaces_of_a_process_as_nsenter_all_does() {
    require_root!();
    let container = Container::start();
    let set = NsSet::of_pid_all(container.pid()).unwrap();
    let kinds: Vec<NsKind> = set.members().iter().map(Ns::kind).collect();
    assert_eq!(kinds.len(), 8, "{kinds:?}");
    assert_eq!(&kinds[5..], [NsKind::Pid, NsKind::User, NsKind::Time]);

    let ours = stdout(&set.output(&mut sh(PRINT_NS_LINKS)).unwrap());
    let reference = container.nsenter(PRINT_NS_LINKS);
    assert_eq!(ours, reference);
    for (line, kind) in ours.lines().zip(common::ALL_KINDS) {
        let host = fs::read_link(format!("/proc/self/ns/{kind}")).unwrap();
        assert_ne!(line, host.to_str().unwrap(), "{kind} is the host's");
    }

    // A pid of its own inside (1 is the container's first process), the
    // container's hostname, mounts and credentials.
    let script = "echo $$; hostname; grep -c nsrt-container-tmpfs /proc/self/mounts; id -u";
    let out = stdout(&set.output(&mut sh(script)).unwrap());
    let lines: Vec<&str> = out.lines().collect();
    let pid: u32 = lines[0].parse().unwrap();
    assert!((2..100).contains(&pid), "pid inside: {pid}");
    assert_eq!(lines[1], container.hostname);
    assert_eq!(lines[2], "1", "the container's tmpfs on /mnt");
    assert_eq!(lines[3], "0");
    assert_eq!(lines, {
        let reference = container.nsenter(script);
        let mut lines: Vec<String> = reference.lines().map(str::to_owned).collect();
        lines[0] = pid.to_string(); // another process, another pid
        lines
    });

    // Threads cannot: typed, as before.
    assert!(matches!(set.run(|| ()), Err(Error::NotJoinable { .. })));
    assert!(matches!(set.hostname(), Err(Error::NotJoinable { .. })));
    assert_threads_where_they_belong();
    assert!(ns_runtime::audit().unwrap().is_clean());
}

/// A hook (async-signal-safe) that prints the network namespace link the child
/// is in when hooks run, on its stdout.
fn print_net_link_in_hook(cmd: &mut Command) -> &mut Command {
    let hook = || {
        let mut buf = [0_u8; 64];
        // SAFETY: readlink writes at most 64 bytes into `buf`; write reads what
        // readlink wrote. Both are async-signal-safe.
        unsafe {
            let path = c"/proc/self/ns/net".as_ptr();
            let n = libc::readlink(path, buf.as_mut_ptr().cast(), buf.len());
            if n > 0 {
                buf[n as usize] = b'\n';
                libc::write(1, buf.as_ptr().cast(), n as usize + 1);
            }
        }
        Ok(())
    };
    // SAFETY: the hook makes async-signal-safe calls only.
    unsafe { cmd.pre_exec(hook) }
}

fn what_command_does_keeps_working_in_every_kind_of_handle() {
    require_root!();
    let container = Container::start();
    let set = NsSet::of_pid_all(container.pid()).unwrap(); // forked by a helper
    let net = NetNs::create().unwrap(); // forked by the calling thread
    assert!(!std::path::Path::new("/mnt/inside").exists());
    for handle in [&set as &dyn Check, &net] {
        handle.check();
    }

    // Only the container's mount namespace has /mnt/inside: resolved inside.
    let out = set.output(sh("pwd").current_dir("/mnt/inside")).unwrap();
    assert_eq!(stdout(&out), "/mnt/inside\n");
    let out = set.output(&mut sh("pwd")).unwrap(); // a new root: `/`, as nsenter
    assert_eq!(stdout(&out), container.nsenter("pwd"));
    let relative = set.output(sh("pwd").current_dir("mnt/inside")).unwrap();
    assert_eq!(
        stdout(&relative),
        "/mnt/inside\n",
        "relative to the new root"
    );
    // The user's hooks run inside too: this one makes a file in the container's
    // tmpfs, which is not on the host.
    let mut touch = Command::new("true");
    let hook = || {
        // SAFETY: open and close are async-signal-safe; the path is a static string.
        let fd = unsafe {
            libc::open(
                c"/mnt/inside/hook-ran".as_ptr(),
                libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                0o644,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: closes the fd just opened.
        unsafe { libc::close(fd) };
        Ok(())
    };
    // SAFETY: the hook makes async-signal-safe calls only.
    let touch = unsafe { touch.pre_exec(hook) };
    assert!(set.status(touch).unwrap().success());
    assert_eq!(container.nsenter("ls /mnt/inside"), "hook-ran\n");
    // ... and a hook's error is the spawn's, typed.
    let mut failing = Command::new("true");
    // SAFETY: the hook makes no call at all.
    unsafe { failing.pre_exec(|| Err(std::io::Error::from_raw_os_error(libc::EDOM))) };
    let err = set.spawn(&mut failing).unwrap_err();
    assert!(
        matches!(&err, Error::Spawn { source, .. } if source.raw_os_error() == Some(libc::EDOM)),
        "{err:?}"
    );
    assert_threads_where_they_belong();
}

/// The same checks for a set forked by a helper and a handle forked by the caller.
trait Check {
    fn check(&self);
}

impl<N: Namespaces> Check for N {
    fn check(&self) {
        let net_link = |out: &std::process::Output| stdout(out).lines().next().unwrap().to_owned();
        // Arguments and environment.
        let mut echo = sh("echo \"$0|$1|$NSRT_VAR\"");
        echo.args(["a b", "c"]).env("NSRT_VAR", "v");
        assert_eq!(stdout(&self.output(&mut echo).unwrap()), "a b|c|v\n");
        // Hooks run after entering: the hook sees the namespace the program sees.
        let mut program = sh("readlink /proc/self/ns/net");
        let out = self.output(print_net_link_in_hook(&mut program)).unwrap();
        let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0], lines[1], "the hook ran elsewhere");
        assert_ne!(
            lines[0],
            net_link(
                &Command::new("readlink")
                    .arg("/proc/self/ns/net")
                    .output()
                    .unwrap()
            )
        );
        // The caller's signal mask (a helper thread's blocks every signal).
        let status = fs::read_to_string("/proc/thread-self/status").unwrap();
        let ours = status.lines().find(|l| l.starts_with("SigBlk:")).unwrap();
        let mut grep = Command::new("grep");
        grep.args(["SigBlk:", "/proc/self/status"]);
        assert_eq!(
            stdout(&self.output(&mut grep).unwrap()),
            format!("{ours}\n")
        );
        // Pipes both ways.
        let mut cat = Command::new("cat");
        cat.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = self.spawn(&mut cat).unwrap();
        child.stdin.take().unwrap().write_all(b"through\n").unwrap();
        let mut text = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "through\n");
        assert!(child.wait().unwrap().success());
        // Exit status, and kill.
        assert_eq!(self.status(&mut sh("exit 7")).unwrap().code(), Some(7));
        let mut sleeper = self.spawn(Command::new("sleep").arg("600")).unwrap();
        sleeper.kill().unwrap();
        assert_eq!(sleeper.wait().unwrap().signal(), Some(libc::SIGKILL));
    }
}

fn a_parent_death_signal_follows_this_process_not_the_helper_thread() {
    require_root!();
    let container = Container::start();
    let set = NsSet::of_pid_all(container.pid()).unwrap();
    let mut cmd = sh("sleep 0.3; exit 3");
    let hook = || {
        // SAFETY: prctl with integer arguments is async-signal-safe.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        Ok(())
    };
    // SAFETY: the hook makes an async-signal-safe call only.
    let mut child = set.spawn(unsafe { cmd.pre_exec(hook) }).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(child.try_wait().unwrap().is_none(), "killed early");
    assert_eq!(child.wait().unwrap().code(), Some(3));
    assert!(common::threads_named_gone("ns-spawn"));
}

/// `/etc/netns/NAME/` with a `hosts` file of its own; removed when dropped.
struct EtcNetns {
    dir: std::path::PathBuf,
    made_parent: bool,
    hosts: String,
}

impl EtcNetns {
    fn new(name: &str) -> EtcNetns {
        let parent = std::path::Path::new("/etc/netns");
        let made_parent = !parent.exists();
        let dir = parent.join(name);
        fs::create_dir_all(&dir).unwrap();
        let hosts = format!("10.99.0.1 {name}.inside\n");
        fs::write(dir.join("hosts"), &hosts).unwrap();
        EtcNetns {
            dir,
            made_parent,
            hosts,
        }
    }
}

impl Drop for EtcNetns {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
        if self.made_parent {
            let _ = fs::remove_dir("/etc/netns");
        }
    }
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2)");
    stdout(&out)
}

fn a_named_network_namespace_gets_what_ip_netns_exec_gives() {
    require_root!();
    let t = TestNs::new("exec");
    let etc = EtcNetns::new(&t.name);
    ip(&[
        "-n", &t.name, "link", "add", "nsrtv0", "type", "veth", "peer", "nsrtv1",
    ]);
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
    let hosts = fs::read_to_string("/etc/hosts").unwrap();

    let cat_hosts = t.ns.output(Command::new("cat").arg("/etc/hosts")).unwrap();
    assert_eq!(stdout(&cat_hosts), etc.hosts);
    assert_eq!(
        stdout(&cat_hosts),
        ip(&["netns", "exec", &t.name, "cat", "/etc/hosts"])
    );
    let devices = stdout(
        &t.ns
            .output(Command::new("ls").arg("/sys/class/net"))
            .unwrap(),
    );
    assert_eq!(devices, "lo\nnsrtv0\nnsrtv1\n");
    assert_eq!(
        devices,
        ip(&["netns", "exec", &t.name, "ls", "/sys/class/net"])
    );
    // Through a set holding it too, unless the set names a mount namespace.
    let uts = Ns::create(NsKind::Uts).unwrap();
    let set = NsSet::new([t.ns.clone().into(), uts]).unwrap();
    let out = set.output(Command::new("cat").arg("/etc/hosts")).unwrap();
    assert_eq!(stdout(&out), etc.hosts);

    // Not for a namespace opened another way, nor for the caller.
    let by_path = NetNs::from_path(format!("/run/netns/{}", t.name)).unwrap();
    let out = by_path
        .output(Command::new("cat").arg("/etc/hosts"))
        .unwrap();
    assert_eq!(stdout(&out), hosts);
    assert_eq!(fs::read_to_string("/etc/hosts").unwrap(), hosts);
    assert!(!fs::read_dir("/sys/class/net")
        .unwrap()
        .any(|e| e.unwrap().file_name() == "nsrtv0"));
    assert_eq!(fs::read_to_string("/proc/self/mounts").unwrap(), mounts);
    assert_threads_where_they_belong();
}

fn spawning_from_8_threads_and_100_tokio_tasks_at_once() {
    require_root!();
    if !in_a_process_of_its_own("spawning_from_8_threads_and_100_tokio_tasks_at_once") {
        return;
    }
    let container = Container::start();
    let set = Arc::new(NsSet::of_pid_all(container.pid()).unwrap());
    let net = NetNs::create().unwrap();
    let pid_link = container.nsenter("readlink /proc/self/ns/pid");
    let net_link = format!("net:[{}]\n", net.inode());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    warm_up(&set, &runtime);
    let before = Leftovers::now();
    std::thread::scope(|scope| {
        for i in 0..8 {
            let (set, net, pid_link, net_link) = (&set, &net, &pid_link, &net_link);
            scope.spawn(move || {
                for j in 0..4 {
                    if (i + j) % 2 == 0 {
                        let out = set.output(Command::new("readlink").arg("/proc/self/ns/pid"));
                        assert_eq!(&stdout(&out.unwrap()), pid_link);
                    } else {
                        let out = net.output(Command::new("readlink").arg("/proc/self/ns/net"));
                        assert_eq!(&stdout(&out.unwrap()), net_link);
                    }
                }
            });
        }
    });
    runtime.block_on(async {
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let (set, net) = (Arc::clone(&set), net.clone());
                tokio::spawn(async move {
                    let mut cmd = tokio::process::Command::new("readlink");
                    cmd.stdout(Stdio::piped());
                    let child = if i % 2 == 0 {
                        set.spawn_tokio(cmd.arg("/proc/self/ns/pid"))
                    } else {
                        net.spawn_tokio(cmd.arg("/proc/self/ns/net"))
                    };
                    (i, child.unwrap().wait_with_output().await.unwrap())
                })
            })
            .collect();
        for task in tasks {
            let (i, out) = task.await.unwrap();
            let want = if i % 2 == 0 { &pid_link } else { &net_link };
            assert_eq!(&stdout(&out), want);
        }
    });
    before.assert_none_since();
    assert_threads_where_they_belong();
}

fn failures_are_typed_errors_and_leave_nothing_behind() {
    require_root!();
    if !in_a_process_of_its_own("failures_are_typed_errors_and_leave_nothing_behind") {
        return;
    }
    let mut container = Container::start();
    let set = NsSet::of_pid_all(container.pid()).unwrap();
    let net = NetNs::create().unwrap();
    // A directory of the host that the container's tmpfs on /mnt hides.
    let host_only = std::path::Path::new("/mnt").join(common::unique_name("host-only"));
    fs::create_dir(&host_only).unwrap();
    warm_up(&set, &tokio::runtime::Runtime::new().unwrap());
    let before = Leftovers::now();

    let err = set
        .spawn(&mut Command::new("/nonexistent/program"))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Spawn { program, source, .. }
            if program == "/nonexistent/program" && source.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    let err = net
        .output(&mut Command::new("/nonexistent/program"))
        .unwrap_err();
    assert!(matches!(err, Error::Spawn { .. }), "{err:?}");
    let err = set
        .status(Command::new("true").current_dir(&host_only))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Spawn { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains(&format!("pid {}", container.pid())),
        "{err}"
    );
    fs::remove_dir(&host_only).unwrap();
    before.assert_none_since();

    // The container's pid 1 exits: its pid namespace takes no new process.
    container.stop();
    let before = Leftovers::now();
    let err = set.spawn(&mut Command::new("true")).unwrap_err();
    assert!(matches!(err, Error::PidNamespaceGone { .. }), "{err:?}");
    assert!(err.to_string().contains("pid namespace"), "{err}");
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::NotFound
    );
    before.assert_none_since();
    assert_threads_where_they_belong();
}

const NO_CAPS: &str = "NSRT_PROCESSES_NO_CAPS";

/// In a child without capabilities: every failure typed, nothing left behind.
fn refused_without_capabilities(name: &str, pid: u32) {
    assert!(
        !common::has_cap_sys_admin(),
        "setpriv did not drop CAP_SYS_ADMIN"
    );
    let ns = NetNs::named(name).expect("opening needs no capability");
    let set = NsSet::of_pid_all(pid).unwrap();
    let _ = set.status(&mut Command::new("true")); // starts what the runtime keeps
    let before = Leftovers::now();
    let err = ns.spawn(&mut Command::new("true")).unwrap_err();
    assert!(
        matches!(&err, Error::PermissionDenied { call: "setns", target, .. }
            if target.contains(&format!("net namespace {name:?}"))),
        "{err:?}"
    );
    assert!(err.to_string().contains("CAP_SYS_ADMIN"), "{err}");
    assert!(matches!(
        ns.output(&mut Command::new("true")),
        Err(Error::PermissionDenied { .. })
    ));
    // A set with a pid namespace: its helper thread cannot enter it.
    let err = set.status(&mut Command::new("true")).unwrap_err();
    assert!(
        matches!(&err, Error::PermissionDenied { call: "setns", target, .. }
            if target.contains("pid namespace")),
        "{err:?}"
    );
    before.assert_none_since();
    assert_threads_where_they_belong();
}

fn without_capabilities_a_spawn_is_a_typed_error_that_leaves_nothing_behind() {
    if let Ok(args) = std::env::var(NO_CAPS) {
        let (name, pid) = args.split_once(' ').unwrap();
        refused_without_capabilities(name, pid.parse().unwrap());
        return;
    }
    require_root!();
    let t = TestNs::new("nocaps-exec");
    let container = Container::start();
    common::run_test_again(
        "without_capabilities_a_spawn_is_a_typed_error_that_leaves_nothing_behind",
        common::without_capabilities(std::env::current_exe().unwrap()),
        (NO_CAPS, &format!("{} {}", t.name, container.pid())),
    );
}

/// A process in a user namespace of its own and network and uts namespaces that
/// user namespace owns, with uid and gid 0 mapped to root outside and
/// `setgroups` allowed (`unshare --map-root-user` would deny it, and `nsenter`
/// then fails without privileges, as this crate does). Killed when dropped.
struct OwnedUserNs {
    child: std::process::Child,
    hostname: String,
}

impl OwnedUserNs {
    fn start() -> OwnedUserNs {
        let hostname = common::unique_name("u");
        let mut child = Command::new("unshare")
            .args(["--user", "--net", "--uts", "sh", "-c"])
            .arg(format!(
                "read go && hostname {hostname} && echo ready && exec sleep 600"
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run unshare (util-linux)");
        let pid = child.id();
        let ours = fs::read_link("/proc/self/ns/user").unwrap();
        while fs::read_link(format!("/proc/{pid}/ns/user")).unwrap() == ours {
            std::thread::sleep(Duration::from_millis(1)); // until it has unshared
        }
        // Mapped from outside, by root: setgroups stays allowed.
        fs::write(format!("/proc/{pid}/uid_map"), "0 0 1\n").unwrap();
        fs::write(format!("/proc/{pid}/gid_map"), "0 0 1\n").unwrap();
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let mut ready = [0_u8; 6];
        child.stdout.take().unwrap().read_exact(&mut ready).unwrap();
        assert_eq!(&ready, b"ready\n");
        OwnedUserNs { child, hostname }
    }
}

impl Drop for OwnedUserNs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const OWNER: &str = "NSRT_PROCESSES_OWNER";
const OWNER_SCRIPT: &str =
    "for k in net uts user; do readlink /proc/self/ns/$k; done; hostname; id -u";

fn the_owner_of_a_user_namespace_enters_it_and_what_it_owns_without_privileges() {
    if let Ok(pid) = std::env::var(OWNER) {
        assert!(
            !common::has_cap_sys_admin(),
            "setpriv did not drop CAP_SYS_ADMIN"
        );
        let set = NsSet::of_pid_all(pid.parse().unwrap()).unwrap();
        let kinds: Vec<NsKind> = set.members().iter().map(Ns::kind).collect();
        assert_eq!(kinds, [NsKind::Net, NsKind::Uts, NsKind::User]);
        // Outside, without CAP_SYS_ADMIN, net and uts are refused; inside the user
        // namespace, which it owns, the child may enter them: user first, then.
        let out = set.output(&mut sh(OWNER_SCRIPT)).unwrap();
        print!("{}", stdout(&out));
        return;
    }
    require_root!();
    let owned = OwnedUserNs::start();
    let pid = owned.child.id().to_string();
    let nsenter = |mut nsenter: Command, kinds: &[&str]| {
        let out = nsenter
            .args(["--target", &pid])
            .args(kinds)
            .args(["sh", "-c", OWNER_SCRIPT])
            .output()
            .unwrap();
        stdout(&out)
    };
    let reference = nsenter(Command::new("nsenter"), &["--all"]);
    assert!(reference.contains(&owned.hostname), "{reference}");
    // Without privileges, `nsenter --all` fails: it enters the namespaces it
    // shares with its target again (cgroup, ipc, mnt, ...), which needs
    // CAP_SYS_ADMIN. `of_pid_all` leaves those out; nsenter must be told.
    let unprivileged = common::without_capabilities("nsenter");
    assert_eq!(
        nsenter(unprivileged, &["--user", "--net", "--uts"]),
        reference
    );
    let text = common::run_test_again(
        "the_owner_of_a_user_namespace_enters_it_and_what_it_owns_without_privileges",
        common::without_capabilities(std::env::current_exe().unwrap()),
        (OWNER, &pid),
    );
    assert!(
        text.contains(&reference),
        "not as nsenter:\n{text}\nwant:\n{reference}"
    );
}

tests! {
    a_child_enters_all_eight_namespaces_of_a_process_as_nsenter_all_does,
    what_command_does_keeps_working_in_every_kind_of_handle,
    a_parent_death_signal_follows_this_process_not_the_helper_thread,
    a_named_network_namespace_gets_what_ip_netns_exec_gives,
    spawning_from_8_threads_and_100_tokio_tasks_at_once,
    failures_are_typed_errors_and_leave_nothing_behind,
    without_capabilities_a_spawn_is_a_typed_error_that_leaves_nothing_behind,
    the_owner_of_a_user_namespace_enters_it_and_what_it_owns_without_privileges,
}
