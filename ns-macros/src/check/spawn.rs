//! Calls that hand work to other threads, which are not (or not only) in this
//! namespace.

use crate::calls::{Call, CallKind};

use super::OPT_OUT_HELP;

/// Where the work goes.
enum Escape {
    /// A new OS thread: it inherits the namespace but nobody manages it.
    NewThread,
    /// Scoped threads (`std::thread::scope`, `Builder::spawn_scoped`,
    /// `crossbeam::scope`): joined before the call returns, but threads of their own
    /// all the same.
    Scoped,
    /// A thread pool (tokio, rayon, async-std, smol): its threads are elsewhere.
    Pool,
    /// Some other thread; the macro cannot see the receiver's type.
    Unknown,
}

/// Free functions that always hand work to other threads.
const SPAWN_FNS: &[&str] = &[
    "spawn",
    "spawn_blocking",
    "spawn_local",
    "spawn_fifo",
    "spawn_broadcast",
    "spawn_scoped",
    "spawn_unchecked",
    "block_in_place",
    "join_context",
    "scope_fifo",
    "in_place_scope",
    "in_place_scope_fifo",
];

/// Names that are also common for ordinary functions: rejected when the path names
/// a threading crate or every argument is a closure (`rayon::join(|| a, || b)`).
const AMBIGUOUS_FNS: &[&str] = &["join", "scope", "broadcast", "install"];

/// The calls that start scoped threads, under a threading path.
const SCOPED: &[&str] = &["scope", "spawn_scoped"];

/// Crates and modules whose spawns we know.
const THREAD_PATHS: &[&str] = &["thread", "crossbeam", "crossbeam_utils"];
const POOL_PATHS: &[&str] = &["tokio", "task", "rayon", "async_std", "smol", "futures"];

fn mentions(path: &[String], names: &[&str]) -> bool {
    path.iter().any(|segment| names.contains(&segment.as_str()))
}

fn free(path: &[String], closure_args: bool) -> Option<Escape> {
    let last = path.last()?.as_str();
    // `std::process::Command::spawn(&mut cmd)`: a child process starts in the
    // namespaces of the thread that spawns it, which is what the user wants.
    if mentions(path, &["Command"]) {
        return None;
    }
    let spawns = SPAWN_FNS.contains(&last)
        || (AMBIGUOUS_FNS.contains(&last)
            && (closure_args || mentions(path, THREAD_PATHS) || mentions(path, POOL_PATHS)));
    if !spawns {
        return None;
    }
    Some(if mentions(path, THREAD_PATHS) {
        thread_kind(last, path)
    } else if path.len() == 1 {
        Escape::Unknown
    } else {
        Escape::Pool
    })
}

fn method(
    name: &str,
    args: usize,
    closure_args: bool,
    mut_ref_args: bool,
    root: &[String],
) -> Option<Escape> {
    let pool_method = name.starts_with("par_") || name.starts_with("into_par_");
    let spawns = match name {
        // `.spawn()` without arguments is `Command::spawn`, and `.spawn(&mut cmd)` /
        // `.spawn_tokio(&mut cmd)` are ns-runtime's process spawns: child
        // processes, allowed.
        "spawn" => args > 0 && !mut_ref_args,
        _ if name.starts_with("spawn_") => !mut_ref_args,
        _ if pool_method => true,
        _ => AMBIGUOUS_FNS.contains(&name) && closure_args,
    };
    if !spawns {
        return None;
    }
    Some(if mentions(root, THREAD_PATHS) {
        thread_kind(name, root)
    } else if pool_method || mentions(root, POOL_PATHS) || AMBIGUOUS_FNS.contains(&name) {
        Escape::Pool
    } else {
        Escape::Unknown
    })
}

/// What a call named `name` under the threading path `path` starts
/// (`std::thread::Scope::spawn(s, f)` is a scope's method called as a path).
fn thread_kind(name: &str, path: &[String]) -> Escape {
    if SCOPED.contains(&name) || mentions(path, &["Scope"]) {
        Escape::Scoped
    } else {
        Escape::NewThread
    }
}

/// The error for `call` if it hands work to another thread; `in_async`: the body
/// is that of an `async fn`.
pub(super) fn judge(call: &Call, in_async: bool) -> Option<syn::Error> {
    let escape = match &call.kind {
        CallKind::Free { path, closure_args } => free(path, *closure_args)?,
        CallKind::Method {
            name,
            args,
            closure_args,
            mut_ref_args,
            root,
        } => method(name, *args, *closure_args, *mut_ref_args, root)?,
        CallKind::Path { .. } => return None,
    };
    let what = call.display();
    let task_spawn = matches!(escape, Escape::Pool | Escape::Unknown) && what.contains("spawn");
    let message = match escape {
        _ if in_async && task_spawn => format!(
            "`{what}` starts a task that outlives this call and, depending on where it is polled, runs on the caller's runtime outside this namespace or stays behind on the namespace thread\n\
             help: await the work in the body itself, running concurrent parts with `tokio::join!` or `tokio::select!`; or {OPT_OUT_HELP}"
        ),
        Escape::NewThread => format!(
            "`{what}` starts a thread that ns-runtime does not manage: it inherits this namespace, can outlive the call and keeps the namespace alive\n\
             help: do the work in the body itself (it already runs on a thread of its own), or {OPT_OUT_HELP}"
        ),
        Escape::Scoped => format!(
            "`{what}` hands work to scoped threads, which are not namespace threads of ns-runtime: they inherit this namespace and run in it unmanaged, and this namespace thread blocks until they finish\n\
             help: do the work in the body itself, or {OPT_OUT_HELP}"
        ),
        Escape::Pool => format!(
            "`{what}` runs work on a thread pool whose threads are not in this namespace (and a pool thread started from here would stay in it for good)\n\
             help: do the work in the body itself, or {OPT_OUT_HELP}"
        ),
        Escape::Unknown => format!(
            "`{what}` hands work to another thread, which is not in this namespace (the macro cannot see what `{what}` belongs to)\n\
             help: do the work in the body itself; a child process (`Command::spawn()`, without arguments) is allowed; or {OPT_OUT_HELP}"
        ),
    };
    Some(syn::Error::new_spanned(&call.tokens, message))
}
