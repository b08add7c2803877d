//! Namespace kinds other than net, sets of several, and a process's whole set:
//! uts, mnt, ipc and cgroup entered (and nothing else moved), user/pid/time refused
//! to threads with typed errors, and net + uts + mnt of a helper process entered together.

#[macro_use]
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{assert_threads_where_they_belong, Helper};
use ns_runtime::{in_ns, Error, Namespaces, NetNs, Ns, NsKind, NsSet, Runtime};

/// The inode of the calling thread's namespace of `kind`, from procfs.
fn inode_here(kind: NsKind) -> u64 {
    let link = fs::read_link(format!("/proc/thread-self/ns/{kind}")).unwrap();
    let link = link.to_str().unwrap();
    link.split_once(":[")
        .unwrap()
        .1
        .trim_end_matches(']')
        .parse()
        .unwrap()
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Root and cwd of every thread of this process that is not a namespace thread.
fn roots_and_cwds() -> Vec<(u32, PathBuf, PathBuf)> {
    common::tasks()
        .into_iter()
        .filter(|task| !common::is_runtime_thread(task) && task.name != "ns-create")
        .filter_map(|task| {
            let root = fs::read_link(format!("/proc/self/task/{}/root", task.tid)).ok()?;
            let cwd = fs::read_link(format!("/proc/self/task/{}/cwd", task.tid)).ok()?;
            Some((task.tid, root, cwd))
        })
        .collect()
}

fn assert_nobody_else_moved(before: &[(u32, PathBuf, PathBuf)]) {
    let after = roots_and_cwds();
    for (tid, root, cwd) in before {
        if let Some((_, root_now, cwd_now)) = after.iter().find(|(t, _, _)| t == tid) {
            assert_eq!((root, cwd), (root_now, cwd_now), "thread {tid} moved");
        }
    }
}

fn host_mounts() -> String {
    fs::read_to_string("/proc/self/mounts").unwrap()
}

fn uts_hostname_inside_is_the_namespaces_and_the_hosts_is_unchanged() {
    require_root!();
    let host = hostname();
    let uts = Ns::create(NsKind::Uts).unwrap();
    let name = common::unique_name("uts");
    uts.set_hostname(&name).unwrap();
    assert_eq!(uts.hostname().unwrap(), name);
    let inside = uts.run(hostname).unwrap();
    assert_eq!(inside, name);
    assert_eq!(hostname(), host);
    assert_eq!(uts.run(|| inode_here(NsKind::Uts)).unwrap(), uts.inode());
    // Not a mount or network namespace: the conveniences say what is missing.
    assert!(matches!(
        uts.mounts(),
        Err(Error::MissingKind {
            kind: NsKind::Mnt,
            ..
        })
    ));
    assert_threads_where_they_belong();
}

fn a_tmpfs_mounted_inside_a_mount_namespace_stays_inside() {
    require_root!();
    let before = roots_and_cwds();
    let dir = tempfile::Builder::new()
        .prefix("nsrt-mnt-")
        .tempdir()
        .unwrap();
    let mnt = Ns::create(NsKind::Mnt).unwrap();
    let target = dir.path().to_owned();
    mnt.run(|| -> nix::Result<()> {
        nix::mount::mount(
            Some("nsrt-tmpfs"),
            &target,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some("size=1m"),
        )?;
        fs::write(target.join("inside"), b"x").unwrap();
        Ok(())
    })
    .unwrap()
    .unwrap();

    // Inside: the mount and its file.
    let mounts = mnt.mounts().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m.target == dir.path() && m.fstype == "tmpfs"),
        "{mounts:#?}"
    );
    let target = dir.path().to_owned();
    assert!(mnt.run(|| target.join("inside").exists()).unwrap());
    assert_eq!(mnt.run(|| inode_here(NsKind::Mnt)).unwrap(), mnt.inode());
    // Outside: neither.
    assert!(!host_mounts().contains("nsrt-tmpfs"));
    assert!(!dir.path().join("inside").exists());
    assert_nobody_else_moved(&before);
    assert_threads_where_they_belong();
}

fn with_private_fs_a_thread_that_entered_a_mount_namespace_exits_when_it_is_released() {
    require_root!();
    let before = roots_and_cwds();
    let rt = Runtime::builder()
        .private_fs(true)
        .keep_alive(Duration::from_secs(60))
        .build();
    let helper = Helper::start();
    // Entered through the helper's pidfd (every kind at once), then through a file.
    let set = NsSet::of_pid(helper.pid()).unwrap();
    let mnt = Ns::create(NsKind::Mnt).unwrap();
    let where_mounts = || {
        (
            nix::unistd::gettid().as_raw() as u32,
            inode_here(NsKind::Mnt),
        )
    };
    let (in_set, inode) = rt.run(&set, where_mounts).unwrap();
    assert_eq!(inode, set.get(NsKind::Mnt).unwrap().inode());
    let (in_mnt, inode) = rt.run(&mnt, where_mounts).unwrap();
    assert_eq!(inode, mnt.inode());
    // Its cwd and root were reset as it entered: it exits rather than go home.
    drop((set, mnt));
    for tid in [in_set, in_mnt] {
        assert!(
            common::thread_gone(tid, Duration::from_secs(2)),
            "thread {tid} went home"
        );
    }
    assert_nobody_else_moved(&before);
    assert_threads_where_they_belong();
}

fn ipc_and_cgroup_namespaces_are_entered() {
    require_root!();
    for kind in [NsKind::Ipc, NsKind::Cgroup] {
        let host = inode_here(kind);
        let ns = Ns::create(kind).unwrap();
        assert_ne!(ns.inode(), host);
        assert_eq!(ns.run(move || inode_here(kind)).unwrap(), ns.inode());
        assert_eq!(inode_here(kind), host);
        // Opened again by path, with its kind checked.
        let fd = std::os::fd::AsFd::as_fd(&ns).try_clone_to_owned().unwrap();
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
        assert_eq!(Ns::from_path_of_kind(&path, kind).unwrap(), ns);
        assert!(matches!(
            Ns::from_path_of_kind(&path, NsKind::Net),
            Err(Error::WrongKind { expected: NsKind::Net, found, .. }) if found == kind
        ));
    }
    assert_threads_where_they_belong();
}

fn user_pid_and_time_are_refused_to_threads_with_typed_errors() {
    require_root!();
    for kind in [NsKind::User, NsKind::Pid, NsKind::Time] {
        // Opening works: a handle can be compared and passed to a child process.
        let ns = match Ns::of_pid(std::process::id(), kind) {
            Ok(ns) => ns,
            Err(Error::NotFound { .. }) if kind == NsKind::Time => continue, // old kernel
            Err(err) => panic!("{err}"),
        };
        assert_eq!(ns.kind(), kind);
        let err = ns.run(|| ()).unwrap_err();
        assert!(
            matches!(err, Error::NotJoinable { kind: k, .. } if k == kind),
            "{err:?}"
        );
        assert!(err.to_string().contains(kind.proc_name()), "{err}");
        assert!(err.to_string().contains("child"), "no advice in: {err}");
        assert_eq!(
            std::io::Error::from(err).kind(),
            std::io::ErrorKind::Unsupported
        );
        assert!(matches!(Ns::create(kind), Err(Error::NotJoinable { .. })));
        // A set may hold one (a child process can enter it), but not be run in.
        let set = NsSet::new([ns.clone(), NetNs::create().unwrap().into()]).unwrap();
        assert_eq!(set.members().last(), Some(&ns));
        let err = set.run(|| ()).unwrap_err();
        assert!(
            matches!(err, Error::NotJoinable { kind: k, .. } if k == kind),
            "{err:?}"
        );
        assert!(matches!(set.hostname(), Err(Error::NotJoinable { .. })));
    }
    assert!(matches!(NsSet::new([]), Err(Error::EmptySet)));
    let net = NetNs::create().unwrap();
    assert!(matches!(
        NsSet::new([net.clone().into(), net.into()]),
        Err(Error::DuplicateKind { kind: NsKind::Net })
    ));
}

fn the_namespaces_of_a_process_are_entered_together() {
    require_root!();
    let before = roots_and_cwds();
    let host_name = hostname();
    let mut helper = Helper::start();
    let helper_net = Ns::of_pid(helper.pid(), NsKind::Net).unwrap().inode();
    let set = NsSet::of_pid(helper.pid()).unwrap();
    let kinds: Vec<NsKind> = set.members().iter().map(Ns::kind).collect();
    assert_eq!(&kinds[..2], [NsKind::Net, NsKind::Uts]);
    assert_eq!(kinds.last(), Some(&NsKind::Mnt));
    assert_eq!(set.get(NsKind::Net).unwrap().inode(), helper_net);

    assert_eq!(set.hostname().unwrap(), helper.hostname);
    let mounts = set.mounts().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m.source == "nsrt-helper-tmpfs" && m.target == Path::new("/mnt")),
        "{mounts:#?}"
    );
    let expected: Vec<u64> = [NsKind::Net, NsKind::Uts, NsKind::Mnt]
        .into_iter()
        .map(|kind| Ns::of_pid(helper.pid(), kind).unwrap().inode())
        .collect();
    let inside = |set: &NsSet, rt: &Runtime| {
        rt.run(set, || {
            [NsKind::Net, NsKind::Uts, NsKind::Mnt]
                .map(inode_here)
                .to_vec()
        })
        .unwrap()
    };
    assert_eq!(inside(&set, Runtime::global()), expected);

    // The host is as it was.
    assert_eq!(hostname(), host_name);
    assert!(!host_mounts().contains("nsrt-helper-tmpfs"));
    assert_nobody_else_moved(&before);
    assert_threads_where_they_belong();

    // The process is gone: new threads enter through the files held by the set.
    helper.stop();
    let fresh = Runtime::builder().build();
    assert_eq!(inside(&set, &fresh), expected);
    assert_threads_where_they_belong();
}

fn a_set_made_of_handles_shares_threads_with_an_equal_set() {
    require_root!();
    let net = NetNs::create().unwrap();
    let uts = Ns::create(NsKind::Uts).unwrap();
    let a = NsSet::new([net.clone().into(), uts.clone()]).unwrap();
    let b = NsSet::new([uts.clone(), net.as_ns().clone()]).unwrap();
    assert_eq!(a, b);
    // One pool: `a`'s thread serves `b` (nearly always at once; a thread that was
    // descheduled as the call came may get company, so a few tries). Dedicated
    // threads never move to another pool, so only one pool can explain it.
    let rt = Runtime::builder().dedicated_threads(true).build();
    let ta = rt.run(&a, nix::unistd::gettid).unwrap();
    assert!(
        (0..20).any(|_| rt.run(&b, nix::unistd::gettid).unwrap() == ta),
        "two pools for one set"
    );
    // A call from a thread of the set into the set runs inline.
    let b2 = b.clone();
    let (outer, nested) = a
        .run(move || (nix::unistd::gettid(), b2.run(nix::unistd::gettid).unwrap()))
        .unwrap();
    assert_eq!(nested, outer);
    // And async bodies enter all members too.
    let kinds = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(a.run_async(|| async { [inode_here(NsKind::Net), inode_here(NsKind::Uts)] }))
        .unwrap();
    assert_eq!(kinds, [net.inode(), uts.inode()]);
    assert_threads_where_they_belong();
}

#[in_ns(net = net, uts = uts)]
fn net_and_uts_inside(net: &NetNs, uts: &Ns) -> std::io::Result<(u64, u64, String)> {
    Ok((inode_here(NsKind::Net), inode_here(NsKind::Uts), hostname()))
}

#[in_ns(set)]
async fn mount_inode_later(set: &NsSet) -> std::io::Result<u64> {
    tokio::task::yield_now().await;
    assert!(set.get(NsKind::Mnt).is_some());
    Ok(inode_here(NsKind::Mnt))
}

fn the_in_ns_attribute_runs_bodies_in_every_member() {
    require_root!();
    let net = NetNs::create().unwrap();
    let uts = Ns::create(NsKind::Uts).unwrap();
    let name = common::unique_name("attr");
    uts.set_hostname(&name).unwrap();
    let (net_inode, uts_inode, host) = net_and_uts_inside(&net, &uts).unwrap();
    assert_eq!((net_inode, uts_inode), (net.inode(), uts.inode()));
    assert_eq!(host, name);

    // A member of the wrong kind is a typed error when called.
    let ipc = Ns::create(NsKind::Ipc).unwrap();
    let err = net_and_uts_inside(&net, &ipc).unwrap_err();
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<Error>());
    assert!(
        matches!(
            inner,
            Some(Error::WrongKind {
                expected: NsKind::Uts,
                found: NsKind::Ipc,
                ..
            })
        ),
        "{err:?}"
    );

    let mnt = Ns::create(NsKind::Mnt).unwrap();
    let set = NsSet::new([uts, mnt.clone()]).unwrap();
    let inside = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(mount_inode_later(&set))
        .unwrap();
    assert_eq!(inside, mnt.inode());
    assert_threads_where_they_belong();
}

/// A child process, killed and reaped when dropped (also when the test fails).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn the_namespaces_of_a_zombie_are_not_found() {
    let mut child = Child(
        std::process::Command::new("sleep")
            .arg("600")
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    assert!(
        NsSet::of_pid(pid).is_ok(),
        "alive, its namespaces are found"
    );

    child.0.kill().unwrap();
    // Wait until it has exited, but leave it unreaped (`WNOWAIT`): a zombie.
    // SAFETY: an all-zero `siginfo_t` is valid; waitid writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid siginfo_t for waitid to fill.
    let waited =
        unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) };
    assert_eq!(waited, 0, "waitid: {}", std::io::Error::last_os_error());
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let state = stat.rsplit_once(") ").unwrap().1.split(' ').next();
    assert_eq!(state, Some("Z"), "not a zombie: {stat}");
    assert!(Path::new(&format!("/proc/{pid}/ns")).exists());

    for err in [
        NsSet::of_pid(pid).map(drop).unwrap_err(),
        NetNs::of_pid(pid).map(drop).unwrap_err(),
        Ns::of_pid(pid, NsKind::Uts).map(drop).unwrap_err(),
    ] {
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    }
    drop(child); // reaped
    let err = NsSet::of_pid(pid).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

tests! {
    uts_hostname_inside_is_the_namespaces_and_the_hosts_is_unchanged,
    a_tmpfs_mounted_inside_a_mount_namespace_stays_inside,
    with_private_fs_a_thread_that_entered_a_mount_namespace_exits_when_it_is_released,
    ipc_and_cgroup_namespaces_are_entered,
    user_pid_and_time_are_refused_to_threads_with_typed_errors,
    the_namespaces_of_a_process_are_entered_together,
    a_set_made_of_handles_shares_threads_with_an_equal_set,
    the_in_ns_attribute_runs_bodies_in_every_member,
    the_namespaces_of_a_zombie_are_not_found,
}
