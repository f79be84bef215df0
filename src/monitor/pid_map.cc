#include "monitor/pid_map.h"

namespace tandem {

void PidMap::add(int version, pid_t real, pid_t virtual_pid) {
  std::lock_guard lock(mu_);
  to_virtual_[version][real] = virtual_pid;
  to_real_[version][virtual_pid] = real;
}

pid_t PidMap::to_virtual(int version, pid_t real) const {
  std::lock_guard lock(mu_);
  auto& m = to_virtual_[version];
  auto it = m.find(real);
  return it == m.end() ? real : it->second;
}

pid_t PidMap::to_real(int version, pid_t virtual_pid) const {
  std::lock_guard lock(mu_);
  auto& m = to_real_[version];
  auto it = m.find(virtual_pid);
  return it == m.end() ? virtual_pid : it->second;
}

bool PidMap::is_program_pid(pid_t real) const {
  std::lock_guard lock(mu_);
  for (auto& m : to_virtual_) {
    if (m.count(real) != 0) return true;
  }
  return false;
}

bool PidMap::is_virtual_pid(pid_t virtual_pid) const {
  std::lock_guard lock(mu_);
  for (auto& m : to_real_) {
    if (m.count(virtual_pid) != 0) return true;
  }
  return false;
}

void PidMap::mark_restored(int version, pid_t virtual_pid) {
  std::lock_guard lock(mu_);
  restored_.insert({version, virtual_pid});
}

bool PidMap::take_restored(int version, pid_t virtual_pid) {
  std::lock_guard lock(mu_);
  return restored_.erase({version, virtual_pid}) != 0;
}

bool PidMap::has_restored(int version) const {
  std::lock_guard lock(mu_);
  auto it = restored_.lower_bound({version, 0});
  return it != restored_.end() && it->first == version;
}

void PidMap::hide(int version, pid_t real) {
  std::lock_guard lock(mu_);
  hidden_.insert({version, real});
}

bool PidMap::take_hidden(int version, pid_t real, bool keep) {
  std::lock_guard lock(mu_);
  if (keep) return hidden_.count({version, real}) != 0;
  return hidden_.erase({version, real}) != 0;
}

}  // namespace tandem
