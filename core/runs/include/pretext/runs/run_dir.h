#pragma once
// The run directory: the durable source of truth of a run (format: docs/run-format.md).
//
//   runs/<yyyymmdd-hhmmss>-<name>-<hex>/
//     run.json, config.yaml     immutable
//     status.json               replaced atomically
//     metrics.csv, events.jsonl append-only, complete lines only
//     checkpoints/step_N/, checkpoints/latest.json
//     snapshots/step_N/         .npy + meta.json
//
// RunDirWriter is the single writer of one run directory; use it from one thread.
// The reader functions may run on any thread and in any process.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pretext/runs/config.h"
#include "pretext/runs/run_types.h"

namespace pretext::core {

inline constexpr int kRunFormatVersion = 1;

class TfEventsWriter;

class RunDirWriter {
 public:
  // Creates a new run folder under `runsRoot`. The folder is assembled under a hidden
  // temporary name and renamed into place, so a failure never leaves half a run.
  static std::unique_ptr<RunDirWriter> create(const std::string& runsRoot, const Config& config,
                                              std::string& error);
  // Opens an existing run to continue it as a new segment: takes the writer's lock and
  // works out the segment number, and writes nothing. beginSegment() then cuts a torn last
  // line off metrics.csv/events.jsonl and appends the marker "resumed from `resumeStep`";
  // the trainer calls it once the checkpoint has loaded, so a resume that fails to load
  // leaves the run's files as they were.
  static std::unique_ptr<RunDirWriter> openForResume(const std::string& runDir, std::string& error);
  bool beginSegment(std::int64_t resumeStep, std::string& error);
  // Both at once, for callers that have nothing to load first.
  static std::unique_ptr<RunDirWriter> openForResume(const std::string& runDir,
                                                     std::int64_t resumeStep, std::string& error);
  // False until the files are open for appending (always true for a new run).
  bool writable() const { return m_metricsFd >= 0; }
  // False once the run's folder was deleted or replaced while this writer held it
  // (`error` says so): appends would go to files nobody can read.
  bool stillInPlace(std::string& error) const;
  ~RunDirWriter();

  const std::string& dir() const { return m_dir; }
  int segment() const { return m_segment; }

  bool writeStatus(const RunStatus& status, std::string& error);
  bool appendMetrics(const std::vector<MetricRow>& rows, std::string& error);
  // `fieldsJson` is the inside of a JSON object without braces, e.g. "\"step\":5".
  bool appendEvent(const std::string& type, const std::string& fieldsJson, std::string& error);

  // Checkpoints: write files into beginCheckpoint()'s folder, then commitCheckpoint(), which
  // adds manifest.json (size and CRC-32 of every file), renames the folder into place and
  // only then moves latest.json. abandonCheckpoint() removes a half-written folder (a full
  // disk): the previous checkpoint stays the latest.
  std::string beginCheckpoint(std::int64_t step, std::string& error);
  bool commitCheckpoint(std::int64_t step, int keep, std::string& error);
  void abandonCheckpoint(std::int64_t step);
  bool writeSnapshot(const PointSnapshot& snap, std::string& error);
  // attention.npy (layers, heads, queries, keys), alpha1.npy, hidden_norm.npy, meta.json.
  bool writeAttentionSnapshot(const AttentionSnapshot& snap, std::string& error);

 private:
  RunDirWriter() = default;
  // Creates snapshots/.tmp-step_N, lets `fill` write into it, renames it to step_N.
  template <class Fill>
  bool commitSnapshot(std::int64_t step, Fill&& fill, std::string& error);
  bool openAppendFiles(std::string& error);
  // Takes <dir>/.lock (flock, non-blocking): one writer per run directory, enforced.
  bool lock(std::string& error);
  std::string m_dir;
  int m_lockFd = -1;
  int m_segment = 1;
  int m_metricsFd = -1;
  int m_eventsFd = -1;
  std::uint64_t m_dirDev = 0, m_dirIno = 0;       // the folder this writer opened
  std::unique_ptr<TfEventsWriter> m_tensorboard;  // tensorboard/events.out.tfevents.*
};

// ---- readers -------------------------------------------------------------------------

std::string checkpointDirName(std::int64_t step);
// A point snapshot folder (points.npy, <field>.npy, meta.json). nullptr with `error` empty
// for a folder that holds another kind of snapshot (attention maps); nullptr with `error`
// set (naming the file) when a file is missing or malformed.
PointSnapshotPtr readPointSnapshot(const std::string& dir, std::string& error);
// An attention snapshot folder (attention.npy, alpha1.npy, hidden_norm.npy, meta.json);
// nullptr with `error` empty for a point snapshot, with `error` set when files are missing,
// malformed or disagree in size.
AttentionSnapshotPtr readAttentionSnapshot(const std::string& dir, std::string& error);
// The committed snapshot folders of a run (snapshots/step_N, any kind), oldest first.
std::vector<std::string> snapshotDirs(const std::string& runDir);
// The folder of the snapshot of `step` (which may not exist), and the steps of the run's
// point snapshots (those with points.npy; a language-model run keeps attention maps
// there), oldest first.
std::string snapshotDir(const std::string& runDir, std::int64_t step);
std::vector<std::int64_t> pointSnapshotSteps(const std::string& runDir);
// Checkpoints are trusted only once verified: checkpoints/latest.json may name only a
// step_N folder directly inside checkpoints/ (no path, no symlink), that folder's
// manifest.json must match the size and CRC-32 of every file it lists, and state.json's
// step must equal the step latest.json and the folder name give.
struct CheckpointChoice {
  std::optional<std::int64_t> step;   // nullopt: nothing to resume from
  std::string dir;                    // the chosen folder
  std::vector<std::string> warnings;  // why newer checkpoints were passed over
  std::string error;                  // checkpoints exist but none is intact
};
// The newest intact checkpoint: the one latest.json names, or, when that is unreadable,
// missing or damaged, the newest intact step_N folder, with a warning for each one passed
// over. `error` is set (naming the files) when checkpoints exist but none is intact.
CheckpointChoice findCheckpoint(const std::string& runDir);
// "" when the checkpoint folder is intact at `step`, else what is wrong, naming the file.
// A folder from before manifests existed (state.json without "manifest") is accepted with
// only its step checked.
std::string verifyCheckpoint(const std::string& checkpointDir, std::int64_t step);
// The newest intact checkpoint step (findCheckpoint), or nullopt when there is none.
std::optional<std::int64_t> latestCheckpoint(const std::string& runDir, std::string* dir = nullptr);
// True when an error message reports a full disk or an exhausted quota.
bool isDiskFull(const std::string& error);
// CRC-32 (zlib's polynomial) of a whole file; false with `error` naming the file.
bool fileCrc32(const std::string& path, std::uint32_t& crc, std::uint64_t& size,
               std::string& error);
std::optional<RunStatus> readStatus(const std::string& runDir, std::string& error);
bool isRunDir(const std::string& dir);

// Reads complete lines appended to a file since the last call. A trailing line without
// its newline (a writer mid-write, or a crash) is left for a later call.
class LineTail {
 public:
  explicit LineTail(std::string path) : m_path(std::move(path)) {}
  // Reads at most `maxBytes` (a long history arrives over several calls).
  std::vector<std::string> poll(std::uint64_t maxBytes = UINT64_MAX);
  const std::string& path() const { return m_path; }
  // Bytes read so far, and the file's size at the last call.
  std::uint64_t offset() const { return m_offset; }
  std::uint64_t size() const { return m_size; }

 private:
  std::string m_path;
  std::uint64_t m_offset = 0, m_size = 0;
  std::string m_pending;
};

// Keeps per-key series and applies resume markers: when segment s resumes from step k,
// earlier rows with step > k are hidden, so series show exactly the history that led to
// the current weights.
struct SeriesPoint {
  std::int64_t step;
  double wallS;
  double value;
  int segment;
};
// Rounds rows to what metrics.csv holds (value to 9 significant digits, wall time to the
// millisecond), so rows shown live equal the same rows read back from the file.
void roundAsLogged(std::vector<MetricRow>& rows);

class MetricsAccumulator {
 public:
  // Parses and adds one csv line; returns false for the header or a malformed line.
  bool addLine(const std::string& line);
  void addRow(const MetricRow& row);
  const std::map<std::string, std::vector<SeriesPoint>>& series() const { return m_series; }
  const std::vector<std::int64_t>& resumeSteps() const { return m_resumeSteps; }
  std::size_t malformedLines() const { return m_malformed; }
  std::int64_t revision() const { return m_revision; }  // bumps when history is cut

 private:
  std::map<std::string, std::vector<SeriesPoint>> m_series;
  std::vector<std::int64_t> m_resumeSteps;
  std::size_t m_malformed = 0;
  std::int64_t m_revision = 0;
};
std::optional<MetricRow> parseMetricLine(const std::string& line);
MetricsAccumulator readMetrics(const std::string& runDir);

// A status that says running, paused or created whose writer is gone: on this host its
// pid is not alive; elsewhere its heartbeat is older than 2 minutes.
bool writerGone(const RunStatus& status, double now);

struct RunSummary {
  std::string dir;
  std::string id;
  std::string name;
  RunStatus status;
  bool stale = false;  // says running but its writer is gone (crash or kill)
  std::string displayPhase() const;
};
// Lists run folders under `runsRoot`, newest first.
std::vector<RunSummary> listRuns(const std::string& runsRoot);

}  // namespace pretext::core
