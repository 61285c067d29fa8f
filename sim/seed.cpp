#include "sim/seed.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace lazywq::sim {

uint64_t parse_seed(const std::string& text) {
  auto bad = [&] {
    return std::invalid_argument("seed '" + text + "' is not a number (decimal, 0x-hex, or a 40-hex commit hash)");
  };
  if (text.empty()) throw bad();
  auto all_hex = [](const std::string& s) {
    for (char c : s)
      if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return !s.empty();
  };
  if (text.size() == 40 && all_hex(text)) {
    // Fold the commit hash: XOR of its 64-bit pieces.
    uint64_t seed = 0;
    for (size_t i = 0; i < 40; i += 16) {
      std::string part = text.substr(i, std::min<size_t>(16, 40 - i));
      seed ^= std::stoull(part, nullptr, 16) << ((16 - part.size()) * 4);
    }
    return seed;
  }
  try {
    size_t used = 0;
    uint64_t v;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
      if (!all_hex(text.substr(2))) throw bad();
      v = std::stoull(text.substr(2), &used, 16);
      used += 2;
    } else {
      for (char c : text)
        if (!std::isdigit(static_cast<unsigned char>(c))) throw bad();
      v = std::stoull(text, &used, 10);
    }
    if (used != text.size()) throw bad();
    return v;
  } catch (const std::out_of_range&) {
    throw std::invalid_argument("seed '" + text + "' does not fit in 64 bits");
  } catch (const std::invalid_argument&) {
    throw bad();
  }
}

}  // namespace lazywq::sim
