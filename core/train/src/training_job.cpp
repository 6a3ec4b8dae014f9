// The generic training loop: control (stop / pause / snapshot requests), learning-rate
// schedule, metrics windows, status heartbeat, checkpoints and snapshots. What is trained
// is an Experiment chosen by experiment.kind (lidar_ssl_experiment.cpp,
// lm_sink_experiment.cpp).
//
// Reproducibility: experiments draw every random number of step s from a generator seeded
// by mixSeed(seed, s); model and AdamW state come from the checkpoint. N straight steps
// and k + resume + (N-k) steps give the same weights.
#include "pretext/train/training_job.h"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "communicator.h"
#include "experiment.h"
#include "lidar_common.h"
#include "pretext/data/fs_util.h"
#include "pretext/runs/presets.h"
#include "pretext/runs/run_dir.h"
#include "pretext/train/tensor_allocator.h"

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

// A data-parallel rank's own log, <run>/logs/rank-<r>.log: start, messages, parameter
// checksums at every logged step, the end. Best effort: a rank that cannot write there
// (no shared filesystem) still reports on stderr.
class RankLog {
 public:
  RankLog(const std::string& runDir, int rank) {
    std::error_code ec;
    fs::create_directories(runDir + "/logs", ec);
    path = runDir + "/logs/rank-" + std::to_string(rank) + ".log";
    out.open(path, std::ios::app);
  }
  bool ok() const { return out.is_open(); }
  void line(const std::string& text) {
    if (!out) return;
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "%.3f ", unixNow());
    out << stamp << text << '\n';
    out.flush();
  }
  std::string path;

 private:
  std::ofstream out;
};

// Small stable hash of the metric keys a rank logged (ranks must agree on them).
double keyHash(const std::vector<std::string>& keys) {
  std::uint32_t h = 2166136261u;
  for (const auto& k : keys)
    for (char c : k + '\n') h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return static_cast<double>(h & 0xFFFFF);  // exact in double even when summed over ranks
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
  // Why newer checkpoints were passed over (findCheckpoint); reported once the resumed
  // segment has begun.
  std::vector<std::string> checkpointWarnings;
  std::int64_t changedMaxSteps = 0;  // --max-steps given to a resume
  std::string runDir;
  std::unique_ptr<Experiment> experiment;
  // Data parallelism: null for a single process. Rank 0 (the lead) alone writes the run
  // directory; every rank keeps its own log.
  std::unique_ptr<Communicator> comm;
  std::unique_ptr<RankLog> rankLog;
  int localWorld = 1, cpusPerRank = 0;
  bool anyStop = false;
  bool volumeLogged = false;  // some rank asked to stop (agreed in the gradient all-reduce)
  bool lead() const { return !comm || comm->rank() == 0; }
  // Values changed while training ("apply at next step"), formatted as config.yaml has them; kept
  // in every checkpoint's state.json so a resumed run continues with them.
  std::map<std::string, std::string> liveOverrides;
  // The checkpoint's live overrides as prepare() found them ("key=value"); fixed after
  // prepare, so the GUI may read them while the trainer thread runs.
  std::vector<std::string> resumedOverrides;

  // Applies one mid-run change to the trainer's config and the experiment. Returns "" or
  // why it was refused (the run continues unchanged).
  std::string applyLiveChange(const std::string& key, const std::string& value) {
    if (!isLiveConfigKey(key))
      return key +
             " cannot change while the run trains (only the learning rate and the objective "
             "weights can); start a new run with it";
    std::vector<ConfigIssue> issues;
    auto next = config.with({key + "=" + value}, issues);
    if (!next)
      return issues.empty() ? key + ": invalid value '" + value + "'" : issues[0].toString();
    if (key != "trainer.lr") {
      std::string refused = experiment->setLiveValue(key, next->getFloat(key));
      if (!refused.empty()) return refused;
    }
    config = *next;
    liveOverrides[key] = formatValue(config.get(key));
    return {};
  }
  int rank() const { return comm ? comm->rank() : 0; }
  int world() const { return comm ? comm->world() : 1; }
  void event(const std::string& type, const std::string& payload) {
    std::string e;
    if (lead() && writer->writable()) writer->appendEvent(type, payload, e);
  }
  void reduceWindow(MetricWindow& window, std::int64_t step);
  void checkConsistency(std::int64_t step);

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

  // `window` holds the training metrics since the last logged step. A checkpoint between
  // two logged steps (a stop, --until-step) keeps them, so the resumed run logs the same
  // windows as a straight run.
  void saveCheckpoint(std::int64_t step, double wall, MetricWindow& window) {
    if (comm && !window.sums().empty()) {
      reduceWindow(window, step);  // the global partial window, kept by rank 0
      if (!lead()) window.sums().clear();
    }
    if (!lead()) return;
    std::string err;
    const std::string dir = writer->beginCheckpoint(step, err);
    if (dir.empty()) throw std::runtime_error(err);
    try {
      experiment->save(dir);
      json partial = json::object();
      for (const auto& [key, e] : window.sums()) partial[key] = {e.first, e.second};
      json state{{"step", step},
                 {"wall_s", wall},
                 {"segment", writer->segment()},
                 {"kind", config.getString("experiment.kind")},
                 {"world_size", world()},
                 {"format_version", kRunFormatVersion},
                 {"live_overrides", liveOverrides},
                 {"metric_window", partial},
                 {"manifest", true}};
      if (!writeFileAtomic(dir + "/state.json", state.dump(2) + "\n", err) ||
          !writer->commitCheckpoint(
              step, static_cast<int>(config.getInt("trainer.keep_checkpoints")), err))
        throw std::runtime_error(err);
    } catch (...) {
      writer->abandonCheckpoint(step);  // frees the space; the previous checkpoint stays latest
      throw;
    }
    event("checkpoint", "\"step\":" + std::to_string(step));
  }

  void loadCheckpoint(MetricWindow& window) {
    if (!lead() && !fs::exists(checkpointDir + "/state.json"))
      throw std::runtime_error("rank " + std::to_string(rank()) + " cannot read checkpoint " +
                               checkpointDir +
                               ": to resume, every rank needs the run directory on a shared "
                               "filesystem");
    experiment->load(checkpointDir);
    std::string text, err;
    if (!readFile(checkpointDir + "/state.json", text, err)) throw std::runtime_error(err);
    const json state = json::parse(text);
    wallOffset = state.value("wall_s", 0.0);
    // Mid-run changes made before this checkpoint continue into the new segment.
    const json live = state.value("live_overrides", json::object());
    for (const auto& [key, value] : live.items()) {
      const std::string refused = applyLiveChange(key, value.get<std::string>());
      if (!refused.empty())
        throw std::runtime_error(checkpointDir + "/state.json: live_overrides: " + refused);
    }
    // The partial metric window (rank 0 holds the global one, the others start empty).
    const json partial = state.value("metric_window", json::object());
    if (!partial.is_object())
      throw std::runtime_error(checkpointDir + "/state.json: metric_window: expected an object");
    if (lead())
      for (const auto& [key, e] : partial.items()) {
        if (!e.is_array() || e.size() != 2 || !e[0].is_number() || !e[1].is_number_integer())
          throw std::runtime_error(checkpointDir + "/state.json: metric_window: " + key +
                                   ": expected [sum, count]");
        window.sums()[key] = {e[0].get<double>(), e[1].get<int>()};
      }
  }

  RunStatus run(ControlBlock& control, EventSink& sink);
};

// Sums every rank's metric window so rank 0 logs the mean over the global batch. The key
// hash rides along: if the ranks logged different keys the sums are meaningless.
void TrainingJob::Impl::reduceWindow(MetricWindow& window, std::int64_t step) {
  auto& sums = window.sums();
  std::vector<std::string> keys;
  std::vector<double> packed;
  for (const auto& [k, e] : sums) {
    keys.push_back(k);
    packed.push_back(e.first);
    packed.push_back(e.second);
  }
  const double hash = keyHash(keys);
  packed.push_back(hash);
  comm->sum(packed);
  if (packed.back() != hash * world())
    throw std::runtime_error("data-parallel ranks logged different metric keys at step " +
                             std::to_string(step));
  std::size_t i = 0;
  for (auto& [k, e] : sums) {
    e.first = packed[i++];
    e.second = static_cast<int>(packed[i++]);
  }
}

// Data-parallel ranks apply the same averaged gradients to the same weights, so their
// parameters must be bitwise equal. Checked at every logged step (sum and sum of squares in
// double, minimum against maximum over the ranks) and written to each rank's log.
void TrainingJob::Impl::checkConsistency(std::int64_t step) {
  torch::NoGradGuard ng;
  double s1 = 0, s2 = 0;
  for (const auto& t : experiment->stateTensors()) {
    auto d = t.to(torch::kFloat64);
    s1 += d.sum().item<double>();
    s2 += (d * d).sum().item<double>();
  }
  char line[96];
  std::snprintf(line, sizeof line, "step %lld checksum %.17g %.17g", static_cast<long long>(step),
                s1, s2);
  if (rankLog) rankLog->line(line);
  std::vector<double> mins, maxs;
  comm->minMax({s1, s2}, mins, maxs);
  if (mins != maxs)
    throw std::runtime_error("data-parallel ranks diverged at step " + std::to_string(step) +
                             ": parameter checksums range over [" + std::to_string(mins[0]) + ", " +
                             std::to_string(maxs[0]) + "]");
}

RunStatus TrainingJob::Impl::run(ControlBlock& control, EventSink& sink) {
  RunStatus st;
  st.maxSteps = maxSteps;
  st.segment = writer ? writer->segment() : 1;
  st.pid = ::getpid();
  st.host = hostName();
  st.step = startStep;
  std::string err;
  // Writes status.json (rank 0, once the run's files are open). False with `e` when that
  // failed: a full disk, or a run folder deleted under the trainer.
  auto publish = [&](RunPhase phase, std::string* failure = nullptr) {
    st.phase = phase;
    st.updatedAt = unixNow();
    std::string e;
    bool ok = true;
    if (lead() && writer->writable()) {
      ok = writer->stillInPlace(e) && writer->writeStatus(st, e);
      if (!ok && failure) *failure = e;
      if (!ok && !failure) sink.onLog(LogLevel::Warning, e);
    }
    sink.onStatus(st);
    return ok;
  };
  auto publishOrFail = [&](RunPhase phase) {
    std::string e;
    if (!publish(phase, &e)) throw std::runtime_error(e);
  };
  auto log = [&](LogLevel l, const std::string& msg) {
    sink.onLog(l, msg);
    if (rankLog) rankLog->line(msg);
    event("log",
          "\"level\":" + std::to_string(static_cast<int>(l)) + ",\"message\":" + json(msg).dump());
  };

  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto wall = [&] { return wallOffset + std::chrono::duration<double>(Clock::now() - t0).count(); };
  std::int64_t step = startStep;
  try {
    // Every caller (CLI main, the GUI's trainer thread, study runner, tests) gets the
    // configured intra-op threads; data-parallel ranks on one host share its cores.
    int threads = static_cast<int>(config.getInt("trainer.threads"));
    if (comm && threads == 0)
      threads = cpusPerRank > 0
                    ? cpusPerRank
                    : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) /
                                      std::max(1, localWorld));
    configureThreads(threads);
    configureAllocator();
    experiment = makeExperiment(config);
    MetricWindow window;
    if (comm) {
      rankLog = std::make_unique<RankLog>(runDir, rank());
      if (!rankLog->ok())
        sink.onLog(LogLevel::Warning, "rank " + std::to_string(rank()) + ": cannot write " +
                                          rankLog->path + "; logging to stderr only");
      rankLog->line("rank " + std::to_string(rank()) + " of " + std::to_string(world()) + " on " +
                    hostName() + " pid " + std::to_string(::getpid()) + ", " +
                    std::to_string(threads) + " threads");
      experiment->setShard(rank(), world(), [&](const std::vector<torch::Tensor>& params) {
        if (!volumeLogged) {
          std::int64_t floats = 0;
          for (const auto& p : params) floats += p.numel();
          const auto buckets =
              1 + (floats + static_cast<std::int64_t>(params.size())) / Communicator::kBucketFloats;
          rankLog->line("gradient all-reduce: " + std::to_string(params.size()) + " tensors, " +
                        std::to_string(floats) + " floats per step in about " +
                        std::to_string(buckets) + " bucket(s)");
          volumeLogged = true;
        }
        const auto ts = Clock::now();
        anyStop = comm->averageGradients(params, control.stopRequested());
        window.add("perf/allreduce_ms",
                   1e3 * std::chrono::duration<double>(Clock::now() - ts).count());
      });
    }
    experiment->build();
    if (resumed && !checkpointDir.empty()) loadCheckpoint(window);
    // Only now, with the checkpoint loaded, does a resume touch the run's files.
    if (resumed && lead()) {
      if (!writer->beginSegment(startStep, err)) throw std::runtime_error(err);
      for (const auto& w : checkpointWarnings) {
        log(LogLevel::Warning, "checkpoint passed over: " + w);
        event("checkpoint_fallback",
              "\"step\":" + std::to_string(startStep) + ",\"reason\":" + json(w).dump());
      }
      if (changedMaxSteps > 0)
        event("target_changed", "\"max_steps\":" + std::to_string(changedMaxSteps));
    }
    if (resumed && !checkpointDir.empty())
      log(LogLevel::Info, "resumed from checkpoint at step " + std::to_string(startStep));
    if (comm) {
      comm->broadcast(experiment->stateTensors());  // rank 0's weights everywhere
      checkConsistency(startStep);
    }
    event(resumed ? "resume" : "start", "\"from_step\":" + std::to_string(startStep) +
                                            ",\"target_step\":" + std::to_string(targetStep) +
                                            ",\"world_size\":" + std::to_string(world()));
    publishOrFail(RunPhase::Running);

    // Evaluation (rank 0 only): metrics go to the run and the sink, snapshots to disk and
    // the sink.
    auto evaluate = [&](std::int64_t at) {
      if (!lead()) return;
      Evaluation ev = experiment->evaluate(at);
      std::vector<MetricRow> rows;
      for (const auto& [k, v] : ev.metrics) rows.push_back({writer->segment(), at, wall(), k, v});
      if (!rows.empty()) {
        roundAsLogged(rows);  // the window shows what a reopened run shows
        if (!writer->appendMetrics(rows, err)) throw std::runtime_error(err);
        sink.onMetrics(rows);
      }
      // A snapshot that cannot be written is a warning, unless the disk is full: then the
      // next checkpoint would fail too, so the run stops now with its last one intact.
      auto snapshotFailed = [&] {
        if (isDiskFull(err)) throw std::runtime_error(err);
        log(LogLevel::Warning, err);
      };
      if (ev.points) {
        if (!writer->writeSnapshot(*ev.points, err)) snapshotFailed();
        sink.onSnapshot(ev.points);
      }
      if (ev.attention) {
        if (!writer->writeAttentionSnapshot(*ev.attention, err)) snapshotFailed();
        sink.onAttention(ev.attention);
      }
    };
    if (!resumed) evaluate(0);

    const auto logEvery = config.getInt("trainer.log_every");
    const auto ckptEvery = config.getInt("trainer.checkpoint_every");
    const auto snapEvery = config.getInt("trainer.snapshot_every");
    const std::string perItem = std::string("perf/") + experiment->itemName() + "_per_sec";
    double rate = 0;
    auto lastStatus = Clock::now();
    std::int64_t lastCheckpoint = startStep;
    bool stopped = false;

    while (step < targetStep) {
      // A data-parallel run stops where the ranks agreed to (in the last all-reduce).
      if (comm ? anyStop : control.stopRequested()) {
        stopped = true;
        break;
      }
      if (!comm && control.paused()) {
        publishOrFail(RunPhase::Paused);
        event("pause", "\"step\":" + std::to_string(step));
        control.waitWhilePaused();
        if (control.stopRequested()) {
          stopped = true;
          break;
        }
        event("unpause", "\"step\":" + std::to_string(step));
        publishOrFail(RunPhase::Running);
      }
      const auto ts = Clock::now();
      const std::int64_t next = step + 1;
      // "Apply at next step": changes requested while the previous step ran.
      for (const auto& [key, value] : control.takeChanges()) {
        const std::string old = findSpec(key) ? formatValue(config.get(key)) : std::string();
        const std::string refused = comm ? std::string(
                                               "changes while training are not offered "
                                               "for data-parallel runs")
                                         : applyLiveChange(key, value);
        if (!refused.empty()) {
          log(LogLevel::Warning, "not applied: " + refused);
          continue;
        }
        const std::string now = liveOverrides[key];
        event("param_change", "\"step\":" + std::to_string(next) + ",\"key\":" + json(key).dump() +
                                  ",\"from\":" + json(old).dump() + ",\"to\":" + json(now).dump());
        log(LogLevel::Info, "step " + std::to_string(next) + ": " + key + " " + old + " -> " + now);
      }
      const double lr = lrAt(next);
      experiment->trainStep(next, lr, window);
      window.add("train/lr", lr);
      step = next;

      const double dt = std::chrono::duration<double>(Clock::now() - ts).count();
      rate = rate == 0 ? 1.0 / dt : 0.9 * rate + 0.1 / dt;
      st.step = step;
      st.stepsPerSec = rate;
      st.etaSec = rate > 0 ? static_cast<double>(targetStep - step) / rate : -1;

      // Training metrics are logged at multiples of log_every and at the true end; a stop or
      // --until-step in between keeps the open window in the checkpoint instead.
      const bool last = step == targetStep;
      if (step % logEvery == 0 || step == maxSteps) {
        window.add("perf/steps_per_sec", rate);
        window.add(perItem, rate * experiment->itemsPerStep());
        if (comm) {
          reduceWindow(window, step);
          checkConsistency(step);
        }
        auto rows = window.flush(st.segment, step, wall());
        if (lead()) {
          roundAsLogged(rows);
          if (!writer->appendMetrics(rows, err)) throw std::runtime_error(err);
          sink.onMetrics(rows);
        }
      }
      if (step % snapEvery == 0 || control.takeSnapshotRequest() || last) evaluate(step);
      if (step % ckptEvery == 0 || last) {
        saveCheckpoint(step, wall(), window);
        lastCheckpoint = step;
      }
      // Heartbeat: status.json at most twice a second, the in-memory status every step.
      if (Clock::now() - lastStatus > std::chrono::milliseconds(500)) {
        lastStatus = Clock::now();
        publishOrFail(RunPhase::Running);
      } else {
        sink.onStatus(st);
      }
    }
    if (lastCheckpoint != step) saveCheckpoint(step, wall(), window);
    const bool finished = !stopped && step >= maxSteps;
    event(finished ? "finish" : "stop", "\"step\":" + std::to_string(step));
    log(LogLevel::Info,
        std::string(finished ? "finished" : "stopped") + " at step " + std::to_string(step));
    publish(finished ? RunPhase::Finished : RunPhase::Stopped);
  } catch (const c10::Error& e) {
    st.error = std::string("LibTorch error: ") + e.what_without_backtrace();
  } catch (const std::exception& e) {
    st.error = e.what();
  }
  if (!st.error.empty()) {
    if (isDiskFull(st.error)) st.error = "no space left on the run's disk: " + st.error;
    log(LogLevel::Error, "run failed at step " + std::to_string(step) + ": " + st.error);
    event("fail", "\"step\":" + std::to_string(step) + ",\"error\":" + json(st.error).dump());
    publish(RunPhase::Failed);
  }
  releaseFreeMemory();
  return st;
}

TrainingJob::TrainingJob(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
TrainingJob::~TrainingJob() {
  m_impl.reset();       // the model and optimizer state go into the tensor cache ...
  releaseFreeMemory();  // ... which is then emptied: a finished job keeps nothing
}
const std::string& TrainingJob::runDir() const { return m_impl->runDir; }
int TrainingJob::rank() const { return m_impl->rank(); }
int TrainingJob::worldSize() const { return m_impl->world(); }
const Config& TrainingJob::config() const { return m_impl->config; }
const std::vector<std::string>& TrainingJob::resumedOverrides() const {
  return m_impl->resumedOverrides;
}
std::int64_t TrainingJob::startStep() const { return m_impl->startStep; }
std::int64_t TrainingJob::targetStep() const { return m_impl->targetStep; }
RunStatus TrainingJob::run(ControlBlock& control, EventSink& sink) {
  return m_impl->run(control, sink);
}

namespace {
// The mid-run changes stored with a checkpoint become part of the resumed job's config now,
// so config() shows what the run trains with; run() applies them to the experiment when it
// loads the checkpoint. A key that may not change mid-run is refused here, before anything
// is built from it.
bool readResumedOverrides(const std::string& checkpointDir, TrainingJob::Impl* impl,
                          std::vector<ConfigIssue>& issues, std::string& error) {
  const std::string path = checkpointDir + "/state.json";
  std::string text;
  if (!readFile(path, text, error)) return false;
  const json state = json::parse(text, nullptr, false);
  if (state.is_discarded() || !state.is_object()) {
    error = path + ": not valid JSON";
    return false;
  }
  const json live = state.value("live_overrides", json::object());
  if (!live.is_object()) {
    error = path + ": live_overrides: expected an object of key: value strings";
    return false;
  }
  std::vector<std::string> sets;
  for (const auto& [key, value] : live.items()) {
    if (!value.is_string()) {
      error = path + ": live_overrides: " + key + ": expected a string value";
      return false;
    }
    if (!isLiveConfigKey(key)) {
      error = path + ": live_overrides: " + key + " cannot change while a run trains";
      return false;
    }
    sets.push_back(key + "=" + value.get<std::string>());
  }
  if (sets.empty()) return true;
  auto next = impl->config.with(sets, issues);
  if (!next) {
    error = path + ": live_overrides do not apply to config.yaml";
    return false;
  }
  impl->config = *next;
  impl->resumedOverrides = sets;
  return true;
}

// The single-process preparation (and rank 0's): validate, then create or reopen the run
// directory. False with `issues` or `error` filled.
bool prepareLocal(const LaunchRequest& req, TrainingJob::Impl* impl,
                  std::vector<ConfigIssue>& issues, std::string& error) {
  const int world = req.distributed.world;
  auto checkShards = [&](const Config& c) {
    const auto batch = c.getInt("trainer.batch_size");
    if (world > 1 && batch % world != 0) {
      issues.push_back({"trainer.batch_size",
                        std::to_string(batch) + " examples cannot be split evenly over " +
                            std::to_string(world) + " data-parallel ranks; use a multiple of " +
                            std::to_string(world)});
      return false;
    }
    return true;
  };
  if (!req.resumeDir.empty()) {
    if (!req.overrides.empty()) {
      issues.push_back({"", "--set cannot change the configuration of an existing run (" +
                                req.resumeDir + "); start a new run instead"});
      return false;
    }
    if (!isRunDir(req.resumeDir)) {
      error = req.resumeDir +
              ": not a Pretext run directory (expected run.json, config.yaml, status.json)";
      return false;
    }
    auto cfg = Config::load(req.resumeDir + "/config.yaml", {}, issues);
    if (!cfg) return false;
    impl->config = *cfg;
    if (!checkShards(impl->config)) return false;
    impl->resumed = true;
    // Only a verified checkpoint is resumed from; a damaged newest one falls back to an older
    // intact one (reported in the run), and none intact is refused before anything is written.
    CheckpointChoice choice = findCheckpoint(req.resumeDir);
    if (!choice.error.empty()) {
      error = choice.error;
      return false;
    }
    impl->startStep = choice.step.value_or(0);
    impl->checkpointDir = choice.dir;
    impl->checkpointWarnings = choice.warnings;
    const std::string& ckdir = choice.dir;
    if (!ckdir.empty() && !readResumedOverrides(ckdir, impl, issues, error)) return false;
    impl->maxSteps = req.maxSteps > 0 ? req.maxSteps : impl->config.getInt("trainer.max_steps");
    impl->targetStep = impl->maxSteps;
    if (req.untilStep > 0) impl->targetStep = std::min(impl->targetStep, req.untilStep);
    if (impl->startStep >= impl->targetStep) {
      error = req.resumeDir + ": already at step " + std::to_string(impl->startStep) + " (target " +
              std::to_string(impl->targetStep) +
              "); pass --max-steps with a larger number to train further";
      return false;
    }
    impl->writer = RunDirWriter::openForResume(req.resumeDir, error);
    if (!impl->writer) return false;
    impl->changedMaxSteps = req.maxSteps;
  } else {
    std::string text, source;
    if (!resolveConfigSource(req.configOrPreset, text, source, error)) {
      issues.push_back({"", error});
      error.clear();
      return false;
    }
    std::vector<std::string> overrides = req.overrides;
    if (req.maxSteps > 0) overrides.push_back("trainer.max_steps=" + std::to_string(req.maxSteps));
    auto cfg = Config::parse(text, source, overrides, issues);
    if (!cfg) return false;
    impl->config = *cfg;
    if (!checkShards(impl->config)) return false;
    impl->maxSteps = impl->config.getInt("trainer.max_steps");
    impl->targetStep = req.untilStep > 0 ? std::min(req.untilStep, impl->maxSteps) : impl->maxSteps;
    if (auto problem = checkLidarDataSource(impl->config)) {
      issues.push_back(*problem);
      return false;
    }
    impl->writer = RunDirWriter::create(req.runsRoot, impl->config, error);
    if (!impl->writer) return false;
    // Files left out by data.on_bad_file: skip (the check above was cached): one warning.
    const std::string kind = impl->config.getString("experiment.kind");
    if (kind == "lidar_ssl" || kind == "lidar_downstream") {
      std::string w, e;
      try {
        w = openDataset(lidarDatasetOptions(impl->config))->warning();
      } catch (const DataError& x) {
        w = x.what();
      }
      if (!w.empty()) {
        std::fprintf(stderr, "warning: data.path: %s\n", w.c_str());
        impl->writer->appendEvent("log",
                                  "\"level\":1,\"message\":" + json("data.path: " + w).dump(), e);
      }
    }
  }
  impl->runDir = impl->writer->dir();
  return true;
}
}  // namespace

std::unique_ptr<TrainingJob> TrainingJob::prepare(const LaunchRequest& req,
                                                  std::vector<ConfigIssue>& issues,
                                                  std::string& error) {
  auto impl = std::make_unique<Impl>();
  if (!req.distributed.enabled()) {
    if (!prepareLocal(req, impl.get(), issues, error)) return nullptr;
    return std::unique_ptr<TrainingJob>(new TrainingJob(std::move(impl)));
  }
  // Data parallel: every rank joins the process group first; rank 0 validates and creates
  // (or reopens) the run directory and hands the outcome to the others through the store,
  // so all ranks refuse together and none depends on reading the config file itself.
  impl->localWorld = req.distributed.localWorld;
  impl->cpusPerRank = req.distributed.cpusPerRank;
  impl->comm = Communicator::connect(req.distributed, error);
  if (!impl->comm) return nullptr;
  try {
    json prep;
    if (impl->comm->rank() == 0) {
      const bool ok = prepareLocal(req, impl.get(), issues, error);
      json is = json::array();
      for (const auto& i : issues) is.push_back({i.path, i.message});
      prep = {{"ok", ok}, {"error", error}, {"issues", is}};
      if (ok)
        prep.update({{"config", impl->config.toYaml()},
                     {"run_dir", impl->runDir},
                     {"resumed", impl->resumed},
                     {"checkpoint_dir", impl->checkpointDir},
                     {"start_step", impl->startStep},
                     {"target_step", impl->targetStep},
                     {"max_steps", impl->maxSteps}});
      impl->comm->publish("prepare", prep.dump());
      if (!ok) return nullptr;
      return std::unique_ptr<TrainingJob>(new TrainingJob(std::move(impl)));
    }
    prep = json::parse(impl->comm->fetch("prepare"));
    if (!prep.at("ok").get<bool>()) {
      for (const auto& i : prep.at("issues"))
        issues.push_back({i.at(0).get<std::string>(), i.at(1).get<std::string>()});
      error = prep.at("error").get<std::string>();
      if (!error.empty()) error = "rank 0 could not prepare the run: " + error;
      return nullptr;
    }
    auto cfg = Config::parse(prep.at("config").get<std::string>(), "configuration from rank 0", {},
                             issues);
    if (!cfg) return nullptr;
    impl->config = *cfg;
    impl->runDir = prep.at("run_dir").get<std::string>();
    impl->resumed = prep.at("resumed").get<bool>();
    impl->checkpointDir = prep.at("checkpoint_dir").get<std::string>();
    impl->startStep = prep.at("start_step").get<std::int64_t>();
    impl->targetStep = prep.at("target_step").get<std::int64_t>();
    impl->maxSteps = prep.at("max_steps").get<std::int64_t>();
  } catch (const json::exception& e) {
    error = std::string("malformed preparation message from rank 0: ") + e.what();
    return nullptr;
  } catch (const std::exception& e) {
    error = e.what();
    return nullptr;
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
