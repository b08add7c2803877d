//! The macros must never panic, whatever tokens they are given: every input gives an
//! expansion or `compile_error!`s. Property tests over random token trees and over
//! valid functions with tokens deleted, duplicated or replaced, each run through
//! both `#[in_netns]` and `#[in_ns]`.
//!
//! Bounded for CI (256 cases per property); a longer run:
//! `PROPTEST_CASES=100000 cargo test -p ns-macros fuzz --release`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use proc_macro2::TokenStream;
use proptest::prelude::*;

use crate::entry::{in_netns, in_ns};

const WORDS: &[&str] = &[
    "fn",
    "f",
    "ns",
    "self",
    "Self",
    "&",
    "mut",
    "->",
    ":",
    ",",
    "=",
    "==",
    "crate",
    "\"x\"",
    "\"a::b\"",
    "async",
    "const",
    "unsafe",
    "extern",
    "\"C\"",
    "pub",
    "spawn",
    "std",
    "thread",
    "tokio",
    "rayon",
    "setns",
    "unshare",
    "allow_spawn",
    "::",
    "...",
    "1",
    "'a",
    "<",
    ">",
    "impl",
    "dyn",
    "_",
    ";",
    "#",
    "!",
    ".",
    "?",
    "where",
    "T",
    "Result",
    "move",
    "|",
    "||",
    "return",
    "let",
    "struct",
    "trait",
    "vec",
    "println",
    "par_iter",
    "Command",
    "NetNs",
    "NsSet",
    "net",
    "uts",
    "mnt",
    "user",
    "set",
    "scope",
    "allow",
    "inline",
    "doc",
];

/// Source text of a random, delimiter-balanced token tree sequence.
fn tokens() -> impl Strategy<Value = String> {
    let leaf = proptest::sample::select(WORDS).prop_map(str::to_owned);
    leaf.prop_recursive(4, 64, 8, |inner| {
        (prop::collection::vec(inner, 0..8), 0..3_u8).prop_map(|(parts, delim)| {
            let body = parts.join(" ");
            match delim {
                0 => format!("({body})"),
                1 => format!("{{{body}}}"),
                _ => format!("[{body}]"),
            }
        })
    })
}

fn sequence() -> impl Strategy<Value = String> {
    prop::collection::vec(tokens(), 0..24).prop_map(|parts| parts.join(" "))
}

const SEEDS: &[(&str, &str)] = &[
    ("ns", "fn f(ns: &NetNs, port: u16) -> io::Result<u16> { Ok(port) }"),
    ("ns", "/// Doc.\n#[inline] #[cfg_attr(all(), deprecated)] pub fn f(ns: &NetNs) -> R { #![allow(unused_variables)] std::thread::scope(|s| ()); Ok(()) }"),
    ("net = a, uts = &self.b, crate = \"x::y\"", "async fn f(self: Arc<Self>, a: NetNs, name: &str) -> R { #![allow(unused)] tokio::spawn(async {}); Ok(()) }"),
    ("set, user = u, net = n, net = m", "const extern \"C\" fn f(set: &NsSet, ...) -> R { libc::SYS_setns }"),
    ("&self.netns", "pub fn m(&mut self, (a, b): (u8, u8)) -> Result<(), E> where E: Send { std::thread::spawn(|| ()); Ok(()) }"),
    ("ns, crate = \"a::b\"", "async unsafe fn g<'a, T: Send>(ns: NetNs, x: &'a T) -> io::Result<impl Display> { let v = vec![rayon::join(|| 1, || 2)]; nix::sched::setns(fd, 0)?; Ok(x) }"),
];

/// An attribute's entry point: arguments and item in, expansion out.
type Attribute = fn(TokenStream, TokenStream) -> TokenStream;

/// Runs both macros and checks the contract: no panic, and a function in, a
/// function (or errors) out.
fn check(args: &str, item: &str) -> Result<(), TestCaseError> {
    let (Ok(args), Ok(item)) = (args.parse::<TokenStream>(), item.parse::<TokenStream>()) else {
        return Ok(()); // not lexable: the compiler never hands us such input
    };
    let macros: [(&str, Attribute); 2] = [("in_netns", in_netns), ("in_ns", in_ns)];
    for (name, attribute) in macros {
        let out = catch_unwind(AssertUnwindSafe(|| attribute(args.clone(), item.clone())));
        let out = match out {
            Ok(out) => out.to_string(),
            Err(_) => {
                return Err(TestCaseError::fail(format!(
                    "#[{name}({args})] panicked on {item}"
                )))
            }
        };
        prop_assert!(
            out.contains("compile_error") || syn::parse_str::<syn::ItemFn>(&out).is_ok(),
            "#[{name}]: neither an expansion nor errors: {out}"
        );
    }
    Ok(())
}

/// `(seed index, operation, position, replacement)`: delete, duplicate or replace
/// one token of a valid function (inside groups too, via the flat text).
fn mutated_seed() -> impl Strategy<Value = (String, String)> {
    (
        0..SEEDS.len(),
        0..3_u8,
        any::<prop::sample::Index>(),
        tokens(),
    )
        .prop_map(|(seed, op, at, replacement)| {
            let (args, item) = SEEDS[seed];
            let text = item
                .parse::<TokenStream>()
                .map(|t| t.to_string())
                .unwrap_or_default();
            let mut words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
            if !words.is_empty() {
                let i = at.index(words.len());
                match op {
                    0 => {
                        words.remove(i);
                    }
                    1 => words.insert(i, words[i].clone()),
                    _ => words[i] = replacement,
                }
            }
            (args.to_owned(), words.join(" "))
        })
}

proptest! {
    #[test]
    fn random_tokens_never_panic(args in sequence(), item in sequence()) {
        check(&args, &item)?;
    }

    #[test]
    fn random_bodies_never_panic(args in sequence(), body in sequence()) {
        check(&args, &format!("fn f(ns: &NetNs) -> io::Result<()> {{ {body} }}"))?;
    }

    #[test]
    fn mutated_functions_never_panic((args, item) in mutated_seed()) {
        check(&args, &item)?;
    }
}
