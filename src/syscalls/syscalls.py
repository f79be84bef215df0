# The x86-64 system calls of the Linux 6.18 ABI, described once, by meaning.
#
# gen_syscalls.py turns this file into C++ tables at build time (syscall_table.inc,
# flag_tables.inc, seccomp_rules.inc in the build folder). Nothing else describes syscalls: add or
# change a call here and everything (comparison, replication, decoding, the seccomp filter) follows.
#
# Source of the numbers: arch/x86/entry/syscalls/syscall_64.tbl of Linux 6.18 ("common" and "64"
# ABIs; the x32 entries 512..547 are not native x86-64 calls and the filter refuses that ABI).
# 6.18 ends at 469 (file_setattr); 336 (uprobe) is the newest of the low range.
#
# How to read an entry:
#   sc(nr, "name", CLASS, [args...], ret=..., special=..., ...)
# Classes (see syscall_model.h and docs/syscall-model.md):
#   LOCAL       not intercepted: runs natively in every version (process-local, no I/O)
#   REPLICATED  the leader runs it, results and out-buffers are copied into the followers
#   LOCKSTEP    security-sensitive: every version must arrive and agree before the leader runs it
#   EVERYONE    every version runs its own call (descriptor table, cwd, signals, exit, children)
#   EMULATED    the monitor computes each version's result
#   REFUSED     answered with `refuse` (an errno) and an event; never executed
# Two rules decide most classes, and the comments below only explain the exceptions:
#   * A follower's descriptor refers to the same open file description as the leader's (the
#     monitor installs the leader's file in the follower), so whatever acts on the *open file*
#     (reads, writes, offsets, O_NONBLOCK, locks, socket state) runs once, in the leader, and is
#     replicated; whatever acts on the *descriptor table* or on the process itself (close, dup,
#     FD_CLOEXEC, chdir, umask, signal dispositions, rlimits) runs in every version.
#   * Authority is checked where it is acquired: opening for writing, creating, removing or
#     renaming names, changing permissions or owners, connect/bind/listen, signals to other
#     processes, credentials, namespaces, mounts, module loading are LOCKSTEP. Operations through
#     a descriptor already obtained that way are REPLICATED (write, ftruncate, fallocate).
# own=True marks calls whose effect is the calling process itself (its memory, credentials, root,
# namespaces, seccomp or landlock domain): when such a call is LOCKSTEP, the versions first agree
# and then *each* runs its own call; the leader's result is never replicated for it.

# ------------------------------------------------------------------------------------------------
# Vocabulary
# ------------------------------------------------------------------------------------------------

LOCAL, REPLICATED, LOCKSTEP, EVERYONE, EMULATED, REFUSED = (
    "kLocal", "kReplicated", "kLockstep", "kEveryone", "kEmulated", "kRefused")

R_VALUE, R_FD, R_PID, R_ADDR, R_NORETURN = ("kValue", "kFd", "kPid", "kAddress", "kNoReturn")


class Len:
    """Where a length comes from: LenFrom + index/size, times `scale`, plus `bias`.

    kField reads a u32 at byte offset `value` of the struct the argument points to (self-sized
    structs); when that field is 0 the kernel assumes the first published size, `if_zero`.
    """

    def __init__(self, src, value=0, scale=1, bias=0, if_zero=0):
        self.src, self.value, self.scale, self.bias, self.if_zero = src, value, scale, bias, if_zero


def arg(i, scale=1, bias=0):
    return Len("kArg", i, scale, bias)


def argptr(i, scale=1, bias=0):
    return Len("kArgPtr", i, scale, bias)


def ret(scale=1, bias=0):
    return Len("kRet", 0, scale, bias)


def fixed(n):
    return Len("kFixed", n)


def field(offset, bias=0, if_zero=0):
    return Len("kField", offset, 1, bias, if_zero)


class Arg:
    def __init__(self, kind, name, width=8, len=None, written=None, flagset=None, on_eintr=False):
        self.kind, self.name, self.width = kind, name, width
        self.len, self.written, self.flagset, self.on_eintr = len, written, flagset, on_eintr


# Integers. `width` is the size of the C type: the kernel ignores the upper half of a register
# that carries an int, and compilers leave garbage there, so only `width` bytes are compared.
def val(name):  # long, size_t, off_t, u64
    return Arg("kValue", name, 8)


def i32(name):  # int, unsigned int, mode_t, uid_t, key_t...
    return Arg("kValue", name, 4)


def flags(name, flagset=None, width=4):
    return Arg("kFlags", name, width, flagset=flagset)


def mode(name):
    return Arg("kFlags", name, 4, flagset="mode")


def fd(name="fd"):
    return Arg("kFd", name, 4)


def dirfd(name="dirfd"):
    return Arg("kDirFd", name, 4)


def pid(name="pid"):
    return Arg("kPid", name, 4)


def sig(name="sig"):
    return Arg("kSignal", name, 4, flagset="signal")


# Memory the kernel reads.
def path(name="pathname"):
    return Arg("kPath", name)


def string(name):
    return Arg("kString", name)


def strv(name):
    return Arg("kStringArray", name)


def inbuf(name, len):
    return Arg("kInBuf", name, len=len)


def instruct(name, len):
    return Arg("kInStruct", name, len=len if isinstance(len, Len) else fixed(len))


def iniov(name, count):
    return Arg("kInIovec", name, len=count)


def insock(name, len):
    return Arg("kInSockaddr", name, len=len)


def insigset(name, len):
    return Arg("kInSigset", name, len=len)


def inmsg(name="msg"):
    return Arg("kInMsghdr", name)


# Memory the kernel writes. `written` defaults to the whole capacity.
def outbuf(name, len, written=None):
    return Arg("kOutBuf", name, len=len, written=written if written else ret())


def outstruct(name, len, written=None, on_eintr=False):
    return Arg("kOutStruct", name, len=len if isinstance(len, Len) else fixed(len),
               written=written, on_eintr=on_eintr)


def inoutstruct(name, len, written=None, on_eintr=False):
    return Arg("kInOutStruct", name, len=len if isinstance(len, Len) else fixed(len),
               written=written, on_eintr=on_eintr)


def outiov(name, count):
    return Arg("kOutIovec", name, len=count, written=ret())


def outsock(name, lenptr):
    return Arg("kOutSockaddr", name, len=argptr(lenptr))


def socklen(name):
    return Arg("kSockLenPtr", name)


def outsigset(name, len):
    return Arg("kOutSigset", name, len=len)


def outmsg(name="msg"):
    return Arg("kOutMsghdr", name)


def fdpair(name):
    return Arg("kOutFdPair", name)


# Neither compared nor replicated: addresses in the caller (hints, stacks, futex words, TLS), or
# values that only make sense in the calling process.
def ignored(name):
    return Arg("kIgnored", name)


# Meaning depends on other arguments: decoded by the family handler named in `special`.
def special(name, width=8):
    return Arg("kSpecial", name, width)


# Seccomp conditions for LOCAL calls that must stop for some argument values. The filter traps the
# call when ANY condition holds; each condition tests one argument: (arg & mask) == value.
class Cond:
    def __init__(self, arg, mask, value):
        self.arg, self.mask, self.value = arg, mask, value


class Trap:
    def __init__(self, text, conds):
        self.text, self.conds = text, conds


class Syscall:
    def __init__(self, nr, name, cls, args, ret, special, refuse, trap, own, why):
        self.nr, self.name, self.cls, self.args, self.ret = nr, name, cls, args, ret
        self.special, self.refuse, self.trap, self.own, self.why = special, refuse, trap, own, why


SYSCALLS = []


def sc(nr, name, cls, args=(), ret=R_VALUE, special=None, refuse=None, trap=None, own=False,
       why=None):
    SYSCALLS.append(Syscall(nr, name, cls, list(args), ret, special, refuse, trap, own, why))


def unimplemented(nr, name, since):
    # In the 6.18 table without an entry point: the kernel answers ENOSYS in every version, so
    # there is nothing to synchronize and nothing to intercept.
    sc(nr, name, LOCAL, why="no entry point on x86-64 (%s); the kernel returns ENOSYS" % since)


PROT_WRITE, PROT_EXEC = 0x2, 0x4
MAP_SHARED_BIT, MAP_ANONYMOUS = 0x1, 0x20

# ------------------------------------------------------------------------------------------------
# Files: reading and writing through descriptors (replicated: the open file is shared)
# ------------------------------------------------------------------------------------------------

sc(0, "read", REPLICATED, [fd(), outbuf("buf", arg(2)), val("count")])
sc(1, "write", REPLICATED, [fd(), inbuf("buf", arg(2)), val("count")])
sc(17, "pread64", REPLICATED, [fd(), outbuf("buf", arg(2)), val("count"), val("offset")])
sc(18, "pwrite64", REPLICATED, [fd(), inbuf("buf", arg(2)), val("count"), val("offset")])
sc(19, "readv", REPLICATED, [fd(), outiov("iov", arg(2)), val("iovcnt")])
sc(20, "writev", REPLICATED, [fd(), iniov("iov", arg(2)), val("iovcnt")])
sc(295, "preadv", REPLICATED,
   [fd(), outiov("iov", arg(2)), val("iovcnt"), val("pos_l"), val("pos_h")])
sc(296, "pwritev", REPLICATED,
   [fd(), iniov("iov", arg(2)), val("iovcnt"), val("pos_l"), val("pos_h")])
sc(327, "preadv2", REPLICATED,
   [fd(), outiov("iov", arg(2)), val("iovcnt"), val("pos_l"), val("pos_h"),
    flags("flags", "rwf_flags")])
sc(328, "pwritev2", REPLICATED,
   [fd(), iniov("iov", arg(2)), val("iovcnt"), val("pos_l"), val("pos_h"),
    flags("flags", "rwf_flags")])
sc(8, "lseek", REPLICATED, [fd(), val("offset"), flags("whence", "whence")])
sc(40, "sendfile", REPLICATED,
   [fd("out_fd"), fd("in_fd"), inoutstruct("offset", 8), val("count")])
sc(275, "splice", REPLICATED,
   [fd("fd_in"), inoutstruct("off_in", 8), fd("fd_out"), inoutstruct("off_out", 8), val("len"),
    flags("flags", "splice_flags")])
sc(276, "tee", REPLICATED,
   [fd("fd_in"), fd("fd_out"), val("len"), flags("flags", "splice_flags")])
# vmsplice maps the caller's pages into a pipe (or copies from a pipe into them): the kernel may
# read those pages after the call returns, and whether the iovec is read or written depends on
# the pipe end, which the arguments do not show. HAZARDS 13: refused, programs fall back to write.
sc(278, "vmsplice", REFUSED,
   [fd(), ignored("iov"), val("nr_segs"), flags("flags", "splice_flags")], refuse="ENOSYS",
   why="pages handed to a pipe escape interception (HAZARDS 13)")
sc(326, "copy_file_range", REPLICATED,
   [fd("fd_in"), inoutstruct("off_in", 8), fd("fd_out"), inoutstruct("off_out", 8), val("len"),
    flags("flags")])
sc(74, "fsync", REPLICATED, [fd()])
sc(75, "fdatasync", REPLICATED, [fd()])
sc(162, "sync", REPLICATED, [])
sc(306, "syncfs", REPLICATED, [fd()])
sc(277, "sync_file_range", REPLICATED,
   [fd(), val("offset"), val("nbytes"), flags("flags")])
sc(187, "readahead", REPLICATED, [fd(), val("offset"), val("count")])
sc(221, "fadvise64", REPLICATED, [fd(), val("offset"), val("len"), i32("advice")])
# Changing a file's size or blocks through a descriptor opened for writing: the authority was
# checked at open (LOCKSTEP), the change happens once.
sc(77, "ftruncate", REPLICATED, [fd(), val("length")])
sc(285, "fallocate", REPLICATED,
   [fd(), flags("mode", "fallocate_mode"), val("offset"), val("len")])
sc(73, "flock", REPLICATED, [fd(), flags("operation", "flock_op")])
sc(78, "getdents", REPLICATED, [fd(), outbuf("dirp", arg(2)), i32("count")])
sc(217, "getdents64", REPLICATED, [fd(), outbuf("dirp", arg(2)), i32("count")])
sc(451, "cachestat", REPLICATED,
   [fd(), instruct("cstat_range", 16), outstruct("cstat", 40), flags("flags")])

# ------------------------------------------------------------------------------------------------
# Files: opening (by flags), names, metadata
# ------------------------------------------------------------------------------------------------

# The "open" family refines the class from the flags: O_WRONLY, O_RDWR, O_CREAT, O_TRUNC,
# O_APPEND or O_TMPFILE -> LOCKSTEP (a new or modified file); read-only -> REPLICATED (the leader
# opens, the follower gets the same open file at the same number).
sc(2, "open", REPLICATED, [path(), flags("flags", "open_flags"), mode("mode")], ret=R_FD,
   special="open")
sc(257, "openat", REPLICATED,
   [dirfd(), path(), flags("flags", "open_flags"), mode("mode")], ret=R_FD, special="open")
# openat2 carries its flags in struct open_how {u64 flags, mode, resolve}.
sc(437, "openat2", REPLICATED, [dirfd(), path(), instruct("how", arg(3)), val("size")],
   ret=R_FD, special="open")
sc(85, "creat", LOCKSTEP, [path(), mode("mode")], ret=R_FD, special="open")
# The handle is {u32 handle_bytes; int handle_type; unsigned char f_handle[handle_bytes]}.
sc(304, "open_by_handle_at", REPLICATED,
   [fd("mount_fd"), instruct("handle", field(0, bias=8)), flags("flags", "open_flags")],
   ret=R_FD, special="open")
sc(303, "name_to_handle_at", REPLICATED,
   [dirfd(), path(), special("handle"), special("mount_id"),
    flags("flags", "name_to_handle_flags")], special="file_handle")
sc(3, "close", EVERYONE, [fd()])
sc(436, "close_range", EVERYONE,
   [i32("first"), i32("last"), flags("flags", "close_range_flags")])
sc(32, "dup", EVERYONE, [fd("oldfd")], ret=R_FD)
sc(33, "dup2", EVERYONE, [fd("oldfd"), fd("newfd")], ret=R_FD)
sc(292, "dup3", EVERYONE, [fd("oldfd"), fd("newfd"), flags("flags", "cloexec")], ret=R_FD)
# fcntl: F_DUPFD*, F_GETFD/F_SETFD act on the descriptor table (EVERYONE); everything else on
# the open file (REPLICATED). Unknown commands are refused with EINVAL, as the kernel would,
# instead of comparing an argument whose meaning is unknown.
sc(72, "fcntl", REPLICATED, [fd(), flags("cmd", "fcntl_cmd"), special("arg")], special="fcntl",
   refuse="EINVAL")
# ioctl: the request decides everything (see families/ioctl.cc). Requests that are neither
# _IOC-encoded nor in the table of legacy requests are refused with ENOTTY.
sc(16, "ioctl", REPLICATED, [fd(), flags("request", "ioctl_request"), special("arg")],
   special="ioctl", refuse="ENOTTY")

sc(4, "stat", REPLICATED, [path(), outstruct("statbuf", 144)])
sc(5, "fstat", REPLICATED, [fd(), outstruct("statbuf", 144)])
sc(6, "lstat", REPLICATED, [path(), outstruct("statbuf", 144)])
sc(262, "newfstatat", REPLICATED,
   [dirfd(), path(), outstruct("statbuf", 144), flags("flags", "at_flags")])
sc(332, "statx", REPLICATED,
   [dirfd(), path(), flags("flags", "at_flags"), flags("mask", "statx_mask"),
    outstruct("statxbuf", 256)])
sc(137, "statfs", REPLICATED, [path(), outstruct("buf", 120)])
sc(138, "fstatfs", REPLICATED, [fd(), outstruct("buf", 120)])
sc(136, "ustat", REPLICATED, [i32("dev"), outstruct("ubuf", 32)])
sc(21, "access", REPLICATED, [path(), flags("mode", "access_mode")])
sc(269, "faccessat", REPLICATED, [dirfd(), path(), flags("mode", "access_mode")])
sc(439, "faccessat2", REPLICATED,
   [dirfd(), path(), flags("mode", "access_mode"), flags("flags", "faccessat_flags")])
sc(89, "readlink", REPLICATED, [path(), outbuf("buf", arg(2)), i32("bufsiz")])
sc(267, "readlinkat", REPLICATED, [dirfd(), path(), outbuf("buf", arg(3)), i32("bufsiz")])
# Each version has its own cwd (chdir runs everywhere) but they are kept equal, so the leader's
# answer is every version's answer; replicating it also hides path differences of test setups.
sc(79, "getcwd", REPLICATED, [outbuf("buf", arg(1)), val("size")])
sc(80, "chdir", EVERYONE, [path()])
sc(81, "fchdir", EVERYONE, [fd()])
sc(95, "umask", EVERYONE, [mode("mask")])

sc(76, "truncate", LOCKSTEP, [path(), val("length")])
sc(82, "rename", LOCKSTEP, [path("oldpath"), path("newpath")])
sc(264, "renameat", LOCKSTEP, [dirfd("olddirfd"), path("oldpath"), dirfd("newdirfd"),
                               path("newpath")])
sc(316, "renameat2", LOCKSTEP, [dirfd("olddirfd"), path("oldpath"), dirfd("newdirfd"),
                                path("newpath"), flags("flags", "renameat2_flags")])
sc(83, "mkdir", LOCKSTEP, [path(), mode("mode")])
sc(258, "mkdirat", LOCKSTEP, [dirfd(), path(), mode("mode")])
sc(84, "rmdir", LOCKSTEP, [path()])
sc(86, "link", LOCKSTEP, [path("oldpath"), path("newpath")])
sc(265, "linkat", LOCKSTEP, [dirfd("olddirfd"), path("oldpath"), dirfd("newdirfd"),
                             path("newpath"), flags("flags", "at_flags")])
sc(87, "unlink", LOCKSTEP, [path()])
sc(263, "unlinkat", LOCKSTEP, [dirfd(), path(), flags("flags", "unlinkat_flags")])
sc(88, "symlink", LOCKSTEP, [string("target"), path("linkpath")])
sc(266, "symlinkat", LOCKSTEP, [string("target"), dirfd("newdirfd"), path("linkpath")])
sc(133, "mknod", LOCKSTEP, [path(), mode("mode"), i32("dev")])
sc(259, "mknodat", LOCKSTEP, [dirfd(), path(), mode("mode"), i32("dev")])
# Permissions and owners are authority even through a descriptor.
sc(90, "chmod", LOCKSTEP, [path(), mode("mode")])
sc(91, "fchmod", LOCKSTEP, [fd(), mode("mode")])
sc(268, "fchmodat", LOCKSTEP, [dirfd(), path(), mode("mode")])
sc(452, "fchmodat2", LOCKSTEP, [dirfd(), path(), mode("mode"), flags("flags", "at_flags")])
sc(92, "chown", LOCKSTEP, [path(), i32("owner"), i32("group")])
sc(93, "fchown", LOCKSTEP, [fd(), i32("owner"), i32("group")])
sc(94, "lchown", LOCKSTEP, [path(), i32("owner"), i32("group")])
sc(260, "fchownat", LOCKSTEP, [dirfd(), path(), i32("owner"), i32("group"),
                               flags("flags", "at_flags")])
# Timestamps are metadata the program chooses: compared before they change.
sc(132, "utime", LOCKSTEP, [path(), instruct("times", 16)])
sc(235, "utimes", LOCKSTEP, [path(), instruct("times", 32)])
sc(261, "futimesat", LOCKSTEP, [dirfd(), path(), instruct("times", 32)])
sc(280, "utimensat", LOCKSTEP, [dirfd(), path(), instruct("times", 32),
                                flags("flags", "at_flags")])
# file_getattr/file_setattr (6.17): struct file_attr, sized by the caller.
sc(468, "file_getattr", REPLICATED,
   [dirfd(), path(), outstruct("ufattr", arg(3)), val("usize"), flags("at_flags", "at_flags")])
sc(469, "file_setattr", LOCKSTEP,
   [dirfd(), path(), instruct("ufattr", arg(3)), val("usize"), flags("at_flags", "at_flags")])

# Extended attributes: setting or removing one can change permissions (ACLs, security labels).
sc(188, "setxattr", LOCKSTEP, [path(), string("name"), inbuf("value", arg(3)), val("size"),
                               flags("flags", "xattr_flags")])
sc(189, "lsetxattr", LOCKSTEP, [path(), string("name"), inbuf("value", arg(3)), val("size"),
                                flags("flags", "xattr_flags")])
sc(190, "fsetxattr", LOCKSTEP, [fd(), string("name"), inbuf("value", arg(3)), val("size"),
                                flags("flags", "xattr_flags")])
sc(191, "getxattr", REPLICATED, [path(), string("name"), outbuf("value", arg(3)), val("size")])
sc(192, "lgetxattr", REPLICATED, [path(), string("name"), outbuf("value", arg(3)), val("size")])
sc(193, "fgetxattr", REPLICATED, [fd(), string("name"), outbuf("value", arg(3)), val("size")])
sc(194, "listxattr", REPLICATED, [path(), outbuf("list", arg(2)), val("size")])
sc(195, "llistxattr", REPLICATED, [path(), outbuf("list", arg(2)), val("size")])
sc(196, "flistxattr", REPLICATED, [fd(), outbuf("list", arg(2)), val("size")])
sc(197, "removexattr", LOCKSTEP, [path(), string("name")])
sc(198, "lremovexattr", LOCKSTEP, [path(), string("name")])
sc(199, "fremovexattr", LOCKSTEP, [fd(), string("name")])
# The *xattrat calls (6.13) pass the value through struct xattr_args {u64 value; u32 size;
# u32 flags}, a pointer inside a struct: the "xattrat" family follows it.
sc(463, "setxattrat", LOCKSTEP,
   [dirfd(), path(), flags("at_flags", "at_flags"), string("name"), special("uargs"),
    val("usize")], special="xattrat")
sc(464, "getxattrat", REPLICATED,
   [dirfd(), path(), flags("at_flags", "at_flags"), string("name"), special("uargs"),
    val("usize")], special="xattrat")
sc(465, "listxattrat", REPLICATED,
   [dirfd(), path(), flags("at_flags", "at_flags"), outbuf("list", arg(4)), val("size")])
sc(466, "removexattrat", LOCKSTEP,
   [dirfd(), path(), flags("at_flags", "at_flags"), string("name")])

# Change notification: the inotify instance is one object shared by the versions.
sc(253, "inotify_init", REPLICATED, [], ret=R_FD)
sc(294, "inotify_init1", REPLICATED, [flags("flags", "nonblock_cloexec")], ret=R_FD)
sc(254, "inotify_add_watch", REPLICATED, [fd(), path(), flags("mask", "inotify_mask")])
sc(255, "inotify_rm_watch", REPLICATED, [fd(), i32("wd")])
# fanotify events carry descriptors opened in the reading process: a replicated read would hand
# followers numbers that only exist in the leader. Refused (it also needs CAP_SYS_ADMIN).
sc(300, "fanotify_init", REFUSED, [flags("flags"), flags("event_f_flags", "open_flags")],
   ret=R_FD, refuse="ENOSYS", why="fanotify events carry descriptors created in the reader")
sc(301, "fanotify_mark", REFUSED,
   [fd("fanotify_fd"), flags("flags"), val("mask"), dirfd(), path()], refuse="ENOSYS",
   why="fanotify is refused (see fanotify_init)")

# ------------------------------------------------------------------------------------------------
# Memory (local: each version owns its address space)
# ------------------------------------------------------------------------------------------------

# mmap stops for the monitor in two cases (the "mmap" family gives the class):
#  * PROT_EXEC: new code enters a version -> LOCKSTEP, then each version maps its own;
#  * MAP_SHARED of a file: writes through the mapping reach the file without a syscall, and a
#    later mprotect could make a read-only shared mapping writable. The monitor sees every such
#    mapping (writable -> LOCKSTEP with a note, read-only -> EVERYONE) and decides how followers
#    map it (HAZARDS 13). Anonymous shared memory stays local: it is shared only with the
#    version's own children.
sc(9, "mmap", LOCAL,
   [ignored("addr"), val("length"), flags("prot", "mmap_prot", 8), flags("flags", "mmap_flags", 8),
    fd(), val("offset")], ret=R_ADDR, special="mmap", own=True,
   trap=[Trap("prot & PROT_EXEC", [Cond(2, PROT_EXEC, PROT_EXEC)]),
         Trap("MAP_SHARED file mapping",
              [Cond(3, MAP_SHARED_BIT | MAP_ANONYMOUS, MAP_SHARED_BIT)])])
sc(10, "mprotect", LOCAL,
   [ignored("addr"), val("len"), flags("prot", "mmap_prot", 8)], special="mmap", own=True,
   trap=[Trap("prot & PROT_EXEC", [Cond(2, PROT_EXEC, PROT_EXEC)])])
sc(329, "pkey_mprotect", LOCAL,
   [ignored("addr"), val("len"), flags("prot", "mmap_prot", 8), i32("pkey")], special="mmap",
   own=True, trap=[Trap("prot & PROT_EXEC", [Cond(2, PROT_EXEC, PROT_EXEC)])])
sc(11, "munmap", LOCAL, [ignored("addr"), val("length")])
sc(12, "brk", LOCAL, [ignored("addr")], ret=R_ADDR)
sc(25, "mremap", LOCAL,
   [ignored("old_address"), val("old_size"), val("new_size"), flags("flags", "mremap_flags"),
    ignored("new_address")], ret=R_ADDR)
sc(26, "msync", LOCAL, [ignored("addr"), val("length"), flags("flags", "msync_flags")])
sc(27, "mincore", LOCAL, [ignored("addr"), val("length"), ignored("vec")])
sc(28, "madvise", LOCAL, [ignored("addr"), val("length"), flags("advice", "madvise_advice")])
sc(149, "mlock", LOCAL, [ignored("addr"), val("len")])
sc(150, "munlock", LOCAL, [ignored("addr"), val("len")])
sc(151, "mlockall", LOCAL, [flags("flags", "mlockall_flags")])
sc(152, "munlockall", LOCAL, [])
sc(325, "mlock2", LOCAL, [ignored("addr"), val("len"), flags("flags", "mlock_flags")])
sc(216, "remap_file_pages", LOCAL,
   [ignored("addr"), val("size"), flags("prot", "mmap_prot", 8), val("pgoff"), flags("flags")])
sc(237, "mbind", LOCAL,
   [ignored("addr"), val("len"), i32("mode"), ignored("nodemask"), val("maxnode"),
    flags("flags")])
sc(238, "set_mempolicy", LOCAL, [i32("mode"), ignored("nodemask"), val("maxnode")])
sc(239, "get_mempolicy", LOCAL,
   [ignored("mode"), ignored("nodemask"), val("maxnode"), ignored("addr"), flags("flags")])
sc(450, "set_mempolicy_home_node", LOCAL,
   [ignored("start"), val("len"), val("home_node"), flags("flags")])
sc(324, "membarrier", LOCAL, [i32("cmd"), flags("flags"), i32("cpu_id")])
sc(330, "pkey_alloc", LOCAL, [flags("flags"), flags("access_rights")])
sc(331, "pkey_free", LOCAL, [i32("pkey")])
sc(462, "mseal", LOCAL, [ignored("addr"), val("len"), flags("flags", None, 8)])
sc(453, "map_shadow_stack", LOCAL, [ignored("addr"), val("size"), flags("flags")], ret=R_ADDR)
sc(154, "modify_ldt", LOCAL, [i32("func"), ignored("ptr"), val("bytecount")],
   why="the process's own LDT")
# Moving pages of *another* process is authority over it; of oneself, a local matter.
sc(256, "migrate_pages", EVERYONE,
   [pid(), val("maxnode"), ignored("old_nodes"), ignored("new_nodes")], special="target_pid")
sc(279, "move_pages", EVERYONE,
   [pid(), val("count"), ignored("pages"), inbuf("nodes", arg(1, scale=4)),
    outbuf("status", arg(1, scale=4), written=arg(1, scale=4)), flags("flags")],
   special="target_pid")
# process_madvise names addresses in the target process: they are compared by count only.
sc(440, "process_madvise", LOCKSTEP,
   [fd("pidfd"), ignored("iovec"), val("vlen"), flags("advice", "madvise_advice"),
    flags("flags")])
sc(448, "process_mrelease", LOCKSTEP, [fd("pidfd"), flags("flags")])
# Memory of other processes, or one's own through a side door: reads and writes that bypass the
# model (HAZARDS 13). EPERM is what an unprivileged caller would get.
sc(310, "process_vm_readv", REFUSED,
   [pid(), ignored("local_iov"), val("liovcnt"), ignored("remote_iov"), val("riovcnt"),
    flags("flags")], refuse="EPERM", why="reads another process's memory outside the model")
sc(311, "process_vm_writev", REFUSED,
   [pid(), ignored("local_iov"), val("liovcnt"), ignored("remote_iov"), val("riovcnt"),
    flags("flags")], refuse="EPERM", why="writes memory outside the model (HAZARDS 13)")
# userfaultfd reports fault addresses (different in every version) through read(), which is
# replicated: it cannot be made consistent. Refused as on a kernel without CONFIG_USERFAULTFD.
sc(323, "userfaultfd", REFUSED, [flags("flags", "nonblock_cloexec")], ret=R_FD,
   refuse="ENOSYS", why="fault addresses differ between versions")
# memfd: anonymous memory with a name. Each version creates its own (same number, since the
# descriptor tables are equal) so that a JIT's shared double mapping stays private to a version.
sc(319, "memfd_create", EVERYONE, [string("name"), flags("flags", "memfd_flags")], ret=R_FD)
sc(447, "memfd_secret", EVERYONE, [flags("flags", "nonblock_cloexec")], ret=R_FD)

# SysV shared memory would be shared *between the versions*: every write would happen once per
# version in one segment. Refused as on a kernel without CONFIG_SYSVIPC shm.
sc(29, "shmget", REFUSED, [i32("key"), val("size"), flags("shmflg", "ipc_flags")],
   refuse="ENOSYS", why="a segment would be shared by all versions")
sc(30, "shmat", REFUSED, [i32("shmid"), ignored("shmaddr"), flags("shmflg")], ret=R_ADDR,
   refuse="ENOSYS", why="a segment would be shared by all versions")
sc(67, "shmdt", LOCAL, [ignored("shmaddr")])
sc(31, "shmctl", REPLICATED, [i32("shmid"), flags("cmd", "shmctl_cmd"), special("buf")],
   special="sysv_ctl", refuse="EINVAL")

# ------------------------------------------------------------------------------------------------
# Processes, threads, execution
# ------------------------------------------------------------------------------------------------

# Children: each version forks its own, the monitor pairs the i-th children. Threads (CLONE_VM
# without CLONE_VFORK, which includes CLONE_THREAD) are refused with EAGAIN until supported: the
# "clone" family says so. CLONE_VM|CLONE_VFORK (posix_spawn) is a process and stays EVERYONE.
sc(56, "clone", EVERYONE,
   [flags("flags", "clone_flags", 8), ignored("stack"), ignored("parent_tid"),
    ignored("child_tid"), ignored("tls")], ret=R_PID, special="clone", refuse="EAGAIN")
sc(435, "clone3", EVERYONE, [special("cl_args"), val("size")], ret=R_PID, special="clone",
   refuse="EAGAIN")
sc(57, "fork", EVERYONE, [], ret=R_PID, special="clone")
sc(58, "vfork", EVERYONE, [], ret=R_PID, special="clone")
# execve: each version replaces its own image (the monitor re-hides the vDSO after it).
sc(59, "execve", EVERYONE, [path("filename"), strv("argv"), strv("envp")], ret=R_NORETURN,
   special="execve")
sc(322, "execveat", EVERYONE,
   [dirfd(), path(), strv("argv"), strv("envp"), flags("flags", "at_flags")], ret=R_NORETURN,
   special="execve")
sc(60, "exit", EVERYONE, [i32("status")], ret=R_NORETURN)
sc(231, "exit_group", EVERYONE, [i32("status")], ret=R_NORETURN)
# Each version reaps its own children; the pids it sees are translated by the monitor.
sc(61, "wait4", EVERYONE,
   [pid(), outstruct("wstatus", 4), flags("options", "wait_options"), outstruct("rusage", 144)],
   ret=R_PID, special="wait")
sc(247, "waitid", EVERYONE,
   [flags("idtype", "idtype"), pid("id"), outstruct("infop", 128),
    flags("options", "wait_options"), outstruct("rusage", 144)], special="wait")
# Virtual pids are the leader's real pids: the leader's answer is every version's answer.
sc(39, "getpid", REPLICATED, [], ret=R_PID)
sc(186, "gettid", REPLICATED, [], ret=R_PID)
sc(110, "getppid", REPLICATED, [], ret=R_PID)
sc(111, "getpgrp", REPLICATED, [], ret=R_PID)
sc(121, "getpgid", REPLICATED, [pid()], ret=R_PID)
sc(124, "getsid", REPLICATED, [pid()], ret=R_PID)
sc(109, "setpgid", EVERYONE, [pid(), pid("pgid")])
sc(112, "setsid", EVERYONE, [], ret=R_PID)
# set_tid_address returns the caller's real tid (glibc stores it as the thread's tid): the kill
# family therefore accepts a version's own real tid as "itself".
sc(218, "set_tid_address", LOCAL, [ignored("tidptr")], ret=R_PID)
sc(273, "set_robust_list", LOCAL, [ignored("head"), val("len")])
sc(274, "get_robust_list", LOCAL, [pid(), ignored("head_ptr"), ignored("len_ptr")])
sc(334, "rseq", LOCAL, [ignored("rseq"), i32("rseq_len"), flags("flags"), i32("sig")])
sc(158, "arch_prctl", LOCAL, [flags("code", "arch_prctl_code"), ignored("addr")])
sc(24, "sched_yield", LOCAL, [])
sc(135, "personality", EVERYONE, [flags("persona")])
# prctl: most options set process attributes (EVERYONE); security options are LOCKSTEP and run
# in every version; PR_GET_TSC/PR_SET_TSC are EMULATED because the monitor owns the TSC mode
# (HAZARDS 2). See families/prctl.cc.
sc(157, "prctl", EVERYONE,
   [flags("option", "prctl_option"), special("arg2"), special("arg3"), special("arg4"),
    special("arg5")], special="prctl", own=True)
sc(160, "setrlimit", EVERYONE, [flags("resource", "rlimit_resource"), instruct("rlim", 16)])
sc(97, "getrlimit", REPLICATED, [flags("resource", "rlimit_resource"), outstruct("rlim", 16)])
# prlimit64 on oneself: setting -> EVERYONE, reading -> REPLICATED; on another process with a
# new limit -> LOCKSTEP (family "prlimit").
sc(302, "prlimit64", EVERYONE,
   [pid(), flags("resource", "rlimit_resource"), instruct("new_limit", 16),
    outstruct("old_limit", 16)], special="prlimit")
sc(98, "getrusage", REPLICATED, [flags("who", "rusage_who"), outstruct("usage", 144)])
sc(100, "times", REPLICATED, [outstruct("buf", 32)])
# Scheduling of oneself is a process attribute; of another process, authority over it
# ("target_pid": pid 0 -> EVERYONE, otherwise LOCKSTEP).
sc(140, "getpriority", REPLICATED, [flags("which", "priority_which"), i32("who")])
sc(141, "setpriority", EVERYONE, [flags("which", "priority_which"), i32("who"), i32("prio")],
   special="target_pid")
sc(142, "sched_setparam", EVERYONE, [pid(), instruct("param", 4)], special="target_pid")
sc(143, "sched_getparam", REPLICATED, [pid(), outstruct("param", 4)])
sc(144, "sched_setscheduler", EVERYONE,
   [pid(), flags("policy", "sched_policy"), instruct("param", 4)], special="target_pid")
sc(145, "sched_getscheduler", REPLICATED, [pid()])
sc(146, "sched_get_priority_max", LOCAL, [flags("policy", "sched_policy")])
sc(147, "sched_get_priority_min", LOCAL, [flags("policy", "sched_policy")])
sc(148, "sched_rr_get_interval", REPLICATED, [pid(), outstruct("tp", 16)])
# struct sched_attr starts with its own u32 size (0 means SCHED_ATTR_SIZE_VER0 = 48).
sc(314, "sched_setattr", EVERYONE, [pid(), instruct("attr", field(0, if_zero=48)),
                                    flags("flags")], special="target_pid")
sc(315, "sched_getattr", REPLICATED,
   [pid(), outstruct("attr", arg(2)), i32("size"), flags("flags")])
# CPU affinity: versions may be pinned to different CPUs by the monitor (HAZARDS 14); each one is
# shown the mask the program asked for, not its real one.
sc(203, "sched_setaffinity", EMULATED, [pid(), i32("cpusetsize"), inbuf("mask", arg(1))])
sc(204, "sched_getaffinity", EMULATED, [pid(), i32("cpusetsize"), outbuf("mask", arg(1))])
sc(251, "ioprio_set", EVERYONE, [i32("which"), i32("who"), i32("ioprio")],
   special="target_pid")
sc(252, "ioprio_get", REPLICATED, [i32("which"), i32("who")])
sc(309, "getcpu", REPLICATED, [outstruct("cpu", 4), outstruct("node", 4), ignored("tcache")])
sc(312, "kcmp", REPLICATED, [pid("pid1"), pid("pid2"), i32("type"), val("idx1"), val("idx2")])
sc(434, "pidfd_open", REPLICATED, [pid(), flags("flags", "pidfd_flags")], ret=R_FD)
sc(438, "pidfd_getfd", LOCKSTEP, [fd("pidfd"), i32("targetfd"), flags("flags")], ret=R_FD)
sc(101, "ptrace", LOCKSTEP,
   [flags("request", "ptrace_request", 8), pid(), special("addr"), special("data")],
   special="ptrace", refuse="EIO")
sc(219, "restart_syscall", REPLICATED, [], special="restart_syscall",
   why="continues the leader's interrupted call; paired with it (HAZARDS 10)")
sc(335, "uretprobe", LOCAL, [],
   why="only called from the kernel's uprobe trampolines; elsewhere the kernel sends SIGILL")
sc(336, "uprobe", LOCAL, [],
   why="only called from the kernel's uprobe trampolines; elsewhere it fails with ENXIO")

# Credentials: compared, then every version changes its own (own=True).
for nr, name, args in [
        (105, "setuid", [i32("uid")]), (106, "setgid", [i32("gid")]),
        (113, "setreuid", [i32("ruid"), i32("euid")]),
        (114, "setregid", [i32("rgid"), i32("egid")]),
        (117, "setresuid", [i32("ruid"), i32("euid"), i32("suid")]),
        (119, "setresgid", [i32("rgid"), i32("egid"), i32("sgid")]),
        (122, "setfsuid", [i32("fsuid")]), (123, "setfsgid", [i32("fsgid")]),
        (116, "setgroups", [i32("size"), inbuf("list", arg(0, scale=4))])]:
    sc(nr, name, LOCKSTEP, args, own=True)
sc(126, "capset", LOCKSTEP, [instruct("hdrp", 8), special("datap")], special="capabilities",
   own=True)
# Reading one's own identity: identical in every version by construction (the credentials above
# change in every version), so there is nothing to synchronize and no need to stop.
sc(102, "getuid", LOCAL, [])
sc(104, "getgid", LOCAL, [])
sc(107, "geteuid", LOCAL, [])
sc(108, "getegid", LOCAL, [])
sc(118, "getresuid", LOCAL, [ignored("ruid"), ignored("euid"), ignored("suid")])
sc(120, "getresgid", LOCAL, [ignored("rgid"), ignored("egid"), ignored("sgid")])
sc(115, "getgroups", LOCAL, [i32("size"), ignored("list")])
sc(125, "capget", LOCAL, [ignored("hdrp"), ignored("datap")])
sc(459, "lsm_get_self_attr", REPLICATED,
   [i32("attr"), outbuf("ctx", argptr(2), written=argptr(2)), socklen("size"), flags("flags")])
sc(460, "lsm_set_self_attr", LOCKSTEP,
   [i32("attr"), inbuf("ctx", arg(2)), i32("size"), flags("flags")], own=True)
sc(461, "lsm_list_modules", REPLICATED,
   [outbuf("ids", argptr(1), written=argptr(1)), socklen("size"), flags("flags")])

# Confinement of oneself: seccomp and landlock domains, namespaces, root directory.
sc(317, "seccomp", LOCKSTEP,
   [flags("operation", "seccomp_op"), flags("flags"), special("args")], special="seccomp",
   own=True, refuse="EINVAL")
sc(444, "landlock_create_ruleset", REPLICATED,
   [instruct("attr", arg(1)), val("size"), flags("flags")], ret=R_FD)
sc(445, "landlock_add_rule", REPLICATED,
   [fd("ruleset_fd"), flags("rule_type", "landlock_rule_type"), special("rule_attr"),
    flags("flags")], special="landlock", refuse="EINVAL")
sc(446, "landlock_restrict_self", LOCKSTEP, [fd("ruleset_fd"), flags("flags")], own=True)
sc(272, "unshare", LOCKSTEP, [flags("flags", "unshare_flags", 8)], own=True)
sc(308, "setns", LOCKSTEP, [fd(), flags("nstype", "unshare_flags")], own=True)
sc(161, "chroot", LOCKSTEP, [path()], own=True)
sc(172, "iopl", LOCKSTEP, [i32("level")], own=True)
sc(173, "ioperm", LOCKSTEP, [val("from"), val("num"), i32("turn_on")], own=True)

# ------------------------------------------------------------------------------------------------
# Signals
# ------------------------------------------------------------------------------------------------

# Dispositions are per process: every version installs its own handler. The handler address
# differs between versions, so the "rt_sigaction" family compares only DFL/IGN/handler.
sc(13, "rt_sigaction", EVERYONE,
   [sig("signum"), special("act"), special("oldact"), val("sigsetsize")], special="rt_sigaction")
sc(14, "rt_sigprocmask", LOCAL,
   [flags("how", "sigprocmask_how"), insigset("set", arg(3)), outsigset("oldset", arg(3)),
    val("sigsetsize")])
sc(15, "rt_sigreturn", LOCAL, [], ret=R_NORETURN)
sc(127, "rt_sigpending", LOCAL, [outsigset("set", arg(1)), val("sigsetsize")])
# Waiting for a signal: each version waits in its own process so that its handlers run there;
# the monitor delivers signals to all versions at the same call.
sc(34, "pause", EVERYONE, [])
sc(130, "rt_sigsuspend", EVERYONE, [insigset("mask", arg(1)), val("sigsetsize")])
sc(128, "rt_sigtimedwait", EVERYONE,
   [insigset("set", arg(3)), outstruct("info", 128), instruct("timeout", 16), val("sigsetsize")])
# stack_t holds the stack's address: the family compares flags and size only.
sc(131, "sigaltstack", EVERYONE, [special("ss"), special("old_ss")], special="sigaltstack")
# Signals to other processes are authority (LOCKSTEP, the leader sends once); signals a version
# sends to itself or its own children must reach itself / its children: the "kill" family
# turns those into EVERYONE with translated pids (HAZARDS 5). Signal 0 only probes: REPLICATED.
sc(62, "kill", LOCKSTEP, [pid(), sig()], special="kill")
sc(200, "tkill", LOCKSTEP, [pid("tid"), sig()], special="kill")
sc(234, "tgkill", LOCKSTEP, [pid("tgid"), pid("tid"), sig()], special="kill")
sc(129, "rt_sigqueueinfo", LOCKSTEP, [pid("tgid"), sig(), instruct("info", 128)],
   special="kill")
sc(297, "rt_tgsigqueueinfo", LOCKSTEP, [pid("tgid"), pid("tid"), sig(), instruct("info", 128)],
   special="kill")
sc(424, "pidfd_send_signal", LOCKSTEP,
   [fd("pidfd"), sig(), instruct("info", 128), flags("flags")], special="kill")
# A signalfd reads the leader's pending signals; followers block the same signals, so the
# replicated read is what each of them would have read.
sc(282, "signalfd", REPLICATED, [fd(), insigset("mask", arg(2)), val("sizemask")], ret=R_FD)
sc(289, "signalfd4", REPLICATED,
   [fd(), insigset("mask", arg(2)), val("sizemask"), flags("flags", "nonblock_cloexec")],
   ret=R_FD)

# ------------------------------------------------------------------------------------------------
# Time (replicated so that all versions see one clock; HAZARDS 1)
# ------------------------------------------------------------------------------------------------

sc(96, "gettimeofday", REPLICATED, [outstruct("tv", 16), outstruct("tz", 8)])
sc(201, "time", REPLICATED, [outstruct("tloc", 8)])
sc(228, "clock_gettime", REPLICATED, [flags("clockid", "clock_id"), outstruct("tp", 16)])
sc(229, "clock_getres", REPLICATED, [flags("clockid", "clock_id"), outstruct("res", 16)])
sc(35, "nanosleep", REPLICATED,
   [instruct("req", 16), outstruct("rem", 16, on_eintr=True)])
sc(230, "clock_nanosleep", REPLICATED,
   [flags("clockid", "clock_id"), flags("flags", "timer_flags"), instruct("request", 16),
    outstruct("remain", 16, on_eintr=True)])
# Setting the clock is authority; adjtimex/clock_adjtime may set it (modes != 0), and reading
# through them is rare enough to pay for the lockstep.
sc(164, "settimeofday", LOCKSTEP, [instruct("tv", 16), instruct("tz", 8)])
sc(227, "clock_settime", LOCKSTEP, [flags("clockid", "clock_id"), instruct("tp", 16)])
sc(159, "adjtimex", LOCKSTEP, [inoutstruct("buf", 208)])
sc(305, "clock_adjtime", LOCKSTEP, [flags("clockid", "clock_id"), inoutstruct("tx", 208)])
# Interval timers and POSIX timers signal the process that owns them: each version owns its own.
# Reading them is replicated so that the values are the same in every version.
sc(37, "alarm", EVERYONE, [i32("seconds")])
sc(38, "setitimer", EVERYONE,
   [flags("which", "itimer_which"), instruct("new_value", 32), outstruct("old_value", 32)])
sc(36, "getitimer", REPLICATED, [flags("which", "itimer_which"), outstruct("curr_value", 32)])
# struct sigevent carries a user value (often a pointer): the "sigevent" family compares the
# notification method and signal, not the value.
sc(222, "timer_create", EVERYONE,
   [flags("clockid", "clock_id"), special("sevp"), outstruct("timerid", 4)], special="sigevent")
sc(223, "timer_settime", EVERYONE,
   [i32("timerid"), flags("flags", "timer_flags"), instruct("new_value", 32),
    outstruct("old_value", 32)])
sc(224, "timer_gettime", REPLICATED, [i32("timerid"), outstruct("curr_value", 32)])
sc(225, "timer_getoverrun", REPLICATED, [i32("timerid")])
sc(226, "timer_delete", EVERYONE, [i32("timerid")])
sc(283, "timerfd_create", REPLICATED,
   [flags("clockid", "clock_id"), flags("flags", "nonblock_cloexec")], ret=R_FD)
sc(286, "timerfd_settime", REPLICATED,
   [fd(), flags("flags", "timerfd_flags"), instruct("new_value", 32),
    outstruct("old_value", 32)])
sc(287, "timerfd_gettime", REPLICATED, [fd(), outstruct("curr_value", 32)])

# ------------------------------------------------------------------------------------------------
# Readiness: poll, select, epoll (replicated: the leader waits, followers get its answer)
# ------------------------------------------------------------------------------------------------

sc(7, "poll", REPLICATED,
   [inoutstruct("fds", arg(1, scale=8)), i32("nfds"), i32("timeout")], special="poll")
sc(271, "ppoll", REPLICATED,
   [inoutstruct("fds", arg(1, scale=8)), i32("nfds"), inoutstruct("tsp", 16, on_eintr=True),
    insigset("sigmask", arg(4)), val("sigsetsize")], special="poll")
# fd_set sizes are rounded to longs from nfds: the "select" family computes them.
sc(23, "select", REPLICATED,
   [i32("nfds"), special("readfds"), special("writefds"), special("exceptfds"),
    special("timeout")], special="select")
sc(270, "pselect6", REPLICATED,
   [i32("nfds"), special("readfds"), special("writefds"), special("exceptfds"),
    special("timeout"), special("sigmask")], special="select")
# epoll_event is 12 packed bytes {u32 events; u64 data}: data is the program's own cookie (often
# a pointer), different in every version. The "epoll" family compares events only and the
# monitor gives each follower back its own cookies (families/epoll.h).
sc(213, "epoll_create", REPLICATED, [i32("size")], ret=R_FD)
sc(291, "epoll_create1", REPLICATED, [flags("flags", "cloexec")], ret=R_FD)
sc(233, "epoll_ctl", REPLICATED,
   [fd("epfd"), flags("op", "epoll_op"), fd(), special("event")], special="epoll")
sc(232, "epoll_wait", REPLICATED,
   [fd("epfd"), outstruct("events", arg(2, scale=12), written=ret(scale=12)), i32("maxevents"),
    i32("timeout")], special="epoll")
sc(281, "epoll_pwait", REPLICATED,
   [fd("epfd"), outstruct("events", arg(2, scale=12), written=ret(scale=12)), i32("maxevents"),
    i32("timeout"), insigset("sigmask", arg(5)), val("sigsetsize")], special="epoll")
sc(441, "epoll_pwait2", REPLICATED,
   [fd("epfd"), outstruct("events", arg(2, scale=12), written=ret(scale=12)), i32("maxevents"),
    instruct("timeout", 16), insigset("sigmask", arg(5)), val("sigsetsize")], special="epoll")
sc(284, "eventfd", REPLICATED, [i32("initval")], ret=R_FD)
sc(290, "eventfd2", REPLICATED, [i32("initval"), flags("flags", "eventfd_flags")], ret=R_FD)

# ------------------------------------------------------------------------------------------------
# Pipes and sockets
# ------------------------------------------------------------------------------------------------

sc(22, "pipe", REPLICATED, [fdpair("pipefd")])
sc(293, "pipe2", REPLICATED, [fdpair("pipefd"), flags("flags", "pipe_flags")])
sc(41, "socket", REPLICATED,
   [flags("domain", "socket_domain"), flags("type", "socket_type"), i32("protocol")], ret=R_FD)
sc(53, "socketpair", REPLICATED,
   [flags("domain", "socket_domain"), flags("type", "socket_type"), i32("protocol"),
    fdpair("sv")])
sc(42, "connect", LOCKSTEP, [fd("sockfd"), insock("addr", arg(2)), i32("addrlen")])
sc(49, "bind", LOCKSTEP, [fd("sockfd"), insock("addr", arg(2)), i32("addrlen")])
sc(50, "listen", LOCKSTEP, [fd("sockfd"), i32("backlog")])
sc(43, "accept", REPLICATED, [fd("sockfd"), outsock("addr", 2), socklen("addrlen")], ret=R_FD)
sc(288, "accept4", REPLICATED,
   [fd("sockfd"), outsock("addr", 2), socklen("addrlen"), flags("flags", "socket_type")],
   ret=R_FD)
sc(51, "getsockname", REPLICATED, [fd("sockfd"), outsock("addr", 2), socklen("addrlen")])
sc(52, "getpeername", REPLICATED, [fd("sockfd"), outsock("addr", 2), socklen("addrlen")])
sc(48, "shutdown", REPLICATED, [fd("sockfd"), flags("how", "shutdown_how")])
# Sending on a connected socket is a write (REPLICATED). An explicit destination chooses where
# data goes, like connect: sendto with dest_addr, and sendmsg with msg_name (seen when the
# monitor passes memory to effective_class), are LOCKSTEP.
sc(44, "sendto", REPLICATED,
   [fd("sockfd"), inbuf("buf", arg(2)), val("len"), flags("flags", "msg_flags"),
    insock("dest_addr", arg(5)), i32("addrlen")], special="send")
sc(46, "sendmsg", REPLICATED, [fd("sockfd"), inmsg(), flags("flags", "msg_flags")],
   special="send")
sc(307, "sendmmsg", REPLICATED,
   [fd("sockfd"), special("msgvec"), i32("vlen"), flags("flags", "msg_flags")], special="mmsg")
sc(45, "recvfrom", REPLICATED,
   [fd("sockfd"), outbuf("buf", arg(2)), val("len"), flags("flags", "msg_flags"),
    outsock("src_addr", 5), socklen("addrlen")])
sc(47, "recvmsg", REPLICATED, [fd("sockfd"), outmsg(), flags("flags", "msg_flags")])
sc(299, "recvmmsg", REPLICATED,
   [fd("sockfd"), special("msgvec"), i32("vlen"), flags("flags", "msg_flags"),
    inoutstruct("timeout", 16)], special="mmsg")
# Socket options act on the socket (once). The "sockopt" family names levels and options and
# follows the pointer in SO_ATTACH_FILTER's struct sock_fprog.
sc(54, "setsockopt", REPLICATED,
   [fd("sockfd"), flags("level", "sockopt_level"), i32("optname"), inbuf("optval", arg(4)),
    i32("optlen")], special="sockopt")
sc(55, "getsockopt", REPLICATED,
   [fd("sockfd"), flags("level", "sockopt_level"), i32("optname"),
    outbuf("optval", argptr(4), written=argptr(4)), socklen("optlen")], special="sockopt")

# ------------------------------------------------------------------------------------------------
# System V IPC (the objects are system-wide: operated once, by the leader)
# ------------------------------------------------------------------------------------------------

sc(64, "semget", REPLICATED, [i32("key"), i32("nsems"), flags("semflg", "ipc_flags")])
sc(65, "semop", REPLICATED, [i32("semid"), instruct("sops", arg(2, scale=6)), i32("nsops")])
sc(220, "semtimedop", REPLICATED,
   [i32("semid"), instruct("sops", arg(2, scale=6)), i32("nsops"), instruct("timeout", 16)])
sc(66, "semctl", REPLICATED,
   [i32("semid"), i32("semnum"), flags("cmd", "semctl_cmd"), special("arg")],
   special="sysv_ctl", refuse="EINVAL")
sc(68, "msgget", REPLICATED, [i32("key"), flags("msgflg", "ipc_flags")])
# struct msgbuf is {long mtype; char mtext[msgsz]}: 8 bytes more than msgsz.
sc(69, "msgsnd", REPLICATED,
   [i32("msqid"), inbuf("msgp", arg(2, bias=8)), val("msgsz"), flags("msgflg", "ipc_flags")])
sc(70, "msgrcv", REPLICATED,
   [i32("msqid"), outbuf("msgp", arg(2, bias=8), written=ret(bias=8)), val("msgsz"),
    val("msgtyp"), flags("msgflg", "ipc_flags")])
sc(71, "msgctl", REPLICATED, [i32("msqid"), flags("cmd", "msgctl_cmd"), special("buf")],
   special="sysv_ctl", refuse="EINVAL")
# POSIX message queues: mq_open follows the open rules (creating or writing -> LOCKSTEP).
sc(240, "mq_open", REPLICATED,
   [string("name"), flags("oflag", "open_flags"), mode("mode"), instruct("attr", 64)],
   ret=R_FD, special="open")
sc(241, "mq_unlink", LOCKSTEP, [string("name")])
sc(242, "mq_timedsend", REPLICATED,
   [fd("mqdes"), inbuf("msg_ptr", arg(2)), val("msg_len"), i32("msg_prio"),
    instruct("abs_timeout", 16)])
sc(243, "mq_timedreceive", REPLICATED,
   [fd("mqdes"), outbuf("msg_ptr", arg(2)), val("msg_len"), outstruct("msg_prio", 4),
    instruct("abs_timeout", 16)])
# Only one process may be registered per queue: the leader registers, the monitor forwards the
# notification signal to every version.
sc(244, "mq_notify", REPLICATED, [fd("mqdes"), special("sevp")], special="sigevent")
sc(245, "mq_getsetattr", REPLICATED,
   [fd("mqdes"), instruct("newattr", 64), outstruct("oldattr", 64)])

# ------------------------------------------------------------------------------------------------
# Asynchronous I/O that bypasses interception (HAZARDS 13): refused as on a kernel built without
# it. Data would land in the leader's buffers only, after the call that started it returned.
# ------------------------------------------------------------------------------------------------

for nr, name, args in [
        (206, "io_setup", [i32("nr_events"), ignored("ctx_idp")]),
        (207, "io_destroy", [val("ctx_id")]),
        (208, "io_getevents", [val("ctx_id"), val("min_nr"), val("nr"), ignored("events"),
                               ignored("timeout")]),
        (209, "io_submit", [val("ctx_id"), val("nr"), ignored("iocbpp")]),
        (210, "io_cancel", [val("ctx_id"), ignored("iocb"), ignored("result")]),
        (333, "io_pgetevents", [val("ctx_id"), val("min_nr"), val("nr"), ignored("events"),
                                ignored("timeout"), ignored("usig")]),
        (425, "io_uring_setup", [i32("entries"), ignored("params")]),
        (426, "io_uring_enter", [fd(), i32("to_submit"), i32("min_complete"), flags("flags"),
                                 ignored("argp"), val("argsz")]),
        (427, "io_uring_register", [fd(), i32("opcode"), ignored("arg"), i32("nr_args")])]:
    sc(nr, name, REFUSED, args, ret=R_FD if name == "io_uring_setup" else R_VALUE,
       refuse="ENOSYS", why="asynchronous I/O completes outside interception (HAZARDS 13)")

# ------------------------------------------------------------------------------------------------
# System information and administration
# ------------------------------------------------------------------------------------------------

sc(63, "uname", REPLICATED, [outstruct("buf", 390)])
sc(99, "sysinfo", REPLICATED, [outstruct("info", 112)])
sc(318, "getrandom", REPLICATED,
   [outbuf("buf", arg(1)), val("buflen"), flags("flags", "getrandom_flags")])
# sysfs(2): the option says whether arg1 is a name or an index and whether arg2 is written.
sc(139, "sysfs", REPLICATED, [i32("option"), special("arg1"), special("arg2")],
   special="sysfs", refuse="EINVAL")
sc(103, "syslog", LOCKSTEP, [i32("type"), outbuf("bufp", arg(2)), i32("len")])
sc(170, "sethostname", LOCKSTEP, [inbuf("name", arg(1)), i32("len")])
sc(171, "setdomainname", LOCKSTEP, [inbuf("name", arg(1)), i32("len")])
sc(169, "reboot", LOCKSTEP, [i32("magic"), i32("magic2"), i32("cmd"), special("arg")],
   special="reboot")
sc(163, "acct", LOCKSTEP, [path("filename")])
sc(153, "vhangup", LOCKSTEP, [])
sc(155, "pivot_root", LOCKSTEP, [path("new_root"), path("put_old")])
sc(167, "swapon", LOCKSTEP, [path(), flags("swapflags")])
sc(168, "swapoff", LOCKSTEP, [path()])
# Mount data is file-system specific; it is compared as a string (what almost every file
# system takes), up to its first NUL.
sc(165, "mount", LOCKSTEP,
   [string("source"), path("target"), string("filesystemtype"),
    flags("mountflags", "mount_flags", 8), string("data")])
sc(166, "umount2", LOCKSTEP, [path("target"), flags("flags", "umount_flags")])
sc(428, "open_tree", LOCKSTEP, [dirfd(), path(), flags("flags", "open_tree_flags")], ret=R_FD)
sc(467, "open_tree_attr", LOCKSTEP,
   [dirfd(), path(), flags("flags", "open_tree_flags"), instruct("attr", arg(4)), val("size")],
   ret=R_FD)
sc(429, "move_mount", LOCKSTEP,
   [dirfd("from_dirfd"), path("from_path"), dirfd("to_dirfd"), path("to_path"),
    flags("flags", "move_mount_flags")])
sc(430, "fsopen", LOCKSTEP, [string("fsname"), flags("flags")], ret=R_FD)
sc(431, "fsconfig", LOCKSTEP,
   [fd(), flags("cmd", "fsconfig_cmd"), string("key"), special("value"), i32("aux")],
   special="fsconfig", refuse="EINVAL")
sc(432, "fsmount", LOCKSTEP, [fd("fs_fd"), flags("flags"), flags("attr_flags")], ret=R_FD)
sc(433, "fspick", LOCKSTEP, [dirfd(), path(), flags("flags")], ret=R_FD)
sc(442, "mount_setattr", LOCKSTEP,
   [dirfd(), path(), flags("flags", "at_flags"), instruct("attr", arg(4)), val("size")])
# struct mnt_id_req starts with its u32 size; struct statmount too (what the kernel wrote).
sc(457, "statmount", REPLICATED,
   [instruct("req", field(0)), outbuf("buf", arg(2), written=field(0)), val("bufsize"),
    flags("flags")])
sc(458, "listmount", REPLICATED,
   [instruct("req", field(0)), outbuf("mnt_ids", arg(2, scale=8), written=ret(scale=8)),
    val("nr_mnt_ids"), flags("flags")])
sc(179, "quotactl", LOCKSTEP, [i32("cmd"), path("special"), i32("id"), special("addr")],
   special="quotactl", refuse="EINVAL")
sc(443, "quotactl_fd", LOCKSTEP, [fd(), i32("cmd"), i32("id"), special("addr")],
   special="quotactl", refuse="EINVAL")
sc(175, "init_module", LOCKSTEP,
   [inbuf("module_image", arg(1)), val("len"), string("param_values")])
sc(313, "finit_module", LOCKSTEP, [fd(), string("param_values"), flags("flags")])
sc(176, "delete_module", LOCKSTEP, [string("name"), flags("flags", "open_flags")])
sc(320, "kexec_file_load", LOCKSTEP,
   [fd("kernel_fd"), fd("initrd_fd"), val("cmdline_len"), inbuf("cmdline", arg(2)),
    flags("flags", None, 8)])
# kexec_load's segments point at buffers of the caller: refused (kexec_file_load is comparable).
sc(246, "kexec_load", REFUSED,
   [val("entry"), val("nr_segments"), ignored("segments"), flags("flags", None, 8)],
   refuse="EPERM", why="segments hold pointers to caller buffers; use kexec_file_load")
# Kernel keys: keyrings are kernel objects shared system-wide; changes go through the lockstep.
sc(248, "add_key", LOCKSTEP,
   [string("type"), string("description"), inbuf("payload", arg(3)), val("plen"),
    i32("keyring")])
sc(249, "request_key", LOCKSTEP,
   [string("type"), string("description"), string("callout_info"), i32("dest_keyring")])
sc(250, "keyctl", LOCKSTEP,
   [i32("operation"), special("arg2"), special("arg3"), special("arg4"), special("arg5")],
   special="keyctl", refuse="EOPNOTSUPP")
# bpf attributes are full of pointers (instructions, license, logs, maps): the model cannot
# compare them. EPERM is also what unprivileged callers get on default kernels.
sc(321, "bpf", REFUSED, [i32("cmd"), ignored("attr"), i32("size")], refuse="EPERM",
   why="attributes hold pointers that the model cannot compare")
# Counters measure the leader; their reads are replicated like any read.
sc(298, "perf_event_open", REPLICATED,
   [instruct("attr", field(4, if_zero=64)), pid(), i32("cpu"), fd("group_fd"),
    flags("flags", None, 8)], ret=R_FD)

# ------------------------------------------------------------------------------------------------
# Futexes (local: futex words live in the version's memory, shared only with its own children)
# ------------------------------------------------------------------------------------------------

sc(202, "futex", LOCAL,
   [ignored("uaddr"), flags("futex_op", "futex_op"), i32("val"), special("timeout"),
    ignored("uaddr2"), i32("val3")], special="futex",
   why="the fourth argument is a timeout or a count depending on the operation")
sc(449, "futex_waitv", LOCAL,
   [ignored("waiters"), i32("nr_futexes"), flags("flags"), ignored("timeout"),
    flags("clockid", "clock_id")])
sc(454, "futex_wake", LOCAL, [ignored("uaddr"), val("mask"), i32("nr"), flags("flags")])
sc(455, "futex_wait", LOCAL,
   [ignored("uaddr"), val("val"), val("mask"), flags("flags"), ignored("timeout"),
    flags("clockid", "clock_id")])
sc(456, "futex_requeue", LOCAL,
   [ignored("waiters"), flags("flags"), i32("nr_wake"), i32("nr_requeue")])

# ------------------------------------------------------------------------------------------------
# In the table but without an entry point on x86-64 6.18
# ------------------------------------------------------------------------------------------------

unimplemented(134, "uselib", "removed in 6.1")
unimplemented(156, "_sysctl", "removed in 5.5")
unimplemented(174, "create_module", "removed in 2.6")
unimplemented(177, "get_kernel_syms", "removed in 2.6")
unimplemented(178, "query_module", "removed in 2.6")
unimplemented(180, "nfsservctl", "removed in 3.1")
unimplemented(181, "getpmsg", "never implemented")
unimplemented(182, "putpmsg", "never implemented")
unimplemented(183, "afs_syscall", "never implemented")
unimplemented(184, "tuxcall", "never implemented")
unimplemented(185, "security", "never implemented")
unimplemented(205, "set_thread_area", "32-bit only")
unimplemented(211, "get_thread_area", "32-bit only")
unimplemented(212, "lookup_dcookie", "removed in 6.8")
unimplemented(214, "epoll_ctl_old", "never implemented")
unimplemented(215, "epoll_wait_old", "never implemented")
unimplemented(236, "vserver", "never implemented")

# ------------------------------------------------------------------------------------------------
# Flag sets (x86-64 values of the 6.18 uapi; the build host's headers may be older, so the values
# are written here and cross-checked against the host's headers by the unit tests).
#   FlagSet(kind, items, enum_mask=..., enum_items=...)
#   kind "bits": value printed as NAME|NAME|0x..; items with several bits (O_SYNC) match whole.
#   kind "enum": one of the items.
#   kind "octal": printed as 0644.
#   enum_mask/enum_items: a field inside a bits set that is an enumeration (O_ACCMODE, MAP_TYPE,
#   the exit signal in clone flags): printed first; without items it is printed in octal (the
#   permission bits of IPC flags). zero: the name of the value 0 (F_OK, PROT_NONE). enum_last:
#   print the enumerated field after the bits (clone's exit signal, as strace does).
# ------------------------------------------------------------------------------------------------


class FlagSet:
    def __init__(self, kind, items=(), enum_mask=0, enum_items=(), enum_set=None, zero=None,
                 enum_last=False):
        self.kind, self.items, self.zero, self.enum_last = kind, list(items), zero, enum_last
        self.enum_mask, self.enum_items, self.enum_set = enum_mask, list(enum_items), enum_set


def bits(*items, **kw):
    return FlagSet("bits", items, **kw)


def enum(*items):
    return FlagSet("enum", items)


SIGNALS = [("SIGHUP", 1), ("SIGINT", 2), ("SIGQUIT", 3), ("SIGILL", 4), ("SIGTRAP", 5),
           ("SIGABRT", 6), ("SIGBUS", 7), ("SIGFPE", 8), ("SIGKILL", 9), ("SIGUSR1", 10),
           ("SIGSEGV", 11), ("SIGUSR2", 12), ("SIGPIPE", 13), ("SIGALRM", 14), ("SIGTERM", 15),
           ("SIGSTKFLT", 16), ("SIGCHLD", 17), ("SIGCONT", 18), ("SIGSTOP", 19), ("SIGTSTP", 20),
           ("SIGTTIN", 21), ("SIGTTOU", 22), ("SIGURG", 23), ("SIGXCPU", 24), ("SIGXFSZ", 25),
           ("SIGVTALRM", 26), ("SIGPROF", 27), ("SIGWINCH", 28), ("SIGIO", 29), ("SIGPWR", 30),
           ("SIGSYS", 31)]

ERRNOS = [
    ("EPERM", 1), ("ENOENT", 2), ("ESRCH", 3), ("EINTR", 4), ("EIO", 5), ("ENXIO", 6),
    ("E2BIG", 7), ("ENOEXEC", 8), ("EBADF", 9), ("ECHILD", 10), ("EAGAIN", 11), ("ENOMEM", 12),
    ("EACCES", 13), ("EFAULT", 14), ("ENOTBLK", 15), ("EBUSY", 16), ("EEXIST", 17),
    ("EXDEV", 18), ("ENODEV", 19), ("ENOTDIR", 20), ("EISDIR", 21), ("EINVAL", 22),
    ("ENFILE", 23), ("EMFILE", 24), ("ENOTTY", 25), ("ETXTBSY", 26), ("EFBIG", 27),
    ("ENOSPC", 28), ("ESPIPE", 29), ("EROFS", 30), ("EMLINK", 31), ("EPIPE", 32), ("EDOM", 33),
    ("ERANGE", 34), ("EDEADLK", 35), ("ENAMETOOLONG", 36), ("ENOLCK", 37), ("ENOSYS", 38),
    ("ENOTEMPTY", 39), ("ELOOP", 40), ("ENOMSG", 42), ("EIDRM", 43), ("ECHRNG", 44),
    ("EL2NSYNC", 45), ("EL3HLT", 46), ("EL3RST", 47), ("ELNRNG", 48), ("EUNATCH", 49),
    ("ENOCSI", 50), ("EL2HLT", 51), ("EBADE", 52), ("EBADR", 53), ("EXFULL", 54),
    ("ENOANO", 55), ("EBADRQC", 56), ("EBADSLT", 57), ("EBFONT", 59), ("ENOSTR", 60),
    ("ENODATA", 61), ("ETIME", 62), ("ENOSR", 63), ("ENONET", 64), ("ENOPKG", 65),
    ("EREMOTE", 66), ("ENOLINK", 67), ("EADV", 68), ("ESRMNT", 69), ("ECOMM", 70),
    ("EPROTO", 71), ("EMULTIHOP", 72), ("EDOTDOT", 73), ("EBADMSG", 74), ("EOVERFLOW", 75),
    ("ENOTUNIQ", 76), ("EBADFD", 77), ("EREMCHG", 78), ("ELIBACC", 79), ("ELIBBAD", 80),
    ("ELIBSCN", 81), ("ELIBMAX", 82), ("ELIBEXEC", 83), ("EILSEQ", 84), ("ERESTART", 85),
    ("ESTRPIPE", 86), ("EUSERS", 87), ("ENOTSOCK", 88), ("EDESTADDRREQ", 89),
    ("EMSGSIZE", 90), ("EPROTOTYPE", 91), ("ENOPROTOOPT", 92), ("EPROTONOSUPPORT", 93),
    ("ESOCKTNOSUPPORT", 94), ("EOPNOTSUPP", 95), ("EPFNOSUPPORT", 96), ("EAFNOSUPPORT", 97),
    ("EADDRINUSE", 98), ("EADDRNOTAVAIL", 99), ("ENETDOWN", 100), ("ENETUNREACH", 101),
    ("ENETRESET", 102), ("ECONNABORTED", 103), ("ECONNRESET", 104), ("ENOBUFS", 105),
    ("EISCONN", 106), ("ENOTCONN", 107), ("ESHUTDOWN", 108), ("ETOOMANYREFS", 109),
    ("ETIMEDOUT", 110), ("ECONNREFUSED", 111), ("EHOSTDOWN", 112), ("EHOSTUNREACH", 113),
    ("EALREADY", 114), ("EINPROGRESS", 115), ("ESTALE", 116), ("EUCLEAN", 117),
    ("ENOTNAM", 118), ("ENAVAIL", 119), ("EISNAM", 120), ("EREMOTEIO", 121), ("EDQUOT", 122),
    ("ENOMEDIUM", 123), ("EMEDIUMTYPE", 124), ("ECANCELED", 125), ("ENOKEY", 126),
    ("EKEYEXPIRED", 127), ("EKEYREVOKED", 128), ("EKEYREJECTED", 129), ("EOWNERDEAD", 130),
    ("ENOTRECOVERABLE", 131), ("ERFKILL", 132), ("EHWPOISON", 133),
    # Kernel-internal codes a tracer sees at syscall exit when a signal interrupts a call.
    ("ERESTARTSYS", 512), ("ERESTARTNOINTR", 513), ("ERESTARTNOHAND", 514),
    ("ENOIOCTLCMD", 515), ("ERESTART_RESTARTBLOCK", 516)]

O_CLOEXEC, O_NONBLOCK = 0o2000000, 0o4000
CLONE_BITS = [
    ("CLONE_VM", 0x100), ("CLONE_FS", 0x200), ("CLONE_FILES", 0x400), ("CLONE_SIGHAND", 0x800),
    ("CLONE_PIDFD", 0x1000), ("CLONE_PTRACE", 0x2000), ("CLONE_VFORK", 0x4000),
    ("CLONE_PARENT", 0x8000), ("CLONE_THREAD", 0x10000), ("CLONE_NEWNS", 0x20000),
    ("CLONE_SYSVSEM", 0x40000), ("CLONE_SETTLS", 0x80000), ("CLONE_PARENT_SETTID", 0x100000),
    ("CLONE_CHILD_CLEARTID", 0x200000), ("CLONE_DETACHED", 0x400000),
    ("CLONE_UNTRACED", 0x800000), ("CLONE_CHILD_SETTID", 0x1000000),
    ("CLONE_NEWCGROUP", 0x2000000), ("CLONE_NEWUTS", 0x4000000), ("CLONE_NEWIPC", 0x8000000),
    ("CLONE_NEWUSER", 0x10000000), ("CLONE_NEWPID", 0x20000000), ("CLONE_NEWNET", 0x40000000),
    ("CLONE_IO", 0x80000000), ("CLONE_CLEAR_SIGHAND", 0x100000000),
    ("CLONE_INTO_CGROUP", 0x200000000)]

FLAGSETS = {
    "signal": enum(*SIGNALS),
    "errno": enum(*ERRNOS),
    "mode": FlagSet("octal"),
    "open_flags": bits(
        ("O_TMPFILE", 0o20200000), ("O_SYNC", 0o4010000), ("O_CREAT", 0o100), ("O_EXCL", 0o200),
        ("O_NOCTTY", 0o400), ("O_TRUNC", 0o1000), ("O_APPEND", 0o2000), ("O_NONBLOCK", 0o4000),
        ("O_DSYNC", 0o10000), ("O_ASYNC", 0o20000), ("O_DIRECT", 0o40000),
        ("O_LARGEFILE", 0o100000), ("O_DIRECTORY", 0o200000), ("O_NOFOLLOW", 0o400000),
        ("O_NOATIME", 0o1000000), ("O_CLOEXEC", 0o2000000), ("O_PATH", 0o10000000),
        enum_mask=0o3, enum_items=[("O_RDONLY", 0), ("O_WRONLY", 1), ("O_RDWR", 2)]),
    "cloexec": bits(("O_CLOEXEC", O_CLOEXEC)),
    "nonblock_cloexec": bits(("O_NONBLOCK", O_NONBLOCK), ("O_CLOEXEC", O_CLOEXEC)),
    "pipe_flags": bits(("O_NOTIFICATION_PIPE", 0o200), ("O_NONBLOCK", O_NONBLOCK),
                       ("O_DIRECT", 0o40000), ("O_CLOEXEC", O_CLOEXEC)),
    "eventfd_flags": bits(("EFD_SEMAPHORE", 1), ("EFD_NONBLOCK", O_NONBLOCK),
                          ("EFD_CLOEXEC", O_CLOEXEC)),
    "pidfd_flags": bits(("PIDFD_THREAD", 0o200), ("PIDFD_NONBLOCK", O_NONBLOCK)),
    "at_flags": bits(("AT_SYMLINK_NOFOLLOW", 0x100), ("AT_SYMLINK_FOLLOW", 0x400),
                     ("AT_NO_AUTOMOUNT", 0x800), ("AT_EMPTY_PATH", 0x1000),
                     ("AT_STATX_FORCE_SYNC", 0x2000), ("AT_STATX_DONT_SYNC", 0x4000),
                     ("AT_RECURSIVE", 0x8000)),
    "name_to_handle_flags": bits(("AT_HANDLE_MNT_ID_UNIQUE", 0x1),
                                 ("AT_HANDLE_CONNECTABLE", 0x2), ("AT_HANDLE_FID", 0x200),
                                 ("AT_SYMLINK_FOLLOW", 0x400), ("AT_EMPTY_PATH", 0x1000)),
    "unlinkat_flags": bits(("AT_REMOVEDIR", 0x200)),
    "faccessat_flags": bits(("AT_SYMLINK_NOFOLLOW", 0x100), ("AT_EACCESS", 0x200),
                            ("AT_EMPTY_PATH", 0x1000)),
    "access_mode": bits(("R_OK", 4), ("W_OK", 2), ("X_OK", 1), zero="F_OK"),
    "whence": enum(("SEEK_SET", 0), ("SEEK_CUR", 1), ("SEEK_END", 2), ("SEEK_DATA", 3),
                   ("SEEK_HOLE", 4)),
    "renameat2_flags": bits(("RENAME_NOREPLACE", 1), ("RENAME_EXCHANGE", 2),
                            ("RENAME_WHITEOUT", 4)),
    "xattr_flags": bits(("XATTR_CREATE", 1), ("XATTR_REPLACE", 2)),
    "statx_mask": bits(("STATX_BASIC_STATS", 0x7ff), ("STATX_TYPE", 0x1), ("STATX_MODE", 0x2),
                       ("STATX_NLINK", 0x4), ("STATX_UID", 0x8), ("STATX_GID", 0x10),
                       ("STATX_ATIME", 0x20), ("STATX_MTIME", 0x40), ("STATX_CTIME", 0x80),
                       ("STATX_INO", 0x100), ("STATX_SIZE", 0x200), ("STATX_BLOCKS", 0x400),
                       ("STATX_BTIME", 0x800), ("STATX_MNT_ID", 0x1000),
                       ("STATX_DIOALIGN", 0x2000), ("STATX_MNT_ID_UNIQUE", 0x4000),
                       ("STATX_SUBVOL", 0x8000), ("STATX_WRITE_ATOMIC", 0x10000),
                       ("STATX_DIO_READ_ALIGN", 0x20000)),
    "close_range_flags": bits(("CLOSE_RANGE_UNSHARE", 2), ("CLOSE_RANGE_CLOEXEC", 4)),
    "memfd_flags": bits(("MFD_CLOEXEC", 1), ("MFD_ALLOW_SEALING", 2), ("MFD_HUGETLB", 4),
                        ("MFD_NOEXEC_SEAL", 8), ("MFD_EXEC", 0x10)),
    "fallocate_mode": bits(("FALLOC_FL_KEEP_SIZE", 1), ("FALLOC_FL_PUNCH_HOLE", 2),
                           ("FALLOC_FL_NO_HIDE_STALE", 4), ("FALLOC_FL_COLLAPSE_RANGE", 8),
                           ("FALLOC_FL_ZERO_RANGE", 0x10), ("FALLOC_FL_INSERT_RANGE", 0x20),
                           ("FALLOC_FL_UNSHARE_RANGE", 0x40),
                           ("FALLOC_FL_WRITE_ZEROES", 0x80)),
    "flock_op": bits(("LOCK_SH", 1), ("LOCK_EX", 2), ("LOCK_NB", 4), ("LOCK_UN", 8)),
    "splice_flags": bits(("SPLICE_F_MOVE", 1), ("SPLICE_F_NONBLOCK", 2), ("SPLICE_F_MORE", 4),
                         ("SPLICE_F_GIFT", 8)),
    "rwf_flags": bits(("RWF_HIPRI", 1), ("RWF_DSYNC", 2), ("RWF_SYNC", 4), ("RWF_NOWAIT", 8),
                      ("RWF_APPEND", 0x10), ("RWF_NOAPPEND", 0x20), ("RWF_ATOMIC", 0x40),
                      ("RWF_DONTCACHE", 0x80)),
    "inotify_mask": bits(
        ("IN_ACCESS", 0x1), ("IN_MODIFY", 0x2), ("IN_ATTRIB", 0x4), ("IN_CLOSE_WRITE", 0x8),
        ("IN_CLOSE_NOWRITE", 0x10), ("IN_OPEN", 0x20), ("IN_MOVED_FROM", 0x40),
        ("IN_MOVED_TO", 0x80), ("IN_CREATE", 0x100), ("IN_DELETE", 0x200),
        ("IN_DELETE_SELF", 0x400), ("IN_MOVE_SELF", 0x800), ("IN_UNMOUNT", 0x2000),
        ("IN_Q_OVERFLOW", 0x4000), ("IN_IGNORED", 0x8000), ("IN_ONLYDIR", 0x1000000),
        ("IN_DONT_FOLLOW", 0x2000000), ("IN_EXCL_UNLINK", 0x4000000),
        ("IN_MASK_CREATE", 0x10000000), ("IN_MASK_ADD", 0x20000000), ("IN_ISDIR", 0x40000000),
        ("IN_ONESHOT", 0x80000000)),
    "fcntl_cmd": enum(
        ("F_DUPFD", 0), ("F_GETFD", 1), ("F_SETFD", 2), ("F_GETFL", 3), ("F_SETFL", 4),
        ("F_GETLK", 5), ("F_SETLK", 6), ("F_SETLKW", 7), ("F_SETOWN", 8), ("F_GETOWN", 9),
        ("F_SETSIG", 10), ("F_GETSIG", 11), ("F_SETOWN_EX", 15), ("F_GETOWN_EX", 16),
        ("F_GETOWNER_UIDS", 17), ("F_OFD_GETLK", 36), ("F_OFD_SETLK", 37),
        ("F_OFD_SETLKW", 38), ("F_SETLEASE", 1024), ("F_GETLEASE", 1025), ("F_NOTIFY", 1026),
        ("F_DUPFD_QUERY", 1027), ("F_CREATED_QUERY", 1028), ("F_CANCELLK", 1029),
        ("F_DUPFD_CLOEXEC", 1030), ("F_SETPIPE_SZ", 1031), ("F_GETPIPE_SZ", 1032),
        ("F_ADD_SEALS", 1033), ("F_GET_SEALS", 1034), ("F_GET_RW_HINT", 1035),
        ("F_SET_RW_HINT", 1036), ("F_GET_FILE_RW_HINT", 1037), ("F_SET_FILE_RW_HINT", 1038)),
    "mmap_prot": bits(("PROT_READ", 1), ("PROT_WRITE", 2), ("PROT_EXEC", 4), ("PROT_SEM", 8),
                      ("PROT_GROWSDOWN", 0x01000000), ("PROT_GROWSUP", 0x02000000),
                      zero="PROT_NONE"),
    "mmap_flags": bits(
        ("MAP_FIXED", 0x10), ("MAP_ANONYMOUS", 0x20), ("MAP_32BIT", 0x40),
        ("MAP_GROWSDOWN", 0x100), ("MAP_DENYWRITE", 0x800), ("MAP_EXECUTABLE", 0x1000),
        ("MAP_LOCKED", 0x2000), ("MAP_NORESERVE", 0x4000), ("MAP_POPULATE", 0x8000),
        ("MAP_NONBLOCK", 0x10000), ("MAP_STACK", 0x20000), ("MAP_HUGETLB", 0x40000),
        ("MAP_SYNC", 0x80000), ("MAP_FIXED_NOREPLACE", 0x100000),
        ("MAP_UNINITIALIZED", 0x4000000),
        enum_mask=0xf, enum_items=[("MAP_SHARED", 1), ("MAP_PRIVATE", 2),
                                   ("MAP_SHARED_VALIDATE", 3), ("MAP_DROPPABLE", 8)]),
    "mremap_flags": bits(("MREMAP_MAYMOVE", 1), ("MREMAP_FIXED", 2), ("MREMAP_DONTUNMAP", 4)),
    "msync_flags": bits(("MS_ASYNC", 1), ("MS_INVALIDATE", 2), ("MS_SYNC", 4)),
    "mlock_flags": bits(("MLOCK_ONFAULT", 1)),
    "mlockall_flags": bits(("MCL_CURRENT", 1), ("MCL_FUTURE", 2), ("MCL_ONFAULT", 4)),
    "madvise_advice": enum(
        ("MADV_NORMAL", 0), ("MADV_RANDOM", 1), ("MADV_SEQUENTIAL", 2), ("MADV_WILLNEED", 3),
        ("MADV_DONTNEED", 4), ("MADV_FREE", 8), ("MADV_REMOVE", 9), ("MADV_DONTFORK", 10),
        ("MADV_DOFORK", 11), ("MADV_MERGEABLE", 12), ("MADV_UNMERGEABLE", 13),
        ("MADV_HUGEPAGE", 14), ("MADV_NOHUGEPAGE", 15), ("MADV_DONTDUMP", 16),
        ("MADV_DODUMP", 17), ("MADV_WIPEONFORK", 18), ("MADV_KEEPONFORK", 19),
        ("MADV_COLD", 20), ("MADV_PAGEOUT", 21), ("MADV_POPULATE_READ", 22),
        ("MADV_POPULATE_WRITE", 23), ("MADV_DONTNEED_LOCKED", 24), ("MADV_COLLAPSE", 25),
        ("MADV_HWPOISON", 100), ("MADV_SOFT_OFFLINE", 101), ("MADV_GUARD_INSTALL", 102),
        ("MADV_GUARD_REMOVE", 103)),
    "clone_flags": bits(*CLONE_BITS, enum_mask=0xff, enum_set="signal", enum_last=True),
    "unshare_flags": bits(("CLONE_NEWTIME", 0x80), *CLONE_BITS),
    "wait_options": bits(("WNOHANG", 1), ("WUNTRACED", 2), ("WEXITED", 4), ("WCONTINUED", 8),
                         ("WNOWAIT", 0x1000000), ("__WNOTHREAD", 0x20000000),
                         ("__WALL", 0x40000000), ("__WCLONE", 0x80000000)),
    "idtype": enum(("P_ALL", 0), ("P_PID", 1), ("P_PGID", 2), ("P_PIDFD", 3)),
    "sigprocmask_how": enum(("SIG_BLOCK", 0), ("SIG_UNBLOCK", 1), ("SIG_SETMASK", 2)),
    "sa_flags": bits(("SA_NOCLDSTOP", 1), ("SA_NOCLDWAIT", 2), ("SA_SIGINFO", 4),
                     ("SA_UNSUPPORTED", 0x400), ("SA_EXPOSE_TAGBITS", 0x800),
                     ("SA_RESTORER", 0x04000000), ("SA_ONSTACK", 0x08000000),
                     ("SA_RESTART", 0x10000000), ("SA_NODEFER", 0x40000000),
                     ("SA_RESETHAND", 0x80000000)),
    "futex_op": bits(
        ("FUTEX_PRIVATE_FLAG", 128), ("FUTEX_CLOCK_REALTIME", 256), enum_mask=0x7f,
        enum_items=[("FUTEX_WAIT", 0), ("FUTEX_WAKE", 1), ("FUTEX_FD", 2),
                    ("FUTEX_REQUEUE", 3), ("FUTEX_CMP_REQUEUE", 4), ("FUTEX_WAKE_OP", 5),
                    ("FUTEX_LOCK_PI", 6), ("FUTEX_UNLOCK_PI", 7), ("FUTEX_TRYLOCK_PI", 8),
                    ("FUTEX_WAIT_BITSET", 9), ("FUTEX_WAKE_BITSET", 10),
                    ("FUTEX_WAIT_REQUEUE_PI", 11), ("FUTEX_CMP_REQUEUE_PI", 12),
                    ("FUTEX_LOCK_PI2", 13)]),
    "rlimit_resource": enum(
        ("RLIMIT_CPU", 0), ("RLIMIT_FSIZE", 1), ("RLIMIT_DATA", 2), ("RLIMIT_STACK", 3),
        ("RLIMIT_CORE", 4), ("RLIMIT_RSS", 5), ("RLIMIT_NPROC", 6), ("RLIMIT_NOFILE", 7),
        ("RLIMIT_MEMLOCK", 8), ("RLIMIT_AS", 9), ("RLIMIT_LOCKS", 10), ("RLIMIT_SIGPENDING", 11),
        ("RLIMIT_MSGQUEUE", 12), ("RLIMIT_NICE", 13), ("RLIMIT_RTPRIO", 14),
        ("RLIMIT_RTTIME", 15)),
    "rusage_who": enum(("RUSAGE_SELF", 0), ("RUSAGE_THREAD", 1),
                       ("RUSAGE_CHILDREN", 0xffffffff)),
    "priority_which": enum(("PRIO_PROCESS", 0), ("PRIO_PGRP", 1), ("PRIO_USER", 2)),
    "sched_policy": bits(("SCHED_RESET_ON_FORK", 0x40000000), enum_mask=0xff,
                         enum_items=[("SCHED_OTHER", 0), ("SCHED_FIFO", 1), ("SCHED_RR", 2),
                                     ("SCHED_BATCH", 3), ("SCHED_IDLE", 5),
                                     ("SCHED_DEADLINE", 6), ("SCHED_EXT", 7)]),
    "itimer_which": enum(("ITIMER_REAL", 0), ("ITIMER_VIRTUAL", 1), ("ITIMER_PROF", 2)),
    "clock_id": enum(("CLOCK_REALTIME", 0), ("CLOCK_MONOTONIC", 1),
                     ("CLOCK_PROCESS_CPUTIME_ID", 2), ("CLOCK_THREAD_CPUTIME_ID", 3),
                     ("CLOCK_MONOTONIC_RAW", 4), ("CLOCK_REALTIME_COARSE", 5),
                     ("CLOCK_MONOTONIC_COARSE", 6), ("CLOCK_BOOTTIME", 7),
                     ("CLOCK_REALTIME_ALARM", 8), ("CLOCK_BOOTTIME_ALARM", 9), ("CLOCK_TAI", 11)),
    "timer_flags": bits(("TIMER_ABSTIME", 1)),
    "timerfd_flags": bits(("TFD_TIMER_ABSTIME", 1), ("TFD_TIMER_CANCEL_ON_SET", 2)),
    "getrandom_flags": bits(("GRND_NONBLOCK", 1), ("GRND_RANDOM", 2), ("GRND_INSECURE", 4)),
    "poll_events": bits(("POLLIN", 0x1), ("POLLPRI", 0x2), ("POLLOUT", 0x4), ("POLLERR", 0x8),
                        ("POLLHUP", 0x10), ("POLLNVAL", 0x20), ("POLLRDNORM", 0x40),
                        ("POLLRDBAND", 0x80), ("POLLWRNORM", 0x100), ("POLLWRBAND", 0x200),
                        ("POLLMSG", 0x400), ("POLLREMOVE", 0x1000), ("POLLRDHUP", 0x2000)),
    "epoll_events": bits(("EPOLLIN", 0x1), ("EPOLLPRI", 0x2), ("EPOLLOUT", 0x4),
                         ("EPOLLERR", 0x8), ("EPOLLHUP", 0x10), ("EPOLLNVAL", 0x20),
                         ("EPOLLRDNORM", 0x40), ("EPOLLRDBAND", 0x80), ("EPOLLWRNORM", 0x100),
                         ("EPOLLWRBAND", 0x200), ("EPOLLMSG", 0x400), ("EPOLLRDHUP", 0x2000),
                         ("EPOLL_URING_WAKE", 1 << 27), ("EPOLLEXCLUSIVE", 1 << 28),
                         ("EPOLLWAKEUP", 1 << 29), ("EPOLLONESHOT", 1 << 30),
                         ("EPOLLET", 1 << 31)),
    "epoll_op": enum(("EPOLL_CTL_ADD", 1), ("EPOLL_CTL_DEL", 2), ("EPOLL_CTL_MOD", 3)),
    "socket_domain": enum(
        ("AF_UNSPEC", 0), ("AF_UNIX", 1), ("AF_INET", 2), ("AF_AX25", 3), ("AF_IPX", 4),
        ("AF_APPLETALK", 5), ("AF_X25", 9), ("AF_INET6", 10), ("AF_KEY", 15),
        ("AF_NETLINK", 16), ("AF_PACKET", 17), ("AF_RDS", 21), ("AF_LLC", 26), ("AF_IB", 27),
        ("AF_MPLS", 28), ("AF_CAN", 29), ("AF_TIPC", 30), ("AF_BLUETOOTH", 31),
        ("AF_ALG", 38), ("AF_NFC", 39), ("AF_VSOCK", 40), ("AF_KCM", 41), ("AF_QIPCRTR", 42),
        ("AF_SMC", 43), ("AF_XDP", 44), ("AF_MCTP", 45)),
    "socket_type": bits(("SOCK_NONBLOCK", O_NONBLOCK), ("SOCK_CLOEXEC", O_CLOEXEC),
                        enum_mask=0xf,
                        enum_items=[("SOCK_STREAM", 1), ("SOCK_DGRAM", 2), ("SOCK_RAW", 3),
                                    ("SOCK_RDM", 4), ("SOCK_SEQPACKET", 5), ("SOCK_DCCP", 6),
                                    ("SOCK_PACKET", 10)]),
    "msg_flags": bits(("MSG_OOB", 0x1), ("MSG_PEEK", 0x2), ("MSG_DONTROUTE", 0x4),
                      ("MSG_CTRUNC", 0x8), ("MSG_PROXY", 0x10), ("MSG_TRUNC", 0x20),
                      ("MSG_DONTWAIT", 0x40), ("MSG_EOR", 0x80), ("MSG_WAITALL", 0x100),
                      ("MSG_FIN", 0x200), ("MSG_SYN", 0x400), ("MSG_CONFIRM", 0x800),
                      ("MSG_RST", 0x1000), ("MSG_ERRQUEUE", 0x2000), ("MSG_NOSIGNAL", 0x4000),
                      ("MSG_MORE", 0x8000), ("MSG_WAITFORONE", 0x10000), ("MSG_BATCH", 0x40000),
                      ("MSG_SOCK_DEVMEM", 0x2000000), ("MSG_ZEROCOPY", 0x4000000),
                      ("MSG_FASTOPEN", 0x20000000), ("MSG_CMSG_CLOEXEC", 0x40000000)),
    "shutdown_how": enum(("SHUT_RD", 0), ("SHUT_WR", 1), ("SHUT_RDWR", 2)),
    "sockopt_level": enum(("IPPROTO_IP", 0), ("SOL_SOCKET", 1), ("IPPROTO_TCP", 6),
                          ("IPPROTO_UDP", 17), ("IPPROTO_IPV6", 41), ("IPPROTO_ICMPV6", 58),
                          ("IPPROTO_SCTP", 132), ("SOL_RAW", 255), ("SOL_PACKET", 263),
                          ("SOL_NETLINK", 270), ("SOL_ALG", 279), ("SOL_TLS", 282),
                          ("SOL_XDP", 283)),
    "sockopt_socket": enum(
        ("SO_DEBUG", 1), ("SO_REUSEADDR", 2), ("SO_TYPE", 3), ("SO_ERROR", 4),
        ("SO_DONTROUTE", 5), ("SO_BROADCAST", 6), ("SO_SNDBUF", 7), ("SO_RCVBUF", 8),
        ("SO_KEEPALIVE", 9), ("SO_OOBINLINE", 10), ("SO_NO_CHECK", 11), ("SO_PRIORITY", 12),
        ("SO_LINGER", 13), ("SO_BSDCOMPAT", 14), ("SO_REUSEPORT", 15), ("SO_PASSCRED", 16),
        ("SO_PEERCRED", 17), ("SO_RCVLOWAT", 18), ("SO_SNDLOWAT", 19), ("SO_RCVTIMEO_OLD", 20),
        ("SO_SNDTIMEO_OLD", 21), ("SO_BINDTODEVICE", 25), ("SO_ATTACH_FILTER", 26),
        ("SO_DETACH_FILTER", 27), ("SO_PEERNAME", 28), ("SO_TIMESTAMP_OLD", 29),
        ("SO_ACCEPTCONN", 30), ("SO_PEERSEC", 31), ("SO_SNDBUFFORCE", 32),
        ("SO_RCVBUFFORCE", 33), ("SO_PASSSEC", 34), ("SO_TIMESTAMPNS_OLD", 35), ("SO_MARK", 36),
        ("SO_TIMESTAMPING_OLD", 37), ("SO_PROTOCOL", 38), ("SO_DOMAIN", 39),
        ("SO_RXQ_OVFL", 40), ("SO_WIFI_STATUS", 41), ("SO_PEEK_OFF", 42), ("SO_NOFCS", 43),
        ("SO_LOCK_FILTER", 44), ("SO_SELECT_ERR_QUEUE", 45), ("SO_BUSY_POLL", 46),
        ("SO_MAX_PACING_RATE", 47), ("SO_BPF_EXTENSIONS", 48), ("SO_INCOMING_CPU", 49),
        ("SO_ATTACH_BPF", 50), ("SO_ATTACH_REUSEPORT_CBPF", 51),
        ("SO_ATTACH_REUSEPORT_EBPF", 52), ("SO_CNX_ADVICE", 53), ("SO_MEMINFO", 55),
        ("SO_INCOMING_NAPI_ID", 56), ("SO_COOKIE", 57), ("SO_PEERGROUPS", 59),
        ("SO_ZEROCOPY", 60), ("SO_TXTIME", 61), ("SO_BINDTOIFINDEX", 62),
        ("SO_TIMESTAMP_NEW", 63), ("SO_TIMESTAMPNS_NEW", 64), ("SO_TIMESTAMPING_NEW", 65),
        ("SO_RCVTIMEO_NEW", 66), ("SO_SNDTIMEO_NEW", 67), ("SO_DETACH_REUSEPORT_BPF", 68),
        ("SO_PREFER_BUSY_POLL", 69), ("SO_BUSY_POLL_BUDGET", 70), ("SO_NETNS_COOKIE", 71),
        ("SO_BUF_LOCK", 72), ("SO_RESERVE_MEM", 73), ("SO_TXREHASH", 74), ("SO_RCVMARK", 75),
        ("SO_PASSPIDFD", 76), ("SO_PEERPIDFD", 77)),
    "sockopt_tcp": enum(
        ("TCP_NODELAY", 1), ("TCP_MAXSEG", 2), ("TCP_CORK", 3), ("TCP_KEEPIDLE", 4),
        ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 6), ("TCP_SYNCNT", 7), ("TCP_LINGER2", 8),
        ("TCP_DEFER_ACCEPT", 9), ("TCP_WINDOW_CLAMP", 10), ("TCP_INFO", 11),
        ("TCP_QUICKACK", 12), ("TCP_CONGESTION", 13), ("TCP_MD5SIG", 14),
        ("TCP_USER_TIMEOUT", 18), ("TCP_FASTOPEN", 23), ("TCP_NOTSENT_LOWAT", 25),
        ("TCP_FASTOPEN_CONNECT", 30), ("TCP_ULP", 31)),
    "sockopt_ip": enum(
        ("IP_TOS", 1), ("IP_TTL", 2), ("IP_HDRINCL", 3), ("IP_OPTIONS", 4), ("IP_PKTINFO", 8),
        ("IP_MTU_DISCOVER", 10), ("IP_RECVERR", 11), ("IP_RECVTOS", 13), ("IP_FREEBIND", 15),
        ("IP_TRANSPARENT", 19), ("IP_BIND_ADDRESS_NO_PORT", 24), ("IP_MULTICAST_IF", 32),
        ("IP_MULTICAST_TTL", 33), ("IP_MULTICAST_LOOP", 34), ("IP_ADD_MEMBERSHIP", 35),
        ("IP_DROP_MEMBERSHIP", 36)),
    "sockopt_ipv6": enum(
        ("IPV6_UNICAST_HOPS", 16), ("IPV6_MULTICAST_IF", 17), ("IPV6_MULTICAST_HOPS", 18),
        ("IPV6_MULTICAST_LOOP", 19), ("IPV6_JOIN_GROUP", 20), ("IPV6_LEAVE_GROUP", 21),
        ("IPV6_MTU_DISCOVER", 23), ("IPV6_RECVERR", 25), ("IPV6_V6ONLY", 26),
        ("IPV6_RECVPKTINFO", 49), ("IPV6_TCLASS", 67)),
    "ipc_flags": bits(("IPC_CREAT", 0o1000), ("IPC_EXCL", 0o2000), ("IPC_NOWAIT", 0o4000),
                      ("MSG_NOERROR", 0o10000), ("MSG_EXCEPT", 0o20000), ("MSG_COPY", 0o40000),
                      enum_mask=0o777),
    "shmctl_cmd": bits(("IPC_64", 0x100), enum_mask=0xff, enum_items=[
        ("IPC_RMID", 0), ("IPC_SET", 1), ("IPC_STAT", 2), ("IPC_INFO", 3), ("SHM_LOCK", 11),
        ("SHM_UNLOCK", 12), ("SHM_STAT", 13), ("SHM_INFO", 14), ("SHM_STAT_ANY", 15)]),
    "msgctl_cmd": bits(("IPC_64", 0x100), enum_mask=0xff, enum_items=[
        ("IPC_RMID", 0), ("IPC_SET", 1), ("IPC_STAT", 2), ("IPC_INFO", 3), ("MSG_STAT", 11),
        ("MSG_INFO", 12), ("MSG_STAT_ANY", 13)]),
    "semctl_cmd": bits(("IPC_64", 0x100), enum_mask=0xff, enum_items=[
        ("IPC_RMID", 0), ("IPC_SET", 1), ("IPC_STAT", 2), ("IPC_INFO", 3), ("GETPID", 11),
        ("GETVAL", 12), ("GETALL", 13), ("GETNCNT", 14), ("GETZCNT", 15), ("SETVAL", 16),
        ("SETALL", 17), ("SEM_STAT", 18), ("SEM_INFO", 19), ("SEM_STAT_ANY", 20)]),
    "mount_flags": bits(
        ("MS_RDONLY", 1), ("MS_NOSUID", 2), ("MS_NODEV", 4), ("MS_NOEXEC", 8),
        ("MS_SYNCHRONOUS", 16), ("MS_REMOUNT", 32), ("MS_MANDLOCK", 64), ("MS_DIRSYNC", 128),
        ("MS_NOSYMFOLLOW", 256), ("MS_NOATIME", 1024), ("MS_NODIRATIME", 2048),
        ("MS_BIND", 4096), ("MS_MOVE", 8192), ("MS_REC", 16384), ("MS_SILENT", 32768),
        ("MS_POSIXACL", 1 << 16), ("MS_UNBINDABLE", 1 << 17), ("MS_PRIVATE", 1 << 18),
        ("MS_SLAVE", 1 << 19), ("MS_SHARED", 1 << 20), ("MS_RELATIME", 1 << 21),
        ("MS_KERNMOUNT", 1 << 22), ("MS_I_VERSION", 1 << 23), ("MS_STRICTATIME", 1 << 24),
        ("MS_LAZYTIME", 1 << 25)),
    "umount_flags": bits(("MNT_FORCE", 1), ("MNT_DETACH", 2), ("MNT_EXPIRE", 4),
                         ("UMOUNT_NOFOLLOW", 8)),
    "open_tree_flags": bits(("OPEN_TREE_CLONE", 1), ("AT_SYMLINK_NOFOLLOW", 0x100),
                            ("AT_NO_AUTOMOUNT", 0x800), ("AT_EMPTY_PATH", 0x1000),
                            ("AT_RECURSIVE", 0x8000), ("OPEN_TREE_CLOEXEC", O_CLOEXEC)),
    "move_mount_flags": bits(("MOVE_MOUNT_F_SYMLINKS", 1), ("MOVE_MOUNT_F_AUTOMOUNTS", 2),
                             ("MOVE_MOUNT_F_EMPTY_PATH", 4), ("MOVE_MOUNT_T_SYMLINKS", 0x10),
                             ("MOVE_MOUNT_T_AUTOMOUNTS", 0x20),
                             ("MOVE_MOUNT_T_EMPTY_PATH", 0x40), ("MOVE_MOUNT_SET_GROUP", 0x100),
                             ("MOVE_MOUNT_BENEATH", 0x200)),
    "fsconfig_cmd": enum(("FSCONFIG_SET_FLAG", 0), ("FSCONFIG_SET_STRING", 1),
                         ("FSCONFIG_SET_BINARY", 2), ("FSCONFIG_SET_PATH", 3),
                         ("FSCONFIG_SET_PATH_EMPTY", 4), ("FSCONFIG_SET_FD", 5),
                         ("FSCONFIG_CMD_CREATE", 6), ("FSCONFIG_CMD_RECONFIGURE", 7),
                         ("FSCONFIG_CMD_CREATE_EXCL", 8)),
    "seccomp_op": enum(("SECCOMP_SET_MODE_STRICT", 0), ("SECCOMP_SET_MODE_FILTER", 1),
                       ("SECCOMP_GET_ACTION_AVAIL", 2), ("SECCOMP_GET_NOTIF_SIZES", 3)),
    "landlock_rule_type": enum(("LANDLOCK_RULE_PATH_BENEATH", 1),
                               ("LANDLOCK_RULE_NET_PORT", 2)),
    "arch_prctl_code": enum(
        ("ARCH_SET_GS", 0x1001), ("ARCH_SET_FS", 0x1002), ("ARCH_GET_FS", 0x1003),
        ("ARCH_GET_GS", 0x1004), ("ARCH_GET_CPUID", 0x1011), ("ARCH_SET_CPUID", 0x1012),
        ("ARCH_GET_XCOMP_SUPP", 0x1021), ("ARCH_GET_XCOMP_PERM", 0x1022),
        ("ARCH_REQ_XCOMP_PERM", 0x1023), ("ARCH_GET_XCOMP_GUEST_PERM", 0x1024),
        ("ARCH_REQ_XCOMP_GUEST_PERM", 0x1025), ("ARCH_MAP_VDSO_X32", 0x2001),
        ("ARCH_MAP_VDSO_32", 0x2002), ("ARCH_MAP_VDSO_64", 0x2003),
        ("ARCH_GET_UNTAG_MASK", 0x4001), ("ARCH_ENABLE_TAGGED_ADDR", 0x4002),
        ("ARCH_GET_MAX_TAG_BITS", 0x4003), ("ARCH_FORCE_TAGGED_SVA", 0x4004),
        ("ARCH_SHSTK_ENABLE", 0x5001), ("ARCH_SHSTK_DISABLE", 0x5002),
        ("ARCH_SHSTK_LOCK", 0x5003), ("ARCH_SHSTK_UNLOCK", 0x5004),
        ("ARCH_SHSTK_STATUS", 0x5005)),
    "prctl_option": enum(
        ("PR_SET_PDEATHSIG", 1), ("PR_GET_PDEATHSIG", 2), ("PR_GET_DUMPABLE", 3),
        ("PR_SET_DUMPABLE", 4), ("PR_GET_UNALIGN", 5), ("PR_SET_UNALIGN", 6),
        ("PR_GET_KEEPCAPS", 7), ("PR_SET_KEEPCAPS", 8), ("PR_GET_FPEMU", 9),
        ("PR_SET_FPEMU", 10), ("PR_GET_FPEXC", 11), ("PR_SET_FPEXC", 12), ("PR_GET_TIMING", 13),
        ("PR_SET_TIMING", 14), ("PR_SET_NAME", 15), ("PR_GET_NAME", 16), ("PR_GET_ENDIAN", 19),
        ("PR_SET_ENDIAN", 20), ("PR_GET_SECCOMP", 21), ("PR_SET_SECCOMP", 22),
        ("PR_CAPBSET_READ", 23), ("PR_CAPBSET_DROP", 24), ("PR_GET_TSC", 25),
        ("PR_SET_TSC", 26), ("PR_GET_SECUREBITS", 27), ("PR_SET_SECUREBITS", 28),
        ("PR_SET_TIMERSLACK", 29), ("PR_GET_TIMERSLACK", 30),
        ("PR_TASK_PERF_EVENTS_DISABLE", 31), ("PR_TASK_PERF_EVENTS_ENABLE", 32),
        ("PR_MCE_KILL", 33), ("PR_MCE_KILL_GET", 34), ("PR_SET_MM", 35),
        ("PR_SET_CHILD_SUBREAPER", 36), ("PR_GET_CHILD_SUBREAPER", 37),
        ("PR_SET_NO_NEW_PRIVS", 38), ("PR_GET_NO_NEW_PRIVS", 39), ("PR_GET_TID_ADDRESS", 40),
        ("PR_SET_THP_DISABLE", 41), ("PR_GET_THP_DISABLE", 42), ("PR_MPX_ENABLE_MANAGEMENT", 43),
        ("PR_MPX_DISABLE_MANAGEMENT", 44), ("PR_SET_FP_MODE", 45), ("PR_GET_FP_MODE", 46),
        ("PR_CAP_AMBIENT", 47), ("PR_SVE_SET_VL", 50), ("PR_SVE_GET_VL", 51),
        ("PR_GET_SPECULATION_CTRL", 52), ("PR_SET_SPECULATION_CTRL", 53),
        ("PR_PAC_RESET_KEYS", 54), ("PR_SET_TAGGED_ADDR_CTRL", 55),
        ("PR_GET_TAGGED_ADDR_CTRL", 56), ("PR_SET_IO_FLUSHER", 57), ("PR_GET_IO_FLUSHER", 58),
        ("PR_SET_SYSCALL_USER_DISPATCH", 59), ("PR_PAC_SET_ENABLED_KEYS", 60),
        ("PR_PAC_GET_ENABLED_KEYS", 61), ("PR_SCHED_CORE", 62), ("PR_SME_SET_VL", 63),
        ("PR_SME_GET_VL", 64), ("PR_SET_MDWE", 65), ("PR_GET_MDWE", 66),
        ("PR_SET_MEMORY_MERGE", 67), ("PR_GET_MEMORY_MERGE", 68), ("PR_RISCV_V_SET_CONTROL", 69),
        ("PR_RISCV_V_GET_CONTROL", 70), ("PR_RISCV_SET_ICACHE_FLUSH_CTX", 71),
        ("PR_PPC_GET_DEXCR", 72), ("PR_PPC_SET_DEXCR", 73),
        ("PR_GET_SHADOW_STACK_STATUS", 74), ("PR_SET_SHADOW_STACK_STATUS", 75),
        ("PR_LOCK_SHADOW_STACK_STATUS", 76), ("PR_TIMER_CREATE_RESTORE_IDS", 77),
        ("PR_FUTEX_HASH", 78), ("PR_SET_VMA", 0x53564d41), ("PR_SET_PTRACER", 0x59616d61)),
    "ptrace_request": enum(
        ("PTRACE_TRACEME", 0), ("PTRACE_PEEKTEXT", 1), ("PTRACE_PEEKDATA", 2),
        ("PTRACE_PEEKUSER", 3), ("PTRACE_POKETEXT", 4), ("PTRACE_POKEDATA", 5),
        ("PTRACE_POKEUSER", 6), ("PTRACE_CONT", 7), ("PTRACE_KILL", 8),
        ("PTRACE_SINGLESTEP", 9), ("PTRACE_GETREGS", 12), ("PTRACE_SETREGS", 13),
        ("PTRACE_GETFPREGS", 14), ("PTRACE_SETFPREGS", 15), ("PTRACE_ATTACH", 16),
        ("PTRACE_DETACH", 17), ("PTRACE_GETFPXREGS", 18), ("PTRACE_SETFPXREGS", 19),
        ("PTRACE_SYSCALL", 24), ("PTRACE_ARCH_PRCTL", 30), ("PTRACE_SYSEMU", 31),
        ("PTRACE_SYSEMU_SINGLESTEP", 32), ("PTRACE_SINGLEBLOCK", 33),
        ("PTRACE_SETOPTIONS", 0x4200), ("PTRACE_GETEVENTMSG", 0x4201),
        ("PTRACE_GETSIGINFO", 0x4202), ("PTRACE_SETSIGINFO", 0x4203),
        ("PTRACE_GETREGSET", 0x4204), ("PTRACE_SETREGSET", 0x4205), ("PTRACE_SEIZE", 0x4206),
        ("PTRACE_INTERRUPT", 0x4207), ("PTRACE_LISTEN", 0x4208),
        ("PTRACE_PEEKSIGINFO", 0x4209), ("PTRACE_GETSIGMASK", 0x420a),
        ("PTRACE_SETSIGMASK", 0x420b), ("PTRACE_SECCOMP_GET_FILTER", 0x420c),
        ("PTRACE_SECCOMP_GET_METADATA", 0x420d), ("PTRACE_GET_SYSCALL_INFO", 0x420e),
        ("PTRACE_GET_RSEQ_CONFIGURATION", 0x420f),
        ("PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG", 0x4210),
        ("PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG", 0x4211),
        ("PTRACE_SET_SYSCALL_INFO", 0x4212)),
    # Names for the ioctl requests the ioctl family knows (encoded ones are printed by their
    # _IOC fields when unknown).
    "ioctl_request": enum(
        ("TCGETS", 0x5401), ("TCSETS", 0x5402), ("TCSETSW", 0x5403), ("TCSETSF", 0x5404),
        ("TCGETA", 0x5405), ("TCSETA", 0x5406), ("TCSETAW", 0x5407), ("TCSETAF", 0x5408),
        ("TCSBRK", 0x5409), ("TCXONC", 0x540a), ("TCFLSH", 0x540b), ("TIOCEXCL", 0x540c),
        ("TIOCNXCL", 0x540d), ("TIOCSCTTY", 0x540e), ("TIOCGPGRP", 0x540f),
        ("TIOCSPGRP", 0x5410), ("TIOCOUTQ", 0x5411), ("TIOCSTI", 0x5412),
        ("TIOCGWINSZ", 0x5413), ("TIOCSWINSZ", 0x5414), ("TIOCMGET", 0x5415),
        ("TIOCMBIS", 0x5416), ("TIOCMBIC", 0x5417), ("TIOCMSET", 0x5418),
        ("TIOCGSOFTCAR", 0x5419), ("TIOCSSOFTCAR", 0x541a), ("FIONREAD", 0x541b),
        ("TIOCCONS", 0x541d), ("TIOCNOTTY", 0x5422), ("TIOCSETD", 0x5423),
        ("TIOCGETD", 0x5424), ("TCSBRKP", 0x5425), ("TIOCSBRK", 0x5427), ("TIOCCBRK", 0x5428),
        ("TIOCGSID", 0x5429), ("TIOCGPTN", 0x80045430), ("TIOCSPTLCK", 0x40045431),
        ("TIOCGPTPEER", 0x5441), ("TCGETS2", 0x802c542a), ("TCSETS2", 0x402c542b),
        ("TCSETSW2", 0x402c542c), ("TCSETSF2", 0x402c542d), ("FIONBIO", 0x5421),
        ("FIONCLEX", 0x5450), ("FIOCLEX", 0x5451), ("FIOASYNC", 0x5452),
        ("TIOCSERGETLSR", 0x5459), ("TIOCGLCKTRMIOS", 0x5456), ("TIOCSLCKTRMIOS", 0x5457),
        ("TIOCVHANGUP", 0x5437), ("FIOQSIZE", 0x5460), ("FIBMAP", 0x1), ("FIGETBSZ", 0x2),
        ("SIOCGIFNAME", 0x8910), ("SIOCGIFCONF", 0x8912), ("SIOCGIFFLAGS", 0x8913),
        ("SIOCSIFFLAGS", 0x8914), ("SIOCGIFADDR", 0x8915), ("SIOCSIFADDR", 0x8916),
        ("SIOCGIFDSTADDR", 0x8917), ("SIOCGIFBRDADDR", 0x8919), ("SIOCGIFNETMASK", 0x891b),
        ("SIOCGIFMETRIC", 0x891d), ("SIOCGIFMTU", 0x8921), ("SIOCSIFMTU", 0x8922),
        ("SIOCSIFNAME", 0x8923), ("SIOCSIFHWADDR", 0x8924), ("SIOCGIFHWADDR", 0x8927),
        ("SIOCGIFINDEX", 0x8933), ("SIOCGIFTXQLEN", 0x8942), ("SIOCGSTAMP", 0x8906),
        ("SIOCGSTAMPNS", 0x8907), ("SIOCATMARK", 0x8905), ("FICLONE", 0x40049409), ("FS_IOC_GETFLAGS", 0x80086601),
        ("FS_IOC_SETFLAGS", 0x40086602), ("BLKGETSIZE64", 0x80081272), ("BLKSSZGET", 0x1268),
        ("BLKGETSIZE", 0x1260)),
}
