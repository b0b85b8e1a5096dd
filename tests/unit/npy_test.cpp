// Tests of NumPy .npy reading and writing: round trips, hand-built headers of every format
// version, Fortran order, every rejection path, atomic writes, and interoperability with NumPy.
#include <gtest/gtest.h>
#include <tcc/npy.h>

#include "support/npy_test_support.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using tcc::DType;
using tcc::InputError;
using tcc::Shape;
using tcc::Tensor;

namespace {

using namespace tcc::test;

// A .npy image with the header text exactly as given (no padding added).
std::string npy_image(int major, const std::string& header, const std::string& data = "", int minor = 0) {
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += static_cast<char>(minor);
  std::size_t length_bytes = major == 1 ? 2 : 4;
  for (std::size_t i = 0; i < length_bytes; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

Tensor parse(const std::string& bytes) { return tcc::parse_npy(bytes.data(), bytes.size()); }

// Parses `bytes` expecting an InputError whose single-line message contains `fragment`.
void expect_rejected(const std::string& bytes, const std::string& fragment) {
  try {
    parse(bytes);
    ADD_FAILURE() << "accepted, expected an error containing \"" << fragment << "\"";
  } catch (const InputError& e) {
    std::string message = e.what();
    EXPECT_NE(message.find(fragment), std::string::npos) << "message: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message is not one line: " << message;
    EXPECT_FALSE(message.empty());
  }
}

const std::vector<Shape> kRoundTripShapes = {{}, {0}, {3}, {2, 3, 4}, {1, 0, 5}};

// ---------------------------------------------------------------------------------------------
// Round trips

template <typename T>
class NpyRoundTrip : public ::testing::Test {};
using ElementTypes = ::testing::Types<float, double, int32_t, int64_t>;
TYPED_TEST_SUITE(NpyRoundTrip, ElementTypes);

TYPED_TEST(NpyRoundTrip, InMemory) {
  const DType dtype = tcc::dtype_of<TypeParam>::value;
  for (const Shape& shape : kRoundTripShapes) {
    SCOPED_TRACE(tcc::shape_str(shape));
    Tensor original = make_tensor<TypeParam>(shape);
    std::string bytes = tcc::encode_npy(original);
    Tensor back = parse(bytes);
    expect_values<TypeParam>(back, dtype, shape);
  }
}

TYPED_TEST(NpyRoundTrip, ThroughFile) {
  const DType dtype = tcc::dtype_of<TypeParam>::value;
  TempDir dir;
  for (const Shape& shape : kRoundTripShapes) {
    SCOPED_TRACE(tcc::shape_str(shape));
    std::string path = dir.file("t.npy");
    tcc::write_npy(path, make_tensor<TypeParam>(shape));
    expect_values<TypeParam>(tcc::read_npy(path), dtype, shape);
    // Exactly one file: no temporaries left beside it.
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"t.npy"});
  }
}

TEST(NpyEncode, HeaderIsVersion1PaddedTo64WithNewline) {
  for (const Shape& shape : kRoundTripShapes) {
    SCOPED_TRACE(tcc::shape_str(shape));
    Tensor t = make_tensor<double>(shape);
    std::string bytes = tcc::encode_npy(t);
    ASSERT_GE(bytes.size(), 10u);
    EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
    EXPECT_EQ(bytes[6], 1);
    EXPECT_EQ(bytes[7], 0);
    std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    std::size_t data_offset = 10 + header_len;
    EXPECT_EQ(data_offset % 64, 0u);
    ASSERT_EQ(bytes.size(), data_offset + t.nbytes());
    EXPECT_EQ(bytes[data_offset - 1], '\n');
    std::string header = bytes.substr(10, header_len);
    EXPECT_NE(header.find("'descr': '<f8'"), std::string::npos) << header;
    EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
    // The dict is followed only by spaces and the final newline.
    std::size_t close = header.find('}');
    ASSERT_NE(close, std::string::npos);
    EXPECT_EQ(header.find_first_not_of(' ', close + 1), header_len - 1);
  }
}

TEST(NpyEncode, ShapeTupleSpelling) {
  auto header_of = [](const Shape& shape) {
    std::string bytes = tcc::encode_npy(Tensor(DType::i32, shape));
    return bytes.substr(10, bytes.find('}') - 10 + 1);
  };
  EXPECT_NE(header_of({}).find("'shape': ()"), std::string::npos);
  EXPECT_NE(header_of({5}).find("'shape': (5,)"), std::string::npos);
  EXPECT_NE(header_of({2, 3}).find("'shape': (2, 3)"), std::string::npos);
  EXPECT_NE(header_of({2, 3}).find("'descr': '<i4'"), std::string::npos);
}

TEST(NpyEncode, UndefinedTensorIsRejected) {
  EXPECT_THROW(tcc::encode_npy(Tensor()), tcc::Error);
}

// ---------------------------------------------------------------------------------------------
// Hand-built images

TEST(NpyParse, AllFormatVersions) {
  std::string data = raw_bytes(std::vector<float>{value_at<float>(0), value_at<float>(1), value_at<float>(2),
                                                  value_at<float>(3), value_at<float>(4), value_at<float>(5)});
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
  for (int major : {1, 2, 3}) {
    SCOPED_TRACE(major);
    expect_values<float>(parse(npy_image(major, header, data)), DType::f32, {2, 3});
  }
}

TEST(NpyParse, HeaderSpellings) {
  std::string data = raw_bytes(std::vector<int64_t>{value_at<int64_t>(0), value_at<int64_t>(1), value_at<int64_t>(2),
                                                    value_at<int64_t>(3), value_at<int64_t>(4), value_at<int64_t>(5)});
  const std::vector<std::string> headers = {
      "{'shape': (3, 2), 'fortran_order': False, 'descr': '<i8'}",
      "{'fortran_order': False, 'descr': '<i8', 'shape': (3,2),}",
      "{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (3, 2)}",
      "{'descr':'<i8','fortran_order':False,'shape':(3,2)}",
      "  {  'descr' : '<i8' ,\n\t'fortran_order' : False ,  'shape' : ( 3 , 2 , ) ,  }   \n",
      "{'descr': '=i8', 'fortran_order': False, 'shape': (3L, 2L), }\n",
  };
  for (const std::string& header : headers) {
    SCOPED_TRACE(header);
    expect_values<int64_t>(parse(npy_image(1, header, data)), DType::i64, {3, 2});
  }
}

TEST(NpyParse, ScalarAndEmptyShapes) {
  std::string one = raw_bytes(std::vector<double>{value_at<double>(0)});
  expect_values<double>(parse(npy_image(1, "{'descr': '<f8', 'fortran_order': False, 'shape': ()}", one)),
                        DType::f64, {});
  expect_values<double>(parse(npy_image(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}", one)),
                        DType::f64, {1});
  expect_values<double>(parse(npy_image(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 0)}")),
                        DType::f64, {4, 0});
  expect_values<double>(parse(npy_image(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (0, 7, 2)}")),
                        DType::f64, {0, 7, 2});
}

TEST(NpyParse, FortranOrderIsConvertedToCOrder) {
  // A[i][j][k] = 100*i + 10*j + k stored column-major: element (i,j,k) at i + 2*j + 6*k.
  const Shape shape = {2, 3, 4};
  std::vector<int32_t> column_major(24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) column_major[i + 2 * j + 6 * k] = 100 * i + 10 * j + k;
  Tensor t = parse(npy_image(1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }",
                             raw_bytes(column_major)));
  ASSERT_EQ(t.dtype(), DType::i32);
  ASSERT_EQ(t.shape(), shape);
  const int32_t* p = t.data_as<int32_t>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(p[(i * 3 + j) * 4 + k], 100 * i + 10 * j + k) << i << "," << j << "," << k;
}

TEST(NpyParse, FortranOrderEightByteRank2AndRank1) {
  // B[i][j] = i - 0.5*j for shape (3, 5); column-major offset i + 3*j.
  std::vector<double> column_major(15);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) column_major[i + 3 * j] = i - 0.5 * j;
  Tensor t = parse(npy_image(2, "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 5)}", raw_bytes(column_major)));
  ASSERT_EQ(t.shape(), (Shape{3, 5}));
  std::vector<double> got = t.to_vector<double>();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) EXPECT_EQ(got[i * 5 + j], i - 0.5 * j);

  // Rank 1 (and a unit axis) is the same in both orders.
  std::vector<int64_t> line = {4, -3, 9};
  Tensor v = parse(npy_image(1, "{'descr': '<i8', 'fortran_order': True, 'shape': (3,)}", raw_bytes(line)));
  EXPECT_EQ(v.to_vector<int64_t>(), line);
  Tensor column = parse(npy_image(1, "{'descr': '<i8', 'fortran_order': True, 'shape': (3, 1)}", raw_bytes(line)));
  EXPECT_EQ(column.to_vector<int64_t>(), line);
}

// ---------------------------------------------------------------------------------------------
// Rejections

const std::string kGoodHeader = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
const std::string kGoodData = raw_bytes(std::vector<float>{1.5f, -2.0f});

TEST(NpyReject, SanityOfTheGoodImage) {
  EXPECT_EQ(parse(npy_image(1, kGoodHeader, kGoodData)).to_vector<float>(), (std::vector<float>{1.5f, -2.0f}));
}

TEST(NpyReject, BadMagic) {
  std::string image = npy_image(1, kGoodHeader, kGoodData);
  image[1] = 'M';
  expect_rejected(image, "not a .npy file");
  expect_rejected("", "not a .npy file");
  expect_rejected("\x93NUM", "not a .npy file");
  expect_rejected("PK\x03\x04 this is a zip", "not a .npy file");
}

TEST(NpyReject, BadVersion) {
  expect_rejected(npy_image(4, kGoodHeader, kGoodData), "unsupported .npy format version 4.0");
  expect_rejected(npy_image(0, kGoodHeader, kGoodData), "unsupported .npy format version 0.0");
  expect_rejected(npy_image(1, kGoodHeader, kGoodData, 1), "unsupported .npy format version 1.1");
}

TEST(NpyReject, TruncatedPreambleAndHeader) {
  std::string image = npy_image(1, kGoodHeader, kGoodData);
  expect_rejected(image.substr(0, 7), "format version");
  expect_rejected(image.substr(0, 9), "header length");
  expect_rejected(npy_image(2, kGoodHeader).substr(0, 11), "header length");
  expect_rejected(image.substr(0, 30), "truncated .npy file");
  // A 4-byte length field claiming ~4 GB in a small file.
  std::string huge_len = npy_image(2, kGoodHeader, kGoodData);
  huge_len[8] = huge_len[9] = huge_len[10] = huge_len[11] = '\xff';
  expect_rejected(huge_len, "bad .npy header");
}

TEST(NpyReject, TruncatedData) {
  std::string image = npy_image(1, kGoodHeader, kGoodData);
  expect_rejected(image.substr(0, image.size() - 1), "truncated .npy data");
  expect_rejected(npy_image(1, kGoodHeader), "truncated .npy data");
}

TEST(NpyReject, TrailingData) {
  expect_rejected(npy_image(1, kGoodHeader, kGoodData + "xyz"), "trailing data");
  expect_rejected(npy_image(1, kGoodHeader, kGoodData + "xyz"), "3 bytes");
}

TEST(NpyReject, UnsupportedDtypes) {
  auto with_descr = [](const std::string& descr) {
    return npy_image(1, "{'descr': " + descr + ", 'fortran_order': False, 'shape': (2,), }", kGoodData);
  };
  expect_rejected(with_descr("'>f4'"), "unsupported big-endian dtype '>f4' (tcc reads little-endian <f4 <f8 <i4 <i8)");
  expect_rejected(with_descr("'>i8'"), "big-endian");
  expect_rejected(with_descr("'<f2'"), "unsupported dtype '<f2'");
  expect_rejected(with_descr("'<u4'"), "unsupported dtype '<u4'");
  expect_rejected(with_descr("'|b1'"), "unsupported dtype '|b1'");
  expect_rejected(with_descr("'<c8'"), "unsupported dtype '<c8'");
  expect_rejected(with_descr("'|O'"), "object dtype");
  expect_rejected(with_descr("'float32'"), "unsupported dtype 'float32'");
  expect_rejected(with_descr("''"), "unsupported dtype ''");
  expect_rejected(with_descr("[('x', '<f4'), ('y', '<f4')]"), "structured dtype");
  expect_rejected(with_descr("3"), "'descr' is not a string");
}

TEST(NpyReject, BadShapes) {
  auto with_shape = [](const std::string& shape) {
    return npy_image(1, "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }", kGoodData);
  };
  expect_rejected(with_shape("(-2,)"), "negative dimension -2");
  expect_rejected(with_shape("(2, -1)"), "negative dimension -1");
  expect_rejected(with_shape("(2.0,)"), "'shape'");
  expect_rejected(with_shape("('2',)"), "shape entries must be integers");
  expect_rejected(with_shape("[2]"), "'shape' must be a tuple");
  expect_rejected(with_shape("(2)"), "'shape' must be a tuple");
  expect_rejected(with_shape("2"), "'shape' must be a tuple");
  expect_rejected(with_shape("(2,,)"), "shape entries must be integers");
  expect_rejected(with_shape("(2"), "bad .npy header");
  expect_rejected(with_shape("((2,),)"), "shape entries must be integers");
  expect_rejected(with_shape("(99999999999999999999,)"), "too large");
}

TEST(NpyReject, OverflowingShapes) {
  auto with_shape = [](const std::string& descr, const std::string& shape) {
    return npy_image(1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }", kGoodData);
  };
  // The element count itself overflows int64 (checked_numel's ShapeError, converted).
  expect_rejected(with_shape("<f4", "(4294967296, 4294967296)"), "overflows");
  expect_rejected(with_shape("<f4", "(9223372036854775807, 2)"), "overflows");
  // The count fits but count * itemsize does not.
  expect_rejected(with_shape("<f8", "(4611686018427387904,)"), "overflows");
}

TEST(NpyReject, HugeClaimedShapeInTinyFileFailsFast) {
  std::string image = npy_image(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000000,), }", "12345678");
  ASSERT_LT(image.size(), 100u);
  auto start = std::chrono::steady_clock::now();
  expect_rejected(image, "truncated .npy data");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  expect_rejected(npy_image(1, "{'descr': '<i4', 'fortran_order': True, 'shape': (100000, 100000, 100000)}", ""),
                  "needs 4000000000000000 bytes");
}

TEST(NpyReject, MissingDuplicateAndUnknownKeys) {
  expect_rejected(npy_image(1, "{'descr': '<f4', 'fortran_order': False}", kGoodData), "missing key 'shape'");
  expect_rejected(npy_image(1, "{'descr': '<f4', 'shape': (2,)}", kGoodData), "missing key 'fortran_order'");
  expect_rejected(npy_image(1, "{'fortran_order': False, 'shape': (2,)}", kGoodData), "missing key 'descr'");
  expect_rejected(npy_image(1, "{}", kGoodData), "missing key");
  expect_rejected(npy_image(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", kGoodData),
                  "duplicate key 'descr'");
  expect_rejected(npy_image(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", kGoodData),
                  "unexpected key 'extra'");
}

TEST(NpyReject, GarbageDicts) {
  const std::vector<std::string> garbage = {
      "",
      "      \n",
      "not a dict at all",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ",
      "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}",
      "{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}",
      "{descr: '<f4', fortran_order: False, shape: (2,)}",
      "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}",
      "{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
      "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} trailing",
      std::string("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}") + '\0',
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'de\xff\x01': 1}",
      "{'descr': '<f4',, 'fortran_order': False, 'shape': (2,)}",
  };
  for (const std::string& header : garbage) {
    SCOPED_TRACE(header);
    expect_rejected(npy_image(1, header, kGoodData), "bad .npy header");
  }
}

TEST(NpyReject, ErrorMessagesStayOnOneLineForHostileText) {
  // Control characters and very long text from the file are escaped and shortened.
  std::string descr = "'\x1b[31m" + std::string(500, 'A') + "'";
  try {
    parse(npy_image(1, "{'descr': " + descr + ", 'fortran_order': False, 'shape': (2,)}", kGoodData));
    ADD_FAILURE() << "accepted a hostile descr";
  } catch (const InputError& e) {
    std::string message = e.what();
    EXPECT_LT(message.size(), 200u);
    EXPECT_EQ(message.find('\x1b'), std::string::npos);
    EXPECT_NE(message.find("\\x1b"), std::string::npos);
  }
}

TEST(NpyReject, NullBufferOfZeroSize) {
  EXPECT_THROW(tcc::parse_npy(nullptr, 0), InputError);
}

// ---------------------------------------------------------------------------------------------
// Files

TEST(NpyFile, MissingFileNamesPathAndReason) {
  TempDir dir;
  std::string path = dir.file("absent.npy");
  try {
    tcc::read_npy(path);
    ADD_FAILURE() << "read a missing file";
  } catch (const InputError& e) {
    std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(std::strerror(ENOENT)), std::string::npos) << message;
  }
}

TEST(NpyFile, DirectoryIsRejected) {
  TempDir dir;
  EXPECT_THROW(tcc::read_npy(dir.path().string()), InputError);
}

TEST(NpyFile, MalformedFileErrorNamesPath) {
  TempDir dir;
  std::string path = dir.file("bad.npy");
  write_file_bytes(path, npy_image(1, kGoodHeader, kGoodData.substr(0, 5)));
  try {
    tcc::read_npy(path);
    ADD_FAILURE() << "read a truncated file";
  } catch (const InputError& e) {
    std::string message = e.what();
    EXPECT_EQ(message.rfind(path, 0), 0u) << message;
    EXPECT_NE(message.find("truncated .npy data"), std::string::npos) << message;
  }
  write_file_bytes(path, npy_image(1, kGoodHeader, kGoodData + "!"));
  EXPECT_THROW(tcc::read_npy(path), InputError);
  write_file_bytes(path, "");
  EXPECT_THROW(tcc::read_npy(path), InputError);
  write_file_bytes(path, npy_image(2, kGoodHeader).substr(0, 11));
  EXPECT_THROW(tcc::read_npy(path), InputError);
}

// Feeds `image` through a named pipe to read_npy (a stream of unknown size).
Tensor read_through_pipe(const TempDir& dir, const std::string& image) {
  std::string fifo = dir.file("pipe.npy");
  ::unlink(fifo.c_str());
  if (::mkfifo(fifo.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
  pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    ::signal(SIGPIPE, SIG_IGN);  // the reader may stop early
    write_file_bytes(fifo, image);
    ::_exit(0);
  }
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  } reaper{child};
  return tcc::read_npy(fifo);
}

TEST(NpyFile, ReadsFromAPipe) {
  TempDir dir;
  Tensor t = read_through_pipe(dir, npy_image(3, kGoodHeader, kGoodData));
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1.5f, -2.0f}));

  std::vector<int32_t> column_major = {1, 4, 2, 5, 3, 6};  // [[1,2,3],[4,5,6]] stored column-major
  Tensor f = read_through_pipe(
      dir, npy_image(1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", raw_bytes(column_major)));
  EXPECT_EQ(f.to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
}

TEST(NpyFile, MalformedStreamsAreRejected) {
  TempDir dir;
  auto expect_stream_rejected = [&](const std::string& image, const std::string& fragment) {
    try {
      read_through_pipe(dir, image);
      ADD_FAILURE() << "accepted a stream, expected \"" << fragment << "\"";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_stream_rejected(npy_image(1, kGoodHeader, kGoodData + "!"), "trailing data");
  expect_stream_rejected(npy_image(1, kGoodHeader, kGoodData.substr(0, 3)), "truncated .npy data");
  expect_stream_rejected(npy_image(1, kGoodHeader).substr(0, 40), "truncated .npy file");
  expect_stream_rejected(npy_image(1, kGoodHeader).substr(0, 9), "header length");
  expect_stream_rejected("\x93NUMPY\x07", "format version");
  expect_stream_rejected(std::string("\x93NUMPY\x07\x00", 8) + std::string(100, ' '), "format version 7.0");
  expect_stream_rejected("\x93NUMPZ\x01", "not a .npy file");
  // A stream claiming a petabyte but delivering 8 bytes fails without trying to hold the claim.
  expect_stream_rejected(
      npy_image(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (125000000000000,), }", "12345678"),
      "truncated .npy data");
}

TEST(NpyFile, EndlessDeviceIsRejectedQuickly) {
  if (!fs::exists("/dev/zero")) GTEST_SKIP() << "no /dev/zero";
  EXPECT_THROW(tcc::read_npy("/dev/zero"), InputError);
}

TEST(NpyFile, WriteIntoMissingDirectoryThrowsAndLeavesNothing) {
  TempDir dir;
  std::string path = dir.file("missing/sub/out.npy");
  EXPECT_THROW(tcc::write_npy(path, make_tensor<float>({3})), InputError);
  EXPECT_FALSE(fs::exists(dir.path() / "missing"));
  EXPECT_TRUE(dir.entries().empty());
  EXPECT_THROW(tcc::write_npy("", make_tensor<float>({3})), InputError);
}

TEST(NpyFile, WriteOverADirectoryThrowsAndLeavesNoTemporary) {
  TempDir dir;
  fs::create_directory(dir.path() / "taken.npy");
  write_file_bytes(dir.file("taken.npy/inside"), "x");
  try {
    tcc::write_npy(dir.file("taken.npy"), make_tensor<int32_t>({2, 2}));
    ADD_FAILURE() << "wrote over a directory";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("taken.npy")), std::string::npos) << e.what();
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"taken.npy"});
  EXPECT_TRUE(fs::is_directory(dir.path() / "taken.npy"));
}

// Tries write_npy into `path` and classifies the outcome (run in a child when privileges are dropped).
enum class WriteOutcome { kDenied = 10, kWrote = 11, kOtherError = 12 };
WriteOutcome try_write(const std::string& path) {
  try {
    tcc::write_npy(path, make_tensor<double>({2}));
    return WriteOutcome::kWrote;
  } catch (const InputError& e) {
    std::string message = e.what();
    bool names_path_and_reason = message.find(path) != std::string::npos &&
                                 message.find(std::strerror(EACCES)) != std::string::npos;
    return names_path_and_reason ? WriteOutcome::kDenied : WriteOutcome::kOtherError;
  }
}

TEST(NpyFile, WriteIntoUnwritableDirectoryThrowsAndLeavesNothing) {
  TempDir dir;
  fs::path locked = dir.path() / "locked";
  fs::create_directory(locked);
  fs::permissions(dir.path(), fs::perms::all, fs::perm_options::add);  // let an unprivileged child look in
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read |
                              fs::perms::others_exec);
  std::string path = (locked / "out.npy").string();
  WriteOutcome outcome;
  if (::geteuid() != 0) {
    outcome = try_write(path);
  } else {
    // Root ignores directory permissions: write from a child that runs as an unprivileged user.
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(1);
      ::_exit(static_cast<int>(try_write(path)));
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 1) GTEST_SKIP() << "could not drop privileges";
    outcome = static_cast<WriteOutcome>(WEXITSTATUS(status));
  }
  EXPECT_EQ(outcome, WriteOutcome::kDenied);
  fs::permissions(locked, fs::perms::owner_all, fs::perm_options::add);
  EXPECT_TRUE(fs::is_empty(locked));
}

TEST(NpyFile, WriteReplacesAnExistingFile) {
  TempDir dir;
  std::string path = dir.file("out.npy");
  write_file_bytes(path, std::string(1000, 'z'));
  tcc::write_npy(path, make_tensor<int64_t>({2, 2}));
  expect_values<int64_t>(tcc::read_npy(path), DType::i64, {2, 2});
  EXPECT_EQ(read_file_bytes(path), tcc::encode_npy(make_tensor<int64_t>({2, 2})));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.npy"});
}

TEST(NpyFile, WriteOfAReshapedViewUsesTheViewShape) {
  TempDir dir;
  std::string path = dir.file("view.npy");
  tcc::write_npy(path, make_tensor<float>({2, 6}).reshaped({3, 4}));
  expect_values<float>(tcc::read_npy(path), DType::f32, {3, 4});
}

// ---------------------------------------------------------------------------------------------
// Interoperability with NumPy

TEST(NpyNumpy, NumpyLoadsWhatTccWrites) {
  if (!numpy_available()) GTEST_SKIP() << "NumPy is not available to " << kPython;
  TempDir dir;
  tcc::write_npy(dir.file("a_f4.npy"), make_tensor<float>({2, 3, 4}));
  tcc::write_npy(dir.file("b_f8.npy"), make_tensor<double>({}));
  tcc::write_npy(dir.file("c_i4.npy"), make_tensor<int32_t>({7}));
  tcc::write_npy(dir.file("d_i8.npy"), make_tensor<int64_t>({3, 5}));
  tcc::write_npy(dir.file("e_f4.npy"), make_tensor<float>({1, 0, 5}));
  int rc = run_python(dir, R"(
d = sys.argv[1]
cases = [('a_f4', 'f4', (2, 3, 4)), ('b_f8', 'f8', ()), ('c_i4', 'i4', (7,)), ('d_i8', 'i8', (3, 5)),
         ('e_f4', 'f4', (1, 0, 5))]
for name, dt, shape in cases:
    a = np.load(d + '/' + name + '.npy', allow_pickle=False)
    if a.dtype != np.dtype('<' + dt) or a.shape != shape or not a.flags.c_contiguous:
        print('mismatch in', name, a.dtype, a.shape); sys.exit(3)
    if not np.array_equal(a, values(dt, shape)):
        print('values differ in', name); sys.exit(4)
    with open(d + '/' + name + '.npy', 'rb') as f:
        if np.lib.format.read_magic(f) != (1, 0): print('not version 1.0'); sys.exit(5)
        np.lib.format.read_array_header_1_0(f)
        if f.tell() % 64 != 0: print('data not 64-aligned'); sys.exit(6)
sys.exit(0)
)");
  EXPECT_EQ(rc, 0);
}

TEST(NpyNumpy, TccReadsWhatNumpyWrites) {
  if (!numpy_available()) GTEST_SKIP() << "NumPy is not available to " << kPython;
  TempDir dir;
  int rc = run_python(dir, R"(
from numpy.lib import format as fmt
d = sys.argv[1]
np.save(d + '/c_f4.npy', values('f4', (2, 3, 4)))
np.save(d + '/fortran_f8.npy', np.asfortranarray(values('f8', (3, 4, 5))))
np.save(d + '/fortran_i4.npy', np.asfortranarray(values('i4', (6, 7))))
with open(d + '/v2_i8.npy', 'wb') as f:
    fmt.write_array(f, values('i8', (4, 3)), version=(2, 0))
with open(d + '/v3_f4.npy', 'wb') as f:
    fmt.write_array(f, values('f4', (5,)), version=(3, 0))
np.save(d + '/scalar_i4.npy', values('i4', ()))
np.save(d + '/empty_f8.npy', values('f8', (0, 3)))
np.save(d + '/big_endian.npy', values('f4', (2,)).astype('>f4'))
np.save(d + '/float16.npy', values('f4', (2,)).astype(np.float16))
np.save(d + '/objects.npy', np.array([1, 'x'], dtype=object), allow_pickle=True)
np.save(d + '/structured.npy', np.zeros(2, dtype=[('x', '<f4'), ('y', '<i4')]))
if not np.load(d + '/fortran_f8.npy').flags.f_contiguous: sys.exit(7)
sys.exit(0)
)");
  ASSERT_EQ(rc, 0);
  expect_values<float>(tcc::read_npy(dir.file("c_f4.npy")), DType::f32, {2, 3, 4});
  expect_values<double>(tcc::read_npy(dir.file("fortran_f8.npy")), DType::f64, {3, 4, 5});
  expect_values<int32_t>(tcc::read_npy(dir.file("fortran_i4.npy")), DType::i32, {6, 7});
  expect_values<int64_t>(tcc::read_npy(dir.file("v2_i8.npy")), DType::i64, {4, 3});
  expect_values<float>(tcc::read_npy(dir.file("v3_f4.npy")), DType::f32, {5});
  expect_values<int32_t>(tcc::read_npy(dir.file("scalar_i4.npy")), DType::i32, {});
  expect_values<double>(tcc::read_npy(dir.file("empty_f8.npy")), DType::f64, {0, 3});

  auto expect_file_rejected = [&](const std::string& name, const std::string& fragment) {
    try {
      tcc::read_npy(dir.file(name));
      ADD_FAILURE() << "accepted " << name;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_file_rejected("big_endian.npy", "unsupported big-endian dtype '>f4'");
  expect_file_rejected("float16.npy", "unsupported dtype '<f2'");
  expect_file_rejected("objects.npy", "unsupported object dtype '|O'");
  expect_file_rejected("structured.npy", "structured dtype");
}

TEST(NpyNumpy, NumpyAgreesOnHeaderAndDataBytes) {
  // NumPy's header reader sees tcc's header as intended, and the data bytes are NumPy's C-order bytes.
  if (!numpy_available()) GTEST_SKIP() << "NumPy is not available to " << kPython;
  TempDir dir;
  tcc::write_npy(dir.file("tcc.npy"), make_tensor<int32_t>({3, 4}));
  int rc = run_python(dir, R"(
from numpy.lib import format as fmt
d = sys.argv[1]
with open(d + '/tcc.npy', 'rb') as f:
    fmt.read_magic(f)
    shape, fortran, dtype = fmt.read_array_header_1_0(f)
    data = f.read()
if (shape, fortran, dtype) != ((3, 4), False, np.dtype('<i4')): sys.exit(3)
if data != values('i4', (3, 4)).tobytes(order='C'): sys.exit(4)
sys.exit(0)
)");
  EXPECT_EQ(rc, 0);
}

}  // namespace
