// A program with a seccomp sandbox of its own (like vsftpd's or sshd's): after start-up it
// installs a whitelist filter that kills the process on any other call, then serves commands
// from standard input, one per line:
//   cat PATH   prints the file's first line (the file is opened after the sandbox is on)
//   crash      VERSION 2 dies of SIGSEGV (to check restart from a checkpoint under the filter)
//   forbidden  calls getppid, which the filter does not allow: every version is killed by it
//   other      echoed
// MODE=prctl installs the filter with prctl(PR_SET_SECCOMP) instead of seccomp(2).
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
                  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static void sandbox(void) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      ALLOW(SYS_read), ALLOW(SYS_write), ALLOW(SYS_openat), ALLOW(SYS_close),
      ALLOW(SYS_newfstatat), ALLOW(SYS_fstat), ALLOW(SYS_lseek), ALLOW(SYS_brk),
      ALLOW(SYS_mmap), ALLOW(SYS_munmap), ALLOW(SYS_exit_group), ALLOW(SYS_exit),
      ALLOW(SYS_rt_sigreturn), ALLOW(SYS_getrandom),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
  };
  struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(10);
#ifdef USE_PRCTL
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) _exit(11);
#else
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) _exit(11);
#endif
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  sandbox();
  char line[512];
  while (fgets(line, sizeof line, stdin) != NULL) {
    line[strcspn(line, "\n")] = 0;
    if (strncmp(line, "cat ", 4) == 0) {
      FILE* f = fopen(line + 4, "r");
      char buf[256] = "";
      if (f == NULL) {
        printf("cannot open %s\n", line + 4);
        continue;
      }
      if (fgets(buf, sizeof buf, f) == NULL) buf[0] = 0;
      fclose(f);
      printf("%s: %s", line + 4, buf);
    } else if (strcmp(line, "forbidden") == 0) {
      syscall(SYS_getppid);
      printf("still alive\n");
    } else if (strcmp(line, "crash") == 0) {
#if VERSION == 2
      *(volatile int*)0 = 1;
#endif
      printf("no crash\n");
    } else {
      printf("echo: %s\n", line);
    }
  }
  printf("bye\n");
  return 0;
}
