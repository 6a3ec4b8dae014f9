#include "pretext/runs/presets.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "embedded_presets.h"
#include "pretext/data/fs_util.h"

namespace pretext::core {

std::vector<PresetInfo> presets() {
  std::vector<PresetInfo> out;
  for (const auto& p : embeddedPresets()) {
    PresetInfo info{p.name, ""};
    try {
      YAML::Node n = YAML::Load(p.text);
      if (n["experiment"] && n["experiment"]["notes"])
        info.description = n["experiment"]["notes"].as<std::string>();
    } catch (const YAML::Exception&) {
    }
    out.push_back(info);
  }
  return out;
}

std::optional<std::string> presetText(const std::string& name) {
  for (const auto& p : embeddedPresets())
    if (p.name == name) return std::string(p.text);
  return std::nullopt;
}

bool resolveConfigSource(const std::string& arg, std::string& yamlText, std::string& source,
                         std::string& error) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) {
    source = arg;
    return readFile(arg, yamlText, error);
  }
  std::string name = arg;
  if (name.size() > 5 && name.compare(name.size() - 5, 5, ".yaml") == 0 &&
      name.find('/') == std::string::npos)
    name.resize(name.size() - 5);
  if (auto text = presetText(name)) {
    yamlText = *text;
    source = "preset '" + name + "'";
    return true;
  }
  std::string names;
  for (const auto& p : embeddedPresets())
    names += (names.empty() ? "" : ", ") + std::string(p.name);
  error = arg + ": no such config file or preset (presets: " + names + ")";
  return false;
}

}  // namespace pretext::core
