//! Faults: thread creation refused by the kernel (a pids cgroup, in a child
//! process), and namespaces freed and their inode numbers reused.

#[macro_use]
mod common;

use std::fs;
use std::io;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{thread_net_inode, threads_in, unique_name, TestNs};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use ns_runtime::{Error, NetNs, Runtime};

const CHILD_ENV: &str = "NSRT_PIDS_CGROUP_CHILD";

// One test at a time: the inode-reuse test needs no other namespace made meanwhile.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// In the child: cap this process's threads at what it has, then call.
fn with_threads_refused(cgroup: &str, name: &str) {
    let ns = NetNs::named(name).unwrap();
    fs::write(
        format!("{cgroup}/cgroup.procs"),
        std::process::id().to_string(),
    )
    .unwrap();
    let current = fs::read_to_string(format!("{cgroup}/pids.current")).unwrap();
    fs::write(format!("{cgroup}/pids.max"), current.trim()).unwrap();

    let err = ns.run(|| ()).unwrap_err();
    match &err {
        Error::ThreadSpawn { source, .. } => assert_eq!(source.raw_os_error(), Some(libc::EAGAIN)),
        other => panic!("expected ThreadSpawn, got {other:?}"),
    }
    assert_eq!(io::Error::from(err).kind(), io::ErrorKind::WouldBlock);
    let err = NetNs::create().unwrap_err();
    assert!(matches!(err, Error::ThreadSpawn { .. }), "{err:?}");

    // Once threads can be made again, the same call succeeds: the caller can retry.
    fs::write(format!("{cgroup}/pids.max"), "max").unwrap();
    assert_eq!(ns.run(thread_net_inode).unwrap(), ns.inode());
}

fn refused_thread_creation_is_a_typed_error_and_the_call_can_be_retried() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (cgroup, name) = spec.split_once('|').unwrap();
        with_threads_refused(cgroup, name);
        return;
    }
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pids_root = "/sys/fs/cgroup/pids";
    let unified = "/sys/fs/cgroup";
    let base = if std::path::Path::new(pids_root).join("pids.max").exists()
        || std::path::Path::new(pids_root)
            .join("cgroup.procs")
            .exists()
    {
        pids_root
    } else {
        unified
    };
    let cgroup = format!("{base}/{}", unique_name("pids"));
    fs::create_dir(&cgroup)
        .unwrap_or_else(|e| panic!("this test needs a pids cgroup controller at {base}: {e}"));
    let t = TestNs::new("pids");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "refused_thread_creation_is_a_typed_error_and_the_call_can_be_retried",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_ENV, format!("{cgroup}|{}", t.name))
        .output()
        .unwrap();
    let removed = fs::remove_dir(&cgroup);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}"
    );
    removed.unwrap();
}

/// `net.ipv4.ip_default_ttl` follows the calling thread's network namespace: a
/// marker that tells one namespace from another with the same inode number.
fn default_ttl() -> u32 {
    fs::read_to_string("/proc/sys/net/ipv4/ip_default_ttl")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn a_freed_namespace_is_not_confused_with_a_later_one_reusing_its_inode() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = Runtime::builder()
        .keep_alive(Duration::from_millis(50))
        .max_idle_spin(Duration::ZERO)
        .build();
    // Another process may take the freed number first (inode numbers are shared
    // by every namespace of the machine, and by procfs entries): then try again
    // with a new namespace. The kernel frees network namespaces in a work queue,
    // which may still be busy with those of earlier tests (veth devices take
    // seconds to unregister): try for up to two minutes.
    let give_up = Instant::now() + Duration::from_secs(120);
    while Instant::now() < give_up {
        if let Some(reused) = reuse_of_a_freed_namespace(&rt, give_up) {
            assert_eq!(
                rt.run(&reused, default_ttl).unwrap(),
                64,
                "ran in the freed namespace"
            );
            return;
        }
    }
    panic!("the kernel never reused a freed namespace's inode: nothing was tested");
}

/// Makes a namespace with a marker (`ip_default_ttl` 42), drops it, and returns
/// a new namespace that got its inode number, if one does.
///
/// The kernel hands out the lowest free inode number, and a new network
/// namespace takes one before any of its procfs entries do. Whether the old
/// number is free is seen with UTS namespaces, which cost one number each and
/// give it back at once when closed: one made on a number below the old one
/// is kept (it fills a gap), one made on a number above it means the old
/// namespace is not freed yet (the kernel frees network namespaces in
/// batches), one made on the old number means it is free: the network
/// namespace made right after it most likely gets it. No network namespace is
/// made (and later freed, behind the old one in the kernel's queue) before.
fn reuse_of_a_freed_namespace(rt: &Runtime, give_up: Instant) -> Option<NetNs> {
    let old = NetNs::create().unwrap();
    let inode = old.inode();
    rt.run(&old, || {
        fs::write("/proc/sys/net/ipv4/ip_default_ttl", "42")
    })
    .unwrap()
    .unwrap();
    assert_eq!(rt.run(&old, default_ttl).unwrap(), 42);
    // Last handle gone: its threads leave, then the kernel frees the namespace.
    drop(old);
    let deadline = Instant::now() + Duration::from_secs(5);
    while threads_in(inode) > 0 {
        assert!(
            Instant::now() < deadline,
            "threads stayed in a dropped namespace"
        );
        thread::sleep(Duration::from_millis(10));
    }
    // A gap may be thousands of numbers (a network namespace's procfs entries
    // take about a hundred, given back when it is freed): an fd each.
    let (_, max_files) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, max_files, max_files).unwrap();
    let mut gaps_filled = Vec::new();
    while Instant::now() < give_up {
        let (probe, probe_inode) = uts_namespace();
        match probe_inode.cmp(&inode) {
            std::cmp::Ordering::Less => gaps_filled.push(probe),
            std::cmp::Ordering::Greater => thread::sleep(Duration::from_millis(20)),
            std::cmp::Ordering::Equal => {
                drop(probe);
                let new = NetNs::create().unwrap();
                // Wherever it lands, a call runs in the new namespace, never the old.
                assert_eq!(rt.run(&new, thread_net_inode).unwrap(), new.inode());
                // (Else someone took the number in between: look again.)
                return (new.inode() == inode).then_some(new);
            }
        }
    }
    None
}

/// A new UTS namespace, held open, and its inode number.
fn uts_namespace() -> (fs::File, u64) {
    thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUTS).expect("unshare a UTS namespace");
        let file = fs::File::open("/proc/thread-self/ns/uts").expect("open the UTS namespace");
        let inode = std::os::unix::fs::MetadataExt::ino(&file.metadata().unwrap());
        (file, inode)
    })
    .join()
    .unwrap()
}

tests! {
    refused_thread_creation_is_a_typed_error_and_the_call_can_be_retried,
    a_freed_namespace_is_not_confused_with_a_later_one_reusing_its_inode,
}
