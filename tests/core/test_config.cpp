#include <catch2/catch.hpp>
#include <fstream>

#include "pretext/runs/config.h"
#include "pretext/runs/presets.h"
#include "test_util.h"

using namespace pretext::core;

namespace {
std::vector<ConfigIssue> parseIssues(const std::string& yaml,
                                     const std::vector<std::string>& overrides = {}) {
  std::vector<ConfigIssue> issues;
  auto cfg = Config::parse(yaml, "test.yaml", overrides, issues);
  if (!issues.empty()) REQUIRE_FALSE(cfg.has_value());
  return issues;
}
bool hasIssue(const std::vector<ConfigIssue>& issues, const std::string& path,
              const std::string& fragment) {
  for (const auto& i : issues)
    if (i.path == path && i.message.find(fragment) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("defaults round-trip through YAML exactly", "[config]") {
  Config d = Config::defaults();
  std::vector<ConfigIssue> issues;
  auto back = Config::parse(d.toYaml(), "resolved.yaml", {}, issues);
  REQUIRE(issues.empty());
  REQUIRE(back.has_value());
  CHECK(*back == d);
}

TEST_CASE("values, overrides and awkward floats survive the round trip", "[config]") {
  std::vector<ConfigIssue> issues;
  auto c =
      Config::parse("trainer:\n  lr: 3.0e-4\n  max_steps: 1e3\nexperiment:\n  name: \"a: b # c\"\n",
                    "x.yaml", {"trainer.weight_decay=0.1", "augment.flip.enabled=no"}, issues);
  REQUIRE(issues.empty());
  CHECK(c->getFloat("trainer.lr") == 3.0e-4);
  CHECK(c->getInt("trainer.max_steps") == 1000);
  CHECK(c->getFloat("trainer.weight_decay") == 0.1);
  CHECK_FALSE(c->getBool("augment.flip.enabled"));
  CHECK(c->getString("experiment.name") == "a: b # c");
  auto back = Config::parse(c->toYaml(), "r.yaml", {}, issues);
  REQUIRE(back.has_value());
  CHECK(*back == *c);
}

TEST_CASE("wrong types name the key path and the expected value", "[config]") {
  auto is = parseIssues(
      "trainer:\n  lr: fast\n  batch_size: 2.5\naugment:\n  flip:\n    enabled: maybe\n");
  CHECK(hasIssue(is, "trainer.lr", "expected a number"));
  CHECK(hasIssue(is, "trainer.lr", "'fast'"));
  CHECK(hasIssue(is, "trainer.batch_size", "expected an integer"));
  CHECK(hasIssue(is, "augment.flip.enabled", "expected true or false"));
  CHECK(is.size() == 3);  // every problem is reported, not just the first
}

TEST_CASE("unknown keys are rejected with a suggestion", "[config]") {
  auto is = parseIssues("trainer:\n  lrr: 0.1\nmodle:\n  width: 3\n");
  CHECK(hasIssue(is, "trainer.lrr", "did you mean 'trainer.lr'"));
  CHECK(hasIssue(is, "modle", "unknown key"));
}

TEST_CASE("out-of-range and enum values are rejected", "[config]") {
  auto is = parseIssues("trainer:\n  batch_size: 0\n  lr_schedule: linear\n  lr: -1\n");
  CHECK(hasIssue(is, "trainer.batch_size", "out of range"));
  CHECK(hasIssue(is, "trainer.batch_size", "[1, 1024]"));
  CHECK(hasIssue(is, "trainer.lr_schedule", "one of constant, cosine"));
  CHECK(hasIssue(is, "trainer.lr", "out of range"));
}

TEST_CASE("structure errors: scalars for sections, lists, nulls, syntax", "[config]") {
  CHECK(hasIssue(parseIssues("trainer: 5\n"), "trainer", "expected a mapping"));
  CHECK(hasIssue(parseIssues("trainer:\n  lr: [1, 2]\n"), "trainer.lr", "got a list"));
  CHECK(hasIssue(parseIssues("trainer:\n  lr:\n"), "trainer.lr", "missing value"));
  CHECK(hasIssue(parseIssues("trainer:\n  lr: {a: 1}\n"), "trainer.lr", "got a mapping"));
  auto syn = parseIssues("trainer:\n  lr: [1,\n");
  REQUIRE(syn.size() == 1);
  CHECK(syn[0].message.find("YAML syntax error at line") != std::string::npos);
  CHECK(syn[0].message.find("test.yaml") != std::string::npos);
  CHECK(hasIssue(parseIssues("- a\n- b\n"), "", "top level must be a mapping"));
}

TEST_CASE("missing data files and cross-field rules are reported", "[config]") {
  auto is = parseIssues("data:\n  source: files\n  path: /definitely/not/here\n");
  CHECK(hasIssue(is, "data.path", "does not exist"));
  CHECK(hasIssue(parseIssues("data:\n  source: files\n"), "data.path", "required"));
  CHECK(hasIssue(parseIssues("augment:\n  scale:\n    min: 1.2\n    max: 1.1\n"),
                 "augment.scale.min", "must not exceed"));
}

TEST_CASE("bad overrides are rejected", "[config]") {
  CHECK(hasIssue(parseIssues("", {"trainer.lr"}), "", "not of the form"));
  CHECK(hasIssue(parseIssues("", {"trainer.lrx=1"}), "trainer.lrx", "unknown key"));
  CHECK(hasIssue(parseIssues("", {"trainer.lr=abc"}), "trainer.lr", "expected a number"));
}

TEST_CASE("relative data paths resolve against the config file", "[config]") {
  pretext::test::TempDir dir;
  std::filesystem::create_directories(dir / "scans");
  std::ofstream(dir / "exp.yaml") << "data:\n  source: files\n  path: scans\n";
  std::vector<ConfigIssue> issues;
  auto c = Config::load(dir / "exp.yaml", {}, issues);
  REQUIRE(issues.empty());
  CHECK(c->getString("data.path") == std::filesystem::weakly_canonical(dir / "scans").string());
  CHECK_FALSE(Config::load(dir / "nope.yaml", {}, issues).has_value());
  CHECK(issues.back().message.find("no such config file") != std::string::npos);
}

TEST_CASE("every built-in preset is valid", "[config][presets]") {
  auto list = presets();
  REQUIRE(list.size() >= 2);
  for (const auto& p : list) {
    INFO(p.name);
    std::vector<ConfigIssue> issues;
    auto c = Config::parse(*presetText(p.name), p.name, {}, issues);
    for (const auto& i : issues) UNSCOPED_INFO(i.toString());
    CHECK(c.has_value());
    CHECK_FALSE(p.description.empty());
  }
  std::string text, source, error;
  CHECK(resolveConfigSource("default", text, source, error));
  CHECK(resolveConfigSource("default.yaml", text, source, error));
  CHECK_FALSE(resolveConfigSource("no-such-preset", text, source, error));
  CHECK(error.find("presets: ") != std::string::npos);
}

TEST_CASE("config diff lists exactly the changed values in schema order", "[config]") {
  std::vector<ConfigIssue> issues;
  const Config a = Config::defaults();
  auto b = a.with({"trainer.lr=0.002", "augment.rotation.range_deg=180"}, issues);
  REQUIRE(b);
  const auto d = diffConfigs(a, *b);
  REQUIRE(d.size() == 2);
  // trainer.* comes before augment.* in the schema.
  CHECK(d[0].key == "trainer.lr");
  CHECK(d[0].from == "0.001");
  CHECK(d[0].to == "0.002");
  CHECK(d[1].key == "augment.rotation.range_deg");
  CHECK(d[1].from == "90.0");
  CHECK(d[1].to == "180.0");
  CHECK(diffConfigs(*b, *b).empty());
  CHECK(diffConfigs(*b, a)[0].to == "0.001");
}

TEST_CASE("duplicate keys are rejected with the key path and line", "[config]") {
  auto is = parseIssues("trainer:\n  lr: 0.1\n  batch_size: 2\n  lr: 0.2\n");
  CHECK(hasIssue(is, "trainer.lr", "test.yaml:4: duplicate key trainer.lr (first at line 2)"));
  // A section given twice is a duplicate too (yaml-cpp would merge or drop it silently).
  is = parseIssues("trainer:\n  lr: 0.1\ndata:\n  prefetch: 1\ntrainer:\n  batch_size: 2\n");
  CHECK(hasIssue(is, "trainer", "test.yaml:5: duplicate key trainer (first at line 1)"));
  // Flow style as well.
  is = parseIssues("trainer: {lr: 0.1, lr: 0.2}\n");
  CHECK(hasIssue(is, "trainer.lr", "duplicate key trainer.lr"));
  // Config::load names the file.
  pretext::test::TempDir dir;
  std::ofstream(dir / "config.yaml") << "experiment:\n  seed: 1\n\n\n\n\n  seed: 2\n";
  std::vector<ConfigIssue> issues;
  CHECK_FALSE(Config::load(dir / "config.yaml", {}, issues).has_value());
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].message ==
        dir / "config.yaml" + ":7: duplicate key experiment.seed (first at line 2)");
}

TEST_CASE("data.max_abs_coord and data.on_bad_file are schema keys", "[config]") {
  std::vector<ConfigIssue> issues;
  auto c =
      Config::parse("data:\n  max_abs_coord: 250\n  on_bad_file: skip\n", "t.yaml", {}, issues);
  REQUIRE(c);
  CHECK(c->getFloat("data.max_abs_coord") == 250.0);
  CHECK(c->getString("data.on_bad_file") == "skip");
  CHECK(Config::defaults().getFloat("data.max_abs_coord") == 1000.0);
  CHECK(Config::defaults().getString("data.on_bad_file") == "fail");
  CHECK(hasIssue(parseIssues("data:\n  on_bad_file: ignore\n"), "data.on_bad_file",
                 "expected one of fail, skip"));
  CHECK(hasIssue(parseIssues("data:\n  max_abs_coord: 0\n"), "data.max_abs_coord", "out of range"));
}
