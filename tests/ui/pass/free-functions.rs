#![deny(warnings)]
//! Free functions in every supported form expand to code that passes users' lints.

use std::io;

use ns_runtime::{in_netns, NetNs};

/// A doc comment and other attributes are kept.
#[in_netns(ns)]
#[inline]
#[must_use = "the listener is bound inside the namespace"]
pub fn bind_inside(ns: &NetNs, port: u16) -> io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(("127.0.0.1", port))
}

#[in_netns(ns)]
pub(crate) fn owned_handle_and_patterns(
    ns: NetNs,
    (a, b): (u8, u8),
    mut total: u32,
) -> io::Result<u32> {
    total += u32::from(a) + u32::from(b);
    Ok(total + u32::try_from(ns.inode() % 2).unwrap_or_default())
}

#[in_netns(ns)]
fn early_return_and_question_mark(ns: &NetNs, path: &str) -> io::Result<usize> {
    if path.is_empty() {
        return Ok(0);
    }
    let text = std::fs::read_to_string(path)?;
    Ok(text.len())
}

#[in_netns(ns)]
fn borrowed_result<'a>(ns: &NetNs, text: &'a str) -> io::Result<&'a str> {
    Ok(text.trim())
}

#[in_netns(ns)]
fn elided_lifetime<'n>(ns: &'n NetNs, text: &str) -> io::Result<usize> {
    Ok(text.len())
}

#[in_netns(ns)]
fn generic<T, I>(ns: &NetNs, first: T, rest: I) -> io::Result<Vec<T>>
where
    T: Clone + Send,
    I: IntoIterator<Item = T> + Send,
{
    let mut all = vec![first];
    all.extend(rest);
    Ok(all)
}

#[in_netns(ns)]
fn impl_trait_in_and_out(
    ns: &NetNs,
    shown: impl std::fmt::Display + Send,
) -> io::Result<impl std::fmt::Display> {
    Ok(format!("[{shown}]"))
}

#[in_netns(ns())]
fn namespace_from_a_call(id: u8) -> io::Result<u8> {
    Ok(id)
}

fn ns() -> NetNs {
    NetNs::current().expect("current namespace")
}

/// # Safety
/// The caller passes a valid pointer.
#[in_netns(ns)]
unsafe fn unsafe_function(ns: &NetNs, ptr: usize) -> io::Result<usize> {
    Ok(ptr)
}

/// An error type of one's own works when it converts from ns-runtime's.
#[derive(Debug)]
pub enum AppError {
    /// Entering the namespace failed.
    Namespace(ns_runtime::Error),
}

impl From<ns_runtime::Error> for AppError {
    fn from(err: ns_runtime::Error) -> Self {
        AppError::Namespace(err)
    }
}

#[in_netns(ns)]
fn own_error_type(ns: &NetNs) -> Result<(), AppError> {
    Ok(())
}

pub(crate) fn main() {
    let _ = bind_inside;
    let _ = owned_handle_and_patterns;
    let _ = early_return_and_question_mark;
    let _ = borrowed_result;
    let _ = elided_lifetime;
    let _ = generic::<u8, Vec<u8>>;
    let _ = |ns: &NetNs| impl_trait_in_and_out(ns, 1).map(|shown| shown.to_string());
    let _ = namespace_from_a_call;
    let _ = unsafe_function;
    let _ = own_error_type;
    let _ = |err: AppError| match err {
        AppError::Namespace(err) => err.to_string(),
    };
}
