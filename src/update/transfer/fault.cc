// The fault injector's state (see fault.h): compiled into the tandem-fi build only.
#include "update/transfer/fault.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace tandem::update::fi {

namespace {

struct Config {
  Kind kind = Kind::kNone;
  double phi = 0;
  uint64_t seed = 0;
  std::string text;
};

Config load() {
  Config c;
  const char* env = std::getenv("TANDEM_FAULTS");
  if (env == nullptr) return c;
  c.text = env;
  std::string s = env;
  for (size_t at = 0; at < s.size();) {
    size_t comma = s.find(',', at);
    std::string item = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    at = comma == std::string::npos ? s.size() : comma + 1;
    size_t eq = item.find('=');
    if (eq == std::string::npos) continue;
    std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "kind") {
      static const char* const kNames[] = {"none", "branch", "init", "pointer", "overflow", "leak"};
      for (int k = 0; k < 6; k++)
        if (value == kNames[k]) c.kind = static_cast<Kind>(k);
    } else if (key == "phi") {
      c.phi = std::strtod(value.c_str(), nullptr);
    } else if (key == "seed") {
      c.seed = std::strtoull(value.c_str(), nullptr, 0);
    }
  }
  return c;
}

const Config& config() {
  static const Config c = load();
  return c;
}

std::atomic<uint64_t> counter{0};
std::atomic<uint64_t> fired{0};

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t random64() {
  return mix(config().seed * 0x100000001b3ull + counter.fetch_add(1, std::memory_order_relaxed));
}

bool fire(Kind kind) {
  const Config& c = config();
  if (c.kind != kind || c.phi <= 0) return false;
  if (static_cast<double>(random64() >> 11) * 0x1.0p-53 >= c.phi) return false;
  fired.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool flip(bool cond) {
  return fire(Kind::kBranch) ? !cond : cond;
}

uint64_t corrupt_pointer(uint64_t value) {
  if (!fire(Kind::kPointer)) return value;
  uint64_t r = random64();
  if (r & 1) return value + ((r & 2) ? 1 : -1);  // off by one
  return r >> 16;                                 // random (user-space range)
}

uint64_t overflow(uint64_t size) {
  if (!fire(Kind::kOverflow)) return size;
  uint64_t extra = size * (1 + random64() % 100) / 100;
  return size + (extra ? extra : 1);
}

uint64_t activated() {
  return fired.load(std::memory_order_relaxed);
}

const char* configuration() {
  return config().text.c_str();
}

}  // namespace tandem::update::fi
