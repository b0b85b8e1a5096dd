// The kernel cache: a compiled kernel is found by its key (what the code depends on: the
// kernel's descriptor and schedule, the target, the tcc and LLVM versions), first in this
// process, then on disk under $TCC_CACHE_DIR, and only compiled when both miss.
#pragma once
#include "codegen/codegen.h"
#include "ir/lower.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tcc::driver {

struct KernelKey {
  std::vector<std::pair<std::string, std::string>> parts;  // name -> value, in a fixed order
  std::string text() const;  // "name=value\n" per part: what a cache entry stores
  std::string hex() const;   // 128-bit hash of text(), the entry's file name
};
KernelKey make_key(const ir::LoweredKernel& k, const codegen::TargetInfo& target);

enum class CacheOutcome { memory_hit, disk_hit, compiled };

struct KernelLookup {
  codegen::KernelEntry entry = nullptr;
  CacheOutcome outcome = CacheOutcome::compiled;
};

struct CacheCounters {
  int64_t memory_hits = 0, disk_hits = 0, compiles = 0;
};

// Settings read from the environment on every call: TCC_CACHE=off (or 0) disables the disk
// cache; TCC_CACHE_DIR, else $XDG_CACHE_HOME/tcc, else ~/.cache/tcc; TCC_LOG=cache explains
// hits and misses on stderr.
bool disk_cache_enabled();
std::string disk_cache_dir();
void set_cache_logging(bool on);  // as TCC_LOG=cache, for `tcc run -v`

// The process-wide cache. Thread-safe: concurrent requests for one key compile it once.
// Builds k's loop nest only when it has to compile.
KernelLookup lookup_kernel(ir::LoweredKernel& k);
CacheCounters cache_counters();
// Forgets the in-process entries (code already linked stays valid); for benchmarks and tests.
void forget_in_process_kernels();

struct DiskCacheEntry {
  std::string file;  // path
  uint64_t bytes = 0;
  std::string descriptor;  // from the entry's key, "" when unreadable
};
struct DiskCacheInfo {
  std::string dir;
  bool enabled = true;
  std::vector<DiskCacheEntry> entries;
  uint64_t total_bytes = 0;
};
DiskCacheInfo disk_cache_info();

namespace detail {
// One on-disk entry read back and checked (magic, key, object size, checksum); nullopt, with
// the reason in `why`, for anything corrupt or truncated. Exposed for fuzz/fuzz_cache_entry.
struct ParsedCacheEntry {
  std::string key_text;
  std::string object;
};
std::optional<ParsedCacheEntry> parse_cache_entry(const std::string& bytes, std::string& why);
// "name=value" lines of a key, in order.
std::vector<std::pair<std::string, std::string>> parse_key_text(const std::string& text);
}  // namespace detail
// Removes every entry (and stray temp file); returns how many files were removed.
int disk_cache_clear();

}  // namespace tcc::driver
