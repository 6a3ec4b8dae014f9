#pragma once
// Private helpers shared by the format parsers: strict number parsing, header line splitting
// and scalar decoding. Plain C++, no allocation proportional to untrusted counts.
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "pretext/data/point_cloud.h"

namespace pretext::core::io {

[[noreturn]] inline void fail(const std::string& name, const std::string& what) {
  throw DataError(name + ": " + what);
}

// Fails with "<name>: needs N GiB, more than the limit M GiB ..." when `bytes` (what a read
// holds at once: the file's bytes plus what is parsed from them) exceed readMemoryLimit().
void requireMemory(const std::string& name, std::uint64_t bytes);

// Runs a reader; an allocation failure inside becomes a DataError naming the file.
template <typename F>
auto guardMemory(const std::string& name, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    fail(name, "out of memory while reading");
  }
}

std::vector<std::string_view> splitWords(std::string_view line);
// Fails with "no points" or "no finite points (N rows with NaN/Inf coordinates)" when empty.
void requirePoints(const std::string& name, const PointCloud& cloud);
// Whole-token parses; false on trailing garbage, empty input or overflow.
bool parseDouble(std::string_view s, double& out);
bool parseU64(std::string_view s, std::uint64_t& out);
bool parseI64(std::string_view s, std::int64_t& out);
// Next line (without "\n" or "\r\n") from `pos`; false at end of input.
bool nextLine(std::string_view text, std::size_t& pos, std::string_view& line);
std::string quoted(std::string_view s);  // for messages, truncated to 40 chars

// Calls f(lineNo, words) for every line of `text` that has words (lines numbered from 1).
template <typename F>
void forEachWordLine(std::string_view text, F&& f) {
  std::size_t pos = 0;
  std::string_view line;
  int lineNo = 0;
  while (nextLine(text, pos, line)) {
    ++lineNo;
    const auto words = splitWords(line);
    if (!words.empty()) f(lineNo, words, line);
  }
}

// Scalar element types of PCD/PLY/NPY.
enum class Scalar { I8, U8, I16, U16, I32, U32, I64, U64, F16, F32, F64 };
int scalarSize(Scalar s);
// Reads one value at p (size scalarSize(s)), swapping bytes when `swap`.
double loadScalar(const unsigned char* p, Scalar s, bool swap);
float halfToFloat(std::uint16_t h);

// a * b with an overflow check against `limit` (returns false when a * b > limit).
inline bool mulWithin(std::uint64_t a, std::uint64_t b, std::uint64_t limit, std::uint64_t& out) {
  if (a != 0 && b > limit / a) return false;
  out = a * b;
  return out <= limit;
}

}  // namespace pretext::core::io
