#include "intercept/ptrace/ptrace_backend.h"

#include "base/log.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace tandem {

PtraceBackend::PtraceBackend() {
  // The signal mask versions start with: the program's, whatever tandem blocks later.
  pthread_sigmask(SIG_BLOCK, nullptr, &original_mask_);
}

PtraceBackend::~PtraceBackend() {
  threads_.clear();
}

BackendCapabilities PtraceBackend::capabilities() const {
  BackendCapabilities caps;
  caps.hides_vdso = true;
  caps.traps_rdtsc = true;
  caps.installs_fds = true;
  caps.threads = false;
  return caps;
}

void PtraceBackend::set_trap_rules(std::vector<TrapRule> rules) {
  TANDEM_CHECK(threads_.empty()) << "trap rules must be set before the first spawn";
  rules_ = std::move(rules);
  filter_.reset();
}

Result<Backend::Spawned> PtraceBackend::spawn(const SpawnSpec& spec) {
  if (!filter_) {
    auto prog = build_trap_filter(rules_);
    if (!prog) return prog.error();
    filter_ = std::make_unique<BpfProgram>(std::move(*prog));
  }
  int version = next_version_++;
  if (spec.cpu >= 0 && spec.cpu < CPU_SETSIZE) cpu_users_[spec.cpu]++;
  auto thread = std::make_unique<TracerThread>(*this, version, spec.cpu);
  auto r = thread->spawn(spec, version, *filter_);
  if (r) {
    std::lock_guard lock(registry_mu_);
    threads_.push_back(std::move(thread));
  }
  return r;
}

void PtraceBackend::run(EventSink& sink) {
  for (auto& t : threads_) t->start_events(&sink);
  for (auto& t : threads_) t->join();
}

void PtraceBackend::post(TaskId id, std::function<void(Task&)> fn) {
  TracerThread* owner = nullptr;
  {
    std::lock_guard lock(registry_mu_);
    auto it = owners_.find(id.serial);
    if (it != owners_.end()) owner = it->second;
  }
  if (owner == nullptr) {
    TANDEM_LOG(kDebug, "task {}: an action for it is dropped (no tracer thread has it)", id.serial);
    return;
  }
  owner->post([owner, id, fn = std::move(fn)] {
    // A task that is exiting (killed by another thread's exit_group, say) no longer stops
    // where the poster saw it.
    PtraceTask* t = owner->find(id);
    if (t != nullptr && !t->gone() && !t->exiting()) {
      fn(*t);
    } else {
      TANDEM_LOG(kDebug, "task {}: an action for it is dropped ({})", id.serial,
                 t == nullptr ? "unknown" : t->gone() ? "gone" : "exiting");
    }
  });
}

void PtraceBackend::release_killed() {
  for (auto& t : threads_) {
    TracerThread* owner = t.get();
    owner->post([owner] { owner->release_killed(); });
  }
}

void PtraceBackend::kill_all() {
  for (auto& t : threads_) t->kill_all_tasks();
}

bool PtraceBackend::cpu_exclusive(int cpu) const {
  return cpu >= 0 && cpu < CPU_SETSIZE && cpu_users_[cpu].load() == 1;
}

TaskId PtraceBackend::new_task_id(TracerThread* owner) {
  TaskId id{next_serial_.fetch_add(1)};
  std::lock_guard lock(registry_mu_);
  owners_[id.serial] = owner;
  return id;
}

void PtraceBackend::forget_task(TaskId id) {
  std::lock_guard lock(registry_mu_);
  owners_.erase(id.serial);
}

std::unique_ptr<Backend> make_ptrace_backend() { return std::make_unique<PtraceBackend>(); }

}  // namespace tandem
