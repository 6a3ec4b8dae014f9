#pragma once
// The command-line helper of the Pretext executables: one reader that walks argv left to
// right, value parsers with range checks, and one kind of error for a bad command line.
//
// Errors: every function here reports a bad command line by throwing UsageError, whose
// what() names the option and the problem without the program's name, e.g.
// "--max-steps expects a positive integer, got 'x'". A program catches it once around its
// parsing and hands it to reportUsageError, which prints "PROGRAM: MESSAGE" (and the usage
// text where the error asks for it) and returns 2, the exit code of a bad command line:
//
//   try {
//     pretext::cli::ArgReader a(argc, argv);
//     while (a.next()) {
//       if (a.is("-h") || a.is("--help")) { std::fputs(kUsage, stdout); return 0; }
//       else if (a.is("--out")) out = a.value();
//       else if (a.is("--max-steps")) steps = a.intValue(1);
//       else if (a.is("--set")) sets.push_back(a.keyValue());   // repeatable
//       else if (a.isOption()) throw a.unknownOption();
//       else files.push_back(a.arg());
//     }
//   } catch (const pretext::cli::UsageError& e) {
//     return pretext::cli::reportUsageError("pretext-foo", e, kUsage);
//   }
//
// Options take their value from the next argument (`--key value`), whatever it looks like:
// `--set --out` gives --set the value "--out" (keyValue then refuses it). The `--key=value`
// form is not recognised: none of the programs accepts it. Usage texts stay literal strings
// in each program (help2man builds the man pages from them).
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pretext::cli {

// A bad command line. showUsage(): the program should print its usage text after the
// message (an unknown option, an option without its value).
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message, bool showUsage = false);
  bool showUsage() const noexcept { return m_showUsage; }

 private:
  bool m_showUsage;
};

// Prints "PROGRAM: MESSAGE\n" to stderr, then `usage` if e.showUsage() and usage is not
// null. Returns 2.
int reportUsageError(const char* program, const UsageError& e, const char* usage);

// KEY=VALUE split at the first '='.
struct KeyValue {
  std::string key, value;
  std::string text() const { return key + "=" + value; }
};

// Walks argv[first..argc) once, in order. next() moves to the next argument; arg() is the
// current one; value() and the typed *Value() take the argument after it as its value
// (arg() stays the option, so errors can name it).
class ArgReader {
 public:
  ArgReader(int argc, char** argv, int first = 1);

  bool next();  // false once every argument has been read
  const std::string& arg() const { return m_arg; }
  bool is(const char* name) const { return m_arg == name; }
  // Starts with '-' ("-h", "--out", also a lone "-").
  bool isOption() const { return !m_arg.empty() && m_arg[0] == '-'; }

  // The next argument as the value of option arg(); "OPTION needs a value" at the end.
  std::string value();
  // value() parsed with parseInt / parseNumber / parseKeyValue / parseChoice, naming arg().
  std::int64_t intValue(std::int64_t lo = std::numeric_limits<std::int64_t>::min(),
                        std::int64_t hi = std::numeric_limits<std::int64_t>::max());
  double numberValue(double lo = -std::numeric_limits<double>::infinity(),
                     double hi = std::numeric_limits<double>::infinity());
  KeyValue keyValue(const std::string& form = "KEY=VALUE");
  std::size_t choiceValue(const std::vector<std::string>& choices);

  // Errors about arg(), to throw: "unknown option '-x'" (with the usage) and
  // "unexpected argument 'x'".
  UsageError unknownOption() const;
  UsageError unexpected(bool showUsage = true) const;

 private:
  int m_argc;
  char** m_argv;
  int m_next;
  std::string m_arg;
};

// Non-throwing conversions of a whole argument: a decimal integer that fits in 64 bits
// (strtoll: leading blanks and a sign allowed, nothing after the digits), or a finite
// number (strtod). nullopt otherwise.
std::optional<std::int64_t> toInt(const std::string& text);
std::optional<double> toNumber(const std::string& text);

// The same, in [lo, hi], naming `option` when they fail:
//   "--max-steps expects a positive integer, got 'x'"   (lo 1, no upper bound)
//   "--step expects a non-negative integer, got '-1'"   (lo 0, no upper bound)
//   "--frames expects an integer from 1 to 100000, got '0'"
//   "--dpi expects a number from 30 to 2400, got 'high'"
std::int64_t parseInt(const std::string& option, const std::string& text,
                      std::int64_t lo = std::numeric_limits<std::int64_t>::min(),
                      std::int64_t hi = std::numeric_limits<std::int64_t>::max());
double parseNumber(const std::string& option, const std::string& text,
                   double lo = -std::numeric_limits<double>::infinity(),
                   double hi = std::numeric_limits<double>::infinity());

// KEY=VALUE (split at the first '='). Refuses text without '=' and text that starts with
// "--", an option taken as the value ("--set --max-steps=3"):
//   "--set expects KEY=VALUE (e.g. trainer.lr=3e-4), got '--out'"  (form "KEY=VALUE (e.g. ...)")
KeyValue parseKeyValue(const std::string& option, const std::string& text,
                       const std::string& form = "KEY=VALUE");

// The index of `text` in `choices`: "--format expects png, pdf or eps, got 'gif'".
std::size_t parseChoice(const std::string& option, const std::string& text,
                        const std::vector<std::string>& choices);

// "a,b,,c" -> {"a", "b", "c"}: the non-empty parts between separators.
std::vector<std::string> splitList(const std::string& text, char separator = ',');

// Whether any of argv[1..argc) equals one of `names` (for what a program must answer
// before it parses the rest, e.g. --version before a GUI toolkit starts).
bool contains(int argc, char** argv, std::initializer_list<const char*> names);

}  // namespace pretext::cli
