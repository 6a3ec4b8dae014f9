#pragma once
// NumPy .npy as float32 with a bool + message API (snapshots, run watcher): writes format 1.0
// little-endian float32; reads any numeric dtype (see readers.h). Any thread.
#include <cstdint>
#include <string>
#include <vector>

namespace pretext::core {

bool writeNpyFloat32(const std::string& path, const std::vector<float>& data,
                     const std::vector<std::size_t>& shape, std::string& error);
bool readNpyFloat32(const std::string& path, std::vector<float>& data,
                    std::vector<std::size_t>& shape, std::string& error);

}  // namespace pretext::core
