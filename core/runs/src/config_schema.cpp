// The schema of every experiment config key: type, default, range and help text.
// The help strings are shown as tooltips in the GUI and by `pretext-train --help-config`.
#include "pretext/runs/config.h"

#include <algorithm>

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
      choice("experiment.kind", "lidar_ssl", {"lidar_ssl", "lidar_downstream", "lm_sink"},
             "What is trained: lidar_ssl = self-supervised LiDAR point encoder (E-SSL3D); "
             "lidar_downstream = BEV object segmentation from scratch or a pre-trained "
             "encoder; "
             "lm_sink = small language model with attention-sink diagnostics"),
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
      real("trainer.beta2", 0.999, 0, 0.99999, "AdamW beta2 (beta1 is 0.9)"),
      real("trainer.grad_clip", 1.0, 0, 1e6, "Clip the global gradient norm (0 = off)"),
      integer("trainer.log_every", 5, 1, kBig, "Write metrics every N steps"),
      integer("trainer.checkpoint_every", 50, 1, kBig, "Write a checkpoint every N steps"),
      integer("trainer.snapshot_every", 25, 1, kBig,
              "Write a per-point snapshot of the probe scan every N steps"),
      integer("trainer.keep_checkpoints", 3, 1, 1000, "How many recent checkpoints to keep"),
      integer("trainer.threads", 0, 0, 1024, "Intra-op threads (0 = all cores)"),

      choice("data.source", "simulated",
             {"simulated", "files", "kitti_object", "kitti_odometry", "npz_flow"},
             "simulated = built-in street-scene LiDAR; files = a folder (or file) of .bin, "
             ".pcd.bin, .pcd, .ply or .npy scans; kitti_object = a KITTI object folder "
             "(velodyne/, label_2/, calib/); kitti_odometry = a sequence folder (velodyne/, "
             "poses, calib.txt); npz_flow = a folder of .npz scene-flow pairs"),
      file("data.path", "File or folder read when data.source is not 'simulated'"),
      text("data.flow_keys", "",
           "npz_flow: which arrays hold the pair, e.g. p1=pc1,p2=pc2,flow=flow"
           "[,valid1=..,valid2=..]; empty = try the known layouts (docs/data.md)"),
      text("data.odometry_tr", "",
           "kitti_odometry: 12 numbers of Tr (Velodyne -> camera 0) when the folder has no "
           "calib.txt"),
      real("data.max_abs_coord", 1000, 1, 1e30,
           "Headerless scans (KITTI .bin, nuScenes .pcd.bin): a file with a coordinate farther "
           "than this many metres from the sensor is refused as not LiDAR data (random bytes, "
           "another format)"),
      choice("data.on_bad_file", "fail", {"fail", "skip"},
             "files, npz_flow, kitti_object: a file that cannot be read when the dataset is "
             "opened fails the run (fail) or is left out with one counted warning (skip)"),
      integer("data.points_per_scan", 2048, 64, 1000000, "Points sampled from each scan"),
      real("data.crop.max_range", 0, 0, 1000,
           "Drop points farther than this horizontally (0 = keep all)"),
      flag("data.crop.front_fov", false,
           "Keep only the front camera field of view (KITTI-style crop)"),
      real("data.crop.fov_deg", 90, 1, 360, "Width of the front field of view in degrees"),
      integer("data.prefetch", 2, 0, 64, "Batches prepared ahead on a worker thread (0 = none)"),
      integer("data.sim.beams", 64, 4, 128,
              "Simulated LiDAR: laser beams (64 uses an HDL-64E-like elevation table)"),
      integer("data.sim.azimuth_steps", 2048, 64, 8192, "Simulated LiDAR: firings per revolution"),
      real("data.sim.max_range", 80, 5, 250, "Simulated LiDAR: maximum range in metres"),
      real("data.sim.range_noise", 0.02, 0, 1, "Simulated LiDAR: range noise std in metres"),
      integer("data.sim.objects", 40, 0, 200,
              "Simulated LiDAR: cars, pedestrians, cyclists, poles and trees per scene"),

      flag("augment.rotation.enabled", true, "Rotate views about the up axis"),
      real("augment.rotation.range_deg", 90, 0, 180,
           "Rotation angle drawn from (-range, +range) degrees, at the centre of one of "
           "objective.ebc.bins equal bins so the class label is exact"),
      flag("augment.translation.enabled", true, "Translate views"),
      real("augment.translation.max_m", 0.2, 0, 10, "Translation per axis drawn from (-max, +max)"),
      flag("augment.scale.enabled", true, "Scale views isotropically"),
      real("augment.scale.min", 0.95, 0.01, 100, "Smallest scale factor"),
      real("augment.scale.max", 1.05, 0.01, 100, "Largest scale factor"),
      flag("augment.flip.enabled", true, "Mirror views"),
      real("augment.flip.prob", 0.5, 0, 1, "Probability of mirroring across the x axis (y -> -y)"),
      real("augment.flip.prob_x", 0.0, 0, 1,
           "Probability of mirroring across the y axis (x -> -x)"),
      real("augment.jitter_m", 0.0, 0, 1, "Per-point Gaussian jitter std in metres"),

      // ---- lm_sink: the language model (methods.md §2) ----
      integer("lm.d_model", 128, 8, 4096, "Model width"),
      integer("lm.layers", 2, 1, 64, "Transformer blocks"),
      integer("lm.heads", 4, 1, 64, "Attention heads (must divide lm.d_model)"),
      integer("lm.ffn", 512, 8, 16384, "Feed-forward hidden width (GELU)"),
      integer("lm.context", 64, 4, 4096, "Context length T (tokens per training sequence)"),
      choice("lm.norm", "rmsnorm", {"rmsnorm", "layernorm"}, "Pre-norm type"),
      choice("lm.init", "torch", {"torch", "small"},
             "torch: PyTorch defaults (embeddings N(0,1)); small: N(0, 0.02) weights (GPT-2 "
             "style). On Bigram-Backcopy the sink emerges by step ~200 with torch, not in "
             "1000 steps with small (docs/results.md)"),
      choice("lm.attention", "softmax", {"softmax", "sigmoid", "sigmoid_norm", "elu1", "elu1_norm"},
             "softmax; sigmoid / elu1 without normalisation; *_norm: row-normalised"),
      choice("lm.sink", "none", {"none", "k_bias", "kv_bias"},
             "Learnable sink key with zero value (k_bias) or learnable value (kv_bias)"),
      flag("lm.sink_per_head", false, "One sink key per head instead of one shared by all heads"),
      choice("lm.position", "learned", {"none", "sinusoidal", "learned", "rope", "alibi"},
             "Positional encoding"),
      choice("lm.mask", "causal", {"causal", "prefix", "sliding"},
             "causal; prefix: the first lm.prefix_len tokens see each other; sliding window"),
      integer("lm.prefix_len", 8, 1, 4096, "Prefix length for lm.mask = prefix"),
      integer("lm.window", 16, 1, 4096, "Keys each query sees for lm.mask = sliding"),

      choice("text.source", "backcopy", {"backcopy", "shakespeare", "file"},
             "backcopy: synthetic Bigram-Backcopy stream; shakespeare: the embedded corpus; "
             "file: text.path"),
      file("text.path", "A UTF-8/ASCII text corpus (text.source = file)"),
      choice("text.tokenizer", "char", {"char", "byte"}, "Character- or byte-level tokens"),
      flag("text.bos", true, "Start every sequence with a BOS token"),
      integer("text.fixed_token_pos", 0, 0, 4096,
              "If > 0, the token at this position (1 = first after BOS) is always the PAD token"),
      integer("text.backcopy_vocab", 64, 8, 4096,
              "Bigram-Backcopy: vocabulary size (incl. triggers)"),
      integer("text.backcopy_triggers", 3, 1, 64, "Bigram-Backcopy: trigger tokens"),
      real("text.backcopy_trigger_prob", 0.2, 0, 1,
           "Bigram-Backcopy: chance the next token is a trigger"),
      real("text.backcopy_alpha", 0.2, 1e-3, 100,
           "Bigram-Backcopy: Dirichlet concentration of bigram rows"),

      real("sink.epsilon", 0.3, 0, 1,
           "Sink threshold epsilon: a head sinks on k if alpha_k > epsilon"),
      integer("sink.probe_sequences", 100, 1, 10000, "Fixed probe sequences for the sink metric"),
      integer("sink.function_tokens", 8, 1, 4096,
              "The most frequent tokens counted as function tokens for the loss split"),
      integer("sink.hessian_every", 0, 0, kBig,
              "Hutchinson trace-of-Hessian estimate every N steps (0 = off; costly)"),
      integer("sink.hessian_samples", 8, 1, 256, "Rademacher probes per Hessian-trace estimate"),

      // ---- lidar_ssl / lidar_downstream: the pillar encoder (docs/objectives.md) ----
      integer("model.width", 32, 8, 512,
              "Channels of the point MLP and the first BEV CNN stage (the second has twice)"),
      integer("model.depth", 2, 1, 8, "Conv layers per BEV CNN stage"),
      integer("model.feature_dim", 32, 4, 1024, "Per-point feature dimension F"),
      real("model.grid_range", 32, 4, 200,
           "The BEV grid covers [-range, range) metres in x and y; scans are cropped to it"),
      real("model.pillar", 1.0, 0.05, 10, "BEV pillar (cell) size in metres"),
      integer("model.proj_dim", 64, 4, 4096, "Projector / predictor output dimension"),
      integer("model.hidden", 128, 4, 8192, "Hidden width of projector, predictor and heads"),

      choice("augment.rotation.objective", "classification",
             {"contrastive", "classification", "invariance"},
             "How rotation equivariance is enforced: contrastive (PointInfoNCE sees it), "
             "classification (predict the rotation bin), invariance (global BYOL term)"),
      choice("augment.translation.objective", "contrastive",
             {"contrastive", "classification", "invariance"},
             "How translation is enforced (classification: 5 x 5 bins of x and y)"),
      choice("augment.scale.objective", "contrastive",
             {"contrastive", "classification", "invariance"},
             "How scaling is enforced (classification: augment.scale.bins bins)"),
      choice("augment.flip.objective", "contrastive",
             {"contrastive", "classification", "invariance"},
             "How flips are enforced (classification: the 4 flip classes)"),
      integer("augment.scale.bins", 5, 2, 100, "Scale classes when scale uses classification"),
      integer("augment.translation.bins", 5, 2, 100,
              "Translation classes per axis when translation uses classification"),

      real("objective.pnce.weight", 0.01, 0, 1e6,
           "lambda_pnce: weight of PointInfoNCE (summed over pairs, as in E-SSL3D)"),
      real("objective.pnce.temperature", 0.4, 1e-4, 100, "PointInfoNCE temperature tau"),
      integer("objective.pnce.pairs", 256, 2, 100000, "Matched point pairs sampled per scan"),
      real("objective.ebc.weight", 1.0, 0, 1e6,
           "lambda_ce: weight of equivariance-by-classification (summed over classified "
           "transforms)"),
      integer("objective.ebc.bins", 10, 2, 360, "Rotation bins for the classifier"),
      choice("objective.ebc.target", "absolute", {"absolute", "relative"},
             "absolute: both views share the classified transform and each view predicts "
             "its bin; relative: the views differ and the pair predicts the bin difference"),
      choice("objective.ebc.loss", "ce", {"ce", "spherical_z"},
             "Classifier loss: cross-entropy or the spherical Z-loss (a = 1, b = 0)"),
      real("objective.ebc.logz2", 0, 0, 1,
           "Weight alpha of the logZ^2 penalty on the classifier logits (PaLM uses 1e-4)"),
      real("objective.flow.weight", 300, 0, 1e6,
           "lambda_flow: weight of the scene-flow warp loss (0 = no temporal branch)"),
      real("objective.flow.match_radius", 2.5, 0.01, 100,
           "Evaluation: the flow predicted by feature matching looks for the next frame's "
           "matching point within this radius (m)"),
      real("objective.ema.momentum", 0.999, 0, 1, "Target network EMA momentum (base)"),
      flag("objective.ema.cosine", true, "Cosine ramp of the EMA momentum to 1 at max_steps"),
      choice("objective.global.kind", "none",
             {"none", "simclr", "byol", "barlow", "mixbt", "vicreg", "amcl"},
             "Objective on pooled (global) embeddings of the two views; a transform set to "
             "'invariance' adds byol when this is none"),
      real("objective.global.weight", 1.0, 0, 1e6, "Weight of the global objective"),
      real("objective.global.temperature", 0.1, 1e-4, 100, "SimCLR temperature"),
      real("objective.global.lambda", 0.0078125, 0, 100,
           "Barlow Twins off-diagonal weight (1/128 at d = 1024 in mix-bt)"),
      real("objective.global.mix_scale", 4, 0, 1000, "Mixed Barlow Twins regulariser scale s"),
      integer("objective.global.heads", 3, 1, 16, "AMCL projection heads"),
      real("objective.global.beta", 0.1, 0, 100, "AMCL temperature regulariser weight"),

      // ---- lidar_downstream: BEV object segmentation ----
      file("downstream.init",
           "Run directory (or checkpoint folder) of a pre-training run whose encoder starts "
           "the downstream model; empty = from scratch"),
      choice("downstream.mode", "finetune", {"finetune", "linear"},
             "finetune: train encoder and head; linear: frozen encoder, linear head"),
      real("downstream.label_fraction", 1.0, 0.001, 1,
           "Share of the labelled pool used for training"),
      integer("downstream.pool", 200, 1, 100000, "Labelled scans in the pool"),
      integer("downstream.eval_scans", 24, 1, 10000, "Held-out scans for IoU and AP"),
      real("downstream.pos_weight", 8, 0.01, 1000, "BCE weight of object cells"),
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

const std::vector<std::string>& liveConfigKeys() {
  static const std::vector<std::string> keys = {"trainer.lr", "objective.pnce.weight",
                                                "objective.ebc.weight", "objective.flow.weight",
                                                "objective.global.weight"};
  return keys;
}

bool isLiveConfigKey(const std::string& path) {
  const auto& k = liveConfigKeys();
  return std::find(k.begin(), k.end(), path) != k.end();
}

}  // namespace pretext::core
