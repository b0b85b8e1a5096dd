// The message of the tcc::Error `f` throws, or "(no error)": for tests that compare messages.
#pragma once
#include <tcc/error.h>

#include <functional>
#include <string>

namespace tcc::test {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tcc::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace tcc::test
