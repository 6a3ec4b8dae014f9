#pragma once
// A checkpoint's weights as an uncompressed .npz with a JSON sidecar (pretext-export
// --weights). Needs LibTorch to read the checkpoint, so it lives in the train library.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pretext::core {

struct ExportedTensor {
  std::string name;
  std::vector<std::int64_t> shape;
};

struct WeightExport {
  std::int64_t step = 0;
  std::string checkpointDir;
  std::string jsonFile;  // outFile + ".json"
  std::vector<ExportedTensor> tensors;
};

// Writes the weights of checkpoint `step` (default: the newest) of `runDir` to `outFile` as a
// pickled dict {name: tensor} that Python's `torch.load(outFile)` returns, and a JSON side
// file `outFile.json` with the experiment kind, step, tensor names and shapes, the model.*
// (or lm.*) keys and the full resolved config. lidar_ssl / lidar_downstream export the
// pillar encoder (names "encoder.<...>"), lm_sink the whole language model. Both files are
// written atomically. Throws std::runtime_error naming the run, checkpoint or output file.
WeightExport exportWeights(const std::string& runDir, const std::string& outFile,
                           std::optional<std::int64_t> step = std::nullopt);

// Metrics of a run (resume-aware: the history that led to the current weights) as CSV.
// Long form: "segment,step,wall_s,key,value", one row per value. Wide form:
// "step,wall_s,<key>...", one row per step with an empty cell where a key has no value.
// Written atomically; returns the number of data rows. Throws std::runtime_error.
// `keys`: only metric keys equal to or starting with one of these (all when empty), e.g.
// {"sink/", "loss/val"} for the attention-sink table of an lm_sink run.

}  // namespace pretext::core
