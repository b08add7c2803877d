//! The pipeline, in one direction: parse (the arguments, the function), check,
//! expand, emit. On any error, the original function plus every error.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{ItemFn, TraitItemFn};

use crate::args::{self, Attr};
use crate::errors::Errors;
use crate::{check, expand};

pub(crate) fn in_netns(args: TokenStream, item: TokenStream) -> TokenStream {
    attribute(Attr::InNetns, args, item)
}

pub(crate) fn in_ns(args: TokenStream, item: TokenStream) -> TokenStream {
    attribute(Attr::InNs, args, item)
}

fn attribute(attr: Attr, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = args::parse(args, attr, &mut errors);
    let func = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(func) => func,
        Err(err) => return not_a_function(attr, item, err, errors),
    };
    let namespaces = args.as_ref().map(args::Args::evaluated).unwrap_or_default();
    check::function(attr, &func, &namespaces, &mut errors);
    emit(args.as_ref(), &func, errors)
}

/// The rewritten function, or the function as written next to every error.
fn emit(args: Option<&args::Args>, func: &ItemFn, errors: Errors) -> TokenStream {
    let errors = errors.finish().err().map(|err| err.to_compile_error());
    match (args, errors) {
        (Some(args), None) => expand::expand(args, func),
        // Keep the user's function so that one mistake gives one error and IDEs
        // keep working; with the `Send` checks, so that those problems are
        // reported in the same round.
        (Some(args), Some(errors)) => {
            let func = expand::fallback(args, func);
            quote!(#func #errors)
        }
        // Without arguments we do not know where `ns_runtime` is: the bare
        // function, which must not warn that the namespace parameter is unused.
        // (Arguments that do not parse always leave an error.)
        (None, errors) => quote!(#[allow(unused_variables)] #func #errors),
    }
}

/// The item is not a function with a body: say so, and keep the item.
fn not_a_function(
    attr: Attr,
    item: TokenStream,
    parse_err: syn::Error,
    mut errors: Errors,
) -> TokenStream {
    let name = attr.name();
    let err = match syn::parse2::<TraitItemFn>(item.clone()) {
        Ok(decl) if decl.default.is_none() => syn::Error::new_spanned(
            &decl.sig,
            format!("`#[{name}]` needs a function with a body: put it on the method's implementation, not on its declaration in the trait"),
        ),
        _ => syn::Error::new(
            parse_err.span(),
            format!("`#[{name}]` can only be applied to a function: {parse_err}"),
        ),
    };
    errors.push(err);
    let err = errors.finish().err().map(|e| e.to_compile_error());
    quote!(#item #err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(args: TokenStream, item: TokenStream) -> Vec<String> {
        messages(&in_netns(args, item))
    }

    fn messages(out: &TokenStream) -> Vec<String> {
        let out = out.to_string();
        out.match_indices("compile_error !")
            .map(|(at, _)| {
                let rest = &out[at..];
                let start = rest.find('"').unwrap() + 1;
                let end = rest[start..].find("\" }").unwrap();
                rest[start..start + end].to_owned()
            })
            .collect()
    }

    #[test]
    fn a_clean_function_expands_without_errors() {
        let out = in_netns(
            quote!(ns),
            quote!(
                fn f(ns: &NetNs) -> R {
                    Ok(())
                }
            ),
        )
        .to_string();
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains("__ns_runtime_private :: run"), "{out}");
    }

    #[test]
    fn all_errors_at_once_and_the_original_function_kept() {
        let item = quote! {
            const fn f(ns: &NetNs) -> R {
                std::thread::spawn(|| ());
                let v = vec![tokio::spawn(fut)];
                nix::sched::setns(fd, flags);
                Ok(())
            }
        };
        let out = in_netns(quote!(ns, bogus = 1), item).to_string();
        // The function as written, with its `Send` checks, so they report too.
        let module = expand::private_module();
        assert!(
            out.starts_with(&format!("const fn f (ns : & NetNs) -> R {{ # [allow (unused_imports)] use :: ns_runtime :: {module} as __ns_runtime_private ; __ns_runtime_private :: assert_send (& ns) ; {{ std :: thread :: spawn")),
            "{out}"
        );
        let errors = errors_of(
            quote!(ns, bogus = 1),
            quote! {
                const fn f(ns: &NetNs) -> R {
                    std::thread::spawn(|| ());
                    let v = vec![tokio::spawn(fut)];
                    nix::sched::setns(fd, flags);
                    Ok(())
                }
            },
        );
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(errors[0].starts_with("unknown argument `bogus`"));
        assert!(errors[1].contains("const fn"));
        assert!(errors[2].starts_with("`std::thread::spawn` starts a thread"));
        assert!(errors[3].starts_with("`tokio::spawn` runs work on a thread pool"));
        assert!(errors[4].starts_with("`nix::sched::setns` would move this namespace thread"));
    }

    #[test]
    fn what_is_allowed_is_not_reported() {
        let errors = errors_of(
            quote!(ns),
            quote! {
                fn f(ns: &NetNs) -> R {
                    std::process::Command::new("ip").spawn()?;
                    ns_runtime::allow_spawn!(std::thread::spawn(|| ()));
                    fn inner() { std::thread::spawn(|| ()); }
                    let joined = ["a", "b"].join(",");
                    path.join("x");
                    Ok(())
                }
            },
        );
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn spawns_inside_closures_async_blocks_and_macros_are_found() {
        let errors = errors_of(
            quote!(ns),
            quote! {
                fn f(ns: &NetNs) -> R {
                    let c = || rayon::join(|| 1, || 2);
                    let a = async { tokio::task::spawn_blocking(|| ()) };
                    println!("{:?}", v.par_iter().count());
                    assert!(pool.install(|| true));
                    let w = vec![thread::scope(|s| ()); 2];
                    Ok(())
                }
            },
        );
        assert_eq!(errors.len(), 5, "{errors:#?}");
    }

    #[test]
    fn async_bodies_get_the_task_advice_and_owned_argument_errors() {
        let errors = errors_of(
            quote!(ns),
            quote! {
                async fn f(ns: &NetNs, name: &str) -> R {
                    tokio::spawn(async {});
                    std::thread::spawn(|| ());
                    Ok(())
                }
            },
        );
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(
            errors[0].starts_with("`&str` is a reference"),
            "{errors:#?}"
        );
        assert!(errors[1].contains("`tokio::join!`"), "{errors:#?}");
        assert!(errors[2].starts_with("`std::thread::spawn` starts a thread"));
    }

    #[test]
    fn messages_name_the_attribute_written() {
        let item = quote! {
            const async fn f(ns: &NsSet, name: &str) -> R {
                nix::sched::setns(fd, flags);
                Ok(())
            }
        };
        let errors = messages(&in_ns(quote!(ns), item.clone()));
        assert_eq!(errors.len(), 3, "{errors:#?}");
        for error in &errors {
            assert!(error.contains("#[in_ns"), "{errors:#?}");
            assert!(!error.contains("in_netns"), "{errors:#?}");
        }
        let errors = errors_of(quote!(ns), item);
        assert!(
            errors.iter().all(|e| e.contains("#[in_netns")),
            "{errors:#?}"
        );
    }

    #[test]
    fn scoped_threads_are_not_said_to_outlive_the_call() {
        let errors = errors_of(
            quote!(ns),
            quote! {
                fn f(ns: &NetNs) -> R {
                    std::thread::scope(|s| { s.spawn(|| ()); });
                    std::thread::Builder::new().spawn_scoped(scope, || ());
                    crossbeam::scope(|s| ());
                    std::thread::Scope::spawn(s, || ());
                    Ok(())
                }
            },
        );
        assert_eq!(errors.len(), 4, "{errors:#?}");
        for error in &errors {
            assert!(
                error.contains("not namespace threads of ns-runtime"),
                "{errors:#?}"
            );
            assert!(error.contains("blocks until they finish"), "{errors:#?}");
            assert!(!error.contains("outlive"), "{errors:#?}");
        }
    }

    #[test]
    fn the_outermost_escaping_call_is_reported_once() {
        let errors = errors_of(
            quote!(ns),
            quote! {
                fn f(ns: &NetNs) -> R {
                    std::thread::scope(|s| { s.spawn(|| rayon::join(|| 1, || 2)); });
                    Ok(())
                }
            },
        );
        assert_eq!(errors.len(), 1, "{errors:#?}");
    }

    #[test]
    fn a_trait_method_declaration_is_not_a_body() {
        let errors = errors_of(
            quote!(ns),
            quote!(
                fn f(&self) -> R;
            ),
        );
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("needs a function with a body"),
            "{errors:?}"
        );
    }

    #[test]
    fn the_macro_never_panics_on_odd_input() {
        for (args, item) in [
            (quote!(), quote!()),
            (
                quote!(,,),
                quote!(
                    struct S;
                ),
            ),
            (quote!(= =), quote!(fn)),
            (
                quote!(ns),
                quote!(
                    fn f(..., x: u8) {}
                ),
            ),
        ] {
            let out = in_netns(args, item).to_string();
            assert!(out.contains("compile_error"), "{out}");
        }
        // Odd but well-formed: expanded, and left to the compiler to judge.
        let out = in_netns(
            quote!(crate),
            quote!(
                fn f() {}
            ),
        )
        .to_string();
        assert!(out.starts_with("fn f ()"), "{out}");
    }
}
