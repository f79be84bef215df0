// Process: what the groups of one process share across its threads.
//
// A group pairs the corresponding *threads* of the versions; the threads of one process share
// the descriptor table, epoll instances and process-directed signals. Those live here, shared
// by the process's groups (a forked child gets a new Process, with a copy of what it inherits).
//
// Descriptor-table order. In the leader, threads open and close descriptors in some order;
// followers must apply the same changes in the same order, or a copy installed at number N could
// replace a descriptor a follower thread has not closed yet. Every change of a follower's table
// (installing the leader's new descriptors, close, dup, ...) gets a sequence number when the
// leader's own change completes, and each follower applies its changes strictly in that order.
// With a single thread the order is the program order anyway and nothing waits.
//
// Threading: `mu` is a leaf lock, taken under Group::mu_ or alone, never the other way round.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <signal.h>

#include "intercept/backend.h"

namespace tandem {

// What each version registered in its epoll instances: the program's own 64-bit cookie (often
// a pointer) per (epoll fd, fd), and back. Followers get the leader's epoll_wait answers with
// their own cookies.
struct EpollRegistry {
  std::map<std::pair<int, int>, uint64_t> cookie;         // (epfd, fd) -> cookie
  std::map<std::pair<int, uint64_t>, int> fd_of_cookie;  // (epfd, cookie) -> fd
  void set(int epfd, int fd, std::optional<uint64_t> c);
};

struct PendingSignal {
  int signo = 0;
  siginfo_t info{};          // from the first member that received it
  bool internal = false;     // each member gets its own copy (SIGCHLD, kill inside the program)
  bool thread_directed = false;
  uint64_t group = 0;        // thread-directed: the group it belongs to
  std::set<int> received;    // versions that received it
  std::map<int, int> copies; // how many copies each version received (standard signals merge)
  uint64_t first_seen_ns = 0;  // an internal signal waits for every version's copy this long
  bool kicked = false;         // the versions' blocking call was interrupted for it (once)
  // SIGCHLD for a child's end: per version, the (real) pids of the children whose ends its
  // copies reported, in order. A version whose kernel merged the copy for one of them into an
  // earlier one never gets it: once its own child paired with that one has ended, it is not
  // waited for (Group::chld_copy_merged).
  std::map<int, std::vector<pid_t>> chld_pids;
};

class Group;

// A checkpoint of a multi-threaded process (mt_checkpoint.cc): in each version, every thread
// stood still at a known point while one of them forked the frozen copy; the others are
// described (ThreadImage) and re-created in the copy when it is restored. Each thread replays
// its own group's log from the position it stood at (`starts`).
struct ProcessCheckpoint {
  struct Thread {
    Group* group = nullptr;
    ThreadImage image;
  };
  struct Copy {
    bool cut = false;                     // this version's threads were captured
    std::optional<Task::Snapshot> copy;   // the fork, made by the thread of `forker`
    std::vector<Thread> threads;          // the version's other threads
    std::map<Group*, uint64_t> starts;    // per group: where its thread replays from
    std::map<int, bool> fds;              // the descriptor table (with FD_CLOEXEC)
    uint64_t forker_tid_address = 0;
    bool used = false;                    // taken by a restore
    bool restoring = false;               // that restore is under way
  };
  explicit ProcessCheckpoint(int versions) : copies(versions) {}
  Group* forker = nullptr;
  std::vector<Copy> copies;  // per version
  int outstanding = 0;       // versions whose cut has not completed
  bool failed = false;
  std::string why_failed;
};

class Process {
 public:
  explicit Process(int versions)
      : epoll(versions), owed(versions), own_fds(versions), done_(versions, 0), done_ahead_(versions),
        waiting_(versions) {
    replaying_threads.assign(versions, 0);
    replay_next.resize(versions);
    replay_parked.resize(versions);
    replay_progress_ns.assign(versions, 0);
    replay_order_off.assign(versions, false);
    replay_done_running.resize(versions);
    fd_sync_due.assign(versions, false);
    steps.assign(versions, 0);
  }

  std::mutex mu;
  std::vector<EpollRegistry> epoll;     // per version
  std::vector<PendingSignal> signals;   // process- and thread-directed, not yet delivered
  // Per version: copies of a signal already accounted for by an earlier delivery.
  std::vector<std::map<int, int>> owed;
  int threads = 0;                      // live groups (threads) of this process
  // POSIX record locks (fcntl F_SETLK/F_SETLKW) belong to the process that took them: the
  // version whose process took them as executor, and the descriptors they are on. While it
  // holds any, it stays this process's executor (Group::preferred_among): another version's
  // process could neither release them nor take them (vsftpd's sessions, after the leader
  // version crashed in another session, waited for good for the log file's lock that the old
  // leader's session held).
  // The holder is read without `mu` (Group::preferred_among runs under it too, in signal
  // delivery); the descriptors are under `mu`.
  std::atomic<int> posix_lock_holder{-1};
  std::set<int> posix_locked_fds;

  // Descriptor-table order (see above); all under `mu`.
  // A change the leader just completed, which the versions in `appliers` must apply; for the
  // others it counts as applied at once. Returns its sequence number.
  uint64_t issue_fd_change(const std::vector<int>& appliers);
  // Runs `start` now if version `v` applied every earlier change, or once it has.
  void when_turn(int v, uint64_t seq, std::function<void()> start);
  // Version `v` applied change `seq`: starts the next one that was waiting.
  void applied(int v, uint64_t seq);
  // Version `v`'s process is restored from a checkpoint: the changes issued so far count as
  // applied (the copy takes the leader's descriptors when it catches up), and those its dead
  // threads waited to apply are forgotten.
  void forget_fd_changes(int v);
  // Per version: descriptors at which it has its own file (opens of /proc/self/...), with the
  // path (virtual ids) that names it; calls on them run in every version and compare by that
  // path, not by number (versions may have more or fewer descriptors open).
  std::vector<std::map<int, std::string>> own_fds;
  // Descriptors that are sockets (made by socket, socketpair, accept): Rx withholds input from
  // connections only. Numbers are the program's (the same in every version).
  std::set<int> socket_fds;
  // Checkpoints of the whole process when it has several threads (all under `mu`): the one a
  // crashed version is restored from, the one being taken, the versions being restored.
  std::shared_ptr<ProcessCheckpoint> checkpoint;
  std::shared_ptr<ProcessCheckpoint> pending_checkpoint;
  int restoring = 0;
  bool checkpoint_due = false;          // taken at the main thread's next agreed call
  std::vector<int> replaying_threads;   // per version: restored threads not caught up yet
  // Replay order of a restored copy's threads (mt_checkpoint.cc, "replay order"). Every step
  // logged by any group of the process gets the next number: the order the steps were logged
  // in, one order for every version. Per version: for each restored thread still replaying,
  // the number of the next step it takes (kCaughtUp: none in its log now), and the threads
  // parked at their call until no other has an earlier step to take.
  static constexpr uint64_t kCaughtUp = ~0ull;
  uint64_t next_step = 1;
  std::vector<std::map<Group*, uint64_t>> replay_next;
  std::vector<std::map<Group*, TaskId>> replay_parked;
  // Per version: when a restored thread last took a step or a turn; and whether the order is
  // off for this restore (a thread stood still for kReplayStall with an earlier step while
  // others waited for it: see release_stalled_replay).
  std::vector<uint64_t> replay_progress_ns;
  std::vector<bool> replay_order_off;
  static constexpr uint64_t kReplayStallNs = 300'000'000;
  // The parked threads of `v` whose turn it is now (removed from replay_parked): all of them
  // when the order is off.
  std::vector<std::pair<Group*, TaskId>> take_replay_turns(int v);
  // Turns the order off for `v` and returns the parked threads when they waited more than
  // kReplayStallNs without any restored thread of `v` taking a step: the thread with the
  // earlier step stands still outside any call (blocked natively, in a futex wait whose wake-up
  // or deadline differs in the copy), and the copy would wait for it until the program ends.
  std::vector<std::pair<Group*, TaskId>> release_stalled_replay(int v, uint64_t now_ns);
  // Per version: restored threads that took their last logged step and went on running (into
  // a futex wait, say) while a sibling still had logged steps: each rejoins once none has any
  // (Group::rejoin_running). Returns those whose time it is now (removed from the set).
  std::vector<std::set<Group*>> replay_done_running;
  std::vector<Group*> take_done_running(int v);
  // Whether a restored thread of `v` other than `g`'s has a logged step left.
  bool others_replay(int v, const Group* g) const;
  // Per version: its copy's last restored thread caught up running, not at a call: the next
  // thread of the copy that arrives at an intercepted call gives the copy the leader's
  // descriptors (Group::on_syscall_entry), as the last one to catch up at a call does.
  std::vector<bool> fd_sync_due;
  // Per version: agreed steps its threads took part in while their groups logged (a process
  // killed from outside twice without a step in between is "at the same place").
  std::vector<uint64_t> steps;
  // Whether changes must be ordered (more than one thread).
  bool ordering() const { return threads > 1; }
  // Descriptor numbers a leader thread is closing right now (close, dup2/dup3 onto them,
  // close_range): a new descriptor with one of these numbers was created *after* that close
  // completed in the kernel, even if its call's stop is handled first, so its installation in
  // the followers must wait for the close's sequence number.
  std::vector<std::pair<int, int>> leader_closing;  // [first, last] ranges
  bool closing(int fd) const {
    for (auto& [a, b] : leader_closing)
      if (fd >= a && fd <= b) return true;
    return false;
  }

  // For `tandem status --threads` (call under `mu`): the descriptor-table order per version
  // (changes applied, waiting) and the replay order of restored threads.
  std::string describe() const;

 private:
  void mark(int v, uint64_t seq);
  uint64_t issued_ = 0;
  std::vector<uint64_t> done_;                 // per version: every change <= done_ applied
  std::vector<std::set<uint64_t>> done_ahead_;  // applied beyond done_ (skipped changes)
  std::vector<std::map<uint64_t, std::function<void()>>> waiting_;
};

}  // namespace tandem
