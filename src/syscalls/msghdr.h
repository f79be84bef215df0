// iovec arrays and struct msghdr: the scatter/gather structures shared by readv/writev,
// sendmsg/recvmsg and the mmsg family (sendmmsg/recvmmsg). Internal to the syscalls library.
#pragma once

#include "base/remote_mem.h"
#include "base/result.h"
#include "syscalls/call.h"
#include "syscalls/families/family.h"

namespace tandem {

// Signature encodings.
Result<void> sign_iovec_contents(const RemoteMemory& mem, remote_addr addr, uint64_t count,
                                 SigWriter& w);
Result<void> sign_iovec_capacities(const RemoteMemory& mem, remote_addr addr, uint64_t count,
                                   SigWriter& w);
Result<void> sign_in_msghdr(const RemoteMemory& mem, remote_addr addr, SigWriter& w);
Result<void> sign_out_msghdr(const RemoteMemory& mem, remote_addr addr, SigWriter& w);

// What recvmsg wrote through the msghdr at `addr`: `data_len` bytes scattered into its iovec,
// the source address, the ancillary data and the lengths and flags in the struct. Descriptors
// received with SCM_RIGHTS are appended to out.new_fds. Parts are `part_base` + Outputs::kMsg*.
Result<void> capture_msghdr(const RemoteMemory& mem, remote_addr addr, uint64_t data_len,
                            Outputs& out, int arg, int part_base);
Result<void> apply_msghdr(const RemoteMemory& mem, remote_addr addr, const Outputs& out, int arg,
                          int part_base);

// The descriptors carried by SCM_RIGHTS messages in a control buffer.
std::vector<int> scm_rights_fds(std::span<const uint8_t> control);

}  // namespace tandem
