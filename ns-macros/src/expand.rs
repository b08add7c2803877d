//! The rewrite: the signature stays as written; the body moves into a closure that
//! runs on a namespace thread.
//!
//! ```text
//! #[in_netns(ns)]                          fn f(ns: &NetNs, port: u16) -> io::Result<T> {
//! fn f(ns: &NetNs, port: u16)       =>         #![inner attributes of the body]
//!     -> io::Result<T> {                       use ::ns_runtime::__private_for::ns_macros_0_1_0 as p;
//!     #![inner attributes]                     p::assert_send(&ns);     // at `ns`
//!     body                                     p::assert_send(&port);   // at `port`
//! }                                            let e = &(ns);
//!                                              let h = p::NamespaceExpr::handle(e);
//!                                              p::run(h, move || -> io::Result<T> { body })
//!                                          }
//! ```
//!
//! `&(EXPR)` is bound first so that a temporary in it lives until the body has
//! run. The handle stays borrowed unless the body owns what it borrows from (an
//! owned parameter, a receiver the body moves or borrows mutably): then it is
//! cloned first (`owned_handle`). With `runtime = RT`, `RT` is evaluated the same
//! way, after the handle, and the call is `p::run_on(rt, h, ..)`.
//!
//! The support module is imported once, under the name of this crate's version
//! (`ns_macros_0_1_0` for 0.1.0): an expansion by another version of this crate than
//! the one `ns-runtime` was released with fails with one error, at that `use`, which
//! names both versions (rustc suggests the one that exists), instead of one error
//! for every item the expansion uses.
//!
//! An `async fn` becomes a call of `p::run_async` with a `'static` closure
//! that makes an `async move` block of the body. A borrowed namespace (or runtime)
//! parameter is rebound inside that block to a reference to a clone the block
//! owns, so the body reads the same as before:
//!
//! ```text
//! #[in_netns(ns)]                          async fn f(ns: &NetNs, port: u16) -> io::Result<T> {
//! async fn f(ns: &NetNs, port: u16)  =>        (import, Send checks)
//!     -> io::Result<T> { body }                let e = &(ns);
//!                                              let h = p::NamespaceExpr::owned_handle(e);
//!                                              let b = h.clone();
//!                                              p::run_async(h, move || async move {
//!                                                  let ns = &b;
//!                                                  body
//!                                              }).await
//!                                          }
//! ```

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{
    AttrStyle, Block, Expr, FnArg, ItemFn, Pat, PatIdent, ReceiverKind, ReturnType, Signature, Type,
};

use crate::args::{is_namespace_param, is_static, without_parentheses, Args, Attr, Target};

/// The name of the support module inside the rewritten function.
const PRIVATE_ALIAS: &str = "__ns_runtime_private";

/// The path, under `ns_runtime`, of the support module for this crate's version:
/// `__private_for::ns_macros_MAJOR_MINOR_PATCH`. Both crates share one version, and
/// `ns-runtime` serves the module under that name.
pub(crate) fn private_module() -> TokenStream {
    let version = format_ident!(
        "ns_macros_{}_{}_{}",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    );
    quote!(__private_for::#version)
}

/// The support module's alias at `span`, so that an error about what is reached
/// through it (a failed trait bound) lands there. With the user's span, not a
/// mixed-site one: rustc then reports the call as the user's code (once, at the
/// token) rather than as a macro's (with "in this attribute macro expansion"). The
/// alias is an item, which mixed-site hygiene would not hide anyway.
fn private_at(span: Span) -> Ident {
    Ident::new(PRIVATE_ALIAS, span)
}

pub(crate) fn expand(args: &Args, func: &ItemFn) -> TokenStream {
    let ItemFn { sig, block, .. } = func;

    // Hygienic, but located at the user's expression: if the expression is not a
    // handle, every error about it lands on one spot and rustc reports it once.
    let handle = Ident::new("__ns_handle", Span::mixed_site().located_at(args.span()));
    let evaluate = evaluate(args, sig, &handle);

    // Errors about the return type (not a `Result`, not `Send`) point at it; a
    // function without one gets them at its name.
    let (closure_ret, ret_span) = match &sig.output {
        ReturnType::Type(arrow, ty) => {
            let ty = erase_impl_trait(ty);
            (quote!(#arrow #ty), ty.span())
        }
        ReturnType::Default => (TokenStream::new(), sig.ident.span()),
    };
    let private_at_ret = private_at(ret_span);
    let (runtime, evaluate_runtime) = runtime(args, sig);
    let mut rewritten = None;
    let run = if sig.asyncness.is_some() {
        let (clone, body) = async_body(sig, block, &args.evaluated());
        rewritten = allow_unused_mut_where_rebound(func, &args.evaluated());
        let run_async = format_ident!("run_async{}", runtime.suffix, span = ret_span);
        let on = runtime.argument;
        quote_spanned! {ret_span=>
            #clone
            #private_at_ret::#run_async(#on #handle, move || async move #body).await
        }
    } else {
        let run = format_ident!("run{}", runtime.suffix, span = ret_span);
        let on = runtime.argument;
        quote_spanned! {ret_span=>
            #private_at_ret::#run(#on #handle, move || #closure_ret #block)
        }
    };

    let func = rewritten.as_ref().unwrap_or(func);
    with_send_checks(args, func, quote!(#evaluate #evaluate_runtime #run))
}

/// For an `async fn` whose body rebinds a `mut` parameter: the function with
/// `#[allow(unused_mut)]` on it, since the body mutates its own binding and the
/// parameter itself is only cloned. `None` when no parameter needs it.
fn allow_unused_mut_where_rebound(func: &ItemFn, namespaces: &[&Expr]) -> Option<ItemFn> {
    let rebound: Vec<Ident> = borrowed_namespace_params(&func.sig, namespaces)
        .into_iter()
        .filter(|param| param.mutability.is_some())
        .map(|param| param.ident.clone())
        .collect();
    if rebound.is_empty() {
        return None;
    }
    let mut func = func.clone();
    for input in &mut func.sig.inputs {
        if let FnArg::Typed(arg) = input {
            if matches!(&*arg.pat, Pat::Ident(pat) if rebound.contains(&pat.ident)) {
                arg.attrs.push(syn::parse_quote!(#[allow(unused_mut)]));
            }
        }
    }
    Some(func)
}

/// How the call names its runtime: `run(..)` for the global one, `run_on(RT, ..)`
/// for `runtime = EXPR`.
struct RuntimeArgument {
    /// Appended to the support function's name.
    suffix: &'static str,
    /// The first argument, with its comma (empty for the global runtime).
    argument: TokenStream,
}

/// The runtime the call uses, and `let RT = ..;` evaluating `runtime = EXPR` on
/// the caller's thread (spanned at the user's expression, as the handle is).
fn runtime(args: &Args, sig: &Signature) -> (RuntimeArgument, TokenStream) {
    let Some(expr) = &args.runtime else {
        let global = RuntimeArgument {
            suffix: "",
            argument: TokenStream::new(),
        };
        return (global, TokenStream::new());
    };
    let runtime = Ident::new("__ns_runtime", Span::mixed_site().located_at(expr.span()));
    let conversion = Conversion {
        binding: "__ns_runtime_expr",
        trait_name: "RuntimeExpr",
        borrowed: "runtime",
        owned: "owned_runtime",
    };
    let evaluate = evaluate_once(expr, sig, &runtime, &conversion);
    let on = RuntimeArgument {
        suffix: "_on",
        argument: quote!(#runtime.get(),),
    };
    (on, evaluate)
}

/// `let HANDLE = ..;`: the attribute's expressions evaluated on the caller's
/// thread, each spanned at the user's expression.
fn evaluate(args: &Args, sig: &Signature, handle: &Ident) -> TokenStream {
    match (&args.attr, &args.target) {
        (Attr::InNetns, Target::Expr(namespace)) => {
            let conversion = Conversion {
                binding: "__ns_expr",
                trait_name: "NamespaceExpr",
                borrowed: "handle",
                owned: "owned_handle",
            };
            evaluate_once(namespace, sig, handle, &conversion)
        }
        (_, Target::Expr(set)) => {
            let private = private_at(set.span());
            quote_spanned! {set.span()=>
                // `&(EXPR)` picks the impl for `EXPR`'s type, borrowed or not.
                #[allow(clippy::needless_borrows_for_generic_args)]
                let #handle = #private::SetExpr::set(&(#set));
            }
        }
        (_, Target::Members(members)) => {
            let each = members.iter().map(|(kind, expr)| {
                let private = private_at(expr.span());
                quote_spanned! {expr.span()=>
                    #private::member(#private::NsKind::#kind, &(#expr))
                }
            });
            let private = private_at(Span::call_site());
            quote! {
                #[allow(clippy::needless_borrows_for_generic_args)]
                let #handle = #private::set_of([#(#each),*]);
            }
        }
    }
}

/// For an `async fn`: what to do before the call, and the block of the
/// `async move` that runs on the namespace thread: each borrowed namespace
/// parameter rebound to a clone the block owns, the output type pinned (so that
/// `?` and `return` in the body infer as in the function), then the body.
fn async_body(sig: &Signature, block: &Block, namespaces: &[&Expr]) -> (TokenStream, TokenStream) {
    let mut clone = TokenStream::new();
    let mut rebind = TokenStream::new();
    for (i, param) in borrowed_namespace_params(sig, namespaces)
        .into_iter()
        .enumerate()
    {
        let owned = format_ident!("__ns_param_{}", i, span = Span::mixed_site());
        let (name, mutability) = (&param.ident, &param.mutability);
        clone.extend(quote!(let #owned = ::core::clone::Clone::clone(#name);));
        rebind.extend(quote! {
            #[allow(unused_variables, unused_mut)]
            let #mutability #name = &#owned;
        });
    }
    let output = match &sig.output {
        ReturnType::Type(_, ty) => {
            let ty = erase_impl_trait(ty);
            quote!(#ty)
        }
        ReturnType::Default => quote!(()),
    };
    let ret = Ident::new("__ns_ret", Span::mixed_site());
    // As async-trait does: an unreachable `return` of the declared type.
    let body = quote!({
        #rebind
        #[allow(unreachable_code)]
        if let ::core::option::Option::Some(#ret) = ::core::option::Option::None::<#output> {
            return #ret;
        }
        #block
    });
    (clone, body)
}

/// The parameters the attribute names (as a namespace or the runtime) that are
/// references, but not `'static` ones, which the body may keep as they are.
fn borrowed_namespace_params<'a>(sig: &'a Signature, namespaces: &[&Expr]) -> Vec<&'a PatIdent> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(arg) => match (&*arg.pat, &*arg.ty) {
                (Pat::Ident(pat), Type::Reference(reference))
                    if namespaces.iter().any(|ns| is_namespace_param(&arg.pat, ns))
                        && !is_static(reference) =>
                {
                    Some(pat)
                }
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect()
}

/// The function as written, with the `Send` checks in front of its body: what is
/// emitted next to the errors when the function cannot be rewritten.
pub(crate) fn fallback(args: &Args, func: &ItemFn) -> TokenStream {
    let block = &func.block;
    with_send_checks(args, func, quote!(#block))
}

/// The function's attributes, visibility and signature as written, and a body of
/// the body's inner attributes (syn keeps them with the function's), the import of
/// the support module, the `Send` checks and `body`.
fn with_send_checks(args: &Args, func: &ItemFn, body: TokenStream) -> TokenStream {
    let ItemFn {
        attrs, vis, sig, ..
    } = func;
    let (inner, outer): (Vec<_>, Vec<_>) = attrs
        .iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
    let krate = &args.krate;
    let module = private_module();
    let alias = private_at(Span::call_site());
    let send_checks = send_checks(sig);
    quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #[allow(unused_imports)]
            use #krate::#module as #alias;
            #(#send_checks)*
            #body
        }
    }
}

/// How an attribute's expression becomes what the call takes: the support
/// module's trait and its two conversions, and the name `&(EXPR)` is bound to.
struct Conversion {
    binding: &'static str,
    trait_name: &'static str,
    borrowed: &'static str,
    owned: &'static str,
}

/// `let BINDING = &(EXPR); let NAME = TRAIT::CONVERSION(BINDING);`: `expr`
/// evaluated once on the caller's thread, kept borrowed where the body cannot
/// take what it borrows from (`may_stay_borrowed`), else owned. `&(EXPR)` is bound
/// first so that a temporary in it (`&ns.clone()`) lives until the body has run.
/// The binding has the user's span (as the support module's alias has): a failed
/// bound on it is reported as the user's code, once, rather than with "this error
/// originates in the attribute macro".
fn evaluate_once(
    expr: &Expr,
    sig: &Signature,
    name: &Ident,
    conversion: &Conversion,
) -> TokenStream {
    let span = expr.span();
    let binding = Ident::new(conversion.binding, span);
    let trait_name = Ident::new(conversion.trait_name, span);
    let take = if may_stay_borrowed(expr, sig) {
        conversion.borrowed
    } else {
        conversion.owned
    };
    // At the attribute, not the expression: rustc then also marks the call.
    let take = Ident::new(take, Span::call_site());
    let private = private_at(span);
    quote_spanned! {span=>
        let #binding = &(#expr);
        let #name = #private::#trait_name::#take(#binding);
    }
}

/// Whether what `expr` gives may stay borrowed until the body has run, rather
/// than be cloned first. Not in an `async fn`, whose body may outlive every
/// borrow; not when it is borrowed from a receiver the body moves or borrows
/// mutably, or from a parameter the body owns (the body's `move` closure takes
/// it). A reference parameter, a static or a call's result may stay borrowed.
fn may_stay_borrowed(expr: &Expr, sig: &Signature) -> bool {
    if sig.asyncness.is_some() {
        return false;
    }
    match root(expr) {
        Some(root) if root == "self" => borrows_receiver_only(sig),
        Some(root) => !owns_param(sig, root),
        None => true,
    }
}

/// The variable `expr` is borrowed or read from: `ctx` in `&ctx.rt`,
/// `self.runtime()` or `(rt)`; none for a path of more than one segment or a
/// call.
fn root(expr: &Expr) -> Option<&Ident> {
    match without_parentheses(expr) {
        Expr::Reference(inner) => root(&inner.expr),
        Expr::Field(inner) => root(&inner.base),
        Expr::MethodCall(inner) => root(&inner.receiver),
        Expr::Index(inner) => root(&inner.expr),
        Expr::Unary(inner) => root(&inner.expr),
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident(),
        _ => None,
    }
}

/// Whether `name` is bound by a parameter that is not a reference (the body's
/// `move` closure owns it).
fn owns_param(sig: &Signature, name: &Ident) -> bool {
    sig.inputs.iter().any(|input| match input {
        FnArg::Typed(arg) => {
            let reference = matches!((&*arg.pat, &*arg.ty), (Pat::Ident(_), Type::Reference(_)));
            !reference && bindings(&arg.pat).iter().any(|bound| bound == name)
        }
        FnArg::Receiver(_) => false,
    })
}

/// Whether the function has no receiver or `&self`: then a handle borrowed from
/// the receiver (`&self.netns`) cannot conflict with the body, and the call can use
/// it without touching a reference count. Any other receiver is moved into the body
/// or borrowed mutably there, so the handle is cloned first.
fn borrows_receiver_only(sig: &Signature) -> bool {
    match sig.receiver() {
        None => true,
        Some(receiver) => matches!(receiver.kind, ReceiverKind::Reference(_, _, None)),
    }
}

/// One `assert_send(&x)` per binding of every argument and one for the receiver,
/// each spanned at the user's token so that the error underlines it. Value-based,
/// so `impl Trait` and generic arguments are checked too.
fn send_checks(sig: &Signature) -> Vec<TokenStream> {
    let mut checks = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                let self_token = &receiver.self_token;
                let private = private_at(self_token.span);
                checks.push(quote_spanned! {self_token.span=>
                    #private::assert_send(&#self_token);
                });
            }
            FnArg::Typed(arg) => {
                for ident in bindings(&arg.pat) {
                    let private = private_at(ident.span());
                    checks.push(quote_spanned! {ident.span()=>
                        #private::assert_send(&#ident);
                    });
                }
            }
        }
    }
    checks
}

/// The names a pattern binds: `x` in `mut x`, `a` and `b` in `(a, b)`.
fn bindings(pat: &Pat) -> Vec<Ident> {
    struct Bindings(Vec<Ident>);
    impl<'ast> Visit<'ast> for Bindings {
        fn visit_pat_ident(&mut self, pat: &'ast PatIdent) {
            self.0.push(pat.ident.clone());
            visit::visit_pat_ident(self, pat);
        }
    }
    let mut found = Bindings(Vec::new());
    found.visit_pat(pat);
    found.0
}

/// The return type with every `impl Trait` replaced by `_`: a closure cannot name
/// an `impl Trait` type, but can let it be inferred from the function's.
fn erase_impl_trait(ty: &Type) -> Type {
    struct Eraser;
    impl VisitMut for Eraser {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(impl_trait) = ty {
                let span = impl_trait.impl_token.span;
                *ty = Type::Infer(syn::TypeInfer {
                    attrs: Vec::new(),
                    underscore_token: syn::Token![_](span),
                });
            } else {
                visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    let mut ty = ty.clone();
    Eraser.visit_type_mut(&mut ty);
    ty
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args;
    use crate::errors::Errors;
    use quote::quote;

    fn expand_as(attr: Attr, args: TokenStream, item: TokenStream) -> String {
        let mut errors = Errors::default();
        let args = args::parse(args, attr, &mut errors).unwrap();
        assert!(errors.finish().is_ok());
        let func: ItemFn = syn::parse2(item).unwrap();
        expand(&args, &func).to_string()
    }

    fn expand_str(args: TokenStream, item: TokenStream) -> String {
        expand_as(Attr::InNetns, args, item)
    }

    /// `use :: ns_runtime :: __private_for :: ns_macros_X_Y_Z as
    /// __ns_runtime_private ;`, as printed.
    fn import(krate: &str) -> String {
        let (major, minor, patch) = (
            env!("CARGO_PKG_VERSION_MAJOR"),
            env!("CARGO_PKG_VERSION_MINOR"),
            env!("CARGO_PKG_VERSION_PATCH"),
        );
        format!("use {krate} :: __private_for :: ns_macros_{major}_{minor}_{patch} as __ns_runtime_private ;")
    }

    #[test]
    fn keeps_the_signature_and_moves_the_body_into_a_closure() {
        let out = expand_str(
            quote!(ns),
            quote! {
                /// Doc.
                pub(crate) fn f(ns: &NetNs, port: u16) -> io::Result<u16> { Ok(port) }
            },
        );
        assert!(out.starts_with("# [doc = r\" Doc.\"] pub (crate) fn f (ns : & NetNs , port : u16) -> io :: Result < u16 > {"), "{out}");
        assert!(out.contains(&import(":: ns_runtime")), "{out}");
        assert!(
            out.contains("__ns_runtime_private :: assert_send (& ns) ;"),
            "{out}"
        );
        assert!(
            out.contains("__ns_runtime_private :: assert_send (& port) ;"),
            "{out}"
        );
        assert!(
            out.contains("let __ns_expr = & (ns) ; let __ns_handle = __ns_runtime_private :: NamespaceExpr :: handle (__ns_expr) ;"),
            "{out}"
        );
        assert!(
            out.contains("move || -> io :: Result < u16 > { Ok (port) }"),
            "{out}"
        );
    }

    #[test]
    fn checks_every_binding_of_a_pattern_and_the_receiver() {
        let out = expand_str(
            quote!(&self.ns),
            quote!(
                fn f(&self, (a, mut b): (u8, u8), Wrapper { inner }: Wrapper) -> R {
                    x
                }
            ),
        );
        for name in ["self", "a", "b", "inner"] {
            assert!(
                out.contains(&format!("assert_send (& {name})")),
                "{name}: {out}"
            );
        }
    }

    #[test]
    fn erases_impl_trait_in_the_closure_return_type_only() {
        let out = expand_str(
            quote!(ns),
            quote!(
                fn f(ns: &NetNs) -> io::Result<impl Display> {
                    Ok(1)
                }
            ),
        );
        assert!(out.contains("-> io :: Result < impl Display > {"), "{out}");
        assert!(
            out.contains("move || -> io :: Result < _ > { Ok (1) }"),
            "{out}"
        );
    }

    #[test]
    fn clones_the_handle_only_for_receivers_the_body_moves_or_mutates() {
        let borrowed = ["fn f(ns: &NetNs) -> R { x }", "fn f(&self) -> R { x }"];
        for item in borrowed {
            let out = expand_str(quote!(ns), item.parse().unwrap());
            assert!(out.contains("NamespaceExpr :: handle ("), "{out}");
        }
        let owned = [
            "fn f(&mut self) -> R { x }",
            "fn f(self) -> R { x }",
            "fn f(mut self) -> R { x }",
            "fn f(self: Arc<Self>) -> R { x }",
        ];
        for item in owned {
            let out = expand_str(quote!(&self.ns), item.parse().unwrap());
            assert!(out.contains("NamespaceExpr :: owned_handle ("), "{out}");
        }
    }

    #[test]
    fn uses_the_crate_path_given() {
        let out = expand_str(
            quote!(ns, crate = "my::rt"),
            quote!(
                fn f(ns: &NetNs) -> R {
                    x
                }
            ),
        );
        assert!(out.contains(&import("my :: rt")), "{out}");
        assert!(out.contains("__ns_runtime_private :: run"), "{out}");
        assert!(!out.contains(":: ns_runtime"), "{out}");
    }

    #[test]
    fn a_runtime_argument_is_evaluated_once_and_given_to_the_call() {
        let out = expand_str(
            quote!(ns, runtime = rt),
            quote!(
                fn f(ns: &NetNs, rt: &Runtime) -> R {
                    x
                }
            ),
        );
        assert!(
            out.contains("let __ns_runtime_expr = & (rt) ; let __ns_runtime = __ns_runtime_private :: RuntimeExpr :: runtime (__ns_runtime_expr) ;"),
            "{out}"
        );
        assert!(
            out.contains(":: run_on (__ns_runtime . get () , __ns_handle , move ||"),
            "{out}"
        );
        assert_eq!(out.matches("RuntimeExpr").count(), 1, "{out}");

        let out = expand_str(
            quote!(&self.ns, runtime = &self.rt),
            quote!(
                fn f(&mut self) -> R {
                    x
                }
            ),
        );
        assert!(
            out.contains("= & (& self . rt) ; let __ns_runtime = __ns_runtime_private :: RuntimeExpr :: owned_runtime ("),
            "{out}"
        );

        // An async body moves the arguments it uses, the runtime's owner too.
        let out = expand_str(
            quote!(ns, runtime = &cfg.rt),
            quote!(
                async fn f(ns: NetNs, cfg: Cfg) -> R {
                    x
                }
            ),
        );
        assert!(
            out.contains("= & (& cfg . rt) ; let __ns_runtime = __ns_runtime_private :: RuntimeExpr :: owned_runtime ("),
            "{out}"
        );
        assert!(
            out.contains(
                ":: run_async_on (__ns_runtime . get () , __ns_handle , move || async move"
            ),
            "{out}"
        );

        let out = expand_as(
            Attr::InNs,
            quote!(set, runtime = rt),
            quote!(
                fn f(set: &NsSet) -> R {
                    x
                }
            ),
        );
        assert!(out.contains(":: run_on (__ns_runtime . get () ,"), "{out}");

        let out = expand_str(
            quote!(ns),
            quote!(
                fn f(ns: &NetNs) -> R {
                    x
                }
            ),
        );
        assert!(out.contains(":: run (__ns_handle , move ||"), "{out}");
        assert!(!out.contains("RuntimeExpr"), "{out}");
    }

    #[test]
    fn what_the_body_owns_is_cloned_before_the_call_what_it_borrows_is_not() {
        let cases = [
            // (attribute arguments, function, borrowed)
            (
                "ns, runtime = rt",
                "fn f(ns: &NetNs, rt: &Runtime) -> R { x }",
                true,
            ),
            (
                "ns, runtime = (rt)",
                "fn f(ns: &NetNs, rt: &Runtime) -> R { x }",
                true,
            ),
            ("ns, runtime = RT", "fn f(ns: &NetNs) -> R { x }", true),
            (
                "ns, runtime = Runtime::global()",
                "fn f(ns: &NetNs) -> R { x }",
                true,
            ),
            (
                "ns, runtime = self.rt()",
                "fn f(&self, ns: &NetNs) -> R { x }",
                true,
            ),
            (
                "ns, runtime = &rt",
                "fn f(ns: &NetNs, rt: Runtime) -> R { x }",
                false,
            ),
            (
                "ns, runtime = &ctx.rt",
                "fn f(ns: &NetNs, ctx: Ctx) -> R { x }",
                false,
            ),
            (
                "ns, runtime = &a.rt",
                "fn f(ns: &NetNs, (a, b): (A, B)) -> R { x }",
                false,
            ),
            (
                "ns, runtime = self.rt()",
                "fn f(self, ns: &NetNs) -> R { x }",
                false,
            ),
        ];
        for (args, item, borrowed) in cases {
            let out = expand_str(args.parse().unwrap(), item.parse().unwrap());
            let expected = if borrowed {
                "RuntimeExpr :: runtime ("
            } else {
                "RuntimeExpr :: owned_runtime ("
            };
            assert!(out.contains(expected), "{args} on {item}: {out}");
        }
        let out = expand_str(
            quote!(&ns),
            quote!(
                fn f(ns: NetNs) -> R {
                    x
                }
            ),
        );
        assert!(out.contains("NamespaceExpr :: owned_handle ("), "{out}");
    }

    #[test]
    fn async_rebinding_keeps_mut_and_leaves_static_references_alone() {
        let out = expand_str(
            quote!(ns, runtime = rt),
            quote!(
                async fn f(mut ns: &NetNs, rt: &'static Runtime) -> R {
                    x
                }
            ),
        );
        assert!(out.contains("let mut ns = & __ns_param_0 ;"), "{out}");
        assert!(
            out.contains("fn f (# [allow (unused_mut)] mut ns : & NetNs ,"),
            "{out}"
        );
        assert!(!out.contains("__ns_param_1"), "{out}");
        assert!(!out.contains("let rt ="), "{out}");
    }

    #[test]
    fn the_support_module_is_named_after_the_version_and_imported_once() {
        assert_eq!(
            private_module().to_string(),
            format!(
                "__private_for :: ns_macros_{}",
                env!("CARGO_PKG_VERSION").replace('.', "_")
            ),
        );
        let out = expand_as(
            Attr::InNs,
            quote!(net = a, uts = b),
            quote!(
                fn f(a: &NetNs, b: &Ns) -> R {
                    x
                }
            ),
        );
        assert_eq!(out.matches("__private_for").count(), 1, "{out}");
        assert!(!out.contains("__private ::"), "{out}");
    }

    #[test]
    fn inner_attributes_go_inside_the_body_outer_ones_stay_in_front() {
        let out = expand_str(
            quote!(ns),
            quote! {
                #[inline]
                #[cfg_attr(test, allow(dead_code))]
                fn f(ns: &NetNs) -> R {
                    #![allow(unused_variables)]
                    #![warn(unused_mut)]
                    x
                }
            },
        );
        let body = out.find('{').unwrap();
        assert!(
            out.starts_with("# [inline] # [cfg_attr (test , allow (dead_code))] fn f"),
            "{out}"
        );
        assert!(
            out[body..].starts_with("{ # ! [allow (unused_variables)] # ! [warn (unused_mut)] # [allow (unused_imports)] use"),
            "{out}"
        );
    }
}
