#pragma once
// Experiment configuration: a typed schema, YAML parsing, validation with key paths,
// defaults and `--set key.path=value` overrides. Plain C++ (no Qt, no LibTorch), so the
// GUI panels and the headless trainer share one implementation.
// Thread safety: Config values are immutable after resolve(); share them freely.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace pretext::core {

using ConfigValue = std::variant<bool, std::int64_t, double, std::string>;

enum class ParamType { Bool, Int, Float, String, Enum, Path };

// One schema entry. `path` is a dotted key such as "trainer.lr".
struct ParamSpec {
  std::string path;
  ParamType type = ParamType::String;
  ConfigValue defaultValue;
  double minValue = 0;  // inclusive bounds for Int/Float when hasRange
  double maxValue = 0;
  bool hasRange = false;
  std::vector<std::string> choices;  // Enum
  std::string help;
  bool mustExist = false;  // Path: must exist when non-empty
};

// A problem found in a config; `path` names the key ("" for file-level problems).
struct ConfigIssue {
  std::string path;
  std::string message;
  std::string toString() const;
};

// The full schema of every experiment kind. Keys not listed here are rejected.
const std::vector<ParamSpec>& configSchema();
const ParamSpec* findSpec(const std::string& path);
// Keys a running run may change between steps ("apply at next step"): the learning rate and
// the objective weights. Other keys shape the model or the data and need a new run.
const std::vector<std::string>& liveConfigKeys();
bool isLiveConfigKey(const std::string& path);

class Config {
 public:
  // Parses YAML text; `source` names the file in messages. Overrides are "a.b=value"
  // strings applied after the file. On failure returns nullopt and fills `issues`
  // with every problem found (not just the first).
  static std::optional<Config> parse(const std::string& yamlText, const std::string& source,
                                     const std::vector<std::string>& overrides,
                                     std::vector<ConfigIssue>& issues);
  static std::optional<Config> load(const std::string& file,
                                    const std::vector<std::string>& overrides,
                                    std::vector<ConfigIssue>& issues);
  static Config defaults();

  bool getBool(const std::string& path) const;
  std::int64_t getInt(const std::string& path) const;
  double getFloat(const std::string& path) const;
  std::string getString(const std::string& path) const;
  const ConfigValue& get(const std::string& path) const;

  // Returns a copy with one more override applied (used by the GUI panels).
  std::optional<Config> with(const std::vector<std::string>& overrides,
                             std::vector<ConfigIssue>& issues) const;

  // The resolved config as nested YAML with every key present; parse(toYaml()) == *this.
  std::string toYaml() const;
  const std::map<std::string, ConfigValue>& values() const { return m_values; }
  bool operator==(const Config& o) const { return m_values == o.m_values; }

 private:
  // Applies raw key texts on top of `base`, converting and range-checking each.
  static std::optional<Config> resolveRaw(const std::map<std::string, ConfigValue>& base,
                                          const std::map<std::string, std::string>& raw,
                                          const std::string& baseDir,
                                          std::vector<ConfigIssue>& issues);
  std::map<std::string, ConfigValue> m_values;
};

std::string formatValue(const ConfigValue& v);

// One value that differs between two configs, formatted as config.yaml writes it.
struct ConfigChange {
  std::string key, from, to;
};
// The keys whose values differ between `a` and `b`, in schema order.
std::vector<ConfigChange> diffConfigs(const Config& a, const Config& b);

}  // namespace pretext::core
