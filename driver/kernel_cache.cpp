#include "driver/kernel_cache.h"

#include <tcc/error.h>

#include <fmt/format.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <unordered_map>

namespace tcc::driver {

namespace fs = std::filesystem;

namespace {

// Bumped whenever codegen changes what it emits for the same loop IR, or the entry format changes.
constexpr const char* kCodegenRevision = "2";
constexpr const char* kEntryMagic = "TCC-KERNEL-CACHE-ENTRY 1\n";
constexpr uint64_t kMaxEntryBytes = uint64_t(1) << 30;

uint64_t fnv1a(const std::string& s, uint64_t h) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::atomic<bool> g_logging{false};

bool logging() {
  if (g_logging) return true;
  const char* v = std::getenv("TCC_LOG");
  return v && std::string(v).find("cache") != std::string::npos;
}

void log_line(const std::string& line) { std::fprintf(stderr, "tcc: cache: %s\n", line.c_str()); }

// A broken cache directory must not fail a run: say so once and go on compiling in memory
// (for as long as the process keeps using that directory).
std::mutex g_broken_mutex;
std::set<std::string> g_broken_dirs;
bool disk_cache_broken(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_broken_mutex);
  return g_broken_dirs.count(dir) > 0;
}
void disable_disk_cache(const std::string& dir, const std::string& why) {
  std::lock_guard<std::mutex> lock(g_broken_mutex);
  if (g_broken_dirs.insert(dir).second)
    std::fprintf(stderr, "tcc: warning: kernel cache disabled for this process: %s\n", why.c_str());
}

std::string encode_entry(const KernelKey& key, const std::string& object) {
  return fmt::format("{}{}\nobject_bytes={}\nchecksum={:016x}\n", kEntryMagic, key.text(), object.size(),
                     fnv1a(object, 1469598103934665603ull)) +
         object;
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  f.seekg(0, std::ios::end);
  std::streamoff size = f.tellg();
  if (size < 0 || static_cast<uint64_t>(size) > kMaxEntryBytes) return std::nullopt;
  std::string bytes(static_cast<size_t>(size), '\0');
  f.seekg(0);
  if (!f.read(bytes.data(), size)) return std::nullopt;
  return bytes;
}

// Writes atomically: a temp file in the same directory renamed over the entry, so readers in
// other processes see the old entry, no entry, or the whole new one.
void store_entry(const fs::path& dir, const std::string& hex, const std::string& bytes) {
  static std::atomic<int> counter{0};
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(fmt::format("cannot create '{}': {}", dir.string(), ec.message()));
  fs::path tmp = dir / fmt::format(".tmp-{}-{}-{}", hex, getpid(), counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError(fmt::format("cannot write in '{}': {}", dir.string(), std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw InputError(fmt::format("cannot write in '{}': {}", dir.string(), std::strerror(n < 0 ? err : ENOSPC)));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 || std::rename(tmp.c_str(), (dir / (hex + ".o")).c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw InputError(fmt::format("cannot write in '{}': {}", dir.string(), std::strerror(err)));
  }
}

// On a miss: the entry on disk whose key shares the most parts, and the parts that differ.
std::string explain_miss(const fs::path& dir, const KernelKey& key) {
  std::error_code ec;
  std::string best_file, best_diff;
  size_t best_same = 0;
  for (const auto& item : fs::directory_iterator(dir, ec)) {
    if (item.path().extension() != ".o") continue;
    auto bytes = read_file(item.path());
    std::string why;
    auto entry = bytes ? detail::parse_cache_entry(*bytes, why) : std::nullopt;
    if (!entry) continue;
    auto parts = detail::parse_key_text(entry->key_text);
    size_t same = 0;
    std::string diff;
    for (const auto& [name, value] : key.parts) {
      auto it = std::find_if(parts.begin(), parts.end(), [&](const auto& p) { return p.first == name; });
      std::string other = it == parts.end() ? "(absent)" : it->second;
      if (other == value) ++same;
      else diff += fmt::format("{}{}: {} vs {}", diff.empty() ? "" : "; ", name, value, other);
    }
    if (same > best_same) best_same = same, best_file = item.path().stem().string(), best_diff = diff;
  }
  if (best_file.empty()) return "no entry in the cache is near it";
  return fmt::format("nearest entry {} differs in {}", best_file, best_diff);
}

class Cache {
 public:
  KernelLookup lookup(ir::LoweredKernel& k) {
    // In one process the target and versions never change: the kernel's identity is the key.
    std::string identity = k.identity();
    std::promise<codegen::KernelEntry> promise;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (auto it = memory_.find(identity); it != memory_.end()) {
        auto future = it->second;
        lock.unlock();
        codegen::KernelEntry entry = future.get();  // waits while another thread compiles it
        ++counters_.memory_hits;
        if (logging()) log_line(fmt::format("hit (in process) {} {}", k.name, k.descriptor));
        return {entry, CacheOutcome::memory_hit};
      }
      memory_.emplace(identity, promise.get_future().share());
    }
    try {
      KernelLookup found = load_or_compile(k, make_key(k, codegen::host_target()));
      promise.set_value(found.entry);
      return found;
    } catch (...) {
      promise.set_exception(std::current_exception());
      std::lock_guard<std::mutex> lock(mutex_);
      memory_.erase(identity);
      throw;
    }
  }

  CacheCounters counters() const {
    return {counters_.memory_hits.load(), counters_.disk_hits.load(), counters_.compiles.load()};
  }
  void forget() {
    std::lock_guard<std::mutex> lock(mutex_);
    memory_.clear();
  }

 private:
  KernelLookup load_or_compile(ir::LoweredKernel& k, const KernelKey& key) {
    const std::string hex = key.hex();
    const fs::path dir = disk_cache_dir();
    const bool disk = disk_cache_enabled() && !disk_cache_broken(dir.string());
    if (disk) {
      if (auto bytes = read_file(dir / (hex + ".o"))) {
        std::string why;
        auto entry = detail::parse_cache_entry(*bytes, why);
        if (entry && entry->key_text != key.text()) why = "its key differs (another CPU, version or kernel)";
        if (entry && why.empty()) {
          codegen::KernelEntry e = codegen::link_object(entry->object, k.name);
          ++counters_.disk_hits;
          if (logging()) log_line(fmt::format("hit (disk) {} {}", k.name, k.descriptor));
          return {e, CacheOutcome::disk_hit};
        }
        if (logging()) log_line(fmt::format("entry {} rejected ({}): recompiling", hex, why));
      } else if (logging()) {
        log_line(fmt::format("miss {} {}: {}", k.name, k.descriptor, explain_miss(dir, key)));
      }
    } else if (logging()) {
      log_line(fmt::format("miss {} {} (disk cache off)", k.name, k.descriptor));
    }
    std::string object = codegen::compile_object(ir::kernel_loops(k));
    ++counters_.compiles;
    if (disk) {
      try {
        store_entry(dir, hex, encode_entry(key, object));
      } catch (const Error& e) {
        disable_disk_cache(dir.string(), e.what());
      }
    }
    return {codegen::link_object(object, k.name), CacheOutcome::compiled};
  }

  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_future<codegen::KernelEntry>> memory_;  // by identity
  struct {
    std::atomic<int64_t> memory_hits{0}, disk_hits{0}, compiles{0};
  } counters_;
};

Cache& cache() {
  static Cache c;
  return c;
}

}  // namespace

namespace detail {

std::optional<ParsedCacheEntry> parse_cache_entry(const std::string& bytes, std::string& why) {
  const std::string magic = kEntryMagic;
  if (bytes.compare(0, magic.size(), magic) != 0) return why = "not a tcc cache entry", std::nullopt;
  size_t key_end = bytes.find("\n\n", magic.size());
  if (key_end == std::string::npos) return why = "truncated header", std::nullopt;
  ParsedCacheEntry e;
  e.key_text = bytes.substr(magic.size(), key_end + 1 - magic.size());
  size_t pos = key_end + 2;
  unsigned long long size = 0, checksum = 0;
  int used = 0;
  if (std::sscanf(bytes.c_str() + pos, "object_bytes=%llu\nchecksum=%llx\n%n", &size, &checksum, &used) != 2 || used == 0)
    return why = "bad object header", std::nullopt;
  pos += static_cast<size_t>(used);
  if (bytes.size() - pos != size) return why = "truncated or padded object", std::nullopt;
  e.object = bytes.substr(pos);
  if (fnv1a(e.object, 1469598103934665603ull) != checksum) return why = "checksum mismatch", std::nullopt;
  return e;
}

std::vector<std::pair<std::string, std::string>> parse_key_text(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> parts;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (size_t eq = line.find('='); eq != std::string::npos) parts.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  return parts;
}

}  // namespace detail

std::string KernelKey::text() const {
  std::string s;
  for (const auto& [name, value] : parts) s += name + "=" + value + "\n";
  return s;
}

std::string KernelKey::hex() const {
  std::string t = text();
  return fmt::format("{:016x}{:016x}", fnv1a(t, 1469598103934665603ull), fnv1a(t, 0x84222325cbf29ce4ull));
}

// Which build of tcc made the code: the size and modification time of the binary this code is
// linked into. A rebuilt compiler may emit different code for the same kernel, so its entries
// must not be mistaken for the old ones (the version number alone does not change often).
const std::string& build_identity() {
  static const std::string identity = [] {
    Dl_info info{};
    struct stat st{};
    if (dladdr(reinterpret_cast<void*>(&make_key), &info) && info.dli_fname && stat(info.dli_fname, &st) == 0)
      return fmt::format("{}-{}.{:09}", st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    return std::string("unknown");
  }();
  return identity;
}

KernelKey make_key(const ir::LoweredKernel& k, const codegen::TargetInfo& target) {
  KernelKey key;
  key.parts = k.descriptor_fields;
  key.parts.emplace_back("schedule", k.schedule.str());
  key.parts.emplace_back("triple", target.triple);
  key.parts.emplace_back("cpu", target.cpu);
  key.parts.emplace_back("features", target.features);
  key.parts.emplace_back("tcc", std::string(TCC_VERSION) + "+codegen." + kCodegenRevision);
  key.parts.emplace_back("llvm", codegen::llvm_version());
  key.parts.emplace_back("build", build_identity());
  return key;
}

bool disk_cache_enabled() {
  const char* v = std::getenv("TCC_CACHE");
  if (!v) return true;
  std::string s = v;
  if (s == "off" || s == "0" || s == "false" || s == "no") return false;
  if (!(s.empty() || s == "on" || s == "1" || s == "true" || s == "yes")) {
    static std::once_flag warned;  // read on every compile: say it once
    std::call_once(warned, [&] {
      std::fprintf(stderr, "tcc: warning: TCC_CACHE='%s' is neither on nor off; the disk cache stays on\n", v);
    });
  }
  return true;
}

std::string disk_cache_dir() {
  if (const char* d = std::getenv("TCC_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return (fs::path(x) / "tcc").string();
  if (const char* h = std::getenv("HOME"); h && *h) return (fs::path(h) / ".cache" / "tcc").string();
  return (fs::temp_directory_path() / "tcc-cache").string();
}

void set_cache_logging(bool on) { g_logging = on; }

KernelLookup lookup_kernel(ir::LoweredKernel& k) { return cache().lookup(k); }
CacheCounters cache_counters() { return cache().counters(); }
void forget_in_process_kernels() { cache().forget(); }

DiskCacheInfo disk_cache_info() {
  DiskCacheInfo info;
  info.dir = disk_cache_dir();
  info.enabled = disk_cache_enabled();
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(info.dir, ec)) {
    if (item.path().extension() != ".o") continue;
    DiskCacheEntry e{item.path().string(), static_cast<uint64_t>(item.file_size(ec)), ""};
    if (auto bytes = read_file(item.path())) {
      std::string why;
      if (auto entry = detail::parse_cache_entry(*bytes, why)) {
        for (const auto& [name, value] : detail::parse_key_text(entry->key_text))
 if (name != "triple" && name != "features" && name != "llvm" && name != "tcc" && name != "build")
            e.descriptor += fmt::format("{}{}={}", e.descriptor.empty() ? "" : " ", name, value);
      } else {
        e.descriptor = "(corrupt: " + why + ")";
      }
    }
    info.total_bytes += e.bytes;
    info.entries.push_back(std::move(e));
  }
  std::sort(info.entries.begin(), info.entries.end(), [](const auto& a, const auto& b) { return a.file < b.file; });
  return info;
}

int disk_cache_clear() {
  std::error_code ec;
  int removed = 0;
  std::vector<fs::path> doomed;
  for (const auto& item : fs::directory_iterator(disk_cache_dir(), ec)) {
    std::string name = item.path().filename().string();
    if (item.path().extension() == ".o" || name.rfind(".tmp-", 0) == 0) doomed.push_back(item.path());
  }
  for (const fs::path& p : doomed)
    if (fs::remove(p, ec)) ++removed;
  return removed;
}

}  // namespace tcc::driver
