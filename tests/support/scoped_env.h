// An environment variable set for one scope (a tcc switch such as TCC_FUSE_EPILOGUES=0),
// restored to its earlier value, or unset, when the scope ends.
#pragma once
#include <cstdlib>
#include <optional>
#include <string>

namespace tcc::test {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace tcc::test
