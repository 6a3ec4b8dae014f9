#pragma once
// Test helpers: scratch folders that clean up after themselves.
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

inline std::string sharedData(const std::string& rel) {
  return std::string(PRETEXT_SHARED_DATA) + "/" + rel;
}

}  // namespace pretext::test
