#include "intercept/seccomp_filter.h"

#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/scoped_fd.h"

namespace tandem {

namespace {

struct ScopedFilter {
  scmp_filter_ctx ctx;
  ~ScopedFilter() { seccomp_release(ctx); }
};

}  // namespace

Result<BpfProgram> build_trap_filter(const std::vector<TrapRule>& rules) {
  ScopedFilter f{seccomp_init(SCMP_ACT_ALLOW)};
  if (f.ctx == nullptr) return Errno{ENOMEM};
  // Only the native ABI is described; other ABIs get ENOSYS instead of running unmonitored.
  if (int rc = seccomp_attr_set(f.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS)); rc < 0)
    return Errno{-rc};
  // We load the program ourselves with seccomp(2), so libseccomp must not require NNP.
  if (int rc = seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_NNP, 0); rc < 0) return Errno{-rc};
  for (const TrapRule& rule : rules) {
    if (rule.any_of.empty()) {
      if (int rc = seccomp_rule_add(f.ctx, SCMP_ACT_TRACE(0), rule.nr, 0); rc < 0)
        return Errno{-rc};
      continue;
    }
    // One rule per condition: libseccomp ORs rules of the same syscall.
    for (const TrapCondition& c : rule.any_of) {
      auto op = static_cast<scmp_compare>(c.op);
      scmp_arg_cmp cmp = op == SCMP_CMP_MASKED_EQ ? SCMP_CMP64(c.arg, op, c.mask, c.value)
                                                 : SCMP_CMP64(c.arg, op, c.value);
      if (int rc = seccomp_rule_add_exact(f.ctx, SCMP_ACT_TRACE(0), rule.nr, 1, cmp); rc < 0)
        return Errno{-rc};
    }
  }
  // Export through a memfd: libseccomp 2.5 can only export to a descriptor.
  ScopedFd mem(memfd_create("tandem-bpf", MFD_CLOEXEC));
  if (!mem.valid()) return last_errno();
  if (int rc = seccomp_export_bpf(f.ctx, mem.get()); rc < 0) return Errno{-rc};
  struct stat st {};
  if (fstat(mem.get(), &st) < 0) return last_errno();
  BpfProgram prog;
  prog.instructions.resize(static_cast<size_t>(st.st_size) / sizeof(sock_filter));
  if (pread(mem.get(), prog.instructions.data(), static_cast<size_t>(st.st_size), 0) !=
      st.st_size)
    return Errno{EIO};
  return prog;
}

}  // namespace tandem
