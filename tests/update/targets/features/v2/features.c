/* features v2: every piece of features v1's state changed in a different way.
 *
 * Listing 2's new layout (fields reordered, id widened, str truncated, ptr dropped, inner_ptr
 * retyped); enum values renumbered (matched by name); bit-fields reordered and widened; float ->
 * double; a field added to the list nodes (interior, tagged and integer-held pointers to them
 * follow); the annotated union gained a member; the matrix grew in both dimensions; the message
 * length narrowed and a field inserted before the flexible array; a variable renamed; the
 * registered local gained a field.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tandem/live.h"

TANDEM_PROGRAM("features");

/* Listing 2 of the seed paper, new version. */
union u {
  int i;
  float f;
};
struct s {
  int count;
  int id;
  char str[2];
  union u u;
  int addr;
  int* inner_ptr;
} var;

enum color { BLUE = 1, RED = 5, GREEN = 7 };
enum color favourite = RED;

struct flags {
  unsigned c : 12;
  unsigned a : 3;
  unsigned b : 7;
} bits;

double ratio;

struct node {
  long weight;
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
    double d;
  } as;
};
struct shape shapes[3];
TANDEM_UNION("struct shape.as", "kind: 1=n 2=l 3=s 4=d 0=-");

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

int matrix[4][5];
__thread long tls_counter;
const char* greeting = "hello, world";
FILE* out;

static int twice(int x) {
  return x + x;
}
static int (*op)(int) = twice;

struct msg {
  uint32_t len;
  uint32_t flags;
  char text[];
};
struct msg* message;

char title[16];
TANDEM_RENAME("title", "name_v1");

/* A begin/end/capacity triple over a heap array: only [begin, end) is live. */
struct vec {
  long* begin;
  long* end;
  long* cap;
};
struct vec numbers;
TANDEM_RANGE("struct vec.begin", "end");

/* A token that looks like a pointer but is never dereferenced: copied as it is. */
void* token;
TANDEM_OPAQUE("token");

int build_number = 2;
TANDEM_SKIP("build_number"); /* the new version keeps its own value */

static char inbuf[256];
static size_t inlen;

struct session_v2 {
  int hits;
  int extra;
  char note[8];
};

static void dump(const struct session_v2* session) {
  printf("count=%d str=%.2s id=%d u=%d addr=%d inner=%d", var.count, var.str, var.id, var.u.i,
         var.addr, var.inner_ptr == &var.id);
  printf(" favourite=%d bits=%u,%u,%u ratio=%.2f", (int)favourite, bits.a, bits.b, bits.c, ratio);
  printf(" list=");
  for (struct node* n = list; n; n = n->next) printf("%d/%ld,", n->value, n->weight);
  printf(" shapes=%ld:%s:%d", shapes[1].as.l, shapes[2].as.s, shapes[0].as.n->value);
  printf(" blob=%d:%d handle=%d tagged=%d:%d", ((struct blob*)opaque_ctx)->tag,
         ((struct blob*)opaque_ctx)->owner->value, ((struct node*)handle)->value,
         (int)((uintptr_t)tagged & 1), ((struct node*)((uintptr_t)tagged & ~(uintptr_t)1))->value);
  printf(" matrix=%d,%d,%d,%d tls=%ld greeting=%s out=%d op=%d", matrix[0][1], matrix[2][3],
         matrix[1][2], matrix[3][4], tls_counter, greeting, out == stdout, op(21));
  printf(" message=%u:%u:%s title=%s session=%d:%d:%s", message->len, message->flags, message->text,
         title, session->hits, session->extra, session->note);
  printf(" vec=");
  for (long* p = numbers.begin; p < numbers.end; p++) printf("%ld,", (long)*p);
  printf("/%ld token=%lx build=%d\n", (long)(numbers.cap - numbers.begin), (unsigned long)token,
         build_number);
  fflush(stdout);
}

int main(void) {
  struct {
    int hits;
    int extra;
    char note[8];
  } session = {0, 0, "new"};
  TANDEM_LOCAL(session);
  if (!tandem_resumed()) {
    fprintf(stderr, "features v2 only runs as an update of v1\n");
    return 1;
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
      inlen -= (size_t)(nl + 1 - inbuf);
      memmove(inbuf, nl + 1, inlen);
    }
  }
}
