// Family handlers: the hand-written part of the model, for calls whose arguments change meaning
// with other arguments (ioctl by request, fcntl by command, prctl by option, clone by flags...).
//
// SyscallInfo::special names a family; the generic code (classify.cc, signature.cc, outputs.cc,
// format.cc) asks the family first for every argument of such a call and falls back to the
// argument's kind when the family does not handle it. Families are registered in registry.cc
// (a per-kind ops table, not a switch). Each is stateless: methods are const and thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/remote_mem.h"
#include "base/result.h"
#include "syscalls/call.h"
#include "syscalls/syscall_model.h"

namespace tandem {

// Writes the encoding of one argument into a Signature. Pointers are encoded by a tag and
// what they point to, never by value; variable-length data is length-prefixed so that the
// concatenation of fields is unambiguous.
class SigWriter {
 public:
  explicit SigWriter(Signature& sig) : sig_(sig) {}
  void u32(uint32_t v);
  void u64(uint64_t v);
  void bytes(std::span<const uint8_t> b);  // present + length + content
  void text(std::string_view s);           // present + length + characters
  void null();                             // a NULL pointer
  void present();                          // a non-NULL pointer whose content is not compared
  // Reads `len` bytes at `addr` and encodes them (or null() for a NULL pointer).
  Result<void> remote_bytes(const RemoteMemory& mem, remote_addr addr, uint64_t len);
  // A socket address given to the kernel, in canonical form: the bytes the kernel does not
  // look at (after the NUL of a Unix socket path, sin_zero) are left out or zeroed, because
  // callers leave stack garbage there.
  Result<void> remote_sockaddr(const RemoteMemory& mem, remote_addr addr, uint64_t len);

 private:
  Signature& sig_;
};

// What a family says about the class of one call.
struct Refinement {
  SyscallClass cls;
  const char* why = nullptr;  // shown with refusals ("threads are not supported yet")
};

class Family {
 public:
  virtual ~Family() = default;
  virtual std::string_view name() const = 0;
  // The class of this call, or nullopt to keep the model's class. `mem` may be null; families
  // that need memory then answer the most cautious class (see call.h).
  virtual std::optional<Refinement> classify(const SyscallCall& call, const SyscallInfo& info,
                                             const RemoteMemory* mem) const {
    return std::nullopt;
  }
  // Encodes argument `arg`; false: not handled, the generic code encodes it by kind.
  virtual Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                            SigWriter& w) const {
    return false;
  }
  // Captures what the kernel wrote through argument `arg` (leader, after the call).
  virtual Result<bool> capture(const SyscallCall& call, int arg, int64_t ret,
                               const RemoteMemory& mem, Outputs& out) const {
    return false;
  }
  // Writes the captured outputs of argument `arg` into a follower's equivalent call.
  virtual Result<bool> apply(const SyscallCall& call, int arg, int64_t ret, const Outputs& outputs,
                             const RemoteMemory& mem) const {
    return false;
  }
  // Prints argument `arg`; false: not handled. An empty `out` with true omits the argument
  // (open's mode when nothing is created, as strace does).
  virtual bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
                      std::string& out) const {
    return false;
  }
};

const Family* find_family(std::string_view name);
std::span<const Family* const> all_families();
// The family of a syscall, or nullptr for regular calls.
const Family* family_of(const SyscallInfo& info);

// Helpers for family code.
void add_blob(Outputs& out, int arg, int part, std::vector<uint8_t> bytes);
const Outputs::Blob* find_blob(const Outputs& out, int arg, int part = 0);
// Reads `len` bytes at `addr` into a blob (nothing for a NULL pointer or a zero length).
Result<void> capture_bytes(const RemoteMemory& mem, remote_addr addr, uint64_t len, Outputs& out,
                           int arg, int part = 0);
// Writes the blob (arg, part), at most `capacity` bytes, to `addr` (nothing if absent or NULL).
Result<void> apply_bytes(const RemoteMemory& mem, remote_addr addr, uint64_t capacity,
                         const Outputs& out, int arg, int part = 0);

}  // namespace tandem

namespace tandem {

// How a family sees one argument of one particular call: most irregular arguments are a value,
// a struct read or written by the kernel, a string, or an address that must not be compared.
struct ArgUse {
  enum Kind : uint8_t {
    kUnused,   // ignored by the kernel for this call: not compared, printed as hex
    kValue,    // integer of `size` bytes (4 or 8), printed with `flagset`
    kIn,       // `size` bytes read by the kernel
    kOut,      // `size` bytes written by the kernel (min(ret, size) if `written_by_ret`)
    kInOut,    // both
    kString,   // NUL-terminated string (NULL allowed)
    kAddress,  // an address in the caller or in another process: never compared
  };
  Kind kind = kUnused;
  uint64_t size = 0;
  const char* flagset = nullptr;
  bool written_by_ret = false;
  // For kIn/kInOut structs with padding or fields the kernel ignores on input: only bytes
  // whose mask byte is non-zero are compared (padding holds whatever the stack had).
  const uint8_t* significant = nullptr;

  static ArgUse unused() { return {}; }
  static ArgUse value(uint64_t width = 8, const char* set = nullptr) {
    return {kValue, width, set};
  }
  static ArgUse in(uint64_t n) { return {kIn, n}; }
  static ArgUse out(uint64_t n) { return {kOut, n}; }
  static ArgUse out_up_to_ret(uint64_t n) { return {kOut, n, nullptr, true}; }
  static ArgUse inout(uint64_t n) { return {kInOut, n}; }
  static ArgUse in_masked(uint64_t n, const uint8_t* mask) { return {kIn, n, nullptr, false, mask}; }
  static ArgUse inout_masked(uint64_t n, const uint8_t* mask) {
    return {kInOut, n, nullptr, false, mask};
  }
  static ArgUse string() { return {kString}; }
  static ArgUse address() { return {kAddress}; }
};

// A family whose irregular arguments are fully described by ArgUse: it implements use() (and
// usually classify()) and inherits signature, capture, apply and format for those arguments.
class UseFamily : public Family {
 public:
  // The use of argument `arg` of this call, or nullopt for arguments the family leaves to the
  // generic code (their kind in the model is then used). `mem` may be null (formatting).
  virtual std::optional<ArgUse> use(const SyscallCall& call, int arg,
                                    const RemoteMemory* mem) const = 0;

  Result<bool> sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                    SigWriter& w) const override;
  Result<bool> capture(const SyscallCall& call, int arg, int64_t ret, const RemoteMemory& mem,
                       Outputs& out) const override;
  Result<bool> apply(const SyscallCall& call, int arg, int64_t ret, const Outputs& outputs,
                     const RemoteMemory& mem) const override;
  bool format(const SyscallCall& call, int arg, const RemoteMemory* mem,
              std::string& out) const override;
};

}  // namespace tandem

namespace tandem {
// Encodes the instructions of a struct sock_fprog (classic BPF program) at `addr`: used by
// prctl(PR_SET_SECCOMP), seccomp(SECCOMP_SET_MODE_FILTER) and SO_ATTACH_FILTER. Defined in
// prctl.cc.
Result<void> sign_sock_fprog(const RemoteMemory& mem, remote_addr addr, SigWriter& w);
}  // namespace tandem
