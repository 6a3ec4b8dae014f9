#include "pretext/runs/run_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "pretext/data/fs_util.h"
#include "pretext/data/readers.h"
#include "pretext/runs/tfevents.h"
#include "pretext/runs/versions.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pretext::core {

namespace {
// The data layer reports by DataError; the run directory reports by bool + message, so a
// full disk during a snapshot fails the snapshot rather than unwinding through a step.
bool writeNpyFloat32(const std::string& path, const std::vector<float>& data,
                     const std::vector<std::size_t>& shape, std::string& error) {
  try {
    writeNpy(path, data, shape);
    return true;
  } catch (const DataError& e) {
    error = e.what();
    return false;
  }
}

bool readNpyFloat32(const std::string& path, std::vector<float>& data,
                    std::vector<std::size_t>& shape, std::string& error) {
  try {
    const NpyArray a = readNpy(path);
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
}  // namespace

std::string checkpointDirName(std::int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step_%09lld", static_cast<long long>(step));
  return buf;
}

namespace {

std::string slugify(const std::string& name) {
  std::string s;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!s.empty() && s.back() != '-')
      s += '-';
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  if (s.size() > 40) s.resize(40);
  return s.empty() ? "run" : s;
}

// Cuts everything after the last newline: the torn tail of a crashed writer.
bool cutTornTail(const std::string& path, std::string& error) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return true;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::streamoff size = in.tellg();
  if (size <= 0) return true;
  std::streamoff pos = size;
  const std::streamoff chunk = 4096;
  while (pos > 0) {
    std::streamoff start = std::max<std::streamoff>(0, pos - chunk);
    std::string buf(static_cast<std::size_t>(pos - start), '\0');
    in.seekg(start);
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto nl = buf.rfind('\n');
    if (nl != std::string::npos) {
      pos = start + static_cast<std::streamoff>(nl) + 1;
      break;
    }
    pos = start;
  }
  if (pos == size) return true;
  if (::truncate(path.c_str(), pos) != 0) {
    error = path + ": cannot cut torn last line: " + std::strerror(errno);
    return false;
  }
  return true;
}

std::string isoTime(double t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json statusToJson(const RunStatus& s) {
  return json{{"format_version", kRunFormatVersion},
              {"phase", toString(s.phase)},
              {"step", s.step},
              {"max_steps", s.maxSteps},
              {"segment", s.segment},
              {"updated_at", s.updatedAt},
              {"updated_at_iso", isoTime(s.updatedAt)},
              {"steps_per_sec", s.stepsPerSec},
              {"eta_sec", s.etaSec},
              {"error", s.error},
              {"pid", s.pid},
              {"host", s.host}};
}

}  // namespace

RunDirWriter::~RunDirWriter() {
  if (m_metricsFd >= 0) ::close(m_metricsFd);
  if (m_eventsFd >= 0) ::close(m_eventsFd);
  if (m_lockFd >= 0) ::close(m_lockFd);  // releases the lock
}

bool RunDirWriter::lock(std::string& error) {
  struct stat st {};
  if (::stat(m_dir.c_str(), &st) == 0) {
    m_dirDev = static_cast<std::uint64_t>(st.st_dev);
    m_dirIno = static_cast<std::uint64_t>(st.st_ino);
  }
  m_lockFd = ::open((m_dir + "/.lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (m_lockFd < 0) {
    error = m_dir + ": cannot create .lock: " + std::strerror(errno);
    return false;
  }
  if (::flock(m_lockFd, LOCK_EX | LOCK_NB) != 0) {
    error = m_dir +
            ": another process is writing this run (pretext-train or a Pretext window); "
            "stop it first";
    ::close(m_lockFd);
    m_lockFd = -1;
    return false;
  }
  return true;
}

bool RunDirWriter::openAppendFiles(std::string& error) {
  m_metricsFd = ::open((m_dir + "/metrics.csv").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  m_eventsFd = ::open((m_dir + "/events.jsonl").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (m_metricsFd < 0 || m_eventsFd < 0) {
    error = m_dir + ": cannot open metrics.csv/events.jsonl for appending: " + std::strerror(errno);
    return false;
  }
  // The TensorBoard mirror: one event file per segment (process) under tensorboard/.
  m_tensorboard = std::make_unique<TfEventsWriter>();
  return m_tensorboard->open(m_dir + "/tensorboard", unixNow(), error);
}

std::unique_ptr<RunDirWriter> RunDirWriter::create(const std::string& runsRoot,
                                                   const Config& config, std::string& error) {
  std::error_code ec;
  fs::create_directories(runsRoot, ec);
  if (ec) {
    error = runsRoot + ": cannot create runs folder: " + ec.message();
    return nullptr;
  }
  const double now = unixNow();
  std::time_t tt = static_cast<std::time_t>(now);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::random_device rd;
  char hex[8];
  std::snprintf(hex, sizeof hex, "%04x", rd() & 0xffffu);
  const std::string id =
      std::string(stamp) + "-" + slugify(config.getString("experiment.name")) + "-" + hex;
  const fs::path finalDir = fs::path(runsRoot) / id;
  const fs::path tmpDir = fs::path(runsRoot) / (".creating-" + id);
  auto fail = [&](const std::string& msg) -> std::unique_ptr<RunDirWriter> {
    error = msg;
    fs::remove_all(tmpDir, ec);
    return nullptr;
  };
  if (fs::exists(finalDir, ec)) return fail(finalDir.string() + ": already exists");
  if (!fs::create_directory(tmpDir, ec))
    return fail(tmpDir.string() + ": cannot create: " + ec.message());
  fs::create_directory(tmpDir / "checkpoints", ec);
  fs::create_directory(tmpDir / "snapshots", ec);

  json run{{"format_version", kRunFormatVersion},
           {"id", id},
           {"name", config.getString("experiment.name")},
           {"kind", config.getString("experiment.kind")},
           {"created_at", now},
           {"created_at_iso", isoTime(now)},
           {"host", hostName()},
           {"world_size", 1},
           {"versions", componentVersions()}};
  RunStatus st;
  st.phase = RunPhase::Created;
  st.maxSteps = config.getInt("trainer.max_steps");
  st.updatedAt = now;
  st.pid = ::getpid();
  st.host = hostName();
  std::string err;
  if (!writeFileAtomic((tmpDir / "run.json").string(), run.dump(2) + "\n", err) ||
      !writeFileAtomic((tmpDir / "config.yaml").string(), config.toYaml(), err) ||
      !writeFileAtomic((tmpDir / "status.json").string(), statusToJson(st).dump(2) + "\n", err) ||
      !writeFileAtomic((tmpDir / "metrics.csv").string(), "segment,step,wall_s,key,value\n", err) ||
      !writeFileAtomic((tmpDir / "events.jsonl").string(), "", err))
    return fail(err);
  fs::rename(tmpDir, finalDir, ec);
  if (ec) return fail(finalDir.string() + ": cannot move run into place: " + ec.message());
  fsyncPath(runsRoot);

  std::unique_ptr<RunDirWriter> w(new RunDirWriter());
  w->m_dir = finalDir.string();
  w->m_segment = 1;
  if (!w->lock(error) || !w->openAppendFiles(error)) return nullptr;
  return w;
}

bool RunDirWriter::stillInPlace(std::string& error) const {
  struct stat st {};
  if (::stat(m_dir.c_str(), &st) != 0) {
    error = m_dir + ": the run's folder is gone (" + std::strerror(errno) +
            "); it was deleted or moved while the run trained";
    return false;
  }
  if (static_cast<std::uint64_t>(st.st_dev) != m_dirDev ||
      static_cast<std::uint64_t>(st.st_ino) != m_dirIno) {
    error = m_dir + ": the run's folder was replaced while the run trained";
    return false;
  }
  return true;
}

std::unique_ptr<RunDirWriter> RunDirWriter::openForResume(const std::string& runDir,
                                                          std::string& error) {
  if (!isRunDir(runDir)) {
    error = runDir + ": not a Pretext run directory (no run.json/config.yaml/status.json)";
    return nullptr;
  }
  std::unique_ptr<RunDirWriter> w(new RunDirWriter());
  w->m_dir = runDir;
  if (!w->lock(error)) return nullptr;  // before touching any file
  std::string err;
  auto status = readStatus(runDir, err);
  if (!status) {
    error = err;
    return nullptr;
  }
  // The new segment number is one more than any segment seen in metrics or status (a torn
  // last line is not read).
  int segment = status->segment;
  MetricsAccumulator acc = readMetrics(runDir);
  for (const auto& [key, pts] : acc.series())
    for (const auto& p : pts) segment = std::max(segment, p.segment);
  w->m_segment = segment + 1;
  return w;
}

std::unique_ptr<RunDirWriter> RunDirWriter::openForResume(const std::string& runDir,
                                                          std::int64_t resumeStep,
                                                          std::string& error) {
  auto w = openForResume(runDir, error);
  if (!w || !w->beginSegment(resumeStep, error)) return nullptr;
  return w;
}

bool RunDirWriter::beginSegment(std::int64_t resumeStep, std::string& error) {
  if (!cutTornTail(m_dir + "/metrics.csv", error) || !cutTornTail(m_dir + "/events.jsonl", error) ||
      !openAppendFiles(error))
    return false;
  MetricRow marker{m_segment, resumeStep, 0.0, kResumeMarkerKey, static_cast<double>(resumeStep)};
  return appendMetrics({marker}, error);
}

bool RunDirWriter::writeStatus(const RunStatus& status, std::string& error) {
  const std::string path = m_dir + "/status.json", text = statusToJson(status).dump(2) + "\n";
  if (writeFileAtomic(path, text, error)) return true;
  // A full disk has no room for the temporary copy; the old file's own blocks still hold
  // the new status (a reader may then see a short file, which it reports, not a wrong one).
  const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return false;
  std::string ignored;
  const bool ok = writeAll(fd, text, path, ignored) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || !isTerminal(status.phase)) return false;  // a heartbeat on a full disk fails the run
  error.clear();
  return true;
}

void roundAsLogged(std::vector<MetricRow>& rows) {
  char buf[64];
  for (auto& r : rows) {
    std::snprintf(buf, sizeof buf, "%.3f", r.wallS);
    r.wallS = std::strtod(buf, nullptr);
    std::snprintf(buf, sizeof buf, "%.9g", r.value);
    r.value = std::strtod(buf, nullptr);
  }
}

bool RunDirWriter::appendMetrics(const std::vector<MetricRow>& rows, std::string& error) {
  std::string text;
  char buf[96];
  for (const auto& r : rows) {
    std::snprintf(buf, sizeof buf, "%d,%lld,%.3f,", r.segment, static_cast<long long>(r.step),
                  r.wallS);
    text += buf;
    text += r.key;
    std::snprintf(buf, sizeof buf, ",%.9g\n", r.value);
    text += buf;
  }
  // One write() call per batch keeps rows whole even if the process dies mid-way.
  if (!writeAll(m_metricsFd, text, m_dir + "/metrics.csv", error)) return false;
  if (!m_tensorboard) return true;
  const double now = unixNow();
  for (const auto& r : rows)
    if (r.key != kResumeMarkerKey && !m_tensorboard->addScalar(r.key, r.step, now, r.value, error))
      return false;
  return m_tensorboard->flush(error);
}

bool RunDirWriter::appendEvent(const std::string& type, const std::string& fieldsJson,
                               std::string& error) {
  std::string line = "{\"time\":" + std::to_string(unixNow()) +
                     ",\"segment\":" + std::to_string(m_segment) + ",\"type\":" + json(type).dump();
  if (!fieldsJson.empty()) line += "," + fieldsJson;
  line += "}\n";
  return writeAll(m_eventsFd, line, m_dir + "/events.jsonl", error);
}

std::string RunDirWriter::beginCheckpoint(std::int64_t step, std::string& error) {
  fs::path tmp = fs::path(m_dir) / "checkpoints" / (".tmp-" + checkpointDirName(step));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec)) {
    error = tmp.string() + ": cannot create: " + ec.message();
    return {};
  }
  return tmp.string();
}

bool RunDirWriter::commitCheckpoint(std::int64_t step, int keep, std::string& error) {
  const fs::path root = fs::path(m_dir) / "checkpoints";
  const fs::path tmp = root / (".tmp-" + checkpointDirName(step));
  const fs::path dst = root / checkpointDirName(step);
  std::error_code ec;
  // The manifest: every file's size and CRC-32, so a resume can tell a damaged checkpoint.
  json files = json::array();
  for (const auto& e : fs::directory_iterator(tmp, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name == "manifest.json") continue;
    std::uint32_t crc = 0;
    std::uint64_t size = 0;
    if (!fileCrc32(e.path().string(), crc, size, error)) return false;
    files.push_back({{"name", name}, {"size", size}, {"crc32", crc}});
  }
  if (ec) {
    error = tmp.string() + ": cannot list: " + ec.message();
    return false;
  }
  json manifest{{"format_version", kRunFormatVersion}, {"step", step}, {"files", files}};
  if (!writeFileAtomic((tmp / "manifest.json").string(), manifest.dump(1) + "\n", error))
    return false;
  for (const auto& e : fs::directory_iterator(tmp, ec)) fsyncPath(e.path().string());
  fsyncPath(tmp.string());
  fs::remove_all(dst, ec);  // a stale copy of the same step from an abandoned segment
  fs::rename(tmp, dst, ec);
  if (ec) {
    error = dst.string() + ": cannot commit checkpoint: " + ec.message();
    return false;
  }
  fsyncPath(root.string());
  json latest{{"step", step}, {"dir", checkpointDirName(step)}, {"segment", m_segment}};
  if (!writeFileAtomic((root / "latest.json").string(), latest.dump() + "\n", error)) return false;
  // Prune older checkpoints beyond `keep`, never the one just written.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory() && e.path().filename().string().rfind("step_", 0) == 0)
      names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  for (std::size_t i = 0; i + static_cast<std::size_t>(keep) < names.size(); ++i)
    if (names[i] != checkpointDirName(step)) fs::remove_all(root / names[i], ec);
  return true;
}

void RunDirWriter::abandonCheckpoint(std::int64_t step) {
  std::error_code ec;
  fs::remove_all(fs::path(m_dir) / "checkpoints" / (".tmp-" + checkpointDirName(step)), ec);
}

template <class Fill>
bool RunDirWriter::commitSnapshot(std::int64_t step, Fill&& fill, std::string& error) {
  const fs::path root = fs::path(m_dir) / "snapshots";
  const std::string name = checkpointDirName(step);
  const fs::path tmp = root / (".tmp-" + name);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) {
    error = tmp.string() + ": cannot create: " + ec.message();
    return false;
  }
  if (!fill(tmp.string())) {
    fs::remove_all(tmp, ec);  // frees what a full disk let through
    return false;
  }
  fs::remove_all(root / name, ec);
  fs::rename(tmp, root / name, ec);
  if (ec) {
    error = (root / name).string() + ": cannot commit snapshot: " + ec.message();
    return false;
  }
  return appendEvent("snapshot",
                     "\"step\":" + std::to_string(step) + ",\"dir\":\"snapshots/" + name + "\"",
                     error);
}

bool RunDirWriter::writeSnapshot(const PointSnapshot& snap, std::string& error) {
  return commitSnapshot(
      snap.step,
      [&](const std::string& dir) {
        if (!writeNpyFloat32(dir + "/points.npy", snap.xyz, {snap.size(), 3}, error)) return false;
        json meta{{"step", snap.step},
                  {"kind", "points"},
                  {"points", snap.size()},
                  {"fields", json::array()}};
        for (const auto& [field, values] : snap.fields) {
          if (!writeNpyFloat32(dir + "/" + field + ".npy", values, {values.size()}, error))
            return false;
          meta["fields"].push_back(field);
        }
        if (const auto& f = snap.flow) {
          const std::size_t n = f->size(), m = f->second.size() / 3;
          if (!writeNpyFloat32(dir + "/flow_first.npy", f->first, {n, 3}, error) ||
              !writeNpyFloat32(dir + "/flow_second.npy", f->second, {m, 3}, error) ||
              !writeNpyFloat32(dir + "/flow_truth.npy", f->truth, {n, 3}, error) ||
              (!f->predicted.empty() &&
               !writeNpyFloat32(dir + "/flow_pred.npy", f->predicted, {n, 3}, error)))
            return false;
          meta["flow"] = {{"first", n},
                          {"second", m},
                          {"kind", f->kind},
                          {"source", f->source},
                          {"predicted", !f->predicted.empty()}};
        }
        return writeFileAtomic(dir + "/meta.json", meta.dump(2) + "\n", error);
      },
      error);
}

bool RunDirWriter::writeAttentionSnapshot(const AttentionSnapshot& s, std::string& error) {
  return commitSnapshot(
      s.step,
      [&](const std::string& dir) {
        const auto L = static_cast<std::size_t>(s.layers), H = static_cast<std::size_t>(s.heads);
        if (!writeNpyFloat32(
                dir + "/attention.npy", s.maps,
                {L, H, static_cast<std::size_t>(s.queries), static_cast<std::size_t>(s.keys)},
                error) ||
            !writeNpyFloat32(dir + "/alpha1.npy", s.alpha1, {L, H}, error) ||
            !writeNpyFloat32(dir + "/hidden_norm.npy", s.hiddenNorm, {s.hiddenNorm.size()}, error))
          return false;
        json meta{{"step", s.step},
                  {"kind", "attention"},
                  {"layers", s.layers},
                  {"heads", s.heads},
                  {"queries", s.queries},
                  {"keys", s.keys},
                  {"has_sink_slot", s.hasSinkSlot},
                  {"tokens", s.tokens}};
        return writeFileAtomic(dir + "/meta.json", meta.dump(2) + "\n", error);
      },
      error);
}

// ---- readers -------------------------------------------------------------------------

bool isRunDir(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / "run.json", ec) &&
         fs::is_regular_file(fs::path(dir) / "config.yaml", ec) &&
         fs::is_regular_file(fs::path(dir) / "status.json", ec);
}

bool isDiskFull(const std::string& error) {
  return error.find(std::strerror(ENOSPC)) != std::string::npos ||
         error.find(std::strerror(EDQUOT)) != std::string::npos;
}

bool fileCrc32(const std::string& path, std::uint32_t& crc, std::uint64_t& size,
               std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    error = path + ": cannot read: " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    error = path + ": not a regular file";
    return false;
  }
  uLong c = crc32(0L, Z_NULL, 0);
  size = 0;
  std::vector<unsigned char> buf(1 << 16);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = path + ": cannot read: " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    c = crc32(c, buf.data(), static_cast<uInt>(n));
    size += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  crc = static_cast<std::uint32_t>(c);
  return true;
}

namespace {

// step_N folder names, N of exactly nine digits; nullopt for anything else.
std::optional<std::int64_t> stepOfCheckpointName(const std::string& name) {
  if (name.size() != 14 || name.rfind("step_", 0) != 0) return std::nullopt;
  std::int64_t step = 0;
  for (std::size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

bool isRealDirectory(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string verifyCheckpoint(const std::string& dir, std::int64_t step) {
  if (!isRealDirectory(dir)) return dir + ": not a checkpoint folder (missing, or a link)";
  std::string text, err;
  if (!readFile(dir + "/state.json", text, err)) return err;
  const json state = json::parse(text, nullptr, false);
  if (state.is_discarded() || !state.is_object()) return dir + "/state.json: not valid JSON";
  const json stateStep = state.value("step", json());
  if (!stateStep.is_number_integer() || stateStep.get<std::int64_t>() != step)
    return dir + "/state.json: step " + stateStep.dump() + " where the checkpoint is step " +
           std::to_string(step);
  if (!state.value("manifest", false)) return {};  // written before manifests existed
  if (!readFile(dir + "/manifest.json", text, err)) return err;
  const json manifest = json::parse(text, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() || !manifest.contains("files") ||
      !manifest["files"].is_array())
    return dir + "/manifest.json: not a valid manifest";
  if (manifest.value("step", json()) != json(step))
    return dir + "/manifest.json: names step " + manifest.value("step", json()).dump() + ", not " +
           std::to_string(step);
  bool sawModel = false;
  for (const auto& f : manifest["files"]) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("size") ||
        !f["size"].is_number_unsigned() || !f.contains("crc32") || !f["crc32"].is_number_unsigned())
      return dir + "/manifest.json: malformed file entry " + f.dump();
    const std::string name = f["name"].get<std::string>();
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
      return dir + "/manifest.json: file name '" + name + "' is not a plain name";
    std::uint32_t crc = 0;
    std::uint64_t size = 0;
    const std::string path = dir + "/" + name;
    if (!fileCrc32(path, crc, size, err)) return err;
    if (size != f["size"].get<std::uint64_t>())
      return path + ": " + std::to_string(size) + " bytes where the manifest says " +
             std::to_string(f["size"].get<std::uint64_t>()) + " (truncated or overwritten)";
    if (crc != f["crc32"].get<std::uint32_t>()) {
      char buf[96];
      std::snprintf(buf, sizeof buf, ": checksum mismatch (CRC-32 %08x, manifest %08x)", crc,
                    f["crc32"].get<std::uint32_t>());
      return path + buf + ": the file is damaged";
    }
    sawModel = sawModel || name == "model.pt";
  }
  if (!sawModel) return dir + "/manifest.json: lists no model.pt";
  return {};
}

CheckpointChoice findCheckpoint(const std::string& runDir) {
  CheckpointChoice out;
  const std::string root = runDir + "/checkpoints";
  const std::string latestPath = root + "/latest.json";
  std::string failedName;  // the folder latest.json named, when it failed
  std::string text, err;
  std::error_code ec;
  const bool hasLatest = fs::exists(latestPath, ec);
  if (!hasLatest) {
    out.warnings.push_back(latestPath + " is missing");
  } else if (!readFile(latestPath, text, err)) {
    out.warnings.push_back(err);
  } else {
    const json j = json::parse(text, nullptr, false);
    const json name = j.is_object() ? j.value("dir", json()) : json();
    const json step = j.is_object() ? j.value("step", json()) : json();
    if (!name.is_string() || !step.is_number_integer()) {
      out.warnings.push_back(latestPath +
                             ": not valid (expected {\"step\": N, \"dir\": \"step_N\"})");
    } else if (stepOfCheckpointName(name.get<std::string>()) != step.get<std::int64_t>()) {
      out.warnings.push_back(latestPath + ": \"" + name.get<std::string>() +
                             "\" is not the checkpoint folder of step " + step.dump() +
                             " inside checkpoints/");
    } else {
      failedName = name.get<std::string>();
      const std::string problem =
          verifyCheckpoint(root + "/" + failedName, step.get<std::int64_t>());
      if (problem.empty()) {
        out.step = step.get<std::int64_t>();
        out.dir = root + "/" + failedName;
        return out;
      }
      out.warnings.push_back(problem);
    }
  }
  // Fall back to the newest intact step_N folder.
  std::vector<std::pair<std::int64_t, std::string>> candidates;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    const auto step = stepOfCheckpointName(name);
    if (step && name != failedName && isRealDirectory(e.path().string()))
      candidates.emplace_back(*step, name);
  }
  std::sort(candidates.rbegin(), candidates.rend());
  for (const auto& [step, name] : candidates) {
    const std::string problem = verifyCheckpoint(root + "/" + name, step);
    if (problem.empty()) {
      out.step = step;
      out.dir = root + "/" + name;
      return out;
    }
    out.warnings.push_back(problem);
  }
  if (hasLatest || !failedName.empty() || !candidates.empty()) {
    out.error = runDir + ": no intact checkpoint to resume from:";
    for (const auto& w : out.warnings) out.error += "\n  " + w;
  }
  out.warnings.clear();
  return out;
}

std::optional<std::int64_t> latestCheckpoint(const std::string& runDir, std::string* dir) {
  const CheckpointChoice c = findCheckpoint(runDir);
  if (c.step && dir) *dir = c.dir;
  return c.step;
}

std::optional<RunStatus> readStatus(const std::string& runDir, std::string& error) {
  std::string text;
  if (!readFile(runDir + "/status.json", text, error)) return std::nullopt;
  try {
    json j = json::parse(text);
    RunStatus s;
    auto phase = phaseFromString(j.at("phase").get<std::string>());
    if (!phase) throw std::runtime_error("unknown phase");
    s.phase = *phase;
    s.step = j.value("step", std::int64_t(0));
    s.maxSteps = j.value("max_steps", std::int64_t(0));
    s.segment = j.value("segment", 1);
    s.updatedAt = j.value("updated_at", 0.0);
    s.stepsPerSec = j.value("steps_per_sec", 0.0);
    s.etaSec = j.value("eta_sec", -1.0);
    s.error = j.value("error", std::string());
    s.pid = j.value("pid", 0);
    s.host = j.value("host", std::string());
    return s;
  } catch (const std::exception& e) {
    error = runDir + "/status.json: malformed: " + e.what();
    return std::nullopt;
  }
}

std::vector<std::string> LineTail::poll(std::uint64_t maxBytes) {
  std::vector<std::string> lines;
  std::ifstream in(m_path, std::ios::binary);
  if (!in) return lines;
  in.seekg(0, std::ios::end);
  std::uint64_t size = static_cast<std::uint64_t>(in.tellg());
  m_size = size;
  if (size < m_offset) {  // the file was cut (resume after a torn line): re-read the tail
    m_offset = size;
    m_pending.clear();
  }
  if (size == m_offset) return lines;
  in.seekg(static_cast<std::streamoff>(m_offset));
  std::string chunk(static_cast<std::size_t>(std::min(size - m_offset, maxBytes)), '\0');
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  chunk.resize(static_cast<std::size_t>(in.gcount()));
  m_offset += chunk.size();
  m_pending += chunk;
  std::size_t start = 0;
  for (std::size_t nl; (nl = m_pending.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.emplace_back(m_pending, start, nl - start);
  m_pending.erase(0, start);
  return lines;
}

std::optional<MetricRow> parseMetricLine(const std::string& line) {
  // segment,step,wall_s,key,value — the key never contains a comma.
  std::size_t c1 = line.find(','), c2 = line.find(',', c1 + 1), c3 = line.find(',', c2 + 1),
              c4 = line.rfind(',');
  if (c1 == std::string::npos || c2 == std::string::npos || c3 == std::string::npos || c4 <= c3)
    return std::nullopt;
  MetricRow r;
  char* end = nullptr;
  const char* s = line.c_str();
  r.segment = static_cast<int>(std::strtol(s, &end, 10));
  if (end != s + c1) return std::nullopt;
  r.step = std::strtoll(s + c1 + 1, &end, 10);
  if (end != s + c2) return std::nullopt;
  r.wallS = std::strtod(s + c2 + 1, &end);
  if (end != s + c3) return std::nullopt;
  r.key = line.substr(c3 + 1, c4 - c3 - 1);
  r.value = std::strtod(s + c4 + 1, &end);
  if (end != s + line.size() || r.key.empty() || r.segment < 1) return std::nullopt;
  return r;
}

bool MetricsAccumulator::addLine(const std::string& line) {
  if (line.rfind("segment,", 0) == 0) return false;
  auto row = parseMetricLine(line);
  if (!row) {
    ++m_malformed;
    return false;
  }
  addRow(*row);
  return true;
}

void MetricsAccumulator::addRow(const MetricRow& row) {
  if (row.key == kResumeMarkerKey) {
    const std::int64_t k = row.step;
    m_resumeSteps.push_back(k);
    for (auto& [key, pts] : m_series) {
      // Drop rows of earlier segments past the resume point (the abandoned branch).
      auto it = std::remove_if(pts.begin(), pts.end(), [&](const SeriesPoint& p) {
        return p.segment < row.segment && p.step > k;
      });
      pts.erase(it, pts.end());
    }
    ++m_revision;
    return;
  }
  m_series[row.key].push_back({row.step, row.wallS, row.value, row.segment});
}

MetricsAccumulator readMetrics(const std::string& runDir) {
  MetricsAccumulator acc;
  LineTail tail(runDir + "/metrics.csv");
  for (const auto& line : tail.poll()) acc.addLine(line);
  return acc;
}

bool writerGone(const RunStatus& s, double now) {
  if (s.phase != RunPhase::Running && s.phase != RunPhase::Paused && s.phase != RunPhase::Created)
    return false;
  // On this host the pid tells; elsewhere a heartbeat older than 2 minutes does.
  static const std::string me = hostName();
  return s.host == me ? !processAlive(s.pid) : now - s.updatedAt > 120.0;
}

std::string RunSummary::displayPhase() const { return stale ? "stale" : toString(status.phase); }

std::vector<RunSummary> listRuns(const std::string& runsRoot) {
  std::vector<RunSummary> runs;
  std::error_code ec;
  const double now = unixNow();
  for (const auto& e : fs::directory_iterator(runsRoot, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.empty() || name[0] == '.') continue;
    if (!isRunDir(e.path().string())) continue;
    RunSummary r;
    r.dir = e.path().string();
    r.id = name;
    std::string text, err;
    if (readFile(r.dir + "/run.json", text, err)) {
      try {
        r.name = json::parse(text).value("name", name);
      } catch (const std::exception&) {
        r.name = name;
      }
    }
    auto st = readStatus(r.dir, err);
    if (!st) {
      r.status.phase = RunPhase::Failed;
      r.status.error = err;
    } else {
      r.status = *st;
    }
    r.stale = r.status.stale = writerGone(r.status, now);
    runs.push_back(std::move(r));
  }
  std::sort(runs.begin(), runs.end(),
            [](const RunSummary& a, const RunSummary& b) { return a.id > b.id; });
  return runs;
}

std::vector<std::string> snapshotDirs(const std::string& runDir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(runDir) / "snapshots", ec))
    if (e.is_directory() && e.path().filename().string().rfind("step_", 0) == 0)
      out.push_back(e.path().string());
  std::sort(out.begin(), out.end());  // zero-padded step numbers sort as numbers
  return out;
}

std::string snapshotDir(const std::string& runDir, std::int64_t step) {
  return (fs::path(runDir) / "snapshots" / checkpointDirName(step)).string();
}

std::vector<std::int64_t> pointSnapshotSteps(const std::string& runDir) {
  std::vector<std::int64_t> steps;
  for (const auto& dir : snapshotDirs(runDir)) {
    if (!fs::exists(fs::path(dir) / "points.npy")) continue;
    const std::string name = fs::path(dir).filename().string();
    try {
      steps.push_back(std::stoll(name.substr(5)));  // after "step_"
    } catch (const std::exception&) {
    }
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

namespace {
// The probe pair of a point snapshot (flow_*.npy), checked against meta.json's "flow".
FlowSamplePtr readFlowArrays(const std::string& dir, const nlohmann::json& meta,
                             std::string& error) {
  auto f = std::make_shared<FlowSample>();
  std::vector<std::size_t> shape;
  auto read = [&](const char* name, std::vector<float>& out, std::size_t rows) {
    if (!readNpyFloat32(dir + "/" + name, out, shape, error)) return false;
    if (out.size() != 3 * rows) {
      error = dir + "/" + name + ": " + std::to_string(out.size()) + " values, meta.json says " +
              std::to_string(rows) + " x 3";
      return false;
    }
    return true;
  };
  const auto n = meta.at("first").get<std::size_t>(), m = meta.at("second").get<std::size_t>();
  if (!read("flow_first.npy", f->first, n) || !read("flow_second.npy", f->second, m) ||
      !read("flow_truth.npy", f->truth, n) ||
      (meta.value("predicted", false) && !read("flow_pred.npy", f->predicted, n)))
    return nullptr;
  f->kind = meta.value("kind", "");
  f->source = meta.value("source", "");
  return f;
}
}  // namespace

PointSnapshotPtr readPointSnapshot(const std::string& dir, std::string& error) {
  auto snap = std::make_shared<PointSnapshot>();
  std::vector<std::size_t> shape;
  std::string meta;
  if (!readFile(dir + "/meta.json", meta, error)) return nullptr;
  try {
    auto j = nlohmann::json::parse(meta);
    if (!j.contains("fields")) return nullptr;  // not a point snapshot (e.g. attention maps)
    if (!readNpyFloat32(dir + "/points.npy", snap->xyz, shape, error)) return nullptr;
    snap->step = j.value("step", std::int64_t(0));
    for (const auto& f : j.at("fields")) {
      std::vector<float> v;
      if (!readNpyFloat32(dir + "/" + f.get<std::string>() + ".npy", v, shape, error))
        return nullptr;
      if (v.size() != snap->size()) {
        error = dir + ": field " + f.get<std::string>() + " has " + std::to_string(v.size()) +
                " values for " + std::to_string(snap->size()) + " points";
        return nullptr;
      }
      snap->fields[f.get<std::string>()] = std::move(v);
    }
    if (j.contains("flow") && !(snap->flow = readFlowArrays(dir, j.at("flow"), error)))
      return nullptr;
  } catch (const std::exception& e) {
    error = dir + "/meta.json: malformed: " + e.what();
    return nullptr;
  }
  return snap;
}

AttentionSnapshotPtr readAttentionSnapshot(const std::string& dir, std::string& error) {
  std::string meta;
  if (!readFile(dir + "/meta.json", meta, error)) return nullptr;
  auto snap = std::make_shared<AttentionSnapshot>();
  try {
    auto j = nlohmann::json::parse(meta);
    if (j.value("kind", "") != "attention") return nullptr;  // a point snapshot
    snap->step = j.value("step", std::int64_t(0));
    snap->layers = j.at("layers").get<int>();
    snap->heads = j.at("heads").get<int>();
    snap->queries = j.at("queries").get<int>();
    snap->keys = j.at("keys").get<int>();
    snap->hasSinkSlot = j.value("has_sink_slot", false);
    snap->tokens = j.value("tokens", std::vector<std::string>{});
  } catch (const std::exception& e) {
    error = dir + "/meta.json: malformed: " + e.what();
    return nullptr;
  }
  std::vector<std::size_t> shape;
  if (!readNpyFloat32(dir + "/attention.npy", snap->maps, shape, error) ||
      !readNpyFloat32(dir + "/alpha1.npy", snap->alpha1, shape, error) ||
      !readNpyFloat32(dir + "/hidden_norm.npy", snap->hiddenNorm, shape, error))
    return nullptr;
  const auto L = static_cast<std::size_t>(std::max(0, snap->layers));
  const auto H = static_cast<std::size_t>(std::max(0, snap->heads));
  const auto Q = static_cast<std::size_t>(std::max(0, snap->queries));
  const auto K = static_cast<std::size_t>(std::max(0, snap->keys));
  if (L == 0 || H == 0 || Q == 0 || snap->maps.size() != L * H * Q * K ||
      snap->alpha1.size() != L * H || snap->tokens.size() != Q ||
      K != Q + (snap->hasSinkSlot ? 1 : 0)) {
    error = dir + ": attention snapshot sizes disagree with meta.json (" + std::to_string(L) +
            " layers x " + std::to_string(H) + " heads x " + std::to_string(Q) + " x " +
            std::to_string(K) + ")";
    return nullptr;
  }
  return snap;
}

}  // namespace pretext::core
