#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>

namespace tcc::detail {

std::string errno_text(int err) { return std::strerror(err); }

std::string quote_untrusted(std::string_view text, std::size_t max_chars) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

int FileDescriptor::close() {
  if (fd_ < 0) return 0;
  int rc = ::close(fd_);
  fd_ = -1;
  return rc == 0 ? 0 : errno;
}

int open_for_reading(const std::string& path, long long* regular_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError("cannot open '" + path + "': " + errno_text(errno));
  struct stat st {};
  int err = ::fstat(fd, &st) != 0 ? errno : 0;
  if (!err && S_ISDIR(st.st_mode)) err = EISDIR;
  if (err) {
    ::close(fd);
    throw InputError((err == EISDIR ? "cannot read '" : "cannot stat '") + path + "': " + errno_text(err));
  }
  *regular_size = S_ISREG(st.st_mode) ? static_cast<long long>(st.st_size) : -1;
  return fd;
}

std::size_t read_up_to(int fd, void* buffer, std::size_t size, const std::string& path) {
  auto* p = static_cast<char*>(buffer);
  std::size_t done = 0;
  while (done < size) {
    std::size_t chunk = std::min<std::size_t>(size - done, std::size_t{1} << 30);
    ssize_t n = ::read(fd, p + done, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FileAccessError("cannot read '" + path + "': " + errno_text(errno));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

int write_fully(int fd, const void* buffer, std::size_t size) {
  auto* p = static_cast<const char*>(buffer);
  while (size > 0) {
    std::size_t chunk = std::min<std::size_t>(size, std::size_t{1} << 30);
    ssize_t n = ::write(fd, p, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

namespace {

std::string temp_path_for(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  std::size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.size() > 100) base.resize(100);  // keep the temp name within NAME_MAX
  uint64_t stamp = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return dir + "." + base + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(stamp & 0xffffff);
}

}  // namespace

void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces) {
  write_file_atomically(path, pieces.begin(), pieces.size());
}

void write_file_atomically(const std::string& path, const std::string_view* pieces, std::size_t count) {
  auto failure = [&](int err) { return InputError("cannot write '" + path + "': " + errno_text(err)); };
  if (path.empty()) throw failure(ENOENT);

  // O_EXCL with a unique name never clobbers another file; 0666 lets the umask decide the mode.
  std::string temp;
  int raw = -1;
  for (int attempt = 0; attempt < 100 && raw < 0; ++attempt) {
    temp = temp_path_for(path);
    raw = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (raw < 0 && errno != EEXIST) break;
  }
  if (raw < 0) throw failure(errno);
  FileDescriptor fd(raw);

  int err = 0;
  for (std::size_t i = 0; i < count && !err; ++i) err = write_fully(fd.get(), pieces[i].data(), pieces[i].size());
  // fsync so that a crash after the rename cannot leave an empty or partial file in place.
  if (!err && ::fsync(fd.get()) != 0 && errno != EINVAL && errno != EROFS) err = errno;
  int close_err = fd.close();
  if (!err) err = close_err;
  if (!err && ::rename(temp.c_str(), path.c_str()) != 0) err = errno;
  if (err) {
    ::unlink(temp.c_str());
    throw failure(err);
  }
}

}  // namespace tcc::detail
