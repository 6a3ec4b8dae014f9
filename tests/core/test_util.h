#pragma once
// Test helpers: scratch folders that clean up after themselves.
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
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

// Appends a long metrics history to a run's metrics.csv: `n` rows of loss/total at steps
// 1..n (segment 1, 10 ms apart, value 5 / sqrt(step)), about 30 bytes each.
inline void appendLongHistory(const std::string& runDir, int n) {
  std::ofstream out(runDir + "/metrics.csv", std::ios::app);
  char line[96];
  for (int i = 1; i <= n; ++i) {
    std::snprintf(line, sizeof line, "1,%d,%.3f,loss/total,%.6f\n", i, i * 0.01,
                  5.0 / std::sqrt(double(i)));
    out << line;
  }
}

}  // namespace pretext::test
