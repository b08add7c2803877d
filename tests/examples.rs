//! The examples that use third-party async crates inside namespaces, run as
//! tests: their functions are compiled in here as modules (their `main`s are not
//! called) and checked from outside with `ip`. And every example, run as a program
//! without privileges, fails with its error's message and hint, not a `Debug` dump.

// The examples are written as crate roots, where their `pub` items are reachable.
#![allow(unreachable_pub)]
// Each example brings its own copy of the modules in `examples/support/`.
#![allow(clippy::duplicate_mod)]

#[macro_use]
mod common;

#[allow(dead_code)]
#[path = "../examples/rtnetlink_inside.rs"]
mod rtnetlink_inside;
#[allow(dead_code)]
#[path = "../examples/veth_tcp.rs"]
mod veth_tcp;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_threads_where_they_belong, TestNs};

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn host_has_link(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .output()
        .expect("run ip (iproute2)")
        .status
        .success()
}

fn rtnetlink_in_an_async_fn_configures_the_namespace_not_the_host() {
    require_root!();
    let t = TestNs::new("rtnl");
    let addr = Ipv4Addr::new(10, 77, 0, 1);
    let index = tokio()
        .block_on(rtnetlink_inside::add_bridge_with_address(
            &t.ns,
            "nsrtbr0".into(),
            addr,
            24,
        ))
        .unwrap();
    assert!(index > 1, "lo is 1, the bridge comes after: {index}");
    let shown = rtnetlink_inside::ip_addr_of(&t.name).unwrap();
    assert!(shown.contains("nsrtbr0"), "{shown}");
    assert!(shown.contains("inet 10.77.0.1/24"), "{shown}");
    assert!(!host_has_link("nsrtbr0"), "the bridge appeared on the host");
    assert_threads_where_they_belong();
}

fn a_tokio_program_serves_tcp_inside_to_a_client_outside_through_veth() {
    require_root!();
    let t = TestNs::new("veth");
    let veth = veth_tcp::Veth::for_this_process();
    let runtime = tokio();
    runtime.block_on(veth.create(&t.ns)).unwrap();
    // Delete the pair even if the round trip fails.
    struct DeleteVeth<'a>(&'a veth_tcp::Veth, &'a tokio::runtime::Runtime);
    impl Drop for DeleteVeth<'_> {
        fn drop(&mut self) {
            if let Err(err) = self.1.block_on(self.0.delete()) {
                eprintln!("could not delete {}: {err}", self.0.host_end);
            }
        }
    }
    let cleanup = DeleteVeth(&veth, &runtime);
    assert!(host_has_link(&veth.host_end));

    let reply = runtime
        .block_on(veth_tcp::round_trip(&t.ns, &veth, b"ping"))
        .unwrap();
    let expected = format!("PING from {}:", veth.host_addr);
    assert!(
        String::from_utf8_lossy(&reply).starts_with(&expected),
        "{reply:?}"
    );
    drop(cleanup);
    assert!(!host_has_link(&veth.host_end));
    assert_threads_where_they_belong();
}

#[allow(dead_code)]
#[path = "../examples/inspect_pid.rs"]
mod inspect_pid;

fn inspecting_a_process_by_pid_reports_its_hostname_interfaces_and_mounts() {
    require_root!();
    let host_name = nix::unistd::gethostname().unwrap();
    let helper = common::Helper::start();
    let report = inspect_pid::inspect(helper.pid()).unwrap();
    assert_eq!(report.hostname, helper.hostname);
    assert_eq!(
        report.interfaces,
        ["lo"],
        "a new network namespace has only lo"
    );
    assert!(
        report
            .mounts
            .iter()
            .any(|m| m.source == "nsrt-helper-tmpfs" && m.target == std::path::Path::new("/mnt")),
        "{:#?}",
        report.mounts
    );
    assert_eq!(nix::unistd::gethostname().unwrap(), host_name);
    assert_threads_where_they_belong();
}

#[allow(dead_code)]
#[path = "../examples/exec_in.rs"]
mod exec_in;

fn exec_in_runs_a_program_in_every_namespace_of_a_process_as_nsenter_all_does() {
    require_root!();
    let container = common::Container::start();
    let pid = container.pid();
    // As a function...
    let status = exec_in::exec_in(pid, "sh", &["-c".into(), "exit 3".into()]).unwrap();
    assert_eq!(exec_in::exit_code(status), 3);
    // ...and as the program, compared with nsenter.
    let program = built_examples().join("exec_in");
    let run = |script: &str| {
        Command::new(&program)
            .args([&pid.to_string(), "--", "sh", "-c", script])
            .output()
            .expect("run exec_in")
    };
    let out = run(common::PRINT_NS_LINKS);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        container.nsenter(common::PRINT_NS_LINKS)
    );
    let out = run("hostname; echo $$; kill -TERM $$");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some(container.hostname.as_str()));
    let inside: u32 = lines.next().unwrap().parse().unwrap();
    assert!((2..100).contains(&inside), "pid inside: {inside}");
    assert_eq!(out.status.code(), Some(128 + libc::SIGTERM), "{out:?}");
    let out = Command::new(&program)
        .arg(pid.to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("usage: exec_in PID -- CMD"),
        "{out:?}"
    );
    assert_threads_where_they_belong();
}

/// Builds the examples (nothing to do after `cargo test`, which builds them) and
/// returns the directory they are in: beside this test binary's `deps/`.
fn built_examples() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "--examples", "--target-dir"])
        .arg(profile_dir.parent().unwrap())
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo");
    assert!(status.success(), "cargo build --examples failed");
    profile_dir.join("examples")
}

/// Every example, run as a program without capabilities, ends with status 1 and its
/// error's message, hint included.
fn each_example_without_privileges_fails_with_its_error_and_the_hint() {
    let dir = built_examples();
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut ran = 0;
    for entry in std::fs::read_dir(sources).unwrap() {
        let path = entry.unwrap().path();
        if path.extension() != Some("rs".as_ref()) {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap();
        // Every example gets a pid (inspect_pid needs one, the others ignore it)
        // and a command (exec_in needs one).
        let out = common::without_capabilities(dir.join(name))
            .arg(std::process::id().to_string())
            .args(["--", "true"])
            .output()
            .unwrap_or_else(|e| panic!("run example {name}: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.starts_with("Error: "), "{name}: {stderr}");
        assert!(
            stderr.contains(" was refused: ")
                && stderr.contains("; namespace operations need CAP_SYS_ADMIN (run as root"),
            "{name}, no hint: {stderr}"
        );
        assert!(
            !stderr.contains("PermissionDenied {") && !stderr.contains("Os {"),
            "{name}, a Debug dump: {stderr}"
        );
        ran += 1;
    }
    assert!(ran >= 5, "only {ran} examples found");
}

tests! {
    rtnetlink_in_an_async_fn_configures_the_namespace_not_the_host,
    a_tokio_program_serves_tcp_inside_to_a_client_outside_through_veth,
    inspecting_a_process_by_pid_reports_its_hostname_interfaces_and_mounts,
    exec_in_runs_a_program_in_every_namespace_of_a_process_as_nsenter_all_does,
    each_example_without_privileges_fails_with_its_error_and_the_hint,
}
