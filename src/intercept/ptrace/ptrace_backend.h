// The ptrace + seccomp-bpf backend. See backend.h for the contract and tracer_thread.h for the
// threading model.
#pragma once

#include <signal.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "intercept/backend.h"
#include "intercept/seccomp_filter.h"
#include "intercept/ptrace/tracer_thread.h"

namespace tandem {

class PtraceBackend final : public Backend {
 public:
  PtraceBackend();
  ~PtraceBackend() override;
  BackendCapabilities capabilities() const override;
  void set_trap_rules(std::vector<TrapRule> rules) override;
  Result<Spawned> spawn(const SpawnSpec& spec) override;
  void run(EventSink& sink) override;
  void post(TaskId id, std::function<void(Task&)> fn) override;
  void kill_all() override;

  // Task registry: which thread owns a task id (ids are registered on creation).
  TaskId new_task_id(TracerThread* owner);
  void forget_task(TaskId id);
  // The signal mask the program had before the monitor blocked SIGCHLD/SIGUSR1.
  const sigset_t& original_mask() const { return original_mask_; }
  // Wakes the other tracer threads after consuming a SIGCHLD that may have been theirs.
  void forward_sigchld(TracerThread* from);

 private:
  sigset_t original_mask_{};
  std::vector<TrapRule> rules_;
  std::unique_ptr<BpfProgram> filter_;
  std::vector<std::unique_ptr<TracerThread>> threads_;
  std::mutex registry_mu_;
  std::map<uint64_t, TracerThread*> owners_;
  std::atomic<uint64_t> next_serial_{1};
  int next_version_ = 0;
};

}  // namespace tandem
