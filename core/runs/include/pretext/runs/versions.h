#pragma once
// Versions of the components a binary runs with, recorded in run.json and printed by
// --version. Core registers LibTorch itself; the GUI adds Qt and VTK at start-up.
// Register before starting threads; read from any thread afterwards.
#include <map>
#include <string>

namespace pretext::core {

std::string pretextVersion();
void registerComponentVersion(const std::string& name, const std::string& version);
std::map<std::string, std::string> componentVersions();
std::string versionReport();  // multi-line text for --version

}  // namespace pretext::core
