#include "pretext/core/npy.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pretext::core {

bool writeNpyFloat32(const std::string& path, const std::vector<float>& data,
                     const std::vector<std::size_t>& shape, std::string& error) {
  std::size_t n = 1;
  for (auto s : shape) n *= s;
  if (n != data.size()) {
    error = path + ": shape does not match data size";
    return false;
  }
  std::ostringstream h;
  h << "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i)
    h << shape[i] << (shape.size() == 1 || i + 1 < shape.size() ? "," : "")
      << (i + 1 < shape.size() ? " " : "");
  h << "), }";
  std::string header = h.str();
  // magic(6) + version(2) + len(2) + header + '\n' must be a multiple of 64.
  std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    error = path + ": cannot create";
    return false;
  }
  const char magic[] = "\x93NUMPY\x01\x00";
  out.write(magic, 8);
  std::uint16_t len = static_cast<std::uint16_t>(header.size());
  const unsigned char lenBytes[2] = {static_cast<unsigned char>(len & 0xff),
                                     static_cast<unsigned char>(len >> 8)};
  out.write(reinterpret_cast<const char*>(lenBytes), 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data.data()),
            static_cast<std::streamsize>(data.size() * sizeof(float)));
  out.flush();
  if (!out) {
    error = path + ": write failed";
    return false;
  }
  return true;
}

bool readNpyFloat32(const std::string& path, std::vector<float>& data,
                    std::vector<std::size_t>& shape, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open";
    return false;
  }
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
    error = path + ": not a .npy file (bad magic)";
    return false;
  }
  std::size_t hlen = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) {
      error = path + ": truncated header";
      return false;
    }
    hlen = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) {
      error = path + ": truncated header";
      return false;
    }
    hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (std::size_t(b[3]) << 24);
  }
  if (hlen > 1 << 20) {
    error = path + ": header length " + std::to_string(hlen) + " is implausible";
    return false;
  }
  std::string header(hlen, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(hlen))) {
    error = path + ": truncated header";
    return false;
  }
  if (header.find("'<f4'") == std::string::npos) {
    error = path + ": only little-endian float32 ('<f4') arrays are supported";
    return false;
  }
  if (header.find("'fortran_order': True") != std::string::npos) {
    error = path + ": Fortran-ordered arrays are not supported";
    return false;
  }
  auto open = header.find('(', header.find("'shape'"));
  auto close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos) {
    error = path + ": header has no shape";
    return false;
  }
  shape.clear();
  std::stringstream ss(header.substr(open + 1, close - open - 1));
  std::size_t n = 1;
  for (std::string tok; std::getline(ss, tok, ',');) {
    if (tok.find_first_not_of(" ") == std::string::npos) continue;
    char* end = nullptr;
    unsigned long long v = std::strtoull(tok.c_str(), &end, 10);
    if (end == tok.c_str()) {
      error = path + ": malformed shape in header";
      return false;
    }
    shape.push_back(v);
    n *= v;
    if (n > (std::size_t(1) << 34)) {
      error = path + ": declared shape is implausibly large";
      return false;
    }
  }
  data.resize(n);
  if (!in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(n * 4))) {
    error = path + ": payload is shorter than the declared shape";
    return false;
  }
  return true;
}

}  // namespace pretext::core
