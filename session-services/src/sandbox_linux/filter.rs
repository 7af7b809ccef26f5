//! The seccomp filter of a confined command: a deny list answered with `EPERM`.
//!
//! It refuses what reaches other processes or the kernel's less-trodden paths (`ptrace`,
//! `process_vm_readv`, `pidfd_getfd`, `io_uring`, `bpf`, keyrings, modules, terminal input
//! injection) and, without network access, every socket but `AF_UNIX`. Programs are compiled
//! once per network setting and shared.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};

use super::{PrepareError, Program};
use crate::sandbox::NetworkAccess;

/// Syscalls refused outright.
const DENIED: &[libc::c_long] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_getfd,
    libc::SYS_kcmp,
    libc::SYS_perf_event_open,
    libc::SYS_bpf,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_keyctl,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_reboot,
];

/// The shared program for a network setting.
pub(super) fn program(network: NetworkAccess) -> Result<Program, PrepareError> {
    static RESTRICTED: OnceLock<Result<Program, String>> = OnceLock::new();
    static ENABLED: OnceLock<Result<Program, String>> = OnceLock::new();
    let cell = match network {
        NetworkAccess::Restricted => &RESTRICTED,
        NetworkAccess::Enabled => &ENABLED,
    };
    cell.get_or_init(|| compile(network).map(Arc::new))
        .clone()
        .map_err(PrepareError::Seccomp)
}

fn compile(network: NetworkAccess) -> Result<Vec<seccompiler::sock_filter>, String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| e.to_string())?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for nr in DENIED {
        rules.insert(*nr, Vec::new());
    }
    let ioctl_arg = |request: u64| -> Result<SeccompRule, String> {
        SeccompRule::new(vec![
            SeccompCondition::new(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, request)
                .map_err(|e| e.to_string())?,
        ])
        .map_err(|e| e.to_string())
    };
    rules.insert(
        libc::SYS_ioctl,
        vec![
            ioctl_arg(u64::from(libc::TIOCSTI as u32))?,
            ioctl_arg(u64::from(libc::TIOCLINUX as u32))?,
        ],
    );
    if network == NetworkAccess::Restricted {
        let not_unix = || -> Result<Vec<SeccompRule>, String> {
            Ok(vec![
                SeccompRule::new(vec![
                    SeccompCondition::new(
                        0,
                        SeccompCmpArgLen::Dword,
                        SeccompCmpOp::Ne,
                        libc::AF_UNIX as u64,
                    )
                    .map_err(|e| e.to_string())?,
                ])
                .map_err(|e| e.to_string())?,
            ])
        };
        rules.insert(libc::SYS_socket, not_unix()?);
        rules.insert(libc::SYS_socketpair, not_unix()?);
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| e.to_string())?;
    let program: Vec<seccompiler::sock_filter> = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    Ok(with_x32_guard(program))
}

/// On x86-64 the x32 ABI reaches the same kernel under other syscall numbers (bit 30 set),
/// which a deny list keyed by number would miss: refuse every x32 call first.
#[cfg(target_arch = "x86_64")]
fn with_x32_guard(program: Vec<seccompiler::sock_filter>) -> Vec<seccompiler::sock_filter> {
    const AUDIT_ARCH_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    // BPF_LD | BPF_W | BPF_ABS, BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JGE | BPF_K,
    // BPF_RET | BPF_K (linux/bpf_common.h).
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JGE_K: u16 = 0x35;
    const RET_K: u16 = 0x06;
    let op = |code, jt, jf, k| seccompiler::sock_filter { code, jt, jf, k };
    let mut guarded = vec![
        // seccomp_data.arch is at offset 4, .nr at 0.
        op(LD_W_ABS, 0, 0, 4),
        op(JEQ_K, 0, 3, AUDIT_ARCH_X86_64),
        op(LD_W_ABS, 0, 0, 0),
        op(JGE_K, 0, 1, X32_SYSCALL_BIT),
        op(RET_K, 0, 0, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
    ];
    guarded.extend(program);
    guarded
}

#[cfg(not(target_arch = "x86_64"))]
fn with_x32_guard(program: Vec<seccompiler::sock_filter>) -> Vec<seccompiler::sock_filter> {
    program
}
