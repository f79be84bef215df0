// Seccomp filters of the program's own (vsftpd, sshd, Chrome, systemd services).
//
// A program's filter applies to every call its tasks make, including the few that tandem makes
// them make: the descriptor-installation marker (install_marker.h), and the calls injected for
// checkpoints and replication (wait4, clone, close_range, close, write, getpid). A whitelist
// that kills on anything else would kill the version. So when a version installs a filter
// (seccomp(SECCOMP_SET_MODE_FILTER) or prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)), tandem
// installs it with a guard in front that allows exactly:
//   - the marker call (its number and 64-bit magic), which tandem's own filter turns into a
//     notification that tandem answers or refuses;
//   - calls whose sixth argument holds injection_secret(), a random 64-bit value of this run
//     that tandem puts there only for the calls it injects (none of which has a sixth
//     argument), and restores at once;
// and gives every other call to the program's filter, unchanged.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "syscalls/call.h"

namespace tandem {

// Random, chosen once per tandem process.
uint64_t injection_secret();

// The argument index of the struct sock_fprog pointer if `call` installs a filter, else -1.
int filter_install_arg(const SyscallCall& call);

// `program` with the guard in front. Jumps are relative, so the program is unchanged.
std::vector<sock_filter> guard_filter(const std::vector<sock_filter>& program, uint64_t secret);

}  // namespace tandem
