/* kvstore v1: a small key-value server over TCP, live-updatable with `tandem update`.
 *
 * Protocol: one command per line, one reply line.
 *   SET key value -> OK          GET key -> VALUE value | NOTFOUND    DEL key -> OK | NOTFOUND
 *   HITS key -> HITS n (GETs of the key)     STATS -> STATS k=v ...    VERSION -> VERSION v1
 *   PING -> PONG                 QUIT -> BYE (closes)
 * Usage: kvstore [port]  (0 or none: any free port; prints "LISTENING <port>" when ready)
 * With KVSTORE_PIDFILE set, writes its PID there; the pidfile follows live updates.
 *
 * State: a chained hash table of malloc'd entries with malloc'd strings, a linked list of client
 * connections with their partial input lines and a handler function pointer, a mutable table of
 * commands (name literals, function pointers, call counters), counters, and a pointer to the
 * last error literal and to the log stream (stderr, inside libc). Single-threaded: one poll loop
 * whose top is the update point.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tandem/live.h"

TANDEM_PROGRAM("kvstore");
TANDEM_VERSION("v1", "");

#define KV_VERSION "v1"
#define NBUCKETS 64

struct entry {
  struct entry* next;
  char* key;
  char* value;
  int hits;
  short flags;
};

struct table {
  struct entry* buckets[NBUCKETS];
  unsigned count;
};

struct client {
  int fd;
  char inbuf[256];
  size_t inlen;
  unsigned int requests;
  struct client* next;
  int (*on_line)(struct client* c, char* line);
};

struct command {
  const char* name;
  int (*fn)(struct client* c, char** argv, int argc);
  int min_args;
  unsigned long calls;
};

struct stats {
  unsigned long gets, sets, dels, misses;
  unsigned connections;
  int last_cmds[8];
  unsigned last_at;
};

static struct table store;
static struct client* clients;
static struct stats stats;
static int listen_fd = -1;
static const char* last_error = "none";
static FILE* log_stream;

static unsigned hash(const char* s) {
  unsigned h = 5381;
  while (*s) h = h * 33 + (unsigned char)*s++;
  return h;
}

/* Chains are kept sorted by key: a lookup stops early, and the order of a chain never depends
 * on the order of insertions (so a rehash can be undone exactly, which validates it). Returns
 * where the key is, or where it belongs. */
static struct entry** find_slot(const char* key) {
  struct entry** p = &store.buckets[hash(key) % NBUCKETS];
  while (*p && strcmp((*p)->key, key) < 0) p = &(*p)->next;
  return p;
}

static struct entry* lookup(const char* key) {
  struct entry* e = *find_slot(key);
  return e && strcmp(e->key, key) == 0 ? e : NULL;
}

static void reply(struct client* c, const char* fmt, const char* a, const char* b) {
  char line[1024];
  int n = snprintf(line, sizeof line, fmt, a, b);
  if (n < 0) return;
  if ((size_t)n >= sizeof line) n = sizeof line - 1;
  for (int off = 0; off < n;) {
    ssize_t w = write(c->fd, line + off, (size_t)(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += (int)w;
  }
}

static int cmd_get(struct client* c, char** argv, int argc) {
  (void)argc;
  struct entry* e = lookup(argv[1]);
  stats.gets++;
  if (!e) {
    stats.misses++;
    reply(c, "NOTFOUND\n", "", "");
    return 0;
  }
  e->hits++;
  reply(c, "VALUE %s\n", e->value, "");
  return 0;
}

static int cmd_set(struct client* c, char** argv, int argc) {
  (void)argc;
  struct entry** slot = find_slot(argv[1]);
  char* value = strdup(argv[2]);
  if (!value) return -1;
  stats.sets++;
  if (*slot && strcmp((*slot)->key, argv[1]) == 0) {
    free((*slot)->value);
    (*slot)->value = value;
  } else {
    struct entry* e = calloc(1, sizeof *e);
    if (!e) return -1;
    e->key = strdup(argv[1]);
    e->value = value;
    e->next = *slot;
    *slot = e;
    store.count++;
  }
  reply(c, "OK\n", "", "");
  return 0;
}

static int cmd_del(struct client* c, char** argv, int argc) {
  (void)argc;
  struct entry** slot = find_slot(argv[1]);
  stats.dels++;
  if (!*slot || strcmp((*slot)->key, argv[1]) != 0) {
    reply(c, "NOTFOUND\n", "", "");
    return 0;
  }
  struct entry* e = *slot;
  *slot = e->next;
  free(e->key);
  free(e->value);
  free(e);
  store.count--;
  reply(c, "OK\n", "", "");
  return 0;
}

static int cmd_hits(struct client* c, char** argv, int argc) {
  (void)argc;
  struct entry* e = lookup(argv[1]);
  char n[32];
  snprintf(n, sizeof n, "%d", e ? e->hits : 0);
  reply(c, e ? "HITS %s\n" : "NOTFOUND\n", n, "");
  return 0;
}

static int cmd_stats(struct client* c, char** argv, int argc) {
  (void)argv;
  (void)argc;
  char line[512];
  snprintf(line, sizeof line,
           "keys=%u gets=%lu sets=%lu dels=%lu misses=%lu connections=%u last_error=%s",
           store.count, stats.gets, stats.sets, stats.dels, stats.misses, stats.connections,
           last_error);
  reply(c, "STATS %s\n", line, "");
  return 0;
}

static int cmd_version(struct client* c, char** argv, int argc) {
  (void)argv;
  (void)argc;
  reply(c, "VERSION %s\n", KV_VERSION, "");
  return 0;
}

static int cmd_ping(struct client* c, char** argv, int argc) {
  (void)argv;
  (void)argc;
  reply(c, "PONG\n", "", "");
  return 0;
}

static int cmd_quit(struct client* c, char** argv, int argc) {
  (void)argv;
  (void)argc;
  reply(c, "BYE\n", "", "");
  return 1;
}

static struct command commands[] = {
    {"GET", cmd_get, 1, 0},   {"SET", cmd_set, 2, 0},     {"DEL", cmd_del, 1, 0},
    {"HITS", cmd_hits, 1, 0}, {"STATS", cmd_stats, 0, 0}, {"VERSION", cmd_version, 0, 0},
    {"PING", cmd_ping, 0, 0}, {"QUIT", cmd_quit, 0, 0},
};

/* Splits a line into at most 3 words, the last one taking the rest of the line. */
static int split(char* line, char** argv) {
  int argc = 0;
  while (*line && argc < 3) {
    while (*line == ' ') line++;
    if (!*line) break;
    argv[argc++] = line;
    if (argc == 3) break;
    while (*line && *line != ' ') line++;
    if (*line) *line++ = 0;
  }
  return argc;
}

static int handle_line(struct client* c, char* line) {
  char* argv[3];
  int argc = split(line, argv);
  c->requests++;
  if (argc == 0) return 0;
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    struct command* cmd = &commands[i];
    if (strcmp(cmd->name, argv[0]) != 0) continue;
    stats.last_cmds[stats.last_at++ % 8] = (int)i;
    if (argc - 1 < cmd->min_args) {
      last_error = "missing argument";
      reply(c, "ERROR %s\n", last_error, "");
      return 0;
    }
    cmd->calls++;
    return cmd->fn(c, argv, argc);
  }
  last_error = "unknown command";
  reply(c, "ERROR %s\n", last_error, "");
  return 0;
}

static void drop_client(struct client* c) {
  for (struct client** p = &clients; *p; p = &(*p)->next) {
    if (*p == c) {
      *p = c->next;
      break;
    }
  }
  close(c->fd);
  free(c);
}

/* Reads what the client sent and runs every complete line; returns 1 if it must be closed. */
static int serve(struct client* c) {
  ssize_t n = read(c->fd, c->inbuf + c->inlen, sizeof c->inbuf - 1 - c->inlen);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) return 1;
  c->inlen += (size_t)n;
  for (;;) {
    char* nl = memchr(c->inbuf, '\n', c->inlen);
    if (!nl) break;
    *nl = 0;
    if (nl > c->inbuf && nl[-1] == '\r') nl[-1] = 0;
    int quit = c->on_line(c, c->inbuf);
    size_t used = (size_t)(nl + 1 - c->inbuf);
    memmove(c->inbuf, nl + 1, c->inlen - used);
    c->inlen -= used;
    if (quit) return 1;
  }
  if (c->inlen == sizeof c->inbuf - 1) {
    last_error = "line too long";
    c->inlen = 0;
  }
  return 0;
}

static int start_listening(int port) {
  listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((unsigned short)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  if (bind(listen_fd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(listen_fd, 64) != 0 ||
      getsockname(listen_fd, (struct sockaddr*)&addr, &len) != 0) {
    perror("kvstore: listen");
    return -1;
  }
  printf("LISTENING %d\n", ntohs(addr.sin_port));
  fflush(stdout);
  return 0;
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  /* The runtime rewrites this pidfile when an update commits. It is the runtime's setting, not
   * program state: every version registers it, resumed or not. */
  const char* pidfile = getenv("KVSTORE_PIDFILE");
  if (pidfile) tandem_set_pidfile(pidfile);
  if (!tandem_resumed()) {
    if (pidfile) {
      FILE* f = fopen(pidfile, "w");
      if (f) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
      }
    }
    log_stream = stderr;
    if (start_listening(argc > 1 ? atoi(argv[1]) : 0) != 0) return 1;
    fprintf(log_stream, "kvstore %s: started\n", KV_VERSION);
  }
  for (;;) {
    tandem_update_point();
    size_t n = 2;
    for (struct client* c = clients; c; c = c->next) n++;
    struct pollfd* fds = calloc(n, sizeof *fds);
    if (!fds) continue;
    fds[0] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = tandem_update_fd(), .events = POLLIN};
    size_t i = 2;
    for (struct client* c = clients; c; c = c->next) fds[i++] = (struct pollfd){c->fd, POLLIN, 0};
    if (poll(fds, n, 1000) > 0) {
      i = 2;
      for (struct client *c = clients, *next; c; c = next, i++) {
        next = c->next;
        if (fds[i].revents && serve(c)) drop_client(c);
      }
      if (fds[0].revents & POLLIN) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        struct client* c = fd >= 0 ? calloc(1, sizeof *c) : NULL;
        if (c) {
          c->fd = fd;
          c->on_line = handle_line;
          c->next = clients;
          clients = c;
          stats.connections++;
        } else if (fd >= 0) {
          close(fd);
        }
      }
    }
    free(fds);
  }
}
