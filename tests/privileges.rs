//! Without `CAP_SYS_ADMIN`, entering and creating namespaces are typed permission
//! errors with a hint, and no thread is left behind. The test re-runs itself in a
//! child process whose capabilities `setpriv` has dropped.

#[macro_use]
mod common;

use std::io;

use common::{has_cap_sys_admin, thread_net_inode, TestNs};
use ns_runtime::{in_netns, Error, NetNs};

#[in_netns(ns)]
fn io_result_inside(ns: &NetNs) -> io::Result<()> {
    Ok(())
}

/// An error type of a user's own, made from ns-runtime's.
#[derive(Debug)]
enum AppError {
    Namespace(Error),
}

impl From<Error> for AppError {
    fn from(err: Error) -> AppError {
        AppError::Namespace(err)
    }
}

#[in_netns(ns)]
fn app_result_inside(ns: &NetNs) -> Result<u8, AppError> {
    Ok(1)
}

#[in_netns(ns)]
async fn async_io_result_inside(ns: &NetNs) -> io::Result<()> {
    Ok(())
}

const CHILD_ENV: &str = "NSRT_NO_CAPS_CHILD_NETNS";

/// What the child, without capabilities, checks.
fn without_capabilities(name: &str) {
    assert!(!has_cap_sys_admin(), "setpriv did not drop CAP_SYS_ADMIN");
    let host = thread_net_inode();
    let ns = NetNs::named(name).expect("opening needs no capability");

    let err = ns.run(|| ()).unwrap_err();
    assert!(
        matches!(err, Error::PermissionDenied { call: "setns", .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("CAP_SYS_ADMIN"), "no hint in: {message}");
    assert!(
        message.contains(&ns.inode().to_string()),
        "no inode in: {message}"
    );
    assert_eq!(io::Error::from(err).kind(), io::ErrorKind::PermissionDenied);

    // The refused thread is gone, and the next call is refused the same way.
    let thread_left = || common::tasks().iter().any(|t| t.name.starts_with("ns-4"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while thread_left() {
        assert!(
            std::time::Instant::now() < deadline,
            "a refused thread stayed alive"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(matches!(ns.run(|| ()), Err(Error::PermissionDenied { .. })));

    // Through the attribute, the failure becomes the function's own error type.
    let err = io_result_inside(&ns).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("CAP_SYS_ADMIN"), "{err}");
    let AppError::Namespace(err) = app_result_inside(&ns).unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");

    // Async calls: the refusal reaches the awaiting task, typed.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = runtime.block_on(ns.run_async(|| async {})).unwrap_err();
    assert!(
        matches!(err, Error::PermissionDenied { call: "setns", .. }),
        "{err:?}"
    );
    let err = runtime.block_on(async_io_result_inside(&ns)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);

    let err = NetNs::create().unwrap_err();
    assert!(
        matches!(
            err,
            Error::PermissionDenied {
                call: "unshare",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(thread_net_inode(), host);
}

fn entering_without_cap_sys_admin_is_a_typed_permission_error() {
    if let Ok(name) = std::env::var(CHILD_ENV) {
        without_capabilities(&name);
        return;
    }
    require_root!();
    let t = TestNs::new("nocaps");
    let out = common::without_capabilities(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "entering_without_cap_sys_admin_is_a_typed_permission_error",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_ENV, &t.name)
        .output()
        .expect("run setpriv (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}"
    );
}

/// The test above, run by this binary in a child without capabilities: not run, and
/// the summary says so and why; under `CI=true` a failure instead.
fn without_privileges_a_test_that_needs_them_is_reported_ignored_with_the_reason() {
    let test = "entering_without_cap_sys_admin_is_a_typed_permission_error";
    let run = |ci: bool| {
        let mut child = common::without_capabilities(std::env::current_exe().unwrap());
        child
            .args(["--exact", test, "--color=never"])
            .env_remove(CHILD_ENV)
            .env_remove("CI");
        if ci {
            child.env("CI", "true");
        }
        let out = child.output().expect("run the test binary");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (
            out.status.success(),
            stdout + &String::from_utf8_lossy(&out.stderr),
        )
    };

    let (passed, output) = run(false);
    assert!(passed, "{output}");
    let line = format!("test {test} ... ignored (needs CAP_SYS_ADMIN: run the tests as root");
    assert!(output.contains(&line), "no reason given:\n{output}");
    assert!(
        output.contains("test result: ok. 0 passed; 0 failed; 1 ignored;"),
        "{output}"
    );

    let (passed, output) = run(true);
    assert!(!passed, "{output}");
    assert!(output.contains("(CI=true: not skipping)"), "{output}");
    assert!(
        output.contains("test result: FAILED. 0 passed; 1 failed;"),
        "{output}"
    );
}

tests! {
    entering_without_cap_sys_admin_is_a_typed_permission_error,
    without_privileges_a_test_that_needs_them_is_reported_ignored_with_the_reason,
}
