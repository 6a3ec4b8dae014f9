// The generic training loop: control (stop / pause / snapshot requests), learning-rate
// schedule, metrics windows, status heartbeat, checkpoints and snapshots. What is trained
// is an Experiment chosen by experiment.kind (lidar_ssl_experiment.cpp,
// lm_sink_experiment.cpp).
//
// Reproducibility: experiments draw every random number of step s from a generator seeded
// by mixSeed(seed, s); model and AdamW state come from the checkpoint. N straight steps
// and k + resume + (N-k) steps give the same weights.
#include "pretext/core/training_job.h"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "experiment.h"
#include "pretext/core/fs_util.h"
#include "pretext/core/presets.h"
#include "pretext/core/run_dir.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pretext::core {
namespace {
constexpr double kPi = 3.14159265358979323846;

std::unique_ptr<Experiment> makeExperiment(const Config& config) {
  const std::string kind = config.getString("experiment.kind");
  if (kind == "lm_sink") return makeLmSinkExperiment(config);
  if (kind == "lidar_downstream") return makeLidarDownstreamExperiment(config);
  return makeLidarSslExperiment(config);
}
}  // namespace

struct TrainingJob::Impl {
  Config config = Config::defaults();
  std::unique_ptr<RunDirWriter> writer;
  std::int64_t startStep = 0;
  std::int64_t targetStep = 0;
  std::int64_t maxSteps = 0;
  double wallOffset = 0;  // wall seconds of earlier segments
  bool resumed = false;
  std::string checkpointDir;
  std::unique_ptr<Experiment> experiment;

  double lrAt(std::int64_t step) const {
    const double peak = config.getFloat("trainer.lr");
    const std::int64_t warm = config.getInt("trainer.warmup_steps");
    if (step <= warm && warm > 0)
      return peak * static_cast<double>(step) / static_cast<double>(warm);
    if (config.getString("trainer.lr_schedule") == "constant") return peak;
    const double span = static_cast<double>(std::max<std::int64_t>(1, maxSteps - warm));
    const double progress = std::min(1.0, static_cast<double>(step - warm) / span);
    return peak * 0.5 * (1.0 + std::cos(kPi * progress));
  }

  void saveCheckpoint(std::int64_t step, double wall) {
    std::string err;
    const std::string dir = writer->beginCheckpoint(step, err);
    if (dir.empty()) throw std::runtime_error(err);
    experiment->save(dir);
    json state{{"step", step},
               {"wall_s", wall},
               {"segment", writer->segment()},
               {"kind", config.getString("experiment.kind")},
               {"format_version", kRunFormatVersion}};
    if (!writeFileAtomic(dir + "/state.json", state.dump(2) + "\n", err) ||
        !writer->commitCheckpoint(step, static_cast<int>(config.getInt("trainer.keep_checkpoints")),
                                  err))
      throw std::runtime_error(err);
    writer->appendEvent("checkpoint", "\"step\":" + std::to_string(step), err);
  }

  void loadCheckpoint() {
    experiment->load(checkpointDir);
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
    writer->appendEvent(
        "log",
        "\"level\":" + std::to_string(static_cast<int>(l)) + ",\"message\":" + json(msg).dump(), e);
  };

  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto wall = [&] { return wallOffset + std::chrono::duration<double>(Clock::now() - t0).count(); };
  std::int64_t step = startStep;
  try {
    // Every caller (CLI main, the GUI's trainer thread, study runner, tests) gets the
    // configured intra-op threads.
    configureThreads(static_cast<int>(config.getInt("trainer.threads")));
    experiment = makeExperiment(config);
    experiment->build();
    if (resumed && !checkpointDir.empty()) {
      loadCheckpoint();
      log(LogLevel::Info, "resumed from checkpoint at step " + std::to_string(startStep));
    }
    writer->appendEvent(resumed ? "resume" : "start",
                        "\"from_step\":" + std::to_string(startStep) +
                            ",\"target_step\":" + std::to_string(targetStep),
                        err);
    publish(RunPhase::Running);

    // Evaluation: metrics go to the run and the sink, snapshots to disk and the sink.
    auto evaluate = [&](std::int64_t at) {
      Evaluation ev = experiment->evaluate(at);
      std::vector<MetricRow> rows;
      for (const auto& [k, v] : ev.metrics) rows.push_back({writer->segment(), at, wall(), k, v});
      if (!rows.empty()) {
        if (!writer->appendMetrics(rows, err)) throw std::runtime_error(err);
        sink.onMetrics(rows);
      }
      if (ev.points) {
        if (!writer->writeSnapshot(*ev.points, err)) log(LogLevel::Warning, err);
        sink.onSnapshot(ev.points);
      }
      if (ev.attention) {
        if (!writer->writeAttentionSnapshot(*ev.attention, err)) log(LogLevel::Warning, err);
        sink.onAttention(ev.attention);
      }
    };
    if (!resumed) evaluate(0);

    const auto logEvery = config.getInt("trainer.log_every");
    const auto ckptEvery = config.getInt("trainer.checkpoint_every");
    const auto snapEvery = config.getInt("trainer.snapshot_every");
    const std::string perItem = std::string("perf/") + experiment->itemName() + "_per_sec";
    MetricWindow window;
    double rate = 0;
    auto lastStatus = Clock::now();
    std::int64_t lastCheckpoint = startStep;
    bool stopped = false;

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
      const double lr = lrAt(next);
      experiment->trainStep(next, lr, window);
      window.add("train/lr", lr);
      step = next;

      const double dt = std::chrono::duration<double>(Clock::now() - ts).count();
      rate = rate == 0 ? 1.0 / dt : 0.9 * rate + 0.1 / dt;
      st.step = step;
      st.stepsPerSec = rate;
      st.etaSec = rate > 0 ? static_cast<double>(targetStep - step) / rate : -1;

      const bool last = step == targetStep;
      if (step % logEvery == 0 || last) {
        window.add("perf/steps_per_sec", rate);
        window.add(perItem, rate * experiment->itemsPerStep());
        auto rows = window.flush(writer->segment(), step, wall());
        if (!writer->appendMetrics(rows, err)) throw std::runtime_error(err);
        sink.onMetrics(rows);
      }
      if (step % snapEvery == 0 || control.takeSnapshotRequest() || last) evaluate(step);
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
    log(LogLevel::Info,
        std::string(finished ? "finished" : "stopped") + " at step " + std::to_string(step));
    publish(finished ? RunPhase::Finished : RunPhase::Stopped);
  } catch (const c10::Error& e) {
    st.error = std::string("LibTorch error: ") + e.what_without_backtrace();
  } catch (const std::exception& e) {
    st.error = e.what();
  }
  if (!st.error.empty()) {
    log(LogLevel::Error, "run failed at step " + std::to_string(step) + ": " + st.error);
    writer->appendEvent(
        "fail", "\"step\":" + std::to_string(step) + ",\"error\":" + json(st.error).dump(), err);
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
RunStatus TrainingJob::run(ControlBlock& control, EventSink& sink) {
  return m_impl->run(control, sink);
}

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
      error = req.resumeDir +
              ": not a Pretext run directory (expected run.json, config.yaml, status.json)";
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
      error = req.resumeDir + ": already at step " + std::to_string(impl->startStep) + " (target " +
              std::to_string(impl->targetStep) +
              "); pass --max-steps with a larger number to train further";
      return nullptr;
    }
    impl->writer = RunDirWriter::openForResume(req.resumeDir, impl->startStep, error);
    if (!impl->writer) return nullptr;
    if (req.maxSteps > 0) {
      std::string e;
      impl->writer->appendEvent("target_changed", "\"max_steps\":" + std::to_string(req.maxSteps),
                                e);
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
    if (auto problem = checkLidarDataSource(impl->config)) {
      issues.push_back(*problem);
      return nullptr;
    }
    impl->writer = RunDirWriter::create(req.runsRoot, impl->config, error);
    if (!impl->writer) return nullptr;
  }
  return std::unique_ptr<TrainingJob>(new TrainingJob(std::move(impl)));
}

void configureThreads(int threads) {
  int n =
      threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
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
