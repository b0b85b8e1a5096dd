// tcc::Axes::str(): the Python spelling of an axes argument, used in messages and node attributes.
#include <tcc/graph.h>

#include <string>

namespace tcc {

std::string Axes::str() const {
  switch (kind_) {
    case Kind::None: return "None";
    case Kind::Int: return std::to_string(value_);
    case Kind::List: break;
  }
  std::string s = "(";
  for (size_t i = 0; i < items_.size(); ++i) {
    if (i) s += ", ";
    s += items_[i].str();
  }
  // A one-element tuple keeps its trailing comma, as Python prints it.
  if (items_.size() == 1) s += ",";
  return s + ")";
}

}  // namespace tcc
