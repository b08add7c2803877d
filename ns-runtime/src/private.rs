//! Support for the code that `#[in_netns]` generates. Not public API: anything here
//! may change in any release.

use std::sync::Arc;

pub use crate::NsKind;
use crate::{Error, NetNs, Ns, NsSet, Runtime};

/// The handle (or runtime) a call uses: borrowed when `EXPR` was a reference,
/// owned (a reference count) when it was an owned value, which the body may still
/// move.
///
/// A concrete type, not an associated one: if `EXPR` is not a handle, the one
/// failed bound is the only error.
pub enum Handle<'a, T = NetNs> {
    /// `EXPR` was a `&T`.
    Borrowed(&'a T),
    /// `EXPR` was a `T` (or an `Arc` of one).
    Owned(T),
}

impl<T> Handle<'_, T> {
    /// The handle, however it is held.
    #[inline]
    pub fn get(&self) -> &T {
        match self {
            Handle::Borrowed(value) => value,
            Handle::Owned(value) => value,
        }
    }
}

impl<T: Clone> Handle<'_, T> {
    /// The handle, owned: moved out if it is, cloned if borrowed.
    #[inline]
    pub fn into_owned(self) -> T {
        match self {
            Handle::Borrowed(value) => value.clone(),
            Handle::Owned(value) => value,
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
        self.handle().into_owned()
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

/// What `runtime = EXPR` accepts (called with `&(EXPR)`), in either attribute.
#[diagnostic::on_unimplemented(
    message = "`runtime = ..` needs an `ns_runtime::Runtime`, found `{Self}`",
    label = "expected an expression of type `Runtime` or `&Runtime`",
    note = "write e.g. `runtime = &self.runtime`, or `runtime = rt` with a parameter `rt: &Runtime`"
)]
pub trait RuntimeExpr<'a>: Sized {
    /// Turns `&(EXPR)` into the runtime.
    fn runtime(self) -> Handle<'a, Runtime>;

    /// Turns `&(EXPR)` into an owned runtime (see [`NamespaceExpr::owned_handle`]),
    /// borrowing nothing.
    fn owned_runtime(self) -> Handle<'static, Runtime> {
        Handle::Owned(self.runtime().into_owned())
    }
}

impl<'a> RuntimeExpr<'a> for &Runtime {
    fn runtime(self) -> Handle<'a, Runtime> {
        Handle::Owned(self.clone())
    }
}

impl<'a> RuntimeExpr<'a> for &&'a Runtime {
    fn runtime(self) -> Handle<'a, Runtime> {
        Handle::Borrowed(self)
    }
}

impl<'a> RuntimeExpr<'a> for &&&'a Runtime {
    fn runtime(self) -> Handle<'a, Runtime> {
        Handle::Borrowed(self)
    }
}

impl<'a> RuntimeExpr<'a> for &&'a mut Runtime {
    fn runtime(self) -> Handle<'a, Runtime> {
        Handle::Owned(Runtime::clone(self))
    }
}

impl<'a> RuntimeExpr<'a> for &'a std::sync::LazyLock<Runtime> {
    fn runtime(self) -> Handle<'a, Runtime> {
        Handle::Borrowed(self)
    }
}

impl<'a> RuntimeExpr<'a> for &&'a std::sync::LazyLock<Runtime> {
    fn runtime(self) -> Handle<'a, Runtime> {
        Handle::Borrowed(self)
    }
}

impl<'a> RuntimeExpr<'a> for &&'a Arc<Runtime> {
    fn runtime(self) -> Handle<'a, Runtime> {
        Handle::Borrowed(self)
    }
}

impl<'a> RuntimeExpr<'a> for &Arc<Runtime> {
    fn runtime(self) -> Handle<'a, Runtime> {
        Handle::Owned(Runtime::clone(self))
    }
}

/// The return types an `#[in_netns]` or `#[in_ns]` function may have. The messages
/// name no attribute: they are the same for both.
#[diagnostic::on_unimplemented(
    message = "a function whose body runs on a namespace thread must return `Result<_, E>` with `E: From<ns_runtime::Error>`, not `{Self}`",
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

/// Arguments and receivers of `#[in_netns]` and `#[in_ns]` functions.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent to the namespace thread",
    label = "this is not `Send`, but the function's body runs on a namespace thread",
    note = "create the value inside the body instead, or use a thread-safe type: `Arc` instead of `Rc`, `Mutex` or atomics instead of `RefCell` and `Cell`"
)]
pub trait SendArgument {}

impl<T: Send + ?Sized> SendArgument for T {}

/// Asserts that an argument can go to the namespace thread. The macro calls it with
/// each argument at that argument's span, so a failure underlines the argument.
/// `const` so that it can stand in the body of a `const fn` the macro rejected.
#[inline(always)]
pub const fn assert_send<T: SendArgument + ?Sized>(_: &T) {}

/// What `#[in_ns(EXPR)]` accepts as `EXPR` (called with `&(EXPR)`).
#[diagnostic::on_unimplemented(
    message = "`#[in_ns(..)]` needs a namespace set, found `{Self}`",
    label = "expected an expression of type `NsSet` or `&NsSet`",
    note = "build one with `NsSet::new([..])` or `NsSet::of_pid(pid)`, or name the members: `#[in_ns(net = a, uts = b)]`"
)]
pub trait SetExpr {
    /// Turns `&(EXPR)` into the set (a reference count).
    fn set(self) -> Result<NsSet, Error>;
}

impl SetExpr for &NsSet {
    fn set(self) -> Result<NsSet, Error> {
        Ok(self.clone())
    }
}

impl SetExpr for &&NsSet {
    fn set(self) -> Result<NsSet, Error> {
        Ok(NsSet::clone(self))
    }
}

impl SetExpr for &&mut NsSet {
    fn set(self) -> Result<NsSet, Error> {
        Ok(NsSet::clone(self))
    }
}

impl SetExpr for &Arc<NsSet> {
    fn set(self) -> Result<NsSet, Error> {
        Ok(NsSet::clone(self))
    }
}

/// What `#[in_ns(kind = EXPR)]` accepts as `EXPR` (called with `&(EXPR)`).
#[diagnostic::on_unimplemented(
    message = "a member of `#[in_ns(..)]` must be a namespace handle, found `{Self}`",
    label = "expected an expression of type `Ns`, `NetNs` or a reference to one",
    note = "open one with `Ns::of_pid(pid, kind)`, `Ns::from_path(..)` or `Ns::create(kind)`"
)]
pub trait MemberExpr {
    /// Turns `&(EXPR)` into a handle of any kind (a reference count).
    fn member(self) -> Ns;
}

impl MemberExpr for &Ns {
    fn member(self) -> Ns {
        self.clone()
    }
}

impl MemberExpr for &&Ns {
    fn member(self) -> Ns {
        Ns::clone(self)
    }
}

impl MemberExpr for &NetNs {
    fn member(self) -> Ns {
        self.as_ns().clone()
    }
}

impl MemberExpr for &&NetNs {
    fn member(self) -> Ns {
        self.as_ns().clone()
    }
}

/// The member of `kind` that `#[in_ns(kind = EXPR)]` names, its kind checked.
pub fn member(kind: NsKind, expr: impl MemberExpr) -> Result<Ns, Error> {
    let ns = expr.member();
    if ns.kind() == kind {
        Ok(ns)
    } else {
        Err(Error::WrongKind {
            path: ns.namespace().origin.path(ns.kind()),
            expected: kind,
            found: ns.kind(),
        })
    }
}

/// The set that `#[in_ns(net = a, uts = b)]` names (made on every call).
pub fn set_of<const N: usize>(members: [Result<Ns, Error>; N]) -> Result<NsSet, Error> {
    NsSet::new(members.into_iter().collect::<Result<Vec<Ns>, Error>>()?)
}

/// What the attributes run a body in: a network namespace handle, or a set (or
/// the error of making one).
pub trait CallTarget {
    /// Runs `f` there, on a thread of `runtime`.
    fn call<F, R>(self, runtime: &Runtime, f: F) -> Result<R, Error>
    where
        F: FnOnce() -> R + Send,
        R: Send;
}

impl CallTarget for Handle<'_> {
    #[inline]
    fn call<F, R>(self, runtime: &Runtime, f: F) -> Result<R, Error>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        runtime.run(self.get(), f)
    }
}

impl CallTarget for NetNs {
    #[inline]
    fn call<F, R>(self, runtime: &Runtime, f: F) -> Result<R, Error>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        runtime.run(&self, f)
    }
}

impl CallTarget for Result<NsSet, Error> {
    fn call<F, R>(self, runtime: &Runtime, f: F) -> Result<R, Error>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        runtime.run(&self?, f)
    }
}

/// The body of every `#[in_netns]` and `#[in_ns]` function without `runtime =`.
#[inline]
pub fn run<H, F, R>(ns: H, body: F) -> R
where
    H: CallTarget,
    F: FnOnce() -> R + Send,
    R: NamespaceResult + Send,
{
    run_on(Runtime::global(), ns, body)
}

/// The body of every `#[in_netns]` and `#[in_ns]` function with `runtime =`.
#[inline]
pub fn run_on<H, F, R>(runtime: &Runtime, ns: H, body: F) -> R
where
    H: CallTarget,
    F: FnOnce() -> R + Send,
    R: NamespaceResult + Send,
{
    match ns.call(runtime, body) {
        Ok(result) => result,
        Err(err) => R::from_runtime_error(err),
    }
}

/// What the attributes run an async body in.
#[cfg(all(feature = "tokio", not(loom)))]
pub trait AsyncCallTarget {
    /// The handle the body runs in.
    type Target: crate::Namespaces;
    /// That handle, or why there is none.
    fn target(self) -> Result<Self::Target, Error>;
}

#[cfg(all(feature = "tokio", not(loom)))]
impl AsyncCallTarget for NetNs {
    type Target = NetNs;
    fn target(self) -> Result<NetNs, Error> {
        Ok(self)
    }
}

#[cfg(all(feature = "tokio", not(loom)))]
impl AsyncCallTarget for Result<NsSet, Error> {
    type Target = NsSet;
    fn target(self) -> Result<NsSet, Error> {
        self
    }
}

/// The body of every `#[in_netns] async fn` and `#[in_ns] async fn` without
/// `runtime =`.
#[cfg(all(feature = "tokio", not(loom)))]
pub fn run_async<H, F, Fut, R>(ns: H, body: F) -> impl std::future::Future<Output = R> + Send
where
    H: AsyncCallTarget,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = R> + 'static,
    R: NamespaceResult + Send + 'static,
{
    run_async_on(Runtime::global(), ns, body)
}

/// The body of every `#[in_netns] async fn` and `#[in_ns] async fn` with
/// `runtime =`. The runtime is used before the future is returned, not held in it.
#[cfg(all(feature = "tokio", not(loom)))]
pub fn run_async_on<H, F, Fut, R>(
    runtime: &Runtime,
    ns: H,
    body: F,
) -> impl std::future::Future<Output = R> + Send
where
    H: AsyncCallTarget,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = R> + 'static,
    R: NamespaceResult + Send + 'static,
{
    let call = ns.target().map(|target| runtime.run_async(&target, body));
    async move {
        match call {
            Ok(call) => match call.await {
                Ok(result) => result,
                Err(err) => R::from_runtime_error(err),
            },
            Err(err) => R::from_runtime_error(err),
        }
    }
}

/// Stands for [`AsyncCallTarget`] when the `tokio` feature is off: implemented by
/// nothing, so an `async fn` under the attributes fails with this one error, which
/// names the feature, rather than with a missing item of this module.
///
/// The version in the note is this crate's major.minor: keep it with the release
/// (as `__private_for`'s name).
#[cfg(not(all(feature = "tokio", not(loom))))]
#[diagnostic::on_unimplemented(
    message = "an `async fn` under `#[in_netns]` or `#[in_ns]` needs the `tokio` feature of ns-runtime",
    label = "async bodies run on tokio, which this build of ns-runtime leaves out",
    note = "enable the feature: `ns-runtime = {{ version = \"0.1\", features = [\"tokio\"] }}` (it is a default feature: `default-features = false` turned it off), or make the function a plain `fn`"
)]
pub trait AsyncCallTarget {}

/// Stands for the async `run_async` when the `tokio` feature is off; its bound
/// cannot be met (see [`AsyncCallTarget`]), so it is never called. Not an `async
/// fn`: its future (`Pending`) does not repeat the bound, so awaiting it adds no
/// second error.
#[cfg(not(all(feature = "tokio", not(loom))))]
pub fn run_async<H, F, Fut, R>(_ns: H, _body: F) -> std::future::Pending<R>
where
    H: AsyncCallTarget,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = R>,
{
    unreachable!("`AsyncCallTarget` has no implementations without the `tokio` feature")
}

/// Stands for the async `run_async_on` when the `tokio` feature is off, as
/// `run_async` does.
#[cfg(not(all(feature = "tokio", not(loom))))]
pub fn run_async_on<H, F, Fut, R>(_runtime: &Runtime, _ns: H, _body: F) -> std::future::Pending<R>
where
    H: AsyncCallTarget,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = R>,
{
    unreachable!("`AsyncCallTarget` has no implementations without the `tokio` feature")
}
