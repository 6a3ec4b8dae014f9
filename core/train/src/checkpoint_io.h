#pragma once
// LibTorch archives in checkpoints, written and read through memory.
//
// LibTorch's file writer finishes the zip file in its destructor and throws from there when
// the disk is full, which ends the process in std::terminate. Serialising into a buffer
// and writing that with checked writes turns a full disk into an ordinary error naming the
// file. Reads name the file in LibTorch's errors too.
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <string>

namespace pretext::core {

// Throws std::runtime_error naming `path` (e.g. "No space left on device").
void writeArchive(torch::serialize::OutputArchive& archive, const std::string& path);
// Throws std::runtime_error naming `path` when it is missing or not a LibTorch archive.
void readArchive(torch::serialize::InputArchive& archive, const std::string& path);

template <class Module>
void saveModule(Module& module, const std::string& path) {
  torch::serialize::OutputArchive archive;
  module->save(archive);
  writeArchive(archive, path);
}
template <class Module>
void loadModule(Module& module, const std::string& path) {
  torch::serialize::InputArchive archive;
  readArchive(archive, path);
  try {
    module->load(archive);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": does not fit the model: " +
                             std::string(e.what_without_backtrace()).substr(0, 300));
  }
}

}  // namespace pretext::core
