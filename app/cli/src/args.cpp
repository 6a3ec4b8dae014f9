#include "pretext/cli/args.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace pretext::cli {

namespace {

constexpr auto kMinInt = std::numeric_limits<std::int64_t>::min();
constexpr auto kMaxInt = std::numeric_limits<std::int64_t>::max();

std::string got(const std::string& option, const std::string& expected, const std::string& text) {
  return option + " expects " + expected + ", got '" + text + "'";
}

std::string intRange(std::int64_t lo, std::int64_t hi) {
  if (hi == kMaxInt) {
    if (lo == 1) return "a positive integer";
    if (lo == 0) return "a non-negative integer";
    if (lo == kMinInt) return "an integer";
    return "an integer of at least " + std::to_string(lo);
  }
  if (lo == kMinInt) return "an integer of at most " + std::to_string(hi);
  return "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
}

std::string shortNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string numberRange(double lo, double hi) {
  const bool hasLo = std::isfinite(lo), hasHi = std::isfinite(hi);
  if (hasLo && hasHi) return "a number from " + shortNumber(lo) + " to " + shortNumber(hi);
  if (hasLo) return "a number of at least " + shortNumber(lo);
  if (hasHi) return "a number of at most " + shortNumber(hi);
  return "a number";
}

}  // namespace

UsageError::UsageError(const std::string& message, bool showUsage)
    : std::runtime_error(message), m_showUsage(showUsage) {}

int reportUsageError(const char* program, const UsageError& e, const char* usage) {
  std::fprintf(stderr, "%s: %s\n", program, e.what());
  if (e.showUsage() && usage) std::fputs(usage, stderr);
  return 2;
}

ArgReader::ArgReader(int argc, char** argv, int first)
    : m_argc(argc), m_argv(argv), m_next(first) {}

bool ArgReader::next() {
  if (m_next >= m_argc) return false;
  m_arg = m_argv[m_next++];
  return true;
}

std::string ArgReader::value() {
  if (m_next >= m_argc) throw UsageError(m_arg + " needs a value", true);
  return m_argv[m_next++];
}

std::int64_t ArgReader::intValue(std::int64_t lo, std::int64_t hi) {
  return parseInt(m_arg, value(), lo, hi);
}

double ArgReader::numberValue(double lo, double hi) { return parseNumber(m_arg, value(), lo, hi); }

KeyValue ArgReader::keyValue(const std::string& form) {
  return parseKeyValue(m_arg, value(), form);
}

std::size_t ArgReader::choiceValue(const std::vector<std::string>& choices) {
  return parseChoice(m_arg, value(), choices);
}

UsageError ArgReader::unknownOption() const {
  return UsageError("unknown option '" + m_arg + "'", true);
}

UsageError ArgReader::unexpected(bool showUsage) const {
  return UsageError("unexpected argument '" + m_arg + "'", showUsage);
}

std::optional<std::int64_t> toInt(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || errno == ERANGE) return std::nullopt;
  return static_cast<std::int64_t>(v);
}

std::optional<double> toNumber(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::int64_t parseInt(const std::string& option, const std::string& text, std::int64_t lo,
                      std::int64_t hi) {
  const auto v = toInt(text);
  if (!v || *v < lo || *v > hi) throw UsageError(got(option, intRange(lo, hi), text));
  return *v;
}

double parseNumber(const std::string& option, const std::string& text, double lo, double hi) {
  const auto v = toNumber(text);
  if (!v || !(*v >= lo && *v <= hi)) throw UsageError(got(option, numberRange(lo, hi), text));
  return *v;
}

KeyValue parseKeyValue(const std::string& option, const std::string& text,
                       const std::string& form) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || text.rfind("--", 0) == 0)
    throw UsageError(got(option, form, text));
  return {text.substr(0, eq), text.substr(eq + 1)};
}

std::size_t parseChoice(const std::string& option, const std::string& text,
                        const std::vector<std::string>& choices) {
  std::string expected;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == text) return i;
    expected += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  }
  throw UsageError(got(option, expected, text));
}

std::vector<std::string> splitList(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, separator);)
    if (!part.empty()) out.push_back(part);
  return out;
}

bool contains(int argc, char** argv, std::initializer_list<const char*> names) {
  for (int i = 1; i < argc; ++i)
    for (const char* name : names)
      if (std::string(argv[i]) == name) return true;
  return false;
}

}  // namespace pretext::cli
