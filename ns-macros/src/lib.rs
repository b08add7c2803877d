//! The `#[in_netns]` and `#[in_ns]` attributes. Use them through `ns_runtime`; this
//! crate only holds the macros (their documentation is on the re-exports).
//!
//! The entry point is a thin shim: all logic works on `proc_macro2` in the modules
//! below, so it can be unit-tested. `entry` runs the pipeline in one direction:
//! `args` parses the attribute's arguments, `calls` walks the body once, `check`
//! judges what it found, `expand` writes the new function, and `entry` emits it
//! with every error that `errors` collected on the way.

mod args;
mod calls;
mod check;
mod entry;
mod errors;
mod expand;
#[cfg(test)]
mod fuzz;

use proc_macro::TokenStream;

/// Runs the function's body on a namespace thread of the given network namespace.
/// See `ns_runtime::in_netns` for the documentation.
#[proc_macro_attribute]
pub fn in_netns(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::in_netns(args.into(), item.into()).into()
}

/// Runs the function's body on a namespace thread of several namespaces at once.
/// See `ns_runtime::in_ns` for the documentation.
#[proc_macro_attribute]
pub fn in_ns(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::in_ns(args.into(), item.into()).into()
}
