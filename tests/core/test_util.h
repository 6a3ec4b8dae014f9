#pragma once
// Test helpers: scratch folders that clean up after themselves.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

namespace pretext::test {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    m_path = std::filesystem::temp_directory_path() /
             ("pretext-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  std::string str() const { return m_path.string(); }
  std::string operator/(const std::string& s) const { return (m_path / s).string(); }

 private:
  std::filesystem::path m_path;
};

// Runs a shell command line with stderr merged into stdout. code is the exit status, or -1
// when the process did not exit normally (a crash or a signal).
struct CommandResult {
  int code;
  std::string output;
};
inline CommandResult runCommand(const std::string& commandLine) {
  FILE* p = popen((commandLine + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline std::string sharedData(const std::string& rel) {
  return std::string(PRETEXT_SHARED_DATA) + "/" + rel;
}

}  // namespace pretext::test
