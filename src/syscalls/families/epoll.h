// epoll cookies: what the monitor needs to give followers their own epoll_event.data.
//
// epoll_ctl registers, per (epoll fd, fd), a 64-bit cookie chosen by the program (very often a
// pointer to its connection object), and epoll_wait returns the cookies of ready fds. The
// cookies differ between versions, so the epoll family does not compare them, and the monitor
// keeps, per version, what each registered; before applying the leader's epoll_wait outputs to
// a follower it rewrites each cookie with translate_epoll_cookies.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "base/result.h"
#include "syscalls/call.h"

namespace tandem {

struct EpollReady {
  uint32_t events = 0;
  uint64_t cookie = 0;
};

// The ready events in the outputs of epoll_wait/epoll_pwait/epoll_pwait2 (the blob of arg 1).
std::vector<EpollReady> epoll_ready_events(const Outputs& outputs);

// The cookie that epoll_ctl(ADD/MOD) registers, read from the caller's struct epoll_event;
// nullopt for EPOLL_CTL_DEL or a NULL event.
Result<std::optional<EpollReady>> epoll_ctl_event(const SyscallCall& call, const RemoteMemory& mem);

// Replaces every leader cookie in epoll_wait outputs with map(leader cookie). `map` returns
// nullopt when the follower has no registration for it: the result is then ENOENT and the
// outputs are left unchanged.
Result<void> translate_epoll_cookies(Outputs& outputs,
                                     const std::function<std::optional<uint64_t>(uint64_t)>& map);

}  // namespace tandem
