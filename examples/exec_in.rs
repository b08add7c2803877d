//! Runs a program in every namespace of a running process: a small
//! `nsenter --target PID --all`. The program gets the process's user, pid, mount,
//! network, uts, ipc, cgroup and time namespaces (those this program is not in
//! already), with a pid of its own inside; this program's threads stay where they
//! are. Exits with the program's status.
//!
//! Run as root: `cargo run --example exec_in -- PID -- CMD ARGS..` (for example the
//! pid of a container's first process, or of `unshare --user --map-root-user --pid
//! --fork --mount-proc --net --uts sleep 600`'s child).

#[path = "support/main_error.rs"]
mod main_error;

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode, ExitStatus};

use ns_runtime::{Namespaces, NsSet};

const USAGE: &str = "usage: exec_in PID -- CMD [ARGS..]";

/// Runs `program` with `args` in every namespace of `pid`, stdio inherited, and
/// waits for it.
pub fn exec_in(pid: u32, program: &str, args: &[String]) -> Result<ExitStatus, ns_runtime::Error> {
    let set = NsSet::of_pid_all(pid)?;
    set.status(Command::new(program).args(args))
}

/// The exit code a shell would give: the program's, or 128 + the signal that
/// ended it.
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128_u8.wrapping_add(signal as u8),
        (None, None) => 1,
    }
}

fn main() -> Result<ExitCode, main_error::MainError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || io::Error::new(io::ErrorKind::InvalidInput, USAGE);
    let pid: u32 = args.first().ok_or_else(usage)?.parse()?;
    let command = match args.get(1).map(String::as_str) {
        Some("--") => &args[2..],
        _ => return Err(usage().into()),
    };
    let (program, rest) = command.split_first().ok_or_else(usage)?;
    let status = exec_in(pid, program, rest)?;
    Ok(ExitCode::from(exit_code(status)))
}
