/* retype: a heap object reached first through a pointer to the struct it begins with and, more
 * than a batch of allocations later, through a pointer to its own, larger type. The transfer has
 * allocated it in the new version with the first type's size by then: it must free that
 * allocation and make one of the right size (the version built with V2 added a member, so the
 * object is converted too).
 *
 * Usage: retype   (prints "READY"; stdin "dump" prints the state, checked by test_retype.py) */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "tandem/live.h"

TANDEM_PROGRAM("retype");

#define FILLERS 70000 /* more than one allocation batch (65,536) */

struct base {
  long id;
  struct base* self;
};
/* Seen as an array of struct base first: its other members hold small values (sentinels). */
struct derived {
  struct base base;
#ifdef V2
  long added;
#endif
  long extra[6];
};
struct filler {
  struct filler* next;
  long n;
};

/* Declaration order is the order the transfer follows the roots in. */
struct base* first;
struct filler* fillers;
struct derived* second;

int main(void) {
  if (!tandem_resumed()) {
    second = calloc(1, sizeof *second);
    second->base.id = 42;
    second->base.self = &second->base;
    for (int i = 0; i < 6; i++) second->extra[i] = i + 1;
    first = &second->base;
    for (long i = 0; i < FILLERS; i++) {
      struct filler* f = malloc(sizeof *f);
      f->n = i;
      f->next = fillers;
      fillers = f;
    }
    printf("READY\n");
    fflush(stdout);
  }
  char line[64];
  for (;;) {
    tandem_update_point();
    struct pollfd p[2] = {{0, POLLIN, 0}, {tandem_update_fd(), POLLIN, 0}};
    if (poll(p, 2, 1000) <= 0 || !(p[0].revents & (POLLIN | POLLHUP))) continue;
    if (!fgets(line, sizeof line, stdin)) return 0;
    long count = 0, in_order = 1;
    for (struct filler* f = fillers; f; f = f->next, count++)
      if (f->n != FILLERS - 1 - count) in_order = 0;
    long added = 0;
#ifdef V2
    added = second->added;
#endif
    printf("id=%ld same=%d self=%d extra=%ld,%ld,%ld,%ld,%ld,%ld added=%ld fillers=%ld/%ld\n",
           second->base.id, first == &second->base, second->base.self == &second->base,
           second->extra[0], second->extra[1], second->extra[2], second->extra[3],
           second->extra[4], second->extra[5], added, count, in_order);
    fflush(stdout);
  }
}
