/* heapbench: a program whose state is N heap objects of 10 struct types, for measuring update
 * time against the number of objects and the share of types an update changes (the seed's
 * Figure 5). Built once as the old version (CHANGED=0) and as new versions where the first
 * CHANGED types gained a member in the middle, so every object of those types is converted.
 *
 * Usage: heapbench N   (prints "READY N" once its objects exist; stdin "check" verifies them)
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tandem/live.h"

TANDEM_PROGRAM("heapbench");

#ifndef CHANGED
#define CHANGED 0
#endif

#define EXTRA_0 (CHANGED > 0)
#define EXTRA_1 (CHANGED > 1)
#define EXTRA_2 (CHANGED > 2)
#define EXTRA_3 (CHANGED > 3)
#define EXTRA_4 (CHANGED > 4)
#define EXTRA_5 (CHANGED > 5)
#define EXTRA_6 (CHANGED > 6)
#define EXTRA_7 (CHANGED > 7)
#define EXTRA_8 (CHANGED > 8)
#define EXTRA_9 (CHANGED > 9)

/* Ten distinct types (names differ, layouts alike); `added` exists in changed versions only. */
#define DEFINE_TYPE(k)                \
  struct t##k {                       \
    struct t##k* next;                \
    long id;                          \
    int a;                            \
    char added_if[EXTRA_##k ? 8 : 0]; \
    double b;                         \
    char tag[8];                      \
  };
DEFINE_TYPE(0)
DEFINE_TYPE(1)
DEFINE_TYPE(2)
DEFINE_TYPE(3)
DEFINE_TYPE(4)
DEFINE_TYPE(5)
DEFINE_TYPE(6)
DEFINE_TYPE(7)
DEFINE_TYPE(8)
DEFINE_TYPE(9)

struct t0* h0;
struct t1* h1;
struct t2* h2;
struct t3* h3;
struct t4* h4;
struct t5* h5;
struct t6* h6;
struct t7* h7;
struct t8* h8;
struct t9* h9;
long total;

#define PUSH(k, i)                      \
  do {                                  \
    struct t##k* o = malloc(sizeof *o); \
    memset(o, 0, sizeof *o);            \
    o->id = (i);                        \
    o->a = (int)(i)*3;                  \
    o->b = (double)(i) / 2;             \
    memcpy(o->tag, "object", 7);        \
    o->next = h##k;                     \
    h##k = o;                           \
  } while (0)

#define CHECK(k)                                      \
  for (struct t##k* o = h##k; o; o = o->next, seen++) \
    if (o->a != (int)o->id * 3 || o->b != (double)o->id / 2 || strcmp(o->tag, "object")) bad++;

int main(int argc, char** argv) {
  if (!tandem_resumed()) {
    total = argc > 1 ? atol(argv[1]) : 1000;
    for (long i = 0; i < total; i++) {
      switch (i % 10) {
        case 0:
          PUSH(0, i);
          break;
        case 1:
          PUSH(1, i);
          break;
        case 2:
          PUSH(2, i);
          break;
        case 3:
          PUSH(3, i);
          break;
        case 4:
          PUSH(4, i);
          break;
        case 5:
          PUSH(5, i);
          break;
        case 6:
          PUSH(6, i);
          break;
        case 7:
          PUSH(7, i);
          break;
        case 8:
          PUSH(8, i);
          break;
        default:
          PUSH(9, i);
          break;
      }
    }
    printf("READY %ld\n", total);
    fflush(stdout);
  }
  char line[64];
  for (;;) {
    tandem_update_point();
    struct pollfd p[2] = {{0, POLLIN, 0}, {tandem_update_fd(), POLLIN, 0}};
    if (poll(p, 2, 1000) <= 0 || !(p[0].revents & (POLLIN | POLLHUP))) continue;
    if (!fgets(line, sizeof line, stdin)) return 0;
    long seen = 0, bad = 0;
    CHECK(0)
    CHECK(1) CHECK(2) CHECK(3) CHECK(4) CHECK(5) CHECK(6) CHECK(7) CHECK(8) CHECK(9)
        printf("CHECKED %ld %ld\n", seen, bad);
    fflush(stdout);
  }
}
