#include <fmt/format.h>

#include "syscalls/args.h"
#include "syscalls/families/family.h"
#include "syscalls/flags.h"
#include "syscalls/format_util.h"

namespace tandem {

Result<bool> UseFamily::sign(const SyscallCall& call, int arg, const RemoteMemory& mem,
                             SigWriter& w) const {
  auto u = use(call, arg, &mem);
  if (!u) return false;
  remote_addr ptr = arg_ptr(call, arg);
  switch (u->kind) {
    case ArgUse::kUnused:
    case ArgUse::kAddress:
      break;
    case ArgUse::kValue: {
      uint64_t v = call.args[static_cast<size_t>(arg)];
      w.u64(u->size == 4 ? (v & 0xffffffffu) : v);
      break;
    }
    case ArgUse::kIn:
    case ArgUse::kInOut:
      if (u->significant != nullptr && !ptr.is_null()) {
        auto b = mem.read_bytes(ptr, u->size);
        if (!b) return b.error();
        for (size_t i = 0; i < b->size(); ++i) (*b)[i] &= u->significant[i];
        w.bytes(*b);
        break;
      }
      if (auto r = w.remote_bytes(mem, ptr, u->size); !r) return r.error();
      break;
    case ArgUse::kOut:
      if (ptr.is_null()) {
        w.null();
      } else {
        w.present();
        w.u64(u->size);
      }
      break;
    case ArgUse::kString:
      if (ptr.is_null()) {
        w.null();
      } else {
        auto s = mem.read_cstring(ptr, 1 << 16);
        if (!s) return s.error();
        w.text(*s);
      }
      break;
  }
  return true;
}

Result<bool> UseFamily::capture(const SyscallCall& call, int arg, int64_t ret,
                                const RemoteMemory& mem, Outputs& out) const {
  auto u = use(call, arg, &mem);
  if (!u) return false;
  if ((u->kind != ArgUse::kOut && u->kind != ArgUse::kInOut) || is_error(ret)) return true;
  uint64_t n = u->size;
  if (u->written_by_ret) n = std::min<uint64_t>(n, static_cast<uint64_t>(ret));
  if (auto r = capture_bytes(mem, arg_ptr(call, arg), n, out, arg); !r) return r.error();
  return true;
}

Result<bool> UseFamily::apply(const SyscallCall& call, int arg, int64_t ret, const Outputs& outputs,
                              const RemoteMemory& mem) const {
  auto u = use(call, arg, &mem);
  if (!u) return false;
  if (u->kind != ArgUse::kOut && u->kind != ArgUse::kInOut) return true;
  if (auto r = apply_bytes(mem, arg_ptr(call, arg), u->size, outputs, arg); !r) return r.error();
  return true;
}

bool UseFamily::format(const SyscallCall& call, int arg, const RemoteMemory* mem,
                       std::string& out) const {
  auto u = use(call, arg, mem);
  if (!u) return false;
  uint64_t v = call.args[static_cast<size_t>(arg)];
  remote_addr ptr(v);
  switch (u->kind) {
    case ArgUse::kUnused:
      out = fmt::format("{:#x}", v);
      break;
    case ArgUse::kValue:
      if (u->flagset != nullptr) {
        out = format_flags(u->flagset, u->size == 4 ? (v & 0xffffffffu) : v);
      } else {
        out = std::to_string(u->size == 4 ? static_cast<int64_t>(static_cast<int32_t>(v))
                                          : static_cast<int64_t>(v));
      }
      break;
    case ArgUse::kIn:
    case ArgUse::kInOut:
      out = fmt_remote_struct(mem, ptr, u->size);
      break;
    case ArgUse::kString:
      out = fmt_remote_string(mem, ptr);
      break;
    case ArgUse::kOut:
    case ArgUse::kAddress:
      out = fmt_pointer(v);
      break;
  }
  return true;
}

}  // namespace tandem
