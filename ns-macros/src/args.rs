//! The arguments of `#[in_netns(..)]` (one namespace expression) and `#[in_ns(..)]`
//! (one namespace-set expression, or `kind = handle` pairs), each optionally with
//! `runtime = expr` (a runtime of one's own) and `crate = "path"`.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Pat, Path, Token};

use crate::errors::Errors;

/// Which attribute the arguments belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attr {
    InNetns,
    InNs,
}

/// The kinds `#[in_ns(kind = handle)]` accepts, with their `NsKind` variants.
const MEMBER_KINDS: &[(&str, &str)] = &[
    ("net", "Net"),
    ("uts", "Uts"),
    ("ipc", "Ipc"),
    ("cgroup", "Cgroup"),
    ("mnt", "Mnt"),
];

/// Kinds no namespace thread can join.
const UNJOINABLE: &[&str] = &["user", "pid", "time"];

impl Attr {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Attr::InNetns => "in_netns",
            Attr::InNs => "in_ns",
        }
    }

    fn valid(self) -> &'static str {
        match self {
            Attr::InNetns => "valid arguments are a namespace expression (`ns`, `&self.netns`, ...), `runtime = rt` and `crate = \"path\"`",
            Attr::InNs => "valid arguments are one namespace-set expression (`set`, `&self.namespaces`), or `net`, `uts`, `ipc`, `cgroup`, `mnt` = a handle each, `runtime = rt` and `crate = \"path\"`",
        }
    }

    fn missing(self) -> &'static str {
        match self {
            Attr::InNetns => "missing namespace: write `#[in_netns(ns)]`, where `ns` is an expression that gives a `NetNs` or `&NetNs` (a parameter, `&self.netns`, a call)",
            Attr::InNs => "missing namespaces: write `#[in_ns(set)]` with an `NsSet` or `&NsSet`, or name the members: `#[in_ns(net = a, uts = b, mnt = c)]`",
        }
    }
}

/// What the body runs in.
pub(crate) enum Target {
    /// `#[in_netns(EXPR)]` or `#[in_ns(EXPR)]`.
    Expr(Expr),
    /// `#[in_ns(net = a, uts = b)]`: the `NsKind` variant and the handle of each.
    Members(Vec<(Ident, Expr)>),
}

/// The parsed arguments.
pub(crate) struct Args {
    pub(crate) attr: Attr,
    /// Evaluated on the caller's thread.
    pub(crate) target: Target,
    /// The runtime whose threads run the body (`runtime = EXPR`), evaluated on
    /// the caller's thread; the global runtime without one.
    pub(crate) runtime: Option<Expr>,
    /// Where `ns_runtime` is, for crates that re-export it.
    pub(crate) krate: Path,
}

impl Args {
    /// Every expression that names a namespace.
    pub(crate) fn exprs(&self) -> Vec<&Expr> {
        match &self.target {
            Target::Expr(expr) => vec![expr],
            Target::Members(members) => members.iter().map(|(_, expr)| expr).collect(),
        }
    }

    /// Every expression evaluated on the caller's thread before the body starts:
    /// the namespaces and the runtime. A parameter one of them names may be a
    /// reference even for an `async fn` (the body gets a clone).
    pub(crate) fn evaluated(&self) -> Vec<&Expr> {
        let mut all = self.exprs();
        all.extend(&self.runtime);
        all
    }

    /// Where errors about the whole target go.
    pub(crate) fn span(&self) -> Span {
        use syn::spanned::Spanned;
        match &self.target {
            Target::Expr(expr) => expr.span(),
            Target::Members(members) => {
                members.first().map_or_else(Span::call_site, |m| m.0.span())
            }
        }
    }
}

enum Arg {
    Namespace(Expr),
    Crate(Token![crate], LitStr),
    Named(Ident, Expr),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Arg> {
        let named = input.peek2(Token![=]) && !input.peek2(Token![==]);
        if input.peek(Token![crate]) && named {
            let kw = input.parse()?;
            input.parse::<Token![=]>()?;
            return Ok(Arg::Crate(kw, input.parse()?));
        }
        if input.peek(Ident) && named {
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            return Ok(Arg::Named(name, input.parse()?));
        }
        input.parse().map(Arg::Namespace)
    }
}

/// Parses the arguments, keeping what is usable next to the errors: a function
/// whose arguments have a mistake still gets its other checks in the same round.
pub(crate) fn parse(tokens: TokenStream, attr: Attr, errors: &mut Errors) -> Option<Args> {
    match Punctuated::<Arg, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(list) => collect(list, attr, errors),
        Err(err) => {
            errors.push(err);
            None
        }
    }
}

/// The arguments in `list`, or `None` (and an error) if they name no namespace.
fn collect(list: Punctuated<Arg, Token![,]>, attr: Attr, errors: &mut Errors) -> Option<Args> {
    let valid = attr.valid();
    let mut namespace: Option<Expr> = None;
    let mut members: Vec<(Ident, Expr)> = Vec::new();
    let mut krate = None;
    let mut runtime: Option<Expr> = None;
    for arg in list {
        match arg {
            Arg::Named(name, _) if name == "runtime" && runtime.is_some() => {
                errors.push(syn::Error::new_spanned(
                    name,
                    "duplicate `runtime` argument",
                ));
            }
            Arg::Named(name, expr) if name == "runtime" => runtime = Some(expr),
            Arg::Namespace(expr) if namespace.is_some() || !members.is_empty() => {
                let what = if members.is_empty() {
                    "only one namespace expression is allowed"
                } else {
                    "either one set expression or `kind = handle` arguments, not both"
                };
                errors.push(syn::Error::new_spanned(expr, format!("{what}; {valid}")))
            }
            Arg::Namespace(expr) => namespace = Some(expr),
            Arg::Crate(kw, _) if krate.is_some() => {
                errors.push(syn::Error::new_spanned(kw, "duplicate `crate` argument"));
            }
            Arg::Crate(_, lit) => match lit.parse::<Path>() {
                Ok(path) => krate = Some(path),
                Err(_) => errors.push(syn::Error::new_spanned(
                    lit,
                    "`crate` takes a path in a string, like `crate = \"my_crate::ns_runtime\"`",
                )),
            },
            Arg::Named(name, expr) if attr == Attr::InNs => {
                let key = name.to_string();
                let member = MEMBER_KINDS.iter().any(|(kind, _)| *kind == key);
                let error = if UNJOINABLE.contains(&key.as_str()) {
                    format!("a namespace thread cannot join a {key} namespace (a thread of a multi-threaded process cannot); start a child process in it instead: `set.spawn(&mut command)` on an `NsSet` holding it (ns-runtime enters user, pid and time namespaces for processes)")
                } else if !member {
                    format!("unknown argument `{name}`; {valid}")
                } else if namespace.is_some() {
                    format!(
                        "either one set expression or `kind = handle` arguments, not both; {valid}"
                    )
                } else if members.iter().any(|(kind, _)| *kind == key) {
                    format!("`{key}` given twice: a thread is in one {key} namespace")
                } else {
                    members.push((name, expr));
                    continue;
                };
                errors.push(syn::Error::new_spanned(&name, error));
            }
            Arg::Named(name, _) => errors.push(syn::Error::new_spanned(
                &name,
                format!("unknown argument `{name}`; {valid}"),
            )),
        }
    }
    let target = match (namespace, members.is_empty()) {
        (Some(expr), _) => Some(Target::Expr(expr)),
        (None, false) => Some(Target::Members(
            members
                .into_iter()
                .map(|(name, expr)| {
                    let variant = MEMBER_KINDS
                        .iter()
                        .find(|(kind, _)| name == kind)
                        .map_or("Net", |(_, v)| v);
                    (Ident::new(variant, name.span()), expr)
                })
                .collect(),
        )),
        (None, true) => {
            errors.push(syn::Error::new(Span::call_site(), attr.missing()));
            None
        }
    };
    target.map(|target| Args {
        attr,
        target,
        runtime,
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::ns_runtime)),
    })
}

/// Whether `pat` is the parameter that the attribute names as `namespace`
/// (`#[in_netns(ns)]` and `ns: &NetNs`).
pub(crate) fn is_namespace_param(pat: &Pat, namespace: &Expr) -> bool {
    let (Pat::Ident(pat), Expr::Path(expr)) = (pat, without_parentheses(namespace)) else {
        return false;
    };
    expr.qself.is_none() && expr.path.is_ident(&pat.ident)
}

/// Whether `reference` is `&'static T`, which any body may keep.
pub(crate) fn is_static(reference: &syn::TypeReference) -> bool {
    reference
        .lifetime
        .as_ref()
        .is_some_and(|lifetime| lifetime.ident == "static")
}

/// `expr` without the parentheses and invisible groups around it (`(rt)`, or a
/// `$rt:expr` of a `macro_rules!`).
pub(crate) fn without_parentheses(mut expr: &Expr) -> &Expr {
    loop {
        match expr {
            Expr::Paren(inner) => expr = &inner.expr,
            Expr::Group(inner) => expr = &inner.expr,
            _ => return expr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{quote, ToTokens};

    /// The arguments and every message about them.
    fn parsed(tokens: proc_macro2::TokenStream, attr: Attr) -> (Option<Args>, Vec<String>) {
        let mut errors = Errors::default();
        let args = super::parse(tokens, attr, &mut errors);
        let found = match errors.finish() {
            Ok(()) => vec![],
            Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
        };
        (args, found)
    }

    /// The arguments of a clean `#[in_netns(..)]`.
    fn parse(tokens: proc_macro2::TokenStream) -> Option<Args> {
        match parsed(tokens, Attr::InNetns) {
            (args, found) if found.is_empty() => args,
            _ => None,
        }
    }

    fn messages(tokens: proc_macro2::TokenStream) -> Vec<String> {
        parsed(tokens, Attr::InNetns).1
    }

    #[test]
    fn a_namespace_expression_alone() {
        let args = parse(quote!(&self.netns)).unwrap();
        assert_eq!(
            args.exprs()[0].to_token_stream().to_string(),
            "& self . netns"
        );
        assert_eq!(args.krate.to_token_stream().to_string(), ":: ns_runtime");
    }

    #[test]
    fn crate_in_either_position() {
        for tokens in [quote!(ns, crate = "a::b"), quote!(crate = "a::b", ns)] {
            let args = parse(tokens).unwrap();
            assert_eq!(args.krate.to_token_stream().to_string(), "a :: b");
            assert_eq!(args.exprs()[0].to_token_stream().to_string(), "ns");
        }
    }

    #[test]
    fn a_runtime_in_any_position_once() {
        for tokens in [
            quote!(ns, runtime = &self.rt),
            quote!(runtime = &self.rt, ns),
        ] {
            let args = parse(tokens).unwrap();
            let runtime = args.runtime.as_ref().unwrap().to_token_stream().to_string();
            assert_eq!(runtime, "& self . rt");
            assert_eq!(args.exprs()[0].to_token_stream().to_string(), "ns");
        }
        assert!(parse(quote!(ns)).unwrap().runtime.is_none());
        assert_eq!(
            messages(quote!(ns, runtime = a, runtime = b)),
            ["duplicate `runtime` argument"]
        );
        let (args, found) = in_ns_messages(quote!(net = a, runtime = rt, uts = b));
        assert!(found.is_empty(), "{found:?}");
        let args = args.unwrap();
        assert_eq!(args.exprs().len(), 2);
        assert_eq!(args.evaluated().len(), 3);
        assert!(args.runtime.is_some());
    }

    #[test]
    fn comparisons_are_expressions_not_named_arguments() {
        assert!(parse(quote!(a == b)).is_some());
    }

    #[test]
    fn every_bad_argument_is_reported_at_once() {
        let all = messages(quote!(a, b, crate = "x", crate = "y", foo = 1));
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all[0].starts_with("only one namespace expression"));
        assert_eq!(all[1], "duplicate `crate` argument");
        assert!(all[2].starts_with("unknown argument `foo`; valid arguments are"));
    }

    #[test]
    fn missing_namespace_says_what_to_write() {
        let all = messages(quote!());
        assert_eq!(all.len(), 1);
        assert!(all[0].contains("#[in_netns(ns)]"), "{all:?}");
        assert!(messages(quote!(crate = "x"))[0].starts_with("missing namespace"));
    }

    #[test]
    fn usable_arguments_survive_a_mistake_next_to_them() {
        let mut errors = Errors::default();
        let args = super::parse(quote!(ns, bogus = 1), Attr::InNetns, &mut errors).unwrap();
        assert_eq!(args.exprs()[0].to_token_stream().to_string(), "ns");
        assert!(errors.finish().is_err());
    }

    fn in_ns_messages(tokens: proc_macro2::TokenStream) -> (Option<Args>, Vec<String>) {
        parsed(tokens, Attr::InNs)
    }

    #[test]
    fn in_ns_takes_a_set_or_members_of_joinable_kinds() {
        let (args, found) = in_ns_messages(quote!(net = a, mnt = &self.m, uts = b));
        assert!(found.is_empty(), "{found:?}");
        let Some(Args {
            target: Target::Members(members),
            ..
        }) = args
        else {
            panic!("no members");
        };
        let kinds: Vec<String> = members.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(kinds, ["Net", "Mnt", "Uts"]);
        let (args, found) = in_ns_messages(quote!(set));
        assert!(found.is_empty() && matches!(args.unwrap().target, Target::Expr(_)));
    }

    #[test]
    fn in_ns_explains_every_mistake() {
        let (_, found) = in_ns_messages(quote!(set, net = a, net = b, user = u, foo = 1));
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(
            found[0].starts_with("either one set expression"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("either one set expression"),
            "{found:?}"
        );
        assert!(found[0].contains("`net`, `uts`"), "{found:?}");
        assert!(
            found[2].contains("cannot join a user namespace"),
            "{found:?}"
        );
        assert!(found[3].starts_with("unknown argument `foo`"), "{found:?}");
        let (_, found) = in_ns_messages(quote!(net = a, net = b));
        assert!(found[0].contains("given twice"), "{found:?}");
        let (_, found) = in_ns_messages(quote!());
        assert!(found[0].contains("#[in_ns(net = a"), "{found:?}");
    }

    #[test]
    fn crate_must_be_a_path() {
        assert!(messages(quote!(ns, crate = "not a path"))[0].contains("takes a path"));
    }
}
