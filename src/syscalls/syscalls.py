# The x86-64 system calls of the Linux 6.18 ABI, described once, by meaning.
#
# gen_syscalls.py turns this file into C++ tables at build time (syscall_table.inc and
# seccomp_rules.inc in the build folder; the flag sets named by `flagset` are in flagsets.py).
# Nothing else describes syscalls: add or change a call here and everything (comparison,
# replication, decoding, the seccomp filter) follows.
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
# query=True marks REPLICATED calls that only ask (the time, a file's metadata, the parent's pid):
# they change nothing another process, another version or a later call could see, and make no
# descriptor. The leader may make them before the followers arrive (early execution,
# docs/architecture.md); a follower that then makes another call leaves the leader's query
# to the leader alone, as a benign extra call.

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
    def __init__(self, nr, name, cls, args, ret, special, refuse, trap, own, why, query):
        self.nr, self.name, self.cls, self.args, self.ret = nr, name, cls, args, ret
        self.special, self.refuse, self.trap, self.own, self.why = special, refuse, trap, own, why
        self.query = query


SYSCALLS = []


def sc(nr, name, cls, args=(), ret=R_VALUE, special=None, refuse=None, trap=None, own=False,
       why=None, query=False):
    SYSCALLS.append(Syscall(nr, name, cls, list(args), ret, special, refuse, trap, own, why,
                            query))


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
sc(17, "pread64", REPLICATED, [fd(), outbuf("buf", arg(2)), val("count"), val("offset")],
   query=True)
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

sc(4, "stat", REPLICATED, [path(), outstruct("statbuf", 144)], query=True)
sc(5, "fstat", REPLICATED, [fd(), outstruct("statbuf", 144)], query=True)
sc(6, "lstat", REPLICATED, [path(), outstruct("statbuf", 144)], query=True)
sc(262, "newfstatat", REPLICATED,
   [dirfd(), path(), outstruct("statbuf", 144), flags("flags", "at_flags")], query=True)
sc(332, "statx", REPLICATED,
   [dirfd(), path(), flags("flags", "at_flags"), flags("mask", "statx_mask"),
    outstruct("statxbuf", 256)], query=True)
sc(137, "statfs", REPLICATED, [path(), outstruct("buf", 120)], query=True)
sc(138, "fstatfs", REPLICATED, [fd(), outstruct("buf", 120)], query=True)
sc(136, "ustat", REPLICATED, [i32("dev"), outstruct("ubuf", 32)], query=True)
sc(21, "access", REPLICATED, [path(), flags("mode", "access_mode")], query=True)
sc(269, "faccessat", REPLICATED, [dirfd(), path(), flags("mode", "access_mode")], query=True)
sc(439, "faccessat2", REPLICATED,
   [dirfd(), path(), flags("mode", "access_mode"), flags("flags", "faccessat_flags")], query=True)
sc(89, "readlink", REPLICATED, [path(), outbuf("buf", arg(2)), i32("bufsiz")], query=True)
sc(267, "readlinkat", REPLICATED, [dirfd(), path(), outbuf("buf", arg(3)), i32("bufsiz")],
   query=True)
# Each version has its own cwd (chdir runs everywhere) but they are kept equal, so the leader's
# answer is every version's answer; replicating it also hides path differences of test setups.
sc(79, "getcwd", REPLICATED, [outbuf("buf", arg(1)), val("size")], query=True)
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
   [dirfd(), path(), outstruct("ufattr", arg(3)), val("usize"), flags("at_flags", "at_flags")],
   query=True)
sc(469, "file_setattr", LOCKSTEP,
   [dirfd(), path(), instruct("ufattr", arg(3)), val("usize"), flags("at_flags", "at_flags")])

# Extended attributes: setting or removing one can change permissions (ACLs, security labels).
sc(188, "setxattr", LOCKSTEP, [path(), string("name"), inbuf("value", arg(3)), val("size"),
                               flags("flags", "xattr_flags")])
sc(189, "lsetxattr", LOCKSTEP, [path(), string("name"), inbuf("value", arg(3)), val("size"),
                                flags("flags", "xattr_flags")])
sc(190, "fsetxattr", LOCKSTEP, [fd(), string("name"), inbuf("value", arg(3)), val("size"),
                                flags("flags", "xattr_flags")])
sc(191, "getxattr", REPLICATED, [path(), string("name"), outbuf("value", arg(3)), val("size")],
   query=True)
sc(192, "lgetxattr", REPLICATED, [path(), string("name"), outbuf("value", arg(3)), val("size")],
   query=True)
sc(193, "fgetxattr", REPLICATED, [fd(), string("name"), outbuf("value", arg(3)), val("size")],
   query=True)
sc(194, "listxattr", REPLICATED, [path(), outbuf("list", arg(2)), val("size")], query=True)
sc(195, "llistxattr", REPLICATED, [path(), outbuf("list", arg(2)), val("size")], query=True)
sc(196, "flistxattr", REPLICATED, [fd(), outbuf("list", arg(2)), val("size")], query=True)
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
    val("usize")], special="xattrat", query=True)
sc(465, "listxattrat", REPLICATED,
   [dirfd(), path(), flags("at_flags", "at_flags"), outbuf("list", arg(4)), val("size")],
   query=True)
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

# Children: each version forks its own, the monitor pairs the i-th children; threads
# (CLONE_THREAD) likewise, paired by creation order. CLONE_VM without CLONE_THREAD or
# CLONE_VFORK (a process sharing its parent's memory) is refused with EAGAIN: the "clone" family
# says so. CLONE_VM|CLONE_VFORK (posix_spawn) is a process and stays EVERYONE.
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
sc(39, "getpid", REPLICATED, [], ret=R_PID, query=True)
sc(186, "gettid", REPLICATED, [], ret=R_PID, query=True)
sc(110, "getppid", REPLICATED, [], ret=R_PID, query=True)
sc(111, "getpgrp", REPLICATED, [], ret=R_PID, query=True)
sc(121, "getpgid", REPLICATED, [pid()], ret=R_PID, query=True)
sc(124, "getsid", REPLICATED, [pid()], ret=R_PID, query=True)
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
sc(97, "getrlimit", REPLICATED, [flags("resource", "rlimit_resource"), outstruct("rlim", 16)],
   query=True)
# prlimit64 on oneself: setting -> EVERYONE, reading -> REPLICATED; on another process with a
# new limit -> LOCKSTEP (family "prlimit").
sc(302, "prlimit64", EVERYONE,
   [pid(), flags("resource", "rlimit_resource"), instruct("new_limit", 16),
    outstruct("old_limit", 16)], special="prlimit")
sc(98, "getrusage", REPLICATED, [flags("who", "rusage_who"), outstruct("usage", 144)], query=True)
sc(100, "times", REPLICATED, [outstruct("buf", 32)], query=True)
# Scheduling of oneself is a process attribute; of another process, authority over it
# ("target_pid": pid 0 -> EVERYONE, otherwise LOCKSTEP).
sc(140, "getpriority", REPLICATED, [flags("which", "priority_which"), i32("who")], query=True)
sc(141, "setpriority", EVERYONE, [flags("which", "priority_which"), i32("who"), i32("prio")],
   special="target_pid")
sc(142, "sched_setparam", EVERYONE, [pid(), instruct("param", 4)], special="target_pid")
sc(143, "sched_getparam", REPLICATED, [pid(), outstruct("param", 4)], query=True)
sc(144, "sched_setscheduler", EVERYONE,
   [pid(), flags("policy", "sched_policy"), instruct("param", 4)], special="target_pid")
sc(145, "sched_getscheduler", REPLICATED, [pid()], query=True)
sc(146, "sched_get_priority_max", LOCAL, [flags("policy", "sched_policy")])
sc(147, "sched_get_priority_min", LOCAL, [flags("policy", "sched_policy")])
sc(148, "sched_rr_get_interval", REPLICATED, [pid(), outstruct("tp", 16)], query=True)
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
sc(309, "getcpu", REPLICATED, [outstruct("cpu", 4), outstruct("node", 4), ignored("tcache")],
   query=True)
sc(312, "kcmp", REPLICATED, [pid("pid1"), pid("pid2"), i32("type"), val("idx1"), val("idx2")])
sc(434, "pidfd_open", REPLICATED, [pid(), flags("flags", "pidfd_flags")], ret=R_FD)
sc(438, "pidfd_getfd", LOCKSTEP, [fd("pidfd"), i32("targetfd"), flags("flags")], ret=R_FD)
sc(101, "ptrace", LOCKSTEP,
   [flags("request", "ptrace_request", 8), pid(), special("addr"), special("data")],
   special="ptrace", refuse="EIO")
sc(219, "restart_syscall", REPLICATED, [], special="restart_syscall",
   why="continues the leader's interrupted call; paired with it (HAZARDS 10); one that "
       "continues a native call (a futex wait with a deadline) runs natively")
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

sc(96, "gettimeofday", REPLICATED, [outstruct("tv", 16), outstruct("tz", 8)], query=True)
sc(201, "time", REPLICATED, [outstruct("tloc", 8)], query=True)
sc(228, "clock_gettime", REPLICATED, [flags("clockid", "clock_id"), outstruct("tp", 16)],
   query=True)
sc(229, "clock_getres", REPLICATED, [flags("clockid", "clock_id"), outstruct("res", 16)],
   query=True)
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
sc(36, "getitimer", REPLICATED, [flags("which", "itimer_which"), outstruct("curr_value", 32)],
   query=True)
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

sc(63, "uname", REPLICATED, [outstruct("buf", 390)], query=True)
sc(99, "sysinfo", REPLICATED, [outstruct("info", 112)], query=True)
sc(318, "getrandom", REPLICATED,
   [outbuf("buf", arg(1)), val("buflen"), flags("flags", "getrandom_flags")], query=True)
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
