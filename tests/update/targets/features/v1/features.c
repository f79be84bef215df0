/* features v1: one of each kind of state `tandem update` transfers, checked by test_features.py.
 *
 * Reads commands on stdin ("dump", "bump"), answers on stdout. features_v2.c changes every
 * piece of state in a different way; the test compares the dumps before and after the update.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tandem/live.h"

TANDEM_PROGRAM("features");

/* Listing 2 of the seed paper (time-traveling state transfer), old version. */
union u {
  int i;
  float f;
};
struct s {
  int count;
  char str[3];
  short id;
  union u u;
  void* ptr;
  int addr;
  short* inner_ptr;
} var;

enum color { RED = 1, GREEN = 2, BLUE = 3 };
enum color favourite = GREEN;

struct flags {
  unsigned a : 3;
  unsigned b : 5;
  unsigned c : 12;
} bits = {5, 17, 1000};

float ratio = 1.5f;

struct node {
  int value;
  struct node* next;
};
struct node* list;

struct shape {
  int kind;
  union {
    struct node* n;
    long l;
    char* s;
  } as;
};
struct shape shapes[3];
TANDEM_UNION("struct shape.as", "kind: 1=n 2=l 3=s 0=-");

struct blob {
  int tag;
  struct node* owner;
};
void* opaque_ctx;
TANDEM_VOID_TYPE("opaque_ctx", "struct blob");

uintptr_t handle;
TANDEM_PTR_IN_INT("handle", "struct node");

struct node* tagged;
TANDEM_TAGGED_PTR("tagged", 1);

int matrix[3][4];
__thread long tls_counter;
const char* greeting = "hello, world";
FILE* out;

static int twice(int x) {
  return 2 * x;
}
static int (*op)(int) = twice;

struct msg {
  size_t len;
  char text[];
};
struct msg* message;

char name_v1[16] = "renamed";

/* A begin/end/capacity triple over a heap array: only [begin, end) is live. */
struct vec {
  int* begin;
  int* end;
  int* cap;
};
struct vec numbers;
TANDEM_RANGE("struct vec.begin", "end");

/* A token that looks like a pointer but is never dereferenced: copied as it is. */
void* token;
TANDEM_OPAQUE("token");

int build_number = 1;

static char inbuf[256];
static size_t inlen;

struct session_v1 {
  int hits;
  char note[8];
};

static void dump(const struct session_v1* session) {
  printf("count=%d str=%.3s id=%d u=%d addr=%d inner=%d", var.count, var.str, var.id, var.u.i,
         var.addr, var.inner_ptr == &var.id);
  printf(" favourite=%d bits=%u,%u,%u ratio=%.2f", (int)favourite, bits.a, bits.b, bits.c,
         (double)ratio);
  printf(" list=");
  for (struct node* n = list; n; n = n->next) printf("%d,", n->value);
  printf(" shapes=%ld:%s:%d", shapes[1].as.l, shapes[2].as.s, shapes[0].as.n->value);
  printf(" blob=%d:%d handle=%d tagged=%d:%d", ((struct blob*)opaque_ctx)->tag,
         ((struct blob*)opaque_ctx)->owner->value, ((struct node*)handle)->value,
         (int)((uintptr_t)tagged & 1), ((struct node*)((uintptr_t)tagged & ~(uintptr_t)1))->value);
  printf(" matrix=%d,%d,%d tls=%ld greeting=%s out=%d op=%d", matrix[0][1], matrix[2][3],
         matrix[1][2], tls_counter, greeting, out == stdout, op(21));
  printf(" message=%zu:%s name=%s session=%d:%s", message->len, message->text, name_v1,
         session->hits, session->note);
  printf(" vec=");
  for (int* p = numbers.begin; p < numbers.end; p++) printf("%ld,", (long)*p);
  printf("/%ld token=%lx build=%d\n", (long)(numbers.cap - numbers.begin), (unsigned long)token,
         build_number);
  fflush(stdout);
}

int main(void) {
  struct {
    int hits;
    char note[8];
  } session = {0, "local"};
  TANDEM_LOCAL(session);
  if (!tandem_resumed()) {
    var.count = 3;
    memcpy(var.str, "abc", 3);
    var.id = 7;
    var.u.i = 42;
    var.addr = 1234;
    var.inner_ptr = &var.id;
    var.ptr = malloc(10);
    for (int i = 3; i >= 1; i--) {
      struct node* n = malloc(sizeof *n);
      n->value = i * 100;
      n->next = list;
      list = n;
    }
    shapes[0] = (struct shape){1, {.n = list->next}};
    shapes[1].kind = 2;
    shapes[1].as.l = 77;
    shapes[2].kind = 3;
    shapes[2].as.s = strdup("circle");
    struct blob* b = malloc(sizeof *b);
    b->tag = 9;
    b->owner = list->next->next;
    opaque_ctx = b;
    handle = (uintptr_t)list;
    tagged = (struct node*)((uintptr_t)list->next | 1);
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 4; j++) matrix[i][j] = i * 10 + j;
    out = stdout;
    message = malloc(sizeof *message + 6);
    message->len = 5;
    memcpy(message->text, "howdy", 6);
    numbers.begin = malloc(8 * sizeof(int));
    for (int i = 0; i < 8; i++) numbers.begin[i] = i < 5 ? 10 + i : 0x0dead; /* spare: garbage */
    numbers.end = numbers.begin + 5;
    numbers.cap = numbers.begin + 8;
    token = (void*)0xabcdef12345ul;
  }
  for (;;) {
    tandem_update_point();
    struct pollfd p[2] = {{0, POLLIN, 0}, {tandem_update_fd(), POLLIN, 0}};
    if (poll(p, 2, 1000) <= 0 || !(p[0].revents & (POLLIN | POLLHUP))) continue;
    ssize_t n = read(0, inbuf + inlen, sizeof inbuf - 1 - inlen);
    if (n <= 0) return 0;
    inlen += (size_t)n;
    char* nl;
    while ((nl = memchr(inbuf, '\n', inlen)) != NULL) {
      *nl = 0;
      if (strcmp(inbuf, "dump") == 0) dump((void*)&session);
      if (strcmp(inbuf, "bump") == 0) {
        tls_counter += 5;
        session.hits++;
        printf("bumped\n");
        fflush(stdout);
      }
      inlen -= (size_t)(nl + 1 - inbuf);
      memmove(inbuf, nl + 1, inlen);
    }
  }
}
