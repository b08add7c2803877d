//! Support for the code that `#[in_netns]` generates. Not public API: anything here
//! may change in any release.

use std::sync::Arc;

use crate::{Error, NetNs};

/// What `#[in_netns(EXPR)]` accepts as `EXPR` (called with `&(EXPR)`).
///
/// A handle that is a reference is passed on as it is; an owned one (or one in an
/// `Arc`) is cloned (a reference count), so that the body may still move it.
#[diagnostic::on_unimplemented(
    message = "`#[in_netns(..)]` needs a network namespace handle, found `{Self}`",
    label = "expected an expression of type `NetNs` or `&NetNs`",
    note = "write e.g. `#[in_netns(ns)]` with a parameter `ns: &NetNs`, or `#[in_netns(&self.netns)]`"
)]
pub trait NamespaceExpr {
    /// The handle the call uses.
    type Handle: AsRef<NetNs>;
    /// Turns `&(EXPR)` into the handle.
    fn handle(self) -> Self::Handle;

    /// Turns `&(EXPR)` into an owned handle: for methods whose receiver the body
    /// moves or borrows mutably (`self`, `&mut self`, `self: Arc<Self>`), which
    /// a handle borrowed from `self` would conflict with.
    fn owned_handle(self) -> NetNs
    where
        Self: Sized,
    {
        self.handle().as_ref().clone()
    }
}

impl NamespaceExpr for &NetNs {
    type Handle = NetNs;
    fn handle(self) -> NetNs {
        self.clone()
    }
}

impl<'a> NamespaceExpr for &&'a NetNs {
    type Handle = &'a NetNs;
    fn handle(self) -> &'a NetNs {
        self
    }
}

impl<'a> NamespaceExpr for &&&'a NetNs {
    type Handle = &'a NetNs;
    fn handle(self) -> &'a NetNs {
        self
    }
}

impl<'a> NamespaceExpr for &&'a mut NetNs {
    type Handle = NetNs;
    fn handle(self) -> NetNs {
        NetNs::clone(self)
    }
}

impl NamespaceExpr for &Arc<NetNs> {
    type Handle = NetNs;
    fn handle(self) -> NetNs {
        NetNs::clone(self)
    }
}

/// The return types an `#[in_netns]` function may have.
#[diagnostic::on_unimplemented(
    message = "an `#[in_netns]` function must return `Result<_, E>` with `E: From<ns_runtime::Error>`, not `{Self}`",
    label = "entering the namespace can fail, so this must be a `Result`",
    note = "`std::io::Result<T>` and `anyhow::Result<T>` work; for an error type of your own, implement `From<ns_runtime::Error>` for it"
)]
pub trait NamespaceResult {
    /// The function's result when the namespace could not be entered.
    fn from_runtime_error(err: Error) -> Self;
}

impl<T, E: From<Error>> NamespaceResult for Result<T, E> {
    fn from_runtime_error(err: Error) -> Self {
        Err(E::from(err))
    }
}

/// Arguments and receivers of `#[in_netns]` functions.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent to the namespace thread",
    label = "this is not `Send`, but the body of an `#[in_netns]` function runs on another thread",
    note = "create the value inside the body instead, or use a thread-safe type: `Arc` instead of `Rc`, `Mutex` or atomics instead of `RefCell` and `Cell`"
)]
pub trait SendArgument {}

impl<T: Send + ?Sized> SendArgument for T {}

/// Asserts that an argument can go to the namespace thread. The macro calls it with
/// each argument at that argument's span, so a failure underlines the argument.
#[inline(always)]
pub fn assert_send<T: SendArgument + ?Sized>(_: &T) {}

/// The body of every `#[in_netns]` function.
#[inline]
pub fn run<H, F, R>(ns: H, body: F) -> R
where
    H: AsRef<NetNs>,
    F: FnOnce() -> R + Send,
    R: NamespaceResult + Send,
{
    match ns.as_ref().run(body) {
        Ok(result) => result,
        Err(err) => R::from_runtime_error(err),
    }
}
