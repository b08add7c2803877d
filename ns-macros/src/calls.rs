//! One walk over a function body that finds the calls the checks judge.
//!
//! The walk looks into closures, async blocks and the arguments of macros that parse
//! as expressions or statements (`vec![..]`, `println!(..)`, `assert!(..)`), and
//! skips nested items (an inner `fn` or `impl` is not this body) and the opt-out
//! `allow_spawn!(..)`. A call that a check rejects is not looked into further: one
//! error for the outermost escaping call, not one for every call inside it.
//!
//! What syntax cannot see: calls inside functions the body calls, calls through
//! aliases (`use std::thread::spawn as go;`) or function pointers, and the type of a
//! method's receiver.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Block, Expr, ExprCall, ExprMethodCall, ExprPath, Item, Macro, Path, Token};

/// The name of the opt-out macro, `ns_runtime::allow_spawn!(..)`.
pub(crate) const OPT_OUT: &str = "allow_spawn";

/// A call (or a bare path) found in the body.
pub(crate) struct Call {
    pub(crate) kind: CallKind,
    /// What an error about this call should underline: the called path or method
    /// name, not its arguments (which may span many lines).
    pub(crate) tokens: TokenStream,
}

pub(crate) enum CallKind {
    /// `a::b::c(args)`.
    Free {
        path: Vec<String>,
        closure_args: bool,
    },
    /// `receiver.name(args)`; `root` is the path at the start of the receiver chain
    /// (`thread::Builder::new().name(..).spawn(f)` has root `thread::Builder::new`).
    Method {
        name: String,
        args: usize,
        closure_args: bool,
        /// Every argument is `&mut EXPR`: a `Command` handed to ns-runtime's
        /// process spawns (`ns.spawn(&mut cmd)`), never work for a thread.
        mut_ref_args: bool,
        root: Vec<String>,
    },
    /// A path that is not called, such as `libc::SYS_setns` or a function pointer.
    Path { path: Vec<String> },
}

impl Call {
    /// How to name the call in a message: `std::thread::spawn` or `.par_iter()`.
    pub(crate) fn display(&self) -> String {
        match &self.kind {
            CallKind::Free { path, .. } | CallKind::Path { path } => path.join("::"),
            CallKind::Method { name, args: 0, .. } => format!(".{name}()"),
            CallKind::Method { name, .. } => format!(".{name}(..)"),
        }
    }

    pub(crate) fn path(&self) -> &[String] {
        match &self.kind {
            CallKind::Free { path, .. } | CallKind::Path { path } => path,
            CallKind::Method { .. } => &[],
        }
    }
}

/// Walks `block` and returns the error `judge` gives for each call it rejects.
pub(crate) fn find(block: &Block, judge: &dyn Fn(&Call) -> Option<syn::Error>) -> Vec<syn::Error> {
    let mut walker = Walker {
        judge,
        errors: Vec::new(),
    };
    walker.visit_block(block);
    walker.errors
}

struct Walker<'j> {
    judge: &'j dyn Fn(&Call) -> Option<syn::Error>,
    errors: Vec<syn::Error>,
}

impl Walker<'_> {
    /// Judges `call`; true if it was rejected (and must not be walked into).
    fn rejects(&mut self, call: Call) -> bool {
        match (self.judge)(&call) {
            Some(err) => {
                self.errors.push(err);
                true
            }
            None => false,
        }
    }
}

fn segments(path: &Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

fn all_closures(args: &Punctuated<Expr, Token![,]>) -> bool {
    !args.is_empty() && args.iter().all(|a| matches!(a, Expr::Closure(_)))
}

fn all_mut_refs(args: &Punctuated<Expr, Token![,]>) -> bool {
    !args.is_empty()
        && args
            .iter()
            .all(|a| matches!(a, Expr::Reference(r) if r.mutability.is_some()))
}

/// The path at the start of a receiver chain: `a::b()` in `a::b().c().d`, `x` in `x.y()`.
fn receiver_root(mut expr: &Expr) -> Vec<String> {
    loop {
        expr = match expr {
            Expr::MethodCall(call) => &call.receiver,
            Expr::Field(field) => &field.base,
            Expr::Paren(paren) => &paren.expr,
            Expr::Reference(reference) => &reference.expr,
            Expr::Try(try_expr) => &try_expr.expr,
            Expr::Call(call) => &call.func,
            Expr::Path(path) => return segments(&path.path),
            _ => return Vec::new(),
        };
    }
}

impl<'ast> Visit<'ast> for Walker<'_> {
    fn visit_item(&mut self, _: &'ast Item) {
        // A nested item is not this body: it runs wherever it is called from.
    }

    fn visit_expr_call(&mut self, call: &'ast ExprCall) {
        if let Expr::Path(func) = &*call.func {
            let found = Call {
                kind: CallKind::Free {
                    path: segments(&func.path),
                    closure_args: all_closures(&call.args),
                },
                tokens: func.to_token_stream(),
            };
            if self.rejects(found) {
                return;
            }
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
        let method = &call.method;
        let turbofish = &call.turbofish;
        let found = Call {
            kind: CallKind::Method {
                name: method.to_string(),
                args: call.args.len(),
                closure_args: all_closures(&call.args),
                mut_ref_args: all_mut_refs(&call.args),
                root: receiver_root(&call.receiver),
            },
            tokens: quote!(#method #turbofish),
        };
        if !self.rejects(found) {
            visit::visit_expr_method_call(self, call);
        }
    }

    fn visit_expr_path(&mut self, path: &'ast ExprPath) {
        let found = Call {
            kind: CallKind::Path {
                path: segments(&path.path),
            },
            tokens: path.to_token_stream(),
        };
        if !self.rejects(found) {
            visit::visit_expr_path(self, path);
        }
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        if mac.path.segments.last().is_some_and(|s| s.ident == OPT_OUT) {
            return;
        }
        // Most macros that take code take expressions (`println!`, `assert!`,
        // `vec![a, b]`) or statements (`vec![a; n]`); others are opaque to us.
        if let Ok(exprs) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            exprs.iter().for_each(|expr| self.visit_expr(expr));
        } else if let Ok(stmts) = mac.parse_body_with(Block::parse_within) {
            stmts.iter().for_each(|stmt| self.visit_stmt(stmt));
        }
    }
}
