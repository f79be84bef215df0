#!/usr/bin/env python3
"""Generates the C++ tables of the syscall model from syscalls.py and flagsets.py.

    gen_syscalls.py OUTPUT_DIR

writes, into OUTPUT_DIR:
  syscall_table.inc  the SyscallInfo array, in number order (syscall_model.cc includes it)
  flag_tables.inc    the flag sets used to print arguments (flags.cc includes it)
  seccomp_rules.inc  the argument conditions under which a LOCAL call must stop for the monitor
                     (seccomp_rules.cc includes it)

Before writing anything it checks the description: a broken entry fails the build with a message
naming the syscall, instead of producing a table the monitor would misread.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flagsets  # noqa: E402
import syscalls as model  # noqa: E402

MAX_ARGS = 6
POINTER_KINDS = {"kPath", "kString", "kStringArray", "kInBuf", "kOutBuf", "kInStruct",
                 "kOutStruct", "kInOutStruct", "kInIovec", "kOutIovec", "kInMsghdr",
                 "kOutMsghdr", "kInSockaddr", "kOutSockaddr", "kSockLenPtr", "kInSigset",
                 "kOutSigset", "kOutFdPair"}
NEEDS_LEN = {"kInBuf", "kOutBuf", "kInStruct", "kOutStruct", "kInOutStruct", "kInIovec",
             "kOutIovec", "kInSockaddr", "kOutSockaddr", "kInSigset", "kOutSigset"}
OUT_KINDS = {"kOutBuf", "kOutStruct", "kInOutStruct", "kOutIovec", "kOutMsghdr", "kOutSockaddr",
             "kSockLenPtr", "kOutSigset", "kOutFdPair"}
INT_KINDS = {"kValue", "kFlags", "kFd", "kDirFd", "kPid", "kSignal"}
LOCAL = "kLocal"


class ModelError(Exception):
    pass


def check(cond, s, msg):
    if not cond:
        raise ModelError("%s (%s): %s" % (s.name, s.nr, msg))


def validate():
    by_nr, by_name = {}, {}
    for s in model.SYSCALLS:
        check(s.nr not in by_nr, s, "number already used by %s" % by_nr.get(s.nr, s).name)
        check(s.name not in by_name, s, "name used twice")
        by_nr[s.nr], by_name[s.name] = s, s
        check(0 <= s.nr < 512, s, "x86-64 native numbers are below 512")
        check(len(s.args) <= MAX_ARGS, s, "more than six arguments")
        check(s.cls != "kRefused" or s.refuse is not None, s, "a refused call needs refuse=ERRNO")
        if s.refuse is not None:
            check(s.refuse in dict(flagsets.ERRNOS), s, "unknown errno %s" % s.refuse)
        check(s.trap is None or s.cls == LOCAL, s, "trap conditions only make sense for LOCAL")
        # A query is made early by the leader alone: it must be the leader's to make for all
        # (replicated), and leave nothing behind in the followers (no descriptor).
        check(not s.query or s.cls == "kReplicated", s, "a query must be REPLICATED")
        check(not s.query or s.ret != "kFd", s, "a query makes no descriptor")
        check(not any(a.kind == "kSpecial" for a in s.args) or s.special, s,
              "a kSpecial argument needs a family (special=...)")
        for t in s.trap or []:
            for c in t.conds:
                check(0 <= c.arg < len(s.args), s, "trap condition on a missing argument")
                check(c.value & ~c.mask == 0, s, "trap value has bits outside its mask")
        for i, a in enumerate(s.args):
            where = "argument %d (%s)" % (i, a.name)
            check(a.width in (4, 8), s, where + ": width must be 4 or 8")
            if a.kind in NEEDS_LEN:
                check(a.len is not None, s, where + ": needs a length")
            if a.kind == "kFd" or a.kind == "kDirFd" or a.kind == "kPid":
                check(a.width == 4, s, where + ": descriptors and pids are C ints")
            if a.flagset is not None:
                check(a.flagset in flagsets.FLAGSETS, s,
                      where + ": unknown flag set " + a.flagset)
            for what, ln in (("len", a.len), ("written", a.written)):
                if ln is None:
                    continue
                if ln.src == "kRet":
                    check(what == "written" or a.kind in OUT_KINDS, s,
                          where + ": only what the kernel writes can depend on the result")
                if ln.src in ("kArg", "kArgPtr"):
                    check(0 <= ln.value < len(s.args) and ln.value != i, s,
                          where + ": %s refers to a missing argument" % what)
                    target = s.args[ln.value]
                    if ln.src == "kArg":
                        check(target.kind in ("kValue", "kFlags"), s,
                              where + ": %s must come from an integer argument" % what)
                    else:
                        check(target.kind == "kSockLenPtr", s,
                              where + ": %s must come from a length pointer" % what)
                check(ln.scale >= 1, s, where + ": scale must be positive")
            if a.written is not None:
                check(a.kind in OUT_KINDS, s, where + ": only out kinds have `written`")
            if a.on_eintr:
                check(a.kind in ("kOutStruct", "kInOutStruct"), s,
                      where + ": on_eintr is for remaining-time structs")
    for name, fs in flagsets.FLAGSETS.items():
        if fs.enum_set is not None and fs.enum_set not in flagsets.FLAGSETS:
            raise ModelError("flag set %s: unknown enum_set %s" % (name, fs.enum_set))
        if fs.kind == "bits":
            for item, value in fs.items:
                if value & fs.enum_mask:
                    raise ModelError("flag set %s: %s overlaps the enumerated field" %
                                     (name, item))


def cstr(s):
    return "nullptr" if s is None else '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def length(ln):
    if ln is None:
        return "{}"
    parts = ["LenFrom::%s" % ln.src, str(ln.value)]
    if ln.scale != 1 or ln.bias or ln.if_zero:
        parts.append(str(ln.scale))
    if ln.bias or ln.if_zero:
        parts.append(str(ln.bias))
    if ln.if_zero:
        parts.append(str(ln.if_zero))
    return "{" + ", ".join(parts) + "}"


def trap_text(s):
    if not s.trap:
        return None
    return " || ".join(t.text for t in s.trap)


def gen_table():
    out = ["// Generated by gen_syscalls.py from syscalls.py. Do not edit.",
           "// Included by syscall_model.cc inside namespace tandem.", "",
           "constexpr SyscallInfo kSyscallTable[] = {"]
    for s in sorted(model.SYSCALLS, key=lambda s: s.nr):
        args = []
        for a in s.args:
            fields = [".kind = ArgKind::%s" % a.kind, ".name = %s" % cstr(a.name)]
            if a.len is not None:
                fields.append(".len = %s" % length(a.len))
            if a.written is not None:
                fields.append(".written = %s" % length(a.written))
            if a.flagset is not None:
                fields.append(".flagset = %s" % cstr(a.flagset))
            fields.append(".width = %d" % a.width)
            if a.on_eintr:
                fields.append(".on_eintr = true")
            args.append("{" + ", ".join(fields) + "}")
        out.append("    {.nr = %d, .name = %s, .cls = SyscallClass::%s, .ret = RetKind::%s,"
                   % (s.nr, cstr(s.name), s.cls, s.ret))
        out.append("     .nargs = %d, .args = {%s}," % (len(s.args), ", ".join(args)))
        extra = []
        if s.special:
            extra.append(".special = %s" % cstr(s.special))
        if s.refuse:
            extra.append(".refuse_errno = %d" % dict(flagsets.ERRNOS)[s.refuse])
        if s.trap:
            extra.append(".trap_when = %s" % cstr(trap_text(s)))
        if s.own:
            extra.append(".own_process = true")
        if s.query:
            extra.append(".query = true")
        if s.why:
            extra.append(".why = %s" % cstr(s.why))
        if extra:
            out.append("     " + ", ".join(extra) + "},")
        else:
            out[-1] = out[-1][:-1] + "},"
    out.append("};")
    out.append("")
    out.append("constexpr int kDescribedSyscalls = %d;" % len(model.SYSCALLS))
    out.append("constexpr int kHighestDescribed = %d;" % max(s.nr for s in model.SYSCALLS))
    return "\n".join(out) + "\n"


def flag_items(items):
    return ", ".join("{%s, 0x%xULL}" % (cstr(n), v) for n, v in items)


def gen_flags():
    out = ["// Generated by gen_syscalls.py from syscalls.py. Do not edit.",
           "// Included by flags.cc inside namespace tandem (anonymous namespace).", ""]
    names = sorted(flagsets.FLAGSETS)
    for name in names:
        fs = flagsets.FLAGSETS[name]
        enum_items = fs.enum_items
        if fs.enum_set is not None:
            enum_items = flagsets.FLAGSETS[fs.enum_set].items
        out.append("constexpr FlagItem k_%s_items[] = {%s};" %
                   (name, flag_items(fs.items) or "{nullptr, 0}"))
        out.append("constexpr FlagItem k_%s_enum[] = {%s};" %
                   (name, flag_items(enum_items) or "{nullptr, 0}"))
    out.append("")
    out.append("// Sorted by name for binary search.")
    out.append("constexpr FlagSet kFlagSets[] = {")
    kinds = {"bits": "kBits", "enum": "kEnum", "octal": "kOctal"}
    for name in names:
        fs = flagsets.FLAGSETS[name]
        enum_items = fs.enum_items
        if fs.enum_set is not None:
            enum_items = flagsets.FLAGSETS[fs.enum_set].items
        out.append("    {%s, FlagKind::%s, std::span(k_%s_items, %d), 0x%xULL, "
                   "std::span(k_%s_enum, %d), %s, %s}," %
                   (cstr(name), kinds[fs.kind], name, len(fs.items), fs.enum_mask, name,
                    len(enum_items), cstr(fs.zero), "true" if fs.enum_last else "false"))
    out.append("};")
    return "\n".join(out) + "\n"


def gen_seccomp():
    out = ["// Generated by gen_syscalls.py from syscalls.py. Do not edit.",
           "// Included by seccomp_rules.cc inside namespace tandem (anonymous namespace).", "",
           "// Conditions of the LOCAL calls that stop for some argument values, grouped by call.",
           "constexpr TrapCondition kConditions[] = {"]
    index = []
    pos = 0
    for s in sorted(model.SYSCALLS, key=lambda s: s.nr):
        if not s.trap:
            continue
        start = pos
        for t in s.trap:
            for c in t.conds:
                out.append("    {.arg = %d, .op = CmpOp::kMaskedEq, .mask = 0x%xULL, "
                           ".value = 0x%xULL},  // %s: %s" % (c.arg, c.mask, c.value, s.name,
                                                              t.text))
                pos += 1
        index.append((s.nr, start, pos - start))
    out.append("};")
    out.append("")
    out.append("struct ConditionRange {")
    out.append("  int nr;")
    out.append("  int start;")
    out.append("  int count;")
    out.append("};")
    out.append("constexpr ConditionRange kConditionRanges[] = {")
    for nr, start, count in index:
        out.append("    {%d, %d, %d}," % (nr, start, count))
    out.append("};")
    return "\n".join(out) + "\n"


def write(path, text):
    # Through a temporary file: an interrupted build never leaves half a table behind.
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_syscalls.py OUTPUT_DIR")
    try:
        validate()
    except ModelError as e:
        sys.exit("syscalls.py: " + str(e))
    os.makedirs(sys.argv[1], exist_ok=True)
    write(os.path.join(sys.argv[1], "syscall_table.inc"), gen_table())
    write(os.path.join(sys.argv[1], "flag_tables.inc"), gen_flags())
    write(os.path.join(sys.argv[1], "seccomp_rules.inc"), gen_seccomp())


if __name__ == "__main__":
    main()
