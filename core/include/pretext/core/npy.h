#pragma once
// Minimal NumPy .npy (format 1.0) writer and reader for little-endian float32 arrays,
// so snapshots are readable with np.load without our code. Any thread.
#include <cstdint>
#include <string>
#include <vector>

namespace pretext::core {

bool writeNpyFloat32(const std::string& path, const std::vector<float>& data,
                     const std::vector<std::size_t>& shape, std::string& error);
bool readNpyFloat32(const std::string& path, std::vector<float>& data,
                    std::vector<std::size_t>& shape, std::string& error);

}  // namespace pretext::core
