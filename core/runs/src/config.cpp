#include "pretext/runs/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "pretext/data/fs_util.h"

namespace fs = std::filesystem;

namespace pretext::core {

std::string ConfigIssue::toString() const { return path.empty() ? message : path + ": " + message; }

namespace {

std::size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(const std::string& path) {
  std::string best;
  std::size_t bestD = 4;  // only suggest close matches
  for (const auto& s : configSchema()) {
    std::size_t d = editDistance(path, s.path);
    if (d < bestD) {
      bestD = d;
      best = s.path;
    }
  }
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

bool isSection(const std::string& prefix) {
  for (const auto& s : configSchema())
    if (s.path.size() > prefix.size() && s.path.compare(0, prefix.size(), prefix) == 0 &&
        s.path[prefix.size()] == '.')
      return true;
  return false;
}

std::string typeName(const ParamSpec& s) {
  switch (s.type) {
    case ParamType::Bool:
      return "true or false";
    case ParamType::Int:
      return "an integer";
    case ParamType::Float:
      return "a number";
    case ParamType::String:
      return "a string";
    case ParamType::Path:
      return "a path";
    case ParamType::Enum: {
      std::string r = "one of ";
      for (std::size_t i = 0; i < s.choices.size(); ++i) r += (i ? ", " : "") + s.choices[i];
      return r;
    }
  }
  return "?";
}

std::string rangeText(const ParamSpec& s) {
  std::ostringstream o;
  o << " in ["
    << formatValue(s.type == ParamType::Int ? ConfigValue(std::int64_t(s.minValue))
                                            : ConfigValue(s.minValue))
    << ", "
    << formatValue(s.type == ParamType::Int ? ConfigValue(std::int64_t(s.maxValue))
                                            : ConfigValue(s.maxValue))
    << "]";
  return o.str();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Converts the raw text of one key to its typed value, or returns an error message.
std::optional<ConfigValue> convert(const ParamSpec& s, const std::string& raw,
                                   const fs::path& baseDir, std::string& err) {
  auto expected = [&](const std::string& extra = std::string()) {
    err = "expected " + typeName(s) + extra + ", got '" + raw + "'";
    return std::nullopt;
  };
  switch (s.type) {
    case ParamType::Bool: {
      std::string l = lower(raw);
      if (l == "true" || l == "yes" || l == "on" || l == "1") return ConfigValue(true);
      if (l == "false" || l == "no" || l == "off" || l == "0") return ConfigValue(false);
      return expected();
    }
    case ParamType::Int: {
      if (raw.empty()) return expected(s.hasRange ? rangeText(s) : "");
      errno = 0;
      char* end = nullptr;
      long long v = std::strtoll(raw.c_str(), &end, 10);
      if (errno != 0 || *end != '\0') {
        // Accept integral scientific notation such as 1e4 for step counts.
        char* end2 = nullptr;
        double d = std::strtod(raw.c_str(), &end2);
        if (*end2 != '\0' || !std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e18)
          return expected(s.hasRange ? rangeText(s) : "");
        v = static_cast<long long>(d);
      }
      if (s.hasRange && (v < s.minValue || v > s.maxValue)) {
        err = "value " + raw + " is out of range; expected an integer" + rangeText(s);
        return std::nullopt;
      }
      return ConfigValue(static_cast<std::int64_t>(v));
    }
    case ParamType::Float: {
      char* end = nullptr;
      errno = 0;
      double v = std::strtod(raw.c_str(), &end);
      if (raw.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
        return expected(s.hasRange ? rangeText(s) : "");
      if (s.hasRange && (v < s.minValue || v > s.maxValue)) {
        err = "value " + raw + " is out of range; expected a number" + rangeText(s);
        return std::nullopt;
      }
      return ConfigValue(v);
    }
    case ParamType::Enum:
      if (std::find(s.choices.begin(), s.choices.end(), raw) == s.choices.end()) return expected();
      return ConfigValue(raw);
    case ParamType::String:
      return ConfigValue(raw);
    case ParamType::Path: {
      if (raw.empty()) return ConfigValue(std::string());
      fs::path p(raw);
      if (p.is_relative()) p = baseDir / p;
      std::error_code ec;
      fs::path abs = fs::weakly_canonical(p, ec);
      if (ec) abs = p;
      if (s.mustExist && !fs::exists(abs, ec)) {
        err = "path '" + raw + "' does not exist (resolved to " + abs.string() + ")";
        return std::nullopt;
      }
      return ConfigValue(abs.string());
    }
  }
  return std::nullopt;
}

// Flattens a YAML mapping into dotted keys with their scalar text; reports structure errors.
// yaml-cpp keeps every entry of a mapping, so a key written twice is seen twice here and
// reported with the line of its second occurrence ("config.yaml:7: duplicate key trainer.lr").
void flatten(const YAML::Node& node, const std::string& prefix, const std::string& source,
             std::map<std::string, std::string>& out, std::vector<ConfigIssue>& issues) {
  std::map<std::string, int> seen;  // key -> line (1-based) of its first occurrence
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string key;
    try {
      key = it->first.as<std::string>();
    } catch (const YAML::Exception&) {
      issues.push_back({prefix, "keys must be plain strings"});
      continue;
    }
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    const int line = it->first.Mark().line + 1;
    if (auto [first, fresh] = seen.emplace(key, line); !fresh) {
      issues.push_back({path, source + ":" + std::to_string(line) + ": duplicate key " + path +
                                  " (first at line " + std::to_string(first->second) + ")"});
      continue;
    }
    const YAML::Node& v = it->second;
    const ParamSpec* spec = findSpec(path);
    if (!spec && !isSection(path)) {
      issues.push_back({path, "unknown key" + suggestion(path)});
      continue;
    }
    if (v.IsMap()) {
      if (spec) {
        issues.push_back({path, "expected " + typeName(*spec) + ", got a mapping"});
        continue;
      }
      flatten(v, path, source, out, issues);
    } else if (v.IsSequence()) {
      issues.push_back(
          {path, "expected " + (spec ? typeName(*spec) : "a mapping") + ", got a list"});
    } else if (v.IsNull()) {
      issues.push_back({path, "missing value" + (spec ? "; expected " + typeName(*spec) : "")});
    } else if (!spec) {
      issues.push_back({path, "expected a mapping (a section of keys), got '" + v.Scalar() + "'"});
    } else {
      out[path] = v.Scalar();
    }
  }
}

}  // namespace

std::string formatValue(const ConfigValue& v) {
  struct V {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      // Shortest text that reads back to the same double.
      char buf[40];
      for (int prec = 6; prec <= 17; ++prec) {
        std::snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (std::strtod(buf, nullptr) == d) break;
      }
      std::string s = buf;
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
      return s;
    }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(V{}, v);
}

Config Config::defaults() {
  Config c;
  for (const auto& s : configSchema()) c.m_values[s.path] = s.defaultValue;
  return c;
}

namespace {

std::map<std::string, std::string> parseOverrides(const std::vector<std::string>& overrides,
                                                  std::vector<ConfigIssue>& issues) {
  std::map<std::string, std::string> raw;
  for (const auto& o : overrides) {
    auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) {
      issues.push_back({"", "override '" + o + "' is not of the form key.path=value"});
      continue;
    }
    std::string key = o.substr(0, eq), value = o.substr(eq + 1);
    if (!findSpec(key)) {
      issues.push_back({key, "unknown key" + suggestion(key) + " (in override '" + o + "')"});
      continue;
    }
    raw[key] = value;
  }
  return raw;
}

}  // namespace

std::optional<Config> Config::resolveRaw(const std::map<std::string, ConfigValue>& base,
                                         const std::map<std::string, std::string>& raw,
                                         const std::string& baseDir,
                                         std::vector<ConfigIssue>& issues) {
  const std::size_t before = issues.size();
  std::map<std::string, ConfigValue> values = base;
  for (const auto& [path, text] : raw) {
    const ParamSpec* spec = findSpec(path);
    std::string err;
    if (auto v = convert(*spec, text, fs::path(baseDir), err))
      values[path] = *v;
    else
      issues.push_back({path, err});
  }
  // Cross-field rules.
  auto f = [&](const char* k) { return std::get<double>(values.at(k)); };
  auto i = [&](const char* k) { return std::get<std::int64_t>(values.at(k)); };
  if (f("augment.scale.min") > f("augment.scale.max"))
    issues.push_back({"augment.scale.min", "must not exceed augment.scale.max (" +
                                               formatValue(values.at("augment.scale.max")) + ")"});
  const std::string& dataSource = std::get<std::string>(values.at("data.source"));
  const bool pathReported = std::any_of(issues.begin() + static_cast<long>(before), issues.end(),
                                        [](const ConfigIssue& x) { return x.path == "data.path"; });
  if (dataSource != "simulated" && !pathReported &&
      std::get<std::string>(values.at("data.path")).empty())
    issues.push_back({"data.path", "required when data.source is '" + dataSource + "'"});
  if (i("objective.pnce.pairs") > i("data.points_per_scan"))
    issues.push_back({"objective.pnce.pairs", "must not exceed data.points_per_scan (" +
                                                  std::to_string(i("data.points_per_scan")) + ")"});
  if (i("lm.d_model") % i("lm.heads") != 0)
    issues.push_back(
        {"lm.heads", "must divide lm.d_model (" + std::to_string(i("lm.d_model")) + ")"});
  else if (std::get<std::string>(values.at("lm.position")) == "rope" &&
           (i("lm.d_model") / i("lm.heads")) % 2 != 0)
    issues.push_back({"lm.position", "rope needs an even head dimension (lm.d_model / lm.heads)"});
  if (std::get<std::string>(values.at("text.source")) == "file" &&
      std::get<std::string>(values.at("text.path")).empty())
    issues.push_back({"text.path", "required when text.source is 'file'"});
  if (i("text.backcopy_triggers") >= i("text.backcopy_vocab"))
    issues.push_back({"text.backcopy_triggers", "must be smaller than text.backcopy_vocab"});
  if (i("text.fixed_token_pos") >= i("lm.context"))
    issues.push_back({"text.fixed_token_pos", "must be smaller than lm.context"});
  if (issues.size() != before) return std::nullopt;
  Config c;
  c.m_values = std::move(values);
  return c;
}

std::optional<Config> Config::parse(const std::string& yamlText, const std::string& source,
                                    const std::vector<std::string>& overrides,
                                    std::vector<ConfigIssue>& issues) {
  const std::size_t before = issues.size();
  std::map<std::string, std::string> raw;
  try {
    YAML::Node root = YAML::Load(yamlText);
    if (root.IsNull()) {
      // An empty file is the all-defaults config.
    } else if (!root.IsMap()) {
      issues.push_back({"", source + ": the top level must be a mapping of sections"});
    } else {
      flatten(root, "", source, raw, issues);
    }
  } catch (const YAML::Exception& e) {
    issues.push_back({"", source + ": YAML syntax error at line " +
                              std::to_string(e.mark.line + 1) + ", column " +
                              std::to_string(e.mark.column + 1) + ": " + e.msg});
    return std::nullopt;
  }
  for (auto& [k, v] : parseOverrides(overrides, issues)) raw[k] = v;
  fs::path baseDir =
      fs::path(source).has_parent_path() ? fs::path(source).parent_path() : fs::current_path();
  auto cfg = resolveRaw(defaults().m_values, raw, baseDir.string(), issues);
  if (issues.size() != before) return std::nullopt;
  return cfg;
}

std::optional<Config> Config::load(const std::string& file,
                                   const std::vector<std::string>& overrides,
                                   std::vector<ConfigIssue>& issues) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    issues.push_back({"", file + ": no such config file"});
    return std::nullopt;
  }
  // Refuses FIFOs and devices without opening them, and oversized files.
  std::string text, error;
  if (!readFile(file, text, error)) {
    issues.push_back({"", error});
    return std::nullopt;
  }
  return parse(text, file, overrides, issues);
}

std::optional<Config> Config::with(const std::vector<std::string>& overrides,
                                   std::vector<ConfigIssue>& issues) const {
  const std::size_t before = issues.size();
  auto raw = parseOverrides(overrides, issues);
  auto cfg = resolveRaw(m_values, raw, fs::current_path().string(), issues);
  if (issues.size() != before) return std::nullopt;
  return cfg;
}

const ConfigValue& Config::get(const std::string& path) const {
  auto it = m_values.find(path);
  if (it == m_values.end()) throw std::out_of_range("no config key '" + path + "'");
  return it->second;
}
bool Config::getBool(const std::string& p) const { return std::get<bool>(get(p)); }
std::int64_t Config::getInt(const std::string& p) const { return std::get<std::int64_t>(get(p)); }
double Config::getFloat(const std::string& p) const { return std::get<double>(get(p)); }
std::string Config::getString(const std::string& p) const { return std::get<std::string>(get(p)); }

std::string Config::toYaml() const {
  std::ostringstream out;
  std::vector<std::string> open;  // currently open section names
  for (const auto& [path, value] : m_values) {
    std::vector<std::string> parts;
    std::stringstream ps(path);
    for (std::string part; std::getline(ps, part, '.');) parts.push_back(part);
    std::size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common])
      ++common;
    open.resize(common);
    for (std::size_t d = common; d + 1 < parts.size(); ++d) {
      out << std::string(2 * d, ' ') << parts[d] << ":\n";
      open.push_back(parts[d]);
    }
    out << std::string(2 * (parts.size() - 1), ' ') << parts.back() << ": ";
    if (std::holds_alternative<std::string>(value)) {
      YAML::Emitter e;
      e << YAML::DoubleQuoted << std::get<std::string>(value);
      out << e.c_str();
    } else {
      out << formatValue(value);
    }
    out << "\n";
  }
  return out.str();
}

std::vector<ConfigChange> diffConfigs(const Config& a, const Config& b) {
  std::vector<ConfigChange> out;
  for (const auto& spec : configSchema()) {
    std::string from = formatValue(a.get(spec.path)), to = formatValue(b.get(spec.path));
    if (from != to) out.push_back({spec.path, std::move(from), std::move(to)});
  }
  return out;
}

}  // namespace pretext::core
