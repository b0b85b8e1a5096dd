// NumPy .npz archives. The reader trusts nothing in the file: it starts from the end-of-central-
// directory record (as unzip does), checks every offset and size against the file before use,
// inflates into a buffer that grows only as data arrives, and verifies each member's CRC-32.
#include <tcc/npy.h>
#include <tcc/npz.h>

#include "file_io.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tcc {

namespace {

using detail::FileDescriptor;
using detail::quote_untrusted;

// ZIP record signatures and fixed sizes (APPNOTE.TXT, sections 4.3.7 to 4.3.16).
constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kLocalHeaderSize = 30;
constexpr std::size_t kCentralHeaderSize = 46;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kZip64EndSize = 56;
constexpr std::size_t kZip64LocatorSize = 20;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflated = 8;
constexpr uint32_t kNo32 = 0xffffffff;  // "see the ZIP64 record"
constexpr uint16_t kNo16 = 0xffff;
// Deflate cannot expand data by more than about 1032:1; a larger claimed size is a lie.
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr std::size_t kZlibChunk = std::size_t{1} << 30;  // zlib counts in 32-bit uInt

[[noreturn]] void fail(const std::string& message) { throw InputError(message); }
[[noreturn]] void damaged(const std::string& message) { throw InputError("damaged .npz archive: " + message); }

// Bounds-checked little-endian reads from the archive image.
class Bytes {
 public:
  explicit Bytes(std::string_view all) : all_(all) {}
  std::size_t size() const { return all_.size(); }
  bool has(uint64_t offset, uint64_t count) const { return offset <= all_.size() && count <= all_.size() - offset; }
  void need(uint64_t offset, uint64_t count, const char* what) const {
    if (!has(offset, count)) damaged(std::string(what) + " lies outside the file");
  }
  uint64_t le(uint64_t offset, int width) const {
    need(offset, width, "a record");
    uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(all_[offset + i]);
    return v;
  }
  uint16_t u16(uint64_t offset) const { return static_cast<uint16_t>(le(offset, 2)); }
  uint32_t u32(uint64_t offset) const { return static_cast<uint32_t>(le(offset, 4)); }
  uint64_t u64(uint64_t offset) const { return le(offset, 8); }
  std::string_view view(uint64_t offset, uint64_t count, const char* what) const {
    need(offset, count, what);
    return all_.substr(offset, count);
  }

 private:
  std::string_view all_;
};

struct Directory {
  uint64_t entries = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};

// The end-of-central-directory record is the last 22 bytes, unless a comment of up to 64 KiB
// follows it: scan back for a signature whose comment length reaches exactly to the end.
Directory find_directory(const Bytes& in) {
  const std::size_t n = in.size();
  std::optional<std::size_t> end;
  if (n >= kEndSize) {
    const std::size_t lowest = n - kEndSize > 0xffff ? n - kEndSize - 0xffff : 0;
    for (std::size_t pos = n - kEndSize + 1; pos-- > lowest;)
      if (in.u32(pos) == kEndSig && pos + kEndSize + in.u16(pos + 20) == n) {
        end = pos;
        break;
      }
  }
  if (!end) {
    if (n >= 4 && in.u32(0) == kLocalHeaderSig) damaged("no end-of-central-directory record (the file is truncated)");
    if (in.view(0, std::min<std::size_t>(n, 6), "the start") == "\x93NUMPY") fail("not a .npz archive: it is a .npy file");
    fail("not a .npz archive (no ZIP end-of-central-directory record)");
  }
  const std::size_t e = *end;
  if (in.u16(e + 4) != 0 || in.u16(e + 6) != 0 || in.u16(e + 8) != in.u16(e + 10))
    fail("split (multi-disk) ZIP archives are not supported");
  Directory dir{in.u16(e + 10), in.u32(e + 16), in.u32(e + 12)};
  uint64_t directory_end = e;
  // A ZIP64 archive keeps the true counts in a record found through a locator just before.
  if (e >= kZip64LocatorSize && in.u32(e - kZip64LocatorSize) == kZip64LocatorSig) {
    const uint64_t locator = e - kZip64LocatorSize;
    const uint64_t record = in.u64(locator + 8);
    if (in.u32(locator + 4) != 0 || in.u32(locator + 16) > 1) fail("split (multi-disk) ZIP archives are not supported");
    in.need(record, kZip64EndSize, "the ZIP64 end record");
    if (record + kZip64EndSize > locator || in.u32(record) != kZip64EndSig) damaged("bad ZIP64 end record");
    if (in.u32(record + 16) != 0 || in.u32(record + 20) != 0 || in.u64(record + 24) != in.u64(record + 32))
      fail("split (multi-disk) ZIP archives are not supported");
    dir = Directory{in.u64(record + 32), in.u64(record + 48), in.u64(record + 40)};
    directory_end = record;
  } else if (dir.entries == kNo16 || dir.offset == kNo32 || dir.size == kNo32) {
    damaged("the end record refers to a ZIP64 record that is missing");
  }
  if (dir.offset > directory_end || dir.size > directory_end - dir.offset)
    damaged("the central directory lies outside the file");
  if (dir.entries > dir.size / kCentralHeaderSize)
    damaged("the central directory is too small for " + std::to_string(dir.entries) + " entries");
  return dir;
}

struct Member {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t packed_size = 0;
  uint64_t size = 0;
  uint64_t local_offset = 0;
};

// Reads the central-directory entry at `pos`; returns the offset of the next one.
uint64_t read_entry(const Bytes& in, uint64_t pos, uint64_t limit, Member& m) {
  if (pos + kCentralHeaderSize > limit || in.u32(pos) != kCentralHeaderSig) damaged("bad central directory entry");
  m.flags = in.u16(pos + 8);
  m.method = in.u16(pos + 10);
  m.crc = in.u32(pos + 16);
  m.packed_size = in.u32(pos + 20);
  m.size = in.u32(pos + 24);
  const uint64_t name_len = in.u16(pos + 28), extra_len = in.u16(pos + 30), comment_len = in.u16(pos + 32);
  m.local_offset = in.u32(pos + 42);
  const uint64_t next = pos + kCentralHeaderSize + name_len + extra_len + comment_len;
  if (next > limit) damaged("a central directory entry overruns the directory");
  m.name = std::string(in.view(pos + kCentralHeaderSize, name_len, "a member name"));
  // The ZIP64 extra field holds, in this order, each of the three values the header set to ~0.
  uint64_t extra = pos + kCentralHeaderSize + name_len;
  const uint64_t extra_end = extra + extra_len;
  while (extra + 4 <= extra_end) {
    const uint16_t id = in.u16(extra), len = in.u16(extra + 2);
    if (extra + 4 + len > extra_end) damaged("a member's extra field overruns its entry");
    if (id == kZip64ExtraId) {
      uint64_t field = extra + 4;
      for (uint64_t* value : {&m.size, &m.packed_size, &m.local_offset}) {
        if (*value != kNo32) continue;
        if (field + 8 > extra + 4 + len) damaged("a ZIP64 extra field is too short");
        *value = in.u64(field);
        field += 8;
      }
    }
    extra += 4 + len;
  }
  return next;
}

uint32_t crc32_of(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::size_t done = 0; done < data.size();) {
    const std::size_t n = std::min(data.size() - done, kZlibChunk);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + done), static_cast<uInt>(n));
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

// Raw deflate (no zlib header), exactly `size` bytes out; the buffer grows as data arrives, so
// a member that lies about its size costs no more memory than it really inflates to.
std::string inflate_member(std::string_view packed, uint64_t size) {
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw InternalError("zlib: inflateInit2 failed");
  struct End {
    z_stream* zs;
    ~End() { inflateEnd(zs); }
  } end{&zs};
  std::string out(std::min<uint64_t>(size, uint64_t{1} << 24), '\0');
  std::size_t in_pos = 0, out_pos = 0;
  unsigned char probe = 0;
  for (;;) {
    if (zs.avail_in == 0 && in_pos < packed.size()) {
      const std::size_t n = std::min(packed.size() - in_pos, kZlibChunk);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data() + in_pos));
      zs.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    if (out_pos == out.size() && out.size() < size) out.resize(std::min<uint64_t>(size, out.size() * 2 + 4096));
    // With the buffer full, inflate into one spare byte: the stream must end without using it.
    const bool full = out_pos == out.size();
    const std::size_t room = full ? 1 : std::min(out.size() - out_pos, kZlibChunk);
    zs.next_out = full ? &probe : reinterpret_cast<Bytef*>(out.data() + out_pos);
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const std::size_t produced = room - zs.avail_out;
    if (full && produced > 0) damaged("a member inflates to more than its declared " + std::to_string(size) + " bytes");
    out_pos += full ? 0 : produced;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_pos == packed.size()) damaged("a member's deflate data is truncated");
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      damaged(std::string("a member's deflate data is corrupt (") + (zs.msg ? zs.msg : "zlib error") + ")");
  }
  if (out_pos != size)
    damaged("a member inflates to " + std::to_string(out_pos) + " bytes, not the declared " + std::to_string(size));
  return out;
}

std::string key_of(const std::string& member_name) {
  std::string key = member_name;
  if (key.ends_with(".npy")) key.resize(key.size() - 4);
  return key;
}

// ---------------------------------------------------------------------------------------------
// Writing.

void put(std::string& out, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

constexpr uint16_t kVersion = 20;               // 2.0: stored members, no ZIP64
constexpr uint16_t kMadeByUnix = 3 << 8 | kVersion;
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: reproducible output
constexpr uint32_t kFileMode = 0100644u << 16;        // a regular file, rw-r--r--

void check_member_name(const std::string& name, const std::set<std::string>& seen) {
  if (name.empty() || name.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos)
    throw ArgumentError("cannot write an .npz member named '" + quote_untrusted(name) + "'");
  if (seen.count(name)) throw ArgumentError("cannot write two .npz members named '" + name + "'");
}

// The archive as pieces: owned headers interleaved with views of the tensors' data, so that
// writing a file copies no tensor.
struct Encoded {
  std::vector<std::string> owned;  // reserved up front: pieces point into these strings
  std::vector<std::string_view> pieces;
};

Encoded encode(const std::vector<NamedTensor>& tensors) {
  if (tensors.size() >= kNo16) throw InputError("an .npz archive of 65535 or more tensors is not supported");
  Encoded e;
  e.owned.reserve(tensors.size() + 1);
  std::string directory;
  std::set<std::string> seen;
  uint64_t offset = 0;
  auto check_4gib = [](bool fits) {
    if (!fits) throw InputError("an .npz archive of 4 GiB or more is not supported; write the tensors as .npy files");
  };
  for (const NamedTensor& nt : tensors) {
    check_member_name(nt.name, seen);
    seen.insert(nt.name);
    if (!nt.tensor.defined()) throw ArgumentError("cannot write an undefined tensor as .npz member '" + nt.name + "'");
    const std::string name = nt.name + ".npy";
    const std::string npy_header = encode_npy_header(nt.tensor);
    const std::string_view data(static_cast<const char*>(nt.tensor.data()), nt.tensor.nbytes());
    const uint64_t size = npy_header.size() + data.size();
    check_4gib(size < kNo32 && offset < kNo32);
    const uint32_t crc = static_cast<uint32_t>(
        crc32_combine(crc32_of(npy_header), crc32_of(data), static_cast<z_off_t>(data.size())));

    std::string local;
    put(local, kLocalHeaderSig, 4);
    put(local, kVersion, 2);
    put(local, 0, 2);  // flags
    put(local, kMethodStored, 2);
    put(local, 0, 2);  // time
    put(local, kDosDate, 2);
    put(local, crc, 4);
    put(local, size, 4);
    put(local, size, 4);
    put(local, name.size(), 2);
    put(local, 0, 2);  // extra length
    local += name;
    local += npy_header;

    put(directory, kCentralHeaderSig, 4);
    put(directory, kMadeByUnix, 2);
    directory.append(local, 4, 26);  // version needed .. extra length, as in the local header
    put(directory, 0, 2);            // comment length
    put(directory, 0, 2);            // disk
    put(directory, 0, 2);            // internal attributes
    put(directory, kFileMode, 4);
    put(directory, offset, 4);
    directory += name;

    offset += local.size() + data.size();
    e.owned.push_back(std::move(local));
    e.pieces.push_back(e.owned.back());
    e.pieces.push_back(data);
  }
  check_4gib(offset < kNo32 && directory.size() < kNo32 - offset);
  put(directory, kEndSig, 4);
  put(directory, 0, 2);
  put(directory, 0, 2);
  put(directory, tensors.size(), 2);
  put(directory, tensors.size(), 2);
  put(directory, directory.size() - 12, 4);  // the directory's size, without this record's start
  put(directory, offset, 4);
  put(directory, 0, 2);  // comment length
  e.owned.push_back(std::move(directory));
  e.pieces.push_back(e.owned.back());
  return e;
}

}  // namespace

std::vector<NamedTensor> parse_npz(const void* bytes, std::size_t size) {
  if (size > 0 && bytes == nullptr) throw ArgumentError("parse_npz: null buffer");
  const Bytes in(std::string_view(static_cast<const char*>(bytes), bytes ? size : 0));
  const Directory dir = find_directory(in);
  std::vector<NamedTensor> result;
  std::set<std::string> keys;
  uint64_t pos = dir.offset;
  for (uint64_t i = 0; i < dir.entries; ++i) {
    Member m;
    pos = read_entry(in, pos, dir.offset + dir.size, m);
    const std::string shown = "member '" + quote_untrusted(m.name) + "'";
    if (m.flags & 1) fail(shown + " is encrypted");
    if (m.method != kMethodStored && m.method != kMethodDeflated)
      fail(shown + " uses compression method " + std::to_string(m.method) +
           " (tcc reads stored and deflated members, as numpy.savez and savez_compressed write)");
    const std::string key = key_of(m.name);
    if (key.empty()) damaged(shown + " has no name");
    if (!keys.insert(key).second) fail(shown + " appears twice");

    in.need(m.local_offset, kLocalHeaderSize, "a member's local header");
    if (in.u32(m.local_offset) != kLocalHeaderSig) damaged(shown + ": bad local header");
    const uint64_t data = m.local_offset + kLocalHeaderSize + in.u16(m.local_offset + 26) + in.u16(m.local_offset + 28);
    const std::string_view packed = in.view(data, m.packed_size, "a member's data");
    if (m.method == kMethodStored && m.packed_size != m.size)
      damaged(shown + " is stored with two different sizes");
    if (m.method == kMethodDeflated && m.size / kMaxDeflateRatio > m.packed_size + 1)
      damaged(shown + " claims " + std::to_string(m.size) + " bytes from " + std::to_string(m.packed_size) +
              " deflated ones");
    std::string inflated;
    if (m.method == kMethodDeflated) {
      try {
        inflated = inflate_member(packed, m.size);
      } catch (const InputError& e) {
        throw InputError(shown + ": " + e.what());
      }
    }
    const std::string_view npy = m.method == kMethodDeflated ? std::string_view(inflated) : packed;
    if (crc32_of(npy) != m.crc) damaged(shown + " fails its CRC-32 check");
    try {
      result.push_back({key, parse_npy(npy.data(), npy.size())});
    } catch (const InputError& e) {
      throw InputError(shown + ": " + e.what());
    }
  }
  return result;
}

std::vector<NamedTensor> read_npz(const std::string& path) {
  long long regular_size = -1;
  FileDescriptor fd(detail::open_for_reading(path, &regular_size));
  std::string image;
  if (regular_size >= 0) {
    image.resize(static_cast<std::size_t>(regular_size));
    if (detail::read_up_to(fd.get(), image.data(), image.size(), path) != image.size())
      throw InputError("cannot read '" + path + "': the file shrank while being read");
  } else {
    const std::size_t chunk = std::size_t{1} << 20;
    for (std::size_t n = chunk; n == chunk;) {
      const std::size_t have = image.size();
      image.resize(have + chunk);
      n = detail::read_up_to(fd.get(), image.data() + have, chunk, path);
      image.resize(have + n);
    }
  }
  try {
    return parse_npz(image.data(), image.size());
  } catch (const InputError& e) {
    throw InputError(path + ": " + e.what());
  }
}

std::string encode_npz(const std::vector<NamedTensor>& tensors) {
  const Encoded e = encode(tensors);
  std::string out;
  for (std::string_view piece : e.pieces) out += piece;
  return out;
}

void write_npz(const std::string& path, const std::vector<NamedTensor>& tensors) {
  const Encoded e = encode(tensors);
  detail::write_file_atomically(path, e.pieces.data(), e.pieces.size());
}

}  // namespace tcc
