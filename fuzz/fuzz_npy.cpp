// libFuzzer target: the .npy reader (core/npy.cpp) on arbitrary bytes. A tcc::Error other
// than InternalError is a rejection; anything else is a finding. What it accepts must write
// back and read again as the same tensor.
#include <tcc/error.h>
#include <tcc/npy.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tcc::Tensor t;
  try {
    t = tcc::parse_npy(data, size);
  } catch (const tcc::InternalError&) {
    throw;
  } catch (const tcc::Error&) {
    return 0;
  }
  const std::string again = tcc::encode_npy(t);
  const tcc::Tensor u = tcc::parse_npy(again.data(), again.size());
  if (u.shape() != t.shape() || u.dtype() != t.dtype() || u.nbytes() != t.nbytes() ||
      (t.nbytes() > 0 && std::memcmp(u.data(), t.data(), t.nbytes()) != 0))
    std::abort();  // a round trip that changes the tensor
  return 0;
}
