#include "intercept/ptrace/exec_fixups.h"

#include <elf.h>

#include <string>
#include <vector>

#include "base/remote_mem.h"

namespace tandem {

namespace {

// Reads 8-byte words from the initial stack until `pred` says stop; returns their addresses.
Result<uint64_t> skip_pointer_array(const RemoteMemory& mem, uint64_t addr) {
  for (int i = 0; i < 1 << 20; ++i) {
    auto v = mem.read_value(remote_ptr<uint64_t>(addr));
    if (!v) return v.error();
    addr += 8;
    if (*v == 0) return addr;
  }
  return Errno{E2BIG};
}

}  // namespace

Result<void> hide_vdso(pid_t pid, uint64_t sp) {
  RemoteMemory mem(pid);
  // Initial stack: argc, argv[argc], NULL, envp..., NULL, auxv pairs..., AT_NULL.
  auto argc = mem.read_value(remote_ptr<uint64_t>(sp));
  if (!argc) return argc.error();
  uint64_t envp = sp + 8 + (*argc + 1) * 8;
  auto auxv = skip_pointer_array(mem, envp);
  if (!auxv) return auxv.error();
  for (uint64_t a = *auxv;; a += 16) {
    auto type = mem.read_value(remote_ptr<uint64_t>(a));
    if (!type) return type.error();
    if (*type == AT_NULL) return {};
    if (*type == AT_SYSINFO_EHDR) {
      uint64_t ignore = AT_IGNORE;
      return mem.write_value(remote_ptr<uint64_t>(a), ignore);
    }
  }
}

Result<std::vector<std::string>> read_exec_argv(pid_t pid, uint64_t sp) {
  RemoteMemory mem(pid);
  auto argc = mem.read_value(remote_ptr<uint64_t>(sp));
  if (!argc) return argc.error();
  std::vector<std::string> argv;
  for (uint64_t i = 0; i < *argc && i < 4096; ++i) {
    auto p = mem.read_value(remote_ptr<uint64_t>(sp + 8 + i * 8));
    if (!p) return p.error();
    auto s = mem.read_cstring(remote_addr(*p));
    if (!s) return s.error();
    argv.push_back(*s);
  }
  return argv;
}

bool is_rdtsc_at(pid_t pid, uint64_t pc) {
  uint8_t insn[3] = {};
  RemoteMemory mem(pid);
  if (!mem.read(remote_addr(pc), {insn, 2})) return false;
  if (insn[0] == 0x0f && insn[1] == 0x31) return true;
  if (!mem.read(remote_addr(pc), {insn, 3})) return false;
  return insn[0] == 0x0f && insn[1] == 0x01 && insn[2] == 0xf9;
}

}  // namespace tandem
