// inventory v1: a C++ program whose state lives in std::string, std::vector and std::map
// globals, updated live by `tandem update` (see docs/live-update.md, "C++").
//
// Commands on stdin, one reply line each: "add NAME QTY", "get NAME", "dump".
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tandem/live.h"

TANDEM_PROGRAM("inventory");

struct Item {
  std::string name;
  int qty;
};

std::string g_owner = "nobody";
std::vector<Item> g_items;
std::map<std::string, int> g_index;  // name -> position in g_items
long g_ops;

static std::string reply(const std::string& line) {
  std::istringstream in(line);
  std::string cmd, name;
  in >> cmd >> name;
  g_ops++;
  if (cmd == "add") {
    int qty = 0;
    in >> qty;
    auto it = g_index.find(name);
    if (it == g_index.end()) {
      g_index[name] = static_cast<int>(g_items.size());
      g_items.push_back({name, qty});
    } else {
      g_items[it->second].qty += qty;
    }
    return "ok";
  }
  if (cmd == "get") {
    auto it = g_index.find(name);
    return it == g_index.end() ? "none" : name + "=" + std::to_string(g_items[it->second].qty);
  }
  if (cmd == "dump") {
    std::string out = "v1 owner=" + g_owner + " ops=" + std::to_string(g_ops) + " items=";
    for (const Item& i : g_items) out += i.name + ":" + std::to_string(i.qty) + ",";
    return out;
  }
  return "error";
}

int main() {
  if (!tandem_resumed()) g_owner = "the central warehouse of the north";  // past the SSO buffer
  std::string line;
  char buf[512];
  for (;;) {
    tandem_update_point();
    pollfd p[2] = {{0, POLLIN, 0}, {tandem_update_fd(), POLLIN, 0}};
    if (poll(p, 2, 1000) <= 0 || !(p[0].revents & (POLLIN | POLLHUP))) continue;
    ssize_t n = read(0, buf, sizeof buf);
    if (n <= 0) return 0;
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] != '\n') {
        line += buf[i];
        continue;
      }
      std::string out = reply(line) + "\n";
      line.clear();
      (void)!write(1, out.data(), out.size());
    }
  }
}
