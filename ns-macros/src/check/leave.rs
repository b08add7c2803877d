//! Calls that would move the namespace thread itself to other namespaces.

use crate::args::Attr;
use crate::calls::Call;

/// Functions and syscall numbers that change the calling thread's namespaces.
const LEAVE: &[&str] = &["setns", "unshare", "SYS_setns", "SYS_unshare"];

/// The error for `call` if it changes the calling thread's namespaces. Catches
/// calls (`nix::sched::setns(..)`) and bare paths (`libc::SYS_setns`, a function
/// pointer to `unshare`) alike.
pub(super) fn judge(attr: Attr, call: &Call) -> Option<syn::Error> {
    let last = call.path().last()?;
    if !LEAVE.contains(&last.as_str()) {
        return None;
    }
    let what = call.display();
    let name = attr.name();
    Some(syn::Error::new_spanned(
        &call.tokens,
        format!(
            "`{what}` would move this namespace thread out of its namespace; a namespace thread enters its namespace once and never leaves it\n\
             help: run code for another namespace with `other.run(..)` or a function marked `#[{name}(other)]`"
        ),
    ))
}
