#include "update/proc/process.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tandem::update {

Expected<ProcessMaps> ProcessMaps::read(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  if (!in) return fail(FailureKind::kNoSuchProcess, "process " + std::to_string(pid) + " is gone");
  ProcessMaps result;
  std::string line;
  while (std::getline(in, line)) {
    Mapping m;
    char perms[8] = {};
    unsigned long long start, end, offset, inode;
    unsigned major, minor;
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &offset,
                    &major, &minor, &inode, &path_at) < 7)
      continue;
    m.start = start;
    m.end = end;
    m.offset = offset;
    m.read = perms[0] == 'r';
    m.write = perms[1] == 'w';
    m.exec = perms[2] == 'x';
    m.dev_major = major;
    m.dev_minor = minor;
    m.inode = inode;
    if (path_at > 0 && static_cast<size_t>(path_at) < line.size()) m.path = line.substr(path_at);
    result.maps_.push_back(std::move(m));
  }
  std::sort(result.maps_.begin(), result.maps_.end(),
            [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
  return result;
}

const Mapping* ProcessMaps::find(uint64_t addr) const {
  auto it = std::upper_bound(maps_.begin(), maps_.end(), addr,
                             [](uint64_t a, const Mapping& m) { return a < m.start; });
  if (it == maps_.begin()) return nullptr;
  --it;
  return addr < it->end ? &*it : nullptr;
}

const Mapping* ProcessMaps::first_of(uint64_t inode, uint32_t major, uint32_t minor) const {
  for (const auto& m : maps_)
    if (m.inode == inode && m.dev_major == major && m.dev_minor == minor) return &m;
  return nullptr;
}

const Mapping* ProcessMaps::first_of(const std::string& path) const {
  for (const auto& m : maps_)
    if (m.path == path) return &m;
  return nullptr;
}

Expected<void> check_process(pid_t pid) {
  std::string id = std::to_string(pid);
  if (pid <= 0) return fail(FailureKind::kNoSuchProcess, "no process " + id);
  if (kill(pid, 0) != 0) {
    if (errno == EPERM)
      return fail(
          FailureKind::kPermission,
          "process " + id + " belongs to another user (only its owner or root may update it)");
    return fail(FailureKind::kNoSuchProcess, "no process " + id);
  }
  std::ifstream stat("/proc/" + id + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');
  if (paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z')
    return fail(FailureKind::kNoSuchProcess, "process " + id + " has exited (zombie)");
  struct stat st;
  if (::stat(("/proc/" + id).c_str(), &st) == 0 && geteuid() != 0 && st.st_uid != geteuid())
    return fail(
        FailureKind::kPermission,
        "process " + id + " belongs to another user (only its owner or root may update it)");
  return {};
}

Expected<std::string> process_exe(pid_t pid) {
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  if (access(link.c_str(), R_OK) != 0)
    return fail(FailureKind::kPermission, "cannot read the executable of process " +
                                              std::to_string(pid) + ": " + std::strerror(errno));
  // The link itself stays readable even when the file was replaced or deleted on disk, which is
  // what package upgrades do: always read the old binary through it.
  return link;
}

Expected<std::unique_ptr<ProcessView>> ProcessView::open(pid_t pid,
                                                         std::shared_ptr<Program> program,
                                                         uint64_t block_addr) {
  std::unique_ptr<ProcessView> view(new ProcessView(pid, std::move(program)));
  auto maps = ProcessMaps::read(pid);
  if (!maps) return maps.failure();
  view->maps_ = std::move(maps).value();
  struct stat st;
  std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  if (::stat(exe.c_str(), &st) != 0)
    return fail(FailureKind::kNoSuchProcess, "process " + std::to_string(pid) + " is gone");
  view->exe_inode_ = st.st_ino;
  const Mapping* first = view->maps_.first_of(st.st_ino, major(st.st_dev), minor(st.st_dev));
  if (first == nullptr)
    return fail(FailureKind::kSystem,
                "cannot find the executable's mappings of process " + std::to_string(pid));
  uint64_t lowest = ~uint64_t{0};
  for (const auto& seg : view->program_->elf().segments())
    if (seg.type == PT_LOAD) lowest = std::min<uint64_t>(lowest, seg.vaddr & ~uint64_t{0xfff});
  view->bias_ = view->program_->elf().is_pie() ? first->start - (first->offset + lowest) : 0;

  auto block = view->memory_.read_value(remote_ptr<tl_block>(block_addr));
  if (!block || block->magic != TL_BLOCK_MAGIC || block->abi != TL_ABI_VERSION)
    return fail(FailureKind::kNoRuntime,
                "process " + std::to_string(pid) + " has an incompatible tandem-live runtime");
  view->block_ = *block;
  if (const ElfSegment* tls = view->program_->elf().tls_segment()) {
    // x86-64 (TLS variant II): the executable's block ends at the thread pointer. glibc rounds
    // its start so that the first byte keeps the segment's alignment offset.
    uint64_t align = std::max<uint64_t>(tls->align, 1);
    uint64_t firstbyte = (-(tls->vaddr & (align - 1))) & (align - 1);
    uint64_t offset = ((tls->memsz - firstbyte + align - 1) / align) * align + firstbyte;
    view->tls_block_ = view->block_.thread_pointer - offset;
  }
  for (uint64_t i = 0; i < view->block_.local_count && i < 64; i++) {
    auto local =
        view->memory_.read_value(remote_ptr<tl_local>(view->block_.locals + i * sizeof(tl_local)));
    if (!local) break;
    RegisteredLocal r;
    r.addr = local->addr;
    r.size = local->size;
    r.function = view->memory_.read_cstring(remote_addr(local->function), 256).value_or("");
    r.name = view->memory_.read_cstring(remote_addr(local->name), 256).value_or("");
    view->locals_.push_back(std::move(r));
  }
  return view;
}

bool ProcessView::in_executable(uint64_t addr) const {
  const Mapping* m = maps_.find(addr);
  return m != nullptr && m->inode == exe_inode_;
}

}  // namespace tandem::update
