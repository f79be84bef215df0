// Group: the processes of the program that correspond to each other across versions.
//
// The program's first process in each version forms the root group; the i-th child forked by
// each member of a group forms a new group (docs/architecture.md). Within a group, members meet
// at every intercepted call (lockstep rendezvous); the call is then executed by the group's
// leader (replicated classes), by every member (kEveryone), emulated, or refused.
//
// Threading: members belong to different tracer threads; every method that touches the
// rendezvous state takes `mu_`. Actions on a member's task are posted to its thread (or run at
// once when the member is the task of the current callback). Closures posted to tasks never take
// `mu_`: everything they need is captured by value, so posting under the lock cannot deadlock.
// Lock order: Group::mu_ may be taken while holding nothing, or Monitor::mu_ before it; never
// the other way round.
//
// Invariants:
//  - a member is kArrived, kWaiting, kHeld or kExecuting only while its task is stopped at a
//    syscall stop (entry, or exit for kExecuting with `at_exit`);
//  - at most one round is active; the next decision waits until every participant arrived,
//    except for an early round (early.cc): the leader makes a query before the followers
//    arrived, and each is matched against it when it arrives (`Round::pending`).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/spin_mutex.h"
#include "intercept/backend.h"
#include "monitor/process.h"
#include "monitor/record.h"

namespace tandem {

class Monitor;

// One agreed step of a group, as each version took part in it: what a restored version replays
// to catch up (docs/architecture.md, "Restart").
struct LogEntry {
  struct Part {
    enum class How : uint8_t {
      kServed,    // got the executor's result and outputs (the executor too)
      kRanOwn,    // ran its own call (kEveryone)
      kSignal,    // had `signo` delivered at this call
      kRdtsc,     // read the time-stamp counter: `tsc`
      kEmulated,  // the monitor answered (deterministic: answered again)
    };
    How how = How::kServed;
    int nr = -1;
    int fd = -1;  // the descriptor it acts on (first argument), if any
    int fd2 = -1;  // another descriptor argument (epoll_ctl's target, sendfile's source)
    bool from_socket = false;  // an input read from a socket (Rx may withhold it)
    bool on_socket = false;    // `fd` was a socket (Rx: not a step the leader takes alone)
    std::optional<Signature> signature;
    std::string canonical_path;
    int64_t result = 0;
    bool apply = true;
    std::shared_ptr<const Outputs> own_outputs;  // epoll answers with its own cookies
    int signo = 0;
    bool eintr = false;
    siginfo_t info{};
    uint64_t tsc = 0;
  };
  std::shared_ptr<const SyscallRecord> record;
  std::vector<std::optional<Part>> parts;  // per version; empty: it was not part of it
  // epoll_wait: the executor's descriptor of each ready event when the step was taken. Its
  // cookies alone do not say later: nginx registers a freed connection structure (same
  // cookie) for the next connection's descriptor, and a version replaying the step after that
  // was handed the wrong connection.
  std::vector<int> epoll_fds;
  // Versions that were replaying when this step was taken: they take it as the executor did
  // (as followers would have), when they get there.
  std::vector<bool> replayers;
  // Its place among the steps of every group of the process, in the order they were logged
  // (Process::next_step): a restored copy's threads replay in that order.
  uint64_t step = 0;
};

// Frozen copies of every member, taken at the same call: the start of the log.
struct Checkpoint {
  std::mutex mu;  // filled by closures on the members' tracer threads
  uint64_t log_index = 0;
  std::vector<std::optional<Task::Snapshot>> snapshots;
  // Each member's descriptor numbers at the checkpoint (with FD_CLOEXEC): a copy replaying
  // from here needs something at each of them (see sync_fds_with_leader).
  std::vector<std::map<int, bool>> fds;
  // A group of a multi-threaded process: the copies are the process's (Process::checkpoint);
  // this object only keeps the group's log going (mt_checkpoint.cc).
  bool whole_process = false;
};

struct Member {
  enum class State {
    kRunning,    // running program code (or a call that is not intercepted)
    kArrived,    // stopped at an intercepted call, nothing decided yet
    kExecuting,  // running its own call (the executor, or everyone's call)
    kWaiting,    // stopped at its call, waiting for the executor's record
    kHeld,       // diverged: its call stays pending until the others reconverge with it
    kGone,       // exited, crashed or dropped
  };
  int version = -1;
  TaskId task;
  pid_t tid = 0;
  pid_t tgid = 0;
  State state = State::kRunning;

  // The intercepted call while kArrived/kWaiting/kHeld/kExecuting.
  SyscallCall call;
  SyscallClass cls = SyscallClass::kReplicated;
  bool every_version_runs = false;    // each version runs its own call (classify())
  int refuse_errno = 0;
  std::optional<Signature> signature;  // empty when its memory could not be read
  std::string path;                    // path argument, for rules and events
  std::string canonical_path;          // /proc paths with virtual ids (compared instead)
  bool own_proc_path = false;          // names the version's own /proc entry
  std::string own_fd_path;             // acts on one of its own /proc files: that file
  bool read_only_open = false;
  std::string decoded;                 // format_call, for events

  bool at_exit = false;               // kExecuting and stopped at the exit of its call
  bool redo_in_round = false;         // kExecuting: its call restarts in the round (see everyone_exit)
  // Its own call in a round (executed for the others, or its kEveryone call) returned
  // -ERESTART_RESTARTBLOCK: its next restart_syscall continues that call, paired with the
  // others' call. Any other restart_syscall continues a call the monitor never saw (a futex
  // wait with a timeout, which a checkpoint's freeze interrupted): it runs natively.
  bool restart_in_round = false;
  std::optional<SyscallCall> instead;  // kExecuting: the call it makes in place of its own
  bool local_call = false;            // kExecuting a call absorbed or local to this version
  bool at_entry_result = false;       // kEveryone member given its result without running
  int64_t own_result = 0;             // kEveryone: its own result, translated
  bool content_divergent = false;     // follows this round with an adapted result
  // Writes with different chunking: bytes of the current write already written by the
  // executor of earlier partial rounds; `repeating` when the task makes its call again.
  uint64_t write_consumed = 0;
  uint64_t write_total = 0;
  bool repeating = false;
  uint64_t fd_seq = 0;                // the descriptor-table change it is applying (Process)
  int held_rounds = 0;
  uint64_t held_since_ns = 0;
  int consecutive_divergences = 0;
  uint64_t calls = 0;
  // Hang detection: CPU time (clock ticks) when the others were first seen waiting for it
  // while it ran, at its call count `lag_calls` (see Group::watchdog).
  bool lag_tracked = false;
  uint64_t lag_calls = 0;
  uint64_t lag_cpu_start = 0;
  pid_t lag_tid = 0;                  // whose CPU time lag_cpu_start is

  std::set<int> local_fds;            // descriptors only this version has

  // Restart: a restored member replays the log from `cursor` before it takes part again.
  bool replaying = false;
  bool replay_own = false;            // running its own call of a kRanOwn log entry
  bool snapshot_on_arrival = false;   // take a new frozen copy at the checkpoint call
  bool fds_synced_for_replay = false;  // got the leader's descriptors before replaying
  uint64_t synced_at = ~0ull;          // log position when it last got the leader's descriptors
  // Caught up while the others were inside a call it cannot join (a descriptor-table change
  // or an ordered wait): it waits at its call until that step is in the log (resume_replay).
  bool rejoin_deferred = false;
  // Stopped at its call by the replay (parked for its turn, or its rejoin deferred) until a
  // posted resume_replay takes it up: not running, whatever its state says.
  bool held_in_replay = false;
  uint64_t cursor = 0;
  std::map<int, bool> checkpoint_fds;  // its descriptors at the checkpoint it replays from
  int restarts = 0;
  std::optional<uint64_t> last_crash_at;  // log position of its last crash
  // A restored copy that rejoined and took part in no agreed step since, when it crashes,
  // crashed where it crashed before (the log only grew by the others' steps meanwhile).
  bool rejoined_without_steps = false;
  // Its killed checkpoint copies (its children without exit signal): reaped at its next call.
  std::vector<pid_t> to_reap;
  // Recovery from a deterministic crash (Rx): the input that made it crash is withheld from it
  // (its connection is reset for it); the descriptor stays the leader's alone afterwards.
  std::optional<uint64_t> withhold_at;
  int withhold_fd = -1;
  bool rx_tried = false;
  std::set<int> withheld_fds;
  // Its input was withheld: its state differs from the leader's by what that connection
  // carried, so the steps the leader takes for it alone (files, the clock: Rx-alone calls)
  // are not this version's; while it stands at another call they are the leader's alone, in
  // its replay and after it rejoined. A log file's bytes may differ too (writes_output).
  bool rx_diverged = false;
  // A restored copy that rejoined does not win divergences against versions that kept
  // running until its thread made this many calls (Group::favoured).
  uint64_t probation_until = 0;
  uint64_t rx_skipped = 0;  // the leader's steps it did not take because of that
  std::deque<std::pair<TaskId, pid_t>> unpaired_children;
  std::deque<std::pair<TaskId, pid_t>> unpaired_threads;
  // Signal dispositions this member set (rt_sigaction): handler and flags per signal.
  std::map<int, std::pair<uint64_t, uint64_t>> dispositions;
  // A thread of a multi-threaded process restored from its checkpoint (mt_checkpoint.cc); the
  // thread that made the copy resumes the others (`release_after_sync`) once it gave the copy
  // its descriptors.
  bool mt_restored = false;
  bool mt_caught_up = false;
  uint64_t process_steps_at_restore = 0;  // Process::steps of its version when restored
  std::vector<TaskId> release_after_sync;
  // Gone with its process, whose copy is being restored: the steps taken meanwhile are logged
  // for it as for a replaying member (its restored thread takes them).
  bool awaiting_restore = false;
};

// "running", "arrived", ... (events, `tandem status --threads`).
const char* to_string(Member::State s);

// Completes `call` of a follower (or a replaying version) from an executed record: copies of
// the new descriptors, the outputs (when `apply`), and `result` (finish_call).
void complete_from_record(Task& t, const SyscallRecord& record, const SyscallCall& call,
                          int64_t result, bool apply, const Outputs& outputs);
void finish_call(Task& t, int64_t result);

class Group {
 public:
  Group(Monitor& monitor, uint64_t id, int versions, std::shared_ptr<Process> process);
  uint64_t id() const { return id_; }
  const std::shared_ptr<Process>& process() const { return process_; }

  // One line per member for `tandem status --threads`: state, call, calls, replay position,
  // and the round in progress. Never waits long for the group's lock (a stuck group is
  // exactly what this is asked about): "busy" when it is held.
  std::string describe();

  // Adds the member of `version` (its task is stopped; it is resumed by the caller).
  void add_member(int version, TaskId task, pid_t tid, pid_t tgid);

  // Callbacks from the monitor (the task belongs to this group).
  void on_syscall_entry(Task& task, int version);
  void on_syscall_exit(Task& task, int version);
  // A replaying member whose rejoin was deferred goes on (posted to its task).
  void resume_replay(Task& task, int version);
  // The restored thread of `version` that took its last logged step and runs on (not at a
  // call) rejoins, if no sibling of its copy has a logged step left now (rejoin_running).
  void rejoin_running_if_done(int version);
  void on_async_signal(Task& task, int version, const siginfo_t& info, bool internal);
  void on_child(Task& parent, int version, Task& child, bool thread);
  // The member of `version` is gone (exited, crashed, dropped), if it is still `task`.
  void on_member_gone(int version, TaskId task);
  // `task` (a member of `version`, or the executor of this group's round replaced or dropped
  // since) is at its exit stop, or at its call's exit stop after it was killed: if it was the
  // round's executor, the round ends from what its registers say of its call (the followers
  // get its result, or the call is made again by the next executor). The followers waited for
  // this: a call that took effect must not be made twice (a reply sent twice).
  void executor_exiting(Task& task, int version);
  // The executor the round waits for (executor_exiting) is gone without its exit stop having
  // said anything: the call is made again.
  void executor_ended(TaskId task);
  // The members other than `version`'s that run in step with the group (not gone, held after a
  // divergence, or replaying after a restart): thread id, how many intercepted stops each made,
  // and its latest call.
  struct Progress {
    pid_t tid = 0;
    uint64_t calls = 0;
    int call_nr = -1;
  };
  std::vector<Progress> other_member_progress(int version) const;
  // The member of `version` (task `task`) crashed with `signal`: brings it back from the
  // checkpoint if it can: returns the frozen copy that takes its place (the caller registers it
  // and resumes it; `replaced` is the crashed task), or nullopt: the caller drops the version.
  std::optional<Task::Snapshot> try_restart(int version, TaskId task, int signal,
                                            TaskId& replaced);
  // Restart of a crashed version of a multi-threaded process (mt_checkpoint.cc), tried first.
  enum class ProcessRestart : uint8_t {
    kNotMine,     // not a multi-threaded process: try_restart decides
    kRefused,     // cannot come back (event emitted): the caller drops the version
    kStarted,     // its process's copy is being restored, with all its threads
    kTakenCareOf  // another thread's restart of the same process brings this one back
  };
  ProcessRestart try_process_restart(int version, TaskId task, int signal);
  // Whether the member of `version` (still `task`) is brought back by a restore of its whole
  // process that another thread's crash started.
  bool restored_with_process(int version, TaskId task) const;
  // Checkpoint of a multi-threaded process: whether the thread `image` of `version` (a member
  // of this group) stands where its copy can replay from; then `start` is that log position.
  bool cut_thread(int version, const ThreadImage& image, uint64_t& start, std::string& why);
  // A checkpoint of the process was taken: the log before `start` is no longer needed.
  void process_checkpoint_taken(uint64_t start);
  // The thread of `version` restored in a copy of its process (task `task`, thread `tid`)
  // takes the place of the crashed one and replays the log from `cursor`. The copy's first
  // thread (`fds`: its descriptor table at the checkpoint) releases `siblings` when it has
  // its descriptors.
  void install_restored(int version, TaskId task, pid_t tid, pid_t tgid, uint64_t cursor,
                        const std::map<int, bool>* fds, std::vector<TaskId> siblings);
  // Forgets the process's checkpoints (a copy could not replay what comes next).
  void drop_process_checkpoint(const char* reason);
  // Reaps a killed copy of `version`'s process at the member's next call.
  void reap_later(int version, pid_t pid);
  bool empty() const;
  // Drops versions held for longer than `limit_ns` without reconverging (the winners may have
  // stopped making calls in this group).
  void watchdog(uint64_t now_ns, uint64_t limit_ns);
  // Kills this group's member of `version` and forgets it.
  void drop_member(int version);

 private:
  struct Round {
    bool active = false;
    uint64_t seq = 0;
    SyscallClass cls = SyscallClass::kReplicated;
    int executor = -1;
    std::vector<int> participants;
    std::string decoded;  // the executed call, decoded, for events
    int64_t interrupted_code = 0;  // restart code of the last interrupted round
    bool merged_write = false;     // executor writes a common part of different chunkings
    uint64_t merged_length = 0;
    bool ordered = false;          // kEveryone, but the executor first (wait for any child)
    bool fd_ordered = false;       // kEveryone, the executor first, followers in fd order
    // A writable MAP_SHARED file mapping: this version maps the file, the others get shared
    // anonymous memory filled with the file's content (start_everyone_round).
    int shared_map_owner = -1;
    // The executor was killed inside its call and has been replaced (a restored copy) or
    // dropped since; its exit stop, still to come, says whether the call took effect
    // (executor_exiting). Meanwhile the round stays active and the followers wait.
    std::shared_ptr<Member> dying;
    // Early execution (early.cc): the executor makes a query while the other members still run
    // toward their call. `pending`: those not arrived yet; each is matched against `query` (the
    // executor's call as it made it: its member moves on once served) when it arrives. After
    // the executor's exit the round stays active with its `record` until none is pending.
    bool early = false;
    std::vector<int> pending;
    std::shared_ptr<const Member> query;
    std::shared_ptr<const SyscallRecord> record;
    bool from_socket = false;
    bool on_socket = false;
    bool absorbed_reported = false;
    // An early round of a call with an effect (a read or a write, not a query): a follower
    // that arrives with another call is decided against it as a rendezvous would have decided
    // it (early_mismatch), not left out of it. `unmatched`: such followers that arrived before
    // the executor's exit stop, decided once the record is in (they wait meanwhile).
    // `bytes`/`consumed`: the executor's write, and how much of it followers that cut it into
    // smaller writes took so far (the seed's write chunking, as merge_writes).
    bool effect = false;
    std::vector<int> unmatched;
    std::vector<uint8_t> bytes;
    uint64_t consumed = 0;
    // The step's log entry (absolute index), once appended: followers served later get their
    // part in it; a pending follower that dies takes the step as a replayer.
    std::optional<uint64_t> log_at;
  };

  // All under mu_.
  void try_decide(Task* current);
  // `rx_output`: versions whose input was withheld that write other bytes to the file the
  // leader writes (try_decide): they follow the leader's write.
  void decide(Task* current, std::vector<int> participants, std::vector<int> rx_output = {});
  bool merge_writes(Task* current, const std::vector<int>& participants);
  // `executor_task`: null when the executor died inside the write (executor_exiting).
  void finish_merged_write(Task* executor_task, int64_t result);
  bool absorb_extra_calls(Task* current, const std::vector<int>& participants, int preferred);
  void start_round(Task* current, SyscallClass cls, int executor, std::vector<int> followers,
                   std::vector<int> content_losers);
  void start_everyone_round(Task* current, const std::vector<int>& participants);
  void emulate(Task* current, const std::vector<int>& participants);
  void refuse(Task* current, const std::vector<int>& participants);
  void finish_everyone_round(Task* current);
  void report_restored_children(const std::vector<int>& vs);
  void forgive_closes_of_replayed_descriptors(const std::vector<int>& vs);
  void resume_deferred_replays();
  bool can_join_round(const Member& m) const;
  // The active round is another member's close of a descriptor withheld from `m`.
  bool round_closes_withheld(const Member& m) const;
  // Rx: whether `m` (its input withheld) stays out of the call the leader `lead` makes now
  // (an Rx-alone call it is not making), or may take the leader's result for its own write
  // of other bytes to the same file, or its own wait with another timeout (`output`).
  bool rx_leaves_to_leader(const Member& m, const Member& lead, bool& output) const;
  // Rx: the logged step `part` is one the leader may have taken for a connection withheld
  // from the replaying member.
  bool rx_step_alone(const LogEntry& entry, const LogEntry::Part& part) const;
  // Rx: `m`'s write to a file (not a socket, not its own): its length, else nullopt; such a
  // write with no counterpart in the leader's steps is answered without being made
  // (rx_suppress_output): the file gets the leader's bytes only.
  std::optional<int64_t> rx_own_output(const Member& m) const;
  void rx_suppress_output(Task* current, Member& m, int64_t written);
  // Rx: `m`'s call looks up a file or the clock (rx_version_alone_call): it may make it alone.
  bool rx_own_lookup(const Member& m) const;
  // Whether descriptor `fd` (of process `pid`) is a socket: made by the process, or found so.
  bool rx_socket(int fd, pid_t pid) const;
  // Rx: `part` answers `m`'s call: the same call, or a write of other bytes to the same file.
  bool rx_matches(const Member& m, const LogEntry::Part& part) const;
  // Rx: `m`'s call is the event wait `other` but for its timeout (event_wait_timeout_arg).
  bool rx_same_wait(const Member& m, const Signature* other) const;
  // Copies the file content the shared-mapping owner sees into the others' anonymous copies.
  void fill_shared_map_copies(const std::vector<int>& participants);
  void everyone_exit(Task& task, Member& m, int version);
  bool new_fd_waits_for_a_close(Task& task, Member& m, int64_t result);
  void start_ordered_wait(Task* current, const std::vector<int>& participants,
                          bool fd_change = false);
  void continue_ordered_wait(Task* current, Member& executor, int64_t result);
  bool take_over_ordered_wait(Task* current, Member& executor, int64_t result);
  bool deliver_signals(Task* current, const std::vector<int>& participants);
  // An internal signal that every participant has (reported, or pending in its kernel while
  // it is stopped), or that waited past `limit_ns`: it can be delivered at the next call.
  // Internal signals (each version gets its own copy) that every participant now has, or that
  // waited longer than the limit: `any`; `newly_kicked` when one of them has not had the
  // executor of a blocking round interrupted for it yet (marked now). Takes process_->mu.
  struct SignalsDue {
    bool any = false;
    bool newly_kicked = false;
  };
  SignalsDue internal_signals_due(uint64_t now_ns, uint64_t limit_ns);
  // Every version in `p` has its copy of `ps`: reported, or pending in its kernel while it
  // stands at its call. Needs process_->mu.
  bool every_copy_came(const PendingSignal& ps, const std::vector<int>& p) const;
  int chld_copies_merged(const PendingSignal& ps, int v, int got) const;
  // After `vs` replaced or cancelled their timers (alarm, setitimer): the old timer's signal
  // reaches every version or none, as the preferred one saw it.
  void reconcile_timer_signal(const std::vector<int>& vs, int sig);
  // Starts a follower's part of a descriptor-table change in the leader's order.
  void in_fd_order(Member& m, uint64_t seq, std::function<void(Task&)> fn);
  void divergence(Task* current, const std::vector<int>& participants,
                  const std::vector<std::vector<int>>& classes);
  void record_disposition(Member& m);
  int preferred_among(const std::vector<int>& versions) const;
  // The version whose behaviour a divergence among `versions` follows, unless a majority
  // decides: the policy's preferred one, after those that kept running the versions that
  // rejoined from a restart within their last kRejoinProbationCalls calls (their state was
  // rebuilt from a log), and last those whose input was withheld (Rx: known to differ).
  int favoured(const std::vector<int>& versions) const;
  // The executor's call took or released POSIX record locks of its process (or closed a
  // descriptor, which releases them): Process::posix_lock_holder.
  void note_posix_locks(Task& task, const Member& executor, int64_t result);
  static constexpr uint64_t kRejoinProbationCalls = 1000;
  bool rx_diverged(int version) const;
  bool calls_equal(const Member& a, const Member& b) const;
  void run_local(Task* current, Member& m, bool report_exit);
  // Makes `m`'s own call, its pid arguments translated to its version's real pids.
  void run_own_call(Task* current, const Member& m, bool report_exit);
  void act(Task* current, const Member& m, std::function<void(Task&)> fn);
  void form_child_groups(bool threads);
  // `exit_pending`: the member's task is being killed and has not reached its exit stop yet
  // (a restore replaces it, or its version is dropped): if it executes the round's call, the
  // round waits for that stop (Round::dying).
  void on_member_gone_locked(int version, bool exit_pending = false);
  bool serve_round(Task& task, Member& m, int64_t r, bool dying);
  void abandon_round(int dead_executor);
  // Early execution (early.cc).
  bool start_early_round(Task* current, const std::vector<int>& participants);
  // `effect`: the executor's call is a read or a write (is_early_effect), not a query.
  bool early_eligible(const std::vector<int>& participants, int lead, bool& effect);
  std::optional<std::vector<uint8_t>> early_write_bytes() const;
  bool is_query(const Member& m) const;
  // A read or a write on a descriptor the executor can make before the followers arrived
  // (early.cc): a mismatch is then decided against its record.
  bool is_early_effect(const Member& m) const;
  bool checkpoint_due();
  // A follower of an early round of an effect arrived with another call (early.cc).
  void early_mismatch(Task* current, Member& f);
  // The executor's exit stop served the round: the followers that arrived with another call
  // meanwhile are decided now.
  void early_decide_unmatched(Task* current);
  // `m` (pending in the early round) arrived at its call: served from the record, waits for
  // it, or leaves the round with another call (kArrived). Then the round may end.
  void early_arrival(Task& task, Member& m);
  // `loser`: it made another call of the same kind and follows the executor's result.
  void serve_early_follower(Task* current, Member& f, bool loser = false);
  // Ends the early round once no follower is pending and the executor was served: true if it
  // ended (the caller calls try_decide).
  bool end_early_round_if_done();
  // A pending member of the early round is gone: it takes the step as a replayer.
  void early_member_gone(int version);
  LogEntry* early_log_entry();
  // Where `m` stands in the log: the step it would replay next after a crash.
  uint64_t log_position(const Member& m) const;
  static LogEntry::Part served_part(const Member& m, bool from_socket, bool on_socket,
                                    int64_t result);
  // Recovery (recovery.cc).
  void maybe_checkpoint(Task* current, const std::vector<int>& participants);
  void maybe_checkpoint_process(Task* current, const std::vector<int>& participants);
  void invalidate_checkpoint(const char* reason);
  void log_append(LogEntry entry);
  void log_everyone(const std::vector<int>& versions, bool on_socket);
  void replay_arrival(Task& task, Member& m);
  void replay_exit(Task& task, Member& m);
  bool matches_part(const Member& m, const LogEntry::Part& part) const;
  std::optional<LogEntry::Part> part_for_replayer(const LogEntry& entry, int version);
  void finish_rejoin(Task& task, Member& m);
  // A restored thread of a multi-threaded process caught up: whether it is the last of its
  // process's restored threads to (it gives the copy the leader's descriptors).
  bool rejoin_with_process(Member& m, bool at_call);
  // A restored thread of a multi-threaded process that took its last logged step and runs on
  // without a call (into a futex wait that is not intercepted, say) rejoins at once: it takes
  // part in its group's next step like any member, and checkpoints of its process resume.
  // Not while its group is inside a call (that step is logged for it: it replays it), nor
  // while a sibling of its copy has a logged step left (it waits in
  // Process::replay_done_running, and rejoins when the last one took it). Returns whether
  // it rejoined.
  // `resuming`: called at the member's own stop, which the caller is about to resume (it runs
  // on); otherwise a member stopped by tandem is not taken for one that runs on.
  bool rejoin_running(Member& m, bool resuming = false);
  // Before `m` (at its call, `task`) finishes a replayed step: if that is the last logged step
  // of the last thread of its copy that replays, and it will run on after it, the copy gets
  // the leader's descriptors now (the call may be consumed: its result is set at its exit).
  void sync_before_running_on(Task& task, Member& m);
  // Rejoins due in other groups (their locks are not taken under this one): flush_drops.
  void defer_rejoins(int version, const std::vector<Group*>& groups);
  // Replay order of a restored copy's threads (mt_checkpoint.cc): the number of the next step
  // `m` replays (Process::kCaughtUp: none in the log now); whether it may take it now (else it
  // is parked at its call until its turn); its new position after a step; leaving the order.
  uint64_t next_replay_step(const Member& m);
  bool replay_turn(Task& task, Member& m);
  void replay_advanced(const Member& m);
  void leave_replay_order(int version);
  void wake_replay_turns(int version);
  // Gives a restored member the descriptors the leader has now (a frozen copy holds none) and
  // closes those it has that the leader has not. Consumes its current call: the caller makes it
  // repeat the call.
  void sync_fds_with_leader(Task& task, Member& m, const std::map<int, bool>* stand_ins);
  std::vector<int> participants() const;
  bool process_ordering() const;

  struct Drop {
    int version;
    std::string reason;
  };
  // Versions to drop once mu_ is released (dropping takes every group's lock).
  void defer_drop(int version, std::string reason) {
    drops_.push_back({version, std::move(reason)});
    flush_pending_.store(true, std::memory_order_release);
  }
  void flush_drops();
  void handle_local_exit(Task& task, Member& m);
  bool handle_version_local(Task& task, Member& m);
  std::string decode(const Member& m) const;
  SyscallCall to_real_pids(const Member& m) const;
  struct ChildPair {
    std::vector<std::pair<TaskId, pid_t>> children;  // per version, (0,0) if none
    bool thread = false;
  };
  void record_epoll_ctl(const std::vector<int>& participants);
  // The executor's epoll_wait outputs with the follower's own cookies, without the events of
  // descriptors withheld from it (then *count is the new number of events); nullopt when not
  // an epoll_wait or when a cookie cannot be translated.
  // With `event_fds`, the executor's descriptor of each event (logged with the step).
  std::optional<Outputs> follower_epoll_outputs(const SyscallRecord& record, int executor,
                                                int follower, const std::set<int>& withheld,
                                                int64_t* count,
                                                const std::vector<int>* event_fds = nullptr);
  // The executor's descriptor of each ready event of an epoll_wait, from its registrations
  // now (-1: unknown). Needs process_->mu.
  std::vector<int> epoll_event_fds_locked(const SyscallRecord& record, int executor);
  void create_child_groups(std::vector<ChildPair> pairs);

  Monitor& monitor_;
  uint64_t id_;
  std::vector<Drop> drops_;
  std::vector<ChildPair> ready_children_;
  std::vector<std::pair<Group*, int>> rejoins_;  // rejoin_running_if_done, once unlocked
  // drops_, ready_children_ or rejoins_ has something: flush_drops, called after every stop,
  // takes the lock only then.
  std::atomic<bool> flush_pending_{false};
  // Spins before it blocks: both versions' tracer threads take it at every stop, on different
  // CPUs, and with early execution they do so at the same time (base/spin_mutex.h).
  mutable SpinMutex mu_;
  std::vector<std::optional<Member>> members_;
  Round round_;
  uint64_t next_seq_ = 1;
  std::shared_ptr<Process> process_;
  bool counted_out_ = false;  // this group no longer counts among the process's threads
  // Recovery: the log since the checkpoint (absolute indices start at log_base_).
  std::shared_ptr<Checkpoint> checkpoint_;
  std::deque<LogEntry> log_;
  uint64_t log_base_ = 0;
  uint64_t rounds_since_checkpoint_ = 0;
  bool restarting_ = false;  // try_restart is replacing a crashed member by its copy
  // act() posts even for the current task: a checkpoint of the whole process takes group locks
  // before that task's part of the round, so it is posted, and the round's actions after it.
  bool post_current_ = false;
};

}  // namespace tandem
