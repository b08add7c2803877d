//! The arguments of `#[in_netns(..)]`: one namespace expression, and optionally
//! `crate = "path"`.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Path, Token};

const VALID: &str =
    "valid arguments are a namespace expression (`ns`, `&self.netns`, ...) and `crate = \"path\"`";

/// The parsed arguments.
pub(crate) struct Args {
    /// Evaluated on the caller's thread; gives a `NetNs` or `&NetNs`.
    pub(crate) namespace: Expr,
    /// Where `ns_runtime` is, for crates that re-export it.
    pub(crate) krate: Path,
}

enum Arg {
    Namespace(Expr),
    Crate(Token![crate], LitStr),
    Unknown(Ident),
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
            input.parse::<Expr>()?;
            return Ok(Arg::Unknown(name));
        }
        input.parse().map(Arg::Namespace)
    }
}

/// Parses the arguments, keeping what is usable next to the errors: a function
/// whose arguments have a mistake still gets its other checks in the same round.
pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Option<Args> {
    match syn::parse::Parser::parse2(parse_partial, tokens) {
        Ok((args, problems)) => {
            if let Err(err) = problems.finish() {
                errors.push(err);
            }
            args
        }
        Err(err) => {
            errors.push(err);
            None
        }
    }
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Args> {
        let (args, errors) = parse_partial(input)?;
        errors.finish()?;
        Ok(args.expect("no errors means a namespace expression was found"))
    }
}

fn parse_partial(input: ParseStream<'_>) -> syn::Result<(Option<Args>, Errors)> {
    {
        let list = Punctuated::<Arg, Token![,]>::parse_terminated(input)?;
        let mut namespace = None;
        let mut krate = None;
        let mut errors = Errors::default();
        for arg in list {
            match arg {
                Arg::Namespace(expr) if namespace.is_some() => {
                    errors.push(syn::Error::new_spanned(
                        expr,
                        format!("only one namespace expression is allowed; {VALID}"),
                    ))
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
                Arg::Unknown(name) => errors.push(syn::Error::new_spanned(
                    &name,
                    format!("unknown argument `{name}`; {VALID}"),
                )),
            }
        }
        if namespace.is_none() {
            errors.push(syn::Error::new(
                Span::call_site(),
                "missing namespace: write `#[in_netns(ns)]`, where `ns` is an expression that gives a `NetNs` or `&NetNs` (a parameter, `&self.netns`, a call)",
            ));
        }
        let args = namespace.map(|namespace| Args {
            namespace,
            krate: krate.unwrap_or_else(|| syn::parse_quote!(::ns_runtime)),
        });
        Ok((args, errors))
    }
}

/// Every problem found, reported at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{quote, ToTokens};

    fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<Args> {
        syn::parse2(tokens)
    }

    fn messages(tokens: proc_macro2::TokenStream) -> Vec<String> {
        match parse(tokens) {
            Ok(_) => vec![],
            Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_namespace_expression_alone() {
        let args = parse(quote!(&self.netns)).unwrap();
        assert_eq!(
            args.namespace.to_token_stream().to_string(),
            "& self . netns"
        );
        assert_eq!(args.krate.to_token_stream().to_string(), ":: ns_runtime");
    }

    #[test]
    fn crate_in_either_position() {
        for tokens in [quote!(ns, crate = "a::b"), quote!(crate = "a::b", ns)] {
            let args = parse(tokens).unwrap();
            assert_eq!(args.krate.to_token_stream().to_string(), "a :: b");
            assert_eq!(args.namespace.to_token_stream().to_string(), "ns");
        }
    }

    #[test]
    fn comparisons_are_expressions_not_named_arguments() {
        assert!(parse(quote!(a == b)).is_ok());
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
        let args = super::parse(quote!(ns, bogus = 1), &mut errors).unwrap();
        assert_eq!(args.namespace.to_token_stream().to_string(), "ns");
        assert!(errors.finish().is_err());
    }

    #[test]
    fn crate_must_be_a_path() {
        assert!(messages(quote!(ns, crate = "not a path"))[0].contains("takes a path"));
    }
}
