//! Function forms the rewrite cannot support.

use syn::Signature;

use crate::args::Errors;

pub(super) fn check(sig: &Signature, errors: &mut Errors) {
    if let Some(kw) = &sig.asyncness {
        errors.push(syn::Error::new_spanned(
            kw,
            "`#[in_netns]` does not support `async fn` yet\nhelp: make the function synchronous and call it from `tokio::task::spawn_blocking`, or use `ns.run(..)` inside a blocking section",
        ));
    }
    if let Some(kw) = &sig.constness {
        errors.push(syn::Error::new_spanned(
            kw,
            "a `const fn` cannot run on a namespace thread: remove `const` or `#[in_netns]`",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            "`#[in_netns]` does not support `extern` functions: keep the `extern` function as a thin wrapper that calls an `#[in_netns]` Rust function",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "`#[in_netns]` does not support variadic functions",
        ));
    }
}
