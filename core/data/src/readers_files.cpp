// File-level entry points of the readers (read bytes, dispatch by extension) and the writers.
// Writers build the whole file in memory and replace the target atomically.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <sstream>

#include "pretext/data/fs_util.h"
#include "pretext/data/readers.h"
#include "readers_detail.h"

namespace pretext::core {

using namespace io;

const char* formatName(CloudFormat f) {
  // In the order of CloudFormat.
  static const char* const names[] = {"unknown", "kitti-bin", "nuscenes-bin", "pcd", "ply", "npy"};
  static_assert(std::size(names) == static_cast<std::size_t>(CloudFormat::Npy) + 1,
                "one name per CloudFormat");
  const auto i = static_cast<std::size_t>(f);
  return i < std::size(names) ? names[i] : "unknown";
}

namespace {
bool endsWith(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  if (s.size() < n) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - n + i])) != suffix[i]) return false;
  return true;
}
}  // namespace

CloudFormat formatFromPath(const std::string& path) {
  if (endsWith(path, ".pcd.bin")) return CloudFormat::NuscenesBin;
  if (endsWith(path, ".bin")) return CloudFormat::KittiBin;
  if (endsWith(path, ".pcd")) return CloudFormat::Pcd;
  if (endsWith(path, ".ply")) return CloudFormat::Ply;
  if (endsWith(path, ".npy")) return CloudFormat::Npy;
  return CloudFormat::Unknown;
}

std::string readFileBytes(const std::string& path) {
  std::uint64_t size = 0;
  std::string error;
  const int fd = openRegularFile(path, size, error);
  if (fd < 0) throw DataError(error);
  if (std::string why = memoryLimitProblem(size); !why.empty()) {
    ::close(fd);
    fail(path, why);
  }
  std::string bytes;
  try {
    bytes.assign(static_cast<std::size_t>(size), '\0');
  } catch (const std::bad_alloc&) {
    ::close(fd);
    fail(path, "out of memory while reading its " + formatBytes(size));
  }
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t r = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const int e = errno;
      ::close(fd);
      fail(path,
           r < 0 ? std::string("read failed: ") + std::strerror(e) : "file shrank while reading");
    }
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  return bytes;
}

PointCloud readKittiBin(const std::string& path, const ReadOptions& options) {
  return guardMemory(path, [&] {
    return parseFloatRecords(path, readFileBytes(path), 4, {"intensity"}, options);
  });
}
PointCloud readNuscenesBin(const std::string& path, const ReadOptions& options) {
  return guardMemory(path, [&] {
    return parseFloatRecords(path, readFileBytes(path), 5, {"intensity", "ring"}, options);
  });
}
PointCloud readPcd(const std::string& path) {
  return guardMemory(path, [&] { return parsePcd(path, readFileBytes(path)); });
}
PointCloud readPly(const std::string& path) {
  return guardMemory(path, [&] { return parsePly(path, readFileBytes(path)); });
}

PointCloud readPointCloud(const std::string& path, const ReadOptions& options) {
  switch (formatFromPath(path)) {
    case CloudFormat::KittiBin:
      return readKittiBin(path, options);
    case CloudFormat::NuscenesBin:
      return readNuscenesBin(path, options);
    case CloudFormat::Pcd:
      return readPcd(path);
    case CloudFormat::Ply:
      return readPly(path);
    case CloudFormat::Npy:
      return guardMemory(path, [&] { return parseNpyCloud(path, readFileBytes(path)); });
    default:
      fail(path, "unknown point-cloud format (expected .bin, .pcd.bin, .pcd, .ply or .npy)");
  }
}

// ---- writers ------------------------------------------------------------------------------

namespace {

void commit(const std::string& path, const std::string& bytes) {
  std::string err;
  if (!writeFileAtomic(path, bytes, err)) throw DataError(err);
}

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

std::string fieldList(const PointCloud& c) {
  std::string s = "x y z";
  for (const auto& f : c.fieldNames) s += " " + f;
  return s;
}

}  // namespace

void writeKittiBin(const std::string& path, const PointCloud& cloud) {
  const auto* inten = cloud.field("intensity");
  std::string out;
  out.reserve(cloud.size() * 16);
  for (std::size_t i = 0; i < cloud.size(); ++i) {
    for (int d = 0; d < 3; ++d) put(out, cloud.xyz[3 * i + d]);
    put(out, inten ? (*inten)[i] : 0.0f);
  }
  commit(path, out);
}

void writePcd(const std::string& path, const PointCloud& cloud, PcdEncoding encoding) {
  const std::size_t n = cloud.size(), nf = 3 + cloud.fields.size();
  std::ostringstream h;
  h << "# .PCD v0.7 - Point Cloud Data file format (written by Pretext)\nVERSION 0.7\n"
    << "FIELDS " << fieldList(cloud) << "\nSIZE";
  for (std::size_t f = 0; f < nf; ++f) h << " 4";
  h << "\nTYPE";
  for (std::size_t f = 0; f < nf; ++f) h << " F";
  h << "\nCOUNT";
  for (std::size_t f = 0; f < nf; ++f) h << " 1";
  h << "\nWIDTH " << n << "\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS " << n << "\nDATA "
    << (encoding == PcdEncoding::Ascii    ? "ascii"
        : encoding == PcdEncoding::Binary ? "binary"
                                          : "binary_compressed")
    << "\n";
  std::string out = h.str();
  auto value = [&](std::size_t i, std::size_t f) {
    return f < 3 ? cloud.xyz[3 * i + f] : cloud.fields[f - 3][i];
  };
  if (encoding == PcdEncoding::Ascii) {
    std::ostringstream body;
    body << std::setprecision(9);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t f = 0; f < nf; ++f) body << value(i, f) << (f + 1 < nf ? ' ' : '\n');
    out += body.str();
  } else if (encoding == PcdEncoding::Binary) {
    out.reserve(out.size() + n * nf * 4);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t f = 0; f < nf; ++f) put(out, value(i, f));
  } else {
    std::string soa;
    soa.reserve(n * nf * 4);
    for (std::size_t f = 0; f < nf; ++f)
      for (std::size_t i = 0; i < n; ++i) put(soa, value(i, f));
    const std::string z = lzfCompress(soa);
    put(out, static_cast<std::uint32_t>(z.size()));
    put(out, static_cast<std::uint32_t>(soa.size()));
    out += z;
  }
  commit(path, out);
}

void writePly(const std::string& path, const PointCloud& cloud, bool binary) {
  const std::size_t n = cloud.size(), nf = 3 + cloud.fields.size();
  std::ostringstream h;
  h << "ply\nformat " << (binary ? "binary_little_endian" : "ascii")
    << " 1.0\ncomment written by Pretext\nelement vertex " << n << "\n";
  h << "property float x\nproperty float y\nproperty float z\n";
  for (const auto& f : cloud.fieldNames) h << "property float " << f << "\n";
  h << "end_header\n";
  std::string out = h.str();
  auto value = [&](std::size_t i, std::size_t f) {
    return f < 3 ? cloud.xyz[3 * i + f] : cloud.fields[f - 3][i];
  };
  if (binary) {
    out.reserve(out.size() + n * nf * 4);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t f = 0; f < nf; ++f) put(out, value(i, f));
  } else {
    std::ostringstream body;
    body << std::setprecision(9);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t f = 0; f < nf; ++f) body << value(i, f) << (f + 1 < nf ? ' ' : '\n');
    out += body.str();
  }
  commit(path, out);
}

void writePointCloud(const std::string& path, const PointCloud& cloud) {
  switch (formatFromPath(path)) {
    case CloudFormat::KittiBin:
      return writeKittiBin(path, cloud);
    case CloudFormat::Pcd:
      return writePcd(path, cloud);
    case CloudFormat::Ply:
      return writePly(path, cloud);
    default:
      fail(path, "cannot write this format (expected .bin, .pcd or .ply)");
  }
}

}  // namespace pretext::core
