//! Names of namespaces under `/run/netns`, the `ip netns` convention.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The folder where `ip netns` keeps the bind mounts of named network namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// The longest name a file under `/run/netns` can have (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// Checks `name` and returns its path under `/run/netns`. Touches nothing.
pub(crate) fn netns_path(name: &str) -> Result<PathBuf> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("'.' and '..' are not names")
    } else if name.contains('/') {
        Some("it contains '/'")
    } else if name.contains('\0') {
        Some("it contains a NUL byte")
    } else if name.len() > NAME_MAX {
        Some("it is longer than 255 bytes")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(Path::new(NETNS_RUN_DIR).join(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["a", "blue-1", "x.y", "..a", &"n".repeat(255)] {
            assert_eq!(
                netns_path(name).unwrap(),
                Path::new("/run/netns").join(name)
            );
        }
    }

    #[test]
    fn refuses_names_that_are_not_plain_file_names() {
        for name in ["", ".", "..", "a/b", "/", "../x", "a\0b", &"n".repeat(256)] {
            let err = netns_path(name).unwrap_err();
            assert!(
                matches!(err, Error::InvalidName { .. }),
                "{name:?}: {err:?}"
            );
        }
    }
}
