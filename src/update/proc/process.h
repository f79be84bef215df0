// What the tool reads about a live process from /proc and through the runtime's block.
//
// ProcessMaps: the mappings of a process, and the load bias of its executable and libraries
// (hazard 1: DWARF and symbol addresses are link-time; runtime address = bias + link address).
// ProcessView: a parked process together with the Program it runs, its runtime block (heap
// registry, registered locals, thread pointer) and its RemoteMemory. A view is only valid while
// the process is parked at an update point; nothing here stops or resumes it.
// Not thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/remote_mem.h"
#include "runtime/live_abi.h"
#include "update/failure.h"
#include "update/program.h"

namespace tandem::update {

struct Mapping {
  uint64_t start = 0, end = 0, offset = 0;
  bool read = false, write = false, exec = false;
  uint64_t inode = 0;
  uint32_t dev_major = 0, dev_minor = 0;
  std::string path;  // "" for anonymous, "[heap]", "[stack]", or a file
};

class ProcessMaps {
 public:
  static Expected<ProcessMaps> read(pid_t pid);
  const std::vector<Mapping>& mappings() const { return maps_; }
  const Mapping* find(uint64_t addr) const;
  // Lowest mapping of a file (by inode and device): its start is the load bias of a PIE or DSO.
  const Mapping* first_of(uint64_t inode, uint32_t dev_major, uint32_t dev_minor) const;
  const Mapping* first_of(const std::string& path) const;

 private:
  std::vector<Mapping> maps_;  // sorted by start
};

// Checks that pid is a live process we may update. kNoSuchProcess / kPermission on failure.
Expected<void> check_process(pid_t pid);
// The executable's path as seen by the process (/proc/PID/exe target) and a readable path to it.
Expected<std::string> process_exe(pid_t pid);

struct RegisteredLocal {
  std::string function;
  std::string name;
  uint64_t addr = 0;
  uint64_t size = 0;
};

class ProcessView {
 public:
  static Expected<std::unique_ptr<ProcessView>> open(pid_t pid, std::shared_ptr<Program> program,
                                                     uint64_t block_addr);
  pid_t pid() const { return pid_; }
  Program& program() { return *program_; }
  std::shared_ptr<Program> shared_program() const { return program_; }
  const Program& program() const { return *program_; }
  const ProcessMaps& maps() const { return maps_; }
  const RemoteMemory& memory() const { return memory_; }
  const tl_block& block() const { return block_; }
  uint64_t bias() const { return bias_; }
  // Runtime address of the executable's TLS block for the parked thread, if it has one.
  std::optional<uint64_t> tls_block() const { return tls_block_; }
  const std::vector<RegisteredLocal>& locals() const { return locals_; }
  // The mapping of the executable image that contains a runtime address (any permission).
  bool in_executable(uint64_t addr) const;

 private:
  ProcessView(pid_t pid, std::shared_ptr<Program> program)
      : pid_(pid), program_(std::move(program)), memory_(pid) {}

  pid_t pid_;
  std::shared_ptr<Program> program_;
  ProcessMaps maps_;
  RemoteMemory memory_;
  tl_block block_{};
  uint64_t bias_ = 0;
  uint64_t exe_inode_ = 0;
  std::optional<uint64_t> tls_block_;
  std::vector<RegisteredLocal> locals_;
};

}  // namespace tandem::update
