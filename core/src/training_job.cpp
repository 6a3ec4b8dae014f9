// The trainer: a PointNet-style per-point encoder pre-trained with PointInfoNCE over
// matched points of two augmented views (translation/scale/flip/rotation) and rotation
// equivariance-by-classification (E-SSL3D's spatial branch, methods.md §1.3), on the
// built-in street-scene LiDAR or on KITTI .bin scans.
//
// Reproducibility: every random draw of step s comes from a generator seeded by
// mixSeed(seed, s), so data order and augmentations do not depend on where a run was
// resumed; model and AdamW state come from the checkpoint. N straight steps and
// k + resume + (N-k) steps give the same weights.
#include "pretext/core/training_job.h"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "pretext/core/fs_util.h"
#include "pretext/core/presets.h"
#include "pretext/core/run_dir.h"
#include "pretext/core/street_sim.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pretext::core {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr std::uint64_t kProbeSalt = 0x5EEDBEEFCAFEull;

// ---- model -----------------------------------------------------------------------------

struct PointEncoderImpl : torch::nn::Module {
  PointEncoderImpl(int width, int featureDim, int bins) {
    l1 = register_module("l1", torch::nn::Linear(3, width));
    l2 = register_module("l2", torch::nn::Linear(width, width));
    l3 = register_module("l3", torch::nn::Linear(2 * width, width));
    l4 = register_module("l4", torch::nn::Linear(width, featureDim));
    c1 = register_module("cls1", torch::nn::Linear(2 * featureDim, width));
    c2 = register_module("cls2", torch::nn::Linear(width, bins));
  }
  // [B, N, 3] metres -> per-point features [B, N, F]. Each point's feature depends on its
  // own coordinates and on a max-pooled scene context (PointNet with a global feature).
  torch::Tensor forward(const torch::Tensor& xyz) {
    auto h = torch::relu(l2(torch::relu(l1(xyz * (1.0 / 20.0)))));
    auto g = std::get<0>(h.max(1, /*keepdim=*/true)).expand_as(h);
    return l4(torch::relu(l3(torch::cat({h, g}, 2))));
  }
  // Transform classifier on pooled features: [B, N, F] -> [B, bins].
  torch::Tensor classify(const torch::Tensor& feats) {
    auto pooled = torch::cat({std::get<0>(feats.max(1)), feats.mean(1)}, 1);
    return c2(torch::relu(c1(pooled)));
  }
  torch::nn::Linear l1{nullptr}, l2{nullptr}, l3{nullptr}, l4{nullptr}, c1{nullptr}, c2{nullptr};
};
TORCH_MODULE(PointEncoder);

// ---- augmentation ------------------------------------------------------------------------

// A sampled similarity transform p' = s * R(angle) * F * p + t with its exact class label.
struct ViewTransform {
  double angle = 0;
  std::int64_t bin = 0;
  double scale = 1;
  bool flip = false;
  double t[3] = {0, 0, 0};

  void apply(const float* in, float* out, std::size_t n) const {
    const double c = std::cos(angle) * scale, s = std::sin(angle) * scale;
    for (std::size_t i = 0; i < n; ++i) {
      const double x = in[3 * i], y = flip ? -in[3 * i + 1] : in[3 * i + 1], z = in[3 * i + 2];
      out[3 * i] = static_cast<float>(c * x - s * y + t[0]);
      out[3 * i + 1] = static_cast<float>(s * x + c * y + t[1]);
      out[3 * i + 2] = static_cast<float>(scale * z + t[2]);
    }
  }
};

struct AugmentSettings {
  bool rotation, translation, scale, flip;
  double rotRange, transMax, scaleMin, scaleMax, flipProb, jitter;
  std::int64_t bins;

  explicit AugmentSettings(const Config& c)
      : rotation(c.getBool("augment.rotation.enabled")),
        translation(c.getBool("augment.translation.enabled")),
        scale(c.getBool("augment.scale.enabled")),
        flip(c.getBool("augment.flip.enabled")),
        rotRange(c.getFloat("augment.rotation.range_deg") * kPi / 180.0),
        transMax(c.getFloat("augment.translation.max_m")),
        scaleMin(c.getFloat("augment.scale.min")),
        scaleMax(c.getFloat("augment.scale.max")),
        flipProb(c.getFloat("augment.flip.prob")),
        jitter(c.getFloat("augment.jitter_m")),
        bins(c.getInt("objective.ebc.bins")) {}

  // The rotation angle is the centre of a uniformly drawn bin, so the label is exact.
  ViewTransform sample(std::mt19937_64& rng) const {
    std::uniform_real_distribution<double> U(0.0, 1.0);
    ViewTransform v;
    if (rotation) {
      v.bin = std::uniform_int_distribution<std::int64_t>(0, bins - 1)(rng);
      const double width = 2 * rotRange / static_cast<double>(bins);
      v.angle = -rotRange + (static_cast<double>(v.bin) + 0.5) * width;
    }
    if (translation)
      for (double& t : v.t) t = (2 * U(rng) - 1) * transMax;
    if (scale) v.scale = scaleMin + (scaleMax - scaleMin) * U(rng);
    if (flip) v.flip = U(rng) < flipProb;
    return v;
  }
};

// ---- data --------------------------------------------------------------------------------

class ScanSource {
 public:
  explicit ScanSource(const Config& c) : m_seed(static_cast<std::uint64_t>(c.getInt("experiment.seed"))) {
    m_sim.beams = static_cast<int>(c.getInt("data.sim.beams"));
    m_sim.azimuthSteps = static_cast<int>(c.getInt("data.sim.azimuth_steps"));
    m_sim.maxRange = c.getFloat("data.sim.max_range");
    m_sim.rangeNoise = c.getFloat("data.sim.range_noise");
    m_sim.objects = static_cast<int>(c.getInt("data.sim.objects"));
    if (c.getString("data.source") == "files") {
      const std::string dir = c.getString("data.path");
      std::error_code ec;
      if (fs::is_regular_file(dir, ec)) {
        m_files.push_back(dir);
      } else {
        for (const auto& e : fs::directory_iterator(dir, ec))
          if (e.path().extension() == ".bin") m_files.push_back(e.path().string());
      }
      std::sort(m_files.begin(), m_files.end());
      if (m_files.empty()) throw std::runtime_error("data.path: no .bin scans in " + dir);
    }
  }
  LidarScan scan(std::uint64_t key) const {
    if (m_files.empty()) return simulateStreetScan(m_sim, mixSeed(m_seed, key));
    const std::string& f = m_files[mixSeed(m_seed, key) % m_files.size()];
    LidarScan s;
    std::size_t dropped = 0;
    std::string err;
    if (!readKittiBin(f, s, dropped, err)) throw std::runtime_error(err);
    return s;
  }

 private:
  std::uint64_t m_seed;
  StreetSimOptions m_sim;
  std::vector<std::string> m_files;
};

std::vector<std::size_t> samplePoints(std::size_t available, std::size_t wanted,
                                      std::mt19937_64& rng) {
  std::vector<std::size_t> idx(wanted);
  if (available >= wanted) {
    std::vector<std::size_t> all(available);
    for (std::size_t i = 0; i < available; ++i) all[i] = i;
    for (std::size_t i = 0; i < wanted; ++i) {
      std::uniform_int_distribution<std::size_t> d(i, available - 1);
      std::swap(all[i], all[d(rng)]);
      idx[i] = all[i];
    }
  } else {
    std::uniform_int_distribution<std::size_t> d(0, available - 1);
    for (auto& i : idx) i = d(rng);
  }
  return idx;
}

struct Batch {
  torch::Tensor view1, view2;  // [B, N, 3]
  torch::Tensor bin1, bin2;    // [B]
  torch::Tensor pairs;         // [B, P] indices of matched points
};

struct ProbeSet {
  std::vector<float> xyz, height, intensity;
  torch::Tensor view1, view2;
};

// ---- metrics window ----------------------------------------------------------------------

class MetricWindow {
 public:
  void add(const std::string& key, double v) {
    auto& e = m_sums[key];
    e.first += v;
    e.second += 1;
  }
  std::vector<MetricRow> flush(int segment, std::int64_t step, double wall) {
    std::vector<MetricRow> rows;
    for (auto& [k, e] : m_sums)
      if (e.second > 0) rows.push_back({segment, step, wall, k, e.first / e.second});
    m_sums.clear();
    return rows;
  }

 private:
  std::map<std::string, std::pair<double, int>> m_sums;
};

}  // namespace

// ---- job ---------------------------------------------------------------------------------

struct TrainingJob::Impl {
  Config config = Config::defaults();
  std::unique_ptr<RunDirWriter> writer;
  std::int64_t startStep = 0;
  std::int64_t targetStep = 0;
  std::int64_t maxSteps = 0;
  double wallOffset = 0;  // wall seconds of earlier segments
  bool resumed = false;
  std::string checkpointDir;

  PointEncoder model{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;

  void buildModel() {
    torch::manual_seed(static_cast<std::uint64_t>(config.getInt("experiment.seed")));
    model = PointEncoder(static_cast<int>(config.getInt("model.width")),
                         static_cast<int>(config.getInt("model.feature_dim")),
                         static_cast<int>(config.getInt("objective.ebc.bins")));
    optimizer = std::make_unique<torch::optim::AdamW>(
        model->parameters(), torch::optim::AdamWOptions(config.getFloat("trainer.lr"))
                                 .weight_decay(config.getFloat("trainer.weight_decay"))
                                 .betas({0.9, 0.999}));
  }

  double lrAt(std::int64_t step) const {
    const double peak = config.getFloat("trainer.lr");
    const std::int64_t warm = config.getInt("trainer.warmup_steps");
    if (step <= warm && warm > 0) return peak * static_cast<double>(step) / static_cast<double>(warm);
    if (config.getString("trainer.lr_schedule") == "constant") return peak;
    const double span = static_cast<double>(std::max<std::int64_t>(1, maxSteps - warm));
    const double progress = std::min(1.0, static_cast<double>(step - warm) / span);
    return peak * 0.5 * (1.0 + std::cos(kPi * progress));
  }

  Batch makeBatch(const ScanSource& source, std::int64_t step) const {
    const auto B = config.getInt("trainer.batch_size");
    const auto N = static_cast<std::size_t>(config.getInt("data.points_per_scan"));
    const auto P = static_cast<std::size_t>(config.getInt("objective.pnce.pairs"));
    const AugmentSettings aug(config);
    std::mt19937_64 rng(mixSeed(static_cast<std::uint64_t>(config.getInt("experiment.seed")),
                                static_cast<std::uint64_t>(step)));
    Batch b;
    b.view1 = torch::empty({B, static_cast<long>(N), 3});
    b.view2 = torch::empty({B, static_cast<long>(N), 3});
    b.bin1 = torch::empty({B}, torch::kLong);
    b.bin2 = torch::empty({B}, torch::kLong);
    b.pairs = torch::empty({B, static_cast<long>(P)}, torch::kLong);
    std::normal_distribution<float> jitter(0.0f, static_cast<float>(aug.jitter));
    for (std::int64_t i = 0; i < B; ++i) {
      LidarScan scan = source.scan((static_cast<std::uint64_t>(step) << 16) | static_cast<std::uint64_t>(i));
      auto idx = samplePoints(scan.size(), N, rng);
      std::vector<float> base(N * 3);
      for (std::size_t k = 0; k < N; ++k)
        for (int d = 0; d < 3; ++d) base[3 * k + d] = scan.xyz[3 * idx[k] + d];
      const ViewTransform t1 = aug.sample(rng), t2 = aug.sample(rng);
      t1.apply(base.data(), b.view1[i].data_ptr<float>(), N);
      t2.apply(base.data(), b.view2[i].data_ptr<float>(), N);
      if (aug.jitter > 0) {
        float* v1 = b.view1[i].data_ptr<float>();
        float* v2 = b.view2[i].data_ptr<float>();
        for (std::size_t k = 0; k < 3 * N; ++k) {
          v1[k] += jitter(rng);
          v2[k] += jitter(rng);
        }
      }
      b.bin1[i] = t1.bin;
      b.bin2[i] = t2.bin;
      auto pairIdx = samplePoints(N, P, rng);
      auto* pp = b.pairs[i].data_ptr<std::int64_t>();
      for (std::size_t k = 0; k < P; ++k) pp[k] = static_cast<std::int64_t>(pairIdx[k]);
    }
    return b;
  }

  ProbeSet makeProbe(const ScanSource& source) const {
    const auto N = static_cast<std::size_t>(config.getInt("data.points_per_scan"));
    std::mt19937_64 rng(mixSeed(static_cast<std::uint64_t>(config.getInt("experiment.seed")), kProbeSalt));
    LidarScan scan = source.scan(kProbeSalt);
    auto idx = samplePoints(scan.size(), N, rng);
    ProbeSet p;
    p.xyz.resize(N * 3);
    for (std::size_t k = 0; k < N; ++k) {
      for (int d = 0; d < 3; ++d) p.xyz[3 * k + d] = scan.xyz[3 * idx[k] + d];
      p.height.push_back(scan.xyz[3 * idx[k] + 2]);
      p.intensity.push_back(scan.intensity[idx[k]]);
    }
    const AugmentSettings aug(config);
    const ViewTransform t1 = aug.sample(rng), t2 = aug.sample(rng);
    p.view1 = torch::empty({1, static_cast<long>(N), 3});
    p.view2 = torch::empty({1, static_cast<long>(N), 3});
    t1.apply(p.xyz.data(), p.view1.data_ptr<float>(), N);
    t2.apply(p.xyz.data(), p.view2.data_ptr<float>(), N);
    return p;
  }

  // Per-point relative discrepancy between the features of corresponding points of the
  // two probe views: |f1 - f2| / mean(|f1|, |f2|). Zero for a perfectly equivariant map.
  std::shared_ptr<PointSnapshot> snapshot(const ProbeSet& probe, std::int64_t step) {
    torch::NoGradGuard ng;
    auto f1 = model->forward(probe.view1)[0];
    auto f2 = model->forward(probe.view2)[0];
    auto err = (f1 - f2).norm(2, 1) / ((f1.norm(2, 1) + f2.norm(2, 1)) * 0.5 + 1e-8);
    err = err.contiguous();
    auto snap = std::make_shared<PointSnapshot>();
    snap->step = step;
    snap->xyz = probe.xyz;
    snap->fields["equiv_error"] = std::vector<float>(err.data_ptr<float>(), err.data_ptr<float>() + err.numel());
    snap->fields["height"] = probe.height;
    snap->fields["intensity"] = probe.intensity;
    return snap;
  }

  void saveCheckpoint(std::int64_t step, double wall) {
    std::string err;
    const std::string dir = writer->beginCheckpoint(step, err);
    if (dir.empty()) throw std::runtime_error(err);
    torch::save(model, dir + "/model.pt");
    torch::save(*optimizer, dir + "/optimizer.pt");
    json state{{"step", step}, {"wall_s", wall}, {"segment", writer->segment()},
               {"format_version", kRunFormatVersion}};
    if (!writeFileAtomic(dir + "/state.json", state.dump(2) + "\n", err) ||
        !writer->commitCheckpoint(step, static_cast<int>(config.getInt("trainer.keep_checkpoints")), err))
      throw std::runtime_error(err);
    writer->appendEvent("checkpoint", "\"step\":" + std::to_string(step), err);
  }

  void loadCheckpoint() {
    torch::load(model, checkpointDir + "/model.pt");
    torch::load(*optimizer, checkpointDir + "/optimizer.pt");
    std::string text, err;
    if (!readFile(checkpointDir + "/state.json", text, err)) throw std::runtime_error(err);
    wallOffset = json::parse(text).value("wall_s", 0.0);
  }

  RunStatus run(ControlBlock& control, EventSink& sink);
};

RunStatus TrainingJob::Impl::run(ControlBlock& control, EventSink& sink) {
  RunStatus st;
  st.maxSteps = maxSteps;
  st.segment = writer->segment();
  st.pid = ::getpid();
  st.host = hostName();
  st.step = startStep;
  std::string err;
  auto publish = [&](RunPhase phase) {
    st.phase = phase;
    st.updatedAt = unixNow();
    std::string e;
    if (!writer->writeStatus(st, e)) sink.onLog(LogLevel::Warning, e);
    sink.onStatus(st);
  };
  auto log = [&](LogLevel l, const std::string& msg) {
    sink.onLog(l, msg);
    std::string e;
    writer->appendEvent("log", "\"level\":" + std::to_string(static_cast<int>(l)) + ",\"message\":" + json(msg).dump(), e);
  };

  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto wall = [&] { return wallOffset + std::chrono::duration<double>(Clock::now() - t0).count(); };
  std::int64_t step = startStep;
  try {
    buildModel();
    if (resumed && !checkpointDir.empty()) {
      loadCheckpoint();
      log(LogLevel::Info, "resumed from checkpoint at step " + std::to_string(startStep));
    }
    writer->appendEvent(resumed ? "resume" : "start",
                        "\"from_step\":" + std::to_string(startStep) + ",\"target_step\":" +
                            std::to_string(targetStep),
                        err);
    ScanSource source(config);
    const ProbeSet probe = makeProbe(source);
    publish(RunPhase::Running);
    if (!resumed) {
      auto snap = snapshot(probe, 0);
      if (!writer->writeSnapshot(*snap, err)) log(LogLevel::Warning, err);
      sink.onSnapshot(snap);
    }

    const auto logEvery = config.getInt("trainer.log_every");
    const auto ckptEvery = config.getInt("trainer.checkpoint_every");
    const auto snapEvery = config.getInt("trainer.snapshot_every");
    const double tau = config.getFloat("objective.pnce.temperature");
    const double wP = config.getFloat("objective.pnce.weight");
    const double wC = (config.getBool("augment.rotation.enabled") ? 1.0 : 0.0) * config.getFloat("objective.ebc.weight");
    const double clip = config.getFloat("trainer.grad_clip");
    const auto N = config.getInt("data.points_per_scan");
    const auto B = config.getInt("trainer.batch_size");
    MetricWindow window;
    double rate = 0;
    auto lastStatus = Clock::now();
    std::int64_t lastCheckpoint = startStep;
    bool stopped = false;

    model->train();
    while (step < targetStep) {
      if (control.stopRequested()) {
        stopped = true;
        break;
      }
      if (control.paused()) {
        publish(RunPhase::Paused);
        writer->appendEvent("pause", "\"step\":" + std::to_string(step), err);
        control.waitWhilePaused();
        if (control.stopRequested()) {
          stopped = true;
          break;
        }
        writer->appendEvent("unpause", "\"step\":" + std::to_string(step), err);
        publish(RunPhase::Running);
      }
      const auto ts = Clock::now();
      const std::int64_t next = step + 1;
      Batch batch = makeBatch(source, next);
      const double lr = lrAt(next);
      for (auto& g : optimizer->param_groups())
        static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);

      auto f1 = model->forward(batch.view1);
      auto f2 = model->forward(batch.view2);
      const auto F = f1.size(2);
      auto gidx = batch.pairs.unsqueeze(2).expand({B, batch.pairs.size(1), F});
      auto a = torch::nn::functional::normalize(f1.gather(1, gidx), torch::nn::functional::NormalizeFuncOptions().dim(2));
      auto b = torch::nn::functional::normalize(f2.gather(1, gidx), torch::nn::functional::NormalizeFuncOptions().dim(2));
      auto logits = torch::bmm(a, b.transpose(1, 2)) / tau;  // [B, P, P]
      const auto P = logits.size(1);
      auto target = torch::arange(P, torch::kLong).repeat({B});
      // PointInfoNCE as in E-SSL3D: summed over matched pairs, averaged over scans.
      auto pnce = torch::nn::functional::cross_entropy(
                      logits.reshape({B * P, P}), target,
                      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
                  static_cast<double>(B);
      auto cls1 = model->classify(f1), cls2 = model->classify(f2);
      auto ebc = 0.5 * (torch::nn::functional::cross_entropy(cls1, batch.bin1) +
                        torch::nn::functional::cross_entropy(cls2, batch.bin2));
      auto total = wP * pnce + wC * ebc;
      if (!std::isfinite(total.item<double>()))
        throw std::runtime_error("loss became non-finite at step " + std::to_string(next) +
                                 " (try a smaller trainer.lr)");
      optimizer->zero_grad();
      total.backward();
      double gradNorm = clip > 0 ? torch::nn::utils::clip_grad_norm_(model->parameters(), clip)
                                 : torch::nn::utils::clip_grad_norm_(model->parameters(), 1e30);
      optimizer->step();
      step = next;

      {
        torch::NoGradGuard ng;
        window.add("loss/total", total.item<double>());
        window.add("loss/pnce", pnce.item<double>());
        window.add("loss/ebc", ebc.item<double>());
        window.add("equiv/match_top1", (logits.argmax(2) == torch::arange(P, torch::kLong)).to(torch::kFloat).mean().item<double>());
        window.add("equiv/rot_cls_acc", 0.5 * ((cls1.argmax(1) == batch.bin1).to(torch::kFloat).mean().item<double>() +
                                                 (cls2.argmax(1) == batch.bin2).to(torch::kFloat).mean().item<double>()));
        window.add("train/grad_norm", gradNorm);
        window.add("train/lr", lr);
      }
      const double dt = std::chrono::duration<double>(Clock::now() - ts).count();
      rate = rate == 0 ? 1.0 / dt : 0.9 * rate + 0.1 / dt;
      st.step = step;
      st.stepsPerSec = rate;
      st.etaSec = rate > 0 ? static_cast<double>(targetStep - step) / rate : -1;

      const bool last = step == targetStep;
      if (step % logEvery == 0 || last) {
        window.add("perf/steps_per_sec", rate);
        window.add("perf/points_per_sec", rate * static_cast<double>(B * N * 2));
        auto rows = window.flush(writer->segment(), step, wall());
        if (!writer->appendMetrics(rows, err)) throw std::runtime_error(err);
        sink.onMetrics(rows);
      }
      if (step % snapEvery == 0 || control.takeSnapshotRequest() || last) {
        auto snap = snapshot(probe, step);
        double mean = 0;
        for (float e : snap->fields["equiv_error"]) mean += e;
        mean /= static_cast<double>(std::max<std::size_t>(1, snap->size()));
        std::vector<MetricRow> rows{{writer->segment(), step, wall(), "equiv/probe_err", mean}};
        if (!writer->appendMetrics(rows, err)) throw std::runtime_error(err);
        sink.onMetrics(rows);
        if (!writer->writeSnapshot(*snap, err)) log(LogLevel::Warning, err);
        sink.onSnapshot(snap);
      }
      if (step % ckptEvery == 0 || last) {
        saveCheckpoint(step, wall());
        lastCheckpoint = step;
      }
      // Heartbeat: status.json at most twice a second, the in-memory status every step.
      if (Clock::now() - lastStatus > std::chrono::milliseconds(500)) {
        lastStatus = Clock::now();
        publish(RunPhase::Running);
      } else {
        sink.onStatus(st);
      }
    }
    if (lastCheckpoint != step) saveCheckpoint(step, wall());
    const bool finished = !stopped && step >= maxSteps;
    writer->appendEvent(finished ? "finish" : "stop", "\"step\":" + std::to_string(step), err);
    log(LogLevel::Info, std::string(finished ? "finished" : "stopped") + " at step " + std::to_string(step));
    publish(finished ? RunPhase::Finished : RunPhase::Stopped);
  } catch (const c10::Error& e) {
    st.error = std::string("LibTorch error: ") + e.what_without_backtrace();
  } catch (const std::exception& e) {
    st.error = e.what();
  }
  if (!st.error.empty()) {
    log(LogLevel::Error, "run failed at step " + std::to_string(step) + ": " + st.error);
    writer->appendEvent("fail", "\"step\":" + std::to_string(step) + ",\"error\":" + json(st.error).dump(), err);
    publish(RunPhase::Failed);
  }
  return st;
}

TrainingJob::TrainingJob(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
TrainingJob::~TrainingJob() = default;
const std::string& TrainingJob::runDir() const { return m_impl->writer->dir(); }
const Config& TrainingJob::config() const { return m_impl->config; }
std::int64_t TrainingJob::startStep() const { return m_impl->startStep; }
std::int64_t TrainingJob::targetStep() const { return m_impl->targetStep; }
RunStatus TrainingJob::run(ControlBlock& control, EventSink& sink) { return m_impl->run(control, sink); }

std::unique_ptr<TrainingJob> TrainingJob::prepare(const LaunchRequest& req,
                                                  std::vector<ConfigIssue>& issues,
                                                  std::string& error) {
  auto impl = std::make_unique<Impl>();
  if (!req.resumeDir.empty()) {
    if (!req.overrides.empty()) {
      issues.push_back({"", "--set cannot change the configuration of an existing run (" +
                                req.resumeDir + "); start a new run instead"});
      return nullptr;
    }
    if (!isRunDir(req.resumeDir)) {
      error = req.resumeDir + ": not a Pretext run directory (expected run.json, config.yaml, status.json)";
      return nullptr;
    }
    auto cfg = Config::load(req.resumeDir + "/config.yaml", {}, issues);
    if (!cfg) return nullptr;
    impl->config = *cfg;
    impl->resumed = true;
    std::string ckdir;
    impl->startStep = latestCheckpoint(req.resumeDir, &ckdir).value_or(0);
    impl->checkpointDir = ckdir;
    impl->maxSteps = req.maxSteps > 0 ? req.maxSteps : impl->config.getInt("trainer.max_steps");
    impl->targetStep = impl->maxSteps;
    if (req.untilStep > 0) impl->targetStep = std::min(impl->targetStep, req.untilStep);
    if (impl->startStep >= impl->targetStep) {
      error = req.resumeDir + ": already at step " + std::to_string(impl->startStep) +
              " (target " + std::to_string(impl->targetStep) +
              "); pass --max-steps with a larger number to train further";
      return nullptr;
    }
    impl->writer = RunDirWriter::openForResume(req.resumeDir, impl->startStep, error);
    if (!impl->writer) return nullptr;
    if (req.maxSteps > 0) {
      std::string e;
      impl->writer->appendEvent("target_changed", "\"max_steps\":" + std::to_string(req.maxSteps), e);
    }
  } else {
    std::string text, source;
    if (!resolveConfigSource(req.configOrPreset, text, source, error)) {
      issues.push_back({"", error});
      error.clear();
      return nullptr;
    }
    std::vector<std::string> overrides = req.overrides;
    if (req.maxSteps > 0) overrides.push_back("trainer.max_steps=" + std::to_string(req.maxSteps));
    auto cfg = Config::parse(text, source, overrides, issues);
    if (!cfg) return nullptr;
    impl->config = *cfg;
    impl->maxSteps = impl->config.getInt("trainer.max_steps");
    impl->targetStep = req.untilStep > 0 ? std::min(req.untilStep, impl->maxSteps) : impl->maxSteps;
    impl->writer = RunDirWriter::create(req.runsRoot, impl->config, error);
    if (!impl->writer) return nullptr;
  }
  return std::unique_ptr<TrainingJob>(new TrainingJob(std::move(impl)));
}

void configureThreads(int threads) {
  int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
}

namespace {
// Walks a module archive: tensors at the leaves, sub-archives for submodules.
bool collectTensors(torch::serialize::InputArchive& ar, const std::string& prefix,
                    std::map<std::string, torch::Tensor>& out) {
  for (const auto& key : ar.keys()) {
    torch::Tensor t;
    if (ar.try_read(key, t)) {
      out[prefix + key] = t;
      continue;
    }
    torch::serialize::InputArchive sub;
    if (!ar.try_read(key, sub)) return false;
    if (!collectTensors(sub, prefix + key + ".", out)) return false;
  }
  return true;
}
}  // namespace

double maxWeightDifference(const std::string& a, const std::string& b, std::string& error) {
  try {
    torch::serialize::InputArchive ia, ib;
    ia.load_from(a + "/model.pt");
    ib.load_from(b + "/model.pt");
    std::map<std::string, torch::Tensor> ta, tb;
    if (!collectTensors(ia, "", ta) || !collectTensors(ib, "", tb)) {
      error = "unreadable model archive";
      return -1;
    }
    if (ta.size() != tb.size() || ta.empty()) {
      error = "the checkpoints hold different parameter sets";
      return -1;
    }
    double worst = 0;
    for (const auto& [name, t] : ta) {
      auto it = tb.find(name);
      if (it == tb.end() || !t.sizes().equals(it->second.sizes())) {
        error = "parameter '" + name + "' differs in name or shape";
        return -1;
      }
      worst = std::max(worst, (t - it->second).abs().max().item<double>());
    }
    return worst;
  } catch (const std::exception& e) {
    error = e.what();
    return -1;
  }
}

}  // namespace pretext::core
