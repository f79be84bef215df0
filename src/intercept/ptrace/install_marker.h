// The descriptor-installation marker.
//
// Every version runs under a second, tiny seccomp filter that turns one otherwise meaningless
// call, syscall(kInstallMarkerNr, kInstallMarkerMagic, ...), into a user notification. The
// backend rewrites a stopped task's call into the marker and answers the notification with
// SECCOMP_IOCTL_NOTIF_ADDFD: the kernel installs a copy of a descriptor of tandem at the exact
// number the leader has, with the requested FD_CLOEXEC, and the call returns. Unlike
// pidfd_getfd or SCM_RIGHTS this needs no descriptor in the program and no permission between
// the program and tandem (nginx workers switch to an unprivileged user).
#pragma once

#include <cstdint>

namespace tandem {

constexpr int kInstallMarkerNr = 1000;  // not an x86-64 syscall: ENOSYS for anyone else
constexpr uint64_t kInstallMarkerMagic = 0x74616e64656d21ull;  // "tandem!"

}  // namespace tandem
