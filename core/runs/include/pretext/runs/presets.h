#pragma once
// Experiment presets: YAML files in resources/presets/, embedded into the binaries at build
// time so a preset name works without any installed files. Any thread.
#include <optional>
#include <string>
#include <vector>

namespace pretext::core {

struct PresetInfo {
  std::string name;
  std::string description;  // experiment.notes of the preset
};

std::vector<PresetInfo> presets();
std::optional<std::string> presetText(const std::string& name);
inline constexpr const char* kDefaultPreset = "default";

// Turns a CLI/GUI argument into YAML text: an existing file is read, otherwise the
// argument is looked up as a preset name. `source` is what messages call it.
bool resolveConfigSource(const std::string& arg, std::string& yamlText, std::string& source,
                         std::string& error);

}  // namespace pretext::core
