//! Support for the code that `#[in_netns]` generates. Not public API: anything here
//! may change in any release.

use std::sync::Arc;

use crate::{Error, NetNs};

/// The handle a call uses: borrowed when `EXPR` was a reference, owned (a reference
/// count) when it was an owned handle, which the body may still move.
///
/// A concrete type, not an associated one: if `EXPR` is not a handle, the one
/// failed bound is the only error.
pub enum Handle<'a> {
    /// `EXPR` was a `&NetNs`.
    Borrowed(&'a NetNs),
    /// `EXPR` was a `NetNs` (or an `Arc` of one).
    Owned(NetNs),
}

impl AsRef<NetNs> for Handle<'_> {
    #[inline]
    fn as_ref(&self) -> &NetNs {
        match self {
            Handle::Borrowed(ns) => ns,
            Handle::Owned(ns) => ns,
        }
    }
}

/// What `#[in_netns(EXPR)]` accepts as `EXPR` (called with `&(EXPR)`).
#[diagnostic::on_unimplemented(
    message = "`#[in_netns(..)]` needs a network namespace handle, found `{Self}`",
    label = "expected an expression of type `NetNs` or `&NetNs`",
    note = "write e.g. `#[in_netns(ns)]` with a parameter `ns: &NetNs`, or `#[in_netns(&self.netns)]`"
)]
pub trait NamespaceExpr<'a>: Sized {
    /// Turns `&(EXPR)` into the handle.
    fn handle(self) -> Handle<'a>;

    /// Turns `&(EXPR)` into an owned handle: for methods whose receiver the body
    /// moves or borrows mutably (`self`, `&mut self`, `self: Arc<Self>`), which a
    /// handle borrowed from `self` would conflict with.
    fn owned_handle(self) -> NetNs {
        self.handle().as_ref().clone()
    }
}

impl<'a> NamespaceExpr<'a> for &NetNs {
    fn handle(self) -> Handle<'a> {
        Handle::Owned(self.clone())
    }
}

impl<'a> NamespaceExpr<'a> for &&'a NetNs {
    fn handle(self) -> Handle<'a> {
        Handle::Borrowed(self)
    }
}

impl<'a> NamespaceExpr<'a> for &&&'a NetNs {
    fn handle(self) -> Handle<'a> {
        Handle::Borrowed(self)
    }
}

impl<'a> NamespaceExpr<'a> for &&'a mut NetNs {
    fn handle(self) -> Handle<'a> {
        Handle::Owned(NetNs::clone(self))
    }
}

impl<'a> NamespaceExpr<'a> for &Arc<NetNs> {
    fn handle(self) -> Handle<'a> {
        Handle::Owned(NetNs::clone(self))
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
/// `const` so that it can stand in the body of a `const fn` the macro rejected.
#[inline(always)]
pub const fn assert_send<T: SendArgument + ?Sized>(_: &T) {}

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

/// The body of every `#[in_netns] async fn`.
#[cfg(all(feature = "tokio", not(loom)))]
pub async fn run_async<F, Fut, R>(ns: NetNs, body: F) -> R
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = R> + 'static,
    R: NamespaceResult + Send + 'static,
{
    match ns.run_async(body).await {
        Ok(result) => result,
        Err(err) => R::from_runtime_error(err),
    }
}
