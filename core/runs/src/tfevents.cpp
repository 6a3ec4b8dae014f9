// TensorBoard event files; see tfevents.h. Protocol-buffer wire format used here:
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3;
//             Summary summary = 5; }
//   Summary { repeated Value value = 1; }
//   Value   { string tag = 1; float simple_value = 2; TensorProto tensor = 8; }
//   TensorProto { DataType dtype = 1; bytes tensor_content = 4; repeated float float_val = 5;
//                 repeated double double_val = 6; }   (DT_FLOAT = 1, DT_DOUBLE = 2)
#include "pretext/runs/tfevents.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace pretext::core {
namespace {
namespace fs = std::filesystem;

// ---- CRC32C --------------------------------------------------------------------------------
struct Crc32cTable {
  std::uint32_t t[256];
  Crc32cTable() {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
      t[i] = c;
    }
  }
};

// ---- protobuf encoding -------------------------------------------------------------------
void putVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void putKey(std::string& out, int field, int wireType) {
  putVarint(out, (static_cast<std::uint64_t>(field) << 3) | static_cast<unsigned>(wireType));
}
void putDouble(std::string& out, int field, double v) {
  putKey(out, field, 1);
  char b[8];
  std::memcpy(b, &v, 8);  // little-endian hosts (x86-64, arm64)
  out.append(b, 8);
}
void putFloat(std::string& out, int field, float v) {
  putKey(out, field, 5);
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}
void putBytes(std::string& out, int field, const std::string& bytes) {
  putKey(out, field, 2);
  putVarint(out, bytes.size());
  out += bytes;
}

// ---- protobuf decoding -------------------------------------------------------------------
struct Reader {
  const unsigned char* p;
  const unsigned char* end;
  bool done() const { return p >= end; }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) throw std::runtime_error("truncated varint");
      const unsigned char b = *p++;
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw std::runtime_error("varint too long");
  }
  template <class T>
  T fixed() {
    if (end - p < static_cast<std::ptrdiff_t>(sizeof(T))) throw std::runtime_error("truncated");
    T v;
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    return v;
  }
  Reader sub() {
    const std::uint64_t n = varint();
    if (static_cast<std::uint64_t>(end - p) < n) throw std::runtime_error("truncated field");
    Reader r{p, p + n};
    p += n;
    return r;
  }
  void skip(int wireType) {
    switch (wireType) {
      case 0:
        varint();
        break;
      case 1:
        fixed<std::uint64_t>();
        break;
      case 2:
        sub();
        break;
      case 5:
        fixed<std::uint32_t>();
        break;
      default:
        throw std::runtime_error("unsupported wire type " + std::to_string(wireType));
    }
  }
};

// A TensorProto holding one float or double: its value, or false.
bool tensorScalar(Reader r, double& out) {
  int dtype = 0;
  bool found = false;
  std::string content;
  while (!r.done()) {
    const std::uint64_t key = r.varint();
    const int field = static_cast<int>(key >> 3), wt = static_cast<int>(key & 7);
    if (field == 1 && wt == 0) {
      dtype = static_cast<int>(r.varint());
    } else if (field == 4 && wt == 2) {
      Reader b = r.sub();
      content.assign(reinterpret_cast<const char*>(b.p), static_cast<std::size_t>(b.end - b.p));
    } else if (field == 5 && (wt == 5 || wt == 2)) {
      Reader v = wt == 2 ? r.sub() : r;
      out = v.fixed<float>();
      if (wt != 2) r = v;
      found = true;
    } else if (field == 6 && (wt == 1 || wt == 2)) {
      Reader v = wt == 2 ? r.sub() : r;
      out = v.fixed<double>();
      if (wt != 2) r = v;
      found = true;
    } else {
      r.skip(wt);
    }
  }
  if (!found && dtype == 1 && content.size() >= 4) {
    float f;
    std::memcpy(&f, content.data(), 4);
    out = f;
    found = true;
  } else if (!found && dtype == 2 && content.size() >= 8) {
    std::memcpy(&out, content.data(), 8);
    found = true;
  }
  return found && (dtype == 0 || dtype == 1 || dtype == 2);
}

void parseEvent(Reader r, std::vector<ScalarEvent>& out) {
  double wall = 0;
  std::int64_t step = 0;
  std::vector<ScalarEvent> values;
  while (!r.done()) {
    const std::uint64_t key = r.varint();
    const int field = static_cast<int>(key >> 3), wt = static_cast<int>(key & 7);
    if (field == 1 && wt == 1) {
      wall = r.fixed<double>();
    } else if (field == 2 && wt == 0) {
      step = static_cast<std::int64_t>(r.varint());
    } else if (field == 5 && wt == 2) {
      Reader summary = r.sub();
      while (!summary.done()) {
        const std::uint64_t k = summary.varint();
        if ((k >> 3) != 1 || (k & 7) != 2) {
          summary.skip(static_cast<int>(k & 7));
          continue;
        }
        Reader value = summary.sub();
        ScalarEvent e;
        bool has = false;
        while (!value.done()) {
          const std::uint64_t vk = value.varint();
          const int vf = static_cast<int>(vk >> 3), vw = static_cast<int>(vk & 7);
          if (vf == 1 && vw == 2) {
            Reader s = value.sub();
            e.tag.assign(reinterpret_cast<const char*>(s.p), static_cast<std::size_t>(s.end - s.p));
          } else if (vf == 2 && vw == 5) {
            e.value = value.fixed<float>();
            has = true;
          } else if (vf == 8 && vw == 2) {
            has = tensorScalar(value.sub(), e.value) || has;
          } else {
            value.skip(vw);
          }
        }
        if (has && !e.tag.empty()) values.push_back(std::move(e));
      }
    } else {
      r.skip(wt);
    }
  }
  for (auto& v : values) {
    v.step = step;
    v.wallTime = wall;
    out.push_back(std::move(v));
  }
}
}  // namespace

std::uint32_t crc32c(const void* data, std::size_t n) {
  static const Crc32cTable table;
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) c = table.t[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

TfEventsWriter::~TfEventsWriter() {
  if (m_file) std::fclose(m_file);
}

bool TfEventsWriter::open(const std::string& dir, double wallTime, std::string& error) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    error = dir + ": cannot create: " + ec.message();
    return false;
  }
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  m_path =
      (fs::path(dir) / ("events.out.tfevents." + std::to_string(static_cast<long long>(wallTime)) +
                        "." + host + "." + std::to_string(getpid()) + ".pretext"))
          .string();
  m_file = std::fopen(m_path.c_str(), "wb");
  if (!m_file) {
    error = m_path + ": cannot create: " + std::strerror(errno);
    return false;
  }
  std::string event;
  putDouble(event, 1, wallTime);
  putBytes(event, 3, "brain.Event:2");
  return writeRecord(event, error) && flush(error);
}

bool TfEventsWriter::addScalar(const std::string& tag, std::int64_t step, double wallTime,
                               double value, std::string& error) {
  std::string v;
  putBytes(v, 1, tag);
  putFloat(v, 2, static_cast<float>(value));
  std::string summary;
  putBytes(summary, 1, v);
  std::string event;
  putDouble(event, 1, wallTime);
  putKey(event, 2, 0);
  putVarint(event, static_cast<std::uint64_t>(step));
  putBytes(event, 5, summary);
  return writeRecord(event, error);
}

bool TfEventsWriter::writeRecord(const std::string& payload, std::string& error) {
  if (!m_file) {
    error = "event file not open";
    return false;
  }
  const std::uint64_t len = payload.size();
  char header[12];
  std::memcpy(header, &len, 8);
  const std::uint32_t lenCrc = maskedCrc32c(header, 8);
  std::memcpy(header + 8, &lenCrc, 4);
  const std::uint32_t dataCrc = maskedCrc32c(payload.data(), payload.size());
  if (std::fwrite(header, 1, 12, m_file) != 12 ||
      std::fwrite(payload.data(), 1, payload.size(), m_file) != payload.size() ||
      std::fwrite(&dataCrc, 1, 4, m_file) != 4) {
    error = m_path + ": write failed: " + std::strerror(errno);
    return false;
  }
  return true;
}

bool TfEventsWriter::flush(std::string& error) {
  if (m_file && std::fflush(m_file) != 0) {
    error = m_path + ": flush failed: " + std::strerror(errno);
    return false;
  }
  return true;
}

std::vector<ScalarEvent> readTfEventsScalars(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<ScalarEvent> out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < 12) break;  // a record still being written
    std::uint64_t len;
    std::uint32_t lenCrc;
    std::memcpy(&len, data.data() + pos, 8);
    std::memcpy(&lenCrc, data.data() + pos + 8, 4);
    if (maskedCrc32c(data.data() + pos, 8) != lenCrc)
      throw std::runtime_error(path + ": corrupt record length at byte " + std::to_string(pos));
    if (data.size() - pos - 12 < len + 4) break;  // truncated tail
    const char* payload = data.data() + pos + 12;
    std::uint32_t dataCrc;
    std::memcpy(&dataCrc, payload + len, 4);
    if (maskedCrc32c(payload, len) != dataCrc)
      throw std::runtime_error(path + ": CRC mismatch in the record at byte " +
                               std::to_string(pos));
    try {
      const auto* p = reinterpret_cast<const unsigned char*>(payload);
      parseEvent(Reader{p, p + len}, out);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(path + ": malformed event at byte " + std::to_string(pos) + ": " +
                               e.what());
    }
    pos += 12 + len + 4;
  }
  return out;
}

std::vector<std::string> findTfEventFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (it->is_regular_file() &&
        it->path().filename().string().rfind("events.out.tfevents.", 0) == 0)
      out.push_back(it->path().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace pretext::core
