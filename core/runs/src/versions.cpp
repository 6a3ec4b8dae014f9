#include "pretext/runs/versions.h"

#include <mutex>

namespace pretext::core {
namespace {
std::mutex g_mutex;
std::map<std::string, std::string>& table() {
  static std::map<std::string, std::string> t{{"pretext", PRETEXT_VERSION},
                                              {"libtorch", PRETEXT_LIBTORCH_VERSION}};
  return t;
}
}  // namespace

std::string pretextVersion() { return PRETEXT_VERSION; }

void registerComponentVersion(const std::string& name, const std::string& version) {
  std::lock_guard<std::mutex> lock(g_mutex);
  table()[name] = version;
}

std::map<std::string, std::string> componentVersions() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return table();
}

std::string versionReport() {
  std::string out = "pretext " + pretextVersion() + "\n";
  for (const auto& [k, v] : componentVersions())
    if (k != "pretext") out += "  " + k + " " + v + "\n";
  return out;
}

}  // namespace pretext::core
