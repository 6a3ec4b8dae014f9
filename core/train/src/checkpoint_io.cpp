#include "checkpoint_io.h"

#include <sstream>
#include <stdexcept>

#include "pretext/data/fs_util.h"

namespace pretext::core {

namespace {
std::string firstLine(const std::string& s) { return s.substr(0, s.find('\n')); }
}  // namespace

void writeArchive(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream buffer;
  try {
    archive.save_to(buffer);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": cannot serialise: " + firstLine(e.what_without_backtrace()));
  }
  std::string error;
  if (!writeFileAtomic(path, buffer.str(), error)) throw std::runtime_error(error);
}

void readArchive(torch::serialize::InputArchive& archive, const std::string& path) {
  std::string bytes, error;
  if (!readFile(path, bytes, error)) throw std::runtime_error(error);
  try {
    archive.load_from(bytes.data(), bytes.size());
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": not a readable LibTorch archive (" +
                             firstLine(e.what_without_backtrace()) + ")");
  }
}

}  // namespace pretext::core
