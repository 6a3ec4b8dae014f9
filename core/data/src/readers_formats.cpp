// Parsers for raw float records (KITTI/nuScenes .bin), PCD v0.7 and PLY, plus LZF. Every
// count read from a header is checked against the bytes actually present before anything is
// allocated, so a lying header gives an error, not a huge allocation or an overread.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>

#include "pretext/data/fs_util.h"
#include "pretext/data/readers.h"
#include "readers_detail.h"

namespace pretext::core {
namespace io {

std::vector<std::string_view> splitWords(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool parseDouble(std::string_view s, double& out) {
  if (s.empty() || s.size() > 64) return false;
  char buf[72];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  char* end = nullptr;
  errno = 0;
  out = std::strtod(buf, &end);
  if (end != buf + s.size()) return false;
  // Out-of-range values become +-HUGE_VAL (Inf) and are treated like Inf in the data.
  return true;
}

bool parseU64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (out > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    out = out * 10 + d;
  }
  return true;
}

bool parseI64(std::string_view s, std::int64_t& out) {
  bool neg = !s.empty() && s[0] == '-';
  std::uint64_t u = 0;
  if (!parseU64(neg ? s.substr(1) : s, u)) return false;
  if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
  out = neg ? -static_cast<std::int64_t>(u) : static_cast<std::int64_t>(u);
  return true;
}

bool nextLine(std::string_view text, std::size_t& pos, std::string_view& line) {
  if (pos >= text.size()) return false;
  std::size_t e = text.find('\n', pos);
  if (e == std::string_view::npos) e = text.size();
  line = text.substr(pos, e - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos = e + 1;
  return true;
}

std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 40)) out += (static_cast<unsigned char>(c) < 32 || c == 127) ? '?' : c;
  if (s.size() > 40) out += "...";
  return out + "'";
}

int scalarSize(Scalar s) {
  switch (s) {
    case Scalar::I8:
    case Scalar::U8:
      return 1;
    case Scalar::I16:
    case Scalar::U16:
    case Scalar::F16:
      return 2;
    case Scalar::I32:
    case Scalar::U32:
    case Scalar::F32:
      return 4;
    default:
      return 8;
  }
}

float halfToFloat(std::uint16_t h) {
  const std::uint32_t sign = (h >> 15) & 1u, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  float v;
  if (exp == 0)
    v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31)
    v = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else
    v = std::ldexp(static_cast<float>(mant | 0x400u), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

double loadScalar(const unsigned char* p, Scalar s, bool swap) {
  unsigned char b[8];
  const int n = scalarSize(s);
  for (int i = 0; i < n; ++i) b[i] = swap ? p[n - 1 - i] : p[i];
  switch (s) {
    case Scalar::I8:
      return static_cast<std::int8_t>(b[0]);
    case Scalar::U8:
      return b[0];
    case Scalar::I16: {
      std::int16_t v;
      std::memcpy(&v, b, 2);
      return v;
    }
    case Scalar::U16: {
      std::uint16_t v;
      std::memcpy(&v, b, 2);
      return v;
    }
    case Scalar::I32: {
      std::int32_t v;
      std::memcpy(&v, b, 4);
      return v;
    }
    case Scalar::U32: {
      std::uint32_t v;
      std::memcpy(&v, b, 4);
      return v;
    }
    case Scalar::I64: {
      std::int64_t v;
      std::memcpy(&v, b, 8);
      return static_cast<double>(v);
    }
    case Scalar::U64: {
      std::uint64_t v;
      std::memcpy(&v, b, 8);
      return static_cast<double>(v);
    }
    case Scalar::F16: {
      std::uint16_t v;
      std::memcpy(&v, b, 2);
      return halfToFloat(v);
    }
    case Scalar::F32: {
      float v;
      std::memcpy(&v, b, 4);
      return v;
    }
    case Scalar::F64: {
      double v;
      std::memcpy(&v, b, 8);
      return v;
    }
  }
  return 0;
}

}  // namespace io

using namespace io;

namespace {

// Builds a PointCloud from per-point values of named columns; x, y, z must be among them.
struct ColumnSink {
  int ix = -1, iy = -1, iz = -1;
  std::vector<int> fieldOf;  // column -> index into cloud.fields, or -1 (x/y/z/skipped)
  PointCloud cloud;

  // `held`: bytes the read already holds (the file, decompressed data, parsed arrays); the
  // floats of `reserve` points come on top and must fit readMemoryLimit().
  void setup(const std::string& name, const std::vector<std::string>& columns,
             const std::vector<bool>& skip, std::size_t reserve, std::uint64_t held) {
    fieldOf.assign(columns.size(), -1);
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (skip[c]) continue;
      const std::string& n = columns[c];
      if (n == "x" && ix < 0)
        ix = static_cast<int>(c);
      else if (n == "y" && iy < 0)
        iy = static_cast<int>(c);
      else if (n == "z" && iz < 0)
        iz = static_cast<int>(c);
      else if (!cloud.field(n)) {
        fieldOf[c] = static_cast<int>(cloud.fieldNames.size());
        cloud.fieldNames.push_back(n);
        cloud.fields.emplace_back();
      }
    }
    if (ix < 0 || iy < 0 || iz < 0) {
      std::string have;
      for (const auto& c : columns) have += (have.empty() ? "" : " ") + c;
      fail(name, "fields must include x, y and z (found: " + have + ")");
    }
    requireMemory(name, held + static_cast<std::uint64_t>(reserve) * (3 + cloud.fields.size()) * 4);
    cloud.xyz.reserve(reserve * 3);
    for (auto& f : cloud.fields) f.reserve(reserve);
  }
  void push(const double* row) {
    cloud.xyz.push_back(static_cast<float>(row[ix]));
    cloud.xyz.push_back(static_cast<float>(row[iy]));
    cloud.xyz.push_back(static_cast<float>(row[iz]));
    for (std::size_t c = 0; c < fieldOf.size(); ++c)
      if (fieldOf[c] >= 0)
        cloud.fields[static_cast<std::size_t>(fieldOf[c])].push_back(static_cast<float>(row[c]));
  }
  PointCloud finish(const std::string& name) {
    cloud.dropNonFinite();
    requirePoints(name, cloud);
    return std::move(cloud);
  }
};

}  // namespace

void io::requirePoints(const std::string& name, const PointCloud& c) {
  if (!c.empty()) return;
  fail(name, c.droppedNonFinite ? "no finite points (" + std::to_string(c.droppedNonFinite) +
                                      " rows with NaN/Inf coordinates)"
                                : "no points");
}

void io::requireMemory(const std::string& name, std::uint64_t bytes) {
  if (std::string why = memoryLimitProblem(bytes); !why.empty()) fail(name, why);
}

PointCloud parseFloatRecords(const std::string& name, std::string_view bytes, int columns,
                             const std::vector<std::string>& extra, const ReadOptions& options) {
  const std::size_t rec = static_cast<std::size_t>(columns) * 4;
  if (bytes.empty()) fail(name, "empty file");
  if (bytes.size() % rec != 0)
    fail(name, "size " + std::to_string(bytes.size()) + " bytes is not a multiple of the " +
                   std::to_string(rec) + "-byte record (" + std::to_string(columns) +
                   " float32 per point); truncated or a different format");
  const std::size_t n = bytes.size() / rec;
  const std::size_t nExtra =
      std::min<std::size_t>(extra.size(), static_cast<std::size_t>(columns - 3));
  // The file's bytes and the floats parsed from them (x, y, z and the named columns).
  requireMemory(name, bytes.size() + static_cast<std::uint64_t>(n) * (3 + nExtra) * 4);
  // Nothing in the file says it holds points: every value must look like one. Random bytes
  // are float32 with random exponents, most of them far beyond any LiDAR range.
  const double bound = options.maxAbsCoord;
  auto implausible = [&](std::size_t row, const std::string& what) {
    fail(name, "point " + std::to_string(row) + ": " + what +
                   "; not float32 LiDAR records (random bytes or another format?)");
  };
  PointCloud c;
  c.xyz.resize(n * 3);
  for (std::size_t f = 0; f < nExtra; ++f) {
    c.fieldNames.push_back(extra[f]);
    c.fields.emplace_back(n);
  }
  // One pass: copy finite rows, skip the others (counted).
  const char* p = bytes.data();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i, p += rec) {
    float xyz[3];
    std::memcpy(xyz, p, 12);
    const bool finite = std::isfinite(xyz[0]) && std::isfinite(xyz[1]) && std::isfinite(xyz[2]);
    for (int d = 0; d < 3 && finite; ++d)
      if (std::fabs(static_cast<double>(xyz[d])) > bound) {
        char v[64], b[64];
        std::snprintf(v, sizeof v, "%g", static_cast<double>(xyz[d]));
        std::snprintf(b, sizeof b, "%g", bound);
        implausible(i, std::string("coordinate ") + "xyz"[d] + " = " + v + " is beyond " + b +
                           " m (data.max_abs_coord)");
      }
    for (std::size_t f = 0; f < static_cast<std::size_t>(columns - 3); ++f) {
      float v;
      std::memcpy(&v, p + 12 + 4 * f, 4);
      if (!std::isfinite(v))
        implausible(
            i, (f < extra.size() ? extra[f] : "column " + std::to_string(3 + f)) + " is NaN/Inf");
    }
    if (!finite) continue;
    std::memcpy(&c.xyz[3 * kept], xyz, 12);
    for (std::size_t f = 0; f < nExtra; ++f) std::memcpy(&c.fields[f][kept], p + 12 + 4 * f, 4);
    ++kept;
  }
  c.droppedNonFinite = n - kept;
  c.xyz.resize(3 * kept);
  for (auto& f : c.fields) f.resize(kept);
  requirePoints(name, c);
  return c;
}

// ---- PCD ----------------------------------------------------------------------------------

PointCloud parsePcd(const std::string& name, std::string_view bytes) {
  std::vector<std::string> fields;
  std::vector<int> sizes, counts;
  std::vector<char> types;
  std::uint64_t width = 0, height = 1, points = 0;
  bool havePoints = false, haveWidth = false;
  std::string data;
  std::size_t pos = 0;
  std::string_view line;
  int lineNo = 0;
  while (data.empty()) {
    if (!nextLine(bytes, pos, line))
      fail(name, lineNo == 0 ? "empty file" : "header ends before the DATA line");
    ++lineNo;
    auto w = splitWords(line);
    if (w.empty() || w[0][0] == '#') continue;
    const std::string key(w[0]);
    auto where = [&] { return "header line " + std::to_string(lineNo) + " (" + key + "): "; };
    if (key == "VERSION") continue;
    if (key == "FIELDS" || key == "COLUMNS") {
      for (std::size_t i = 1; i < w.size(); ++i) fields.emplace_back(w[i]);
    } else if (key == "SIZE" || key == "COUNT") {
      auto& dst = key == "SIZE" ? sizes : counts;
      for (std::size_t i = 1; i < w.size(); ++i) {
        std::uint64_t v;
        if (!parseU64(w[i], v) || v == 0 || v > (key == "SIZE" ? 8u : 4096u))
          fail(name, where() + "bad value " + quoted(w[i]));
        dst.push_back(static_cast<int>(v));
      }
    } else if (key == "TYPE") {
      for (std::size_t i = 1; i < w.size(); ++i) {
        if (w[i].size() != 1 || (w[i][0] != 'F' && w[i][0] != 'I' && w[i][0] != 'U'))
          fail(name, where() + "unknown type " + quoted(w[i]) + " (expected F, I or U)");
        types.push_back(w[i][0]);
      }
    } else if (key == "WIDTH" || key == "HEIGHT" || key == "POINTS") {
      std::uint64_t v;
      if (w.size() != 2 || !parseU64(w[1], v)) fail(name, where() + "expected one integer");
      if (key == "WIDTH") {
        width = v;
        haveWidth = true;
      } else if (key == "HEIGHT") {
        height = v;
      } else {
        points = v;
        havePoints = true;
      }
    } else if (key == "VIEWPOINT") {
      continue;
    } else if (key == "DATA") {
      if (w.size() != 2) fail(name, where() + "expected ascii, binary or binary_compressed");
      data = std::string(w[1]);
      if (data != "ascii" && data != "binary" && data != "binary_compressed")
        fail(name, where() + "unknown encoding " + quoted(w[1]));
    } else {
      if (lineNo == 1) fail(name, "not a PCD file (first line " + quoted(line) + ")");
      fail(name, "header line " + std::to_string(lineNo) + ": unknown key " + quoted(w[0]));
    }
  }
  if (fields.empty()) fail(name, "header has no FIELDS line");
  if (counts.empty()) counts.assign(fields.size(), 1);
  if (sizes.size() != fields.size() || types.size() != fields.size() ||
      counts.size() != fields.size())
    fail(name, "header declares " + std::to_string(fields.size()) + " FIELDS but " +
                   std::to_string(sizes.size()) + " SIZE, " + std::to_string(types.size()) +
                   " TYPE and " + std::to_string(counts.size()) + " COUNT entries");
  if (!havePoints) points = width * height;
  if (haveWidth) {
    std::uint64_t wh;
    if (!mulWithin(width, height, std::numeric_limits<std::uint64_t>::max(), wh) || wh != points)
      fail(name, "header says POINTS " + std::to_string(points) + " but WIDTH x HEIGHT = " +
                     std::to_string(width) + " x " + std::to_string(height));
  }
  // Columns: a field with COUNT k > 1 becomes name_0 .. name_{k-1}; "_" is padding.
  std::vector<std::string> cols;
  std::vector<Scalar> colType;
  std::vector<bool> skip;
  std::size_t recordSize = 0;
  for (std::size_t f = 0; f < fields.size(); ++f) {
    Scalar s;
    const int sz = sizes[f];
    const char t = types[f];
    if (t == 'F' && sz == 4)
      s = Scalar::F32;
    else if (t == 'F' && sz == 8)
      s = Scalar::F64;
    else if (t == 'F' && sz == 2)
      s = Scalar::F16;
    else if (t != 'F' && (sz == 1 || sz == 2 || sz == 4 || sz == 8))
      s = t == 'I' ? (sz == 1   ? Scalar::I8
                      : sz == 2 ? Scalar::I16
                      : sz == 4 ? Scalar::I32
                                : Scalar::I64)
                   : (sz == 1   ? Scalar::U8
                      : sz == 2 ? Scalar::U16
                      : sz == 4 ? Scalar::U32
                                : Scalar::U64);
    else
      fail(name, "field " + quoted(fields[f]) + ": unsupported TYPE " + std::string(1, t) +
                     " with SIZE " + std::to_string(sz));
    for (int k = 0; k < counts[f]; ++k) {
      cols.push_back(counts[f] == 1 ? fields[f] : fields[f] + "_" + std::to_string(k));
      colType.push_back(s);
      skip.push_back(fields[f] == "_");
      recordSize += static_cast<std::size_t>(sz);
    }
  }
  const std::string_view body = bytes.substr(std::min(pos, bytes.size()));
  ColumnSink sink;
  if (data == "ascii") {
    std::vector<double> row(cols.size());
    // Each point is one line; the count is checked as lines are read (no reserve on trust).
    sink.setup(name, cols, skip, std::min<std::uint64_t>(points, body.size() / 2 + 1),
               bytes.size());
    std::size_t p = 0;
    std::uint64_t read = 0;
    std::string_view l;
    while (read < points && nextLine(body, p, l)) {
      auto w = splitWords(l);
      if (w.empty()) continue;
      if (w.size() != cols.size())
        fail(name, "point " + std::to_string(read) + " has " + std::to_string(w.size()) +
                       " values, the header declares " + std::to_string(cols.size()));
      for (std::size_t c = 0; c < cols.size(); ++c)
        if (!parseDouble(w[c], row[c]))
          fail(name, "point " + std::to_string(read) + ": " + quoted(w[c]) + " is not a number");
      sink.push(row.data());
      ++read;
    }
    if (read < points)
      fail(name, "header says POINTS " + std::to_string(points) + " but the data has " +
                     std::to_string(read) + " lines (truncated?)");
    return sink.finish(name);
  }

  std::uint64_t need;
  if (!mulWithin(points, recordSize, std::numeric_limits<std::uint32_t>::max() * 16ull, need))
    fail(name, "header declares " + std::to_string(points) + " points of " +
                   std::to_string(recordSize) + " bytes: implausibly large");
  std::string decompressed;
  std::string_view payload;
  if (data == "binary") {
    if (body.size() < need)
      fail(name, "header says POINTS " + std::to_string(points) + " (" + std::to_string(need) +
                     " bytes) but only " + std::to_string(body.size()) +
                     " bytes of data follow (truncated?)");
    payload = body.substr(0, need);
  } else {
    if (body.size() < 8) fail(name, "binary_compressed data is missing its size header");
    std::uint32_t csize, usize;
    std::memcpy(&csize, body.data(), 4);
    std::memcpy(&usize, body.data() + 4, 4);
    if (usize != need)
      fail(name, "binary_compressed: uncompressed size " + std::to_string(usize) +
                     " disagrees with POINTS x record size = " + std::to_string(need));
    if (csize > body.size() - 8)
      fail(name, "binary_compressed: compressed size " + std::to_string(csize) + " but only " +
                     std::to_string(body.size() - 8) + " bytes follow (truncated?)");
    requireMemory(name, bytes.size() + static_cast<std::uint64_t>(usize));
    decompressed = lzfDecompress(body.substr(8, csize), usize, name);
    payload = decompressed;
  }
  sink.setup(name, cols, skip, points, bytes.size() + decompressed.size());
  // binary: one record per point (interleaved); binary_compressed: column after column.
  std::vector<std::size_t> colOffset(cols.size());
  std::size_t off = 0;
  for (std::size_t c = 0; c < cols.size(); ++c) {
    colOffset[c] = off;
    off += static_cast<std::size_t>(scalarSize(colType[c])) * (data == "binary" ? 1 : points);
  }
  const auto* base = reinterpret_cast<const unsigned char*>(payload.data());
  // Column by column straight into the (pre-sized) destination arrays.
  PointCloud& out = sink.cloud;
  const std::size_t n = static_cast<std::size_t>(points);
  out.xyz.resize(3 * n);
  for (auto& f : out.fields) f.resize(n);
  for (std::size_t c = 0; c < cols.size() && n > 0; ++c) {
    float* dst;
    std::size_t stride = 1;
    if (static_cast<int>(c) == sink.ix || static_cast<int>(c) == sink.iy ||
        static_cast<int>(c) == sink.iz) {
      dst = out.xyz.data() + (static_cast<int>(c) == sink.ix   ? 0
                              : static_cast<int>(c) == sink.iy ? 1
                                                               : 2);
      stride = 3;
    } else if (sink.fieldOf[c] >= 0) {
      dst = out.fields[static_cast<std::size_t>(sink.fieldOf[c])].data();
    } else {
      continue;  // padding or a repeated name
    }
    const std::size_t sz = static_cast<std::size_t>(scalarSize(colType[c]));
    const std::size_t step = data == "binary" ? recordSize : sz;
    const unsigned char* src = base + colOffset[c];
    if (colType[c] == Scalar::F32) {
      for (std::size_t i = 0; i < n; ++i, src += step) std::memcpy(dst + i * stride, src, 4);
    } else {
      for (std::size_t i = 0; i < n; ++i, src += step)
        dst[i * stride] = static_cast<float>(loadScalar(src, colType[c], false));
    }
  }
  return sink.finish(name);
}

// ---- PLY ----------------------------------------------------------------------------------

namespace {

bool plyScalar(std::string_view t, Scalar& s) {
  static const std::map<std::string_view, Scalar> kTypes = {
      {"char", Scalar::I8},    {"int8", Scalar::I8},     {"uchar", Scalar::U8},
      {"uint8", Scalar::U8},   {"short", Scalar::I16},   {"int16", Scalar::I16},
      {"ushort", Scalar::U16}, {"uint16", Scalar::U16},  {"int", Scalar::I32},
      {"int32", Scalar::I32},  {"uint", Scalar::U32},    {"uint32", Scalar::U32},
      {"float", Scalar::F32},  {"float32", Scalar::F32}, {"double", Scalar::F64},
      {"float64", Scalar::F64}};
  auto it = kTypes.find(t);
  if (it == kTypes.end()) return false;
  s = it->second;
  return true;
}

struct PlyProperty {
  std::string name;
  Scalar type = Scalar::F32;
  bool isList = false;
  Scalar countType = Scalar::U8;
};
struct PlyElement {
  std::string name;
  std::uint64_t count = 0;
  std::vector<PlyProperty> props;
};

}  // namespace

PointCloud parsePly(const std::string& name, std::string_view bytes) {
  std::size_t pos = 0;
  std::string_view line;
  if (!nextLine(bytes, pos, line) || line != "ply")
    fail(name, "not a PLY file (missing 'ply' magic on the first line)");
  enum { Ascii, LE, BE, None } format = None;
  std::vector<PlyElement> elements;
  int lineNo = 1;
  for (;;) {
    if (!nextLine(bytes, pos, line)) fail(name, "header ends before end_header");
    ++lineNo;
    auto w = splitWords(line);
    if (w.empty()) continue;
    auto where = [&] { return "header line " + std::to_string(lineNo) + ": "; };
    if (w[0] == "end_header") break;
    if (w[0] == "comment" || w[0] == "obj_info") continue;
    if (w[0] == "format") {
      if (w.size() != 3) fail(name, where() + "malformed format line");
      if (w[1] == "ascii")
        format = Ascii;
      else if (w[1] == "binary_little_endian")
        format = LE;
      else if (w[1] == "binary_big_endian")
        format = BE;
      else
        fail(name, where() + "unknown format " + quoted(w[1]));
    } else if (w[0] == "element") {
      PlyElement e;
      if (w.size() != 3 || !parseU64(w[2], e.count))
        fail(name, where() + "expected 'element NAME COUNT'");
      e.name = std::string(w[1]);
      elements.push_back(e);
    } else if (w[0] == "property") {
      if (elements.empty()) fail(name, where() + "property before any element");
      PlyProperty p;
      if (w.size() == 5 && w[1] == "list") {
        p.isList = true;
        if (!plyScalar(w[2], p.countType) || !plyScalar(w[3], p.type))
          fail(name, where() + "unknown list types " + quoted(w[2]) + " " + quoted(w[3]));
        if (p.countType == Scalar::F16 || p.countType == Scalar::F32 || p.countType == Scalar::F64)
          fail(name, where() + "list count type " + quoted(w[2]) + " is not an integer type");
        p.name = std::string(w[4]);
      } else if (w.size() == 3) {
        if (!plyScalar(w[1], p.type)) fail(name, where() + "unknown type " + quoted(w[1]));
        p.name = std::string(w[2]);
      } else {
        fail(name, where() + "malformed property line");
      }
      elements.back().props.push_back(p);
    } else {
      fail(name, where() + "unknown keyword " + quoted(w[0]));
    }
  }
  if (format == None) fail(name, "header has no format line");
  const PlyElement* vertex = nullptr;
  std::size_t vertexIndex = 0;
  for (std::size_t i = 0; i < elements.size(); ++i)
    if (elements[i].name == "vertex") {
      vertex = &elements[i];
      vertexIndex = i;
      break;
    }
  if (!vertex) fail(name, "no 'vertex' element");
  std::vector<std::string> cols;
  std::vector<bool> skip;
  for (const auto& p : vertex->props) {
    cols.push_back(p.name);
    skip.push_back(p.isList);  // list properties per vertex are read past, not kept
  }
  const std::string_view body = bytes.substr(std::min(pos, bytes.size()));
  ColumnSink sink;
  std::vector<double> row(cols.size());

  if (format == Ascii) {
    std::size_t p = 0;
    std::string_view l;
    // Skip the lines of elements stored before the vertices.
    for (std::size_t e = 0; e < vertexIndex; ++e)
      for (std::uint64_t k = 0; k < elements[e].count; ++k)
        if (!nextLine(body, p, l))
          fail(name, "data ends inside element " + quoted(elements[e].name));
    sink.setup(name, cols, skip, std::min<std::uint64_t>(vertex->count, body.size() / 2 + 1),
               bytes.size());
    for (std::uint64_t v = 0; v < vertex->count; ++v) {
      if (!nextLine(body, p, l))
        fail(name, "header says " + std::to_string(vertex->count) + " vertices but the data has " +
                       std::to_string(v) + " (truncated?)");
      auto w = splitWords(l);
      std::size_t t = 0;
      for (std::size_t c = 0; c < cols.size(); ++c) {
        if (vertex->props[c].isList) {
          std::uint64_t n;
          if (t >= w.size() || !parseU64(w[t], n) || n > w.size())
            fail(name, "vertex " + std::to_string(v) + ": bad list length");
          t += 1 + n;
          row[c] = 0;
          continue;
        }
        if (t >= w.size())
          fail(name, "vertex " + std::to_string(v) + " has too few values (" +
                         std::to_string(w.size()) + ")");
        if (!parseDouble(w[t], row[c]))
          fail(name, "vertex " + std::to_string(v) + ": " + quoted(w[t]) + " is not a number");
        ++t;
      }
      if (t != w.size())
        fail(name, "vertex " + std::to_string(v) + " has " + std::to_string(w.size()) +
                       " values, the header declares " + std::to_string(t));
      sink.push(row.data());
    }
    return sink.finish(name);
  }

  const bool swap = format == BE;
  const auto* base = reinterpret_cast<const unsigned char*>(body.data());
  std::size_t at = 0;
  auto need = [&](std::size_t n, const std::string& what) {
    if (n > body.size() - at)
      fail(name, "binary data ends inside " + what + " (truncated, or the header lies)");
  };
  auto skipElement = [&](const PlyElement& e) {
    if (e.props.empty()) return;  // nothing stored, whatever the count
    for (std::uint64_t k = 0; k < e.count; ++k)
      for (const auto& p : e.props) {
        if (!p.isList) {
          need(static_cast<std::size_t>(scalarSize(p.type)), "element " + quoted(e.name));
          at += static_cast<std::size_t>(scalarSize(p.type));
          continue;
        }
        need(static_cast<std::size_t>(scalarSize(p.countType)), "element " + quoted(e.name));
        const double n = loadScalar(base + at, p.countType, swap);
        at += static_cast<std::size_t>(scalarSize(p.countType));
        // Written so that a NaN (not possible with the integer count types the header allows,
        // but cheap to guard) fails too.
        if (!(n >= 0 && n <= 4294967295.0))
          fail(name, "bad list length in element " + quoted(e.name));
        std::uint64_t bytesNeeded;
        if (!mulWithin(static_cast<std::uint64_t>(n),
                       static_cast<std::uint64_t>(scalarSize(p.type)), body.size() - at,
                       bytesNeeded))
          fail(name, "binary data ends inside element " + quoted(e.name) + " (truncated?)");
        at += static_cast<std::size_t>(bytesNeeded);
      }
  };
  for (std::size_t e = 0; e < vertexIndex; ++e) skipElement(elements[e]);
  std::size_t minVertex = 0;
  for (const auto& p : vertex->props)
    minVertex += static_cast<std::size_t>(scalarSize(p.isList ? p.countType : p.type));
  std::uint64_t minBytes;
  if (!mulWithin(vertex->count, minVertex, body.size() - at, minBytes))
    fail(name, "header says " + std::to_string(vertex->count) + " vertices of at least " +
                   std::to_string(minVertex) + " bytes but only " +
                   std::to_string(body.size() - at) + " bytes of data follow (truncated?)");
  sink.setup(name, cols, skip, vertex->count, bytes.size());
  for (std::uint64_t v = 0; v < vertex->count; ++v) {
    for (std::size_t c = 0; c < cols.size(); ++c) {
      const auto& p = vertex->props[c];
      if (p.isList) {
        PlyElement one{vertex->name, 1, {p}};
        skipElement(one);
        row[c] = 0;
        continue;
      }
      need(static_cast<std::size_t>(scalarSize(p.type)), "vertex " + std::to_string(v));
      row[c] = loadScalar(base + at, p.type, swap);
      at += static_cast<std::size_t>(scalarSize(p.type));
    }
    sink.push(row.data());
  }
  return sink.finish(name);
}

// ---- LZF ----------------------------------------------------------------------------------

std::string lzfDecompress(std::string_view in, std::size_t expectedSize, const std::string& name) {
  std::string out;
  out.reserve(expectedSize);
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  while (i < in.size()) {
    const unsigned ctrl = p[i++];
    if (ctrl < 32) {  // literal run of ctrl + 1 bytes
      const std::size_t len = ctrl + 1u;
      if (len > in.size() - i) fail(name, "LZF data truncated inside a literal run");
      if (out.size() + len > expectedSize) fail(name, "LZF data expands past the declared size");
      out.append(in.data() + i, len);
      i += len;
    } else {  // back reference
      std::size_t len = ctrl >> 5;
      if (len == 7) {
        if (i >= in.size()) fail(name, "LZF data truncated inside a back reference");
        len += p[i++];
      }
      if (i >= in.size()) fail(name, "LZF data truncated inside a back reference");
      const std::size_t back = ((ctrl & 0x1fu) << 8) + p[i++] + 1;
      len += 2;
      if (back > out.size()) fail(name, "LZF back reference points before the start");
      if (out.size() + len > expectedSize) fail(name, "LZF data expands past the declared size");
      std::size_t from = out.size() - back;
      for (std::size_t k = 0; k < len; ++k) out.push_back(out[from + k]);
    }
  }
  if (out.size() != expectedSize)
    fail(name, "LZF data decompresses to " + std::to_string(out.size()) + " bytes, expected " +
                   std::to_string(expectedSize));
  return out;
}

std::string lzfCompress(std::string_view in) {
  // Greedy LZF with a 2^14-entry hash of 3-byte prefixes; output is valid for any decoder.
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  std::vector<std::int64_t> table(1 << 14, -1);
  std::string lit;
  auto flushLiterals = [&] {
    for (std::size_t k = 0; k < lit.size(); k += 32) {
      const std::size_t len = std::min<std::size_t>(32, lit.size() - k);
      out.push_back(static_cast<char>(len - 1));
      out.append(lit, k, len);
    }
    lit.clear();
  };
  std::size_t i = 0;
  while (i < n) {
    if (i + 2 < n) {
      const unsigned h = ((p[i] << 16 | p[i + 1] << 8 | p[i + 2]) * 2654435761u) >> 18 & 0x3fffu;
      const std::int64_t ref = table[h];
      table[h] = static_cast<std::int64_t>(i);
      if (ref >= 0 && i - static_cast<std::size_t>(ref) <= 8192 &&
          std::memcmp(p + ref, p + i, 3) == 0) {
        std::size_t len = 3;
        const std::size_t maxLen = std::min<std::size_t>(264, n - i);
        while (len < maxLen && p[static_cast<std::size_t>(ref) + len] == p[i + len]) ++len;
        flushLiterals();
        const std::size_t back = i - static_cast<std::size_t>(ref) - 1, l = len - 2;
        if (l < 7) {
          out.push_back(static_cast<char>((l << 5) | (back >> 8)));
        } else {
          out.push_back(static_cast<char>((7 << 5) | (back >> 8)));
          out.push_back(static_cast<char>(l - 7));
        }
        out.push_back(static_cast<char>(back & 0xff));
        i += len;
        continue;
      }
    }
    lit.push_back(in[i++]);
  }
  flushLiterals();
  return out;
}

// ---- .npy as a point cloud ----------------------------------------------------------------

PointCloud parseNpyCloud(const std::string& name, std::string_view bytes) {
  NpyArray a = parseNpy(name, bytes);
  if (a.shape.size() != 2 || a.shape[1] < 3)
    fail(name, "expected an (N, 3+) array of points, got shape of rank " +
                   std::to_string(a.shape.size()) +
                   (a.shape.size() == 2 ? " with " + std::to_string(a.shape[1]) + " columns" : ""));
  if (a.shape[1] > 1024)
    fail(name, "expected an (N, 3+) array of points, got " + std::to_string(a.shape[1]) +
                   " columns (at most 1024)");
  std::vector<std::string> cols{"x", "y", "z"};
  for (std::size_t c = 3; c < a.shape[1]; ++c) cols.push_back("f" + std::to_string(c));
  ColumnSink sink;
  sink.setup(name, cols, std::vector<bool>(cols.size(), false), a.shape[0],
             bytes.size() + static_cast<std::uint64_t>(a.data.size()) * sizeof(double));
  for (std::size_t i = 0; i < a.shape[0]; ++i) sink.push(&a.data[i * a.shape[1]]);
  return sink.finish(name);
}

}  // namespace pretext::core
