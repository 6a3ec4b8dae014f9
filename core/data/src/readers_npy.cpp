// NumPy .npy (versions 1-3, any numeric dtype, C order) and .npz (zip: stored or deflated
// members, zip64 records as written by np.savez) readers. Sizes from headers are checked
// against the bytes present and CRCs are verified, so a damaged archive is an error.
#include <zlib.h>

#include <fstream>
#include <limits>

#include "pretext/data/fs_util.h"
#include "pretext/data/readers.h"
#include "readers_detail.h"

namespace pretext::core {

using namespace io;

std::size_t NpyArray::cols() const {
  std::size_t c = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) c *= shape[i];
  return c;
}

namespace {

std::string_view dictValue(const std::string& name, std::string_view header, std::string_view key) {
  const std::string k = "'" + std::string(key) + "'";
  const std::size_t at = header.find(k);
  if (at == std::string_view::npos) fail(name, "npy header has no " + k + " entry");
  std::size_t p = header.find(':', at + k.size());
  if (p == std::string_view::npos) fail(name, "npy header: malformed " + k + " entry");
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  std::size_t e = p;
  if (p < header.size() && header[p] == '(') {
    e = header.find(')', p);
    if (e == std::string_view::npos) fail(name, "npy header: unterminated shape");
    return header.substr(p + 1, e - p - 1);
  }
  if (p < header.size() && header[p] == '\'') {
    e = header.find('\'', p + 1);
    if (e == std::string_view::npos) fail(name, "npy header: unterminated string");
    return header.substr(p + 1, e - p - 1);
  }
  while (e < header.size() && header[e] != ',' && header[e] != '}') ++e;
  return header.substr(p, e - p);
}

}  // namespace

namespace {

// What the header of an .npy says; only the header bytes need to be present.
struct NpyHeader {
  std::string dtype;
  std::vector<std::size_t> shape;
  Scalar scalar = Scalar::F32;
  bool swap = false;
  std::size_t dataStart = 0;  // offset of the first data byte
};

NpyHeader parseNpyHeader(const std::string& name, std::string_view bytes) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != "\x93NUMPY")
    fail(name, "not a .npy file (bad magic)");
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  const int major = u[6];
  std::size_t headerLen, start;
  if (major == 1) {
    headerLen = u[8] | (static_cast<std::size_t>(u[9]) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(name, "truncated .npy header");
    headerLen = u[8] | (static_cast<std::size_t>(u[9]) << 8) |
                (static_cast<std::size_t>(u[10]) << 16) | (static_cast<std::size_t>(u[11]) << 24);
    start = 12;
  } else {
    fail(name, "unsupported .npy version " + std::to_string(major));
  }
  if (headerLen > bytes.size() - start) fail(name, "truncated .npy header");
  const std::string_view header = bytes.substr(start, headerLen);
  NpyHeader h;
  h.dataStart = start + headerLen;
  h.dtype = std::string(dictValue(name, header, "descr"));
  if (dictValue(name, header, "fortran_order") != "False")
    fail(name, "Fortran-ordered arrays are not supported (save with np.ascontiguousarray)");
  const std::string shapeText(dictValue(name, header, "shape"));
  for (auto dim : splitWords(shapeText)) {
    while (!dim.empty() && dim.back() == ',') dim.remove_suffix(1);
    if (dim.empty()) continue;
    std::uint64_t v;
    if (!parseU64(dim, v)) fail(name, "npy header: bad shape entry " + quoted(dim));
    // An empty array may declare any other dimension; nothing real is this long.
    if (v > (std::uint64_t{1} << 32))
      fail(name, "npy header: shape entry " + std::string(dim) + " is implausibly large");
    h.shape.push_back(static_cast<std::size_t>(v));
  }
  const std::string& d = h.dtype;
  if (d.size() < 3) fail(name, "unsupported dtype " + quoted(d));
  const char order = d[0], kind = d[1];
  const std::string width = d.substr(2);
  if (kind == 'f' && width == "2")
    h.scalar = Scalar::F16;
  else if (kind == 'f' && width == "4")
    h.scalar = Scalar::F32;
  else if (kind == 'f' && width == "8")
    h.scalar = Scalar::F64;
  else if ((kind == 'i' || kind == 'u' || kind == 'b') &&
           (width == "1" || width == "2" || width == "4" || width == "8")) {
    const int w = width[0] - '0';
    const bool sgn = kind == 'i';
    h.scalar = w == 1   ? (sgn ? Scalar::I8 : Scalar::U8)
               : w == 2 ? (sgn ? Scalar::I16 : Scalar::U16)
               : w == 4 ? (sgn ? Scalar::I32 : Scalar::U32)
                        : (sgn ? Scalar::I64 : Scalar::U64);
  } else {
    fail(name, "unsupported dtype " + quoted(d) + " (numeric only)");
  }
  if (order != '<' && order != '>' && order != '|' && order != '=')
    fail(name, "unsupported byte order in dtype " + quoted(d));
  h.swap = order == '>';
  return h;
}

// The element count of `h`, checked against the `payload` bytes that follow the header.
std::uint64_t checkedCount(const std::string& name, const NpyHeader& h, std::uint64_t payload) {
  std::uint64_t count = 1;
  for (auto dim : h.shape)
    if (!mulWithin(count, dim, payload, count))
      fail(name, "shape needs more data than the " + std::to_string(payload) + " bytes present");
  const std::uint64_t sz = static_cast<std::uint64_t>(scalarSize(h.scalar));
  if (count * sz != payload)
    fail(name, "shape needs " + std::to_string(count * sz) + " bytes of " + h.dtype + " data but " +
                   std::to_string(payload) + " bytes follow the header");
  return count;
}

// `held`: what the caller holds besides `bytes` (an archive, arrays already parsed).
NpyArray parseNpyHeld(const std::string& name, std::string_view bytes, std::uint64_t held) {
  const NpyHeader h = parseNpyHeader(name, bytes);
  const std::uint64_t count = checkedCount(name, h, bytes.size() - h.dataStart);
  requireMemory(name, held + bytes.size() + count * sizeof(double));
  NpyArray a;
  a.dtype = h.dtype;
  a.shape = h.shape;
  a.data.resize(static_cast<std::size_t>(count));
  const auto* base = reinterpret_cast<const unsigned char*>(bytes.data()) + h.dataStart;
  const std::size_t sz = static_cast<std::size_t>(scalarSize(h.scalar));
  for (std::size_t i = 0; i < a.data.size(); ++i)
    a.data[i] = loadScalar(base + i * sz, h.scalar, h.swap);
  return a;
}

}  // namespace

NpyArray parseNpy(const std::string& name, std::string_view bytes) {
  return parseNpyHeld(name, bytes, 0);
}

namespace {

std::uint32_t le32(const unsigned char* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint16_t le16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint64_t le64(const unsigned char* p) {
  return le32(p) | (static_cast<std::uint64_t>(le32(p + 4)) << 32);
}

// The bytes of the array a deflated .npy member holds as double, from the .npy header in its
// first bytes (inflated on their own), checked against the member's declared size.
std::uint64_t npzMemberArrayBytes(const std::string& where, const unsigned char* data,
                                  std::uint64_t csize, std::uint64_t usize) {
  std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(usize, 1u << 20)), '\0');
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) fail(where, "zlib init failed");
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(std::min<std::uint64_t>(csize, std::numeric_limits<uInt>::max()));
  zs.next_out = reinterpret_cast<Bytef*>(head.data());
  zs.avail_out = static_cast<uInt>(head.size());
  const int rc = inflate(&zs, Z_SYNC_FLUSH);
  head.resize(static_cast<std::size_t>(zs.total_out));
  inflateEnd(&zs);
  if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) fail(where, "corrupt deflate data");
  const NpyHeader h = parseNpyHeader(where, head);
  if (h.dataStart > usize) fail(where, "truncated .npy header");
  return checkedCount(where, h, usize - h.dataStart) * sizeof(double);
}

}  // namespace

std::map<std::string, NpyArray> parseNpz(const std::string& name, std::string_view bytes) {
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  if (n < 22 || le32(u) != 0x04034b50u) fail(name, "not an .npz (zip) file (bad magic)");
  // End of central directory: the last 0x06054b50 within 64 KiB + 22 bytes of the end.
  std::size_t eocd = std::string_view::npos;
  for (std::size_t i = n - 22 + 1; i-- > 0 && n - i <= 65557;)
    if (le32(u + i) == 0x06054b50u) {
      eocd = i;
      break;
    }
  if (eocd == std::string_view::npos)
    fail(name, "zip end-of-directory record not found (truncated?)");
  std::uint64_t entries = le16(u + eocd + 10), cdSize = le32(u + eocd + 12),
                cdOffset = le32(u + eocd + 16);
  if ((entries == 0xffff || cdOffset == 0xffffffffu) && eocd >= 20 &&
      le32(u + eocd - 20) == 0x07064b50u) {
    const std::uint64_t z = le64(u + eocd - 20 + 8);
    if (n < 56 || z > n - 56 || le32(u + z) != 0x06064b50u)
      fail(name, "bad zip64 end-of-directory record");
    entries = le64(u + z + 32);
    cdSize = le64(u + z + 40);
    cdOffset = le64(u + z + 48);
  }
  if (cdOffset > n || cdSize > n - cdOffset) fail(name, "zip directory lies outside the file");
  std::map<std::string, NpyArray> out;
  std::uint64_t held = 0;  // bytes of the arrays parsed so far
  std::size_t p = static_cast<std::size_t>(cdOffset);
  const std::size_t cdEnd = p + static_cast<std::size_t>(cdSize);
  for (std::uint64_t e = 0; e < entries; ++e) {
    if (p + 46 > cdEnd || le32(u + p) != 0x02014b50u) fail(name, "corrupt zip directory entry");
    const std::uint16_t flags = le16(u + p + 8), method = le16(u + p + 10);
    const std::uint32_t crc = le32(u + p + 16);
    std::uint64_t csize = le32(u + p + 20), usize = le32(u + p + 24);
    const std::size_t nameLen = le16(u + p + 28), extraLen = le16(u + p + 30),
                      commentLen = le16(u + p + 32);
    std::uint64_t local = le32(u + p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > cdEnd) fail(name, "corrupt zip directory entry");
    const std::string member(bytes.substr(p + 46, nameLen));
    // Zip64 extra field: the 64-bit values for whichever of the three were saturated.
    for (std::size_t x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen;) {
      const std::uint16_t id = le16(u + x), len = le16(u + x + 2);
      if (x + 4 + len > p + 46 + nameLen + extraLen) break;
      if (id == 0x0001) {
        std::size_t q = x + 4;
        const std::size_t qEnd = q + len;
        if (usize == 0xffffffffu && q + 8 <= qEnd) usize = le64(u + q), q += 8;
        if (csize == 0xffffffffu && q + 8 <= qEnd) csize = le64(u + q), q += 8;
        if (local == 0xffffffffu && q + 8 <= qEnd) local = le64(u + q), q += 8;
      }
      x += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    const std::string where = name + "[" + member + "]";
    if (flags & 1u) fail(where, "encrypted zip members are not supported");
    if (n < 30 || local > n - 30 || le32(u + local) != 0x04034b50u)
      fail(where, "bad local zip header");
    const std::size_t dataAt =
        static_cast<std::size_t>(local) + 30 + le16(u + local + 26) + le16(u + local + 28);
    if (dataAt > n || csize > n - dataAt) fail(where, "member data runs past the end (truncated?)");
    if (usize > (std::uint64_t{1} << 34)) fail(where, "member larger than 16 GiB");
    std::string inflated;
    std::string_view raw;
    if (method == 0) {
      if (csize != usize) fail(where, "stored member with different sizes");
      raw = bytes.substr(dataAt, static_cast<std::size_t>(csize));  // no copy
    } else if (method == 8) {
      // Deflate expands at most ~1032:1; a larger declared size is a lie.
      if (usize > csize * 1032 + 1024) fail(where, "declared size is implausible for its data");
      // Before inflating: the member's .npy header (from its first bytes) says how large the
      // array is; the archive, this member inflated and every array as double must fit.
      const std::uint64_t arrayBytes = npzMemberArrayBytes(where, u + dataAt, csize, usize);
      requireMemory(where, n + held + usize + arrayBytes);
      inflated.resize(static_cast<std::size_t>(usize));
      z_stream zs{};
      if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) fail(where, "zlib init failed");
      zs.next_in = const_cast<Bytef*>(u + dataAt);
      zs.avail_in =
          static_cast<uInt>(std::min<std::uint64_t>(csize, std::numeric_limits<uInt>::max()));
      zs.next_out = reinterpret_cast<Bytef*>(inflated.data());
      zs.avail_out = static_cast<uInt>(inflated.size());
      const int rc = inflate(&zs, Z_FINISH);
      const std::uint64_t produced = zs.total_out;
      inflateEnd(&zs);
      if (rc != Z_STREAM_END || produced != usize) fail(where, "corrupt deflate data");
      raw = inflated;
    } else {
      fail(where, "unsupported zip compression method " + std::to_string(method));
    }
    if (crc32_z(0L, reinterpret_cast<const Bytef*>(raw.data()), raw.size()) != crc)
      fail(where, "CRC mismatch (corrupt archive)");
    std::string key = member;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    // Held besides this member: the archive (a stored member lies inside it) and the arrays
    // parsed so far.
    NpyArray a = parseNpyHeld(where, raw, method == 0 ? n - raw.size() + held : n + held);
    held += a.data.size() * sizeof(double);
    out[key] = std::move(a);
  }
  if (out.empty()) fail(name, "archive holds no arrays");
  return out;
}

std::string npyBytes(const std::string& name, const std::vector<float>& data,
                     const std::vector<std::size_t>& shape) {
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  if (n != data.size()) throw DataError(name + ": shape does not match the data size");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i)
    header += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "") +
              (i + 1 < shape.size() ? " " : "");
  header += "), }";
  // magic(6) + version(2) + length(2) + header + '\n' is padded to a multiple of 64.
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
  return out;
}

void writeNpy(const std::string& path, const std::vector<float>& data,
              const std::vector<std::size_t>& shape) {
  const std::string bytes = npyBytes(path, data, shape);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw DataError(path + ": cannot create");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) throw DataError(path + ": write failed");
}

NpyArray readNpy(const std::string& path) { return parseNpy(path, readFileBytes(path)); }

void writeNpz(const std::string& path, const std::vector<NpyFloat32>& arrays) {
  auto u16 = [](std::string& s, std::uint32_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>((v >> 8) & 0xff);
  };
  auto u32 = [&](std::string& s, std::uint32_t v) {
    u16(s, v & 0xffff);
    u16(s, v >> 16);
  };
  std::string out, central;
  for (const auto& a : arrays) {
    const std::string name = a.key + ".npy",
                      body = npyBytes(path + "[" + name + "]", a.data, a.shape);
    if (out.size() + body.size() > 0xffff0000ull)
      throw DataError(path + ": .npz larger than 4 GiB");
    const auto crc = static_cast<std::uint32_t>(
        crc32_z(0L, reinterpret_cast<const Bytef*>(body.data()), body.size()));
    const auto offset = static_cast<std::uint32_t>(out.size());
    const auto size = static_cast<std::uint32_t>(body.size());
    // Local header: stored (method 0), no data descriptor.
    u32(out, 0x04034b50u);
    u16(out, 20);
    u16(out, 0);
    u16(out, 0);
    u16(out, 0);
    u16(out, 0x21);
    u32(out, crc);
    u32(out, size);
    u32(out, size);
    u16(out, static_cast<std::uint32_t>(name.size()));
    u16(out, 0);
    out += name;
    out += body;
    u32(central, 0x02014b50u);
    u16(central, 20);
    u16(central, 20);
    u16(central, 0);
    u16(central, 0);
    u16(central, 0);
    u16(central, 0x21);
    u32(central, crc);
    u32(central, size);
    u32(central, size);
    u16(central, static_cast<std::uint32_t>(name.size()));
    u16(central, 0);
    u16(central, 0);
    u16(central, 0);
    u16(central, 0);
    u32(central, 0);
    u32(central, offset);
    central += name;
  }
  const auto cdOffset = static_cast<std::uint32_t>(out.size());
  out += central;
  u32(out, 0x06054b50u);
  u16(out, 0);
  u16(out, 0);
  u16(out, static_cast<std::uint32_t>(arrays.size()));
  u16(out, static_cast<std::uint32_t>(arrays.size()));
  u32(out, static_cast<std::uint32_t>(central.size()));
  u32(out, cdOffset);
  u16(out, 0);
  std::string err;
  if (!writeFileAtomic(path, out, err)) throw DataError(err);
}

}  // namespace pretext::core
