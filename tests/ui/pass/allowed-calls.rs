#![deny(warnings)]
//! What the checks allow: child processes, the explicit opt-out, nested items, and
//! methods that only share a name with thread APIs.

use std::io;
use std::process::Command;

use ns_runtime::{allow_spawn, in_netns, Namespaces, NetNs};

#[in_netns(ns)]
fn child_process(ns: &NetNs) -> io::Result<std::process::ExitStatus> {
    // A child process starts in the namespace of the thread that spawns it.
    Command::new("true").spawn()?.wait()
}

#[in_netns(ns)]
fn process_in_other_namespaces(
    ns: &NetNs,
    other: &ns_runtime::NsSet,
) -> io::Result<std::process::ExitStatus> {
    // ns-runtime's own process spawns take the command by `&mut`.
    let mut command = Command::new("true");
    let mut child = other.spawn(&mut command)?;
    let _ = ns.spawn(&mut command)?.wait()?;
    child.wait()
}

#[in_netns(ns)]
fn deliberate_thread(ns: &NetNs) -> io::Result<std::thread::JoinHandle<()>> {
    Ok(allow_spawn!(std::thread::spawn(|| ())))
}

#[in_netns(ns)]
fn nested_items_are_not_the_body(ns: &NetNs) -> io::Result<String> {
    fn helper() -> std::thread::JoinHandle<()> {
        std::thread::spawn(|| ())
    }
    let _ = helper;
    let parts = ["a", "b"].join(",");
    let path = std::path::Path::new("/run").join("netns");
    Ok(format!("{parts} {}", path.display()))
}

pub(crate) fn main() {
    let _ = child_process;
    let _ = process_in_other_namespaces;
    let _ = deliberate_thread;
    let _ = nested_items_are_not_the_body;
}
