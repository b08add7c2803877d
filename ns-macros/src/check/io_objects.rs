//! Tokio I/O objects in the result. One made inside is registered with the
//! namespace thread's runtime, not the caller's: returned, it keeps working only
//! while that thread lives, and fails once it exits. Std sockets carry no such tie.

use syn::visit::{self, Visit};
use syn::{ReturnType, Signature, TypePath};

use crate::errors::Errors;

/// Tokio types that are registered with a runtime's I/O driver.
const REGISTERED: &[&str] = &[
    "TcpListener",
    "TcpStream",
    "TcpSocket",
    "UdpSocket",
    "UnixListener",
    "UnixStream",
    "UnixDatagram",
    "AsyncFd",
];

pub(super) fn check(sig: &Signature, errors: &mut Errors) {
    struct Found<'a>(Vec<&'a TypePath>);
    impl<'ast> Visit<'ast> for Found<'ast> {
        fn visit_type_path(&mut self, ty: &'ast TypePath) {
            let segments: Vec<String> = ty
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let from_tokio = segments.first().is_some_and(|first| first == "tokio");
            let registered = segments
                .last()
                .is_some_and(|last| REGISTERED.contains(&last.as_str()));
            if from_tokio && registered {
                self.0.push(ty);
            } else {
                visit::visit_type_path(self, ty);
            }
        }
    }
    let ReturnType::Type(_, ty) = &sig.output else {
        return;
    };
    let mut found = Found(Vec::new());
    found.visit_type(ty);
    for ty in found.0 {
        let name = ty
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        errors.push(syn::Error::new_spanned(
            ty,
            format!(
                "a `tokio` `{name}` made in the body is registered with the namespace thread's runtime, not the caller's: it would stop working when that thread exits\n\
                 help: return the std type instead (`{name}::into_std()` inside, or make it with `ns.tcp_listener(..)`, `ns.tcp_connect(..)`, `ns.udp_socket(..)`), then `set_nonblocking(true)` and `tokio::net::{name}::from_std(..)` on the caller's side"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn count(sig: proc_macro2::TokenStream) -> usize {
        let sig: Signature = syn::parse2(sig).unwrap();
        let mut errors = Errors::default();
        check(&sig, &mut errors);
        errors.finish().err().map_or(0, |e| e.into_iter().count())
    }

    #[test]
    fn tokio_sockets_in_the_result_are_named_std_ones_are_not() {
        assert_eq!(
            count(quote!(async fn f(ns: &NetNs) -> io::Result<tokio::net::TcpListener>)),
            1
        );
        assert_eq!(
            count(
                quote!(fn f(ns: &NetNs) -> io::Result<(tokio::net::UdpSocket, tokio::io::unix::AsyncFd<T>)>)
            ),
            2
        );
        assert_eq!(
            count(quote!(async fn f(ns: &NetNs) -> io::Result<std::net::TcpListener>)),
            0
        );
        assert_eq!(
            count(quote!(async fn f(ns: &NetNs) -> io::Result<TcpStream>)),
            0
        );
    }
}
