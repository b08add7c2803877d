//! How an example reports a failure: `main` returns `Result<(), MainError>`, so an error
//! ends the program with status 1 and `Error: ` followed by the error's message and
//! each of its causes, in their `Display` form. With `Box<dyn Error>`, Rust would
//! print the `Debug` form instead (`PermissionDenied { call: .., source: Os { .. } }`)
//! and the hint that `ns_runtime::Error`'s message carries (which capability is
//! missing, how to run) would never show.

use std::error::Error;
use std::fmt;

/// Any error, converted with `?`. Like `anyhow::Error`, it is not itself an
/// [`Error`] (that would make the blanket `From` overlap with `From<T> for T`).
pub(crate) struct MainError(Box<dyn Error>);

impl<E: Into<Box<dyn Error>>> From<E> for MainError {
    fn from(err: E) -> MainError {
        MainError(err.into())
    }
}

/// What `main` prints after `Error: `: the message, then each cause on a line of its
/// own, skipping a cause whose text the message before it already includes (as
/// `ns_runtime::Error`'s messages include their OS error).
impl fmt::Debug for MainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut cause = self.0.source();
        while let Some(err) = cause {
            let text = err.to_string();
            if !shown.contains(&text) {
                write!(f, "\n  caused by: {text}")?;
            }
            shown = text;
            cause = err.source();
        }
        Ok(())
    }
}
