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

    /// Runs the filter on one system call, as the kernel would.
    fn verdict(arch: u32, nr: i64, args: [u64; 6]) -> u32 {
        let mut data = [0_u8; 64];
        data[0..4].copy_from_slice(&(nr as u32).to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        for (i, arg) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_le_bytes());
        }
        let program = program();
        let (mut pc, mut acc) = (0_usize, 0_u32);
        loop {
            let op = program[pc];
            match op.code {
                LD_W_ABS => {
                    let at = op.k as usize;
                    acc = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
                    pc += 1;
                }
                JEQ_K | JSET_K => {
                    let hit = if op.code == JEQ_K {
                        acc == op.k
                    } else {
                        acc & op.k != 0
                    };
                    pc += 1 + usize::from(if hit { op.jt } else { op.jf });
                }
                RET_K => return op.k,
                other => panic!("unknown opcode {other:#x} at {pc}"),
            }
        }
    }

    #[test]
    fn the_filter_refuses_namespace_changes_without_the_cookie_only() {
        let eperm = RET_ERRNO | libc::EPERM as u32;
        let cookie = seal_cookie();
        let net = libc::CLONE_NEWNET as u64;
        let call = |nr: i64, args: [u64; 6]| verdict(AUDIT_ARCH, nr, args);
        assert_eq!(call(libc::SYS_setns, [3, net, 0, 0, 0, 0]), eperm);
        assert_eq!(call(libc::SYS_setns, [3, net, cookie, 0, 0, 0]), RET_ALLOW);
        // Half a cookie is no cookie.
        assert_eq!(
            call(libc::SYS_setns, [3, net, cookie & 0xffff_ffff, 0, 0, 0]),
            eperm
        );
        assert_eq!(call(libc::SYS_unshare, [net, 0, 0, 0, 0, 0]), eperm);
        assert_eq!(
            call(libc::SYS_unshare, [libc::CLONE_FILES as u64, 0, 0, 0, 0, 0]),
            eperm
        );
        assert_eq!(
            call(
                libc::SYS_unshare,
                [libc::CLONE_FS as u64, cookie, 0, 0, 0, 0]
            ),
            RET_ALLOW
        );
        assert_eq!(
            call(libc::SYS_clone, [net | libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
            eperm
        );
        let thread =
            (libc::CLONE_VM | libc::CLONE_FS | libc::CLONE_FILES | libc::CLONE_THREAD) as u64;
        assert_eq!(call(libc::SYS_clone, [thread, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(
            call(libc::SYS_clone3, [0; 6]),
            RET_ERRNO | libc::ENOSYS as u32
        );
        assert_eq!(call(libc::SYS_getpid, [0; 6]), RET_ALLOW);
        assert_eq!(verdict(0x4000_0003, libc::SYS_getpid, [0; 6]), eperm);
    }
}
