#include "monitor/process.h"

#include <fmt/format.h>

#include "base/tsc.h"

namespace tandem {

void EpollRegistry::set(int epfd, int fd, std::optional<uint64_t> c) {
  auto key = std::make_pair(epfd, fd);
  if (auto it = cookie.find(key); it != cookie.end()) {
    // The old cookie may be another descriptor's by now: a program that closed `fd` (closing
    // removes it from the instance without an epoll_ctl) reuses the cookie for the next
    // descriptor (nginx's connection structures). Erased regardless, that descriptor's events
    // were no longer found, and were given to the others untranslated.
    auto back = fd_of_cookie.find({epfd, it->second});
    if (back != fd_of_cookie.end() && back->second == fd) fd_of_cookie.erase(back);
    cookie.erase(it);
  }
  if (c) {
    cookie[key] = *c;
    fd_of_cookie[{epfd, *c}] = fd;
  }
}

uint64_t Process::issue_fd_change(const std::vector<int>& appliers) {
  uint64_t seq = ++issued_;
  for (int v = 0; v < static_cast<int>(done_.size()); ++v) {
    bool applies = false;
    for (int a : appliers) applies |= a == v;
    if (!applies) applied(v, seq);
  }
  return seq;
}

void Process::when_turn(int v, uint64_t seq, std::function<void()> start) {
  if (done_[v] + 1 >= seq) {
    start();
  } else {
    waiting_[v][seq] = std::move(start);
  }
}

std::string Process::describe() const {
  std::string out = fmt::format("process: {} threads, {} descriptor changes issued", threads,
                                issued_);
  for (size_t v = 0; v < done_.size(); ++v) {
    out += fmt::format("; version {}: applied {}", v + 1, done_[v]);
    if (!waiting_[v].empty())
      out += fmt::format(", {} waiting (first {})", waiting_[v].size(), waiting_[v].begin()->first);
    if (!replay_next[v].empty()) {
      out += ", replay next steps";
      for (auto [g, step] : replay_next[v])
        out += step == kCaughtUp ? " done" : fmt::format(" {}", step);
      out += fmt::format(" ({} parked{})", replay_parked[v].size(),
                         replay_order_off[v] ? ", order off" : "");
    }
  }
  return out + "\n";
}

void Process::mark(int v, uint64_t seq) {
  if (seq <= done_[v]) return;
  done_ahead_[v].insert(seq);
  while (done_ahead_[v].count(done_[v] + 1) != 0) {
    done_ahead_[v].erase(done_[v] + 1);
    ++done_[v];
  }
}

void Process::applied(int v, uint64_t seq) {
  mark(v, seq);
  // Start the next change of this version if it was waiting for this one.
  auto& w = waiting_[v];
  if (!w.empty() && w.begin()->first <= done_[v] + 1) {
    auto fn = std::move(w.begin()->second);
    w.erase(w.begin());
    fn();
  }
}

std::vector<std::pair<Group*, TaskId>> Process::take_replay_turns(int v) {
  std::vector<std::pair<Group*, TaskId>> turns;
  auto& next = replay_next[v];
  auto& parked = replay_parked[v];
  for (auto it = parked.begin(); it != parked.end();) {
    auto own = next.find(it->first);
    uint64_t step = own == next.end() ? kCaughtUp : own->second;
    bool earlier = false;  // another thread has a step to take before this one's
    if (!replay_order_off[v]) {
      for (auto [g, s] : next) earlier |= g != it->first && s < step;
    }
    if (earlier) {
      ++it;
      continue;
    }
    turns.emplace_back(*it);
    it = parked.erase(it);
  }
  if (!turns.empty()) replay_progress_ns[v] = monotonic_ns();
  return turns;
}

std::vector<std::pair<Group*, TaskId>> Process::release_stalled_replay(int v, uint64_t now_ns) {
  if (replay_parked[v].empty() || replay_order_off[v] ||
      elapsed_ns(replay_progress_ns[v], now_ns) < kReplayStallNs)
    return {};
  replay_order_off[v] = true;
  return take_replay_turns(v);
}

bool Process::others_replay(int v, const Group* g) const {
  for (auto [other, step] : replay_next[v]) {
    if (other != g && step != kCaughtUp) return true;
  }
  return false;
}

std::vector<Group*> Process::take_done_running(int v) {
  std::vector<Group*> out;
  for (Group* g : replay_done_running[v]) {
    if (!others_replay(v, g)) out.push_back(g);
  }
  for (Group* g : out) replay_done_running[v].erase(g);
  return out;
}

void Process::forget_fd_changes(int v) {
  done_[v] = issued_;
  done_ahead_[v].clear();
  waiting_[v].clear();
}

}  // namespace tandem
