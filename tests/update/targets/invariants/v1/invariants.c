/* invariants v1: state that the transfer must refuse, one situation per command.
 *
 * Commands on stdin (each answered with one line): dangle, union, void, voidplain, badtype,
 * badfield, fnremoved, stack, literal, mmap, fopen, check. v2 has the same variables;
 * test_invariants.py sets one situation, asks for an update, and expects the refusal, then checks
 * this process is intact.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tandem/live.h"

TANDEM_PROGRAM("invariants");

struct item {
  int value;
  struct item* next;
};
struct other {
  double weight;
  char label[24];
};
struct msg {
  int kind;
  union {
    struct item* p;
    long n;
  } u;
};

struct item* g_cache;
struct msg g_msg;
void* g_ctx;
struct item* g_item;
struct other* g_other;
double* g_weight;
void (*g_handler)(void);
int* g_stackptr;
const char* g_mode = "normal";
char* g_region;
FILE* g_log;
long g_checks;

static void legacy_handler(void) {
  puts("legacy");
}
static void handler(void) {
  puts("handler");
}

static struct item* item(int value, struct item* next) {
  struct item* i = malloc(sizeof *i);
  i->value = value;
  i->next = next;
  return i;
}

int main(void) {
  int local = 5;
  char line[64];
  g_handler = handler;
  for (;;) {
    tandem_update_point();
    struct pollfd p[2] = {{0, POLLIN, 0}, {tandem_update_fd(), POLLIN, 0}};
    if (poll(p, 2, 1000) <= 0 || !(p[0].revents & (POLLIN | POLLHUP))) continue;
    if (!fgets(line, sizeof line, stdin)) return 0;
    line[strcspn(line, "\n")] = 0;
    if (strcmp(line, "dangle") == 0) {
      g_cache = item(1, NULL);
      free(g_cache); /* the bug: the cache still points to it */
    } else if (strcmp(line, "union") == 0) {
      g_msg.kind = 1;
      g_msg.u.p = item(2, NULL);
    } else if (strcmp(line, "void") == 0) {
      g_ctx = item(3, item(4, NULL));
    } else if (strcmp(line, "voidplain") == 0) {
      int* numbers = calloc(8, sizeof(int));
      for (int i = 0; i < 8; i++) numbers[i] = i * 3;
      g_ctx = numbers;
    } else if (strcmp(line, "badtype") == 0) {
      g_item = item(5, NULL);
      g_other = (struct other*)(void*)g_item; /* one object, two unrelated types */
    } else if (strcmp(line, "badfield") == 0) {
      g_item = item(6, NULL);
      g_weight = (double*)(void*)&g_item->value; /* a double * into an int member */
    } else if (strcmp(line, "fnremoved") == 0) {
      g_handler = legacy_handler;
    } else if (strcmp(line, "stack") == 0) {
      g_stackptr = &local;
    } else if (strcmp(line, "literal") == 0) {
      g_mode = "legacy-mode";
    } else if (strcmp(line, "fopen") == 0) {
      g_log = fopen("/dev/null", "w");
    } else if (strcmp(line, "mmap") == 0) {
      g_region = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    } else if (strcmp(line, "check") != 0) {
      printf("unknown\n");
      fflush(stdout);
      continue;
    }
    g_checks++;
    printf("%s checks=%ld mode=%s local=%d\n", line, g_checks, g_mode, local);
    fflush(stdout);
  }
}
