// libFuzzer target: the .npy and .npz readers (core/npy.cpp, core/npz.cpp) on arbitrary bytes,
// each input tried as both. A tcc::Error other than InternalError is a rejection; anything else
// is a finding. What a reader accepts must write back and read again as the same tensors.
#include <tcc/error.h>
#include <tcc/npy.h>
#include <tcc/npz.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

void expect_same(const tcc::Tensor& t, const tcc::Tensor& u) {
  if (u.shape() != t.shape() || u.dtype() != t.dtype() || u.nbytes() != t.nbytes() ||
      (t.nbytes() > 0 && std::memcmp(u.data(), t.data(), t.nbytes()) != 0))
    std::abort();  // a round trip that changes the tensor
}

// What `parse` returns, or nothing when it rejects the bytes; an InternalError escapes (a finding).
template <typename Parse>
auto accepted(Parse parse) -> std::optional<decltype(parse())> {
  try {
    return parse();
  } catch (const tcc::InternalError&) {
    throw;
  } catch (const tcc::Error&) {
    return std::nullopt;
  }
}

void try_npy(const uint8_t* data, size_t size) {
  const auto t = accepted([&] { return tcc::parse_npy(data, size); });
  if (!t) return;
  const std::string again = tcc::encode_npy(*t);
  expect_same(*t, tcc::parse_npy(again.data(), again.size()));
}

void try_npz(const uint8_t* data, size_t size) {
  const auto members = accepted([&] { return tcc::parse_npz(data, size); });
  if (!members) return;
  std::string again;
  try {
    again = tcc::encode_npz(*members);
  } catch (const tcc::ArgumentError&) {
    return;  // a member name the writer refuses (e.g. one with a '/')
  }
  const std::vector<tcc::NamedTensor> back = tcc::parse_npz(again.data(), again.size());
  if (back.size() != members->size()) std::abort();
  for (size_t i = 0; i < members->size(); ++i) {
    if (back[i].name != (*members)[i].name) std::abort();
    expect_same((*members)[i].tensor, back[i].tensor);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try_npy(data, size);
  try_npz(data, size);
  return 0;
}
