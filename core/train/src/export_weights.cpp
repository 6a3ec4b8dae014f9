// Weight export for Python: a pickled {name: tensor} dict (torch::pickle_save writes the
// zip container that torch.load reads) plus a JSON description.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <variant>

#include "pretext/data/fs_util.h"
#include "pretext/runs/config.h"
#include "pretext/runs/export_data.h"
#include "pretext/runs/run_dir.h"
#include "pretext/train/export_weights.h"

namespace pretext::core {
namespace {
namespace fs = std::filesystem;

// Every tensor of a module archive, named like named_parameters() ("a.b.weight").
void collect(torch::serialize::InputArchive& ar, const std::string& prefix,
             std::vector<std::pair<std::string, torch::Tensor>>& out) {
  for (const auto& key : ar.keys()) {
    torch::Tensor t;
    if (ar.try_read(key, t)) {
      out.emplace_back(prefix + key, t);
      continue;
    }
    torch::serialize::InputArchive sub;
    if (ar.try_read(key, sub)) collect(sub, prefix + key + ".", out);
  }
}
}  // namespace

WeightExport exportWeights(const std::string& runDir, const std::string& outFile,
                           std::optional<std::int64_t> step) {
  std::vector<ConfigIssue> issues;
  const std::string configFile = (fs::path(runDir) / "config.yaml").string();
  auto config = Config::load(configFile, {}, issues);
  if (!config)
    throw std::runtime_error(runDir + ": not a run directory (cannot read config.yaml" +
                             (issues.empty() ? "" : ": " + issues.front().toString()) + ")");
  WeightExport result;
  if (step) {
    result.step = *step;
    result.checkpointDir = (fs::path(runDir) / "checkpoints" / checkpointDirName(*step)).string();
  } else {
    const CheckpointChoice latest = findCheckpoint(runDir);  // verified, like a resume
    if (!latest.error.empty()) throw std::runtime_error(latest.error);
    if (!latest.step) throw std::runtime_error(runDir + ": the run has no checkpoint yet");
    result.step = *latest.step;
    result.checkpointDir = latest.dir;
  }
  const std::string modelFile = (fs::path(result.checkpointDir) / "model.pt").string();
  if (!fs::exists(modelFile)) throw std::runtime_error(modelFile + ": no such checkpoint file");

  const std::string kind = config->getString("experiment.kind");
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(modelFile);
    if (kind == "lm_sink") {
      collect(ar, "", tensors);
    } else {
      torch::serialize::InputArchive enc;
      if (!ar.try_read("encoder", enc)) throw std::runtime_error("no 'encoder' in the checkpoint");
      collect(enc, "encoder.", tensors);
    }
  } catch (const std::exception& e) {
    const std::string what = e.what();
    throw std::runtime_error(modelFile +
                             ": cannot read the checkpoint: " + what.substr(0, what.find('\n')));
  }
  c10::Dict<std::string, at::Tensor> dict;
  nlohmann::json desc;
  desc["format"] = "pretext-weights/1";
  desc["kind"] = kind;
  desc["run"] = fs::absolute(runDir).lexically_normal().string();
  desc["step"] = result.step;
  desc["tensors"] = nlohmann::json::array();
  for (const auto& [name, t] : tensors) {
    dict.insert(name, t.detach().contiguous());
    ExportedTensor e{name, t.sizes().vec()};
    desc["tensors"].push_back({{"name", name}, {"shape", e.shape}, {"dtype", "float32"}});
    result.tensors.push_back(e);
  }
  nlohmann::json model;
  const std::string prefix = kind == "lm_sink" ? "lm." : "model.";
  for (const auto& [key, value] : config->values())
    if (key.rfind(prefix, 0) == 0)
      std::visit([&](const auto& v) { model[key.substr(prefix.size())] = v; }, value);
  desc["architecture"] = model;
  desc["config_yaml"] = config->toYaml();

  const auto bytes = torch::pickle_save(c10::IValue(dict));
  std::string error;
  if (!writeFileAtomic(outFile, std::string(bytes.begin(), bytes.end()), error))
    throw std::runtime_error(outFile + ": " + error);
  result.jsonFile = outFile + ".json";
  if (!writeFileAtomic(result.jsonFile, desc.dump(2) + "\n", error))
    throw std::runtime_error(result.jsonFile + ": " + error);
  return result;
}

}  // namespace pretext::core
