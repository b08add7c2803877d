//! What the attributes reject, each check in its own module. All problems are
//! collected and reported at once; every message names the attribute written.

mod io_objects;
mod leave;
mod owned;
mod signature;
mod spawn;

use syn::{Expr, ItemFn};

use crate::args::Attr;
use crate::calls;
use crate::errors::Errors;

/// Checks the function's form and its body under `attr`; `namespaces` are the
/// attribute's namespace expressions, if they parsed.
pub(crate) fn function(attr: Attr, func: &ItemFn, namespaces: &[&Expr], errors: &mut Errors) {
    signature::check(attr, &func.sig, errors);
    owned::check(attr, &func.sig, namespaces, errors);
    io_objects::check(&func.sig, errors);
    let in_async = func.sig.asyncness.is_some();
    let judge =
        |call: &calls::Call| spawn::judge(call, in_async).or_else(|| leave::judge(attr, call));
    errors.extend(calls::find(&func.block, &judge));
}

/// The advice every escape message ends with.
const OPT_OUT_HELP: &str = "wrap the call in `ns_runtime::allow_spawn!(..)` if this is deliberate";
