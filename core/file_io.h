// File and text helpers shared by the .npy and .npz readers and writers (internal to core/).
#pragma once
#include <tcc/error.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace tcc::detail {

std::string errno_text(int err);

// Renders untrusted text for an error message: one line, printable, bounded in length.
std::string quote_untrusted(std::string_view text, std::size_t max_chars = 40);

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { close(); }
  int get() const { return fd_; }
  // Closes now and reports the error close() gives (it can be the first sign of a failed write).
  int close();

 private:
  int fd_;
};

// A failure to read the file itself; its message already names the path.
struct FileAccessError : InputError {
  using InputError::InputError;
};

// Opens `path` for reading; a directory or a missing file is an InputError naming the path.
// Sets *regular_size to the size of a regular file, or to -1 for a pipe or device.
int open_for_reading(const std::string& path, long long* regular_size);

// Reads up to `size` bytes; returns how many were read (fewer only at end of file).
std::size_t read_up_to(int fd, void* buffer, std::size_t size, const std::string& path);

// Writes everything or returns the errno of the failure.
int write_fully(int fd, const void* buffer, std::size_t size);

// Writes the pieces, in order, to a temporary file beside `path` and renames it into place
// (fsync first): a failed write leaves no file and never clobbers another one.
void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces);
void write_file_atomically(const std::string& path, const std::string_view* pieces, std::size_t count);

}  // namespace tcc::detail
