//! Run Rust code inside Linux namespaces, safely, from threaded and async programs.
//!
//! Linux namespaces belong to a *thread*: `setns(2)` moves only the calling thread,
//! and a thread created later starts wherever its creator is at that moment. Code
//! that switches the namespace of a pooled thread (a tokio worker, a rayon thread)
//! leaks the switch into unrelated work, and work it hands to other threads runs back
//! in the host namespace.
//!
//! This crate never moves a thread you own. [`NetNs::run`] hands a closure to one
//! of the runtime's own threads that is in the namespace, and blocks until it is
//! done. Runtime threads move (one `setns` per namespace that differs) only between
//! bodies, to wherever a call needs one; when the last handle of a namespace is
//! dropped, they leave it, and the kernel can free it.
//!
//! ```no_run
//! use ns_runtime::NetNs;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ns = NetNs::create()?;
//! ns.set_loopback_up()?;
//! // The listener is created inside `ns` and keeps that namespace wherever it is used.
//! let listener = ns.run(|| std::net::TcpListener::bind("127.0.0.1:0"))??;
//! println!("listening inside {ns:?} on {}", listener.local_addr()?);
//! # Ok(())
//! # }
//! ```
//!
//! # Guarantees
//! - The body runs start to finish on a runtime thread that is in the namespace (and
//!   in the process's own namespaces of every other kind); no thread of yours
//!   changes namespace, so nothing ever needs "setting back".
//! - The closure may borrow from the caller; a panic in it is resumed in the caller
//!   with its payload, and the namespace keeps serving.
//! - A call made on a runtime thread serving the same namespace runs inline; calls
//!   from namespace A into B and back into A do not deadlock.
//! - Dropping the last handle of a namespace makes the runtime's threads leave it:
//!   idle ones at once, a busy one after its body.
//! - Idle runtime threads sleep (no CPU) and exit after a keep-alive. A thread
//!   whose caller calls at a steady rate wakes on a timer just before each call
//!   ([`Builder::anticipate_steady_calls`]), and at most once more after the
//!   calls stop.
//! - Thread-locals are not per namespace: a runtime thread serves one namespace
//!   after another, unless the runtime was built with
//!   [`Builder::dedicated_threads`].
//! - A thread that a body moved (through `setns` the attribute cannot see) is found
//!   before it sleeps or moves, or within 64 calls of that body, retired and
//!   reported by [`audit`].
//!
//! # Beyond one network namespace
//! - [`NetNs::run_async`] and `#[in_netns] async fn` run async bodies on a tokio
//!   current-thread runtime on the namespace's async thread (feature `tokio`).
//! - [`Ns`] is a handle to a namespace of any kind; net, uts, ipc, cgroup and mnt
//!   can be run in. [`NsSet`] is several entered together, and [`NsSet::of_pid`]
//!   every joinable namespace of a process; [`in_ns`] is the attribute for them.
//! - [`Namespaces`] has conveniences for every handle: hostname, mounts, files as
//!   seen from inside.
//! - [`Namespaces::spawn`], `output` and `status` start a child process in every
//!   namespace of a handle, user, pid and time included (which no thread can
//!   join): a library `nsenter --all`; [`NsSet::of_pid_all`] is all eight kinds of
//!   a process. A network namespace opened by name gets what `ip netns exec` gives.
//!
//! All namespace operations need `CAP_SYS_ADMIN` (root); without it they return
//! [`Error::PermissionDenied`].
//!
//! # Cargo features
//! - `tokio` (default): async bodies ([`NetNs::run_async`], `#[in_netns] async fn`),
//!   driven by tokio on the namespace's async thread. Without it
//!   (`default-features = false`) the crate has no tokio in its dependencies; an
//!   `async fn` under the attributes is then a compile error that names this
//!   feature.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod audit;
mod create;
mod error;
mod handle;
mod kind;
mod link;
mod name;
mod namespace;
mod netns;
mod on;
#[cfg(not(loom))]
mod process;
mod registry;
mod runtime;
mod set;
mod sockets;
mod stats;
mod sys;
mod target;

pub use audit::{audit, Audit, NsDifference, RetireReason, RetiredThread, StrayThread};
pub use error::{Error, Result};
pub use handle::{Mount, Namespaces, Ns};
pub use kind::NsKind;
pub use name::NETNS_RUN_DIR;
pub use netns::NetNs;
pub use on::On;
pub use runtime::{Builder, GlobalAlreadySet, Runtime};
pub use set::NsSet;
pub use stats::{RuntimeStats, TargetStats};

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// [`__private`] under the name of the ns-macros version it serves. An expansion
/// imports `__private_for::ns_macros_MAJOR_MINOR_PATCH` of its own version, once per
/// function, so that a mismatch of the two crates fails with one error ("unresolved
/// import `ns_runtime::__private_for::ns_macros_0_1_0`", rustc naming the version
/// this crate has) instead of one for every item the expansion uses. Both crates
/// share one version: rename this with every release (the trybuild pass cases fail
/// until the names agree).
#[doc(hidden)]
pub mod __private_for {
    pub use crate::__private as ns_macros_0_1_0;
}

/// Runs the body of a function on a namespace thread of a network namespace.
///
/// `#[in_netns(EXPR)]` takes an expression that gives a `&NetNs` or `NetNs`, and
/// evaluates it on the caller's thread. The signature stays as written; the body
/// moves into a closure that [`NetNs::run`] runs on a namespace thread while the
/// caller blocks ([`Runtime::run`] with `runtime = EXPR`). Its result, or its
/// panic, comes back to the caller.
///
/// ```no_run
/// use ns_runtime::{in_netns, NetNs};
///
/// #[in_netns(ns)]
/// fn bind_inside(ns: &NetNs, port: u16) -> std::io::Result<std::net::TcpListener> {
///     std::net::TcpListener::bind(("127.0.0.1", port)) // runs inside `ns`
/// }
///
/// struct Service {
///     netns: NetNs,
/// }
///
/// impl Service {
///     #[in_netns(&self.netns)]
///     fn interfaces(&self) -> std::io::Result<String> {
///         std::fs::read_to_string("/proc/thread-self/net/dev")
///     }
/// }
/// # fn main() -> std::io::Result<()> {
/// let ns = NetNs::create()?;
/// let listener = bind_inside(&ns, 0)?;
/// let svc = Service { netns: ns };
/// assert!(svc.interfaces()?.contains("lo:"));
/// # Ok(())
/// # }
/// ```
///
/// # What it requires
/// - A return type `Result<T, E>` with `E: From<ns_runtime::Error>` (entering the
///   namespace can fail): `std::io::Result<T>` and `anyhow::Result<T>` qualify.
/// - Every argument, the receiver and the return value must be `Send`, because the
///   body runs on another thread (for a reference, the referent must be `Sync`).
///
/// Attributes on the function (docs, `#[inline]`, `#[cfg_attr(..)]`,
/// `#[allow(..)]`, `#[deprecated]`) stay on it; the body's inner attributes
/// (`#![allow(..)]`) stay in the body.
///
/// # A runtime of your own
/// The body runs on a thread of the global runtime ([`Runtime::global`]), or of
/// the one that `runtime = EXPR` gives: a `Runtime` or `&Runtime` (a parameter, a
/// field, `Arc<Runtime>`, a `LazyLock<Runtime>` static), evaluated on the calling
/// thread before the body starts. A function that names one never makes the
/// global runtime.
///
/// ```no_run
/// use ns_runtime::{in_netns, NetNs, Runtime};
///
/// struct Agent {
///     netns: NetNs,
///     runtime: Runtime,
/// }
///
/// impl Agent {
///     #[in_netns(&self.netns, runtime = &self.runtime)]
///     fn routes(&self) -> std::io::Result<String> {
///         std::fs::read_to_string("/proc/thread-self/net/route")
///     }
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let agent = Agent {
///     netns: NetNs::create()?,
///     runtime: Runtime::builder().max_threads_per_ns(2).build(),
/// };
/// let routes = agent.routes()?;
/// # let _ = routes;
/// # Ok(())
/// # }
/// ```
///
/// # `async fn`
/// On an `async fn` (with the default `tokio` feature), the body runs through
/// [`NetNs::run_async`] ([`Runtime::run_async`] with `runtime = EXPR`): it is
/// polled on the namespace's async thread, next to the other async bodies of that
/// namespace, so it may hold non-`Send` values across awaits and use `tokio::net`,
/// timers and netlink crates. The function's future
/// is `Send`, runs on any executor, and dropping it cancels the body at its next
/// await point. Without the `tokio` feature, an `async fn` is a compile error that
/// names the feature (the example below then checks that it fails).
///
#[cfg_attr(feature = "tokio", doc = "```no_run")]
#[cfg_attr(not(feature = "tokio"), doc = "```compile_fail,E0277")]
/// use std::time::Duration;
/// use ns_runtime::{in_netns, NetNs};
///
/// #[in_netns(ns)]
/// async fn probe(ns: &NetNs, port: u16, wait: Duration) -> std::io::Result<bool> {
///     tokio::time::sleep(wait).await;
///     Ok(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok())
/// }
/// # #[tokio::main] async fn main() -> std::io::Result<()> {
/// let ns = NetNs::create()?;
/// assert!(!probe(&ns, 9, Duration::ZERO).await?);
/// # Ok(())
/// # }
/// ```
///
/// Its arguments must be owned (`'static`): the body may outlive the caller's
/// borrows, since a cancelled caller does not wait for it. A borrowed argument or a
/// `&self`/`&mut self` receiver is a compile error that says what to take instead
/// (`String` for `&str`, an `Arc`, `self: Arc<Self>`); only the namespace and
/// runtime parameters may be references (the body gets clones). A generic argument
/// needs `T: 'static`. Inside, `tokio::spawn` and `spawn_local` are rejected too:
/// a task would outlive the call; run concurrent parts with `tokio::join!` or
/// `tokio::select!`. A result type that names a tokio socket
/// (`tokio::net::TcpListener`, ...) is rejected: one made in the body is
/// registered with the namespace thread's runtime; return the std type and convert
/// it on the caller's side (see [`NetNs::tcp_listener`]).
///
/// # What it rejects at compile time
/// Each at its token, all at once, with a message that says why and what to do
/// and names the attribute written (`#[in_netns]` or [`#[in_ns]`](in_ns)):
/// - calls that hand work to other threads, which are not in the namespace or
///   outlive the call: `std::thread::spawn`, `thread::Builder::..spawn(f)`,
///   `tokio::spawn`, `spawn_blocking`, `block_in_place`,
///   `spawn_local`, `rayon::join`/`scope`/`spawn`/`broadcast`, `.par_iter()` and
///   the other `par_*` methods, `.spawn(f)` on any receiver, async-std and smol
///   spawns; in closures, async blocks and macro arguments too;
/// - scoped threads (`thread::scope`, `Builder::spawn_scoped`, `crossbeam::scope`):
///   they end before the call returns, but are not namespace threads of the
///   runtime; they inherit the namespace and run in it unmanaged, and the
///   namespace thread blocks until they finish;
/// - calls that move the thread out of its namespace: `setns`, `unshare` (any
///   path), `SYS_setns`, `SYS_unshare`;
/// - `const fn`, `extern` and variadic functions.
///
/// `std::process::Command::spawn()` is allowed: a child process starts in the
/// namespaces of the thread that spawns it. A deliberate spawn can be marked with
/// [`allow_spawn!`]. `crate = "path"` names this crate for crates that re-export it,
/// and `runtime = EXPR` a runtime of your own (above).
///
/// The expansion uses this crate's support module for the version of `ns-macros`
/// that made it: if the two crates' versions differ, each function gets one error,
/// an unresolved import of `__private_for::ns_macros_X_Y_Z`. Depend on this crate
/// only; it pins the matching `ns-macros`.
///
/// # What it cannot see
/// The checks read syntax, not types: a spawn inside a function that the body
/// calls, a spawn through an alias (`use std::thread::spawn as go;`) or a function
/// pointer, and the type of a method's receiver are invisible to them (a
/// `thread::Scope` passed in is seen only as `.spawn(f)` on an unknown receiver).
/// [`NetNs::run`]'s guarantee (no thread but the namespace threads ever changes
/// namespace) holds regardless; the checks catch the work that would silently run
/// elsewhere. They are errors, not lints: `#![allow(..)]` does not silence them,
/// [`allow_spawn!`] does.
pub use ns_macros::in_netns;

/// Runs the body of a function on a namespace thread that is in several
/// namespaces at once (an [`NsSet`]); `#[in_netns]` is the short form for one
/// network namespace.
///
/// `#[in_ns(EXPR)]` takes an `NsSet` or `&NsSet`; `#[in_ns(net = a, uts = b, mnt =
/// c)]` names the members (`net`, `uts`, `ipc`, `cgroup`, `mnt`; each an `Ns` or
/// `NetNs`, or a reference to one, its kind checked when called) and makes the set
/// on every call; build an `NsSet` once for a hot path. Everything else is as for
/// [`in_netns`]: the same rewrite, the same checks, `runtime = EXPR`, `async fn`
/// included. `user`, `pid` and `time` are compile errors that say why (no thread
/// of a multi-threaded process can join them) and what to do instead.
///
/// ```no_run
/// use ns_runtime::{in_ns, Namespaces, NetNs, Ns, NsKind, NsSet};
///
/// #[in_ns(net = net, uts = uts)]
/// fn describe(net: &NetNs, uts: &Ns) -> std::io::Result<String> {
///     let host = nix::unistd::gethostname()?;
///     let dev = std::fs::read_to_string("/proc/thread-self/net/dev")?;
///     Ok(format!("{host:?}: {} interfaces", dev.lines().count() - 2))
/// }
///
/// #[in_ns(set)]
/// fn hostname_of(set: &NsSet) -> std::io::Result<String> {
///     Ok(nix::unistd::gethostname()?.to_string_lossy().into_owned())
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (net, uts) = (NetNs::create()?, Ns::create(NsKind::Uts)?);
/// uts.set_hostname("box")?;
/// println!("{}", describe(&net, &uts)?);
/// let set = NsSet::new([net.into(), uts])?;
/// assert_eq!(hostname_of(&set)?, "box");
/// # Ok(())
/// # }
/// ```
pub use ns_macros::in_ns;

/// Marks a deliberate spawn inside an [`in_netns`] function body, which the
/// attribute would otherwise reject. Expands to its input unchanged.
///
/// ```no_run
/// use ns_runtime::{allow_spawn, in_netns, NetNs};
///
/// #[in_netns(ns)]
/// fn start_helper(ns: &NetNs) -> std::io::Result<std::thread::JoinHandle<()>> {
///     // This thread inherits the namespace and outlives the call, on purpose.
///     Ok(allow_spawn!(std::thread::spawn(|| { /* serve */ })))
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! allow_spawn {
    ($($tokens:tt)*) => {
        $($tokens)*
    };
}
