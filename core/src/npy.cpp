// The bool + message API of npy.h on top of the data library's .npy reader and writer, so
// the format is implemented once (core/src/io_npy.cpp).
#include "pretext/core/npy.h"

#include <fstream>
#include <new>

#include "pretext/core/readers.h"

namespace pretext::core {

bool writeNpyFloat32(const std::string& path, const std::vector<float>& data,
                     const std::vector<std::size_t>& shape, std::string& error) {
  std::string bytes;
  try {
    bytes = npyBytes(path, data, shape);
  } catch (const DataError& e) {
    error = e.what();
    return false;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    error = path + ": cannot create";
    return false;
  }
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) {
    error = path + ": write failed";
    return false;
  }
  return true;
}

bool readNpyFloat32(const std::string& path, std::vector<float>& data,
                    std::vector<std::size_t>& shape, std::string& error) {
  try {
    const NpyArray a = parseNpy(path, readFileBytes(path));
    data.assign(a.data.begin(), a.data.end());
    shape = a.shape;
    return true;
  } catch (const DataError& e) {
    error = e.what();
    return false;
  } catch (const std::bad_alloc&) {
    error = path + ": out of memory while reading";
    return false;
  }
}

}  // namespace pretext::core
