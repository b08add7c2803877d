//! What `#[in_netns]` rejects, each check in its own module. All problems are
//! collected and reported at once.

mod io_objects;
mod leave;
pub(crate) mod owned;
mod signature;
mod spawn;

use syn::{Expr, ItemFn};

use crate::args::Errors;
use crate::calls;

/// Checks the function's form and its body; `namespaces` are the attribute's
/// namespace expressions, if they parsed.
pub(crate) fn function(func: &ItemFn, namespaces: &[&Expr], errors: &mut Errors) {
    signature::check(&func.sig, errors);
    owned::check(&func.sig, namespaces, errors);
    io_objects::check(&func.sig, errors);
    let in_async = func.sig.asyncness.is_some();
    let judge = |call: &calls::Call| spawn::judge(call, in_async).or_else(|| leave::judge(call));
    for err in calls::find(&func.block, &judge) {
        errors.push(err);
    }
}

/// The advice every escape message ends with.
pub(crate) const OPT_OUT_HELP: &str =
    "wrap the call in `ns_runtime::allow_spawn!(..)` if this is deliberate";
