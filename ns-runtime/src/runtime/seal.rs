//! Sealed runtime threads ([`Builder::sealed`](super::Builder::sealed)): a seccomp
//! filter on each thread makes `setns`, `unshare` and namespace-creating `clone`
//! fail with `EPERM` inside bodies, while the runtime's own moves pass (they carry
//! the process's cookie in an argument register the kernel ignores, see
//! `sys::seal_cookie`). `clone3` gets `ENOSYS`, since its flags are out of the
//! filter's reach: the C library then falls back to `clone`, which is checked.
//!
//! Threads and processes started by a body inherit the filter: a program a body
//! runs cannot enter or create namespaces either.

use std::io;

use crate::sys::seal_cookie;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;

// Classic BPF opcodes.
const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

// Offsets in `struct seccomp_data`: nr, arch, then the six 64-bit arguments
// (little-endian: the low half first).
const NR: u32 = 0;
const ARCH: u32 = 4;
fn arg_low(i: u32) -> u32 {
    16 + 8 * i
}
fn arg_high(i: u32) -> u32 {
    16 + 8 * i + 4
}

/// Every `CLONE_NEW*` flag.
const NEW_NAMESPACE_FLAGS: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u32
    | 0x80; // CLONE_NEWTIME

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The filter program (offsets counted by hand; the test of this module checks
/// that every jump lands inside it).
fn program() -> Vec<libc::sock_filter> {
    let cookie = seal_cookie();
    let (low, high) = (cookie as u32, (cookie >> 32) as u32);
    let deny = RET_ERRNO | libc::EPERM as u32;
    vec![
        /* 0 */ stmt(LD_W_ABS, ARCH),
        /* 1 */ jump(JEQ_K, AUDIT_ARCH, 1, 0),
        /* 2 */ stmt(RET_K, deny), // another architecture's system calls
        /* 3 */ stmt(LD_W_ABS, NR),
        /* 4 */ jump(JEQ_K, libc::SYS_setns as u32, 5, 0), // -> 10
        /* 5 */ jump(JEQ_K, libc::SYS_unshare as u32, 8, 0), // -> 14
        /* 6 */ jump(JEQ_K, libc::SYS_clone as u32, 11, 0), // -> 18
        /* 7 */ jump(JEQ_K, libc::SYS_clone3 as u32, 1, 0), // -> 9
        /* 8 */ stmt(RET_K, RET_ALLOW),
        /* 9 */ stmt(RET_K, RET_ERRNO | libc::ENOSYS as u32),
        // setns: the cookie in the third argument.
        /* 10 */
        stmt(LD_W_ABS, arg_low(2)),
        /* 11 */ jump(JEQ_K, low, 0, 9), // -> 21 deny
        /* 12 */ stmt(LD_W_ABS, arg_high(2)),
        /* 13 */ jump(JEQ_K, high, 8, 7), // -> 22 allow / 21 deny
        // unshare: the cookie in the second argument.
        /* 14 */
        stmt(LD_W_ABS, arg_low(1)),
        /* 15 */ jump(JEQ_K, low, 0, 5), // -> 21 deny
        /* 16 */ stmt(LD_W_ABS, arg_high(1)),
        /* 17 */ jump(JEQ_K, high, 4, 3), // -> 22 allow / 21 deny
        // clone: no new namespace in its flags (the first argument).
        /* 18 */
        stmt(LD_W_ABS, arg_low(0)),
        /* 19 */ jump(JSET_K, NEW_NAMESPACE_FLAGS, 1, 2), // -> 21 deny / 22 allow
        /* 20 */ stmt(RET_K, RET_ALLOW),
        /* 21 */ stmt(RET_K, deny),
        /* 22 */ stmt(RET_K, RET_ALLOW),
    ]
}

/// Installs the filter on the calling thread (only): from now on it cannot enter
/// or create namespaces but through the runtime.
///
/// # Errors
/// Those of `seccomp(2)` (`EACCES` without `CAP_SYS_ADMIN` or `no_new_privs`).
pub(crate) fn seal_current_thread() -> io::Result<()> {
    let filter = program();
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points to `filter`, which outlives the call; the kernel copies
    // the program. Flags 0: this thread only.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const libc::sock_fprog,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jump_lands_inside_the_program_and_it_ends_in_returns() {
        let program = program();
        for (at, op) in program.iter().enumerate() {
            if op.code == JEQ_K || op.code == JSET_K {
                for offset in [op.jt, op.jf] {
                    let to = at + 1 + usize::from(offset);
                    assert!(to < program.len(), "jump from {at} to {to}");
                    let target = program[to].code;
                    assert!(
                        target == RET_K || target == LD_W_ABS,
                        "jump from {at} to {to}"
                    );
                }
            }
        }
        assert_eq!(program.last().map(|op| op.code), Some(RET_K));
    }
}
