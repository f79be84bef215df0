/* invariants v2: the same variables as v1, without legacy_handler and the "legacy-mode" literal.
 * It only ever runs as an update of v1 (see v1/invariants.c). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void handler(void) {
  puts("handler");
}

int main(void) {
  char line[64];
  if (!tandem_resumed()) g_handler = handler;
  for (;;) {
    tandem_update_point();
    struct pollfd p[2] = {{0, POLLIN, 0}, {tandem_update_fd(), POLLIN, 0}};
    if (poll(p, 2, 1000) <= 0 || !(p[0].revents & (POLLIN | POLLHUP))) continue;
    if (!fgets(line, sizeof line, stdin)) return 0;
    line[strcspn(line, "\n")] = 0;
    g_checks++;
    int* numbers = g_ctx;
    printf("v2 %s checks=%ld mode=%s ctx=%d\n", line, g_checks, g_mode, numbers ? numbers[7] : -1);
    fflush(stdout);
  }
}
