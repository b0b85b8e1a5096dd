// Tests of .npz archives: round trips, what NumPy writes (stored, deflated, ZIP64 records) and
// reads, every rejection path, every truncation and single-byte corruption of real archives,
// and atomic writes.
#include <gtest/gtest.h>
#include <tcc/npy.h>
#include <tcc/npz.h>
#include <zlib.h>

#include "support/npy_test_support.h"

#include <string>
#include <vector>

namespace {

using namespace tcc::test;
using tcc::DType;
using tcc::InputError;
using tcc::NamedTensor;
using tcc::Tensor;

std::vector<NamedTensor> parse(const std::string& bytes) { return tcc::parse_npz(bytes.data(), bytes.size()); }

void expect_rejected(const std::string& bytes, const std::string& fragment) {
  try {
    parse(bytes);
    ADD_FAILURE() << "accepted, expected an error containing \"" << fragment << "\"";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(fragment), std::string::npos) << "message: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message is not one line: " << message;
  }
}

uint32_t get32(const std::string& s, std::size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
  return v;
}
void set16(std::string& s, std::size_t at, uint32_t v) {
  for (int i = 0; i < 2; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}
void set32(std::string& s, std::size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}
std::string le(uint64_t v, int width) {
  std::string out;
  for (int i = 0; i < width; ++i) out += static_cast<char>(v >> (8 * i));
  return out;
}

// A copy of `zip` with little-endian fields overwritten must be rejected with `fragment`.
struct Patch {
  std::size_t at;
  int width;  // 2 or 4 bytes
  uint32_t value;
};
void expect_patched_rejected(std::string zip, std::initializer_list<Patch> patches, const std::string& fragment) {
  for (const Patch& p : patches) p.width == 2 ? set16(zip, p.at, p.value) : set32(zip, p.at, p.value);
  expect_rejected(zip, fragment);
}

// Offsets of the records of an archive tcc wrote (no comment, no ZIP64).
std::size_t end_record(const std::string& zip) { return zip.size() - 22; }
std::size_t central_directory(const std::string& zip) { return get32(zip, end_record(zip) + 16); }

std::vector<NamedTensor> two_members() {
  return {{"x", make_tensor<float>({2, 3})}, {"y", make_tensor<int64_t>({4})}};
}

void expect_two_members(const std::vector<NamedTensor>& got) {
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, "x");
  EXPECT_EQ(got[1].name, "y");
  expect_values<float>(got[0].tensor, DType::f32, {2, 3});
  expect_values<int64_t>(got[1].tensor, DType::i64, {4});
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(NpzRoundTrip, EveryDtypeAndShapeInMemory) {
  std::vector<NamedTensor> in = {{"f", make_tensor<float>({2, 3, 4})},
                                 {"d", make_tensor<double>({})},
                                 {"i", make_tensor<int32_t>({0})},
                                 {"l", make_tensor<int64_t>({1, 0, 5})}};
  const std::vector<NamedTensor> out = parse(tcc::encode_npz(in));
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t k = 0; k < in.size(); ++k) EXPECT_EQ(out[k].name, in[k].name);
  expect_values<float>(out[0].tensor, DType::f32, {2, 3, 4});
  expect_values<double>(out[1].tensor, DType::f64, {});
  expect_values<int32_t>(out[2].tensor, DType::i32, {0});
  expect_values<int64_t>(out[3].tensor, DType::i64, {1, 0, 5});
}

TEST(NpzRoundTrip, EmptyArchive) {
  const std::string zip = tcc::encode_npz({});
  EXPECT_EQ(zip.size(), 22u);  // just the end record
  EXPECT_TRUE(parse(zip).empty());
}

TEST(NpzRoundTrip, ThroughFileIsByteIdenticalToEncode) {
  TempDir dir;
  tcc::write_npz(dir.file("a.npz"), two_members());
  EXPECT_EQ(read_file_bytes(dir.file("a.npz")), tcc::encode_npz(two_members()));
  expect_two_members(tcc::read_npz(dir.file("a.npz")));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a.npz"});  // no temporary left
}

TEST(NpzRoundTrip, MembersAreNpyFilesNamedNameDotNpy) {
  const std::string zip = tcc::encode_npz(two_members());
  ASSERT_EQ(get32(zip, 0), 0x04034b50u);
  EXPECT_EQ(zip.substr(30, 5), "x.npy");
  const std::string npy = tcc::encode_npy(make_tensor<float>({2, 3}));
  EXPECT_EQ(zip.substr(35, npy.size()), npy);  // stored, byte for byte
}

TEST(NpzWrite, BadNamesAndUndefinedTensorsAreRejected) {
  const Tensor t = make_tensor<float>({2});
  EXPECT_THROW(tcc::encode_npz({{"", t}}), tcc::ArgumentError);
  EXPECT_THROW(tcc::encode_npz({{"a/b", t}}), tcc::ArgumentError);
  EXPECT_THROW(tcc::encode_npz({{"a", t}, {"a", t}}), tcc::ArgumentError);
  EXPECT_THROW(tcc::encode_npz({{"a", Tensor()}}), tcc::ArgumentError);
}

TEST(NpzWrite, FailedWriteLeavesNothing) {
  TempDir dir;
  EXPECT_THROW(tcc::write_npz(dir.file("missing/a.npz"), two_members()), InputError);
  fs::create_directory(dir.file("taken.npz"));
  EXPECT_THROW(tcc::write_npz(dir.file("taken.npz"), two_members()), InputError);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"taken.npz"});  // no temporary file
}

// ---------------------------------------------------------------------------------------------
// Rejections, each with a one-line reason

TEST(NpzReject, NotAZip) {
  expect_rejected("", "not a .npz archive");
  expect_rejected("hello, world, this is not a zip file at all", "not a .npz archive");
  expect_rejected(tcc::encode_npy(make_tensor<float>({40})), "it is a .npy file");
}

TEST(NpzReject, TruncatedArchive) {
  const std::string zip = tcc::encode_npz(two_members());
  expect_rejected(zip.substr(0, zip.size() - 1), "truncated");
  expect_rejected(zip.substr(0, 100), "truncated");
}

TEST(NpzReject, CrcMismatch) {
  std::string zip = tcc::encode_npz(two_members());
  zip[35 + 128] ^= 1;  // a data byte of x.npy
  expect_rejected(zip, "member 'x.npy' fails its CRC-32 check");
}

TEST(NpzReject, EncryptedAndUnknownMethods) {
  const std::string zip = tcc::encode_npz(two_members());
  const std::size_t cd = central_directory(zip);
  expect_patched_rejected(zip, {{cd + 8, 2, 1}}, "member 'x.npy' is encrypted");
  expect_patched_rejected(zip, {{cd + 10, 2, 12}}, "uses compression method 12");
}

TEST(NpzReject, SplitArchives) {
  const std::string zip = tcc::encode_npz(two_members());
  expect_patched_rejected(zip, {{end_record(zip) + 4, 2, 1}}, "split (multi-disk)");
}

TEST(NpzReject, OffsetsAndSizesOutsideTheFile) {
  const std::string zip = tcc::encode_npz(two_members());
  const std::size_t cd = central_directory(zip), end = end_record(zip);
  expect_patched_rejected(zip, {{end + 16, 4, 0x7fffffff}}, "central directory lies outside the file");
  expect_patched_rejected(zip, {{end + 8, 2, 60000}, {end + 10, 2, 60000}}, "too small for 60000 entries");
  expect_patched_rejected(zip, {{cd + 42, 4, 0x7ffffff0}}, "local header lies outside the file");
  expect_patched_rejected(zip, {{cd + 20, 4, 0x7fffff00}, {cd + 24, 4, 0x7fffff00}}, "member's data lies outside the file");
  expect_patched_rejected(zip, {{cd + 24, 4, 7}}, "stored with two different sizes");
  expect_patched_rejected(zip, {{end + 16, 4, 0xffffffff}}, "ZIP64 record that is missing");
}

TEST(NpzReject, DuplicateMembersAndBadNpyInside) {
  // Two members whose keys are both "x": the second's name changed in the central directory.
  std::string zip = tcc::encode_npz({{"x", make_tensor<float>({1})}, {"y", make_tensor<float>({1})}});
  const std::size_t second_name = central_directory(zip) + 46 + 5 + 46;
  ASSERT_EQ(zip.substr(second_name, 5), "y.npy");
  zip[second_name] = 'x';
  expect_rejected(zip, "member 'x.npy' appears twice");

  // A member whose bytes are not a .npy file (CRC fixed up so only the content is wrong).
  std::string not_npy = tcc::encode_npz({{"x", make_tensor<float>({1})}});
  not_npy[35] = 'Z';
  const std::size_t size = get32(not_npy, 22);
  const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(not_npy.data() + 35), size));
  set32(not_npy, 14, crc);
  set32(not_npy, central_directory(not_npy) + 16, crc);
  expect_rejected(not_npy, "member 'x.npy': not a .npy file");
}

// A deflated archive built here with zlib, one member.
std::string deflated_archive(const std::string& npy, const std::string& name = "z.npy") {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string packed(deflateBound(&zs, npy.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(npy.data()));
  zs.avail_in = static_cast<uInt>(npy.size());
  zs.next_out = reinterpret_cast<Bytef*>(packed.data());
  zs.avail_out = static_cast<uInt>(packed.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  packed.resize(zs.total_out);
  deflateEnd(&zs);
  const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(npy.data()), npy.size()));
  auto fields = [&] {
    return le(20, 2) + le(0, 2) + le(8, 2) + le(0, 2) + le(0x21, 2) + le(crc, 4) + le(packed.size(), 4) +
           le(npy.size(), 4) + le(name.size(), 2) + le(0, 2);
  };
  const std::string local = le(0x04034b50, 4) + fields() + name + packed;
  const std::string central = le(0x02014b50, 4) + le(20, 2) + fields() + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) +
                              le(0, 4) + name;
  return local + central + le(0x06054b50, 4) + le(0, 4) + le(1, 2) + le(1, 2) + le(central.size(), 4) +
         le(local.size(), 4) + le(0, 2);
}

TEST(NpzDeflate, ReadsDeflatedMembers) {
  const std::string zip = deflated_archive(tcc::encode_npy(make_tensor<double>({30, 3})));
  const auto got = parse(zip);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "z");
  expect_values<double>(got[0].tensor, DType::f64, {30, 3});
}

TEST(NpzDeflate, LiesAboutTheSizeAreCaught) {
  const std::string npy = tcc::encode_npy(make_tensor<double>({30, 3}));
  const std::string zip = deflated_archive(npy);
  const std::size_t cd = central_directory(zip);
  const auto size = static_cast<uint32_t>(npy.size());
  expect_patched_rejected(zip, {{cd + 24, 4, size - 8}}, "inflates to more than its declared");
  expect_patched_rejected(zip, {{cd + 24, 4, size + 8}},
                          "inflates to " + std::to_string(npy.size()) + " bytes, not the declared");
  expect_patched_rejected(zip, {{cd + 24, 4, 0xfffffff0u}}, "claims 4294967280 bytes from");
}

TEST(NpzDeflate, CorruptAndTruncatedStreams) {
  const std::string npy = tcc::encode_npy(make_tensor<double>({30, 3}));
  const std::string zip = deflated_archive(npy);
  const std::size_t cd = central_directory(zip);
  expect_patched_rejected(zip, {{cd + 20, 4, get32(zip, cd + 20) / 2}}, "deflate data is truncated");
  std::string corrupt = zip;
  corrupt[35] = static_cast<char>(0xff);  // first byte of the stream: an invalid block type
  expect_rejected(corrupt, "deflate data is corrupt");
}

// A ZIP64 archive as zip tools write past 4 GiB: sizes and offset in the ZIP64 extra field, the
// counts in a ZIP64 end record found through its locator.
TEST(NpzZip64, ReadsZip64Records) {
  const std::string plain = tcc::encode_npz({{"w", make_tensor<int32_t>({5, 2})}});
  const std::size_t cd = central_directory(plain), end = end_record(plain);
  std::string central = plain.substr(cd, end - cd);
  set32(central, 20, 0xffffffff);
  set32(central, 24, 0xffffffff);
  set32(central, 42, 0xffffffff);
  const uint32_t size = get32(plain, 22);
  set16(central, 30, 4 + 24);
  central += le(1, 2) + le(24, 2) + le(size, 8) + le(size, 8) + le(0, 8);
  std::string zip = plain.substr(0, cd) + central;
  const std::size_t record = zip.size();
  zip += le(0x06064b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(1, 8) + le(1, 8) +
         le(central.size(), 8) + le(cd, 8);
  zip += le(0x07064b50, 4) + le(0, 4) + le(record, 8) + le(1, 4);
  zip += le(0x06054b50, 4) + le(0, 4) + le(0xffff, 2) + le(0xffff, 2) + le(0xffffffff, 4) + le(0xffffffff, 4) +
         le(0, 2);
  const auto got = parse(zip);
  ASSERT_EQ(got.size(), 1u);
  expect_values<int32_t>(got[0].tensor, DType::i32, {5, 2});
  // Without its extra field the entry's ~0 values are taken as they are, and rejected.
  std::string no_extra = zip;
  no_extra[cd + 46 + 5] = 9;  // the extra field's id is no longer ZIP64
  expect_rejected(no_extra, "lies outside the file");
}

// ---------------------------------------------------------------------------------------------
// Every truncation and every single-byte change of an archive either reads (a change in an
// unchecked field) or is rejected with an InputError: never a crash or another exception.

void expect_no_crash_on_damage(const std::string& zip) {
  int rejected = 0;
  for (std::size_t n = 0; n < zip.size(); ++n) {
    try {
      parse(zip.substr(0, n));
    } catch (const InputError&) {
      ++rejected;
    }
  }
  EXPECT_EQ(rejected, static_cast<int>(zip.size()));  // every strict prefix is rejected
  for (std::size_t i = 0; i < zip.size(); ++i)
    for (unsigned char flip : {0x01, 0x80, 0xff}) {
      std::string damaged = zip;
      damaged[i] = static_cast<char>(damaged[i] ^ flip);
      try {
        parse(damaged);
      } catch (const InputError&) {
      }
    }
}

TEST(NpzDamage, StoredArchive) { expect_no_crash_on_damage(tcc::encode_npz(two_members())); }
TEST(NpzDamage, DeflatedArchive) {
  expect_no_crash_on_damage(deflated_archive(tcc::encode_npy(make_tensor<float>({7, 9}))));
}

TEST(NpzFile, ErrorsNameThePath) {
  TempDir dir;
  write_file_bytes(dir.file("bad.npz"), "not a zip");
  try {
    tcc::read_npz(dir.file("bad.npz"));
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("bad.npz") + ": not a .npz archive"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tcc::read_npz(dir.file("missing.npz")), InputError);
  EXPECT_THROW(tcc::read_npz(dir.path().string()), InputError);
}

// ---------------------------------------------------------------------------------------------
// Interoperability with NumPy

TEST(NpzNumpy, TccReadsWhatNumpyWrites) {
  if (!numpy_available()) GTEST_SKIP() << "NumPy is not available to " << kPython;
  TempDir dir;
  const int rc = run_python(dir, R"(
d = sys.argv[1]
np.savez(d + '/stored.npz', x=values('f4', (2, 3)), y=values('i8', (4,)))
np.savez_compressed(d + '/deflated.npz', x=values('f4', (2, 3)), y=values('i8', (4,)))
np.savez(d + '/positional.npz', values('f8', (3,)))
np.savez(d + '/fortran.npz', x=np.asfortranarray(values('f4', (2, 3))), y=values('i8', (4,)))
sys.exit(0)
)");
  ASSERT_EQ(rc, 0);
  expect_two_members(tcc::read_npz(dir.file("stored.npz")));
  expect_two_members(tcc::read_npz(dir.file("deflated.npz")));
  expect_two_members(tcc::read_npz(dir.file("fortran.npz")));
  const auto positional = tcc::read_npz(dir.file("positional.npz"));
  ASSERT_EQ(positional.size(), 1u);
  EXPECT_EQ(positional[0].name, "arr_0");
  expect_values<double>(positional[0].tensor, DType::f64, {3});
}

TEST(NpzNumpy, NumpyLoadsWhatTccWrites) {
  if (!numpy_available()) GTEST_SKIP() << "NumPy is not available to " << kPython;
  TempDir dir;
  tcc::write_npz(dir.file("out.npz"), {{"a", make_tensor<float>({2, 3, 4})},
                                       {"b", make_tensor<double>({})},
                                       {"c", make_tensor<int32_t>({1, 0, 5})}});
  const int rc = run_python(dir, R"(
import zipfile
d = sys.argv[1]
if zipfile.ZipFile(d + '/out.npz').testzip() is not None: sys.exit(3)
z = np.load(d + '/out.npz', allow_pickle=False)
if sorted(z.keys()) != ['a', 'b', 'c']: sys.exit(4)
for name, dt, shape in [('a', 'f4', (2, 3, 4)), ('b', 'f8', ()), ('c', 'i4', (1, 0, 5))]:
    if z[name].dtype != np.dtype('<' + dt) or not np.array_equal(z[name], values(dt, shape)): sys.exit(5)
sys.exit(0)
)");
  EXPECT_EQ(rc, 0);
}

}  // namespace
