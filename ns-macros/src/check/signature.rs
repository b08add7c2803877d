//! Function forms the rewrite cannot support.

use quote::ToTokens;
use syn::Signature;

use crate::args::Errors;

pub(super) fn check(sig: &Signature, errors: &mut Errors) {
    let unsupported: [(Option<&dyn ToTokens>, &str); 3] = [
        (
            sig.constness.as_ref().map(|kw| kw as &dyn ToTokens),
            "a `const fn` cannot run on a namespace thread: remove `const` or `#[in_netns]`",
        ),
        (
            sig.abi.as_ref().map(|abi| abi as &dyn ToTokens),
            "`#[in_netns]` does not support `extern` functions: keep the `extern` function as a thin wrapper that calls an `#[in_netns]` Rust function",
        ),
        (
            sig.variadic.as_ref().map(|dots| dots as &dyn ToTokens),
            "`#[in_netns]` does not support variadic functions",
        ),
    ];
    for (token, message) in unsupported {
        if let Some(token) = token {
            errors.push(syn::Error::new_spanned(token, message));
        }
    }
}
