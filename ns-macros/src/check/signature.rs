//! Function forms the rewrite cannot support.

use quote::ToTokens;
use syn::Signature;

use crate::args::Attr;
use crate::errors::Errors;

pub(super) fn check(attr: Attr, sig: &Signature, errors: &mut Errors) {
    let name = attr.name();
    let unsupported: [(Option<&dyn ToTokens>, String); 3] = [
        (
            sig.constness.as_ref().map(|kw| kw as &dyn ToTokens),
            format!("a `const fn` cannot run on a namespace thread: remove `const` or `#[{name}]`"),
        ),
        (
            sig.abi.as_ref().map(|abi| abi as &dyn ToTokens),
            format!("`#[{name}]` does not support `extern` functions: keep the `extern` function as a thin wrapper that calls an `#[{name}]` Rust function"),
        ),
        (
            sig.variadic.as_ref().map(|dots| dots as &dyn ToTokens),
            format!("`#[{name}]` does not support variadic functions"),
        ),
    ];
    for (token, message) in unsupported {
        if let Some(token) = token {
            errors.push(syn::Error::new_spanned(token, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_attribute_written() {
        let sig: Signature = syn::parse_quote!(const extern "C" fn f(ns: &NetNs, ...));
        for (attr, name) in [(Attr::InNetns, "#[in_netns]"), (Attr::InNs, "#[in_ns]")] {
            let mut errors = Errors::default();
            check(attr, &sig, &mut errors);
            let found: Vec<String> = errors
                .finish()
                .err()
                .into_iter()
                .flatten()
                .map(|e| e.to_string())
                .collect();
            assert_eq!(found.len(), 3, "{found:?}");
            assert!(found.iter().all(|m| m.contains(name)), "{found:?}");
        }
    }
}
