#pragma once
// TensorBoard event files: the TFRecord framing (length, masked CRC32C of the length, the
// record, masked CRC32C of the record) around `Event` protocol-buffer messages. Writes
// scalar summaries; reads scalars written as `simple_value` (TF1, tensorboardX, PyTorch's
// SummaryWriter) or as float/double tensors (TF2). Plain C++, no protobuf library: the
// handful of fields involved are encoded and decoded directly. Any thread.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace pretext::core {

// CRC32C (Castagnoli) and TFRecord's masking of it.
std::uint32_t crc32c(const void* data, std::size_t n);
inline std::uint32_t maskedCrc32c(const void* data, std::size_t n) {
  const std::uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

struct ScalarEvent {
  std::string tag;
  std::int64_t step = 0;
  double wallTime = 0;
  double value = 0;
};

class TfEventsWriter {
 public:
  TfEventsWriter() = default;
  ~TfEventsWriter();
  TfEventsWriter(const TfEventsWriter&) = delete;
  TfEventsWriter& operator=(const TfEventsWriter&) = delete;
  // Creates `dir` and events.out.tfevents.<unix time>.<host>.<pid>.pretext in it, and writes
  // the file_version record TensorBoard expects first. False with `error` on failure.
  bool open(const std::string& dir, double wallTime, std::string& error);
  bool isOpen() const { return m_file != nullptr; }
  const std::string& path() const { return m_path; }
  bool addScalar(const std::string& tag, std::int64_t step, double wallTime, double value,
                 std::string& error);
  bool flush(std::string& error);

 private:
  bool writeRecord(const std::string& payload, std::string& error);
  std::FILE* m_file = nullptr;
  std::string m_path;
};

// Every scalar of one event file, in file order. Throws std::runtime_error naming the file
// and the byte offset on a truncated record or a CRC mismatch; a record cut off at the very
// end (a writer still running) is ignored.
std::vector<ScalarEvent> readTfEventsScalars(const std::string& path);
// The event files (events.out.tfevents.*) in `dir` and its subfolders, sorted.
std::vector<std::string> findTfEventFiles(const std::string& dir);

}  // namespace pretext::core
