//! Enters the namespaces of a running process by pid and reports what it sees:
//! its hostname, its network interfaces and its mounts. Like `nsenter --target PID
//! --net --uts --mount --ipc --cgroup`, but from threads of this process, while
//! the rest of the program stays where it is.
//!
//! Run as root: `cargo run --example inspect_pid -- PID` (for example the pid of a
//! container's first process, or of `unshare --net --uts --mount sleep 600`).

#[path = "support/main_error.rs"]
mod main_error;

use std::io;

use ns_runtime::{Mount, Namespaces, NsSet};

/// What a process sees.
#[derive(Debug)]
pub struct Report {
    /// Its hostname.
    pub hostname: String,
    /// Its network interfaces.
    pub interfaces: Vec<String>,
    /// Its mounts.
    pub mounts: Vec<Mount>,
}

/// Enters every joinable namespace of `pid` (through its pidfd) and looks around.
pub fn inspect(pid: u32) -> Result<Report, Box<dyn std::error::Error>> {
    let set = NsSet::of_pid(pid)?;
    let dev = set.read_to_string("/proc/thread-self/net/dev")?;
    Ok(Report {
        hostname: set.hostname()?,
        // Two header lines, then `NAME: counters...`.
        interfaces: dev
            .lines()
            .skip(2)
            .filter_map(|line| Some(line.split_once(':')?.0.trim().to_owned()))
            .collect(),
        mounts: set.mounts()?,
    })
}

fn main() -> Result<(), main_error::MainError> {
    let pid: u32 = std::env::args()
        .nth(1)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "usage: inspect_pid PID"))?
        .parse()?;
    let report = inspect(pid)?;
    println!("hostname:   {}", report.hostname);
    println!("interfaces: {}", report.interfaces.join(", "));
    println!("mounts:");
    for mount in &report.mounts {
        println!(
            "  {} on {} type {}",
            mount.source,
            mount.target.display(),
            mount.fstype
        );
    }
    Ok(())
}
