// File side effects in a directory given as argv[1]: create, append, rename, unlink.
// Each effect must happen exactly once under tandem, whatever the number of versions.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  char a[4096], b[4096], c[4096];
  snprintf(a, sizeof a, "%s/created.txt", argv[1]);
  snprintf(b, sizeof b, "%s/renamed.txt", argv[1]);
  snprintf(c, sizeof c, "%s/removed.txt", argv[1]);
  int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, "first\n", 6) != 6) return 3;
  close(fd);
  fd = open(a, O_WRONLY | O_APPEND);
  if (fd < 0 || write(fd, "appended\n", 9) != 9) return 4;
  close(fd);
  if (rename(a, b) != 0) return 5;
  fd = open(c, O_WRONLY | O_CREAT, 0644);
  if (fd < 0) return 6;
  close(fd);
  if (unlink(c) != 0) return 7;
  // Append to a log that already exists: two appends would show.
  snprintf(a, sizeof a, "%s/log.txt", argv[1]);
  fd = open(a, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0 || write(fd, "run\n", 4) != 4) return 8;
  close(fd);
  // Read back what we wrote: every version must see the same content.
  fd = open(b, O_RDONLY);
  char buf[64] = {0};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  printf("read %zd: %s", n, buf);
  return 0;
}
