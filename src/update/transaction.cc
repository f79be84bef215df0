#include "update/transaction.h"

#include <fmt/format.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "update/proc/big_alloc.h"
#include "update/proc/channel.h"
#include "update/proc/process.h"

namespace tandem::update {

namespace {

using std::chrono::milliseconds;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// JSON lines: {"t_ms": ..., "event": ..., fields...}.
class EventLog {
 public:
  explicit EventLog(const std::string& path) : start_(Clock::now()) {
    if (!path.empty()) out_.open(path, std::ios::trunc);
  }
  bool ok() const { return !out_.is_open() || out_.good(); }
  void emit(const std::string& event, const std::string& fields = "") {
    if (!out_.is_open()) return;
    out_ << "{\"t_ms\":" << ms_between(start_, Clock::now())
         << ",\"event\":" << nlohmann::json(event).dump() << (fields.empty() ? "" : ",") << fields
         << "}\n";
    out_.flush();
  }
  void emit_text(const std::string& event, const std::string& key, const std::string& text) {
    emit(event, nlohmann::json(key).dump() + ":" + nlohmann::json(text).dump());
  }

 private:
  Clock::time_point start_;
  std::ofstream out_;
};

std::string describe_exit(int64_t code, int64_t status) {
  if (code == CLD_EXITED) return "exited with status " + std::to_string(status);
  if (code == CLD_KILLED || code == CLD_DUMPED) {
    const char* abbrev = sigabbrev_np(static_cast<int>(status));
    return std::string("was killed by ") +
           (abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(status));
  }
  return "ended";
}

// Talks to both processes while the new version is being filled. The old process reports the new
// one's death (it is its parent): a dead new version is a crash, never a refusal.
class Session : public Agent {
 public:
  Session(Channel& old_ch, Channel& new_ch, Clock::time_point deadline, EventLog& log)
      : old_(old_ch), new_(new_ch), deadline_(deadline), log_(log) {}

  // In which step a death is reported (user callbacks run during kCallbacks).
  enum class Phase { kStarting, kTransfer, kCallbacks };
  void set_phase(Phase p) { phase_ = p; }
  bool child_dead() const { return dead_; }

  Expected<tl_msg> await(uint32_t expected) {
    for (;;) {
      pollfd p[2] = {{old_.fd(), POLLIN, 0}, {new_.fd(), POLLIN, 0}};
      auto left = std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now()).count();
      if (left <= 0) return hung();
      int n = poll(p, 2, static_cast<int>(std::min<int64_t>(left, INT_MAX)));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return hung();
      if (p[0].revents) {
        auto r = old_.receive(Clock::now());
        if (r.status == Channel::Status::kEof)
          return fail(FailureKind::kSystem, "the running process disappeared during the update");
        if (r.status == Channel::Status::kMessage && r.msg.type == TL_MSG_CHILD_EXITED)
          return died(r.msg);
        if (r.status == Channel::Status::kMessage && r.msg.type == TL_MSG_ROLLED_BACK)
          return fail(FailureKind::kNewHung, "the running process gave up waiting and rolled back");
        if (r.status == Channel::Status::kMessage && r.msg.type == TL_MSG_REVERSED_EXITED)
          return fail(FailureKind::kSystem, "the reversed copy of the running process died");
        if (r.status == Channel::Status::kMessage && r.msg.type == TL_MSG_SANDBOX_DIED) {
          tl_msg m = r.msg;
          m.type = TL_MSG_CHILD_EXITED;
          return died_in_sandbox(m);
        }
        if (r.status == Channel::Status::kMessage && expected_old_ &&
            r.msg.type == expected_old_)
          return r.msg;
      }
      if (p[1].revents) {
        auto r = new_.receive(Clock::now());
        if (r.status == Channel::Status::kMessage && r.msg.type == expected) return r.msg;
        if (r.status == Channel::Status::kMessage && r.msg.type == TL_MSG_SANDBOX_DIED) {
          tl_msg m = r.msg;
          m.type = TL_MSG_CHILD_EXITED;
          return died_in_sandbox(m);
        }
        if (r.status == Channel::Status::kEof) {
          // The new version closed its end: it died. Its parent says how.
          auto why = old_.receive(Clock::now() + milliseconds(1000));
          if (why.status == Channel::Status::kMessage && why.msg.type == TL_MSG_CHILD_EXITED)
            return died(why.msg);
          tl_msg unknown{};
          return died(unknown);
        }
      }
    }
  }

  Expected<uint64_t> map(uint64_t bytes) override {
    if (!new_.send(TL_MSG_MAP, static_cast<int64_t>(bytes))) return lost();
    auto r = await(TL_MSG_MAPPED);
    if (!r) return r.failure();
    if (r->a < 0)
      return fail(FailureKind::kSystem, "the new version cannot map " + std::to_string(bytes) +
                                            " bytes: " + std::strerror(static_cast<int>(-r->a)));
    return static_cast<uint64_t>(r->a);
  }
  Expected<void> unmap(uint64_t addr, uint64_t bytes) override {
    if (!new_.send(TL_MSG_UNMAP, static_cast<int64_t>(addr), static_cast<int64_t>(bytes)))
      return lost();
    auto r = await(TL_MSG_UNMAPPED);
    if (!r) return r.failure();
    return {};
  }
  Expected<void> alloc_begin(uint64_t array, uint64_t count) override {
    if (!new_.send(TL_MSG_ALLOC, static_cast<int64_t>(array), static_cast<int64_t>(count)))
      return lost();
    return {};
  }
  Expected<uint64_t> alloc_end() override {
    auto r = await(TL_MSG_ALLOCATED);
    if (!r) return r.failure();
    return static_cast<uint64_t>(r->a);
  }
  Expected<void> free(uint64_t array, uint64_t count) override {
    if (!new_.send(TL_MSG_FREE, static_cast<int64_t>(array), static_cast<int64_t>(count)))
      return lost();
    auto r = await(TL_MSG_FREED);
    if (!r) return r.failure();
    return {};
  }
  Expected<pid_t> sandbox_begin() override {
    if (!new_.send(TL_MSG_SANDBOX)) return lost();
    auto r = await(TL_MSG_SANDBOXED);
    if (!r) return r.failure();
    return static_cast<pid_t>(r->a);
  }
  Expected<void> sandbox_end() override {
    if (!new_.send(TL_MSG_SANDBOX_END)) return lost();
    auto r = await(TL_MSG_SANDBOX_ENDED);
    if (!r) return r.failure();
    return {};
  }
  // Waits for a message of the old process (the validation's verdict), watching the new one.
  Expected<tl_msg> await_old(uint32_t type) {
    expected_old_ = type;
    auto r = await(0);
    expected_old_ = 0;
    return r;
  }
  Expected<std::pair<int64_t, int64_t>> call(uint64_t array, uint64_t count) override {
    Phase saved = phase_;
    phase_ = Phase::kCallbacks;
    if (!new_.send(TL_MSG_CALL, static_cast<int64_t>(array), static_cast<int64_t>(count)))
      return lost();
    auto r = await(TL_MSG_CALLED);
    if (!r) return r.failure();
    phase_ = saved;
    return std::make_pair(r->a, r->b);
  }

 private:
  Failure hung() {
    return fail(
        FailureKind::kNewHung,
        phase_ == Phase::kStarting    ? "the new version did not reach its update point in time"
        : phase_ == Phase::kCallbacks ? "a user callback in the new version did not return in time"
                                      : "the new version stopped answering during the transfer");
  }
  Failure died(const tl_msg& m) {
    dead_ = true;
    std::string how = m.type == TL_MSG_CHILD_EXITED ? describe_exit(m.a, m.b) : "died";
    log_.emit_text("new_version_died", "how", how);
    if (phase_ == Phase::kCallbacks)
      return fail(FailureKind::kCallbackFailed, "the new version " + how + " in a user callback");
    if (phase_ == Phase::kStarting)
      return fail(FailureKind::kNewCrashed,
                  "the new version " + how + " during its initialisation");
    return fail(FailureKind::kNewCrashed, "the new version " + how + " during the transfer");
  }
  Failure died_in_sandbox(const tl_msg& m) {
    std::string how = describe_exit(m.a, m.b);
    log_.emit_text("sandbox_died", "how", how);
    return fail(FailureKind::kCallbackFailed,
                "the copy of the new version running backward callbacks " + how);
  }
  Failure lost() {
    tl_msg unknown{};
    return died(unknown);
  }

  Channel& old_;
  Channel& new_;
  Clock::time_point deadline_;
  EventLog& log_;
  Phase phase_ = Phase::kStarting;
  bool dead_ = false;
  uint32_t expected_old_ = 0;
};

// The old process's side of an undone update: its backward callbacks run in a sandbox copy of
// it, which serves on the old process's connection (runtime/ttst.c, SANDBOX).
class PastSandbox : public Agent {
 public:
  PastSandbox(Session& session, Channel& old_ch) : session_(session), old_(old_ch) {}
  Expected<uint64_t> map(uint64_t bytes) override {
    auto r = ask(TL_MSG_MAP, static_cast<int64_t>(bytes), 0, TL_MSG_MAPPED);
    if (!r) return r.failure();
    if (r->a < 0) return fail(FailureKind::kSystem, "the running process's copy cannot map memory");
    return static_cast<uint64_t>(r->a);
  }
  Expected<void> unmap(uint64_t addr, uint64_t bytes) override {
    auto r = ask(TL_MSG_UNMAP, static_cast<int64_t>(addr), static_cast<int64_t>(bytes),
                 TL_MSG_UNMAPPED);
    if (!r) return r.failure();
    return {};
  }
  Expected<void> alloc_begin(uint64_t, uint64_t) override { return unsupported(); }
  Expected<uint64_t> alloc_end() override { return unsupported(); }
  Expected<void> free(uint64_t, uint64_t) override { return unsupported(); }
  Expected<std::pair<int64_t, int64_t>> call(uint64_t array, uint64_t count) override {
    auto r = ask(TL_MSG_CALL, static_cast<int64_t>(array), static_cast<int64_t>(count),
                 TL_MSG_CALLED);
    if (!r) return r.failure();
    return std::make_pair(r->a, r->b);
  }
  Expected<pid_t> sandbox_begin() override {
    auto r = ask(TL_MSG_SANDBOX, 0, 0, TL_MSG_SANDBOXED);
    if (!r) return r.failure();
    return static_cast<pid_t>(r->a);
  }
  Expected<void> sandbox_end() override {
    auto r = ask(TL_MSG_SANDBOX_END, 0, 0, TL_MSG_SANDBOX_ENDED);
    if (!r) return r.failure();
    return {};
  }

 private:
  Expected<tl_msg> ask(uint32_t type, int64_t a, int64_t b, uint32_t reply) {
    if (!old_.send(type, a, b))
      return fail(FailureKind::kSystem, "the running process disappeared during the update");
    return session_.await_old(reply);
  }
  Failure unsupported() {
    return fail(FailureKind::kSystem, "the running process's copy does not allocate");
  }
  Session& session_;
  Channel& old_;
};

// Is NEW a version of OLD? The declared identity decides; otherwise most old variables must
// still exist by name.
Expected<void> same_program(const Program& old_p, const Program& new_p) {
  if (!old_p.program_id().empty() || !new_p.program_id().empty()) {
    if (old_p.program_id() != new_p.program_id())
      return fail(FailureKind::kOtherProgram, new_p.path() + " is another program (\"" +
                                                  new_p.program_id() + "\", the running one is \"" +
                                                  old_p.program_id() + "\")");
    return {};
  }
  size_t total = 0, common = 0;
  for (const auto& v : old_p.debug().variables()) {
    if (v.tls || !old_p.is_state_address(v.addr)) continue;
    total++;
    if (new_p.debug().variable(v.key)) common++;
  }
  if (total >= 4 && common * 2 < total)
    return fail(FailureKind::kOtherProgram,
                new_p.path() + " does not look like a version of the running program (" +
                    std::to_string(common) + " of its " + std::to_string(total) +
                    " variables in common)");
  return {};
}

Expected<void> write_pidfile(const std::string& path, pid_t pid) {
  std::string tmp = path + ".tandem-tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << pid << "\n";
    if (!out.good()) return fail(FailureKind::kSystem, "cannot write " + tmp);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0)
    return fail(FailureKind::kSystem, "cannot rename " + tmp + ": " + std::strerror(errno));
  return {};
}

// Memory to fault in before the pause: a few times the target's resident anonymous memory (its
// heap, which the tool copies twice, plus per-object tables), for big targets only, and never
// more than a quarter of the memory available.
uint64_t transfer_memory_estimate(pid_t pid, bool validate) {
  auto field_kb = [](const std::string& path, const std::string& name) -> uint64_t {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(name, 0) == 0) return std::strtoull(line.c_str() + name.size(), nullptr, 10);
    return 0;
  };
  uint64_t anon = field_kb("/proc/" + std::to_string(pid) + "/status", "RssAnon:") << 10;
  uint64_t available = field_kb("/proc/meminfo", "MemAvailable:") << 10;
  // A validation reads the new version's heap again and builds the reversed copy's: more.
  if (anon < (validate ? 8u << 20 : 32u << 20)) return 0;
  // (A validated update of a million small objects peaks at 5.9 times; 6.5 leaves room for
  // types the update makes bigger.)
  return std::min(validate ? anon * 13 / 2 : 4 * anon, available / 4);
}

// Waits until pid has exited (it is not our child: poll its pidfd).
void wait_exit(pid_t pid, milliseconds limit) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return;
  pollfd p{fd, POLLIN, 0};
  poll(&p, 1, static_cast<int>(limit.count()));
  close(fd);
}

// The validation of time-traveling state transfer: the backward transfer into the reversed copy,
// then the old process's comparison. Succeeds only if the old process found both equal.
Expected<void> validate(StateTransfer& transfer, Session& session, Channel& old_ch,
                        UpdateResult& result, const std::string& new_path, pid_t reversed_pid,
                        uint64_t new_block, uint64_t old_block,
                        const std::shared_ptr<Program>& old_program,
                        const std::shared_ptr<Program>& new_program, EventLog& log) {
  Clock::time_point t0 = Clock::now();
  // The new version's mappings changed while it allocated and ran callbacks: a fresh view.
  auto future = ProcessView::open(result.new_pid, new_program, new_block);
  if (!future) return future.failure();
  auto reversed = ProcessView::open(reversed_pid, old_program, old_block);
  if (!reversed) return reversed.failure();
  session.set_phase(Session::Phase::kTransfer);
  auto cov = transfer.run_backward(**future, **reversed, session);
  if (!cov) return cov.failure();
  result.coverage = *cov;
  Clock::time_point t1 = Clock::now();
  result.backward_ms = ms_between(t0, t1);
  if (!old_ch.send(TL_MSG_VALIDATE))
    return fail(FailureKind::kSystem, "the running process disappeared during the validation");
  auto verdict = session.await_old(TL_MSG_VALIDATED);
  if (!verdict) return verdict.failure();
  result.diff_ms = ms_between(t1, Clock::now());
  tl_diff_report report{};
  if (verdict->b != 0) {
    RemoteMemory mem(result.old_pid);
    if (auto r = mem.read(remote_addr(static_cast<uint64_t>(verdict->b)),
                          {reinterpret_cast<uint8_t*>(&report), sizeof report});
        !r)
      return fail(FailureKind::kSystem, "cannot read the comparison's report");
  }
  result.diff_bytes = report.bytes_compared;
  log.emit("validated", fmt::format("\"differing_words\":{},\"runs\":{},\"bytes_compared\":{},"
                                    "\"backward_ms\":{:.2f},\"diff_ms\":{:.2f},\"objects\":{},"
                                    "\"objects_validated\":{},\"bytes\":{},"
                                    "\"bytes_validated\":{}",
                                    verdict->a, report.runs, report.bytes_compared,
                                    result.backward_ms, result.diff_ms, cov->objects,
                                    cov->objects_validated, cov->bytes, cov->bytes_validated));
  if (verdict->a < 0)
    return fail(FailureKind::kSystem,
                std::string("the running process could not compare its state: ") +
                    (report.error ? std::strerror(static_cast<int>(report.error)) : "no copy"));
  if (verdict->a == 0) {
    result.validated = true;
    return {};
  }
  std::string what;
  for (uint64_t i = 0; i < report.count && i < 3; i++) {
    const tl_diff_entry& e = report.first[i];
    // Name the first differing byte, not the word (a word may straddle two members).
    uint64_t delta = e.past ^ e.reversed;
    uint64_t first = e.addr + (delta ? static_cast<uint64_t>(__builtin_ctzll(delta)) / 8 : 0);
    Difference d{first, e.past, e.reversed, e.words, transfer.describe_source_address(first)};
    log.emit("difference", fmt::format("\"addr\":{},\"past\":{},\"reversed\":{},\"words\":{},"
                                       "\"where\":{}",
                                       d.addr, d.past, d.reversed, d.words,
                                       nlohmann::json(d.where).dump()));
    what += fmt::format("{}{} (was {:#x}, transferred back as {:#x}{})", i ? "; " : "", d.where,
                        d.past, d.reversed, d.words > 1 ? fmt::format(", {} words", d.words) : "");
  }
  (void)new_path;
  return fail(FailureKind::kStateDiffers,
              fmt::format("the state transferred back differs from the original in {} word{} "
                          "({} place{}): {}",
                          verdict->a, verdict->a == 1 ? "" : "s", report.runs,
                          report.runs == 1 ? "" : "s", what));
}

}  // namespace

Expected<UpdateResult> run_update(const UpdateOptions& opt) {
  Clock::time_point t0 = Clock::now();
  EventLog log(opt.events_path);
  if (!log.ok())
    return fail(FailureKind::kUsage, "cannot write the events file " + opt.events_path);
  UpdateResult result;
  result.old_pid = opt.pid;
  log.emit("start", "\"pid\":" + std::to_string(opt.pid) +
                        ",\"new_binary\":" + nlohmann::json(opt.new_binary).dump());

  if (auto r = check_process(opt.pid); !r) return r.failure();
  // A process without the runtime has no control socket: say so before judging its binary.
  auto old_ch = Channel::connect_to(opt.pid);
  if (!old_ch) return old_ch.failure();
  char resolved[PATH_MAX];
  if (realpath(opt.new_binary.c_str(), resolved) == nullptr)
    return fail(FailureKind::kBadBinary, opt.new_binary + ": " + std::strerror(errno));
  std::string new_path = resolved;
  if (new_path.size() >= TL_PATH_MAX)
    return fail(FailureKind::kBadBinary, new_path.substr(0, 60) + "...: path longer than " +
                                             std::to_string(TL_PATH_MAX - 1) + " bytes");
  if (access(new_path.c_str(), X_OK) != 0)
    return fail(FailureKind::kBadBinary, new_path + " is not executable");
  auto new_program = Program::load(new_path);
  if (!new_program) return new_program.failure();
  if (!(*new_program)->uses_runtime())
    return fail(FailureKind::kBadBinary, new_path +
                                             " does not use the tandem-live runtime "
                                             "(it never calls tandem_update_point)");
  auto exe = process_exe(opt.pid);
  if (!exe) return exe.failure();
  auto old_program = Program::load(*exe);
  if (!old_program) {
    Failure f = old_program.failure();
    if (f.kind == FailureKind::kBadBinary) f.kind = FailureKind::kNoRuntime;
    f.message = "the running binary: " + f.message;
    return f;
  }
  if (auto r = same_program(**old_program, **new_program); !r) return r.failure();
  for (const auto& w : (*old_program)->warnings()) result.notes.push_back("old version: " + w);
  for (const auto& w : (*new_program)->warnings()) result.notes.push_back("new version: " + w);
  log.emit("binaries_loaded", "\"ms\":" + std::to_string(ms_between(t0, Clock::now())));

  // The transfer's tables and copies of the heap take a few times the target's heap: fault that
  // memory in now, before the target parks, instead of inside its pause.
  // The runtime gives a connection 2 s to send its request: the first one only told us the
  // runtime is there; a fresh one carries the request once the memory is ready.
  uint64_t arena_bytes = transfer_memory_estimate(opt.pid, opt.validate);
  if (arena_bytes) old_ch->close();
  ScopedBigArena arena(arena_bytes);
  if (arena_bytes) {
    old_ch = Channel::connect_to(opt.pid);
    if (!old_ch) return old_ch.failure();
  }
  log.emit("prepared", "\"arena_mb\":" + std::to_string(arena_bytes >> 20));
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    return fail(FailureKind::kSystem, std::string("socketpair: ") + std::strerror(errno));
  Channel new_ch{ScopedFd(pair[0])};
  ScopedFd new_end(pair[1]);
  Clock::time_point t_request = Clock::now();
  if (!old_ch->send(TL_MSG_UPDATE, opt.timeout.count(), opt.validate ? TL_UPDATE_VALIDATE : 0,
                    new_path, new_end.get()))
    return fail(FailureKind::kNoRuntime,
                "process " + std::to_string(opt.pid) + " closed its control socket");
  new_end.reset();  // only the new version may hold it now: its death is then EOF for us
  auto queued = old_ch->receive(t_request + milliseconds(3000));
  if (queued.status != Channel::Status::kMessage)
    return fail(FailureKind::kNoRuntime,
                "process " + std::to_string(opt.pid) + " did not answer on its control socket");
  if (queued.msg.type == TL_MSG_BUSY)
    return fail(FailureKind::kBusy,
                "another update of process " + std::to_string(opt.pid) + " is in progress");
  if (queued.msg.type == TL_MSG_REFUSED)
    return fail(queued.msg.a == EPERM ? FailureKind::kPermission : FailureKind::kNoRuntime,
                "process " + std::to_string(opt.pid) + " refused the update request (" +
                    std::strerror(static_cast<int>(queued.msg.a)) + ")");
  log.emit("queued");

  auto parked = old_ch->receive(t_request + opt.timeout);
  if (parked.status != Channel::Status::kMessage || parked.msg.type != TL_MSG_PARKED)
    return fail(FailureKind::kNotQuiescent,
                "process " + std::to_string(opt.pid) + " did not reach an update point within " +
                    std::to_string(opt.timeout.count() / 1000.0).substr(0, 4) +
                    " s (nothing changed; does its loop call tandem_update_point()?)");
  Clock::time_point t_parked = Clock::now();
  log.emit("parked");
  Clock::time_point deadline = t_parked + opt.timeout;

  // From here on, any failure rolls back: the old process kills the new one and carries on.
  auto rollback = [&](Failure f) -> Failure {
    old_ch->send(TL_MSG_ROLLBACK);
    auto r = old_ch->receive(Clock::now() + milliseconds(5000));
    while (r.status == Channel::Status::kMessage && r.msg.type != TL_MSG_ROLLED_BACK)
      r = old_ch->receive(Clock::now() + milliseconds(5000));
    log.emit_text("rolled_back", "reason", f.message);
    if (r.status != Channel::Status::kMessage)
      f.message += " (and process " + std::to_string(opt.pid) + " did not confirm the rollback)";
    return f;
  };

  auto src = ProcessView::open(opt.pid, *old_program, static_cast<uint64_t>(parked.msg.a));
  if (!src) return rollback(src.failure());
  StateTransfer transfer(**src, *new_program,
                         [&](const std::string& e, const std::string& f) { log.emit(e, f); });
  Session session(*old_ch, new_ch, deadline, log);
  PastSandbox past_sandbox(session, *old_ch);
  // NEW_BIN is the version the running one was updated from: undo the update with the running
  // version's backward callbacks (a cold rollback).
  bool undo = !(*old_program)->version().empty() &&
              (*old_program)->previous_version() == (*new_program)->version();
  if (undo) {
    transfer.undo_with(past_sandbox);
    log.emit("undo", "\"from\":" + nlohmann::json((*old_program)->version()).dump() +
                         ",\"to\":" + nlohmann::json((*new_program)->version()).dump());
  }
  auto source_read = transfer.read_source();  // while the new version starts

  auto spawned = old_ch->receive(deadline);
  if (spawned.status != Channel::Status::kMessage)
    return rollback(
        fail(FailureKind::kNewHung, "the running process did not start the new version"));
  if (spawned.msg.type == TL_MSG_SPAWN_FAILED)
    return rollback(
        fail(FailureKind::kBadBinary,
             "cannot start " + new_path + ": " + std::strerror(static_cast<int>(spawned.msg.a))));
  result.new_pid = static_cast<pid_t>(spawned.msg.a);
  log.emit("spawned", "\"new_pid\":" + std::to_string(result.new_pid));
  pid_t reversed_pid = 0;
  if (opt.validate) {
    auto rev = old_ch->receive(deadline);
    while (rev.status == Channel::Status::kMessage && rev.msg.type == TL_MSG_CHILD_EXITED) {
      // The new version died at once; the reversed copy comes next, the death is seen later.
      rev = old_ch->receive(deadline);
    }
    if (rev.status != Channel::Status::kMessage || rev.msg.type != TL_MSG_REVERSED)
      return rollback(fail(FailureKind::kSystem,
                           "the running process could not fork its reversed copy"));
    reversed_pid = static_cast<pid_t>(rev.msg.a);
    log.emit("reversed", "\"pid\":" + std::to_string(reversed_pid));
  }
  auto notes_out = [&] {
    for (const auto& n : transfer.notes()) result.notes.push_back(n);
    for (const auto& n : result.notes) log.emit_text("note", "text", n);
  };
  if (!source_read) {
    notes_out();
    return rollback(source_read.failure());
  }

  auto ready = session.await(TL_MSG_READY);
  if (!ready) return rollback(ready.failure());
  log.emit("new_ready");
  session.set_phase(Session::Phase::kTransfer);
  auto dst = ProcessView::open(result.new_pid, *new_program, static_cast<uint64_t>(ready->a));
  if (!dst) return rollback(dst.failure());
  auto applied = transfer.run(**dst, session);
  notes_out();
  if (!applied) return rollback(applied.failure());
  result.stats = transfer.stats();
  const TransferStats& st = result.stats;
  log.emit("transferred",
           fmt::format("\"read_ms\":{:.2f},\"discover_ms\":{:.2f},\"alloc_ms\":{:.2f},"
                       "\"transform_ms\":{:.2f},\"write_ms\":{:.2f},\"callback_ms\":{:.2f},"
                       "\"alloc_wait_ms\":{:.2f},\"pointers\":{},\"bytes_written\":{},"
                       "\"converted\":{}",
                       st.read_ms, st.discover_ms, st.alloc_ms, st.transform_ms, st.write_ms,
                       st.callback_ms, st.alloc_wait_ms, st.pointers, st.bytes_written,
                       st.converted_objects));

  if (opt.validate) {
    if (auto r = validate(transfer, session, *old_ch, result, new_path, reversed_pid,
                          static_cast<uint64_t>(ready->a), static_cast<uint64_t>(parked.msg.a),
                          *old_program, *new_program, log);
        !r)
      return rollback(r.failure());
  }

  // Commit: the old version writes its pidfile, tells systemd, and exits; then the new resumes.
  if (!old_ch->send(TL_MSG_COMMIT))
    return fail(FailureKind::kSystem, "the running process disappeared before the commit");
  auto committed = old_ch->receive(Clock::now() + milliseconds(5000));
  while (committed.status == Channel::Status::kMessage && committed.msg.type != TL_MSG_COMMITTED &&
         committed.msg.type != TL_MSG_ROLLED_BACK)
    committed = old_ch->receive(Clock::now() + milliseconds(5000));
  if (committed.status != Channel::Status::kMessage || committed.msg.type != TL_MSG_COMMITTED)
    return fail(FailureKind::kNewCrashed,
                "the running process did not accept the commit (the new version died?); it "
                "keeps running");
  wait_exit(opt.pid, milliseconds(2000));
  new_ch.send(TL_MSG_RESUME);
  auto resumed = new_ch.receive(Clock::now() + milliseconds(2000));
  Clock::time_point t_end = Clock::now();
  log.emit("committed", "\"new_pid\":" + std::to_string(result.new_pid));
  if (!opt.pidfile.empty()) {
    if (auto r = write_pidfile(opt.pidfile, result.new_pid); !r)
      return fail(FailureKind::kSystem, "update committed (new pid " +
                                            std::to_string(result.new_pid) + ") but " +
                                            r.failure().message);
  }
  if (resumed.status != Channel::Status::kMessage) {
    if (check_process(result.new_pid).ok())
      result.notes.push_back("the new version did not confirm RESUME (it resumes on its own)");
    else
      return fail(FailureKind::kSystem, "the update committed but the new version (pid " +
                                            std::to_string(result.new_pid) +
                                            ") died right after; the old one has exited");
  }
  result.total_ms = ms_between(t0, t_end);
  result.update_ms = ms_between(t_request, t_end);
  result.pause_ms = ms_between(t_parked, t_end);
  log.emit("done", "\"update_ms\":" + std::to_string(result.update_ms) +
                       ",\"pause_ms\":" + std::to_string(result.pause_ms) +
                       ",\"arena_used_mb\":" + std::to_string(arena.arena().used() >> 20) +
                       ",\"arena_missed_mb\":" + std::to_string(arena.arena().missed() >> 20) +
                       ",\"heap_objects\":" + std::to_string(result.stats.heap_objects));
  return result;
}

}  // namespace tandem::update
