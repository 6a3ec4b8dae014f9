// The command-line helper of the executables (app/cli): the reader, the value parsers and
// every error message they give. Display-free, no LibTorch.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "pretext/cli/args.h"

using namespace pretext::cli;

namespace {

// argv for the reader: {"prog", args...}, alive as long as the object.
struct Argv {
  explicit Argv(std::vector<std::string> args) : strings(std::move(args)) {
    strings.insert(strings.begin(), "prog");
    for (auto& s : strings) pointers.push_back(s.data());
    pointers.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(strings.size()); }
  char** argv() { return pointers.data(); }
  std::vector<std::string> strings;
  std::vector<char*> pointers;
};

// The message of the UsageError `f` throws ("" if it throws none).
template <typename F>
std::string errorOf(F&& f, bool* showUsage = nullptr) {
  try {
    f();
  } catch (const UsageError& e) {
    if (showUsage) *showUsage = e.showUsage();
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("ArgReader reads flags, values, repeated options and positionals in order",
          "[cli_args]") {
  Argv args({"run.yaml", "--quiet", "--out", "runs", "--set", "trainer.lr=3e-4", "--max-steps",
             "40", "--set", "a=b=c", "--dpi", "300", "extra", "--set", "k="});
  ArgReader a(args.argc(), args.argv());
  std::vector<std::string> positional, sets;
  bool quiet = false;
  std::string out;
  std::int64_t steps = 0;
  double dpi = 0;
  std::vector<KeyValue> kvs;
  while (a.next()) {
    if (a.is("--quiet")) {
      quiet = true;
    } else if (a.is("--out")) {
      out = a.value();
      CHECK(a.arg() == "--out");  // the option stays current after its value
    } else if (a.is("--set")) {
      kvs.push_back(a.keyValue());
    } else if (a.is("--max-steps")) {
      steps = a.intValue(1);
    } else if (a.is("--dpi")) {
      dpi = a.numberValue(30, 2400);
    } else {
      CHECK_FALSE(a.isOption());
      positional.push_back(a.arg());
    }
  }
  CHECK_FALSE(a.next());
  CHECK(quiet);
  CHECK(out == "runs");
  CHECK(steps == 40);
  CHECK(dpi == 300);
  CHECK(positional == std::vector<std::string>{"run.yaml", "extra"});
  REQUIRE(kvs.size() == 3);
  CHECK(kvs[0].key == "trainer.lr");
  CHECK(kvs[0].value == "3e-4");
  CHECK(kvs[0].text() == "trainer.lr=3e-4");
  CHECK(kvs[1].key == "a");  // split at the first '='
  CHECK(kvs[1].value == "b=c");
  CHECK(kvs[2].key == "k");
  CHECK(kvs[2].value.empty());
}

TEST_CASE("ArgReader: a subcommand reader continues where the first one stopped", "[cli_args]") {
  Argv args({"info", "-", "--json"});
  ArgReader a(args.argc(), args.argv());
  REQUIRE(a.next());
  CHECK(a.is("info"));
  REQUIRE(a.next());
  CHECK(a.isOption());  // a lone "-" starts with '-'
  REQUIRE(a.next());
  CHECK(a.is("--json"));
  CHECK_FALSE(a.next());

  Argv empty({});
  ArgReader none(empty.argc(), empty.argv());
  CHECK_FALSE(none.next());
  Argv blank({""});
  ArgReader b(blank.argc(), blank.argv());
  REQUIRE(b.next());
  CHECK_FALSE(b.isOption());
}

TEST_CASE("ArgReader errors name the option and the problem", "[cli_args]") {
  Argv args({"--out"});
  ArgReader a(args.argc(), args.argv());
  REQUIRE(a.next());
  bool usage = false;
  CHECK(errorOf([&] { a.value(); }, &usage) == "--out needs a value");
  CHECK(usage);

  // An option never takes the next option as KEY=VALUE.
  Argv swallow({"--set", "--out", "--set", "--max-steps=3", "--set", "trainer.lr"});
  ArgReader s(swallow.argc(), swallow.argv());
  const std::string form = "KEY=VALUE (e.g. trainer.lr=3e-4)";
  REQUIRE(s.next());
  CHECK(errorOf([&] { s.keyValue(form); }, &usage) ==
        "--set expects KEY=VALUE (e.g. trainer.lr=3e-4), got '--out'");
  CHECK_FALSE(usage);
  REQUIRE(s.next());
  CHECK(errorOf([&] { s.keyValue(form); }) ==
        "--set expects KEY=VALUE (e.g. trainer.lr=3e-4), got '--max-steps=3'");
  REQUIRE(s.next());
  CHECK(errorOf([&] { s.keyValue(); }) == "--set expects KEY=VALUE, got 'trainer.lr'");

  Argv typed({"--max-steps", "ten", "--dpi", "5000", "--format", "gif", "--frobnicate", "x"});
  ArgReader t(typed.argc(), typed.argv());
  REQUIRE(t.next());
  CHECK(errorOf([&] { t.intValue(1); }) == "--max-steps expects a positive integer, got 'ten'");
  REQUIRE(t.next());
  CHECK(errorOf([&] { t.numberValue(30, 2400); }) ==
        "--dpi expects a number from 30 to 2400, got '5000'");
  REQUIRE(t.next());
  CHECK(errorOf([&] {
          t.choiceValue({"png", "pdf", "eps"});
        }) == "--format expects png, pdf or eps, got 'gif'");
  REQUIRE(t.next());
  const UsageError unknown = t.unknownOption();
  CHECK(std::string(unknown.what()) == "unknown option '--frobnicate'");
  CHECK(unknown.showUsage());
  REQUIRE(t.next());
  CHECK(std::string(t.unexpected().what()) == "unexpected argument 'x'");
  CHECK(t.unexpected().showUsage());
  CHECK_FALSE(t.unexpected(false).showUsage());
}

TEST_CASE("parseInt: whole decimal integers in range, or a message with the range", "[cli_args]") {
  const auto max = std::numeric_limits<std::int64_t>::max();
  CHECK(parseInt("--n", "42") == 42);
  CHECK(parseInt("--n", "-7") == -7);
  CHECK(parseInt("--n", "+5", 1) == 5);
  CHECK(parseInt("--n", "9223372036854775807") == max);
  CHECK(parseInt("--frames", "1", 1, 100000) == 1);
  CHECK(parseInt("--frames", "100000", 1, 100000) == 100000);
  CHECK(toInt("12") == 12);
  CHECK_FALSE(toInt(""));
  CHECK_FALSE(toInt("1.5"));
  CHECK_FALSE(toInt("10x"));
  CHECK_FALSE(toInt("99999999999999999999"));  // does not fit: refused, not clamped

  CHECK(errorOf([] { parseInt("--max-steps", "0", 1); }) ==
        "--max-steps expects a positive integer, got '0'");
  CHECK(errorOf([] { parseInt("--max-steps", "", 1); }) ==
        "--max-steps expects a positive integer, got ''");
  CHECK(errorOf([] { parseInt("--step", "-1", 0); }) ==
        "--step expects a non-negative integer, got '-1'");
  CHECK(errorOf([] { parseInt("--seeds", "a"); }) == "--seeds expects an integer, got 'a'");
  CHECK(errorOf([] { parseInt("--frames", "0", 1, 100000); }) ==
        "--frames expects an integer from 1 to 100000, got '0'");
  CHECK(errorOf([] { parseInt("--frames", "1e3", 1, 100000); }) ==
        "--frames expects an integer from 1 to 100000, got '1e3'");
  CHECK(errorOf([] { parseInt("--n", "1", 2, max); }) ==
        "--n expects an integer of at least 2, got '1'");
  CHECK(errorOf([] { parseInt("--n", "9", std::numeric_limits<std::int64_t>::min(), 8); }) ==
        "--n expects an integer of at most 8, got '9'");
  CHECK(errorOf([] { parseInt("--n", "99999999999999999999"); }) ==
        "--n expects an integer, got '99999999999999999999'");
}

TEST_CASE("parseNumber: finite numbers in range, or a message with the range", "[cli_args]") {
  CHECK(parseNumber("--x", "3e-4") == Approx(3e-4));
  CHECK(parseNumber("--x", "-2.5") == -2.5);
  CHECK(parseNumber("--scale", "0.25", 0.25, 8) == 0.25);
  CHECK(toNumber("1") == 1.0);
  CHECK_FALSE(toNumber(""));
  CHECK_FALSE(toNumber("inf"));
  CHECK_FALSE(toNumber("nan"));
  CHECK_FALSE(toNumber("1.5m"));
  CHECK(errorOf([] { parseNumber("--scale", "9", 0.25, 8); }) ==
        "--scale expects a number from 0.25 to 8, got '9'");
  CHECK(errorOf([] { parseNumber("--point-size", "", 1, 20); }) ==
        "--point-size expects a number from 1 to 20, got ''");
  CHECK(errorOf([] { parseNumber("--x", "nan"); }) == "--x expects a number, got 'nan'");
  CHECK(errorOf([] { parseNumber("--x", "-1", 0); }) ==
        "--x expects a number of at least 0, got '-1'");
  CHECK(errorOf([] { parseNumber("--x", "2", -std::numeric_limits<double>::infinity(), 1.5); }) ==
        "--x expects a number of at most 1.5, got '2'");
}

TEST_CASE("parseKeyValue, parseChoice, splitList and contains", "[cli_args]") {
  const KeyValue g = parseKeyValue("--grid", "attn.kind=softmax,sigmoid", "KEY=V1,V2,...");
  CHECK(g.key == "attn.kind");
  CHECK(splitList(g.value) == std::vector<std::string>{"softmax", "sigmoid"});
  CHECK(errorOf([] { parseKeyValue("--grid", "attn.kind", "KEY=V1,V2,..."); }) ==
        "--grid expects KEY=V1,V2,..., got 'attn.kind'");

  CHECK(parseChoice("--legend", "none", {"top", "inside", "none"}) == 2);
  CHECK(errorOf([] {
          parseChoice("--legend", "left", {"top", "inside", "none"});
        }) == "--legend expects top, inside or none, got 'left'");
  CHECK(errorOf([] { parseChoice("--fmt", "x", {"a", "b"}); }) == "--fmt expects a or b, got 'x'");
  CHECK(errorOf([] { parseChoice("--fmt", "x", {"a"}); }) == "--fmt expects a, got 'x'");

  CHECK(splitList("a,,b,") == std::vector<std::string>{"a", "b"});
  CHECK(splitList("").empty());
  CHECK(splitList("0:1", ':') == std::vector<std::string>{"0", "1"});

  Argv args({"--run", "x", "--version"});
  CHECK(contains(args.argc(), args.argv(), {"-h", "--version"}));
  CHECK_FALSE(contains(args.argc(), args.argv(), {"-h", "--help"}));
  CHECK_FALSE(contains(args.argc(), args.argv(), {"prog"}));  // argv[0] is not an argument
}

TEST_CASE("reportUsageError prints PROGRAM: MESSAGE, the usage on request, and returns 2",
          "[cli_args]") {
  auto captured = [](const UsageError& e, const char* usage) {
    std::fflush(stderr);
    FILE* tmp = std::tmpfile();
    REQUIRE(tmp);
    const int saved = ::dup(STDERR_FILENO);
    ::dup2(::fileno(tmp), STDERR_FILENO);
    const int code = reportUsageError("pretext-foo", e, usage);
    std::fflush(stderr);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::rewind(tmp);
    std::string text;
    char buf[256];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, tmp)) text.append(buf, n);
    std::fclose(tmp);
    CHECK(code == 2);
    return text;
  };
  CHECK(captured(UsageError("--max-steps expects a positive integer, got 'x'"), "usage: ...\n") ==
        "pretext-foo: --max-steps expects a positive integer, got 'x'\n");
  CHECK(captured(UsageError("unknown option '--x'", true), "usage: ...\n") ==
        "pretext-foo: unknown option '--x'\nusage: ...\n");
  CHECK(captured(UsageError("unknown option '--x'", true), nullptr) ==
        "pretext-foo: unknown option '--x'\n");
}
