//! `async fn` bodies run on the namespace thread and may outlive the caller's
//! borrows (a cancelled caller does not wait for the body to reach its next await
//! point), so their arguments must be owned. The namespace and runtime parameters
//! may be borrowed: the rewrite clones the handle and the runtime.

use syn::visit::{self, Visit};
use syn::{Expr, FnArg, Lifetime, ReceiverKind, Signature, Type, TypeReference};

use crate::args::{is_namespace_param, is_static, Attr};
use crate::errors::Errors;

pub(super) fn check(attr: Attr, sig: &Signature, namespaces: &[&Expr], errors: &mut Errors) {
    if sig.asyncness.is_none() {
        return;
    }
    let name = attr.name();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                let Some(text) = borrowed_receiver(receiver) else {
                    continue;
                };
                errors.push(syn::Error::new_spanned(
                    receiver,
                    format!(
                        "`{text}` is borrowed, but the body of an `#[{name}] async fn` runs on the namespace thread and may outlive the borrow (a cancelled caller does not wait for it)\n\
                         help: take `self: Arc<Self>` (or `self`), or make the method a plain `fn` that clones what the body needs and calls an `#[{name}] async fn` with it",
                    ),
                ));
            }
            FnArg::Typed(arg) => {
                if namespaces.iter().any(|ns| is_namespace_param(&arg.pat, ns)) {
                    continue;
                }
                if let Some(borrow) = first_borrow(&arg.ty) {
                    errors.push(syn::Error::new_spanned(
                        &arg.ty,
                        format!(
                            "`{}` {borrow}, but the body of an `#[{name}] async fn` runs on the namespace thread and may outlive it (a cancelled caller does not wait for the body)\n\
                             help: take an owned value instead (`String` for `&str`, `Vec<T>` for `&[T]`, `T` for `&T`), an `Arc`, or a clone; only the namespace and runtime parameters may be references",
                            display(&arg.ty),
                        ),
                    ));
                }
            }
        }
    }
}

/// How `ty` borrows, if it does: a reference or a lifetime other than `'static`.
fn first_borrow(ty: &Type) -> Option<&'static str> {
    struct Borrows(Option<&'static str>);
    impl<'ast> Visit<'ast> for Borrows {
        fn visit_type_reference(&mut self, reference: &'ast TypeReference) {
            if !is_static(reference) && self.0.is_none() {
                self.0 = Some("is a reference");
            }
            visit::visit_type_reference(self, reference);
        }
        fn visit_lifetime(&mut self, lifetime: &'ast Lifetime) {
            if lifetime.ident != "static" && self.0.is_none() {
                self.0 = Some("borrows for a lifetime");
            }
        }
    }
    let mut found = Borrows(None);
    found.visit_type(ty);
    found.0
}

/// A receiver that borrows, as written: `&self`, `&'a mut self`, `self: Pin<&mut Self>`.
fn borrowed_receiver(receiver: &syn::Receiver) -> Option<String> {
    match &receiver.kind {
        ReceiverKind::Reference(_, lifetime, mutability) => {
            let lifetime = lifetime
                .as_ref()
                .map_or_else(String::new, |lifetime| format!("{lifetime} "));
            let mutability = if mutability.is_some() { "mut " } else { "" };
            Some(format!("&{lifetime}{mutability}self"))
        }
        ReceiverKind::Typed(_, ty) => first_borrow(ty).map(|_| format!("self: {}", display(ty))),
        _ => None,
    }
}

/// A type as the user would write it.
fn display(ty: &Type) -> String {
    let text = quote::quote!(#ty).to_string();
    text.replace(" < ", "<")
        .replace(" >", ">")
        .replace("& ", "&")
        .replace(" ,", ",")
        .replace(" :: ", "::")
        .replace("' ", "'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn messages(args: proc_macro2::TokenStream, sig: proc_macro2::TokenStream) -> Vec<String> {
        let sig: Signature = syn::parse2(sig).unwrap();
        let namespace: Expr = syn::parse2(args).unwrap();
        let mut errors = Errors::default();
        check(Attr::InNetns, &sig, &[&namespace], &mut errors);
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn owned_arguments_and_the_borrowed_namespace_pass() {
        let found = messages(
            quote!(ns),
            quote!(async fn f(ns: &NetNs, a: String, b: Arc<Vec<u8>>, c: &'static str)),
        );
        assert!(found.is_empty(), "{found:?}");
        let found = messages(quote!(self.ns), quote!(async fn f(self: Arc<Self>, a: u8)));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn borrowed_arguments_and_receivers_are_named() {
        let found = messages(
            quote!(ns),
            quote!(async fn f(&self, ns: &NetNs, a: &str, b: Cow<'a, str>, c: Vec<&u8>)),
        );
        assert_eq!(found.len(), 4, "{found:?}");
        let found_mut = messages(quote!(ns), quote!(async fn f(&'a mut self)));
        assert!(
            found_mut[0].starts_with("`&'a mut self` is borrowed"),
            "{found_mut:?}"
        );
        let found_pin = messages(quote!(ns), quote!(async fn f(self: Pin<&mut Self>)));
        assert!(
            found_pin[0].starts_with("`self: Pin<&mut Self>` is borrowed"),
            "{found_pin:?}"
        );
        assert!(found[0].starts_with("`&self` is borrowed"), "{found:?}");
        assert!(found[1].starts_with("`&str` is a reference"), "{found:?}");
        assert!(
            found[2].starts_with("`Cow<'a, str>` borrows for a lifetime"),
            "{found:?}"
        );
        assert!(
            found[3].starts_with("`Vec<&u8>` is a reference"),
            "{found:?}"
        );
    }

    #[test]
    fn plain_functions_may_borrow() {
        let found = messages(quote!(ns), quote!(fn f(&self, a: &str)));
        assert!(found.is_empty(), "{found:?}");
    }
}
