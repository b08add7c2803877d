//! Run Rust code inside Linux namespaces, safely, from threaded and async programs.
//!
//! Linux namespaces belong to a *thread*: `setns(2)` moves only the calling thread,
//! and a thread created later starts wherever its creator is at that moment. Code
//! that switches the namespace of a pooled thread (a tokio worker, a rayon thread)
//! leaks the switch into unrelated work, and work it hands to other threads runs back
//! in the host namespace.
//!
//! This crate never moves a thread you own. Each namespace gets *namespace threads*
//! that enter it once, at birth, and never leave; [`NetNs::run`] hands a closure to
//! one of them and blocks until it is done.
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
//! - The body runs on a thread that sits in the namespace; no other thread of the
//!   process changes namespace, so nothing ever needs "setting back".
//! - The closure may borrow from the caller; a panic in it is resumed in the caller
//!   with its payload, and the namespace keeps serving.
//! - A call made on a namespace thread of the same namespace runs inline; calls from
//!   namespace A into B and back into A do not deadlock.
//! - Idle namespace threads sleep (no CPU) and exit after a keep-alive.
//!
//! All namespace operations need `CAP_SYS_ADMIN` (root); without it they return
//! [`Error::PermissionDenied`].

mod error;
mod kind;
mod link;
mod name;
mod namespace;
mod netns;
mod runtime;
mod sys;

pub use error::{Error, Result};
pub use kind::NsKind;
pub use name::NETNS_RUN_DIR;
pub use netns::NetNs;
pub use runtime::{Builder, GlobalAlreadySet, Runtime};
