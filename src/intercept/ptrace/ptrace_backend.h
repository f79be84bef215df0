// The ptrace + seccomp-bpf backend. See backend.h for the contract and tracer_thread.h for the
// threading model.
#pragma once

#include <signal.h>

#include <sched.h>

#include <array>
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
  void release_killed() override;

  // Task registry: which thread owns a task id (ids are registered on creation).
  TaskId new_task_id(TracerThread* owner);
  void forget_task(TaskId id);
  // Whether `cpu` runs only one tracer thread (then that thread may spin: nobody else needs it).
  bool cpu_exclusive(int cpu) const;
  // The signal mask versions start with (tandem's when the backend was made).
  const sigset_t& original_mask() const { return original_mask_; }

 private:
  sigset_t original_mask_{};
  std::vector<TrapRule> rules_;
  std::unique_ptr<BpfProgram> filter_;
  std::vector<std::unique_ptr<TracerThread>> threads_;
  std::mutex registry_mu_;
  std::map<uint64_t, TracerThread*> owners_;
  std::atomic<uint64_t> next_serial_{1};
  int next_version_ = 0;
  std::array<std::atomic<int>, CPU_SETSIZE> cpu_users_{};
};

}  // namespace tandem
