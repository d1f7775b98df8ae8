// Radix sort of 64-bit keys by their high 32 bits (graph.cpp's community
// order, strangers.cpp's due times).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace safesim::detail {

/// Sorts 64-bit keys as std::sort does. When their low 32 bits ascend on
/// entry (checked here: a member or index placed in order), a stable sort by
/// the high 32 bits gives that order, and it is made as a radix sort: four
/// passes of 8 bits through `tmp` (as long as `a`), a pass whose digit all
/// keys share skipped; a fraction of std::sort's time on large arrays of
/// random high words, where its comparisons mispredict. Otherwise, and for
/// short arrays, std::sort.
inline void sort_keys(std::uint64_t* a, std::size_t len, std::uint64_t* tmp) {
  const auto low = [](std::uint64_t x) { return static_cast<std::uint32_t>(x); };
  bool ascending = true;
  for (std::size_t i = 1; i < len && ascending; ++i) ascending = low(a[i]) > low(a[i - 1]);
  if (len < 256 || !ascending) {
    std::sort(a, a + len);
    return;
  }
  std::uint32_t count[4][256] = {};
  for (std::size_t i = 0; i < len; ++i) {
    const auto d = static_cast<std::uint32_t>(a[i] >> 32);
    ++count[0][d & 0xffu];
    ++count[1][(d >> 8) & 0xffu];
    ++count[2][(d >> 16) & 0xffu];
    ++count[3][d >> 24];
  }
  std::uint64_t *from = a, *to = tmp;
  for (int pass = 0; pass < 4; ++pass) {
    std::uint32_t* c = count[pass];
    const int shift = 32 + 8 * pass;
    if (c[(from[0] >> shift) & 0xffu] == len) continue;  // one digit: the pass would not move a key
    std::uint32_t at = 0;
    for (std::uint32_t& x : std::span<std::uint32_t>(c, 256)) at += std::exchange(x, at);
    for (std::size_t i = 0; i < len; ++i) to[c[(from[i] >> shift) & 0xffu]++] = from[i];
    std::swap(from, to);
  }
  if (from != a) std::copy(from, from + len, a);
}

}  // namespace safesim::detail
