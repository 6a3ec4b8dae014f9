// The schema of every experiment config key: type, default, range and help text.
// The help strings are shown as tooltips in the GUI and by `pretext-train --help-config`.
#include "pretext/core/config.h"

namespace pretext::core {
namespace {

ParamSpec make(std::string path, ParamType type, ConfigValue def) {
  ParamSpec s;
  s.path = std::move(path);
  s.type = type;
  s.defaultValue = std::move(def);
  return s;
}

ParamSpec num(std::string path, ParamType t, ConfigValue def, double lo, double hi,
              std::string help) {
  ParamSpec s = make(std::move(path), t, std::move(def));
  s.minValue = lo;
  s.maxValue = hi;
  s.hasRange = true;
  s.help = std::move(help);
  return s;
}
ParamSpec integer(std::string path, std::int64_t def, double lo, double hi, std::string help) {
  return num(std::move(path), ParamType::Int, def, lo, hi, std::move(help));
}
ParamSpec real(std::string path, double def, double lo, double hi, std::string help) {
  return num(std::move(path), ParamType::Float, def, lo, hi, std::move(help));
}
ParamSpec flag(std::string path, bool def, std::string help) {
  ParamSpec s = make(std::move(path), ParamType::Bool, def);
  s.help = std::move(help);
  return s;
}
ParamSpec text(std::string path, std::string def, std::string help) {
  ParamSpec s = make(std::move(path), ParamType::String, std::move(def));
  s.help = std::move(help);
  return s;
}
ParamSpec choice(std::string path, std::string def, std::vector<std::string> choices,
                 std::string help) {
  ParamSpec s = make(std::move(path), ParamType::Enum, std::move(def));
  s.choices = std::move(choices);
  s.help = std::move(help);
  return s;
}
ParamSpec file(std::string path, std::string help) {
  ParamSpec s = make(std::move(path), ParamType::Path, std::string());
  s.mustExist = true;
  s.help = std::move(help);
  return s;
}

constexpr double kBig = 1e9;

std::vector<ParamSpec> buildSchema() {
  return {
      text("experiment.name", "default", "Short name used in the run directory name"),
      choice("experiment.kind", "lidar_ssl", {"lidar_ssl"},
             "What is trained: lidar_ssl = self-supervised LiDAR point encoder"),
      integer("experiment.seed", 0, 0, 2147483647.0,
              "Seed for weights, data and augmentations (runs are reproducible)"),
      text("experiment.notes", "", "Free text kept with the run"),

      integer("trainer.max_steps", 300, 1, kBig, "Number of optimizer steps"),
      integer("trainer.batch_size", 4, 1, 1024, "Scans per step"),
      real("trainer.lr", 1e-3, 1e-9, 10, "Peak learning rate (AdamW)"),
      real("trainer.weight_decay", 0.01, 0, 10, "AdamW decoupled weight decay"),
      integer("trainer.warmup_steps", 20, 0, kBig, "Linear warm-up steps"),
      choice("trainer.lr_schedule", "cosine", {"constant", "cosine"},
             "After warm-up: constant, or cosine decay to 0 at max_steps"),
      real("trainer.grad_clip", 1.0, 0, 1e6, "Clip the global gradient norm (0 = off)"),
      integer("trainer.log_every", 5, 1, kBig, "Write metrics every N steps"),
      integer("trainer.checkpoint_every", 50, 1, kBig, "Write a checkpoint every N steps"),
      integer("trainer.snapshot_every", 25, 1, kBig,
              "Write a per-point snapshot of the probe scan every N steps"),
      integer("trainer.keep_checkpoints", 3, 1, 1000, "How many recent checkpoints to keep"),
      integer("trainer.threads", 0, 0, 1024, "Intra-op threads (0 = all cores)"),

      choice("data.source", "simulated", {"simulated", "files"},
             "simulated = built-in street-scene LiDAR; files = KITTI .bin scans in data.path"),
      file("data.path", "Folder of KITTI-style .bin scans (data.source = files)"),
      integer("data.points_per_scan", 2048, 64, 1000000, "Points sampled from each scan"),
      integer("data.sim.beams", 32, 4, 128, "Simulated LiDAR: number of laser beams"),
      integer("data.sim.azimuth_steps", 720, 64, 8192,
              "Simulated LiDAR: firings per revolution"),
      real("data.sim.max_range", 60, 5, 250, "Simulated LiDAR: maximum range in metres"),
      real("data.sim.range_noise", 0.02, 0, 1, "Simulated LiDAR: range noise std in metres"),
      integer("data.sim.objects", 12, 0, 100, "Simulated LiDAR: cars, poles, trees per scene"),

      flag("augment.rotation.enabled", true, "Rotate views about the up axis"),
      real("augment.rotation.range_deg", 90, 0, 180,
           "Rotation angle drawn from (-range, +range) degrees"),
      flag("augment.translation.enabled", true, "Translate views"),
      real("augment.translation.max_m", 0.2, 0, 10, "Translation per axis drawn from (-max, +max)"),
      flag("augment.scale.enabled", true, "Scale views isotropically"),
      real("augment.scale.min", 0.95, 0.01, 100, "Smallest scale factor"),
      real("augment.scale.max", 1.05, 0.01, 100, "Largest scale factor"),
      flag("augment.flip.enabled", true, "Mirror views across the x axis"),
      real("augment.flip.prob", 0.5, 0, 1, "Probability of a flip"),
      real("augment.jitter_m", 0.0, 0, 1, "Per-point Gaussian jitter std in metres"),

      integer("model.width", 64, 8, 1024, "Hidden width of the point encoder"),
      integer("model.feature_dim", 32, 4, 1024, "Per-point feature dimension"),

      real("objective.pnce.weight", 0.01, 0, 1e6,
           "lambda_pnce: weight of PointInfoNCE (summed over pairs, as in E-SSL3D)"),
      real("objective.pnce.temperature", 0.4, 1e-4, 100, "PointInfoNCE temperature tau"),
      integer("objective.pnce.pairs", 256, 2, 100000, "Matched point pairs sampled per scan"),
      real("objective.ebc.weight", 1.0, 0, 1e6,
           "lambda_ce: weight of rotation equivariance-by-classification"),
      integer("objective.ebc.bins", 10, 2, 360, "Rotation bins for the classifier"),
  };
}

}  // namespace

const std::vector<ParamSpec>& configSchema() {
  static const std::vector<ParamSpec> schema = buildSchema();
  return schema;
}

const ParamSpec* findSpec(const std::string& path) {
  for (const auto& s : configSchema())
    if (s.path == path) return &s;
  return nullptr;
}

}  // namespace pretext::core
