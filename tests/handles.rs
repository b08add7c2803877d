//! Namespace handles: opening, creating, naming, identity, iproute2 interop and bad
//! input. Every namespace here is made by the test and removed again.

#[macro_use]
mod common;

use std::collections::HashSet;
use std::io;
use std::process::Command;

use common::{host_net_inode, thread_net_inode, unique_name, TestNs};
use ns_runtime::{Error, NetNs, NsKind};

fn ip(args: &[&str]) -> std::process::Output {
    Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2)")
}

fn current_is_the_calling_threads_namespace() {
    require_root!();
    let here = NetNs::current().unwrap();
    assert_eq!(here.inode(), thread_net_inode());
    assert_eq!(here, NetNs::of_pid(std::process::id()).unwrap());
    assert_eq!(here, NetNs::from_path("/proc/self/ns/net").unwrap());
}

fn create_makes_a_new_namespace_without_moving_the_caller() {
    require_root!();
    let before = thread_net_inode();
    let ns = NetNs::create().unwrap();
    assert_eq!(thread_net_inode(), before, "the caller's thread moved");
    assert_ne!(ns.inode(), before);
    assert_eq!(ns.name(), None);
}

fn two_paths_to_one_namespace_are_equal_and_hash_alike() {
    require_root!();
    let t = TestNs::new("eq");
    let by_name = NetNs::named(&t.name).unwrap();
    let by_path = NetNs::from_path(format!("/run/netns/{}", t.name)).unwrap();
    assert_eq!(by_name, by_path);
    assert_eq!(by_name, t.ns);
    let set: HashSet<NetNs> = [by_name, by_path, t.ns.clone(), NetNs::current().unwrap()].into();
    assert_eq!(set.len(), 2);
}

fn debug_shows_name_and_inode() {
    require_root!();
    let t = TestNs::new("dbg");
    let debug = format!("{:?}", t.ns);
    assert!(debug.contains(&t.name), "{debug}");
    assert!(debug.contains(&t.ns.inode().to_string()), "{debug}");
    assert_eq!(t.ns.name(), Some(t.name.as_str()));
}

fn iproute2_sees_a_namespace_we_named() {
    require_root!();
    let t = TestNs::new("ipsees");
    let out = ip(&["netns", "exec", &t.name, "readlink", "/proc/self/ns/net"]);
    assert!(out.status.success(), "{out:?}");
    let seen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(seen.trim(), format!("net:[{}]", t.ns.inode()));
}

fn we_open_a_namespace_iproute2_made_and_it_removes_ours() {
    require_root!();
    let name = unique_name("ipmade");
    assert!(ip(&["netns", "add", &name]).status.success());
    let opened = NetNs::named(&name);
    let deleted = ip(&["netns", "del", &name]);
    let opened = opened.unwrap();
    assert!(deleted.status.success());
    assert_ne!(opened.inode(), host_net_inode());

    let ours = TestNs::new("ipdel");
    let out = ip(&["netns", "del", &ours.name]);
    assert!(out.status.success(), "{out:?}");
    assert!(matches!(
        NetNs::named(&ours.name),
        Err(Error::NotFound { .. })
    ));
}

fn a_taken_name_is_an_error_that_changes_nothing() {
    require_root!();
    let t = TestNs::new("taken");
    let err = NetNs::create_named(&t.name).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    assert_eq!(io::Error::from(err).kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(
        NetNs::named(&t.name).unwrap(),
        t.ns,
        "the existing namespace was replaced"
    );
}

fn invalid_names_are_refused_before_touching_anything() {
    for name in ["", ".", "..", "a/b", "/etc/passwd", &"n".repeat(256)] {
        for result in [
            NetNs::named(name).map(drop),
            NetNs::create_named(name).map(drop),
            NetNs::remove_named(name),
        ] {
            let err = result.unwrap_err();
            assert!(
                matches!(err, Error::InvalidName { .. }),
                "{name:?}: {err:?}"
            );
            assert_eq!(err.io_kind(), io::ErrorKind::InvalidInput);
        }
    }
}

fn a_missing_path_is_not_found() {
    let err = NetNs::from_path("/nonexistent/ns").unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(io::Error::from(err).kind(), io::ErrorKind::NotFound);
    let err = NetNs::named(&unique_name("missing")).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let err = NetNs::remove_named(&unique_name("missing")).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

fn files_that_are_not_namespaces_are_refused() {
    let dir = std::env::temp_dir().join(unique_name("notns"));
    std::fs::write(&dir, b"not a namespace").unwrap();
    let regular = NetNs::from_path(&dir);
    std::fs::remove_file(&dir).unwrap();
    for result in [
        regular,
        NetNs::from_path("/"),
        NetNs::from_path("/dev/null"),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::NotANamespace { .. }), "{err:?}");
        assert_eq!(err.io_kind(), io::ErrorKind::InvalidInput);
    }
}

fn a_namespace_of_another_kind_is_refused_and_named() {
    let err = NetNs::from_path("/proc/self/ns/mnt").unwrap_err();
    match &err {
        Error::WrongKind {
            expected, found, ..
        } => {
            assert_eq!((*expected, *found), (NsKind::Net, NsKind::Mnt));
        }
        other => panic!("expected WrongKind, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("is a mnt namespace, not a net namespace"),
        "{err}"
    );
}

fn a_namespace_removed_while_in_use_keeps_serving() {
    require_root!();
    let t = TestNs::new("removed");
    assert_eq!(t.ns.run(thread_net_inode).unwrap(), t.ns.inode());
    NetNs::remove_named(&t.name).unwrap();
    assert!(matches!(NetNs::named(&t.name), Err(Error::NotFound { .. })));
    // The handle and its threads keep the namespace alive.
    for _ in 0..100 {
        assert_eq!(t.ns.run(thread_net_inode).unwrap(), t.ns.inode());
    }
}

fn loopback_comes_up_on_request() {
    require_root!();
    let ns = NetNs::create().unwrap();
    let connect = |ns: &NetNs| {
        ns.run(|| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            std::net::TcpStream::connect(listener.local_addr()?).map(drop)
        })
        .unwrap()
    };
    let down = connect(&ns).unwrap_err();
    assert_eq!(down.raw_os_error(), Some(libc::ENETUNREACH), "{down}");
    ns.set_loopback_up().unwrap();
    connect(&ns).unwrap();
}

/// Whether something is mounted at `dir` (in this process's mount namespace).
fn is_mount_point(dir: &std::path::Path) -> bool {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.to_str().unwrap();
    mountinfo
        .lines()
        .any(|line| line.split(' ').nth(4) == Some(dir))
}

/// A symlink under `/run/netns` to a mount made elsewhere by the test; all three
/// are removed when dropped, also when the test fails.
struct LinkToMount {
    link: std::path::PathBuf,
    target: std::path::PathBuf,
}

impl Drop for LinkToMount {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.link);
        while nix::mount::umount2(&self.target, nix::mount::MntFlags::UMOUNT_NOFOLLOW).is_ok() {}
        let _ = std::fs::remove_dir(&self.target);
        let _ = std::fs::remove_file(&self.target);
    }
}

fn remove_named_refuses_a_symlink_and_unmounts_nothing_elsewhere() {
    use nix::mount::{mount, MsFlags};
    require_root!();
    // Another named namespace makes sure /run/netns exists (and is where iproute2
    // would put names), and gives a namespace file to bind elsewhere.
    let other = TestNs::new("bound");
    let tmp = std::env::temp_dir();
    let tmpfs = LinkToMount {
        link: format!("/run/netns/{}", unique_name("link")).into(),
        target: tmp.join(unique_name("tmpfs")),
    };
    std::fs::create_dir(&tmpfs.target).unwrap();
    mount(
        Some("nsrt-tmpfs"),
        &tmpfs.target,
        Some("tmpfs"),
        MsFlags::empty(),
        Some("size=1m"),
    )
    .unwrap();
    let bound = LinkToMount {
        link: format!("/run/netns/{}", unique_name("link")).into(),
        target: tmp.join(unique_name("nsfile")),
    };
    std::fs::write(&bound.target, b"").unwrap();
    let source = format!("/run/netns/{}", other.name);
    mount(
        Some(source.as_str()),
        &bound.target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .unwrap();

    for case in [&tmpfs, &bound] {
        std::os::unix::fs::symlink(&case.target, &case.link).unwrap();
        assert!(is_mount_point(&case.target));
        let name = case.link.file_name().unwrap().to_str().unwrap();
        let err = NetNs::remove_named(name).unwrap_err();
        assert!(
            matches!(&err, Error::Symlink { path } if *path == case.link),
            "{err:?}"
        );
        assert_eq!(err.io_kind(), io::ErrorKind::InvalidInput);
        assert!(
            is_mount_point(&case.target),
            "{name}: the target was unmounted"
        );
        assert!(
            case.link.symlink_metadata().is_ok(),
            "{name}: the link is gone"
        );
    }
    // The namespace behind the bound file is untouched.
    assert_eq!(NetNs::from_path(&bound.target).unwrap(), other.ns);
}

tests! {
    current_is_the_calling_threads_namespace,
    create_makes_a_new_namespace_without_moving_the_caller,
    two_paths_to_one_namespace_are_equal_and_hash_alike,
    debug_shows_name_and_inode,
    iproute2_sees_a_namespace_we_named,
    we_open_a_namespace_iproute2_made_and_it_removes_ours,
    a_taken_name_is_an_error_that_changes_nothing,
    invalid_names_are_refused_before_touching_anything,
    a_missing_path_is_not_found,
    files_that_are_not_namespaces_are_refused,
    a_namespace_of_another_kind_is_refused_and_named,
    a_namespace_removed_while_in_use_keeps_serving,
    loopback_comes_up_on_request,
    remove_named_refuses_a_symlink_and_unmounts_nothing_elsewhere,
}
