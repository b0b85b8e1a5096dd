// NumPy .npy reading and writing. The reader treats every byte of the file as untrusted: the
// header is parsed by a small recursive-descent reader of the Python literal subset NumPy writes,
// and every size is checked against what the file actually holds before anything is allocated.
#include <tcc/npy.h>

#include "file_io.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace tcc {

// The data is copied byte for byte between file and tensor, which is only right on a
// little-endian host (every target tcc generates code for is one).
static_assert(std::endian::native == std::endian::little, "tcc's .npy support assumes a little-endian host");

namespace {

using detail::FileAccessError;
using detail::FileDescriptor;
using detail::open_for_reading;
using detail::quote_untrusted;
using detail::read_up_to;
using detail::write_file_atomically;

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::size_t kArrayAlign = 64;  // NumPy aligns the start of the data to 64 bytes.
// No legitimate header comes near this; it bounds what a corrupt length field can make us read.
constexpr std::size_t kMaxHeaderBytes = std::size_t{1} << 20;
constexpr const char* kSupportedDtypes = "tcc reads little-endian <f4 <f8 <i4 <i8";

std::string count_bytes(std::size_t n) { return std::to_string(n) + (n == 1 ? " byte" : " bytes"); }

[[noreturn]] void fail(const std::string& message) { throw InputError(message); }
[[noreturn]] void fail_header(const std::string& message) { throw InputError("bad .npy header: " + message); }

// ---------------------------------------------------------------------------------------------
// Header dictionary: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }

struct HeaderFields {
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<Shape> shape;
};

class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  HeaderFields parse() {
    HeaderFields fields;
    skip_space();
    expect('{', "the header is not a dict literal");
    for (;;) {
      skip_space();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      std::string key = parse_key();
      skip_space();
      expect(':', "expected ':' after key '" + quote_untrusted(key) + "'");
      skip_space();
      if (key == "descr") {
        if (fields.descr) fail_header("duplicate key 'descr'");
        fields.descr = parse_descr();
      } else if (key == "fortran_order") {
        if (fields.fortran_order) fail_header("duplicate key 'fortran_order'");
        fields.fortran_order = parse_bool("fortran_order");
      } else if (key == "shape") {
        if (fields.shape) fail_header("duplicate key 'shape'");
        fields.shape = parse_shape();
      } else {
        // NumPy itself refuses headers with keys it does not know.
        fail_header("unexpected key '" + quote_untrusted(key) + "' (expected 'descr', 'fortran_order', 'shape')");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        break;
      }
      fail_header("expected ',' or '}' after the value of '" + key + "', found " + describe_here());
    }
    skip_space();
    if (pos_ != text_.size()) fail_header("unexpected text after the dict: '" + quote_untrusted(text_.substr(pos_)) + "'");
    if (!fields.descr) fail_header("missing key 'descr'");
    if (!fields.fortran_order) fail_header("missing key 'fortran_order'");
    if (!fields.shape) fail_header("missing key 'shape'");
    return fields;
  }

 private:
  int peek() const { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : -1; }

  void skip_space() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') break;
      ++pos_;
    }
  }

  std::string describe_here() const {
    if (pos_ >= text_.size()) return "the end of the header";
    return "'" + quote_untrusted(text_.substr(pos_), 20) + "'";
  }

  void expect(char c, const std::string& message) {
    if (peek() != static_cast<unsigned char>(c)) fail_header(message + " (found " + describe_here() + ")");
    ++pos_;
  }

  // A Python string literal in single or double quotes. Escapes are kept verbatim: no valid
  // key or supported descr contains one, so they only need to not end the string.
  std::optional<std::string> parse_string() {
    int quote = peek();
    if (quote != '\'' && quote != '"') return std::nullopt;
    std::size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\n') fail_header("newline inside a string literal");
      pos_ += text_[pos_] == '\\' ? 2 : 1;
    }
    if (pos_ >= text_.size()) fail_header("unterminated string literal");
    std::string s(text_.substr(start, pos_ - start));
    ++pos_;
    return s;
  }

  std::string parse_key() {
    auto key = parse_string();
    if (!key) fail_header("expected a quoted key, found " + describe_here());
    return *key;
  }

  std::string parse_descr() {
    if (peek() == '[') fail("unsupported structured dtype (a list descr); " + std::string(kSupportedDtypes));
    auto descr = parse_string();
    if (!descr) fail_header("'descr' is not a string (found " + describe_here() + ")");
    return *descr;
  }

  bool parse_bool(const char* key) {
    for (std::string_view word : {"True", "False"}) {
      if (text_.substr(pos_, word.size()) == word) {
        std::size_t end = pos_ + word.size();
        bool ident_continues = end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_');
        if (!ident_continues) {
          pos_ = end;
          return word == "True";
        }
      }
    }
    fail_header(std::string("'") + key + "' must be True or False (found " + describe_here() + ")");
  }

  int64_t parse_dimension() {
    bool negative = false;
    if (peek() == '-') {
      negative = true;
      ++pos_;
      skip_space();
    }
    if (peek() < '0' || peek() > '9') fail_header("shape entries must be integers (found " + describe_here() + ")");
    std::size_t start = pos_;
    uint64_t value = 0;
    bool too_large = false;
    while (peek() >= '0' && peek() <= '9') {
      unsigned digit = static_cast<unsigned>(peek() - '0');
      if (value > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - digit) / 10) too_large = true;
      else value = value * 10 + digit;
      ++pos_;
    }
    std::string digits(text_.substr(start, pos_ - start));
    if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 longs, found in old files.
    if (too_large) fail_header("shape entry " + std::string(negative ? "-" : "") + quote_untrusted(digits) + " is too large");
    if (negative && value != 0) fail_header("negative dimension -" + std::to_string(value) + " in 'shape'");
    return static_cast<int64_t>(value);
  }

  Shape parse_shape() {
    if (peek() != '(') fail_header("'shape' must be a tuple (found " + describe_here() + ")");
    ++pos_;
    Shape shape;
    skip_space();
    if (peek() == ')') {
      ++pos_;
      return shape;
    }
    for (;;) {
      skip_space();
      shape.push_back(parse_dimension());
      skip_space();
      if (peek() == ')') {
        // "(5)" is the integer 5 in Python, not a tuple.
        if (shape.size() == 1) fail_header("'shape' must be a tuple; a 1-d shape is written (N,)");
        ++pos_;
        return shape;
      }
      if (peek() != ',') fail_header("expected ',' or ')' in 'shape' (found " + describe_here() + ")");
      ++pos_;
      skip_space();
      if (peek() == ')') {
        ++pos_;
        return shape;
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------

struct NpyLayout {
  DType dtype = DType::f32;
  Shape shape;
  bool fortran_order = false;
  std::size_t data_offset = 0;  // bytes before the data
  std::size_t data_bytes = 0;   // bytes of data the header promises
};

std::string describe(const NpyLayout& layout) {
  return "shape " + shape_str(layout.shape) + " of <" + std::string(dtype_info(layout.dtype).npy_code);
}

DType dtype_from_descr(const std::string& descr) {
  // '=' is native order, which on the little-endian hosts tcc supports is '<'.
  if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '=')) {
    if (auto dtype = find_dtype(&DTypeInfo::npy_code, std::string_view(descr).substr(1))) return *dtype;
  }
  std::string why;
  if (!descr.empty() && descr[0] == '>') why = "big-endian ";
  else if (descr.find('O') != std::string::npos) why = "object ";
  fail("unsupported " + why + "dtype '" + quote_untrusted(descr) + "' (" + kSupportedDtypes + ")");
}

// Size of the magic, version and header-length field; throws when `prefix` is not a .npy preamble.
// `prefix` may be shorter than the preamble only when the whole file is.
std::size_t parse_preamble(std::string_view prefix, std::size_t* header_len) {
  if (prefix.size() < kMagic.size() || prefix.substr(0, kMagic.size()) != kMagic)
    fail("not a .npy file (it does not start with the \\x93NUMPY magic)");
  if (prefix.size() < kMagic.size() + 2) fail("truncated .npy file: it ends inside the format version");
  unsigned major = static_cast<unsigned char>(prefix[6]), minor = static_cast<unsigned char>(prefix[7]);
  if (minor != 0 || major < 1 || major > 3)
    fail("unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
         " (tcc reads 1.0, 2.0, 3.0)");
  std::size_t length_bytes = major == 1 ? 2 : 4;
  std::size_t preamble = kMagic.size() + 2 + length_bytes;
  if (prefix.size() < preamble) fail("truncated .npy file: it ends inside the header length");
  uint64_t len = 0;
  for (std::size_t i = 0; i < length_bytes; ++i)
    len |= static_cast<uint64_t>(static_cast<unsigned char>(prefix[8 + i])) << (8 * i);
  *header_len = static_cast<std::size_t>(len);
  return preamble;
}

// Rejects a header length that is absurd or, when the total size is known, longer than the file.
void check_header_length(std::size_t preamble, std::size_t header_len, std::optional<std::size_t> total_size) {
  if (header_len > kMaxHeaderBytes)
    fail("bad .npy header: it claims " + count_bytes(header_len) + ", more than the " +
         std::to_string(kMaxHeaderBytes) + " tcc accepts");
  if (total_size && (*total_size < preamble || header_len > *total_size - preamble))
    fail("truncated .npy file: the header claims " + count_bytes(header_len) + " but only " +
         std::to_string(*total_size - std::min(*total_size, preamble)) + " follow");
}

// Interprets the header text; checks the shape and the byte size it implies (without allocating).
NpyLayout layout_from_header(std::string_view header_text, std::size_t data_offset) {
  HeaderFields fields = HeaderParser(header_text).parse();
  NpyLayout layout;
  layout.dtype = dtype_from_descr(*fields.descr);
  layout.shape = std::move(*fields.shape);
  layout.fortran_order = *fields.fortran_order;
  layout.data_offset = data_offset;

  int64_t numel = 0;
  try {
    numel = checked_numel(layout.shape);
  } catch (const ShapeError& e) {
    fail(std::string("bad .npy header: ") + e.what());
  }
  const std::size_t item = dtype_size(layout.dtype);
  if (static_cast<uint64_t>(numel) > std::numeric_limits<std::size_t>::max() / item)
    fail("bad .npy header: the byte size of " + describe(layout) + " overflows");
  layout.data_bytes = static_cast<std::size_t>(numel) * item;
  return layout;
}

// `available`: the bytes that follow the header.
void check_data_size(const NpyLayout& layout, std::size_t available) {
  if (available < layout.data_bytes)
    fail("truncated .npy data: " + describe(layout) + " needs " + count_bytes(layout.data_bytes) +
         " but the file holds " + std::to_string(available) + " after the header");
  if (available > layout.data_bytes)
    fail("trailing data in .npy file: " + count_bytes(available - layout.data_bytes) + " after the " +
         count_bytes(layout.data_bytes) + " of data for " + describe(layout));
}

// Validates a whole in-memory image; allocates nothing proportional to the claimed shape.
NpyLayout parse_layout(std::string_view image) {
  std::size_t header_len = 0;
  std::size_t preamble = parse_preamble(image, &header_len);
  check_header_length(preamble, header_len, image.size());
  NpyLayout layout = layout_from_header(image.substr(preamble, header_len), preamble + header_len);
  check_data_size(layout, image.size() - layout.data_offset);
  return layout;
}

// Copies an array stored in Fortran (column-major) order into C (row-major) order.
template <std::size_t ItemSize>
void fortran_to_c(const std::byte* src, std::byte* dst, const Shape& shape) {
  const std::size_t rank = shape.size();
  int64_t numel = checked_numel(shape);
  if (numel == 0) return;
  if (rank <= 1) {
    std::memcpy(dst, src, static_cast<std::size_t>(numel) * ItemSize);
    return;
  }
  // Element (i0,...,in-1) sits at offset sum(ik * fstride[k]) in the Fortran layout.
  std::vector<int64_t> fstride(rank), index(rank, 0);
  fstride[0] = 1;
  for (std::size_t k = 1; k < rank; ++k) fstride[k] = fstride[k - 1] * shape[k - 1];
  const int64_t inner = shape[rank - 1], inner_stride = fstride[rank - 1];
  int64_t base = 0;
  for (int64_t done = 0; done < numel; done += inner) {
    for (int64_t j = 0; j < inner; ++j, dst += ItemSize)
      std::memcpy(dst, src + static_cast<std::size_t>(base + j * inner_stride) * ItemSize, ItemSize);
    // Advance the multi-index over the outer axes, last axis fastest.
    for (std::size_t k = rank - 1; k-- > 0;) {
      base += fstride[k];
      if (++index[k] < shape[k]) break;
      base -= index[k] * fstride[k];
      index[k] = 0;
    }
  }
}

void fortran_to_c(const void* src, Tensor& dst) {
  auto* out = static_cast<std::byte*>(dst.data());
  auto* in = static_cast<const std::byte*>(src);
  if (dtype_size(dst.dtype()) == 4) fortran_to_c<4>(in, out, dst.shape());
  else fortran_to_c<8>(in, out, dst.shape());
}

Tensor tensor_from_data(const NpyLayout& layout, const void* data) {
  Tensor t(layout.dtype, layout.shape);
  if (layout.data_bytes == 0) return t;
  if (layout.fortran_order) fortran_to_c(data, t);
  else std::memcpy(t.data(), data, layout.data_bytes);
  return t;
}

// Reads an .npy image sequentially. `file_size` is known for regular files: every size is then
// checked against it before the data is allocated. A pipe or device has no size, so its data is
// buffered only as fast as it arrives, and a stream that never ends cannot exhaust memory
// beyond what its header claims.
Tensor read_from_descriptor(int fd, const std::string& path, std::optional<std::size_t> file_size) {
  std::string head(kMagic.size() + 2, '\0');
  head.resize(read_up_to(fd, head.data(), head.size(), path));
  if (head.size() == kMagic.size() + 2 && head.starts_with(kMagic)) {
    std::size_t length_bytes = head[6] == 1 ? 2 : 4;
    std::size_t have = head.size();
    head.resize(have + length_bytes);
    head.resize(have + read_up_to(fd, head.data() + have, length_bytes, path));
  }
  std::size_t header_len = 0;
  const std::size_t preamble = parse_preamble(head, &header_len);
  check_header_length(preamble, header_len, file_size);
  std::string header(header_len, '\0');
  std::size_t got = read_up_to(fd, header.data(), header_len, path);
  if (got < header_len)
    fail("truncated .npy file: the header claims " + count_bytes(header_len) + " but only " + std::to_string(got) +
         " follow");
  NpyLayout layout = layout_from_header(header, preamble + header_len);

  auto finish = [&](Tensor read) {
    if (!layout.fortran_order) return read;
    Tensor t(layout.dtype, layout.shape);
    fortran_to_c(read.data(), t);
    return t;
  };
  if (file_size) {
    if (*file_size < layout.data_offset)  // only if the file changed since fstat()
      throw FileAccessError("cannot read '" + path + "': the file changed while being read");
    check_data_size(layout, *file_size - layout.data_offset);
    Tensor t(layout.dtype, layout.shape);
    if (read_up_to(fd, t.data(), layout.data_bytes, path) != layout.data_bytes)
      throw FileAccessError("cannot read '" + path + "': the file shrank while being read");
    return finish(std::move(t));
  }
  std::string data;
  const std::size_t chunk = std::size_t{1} << 20;
  while (data.size() < layout.data_bytes) {
    std::size_t have = data.size();
    data.resize(have + std::min(chunk, layout.data_bytes - have));
    std::size_t n = read_up_to(fd, data.data() + have, data.size() - have, path);
    data.resize(have + n);
    if (n == 0) break;
  }
  check_data_size(layout, data.size());
  char probe;
  if (read_up_to(fd, &probe, 1, path) != 0)
    fail("trailing data in .npy file: more bytes follow the " + count_bytes(layout.data_bytes) + " of data for " +
         describe(layout));
  return tensor_from_data(layout, data.data());
}

std::string npy_header(const Tensor& tensor) {
  std::string dict = "{'descr': '<";
  dict += dtype_info(tensor.dtype()).npy_code;
  dict += "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < tensor.shape().size(); ++i) {
    if (i) dict += ", ";
    dict += std::to_string(tensor.shape()[i]);
  }
  if (tensor.shape().size() == 1) dict += ",";
  dict += "), }";

  // Version 1.0 has a 16-bit header length; only an absurd rank needs 2.0 (as NumPy does).
  for (int major : {1, 2}) {
    std::size_t preamble = kMagic.size() + 2 + (major == 1 ? 2 : 4);
    std::size_t unpadded = preamble + dict.size() + 1;  // + the final '\n'
    std::size_t padded = (unpadded + kArrayAlign - 1) / kArrayAlign * kArrayAlign;
    std::size_t header_len = padded - preamble;
    if (major == 1 && header_len > 0xffff) continue;
    std::string out(kMagic);
    out += static_cast<char>(major);
    out += '\0';
    for (std::size_t i = 0; i < preamble - 8; ++i) out += static_cast<char>((header_len >> (8 * i)) & 0xff);
    out += dict;
    out.append(padded - unpadded, ' ');
    out += '\n';
    return out;
  }
  throw InputError("the .npy header of a rank-" + std::to_string(tensor.rank()) + " tensor is too long");
}

void check_writable(const Tensor& tensor) {
  if (!tensor.defined()) throw ArgumentError("cannot write an undefined tensor as .npy");
}

}  // namespace

Tensor parse_npy(const void* bytes, std::size_t size) {
  if (size > 0 && bytes == nullptr) throw ArgumentError("parse_npy: null buffer");
  std::string_view all(static_cast<const char*>(bytes), bytes ? size : 0);
  NpyLayout layout = parse_layout(all);
  return tensor_from_data(layout, all.data() + layout.data_offset);
}

Tensor read_npy(const std::string& path) {
  long long regular_size = -1;
  FileDescriptor fd(open_for_reading(path, &regular_size));
  try {
    std::optional<std::size_t> size;
    if (regular_size >= 0) size = static_cast<std::size_t>(regular_size);
    return read_from_descriptor(fd.get(), path, size);
  } catch (const FileAccessError&) {
    throw;
  } catch (const InputError& e) {
    // Format errors say what is wrong; prefix the file they were found in.
    throw InputError(path + ": " + e.what());
  }
}

std::string encode_npy_header(const Tensor& tensor) {
  check_writable(tensor);
  return npy_header(tensor);
}

std::string encode_npy(const Tensor& tensor) {
  check_writable(tensor);
  std::string out = npy_header(tensor);
  out.append(static_cast<const char*>(tensor.data()), tensor.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& tensor) {
  check_writable(tensor);
  const std::string header = npy_header(tensor);
  write_file_atomically(path, {{header.data(), header.size()}, {static_cast<const char*>(tensor.data()), tensor.nbytes()}});
}

}  // namespace tcc
