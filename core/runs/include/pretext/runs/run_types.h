#pragma once
// Plain-data values of a run that cross the core/GUI seam and thread boundaries (status,
// metric rows, attention snapshots). No LibTorch here. Implemented in run_types.cpp.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pretext/data/samples.h"

namespace pretext::core {

enum class RunPhase { Created, Running, Paused, Finished, Stopped, Failed };
std::string toString(RunPhase p);
std::optional<RunPhase> phaseFromString(const std::string& s);
// Finished, Stopped and Failed are final for one process; Stopped and Failed are resumable.
bool isTerminal(RunPhase p);

struct RunStatus {
  RunPhase phase = RunPhase::Created;
  std::int64_t step = 0;
  std::int64_t maxSteps = 0;
  int segment = 1;
  double updatedAt = 0;    // unix seconds
  double stepsPerSec = 0;  // recent throughput
  double etaSec = -1;      // -1 when unknown
  std::string error;       // set when phase == Failed
  int pid = 0;
  std::string host;
  // Set by readers, never stored: status.json says running (or paused, created) but its
  // writer is gone, a crash or a kill (writerGone in run_dir.h).
  bool stale = false;
};

// One metrics.csv row: segment,step,wall_s,key,value.
struct MetricRow {
  int segment = 1;
  std::int64_t step = 0;
  double wallS = 0;
  std::string key;
  double value = 0;
};

// The key of the row that opens a resumed segment; its value is the step resumed from.
inline constexpr const char* kResumeMarkerKey = "run/resumed_from";

// Attention maps of one probe sequence: layers x heads x queries x keys (row-major).
// With a learnable sink slot the key axis has T+1 entries and key 0 is the slot.
struct AttentionSnapshot {
  std::int64_t step = 0;
  int layers = 0, heads = 0, queries = 0, keys = 0;
  bool hasSinkSlot = false;
  std::vector<float> maps;
  std::vector<std::string> tokens;  // display text of each query position
  std::vector<float> alpha1;        // layers x heads: alpha_1 over the probe set
  std::vector<float> hiddenNorm;    // per position: |h| at the last block's output
};
using AttentionSnapshotPtr = std::shared_ptr<const AttentionSnapshot>;

enum class LogLevel { Info, Warning, Error };

}  // namespace pretext::core
