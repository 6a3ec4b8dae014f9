#pragma once
// Exports from a run directory that other tools read. LibTorch-free header; any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pretext::core {

std::size_t exportMetricsCsv(const std::string& runDir, const std::string& outFile, bool wide,
                             const std::vector<std::string>& keys = {});

// The attention snapshot of `step` (default: the newest) as long-form CSV, one row per
// weight: layer, head, query, key, query_token, key_token, weight (key 0 is "<sink>" when
// the model has a sink slot). The maps are also in the run as NumPy files (attention.npy,
// alpha1.npy, hidden_norm.npy; docs/run-format.md). Returns the snapshot step.
std::int64_t exportAttentionCsv(const std::string& runDir, const std::string& outFile,
                                std::optional<std::int64_t> step);

// The point snapshot of `step` (default: the newest) as binary little-endian PLY: x, y, z
// and every per-point field (equivariance errors, PCA colours, ...) as a float vertex
// property, readable by CloudCompare and Open3D's tensor API. Returns the snapshot step.
std::int64_t exportSnapshotPly(const std::string& runDir, const std::string& outFile,
                               std::optional<std::int64_t> step = std::nullopt);

// The metrics (resume-aware) as a new TensorBoard event file in `dir` (created if needed);
// returns the file's path. Every run also mirrors its metrics live into
// <run>/tensorboard/ (one file per segment; docs/run-format.md).
std::string exportTfEvents(const std::string& runDir, const std::string& dir);

// Imports the scalars of a TensorBoard event file, or of every event file below a folder,
// as a new finished Pretext run under `runsRoot` (experiment.name "imported", the source in
// experiment.notes), so Pretext's plots can overlay runs made with other tools. wall_s is
// seconds since the first event. Returns the run directory; throws std::runtime_error
// naming the file on unreadable or corrupt input, or when it holds no scalar.
std::string importTfEvents(const std::string& source, const std::string& runsRoot);

}  // namespace pretext::core
