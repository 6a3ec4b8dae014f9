// pretext-train: the headless trainer. Links pretext_core only (no Qt, no VTK), so it runs
// on cluster nodes without a display.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "pretext/core/config.h"
#include "pretext/core/presets.h"
#include "pretext/core/training_job.h"
#include "pretext/core/versions.h"

using namespace pretext::core;

namespace {

const char* kUsage =
    "usage: pretext-train CONFIG.yaml|PRESET [options]\n"
    "       pretext-train --resume RUN_DIR [--max-steps N] [--until-step N]\n"
    "\n"
    "Trains one run and writes it to a run directory (see docs/run-format.md).\n"
    "\n"
    "options:\n"
    "  --out RUNS_ROOT      folder that receives the run directory (default: runs)\n"
    "  --resume RUN_DIR     continue RUN_DIR from its latest checkpoint as a new segment\n"
    "  --max-steps N        trainer.max_steps for a new run; on --resume, the new target\n"
    "  --until-step N       stop (resumable) once step N is reached\n"
    "  --set KEY=VALUE      override a config value, e.g. --set trainer.lr=3e-4 (repeatable);\n"
    "                       recorded in the run's config.yaml\n"
    "  --list-presets       list the built-in presets\n"
    "  --help-config        list every config key with its type, default and meaning\n"
    "  --quiet              no progress output\n"
    "  --version            print the versions of Pretext and LibTorch (the headless trainer\n"
    "                       links neither Qt nor VTK)\n"
    "  -h, --help           this help\n"
    "\n"
    "exit codes: 0 finished (or reached --until-step), 1 runtime failure, 2 invalid config or\n"
    "arguments, 130 stopped by a signal (the run is resumable)\n";

std::string fmtDuration(double s) {
  if (s < 0) return "?";
  long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

// Prints progress: a self-rewriting line on a terminal, plain lines otherwise.
class ProgressPrinter : public EventSink {
 public:
  ProgressPrinter(bool tty, std::int64_t target) : m_tty(tty), m_target(target) {}
  void onMetrics(const std::vector<MetricRow>& rows) override {
    for (const auto& r : rows) {
      if (r.key == "loss/total") m_loss = r.value;
      m_status.step = std::max(m_status.step, r.step);
    }
    if (!m_tty && !rows.empty() && !std::isnan(m_loss)) line(false);
  }
  void onStatus(const RunStatus& s) override {
    m_status = s;
    auto now = std::chrono::steady_clock::now();
    if (m_tty && now - m_last > std::chrono::milliseconds(200)) {
      m_last = now;
      line(true);
    }
  }
  void onSnapshot(PointSnapshotPtr) override {}
  void onLog(LogLevel level, const std::string& msg) override {
    if (m_tty) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s%s\n",
                 level == LogLevel::Error     ? "error: "
                 : level == LogLevel::Warning ? "warning: "
                                              : "",
                 msg.c_str());
  }
  void finish() {
    if (m_tty) std::fprintf(stderr, "\n");
  }

 private:
  void line(bool rewrite) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "step %lld/%lld  loss %.4f  %.2f steps/s  ETA %s",
                  static_cast<long long>(m_status.step), static_cast<long long>(m_target), m_loss,
                  m_status.stepsPerSec, fmtDuration(m_status.etaSec).c_str());
    if (rewrite)
      std::fprintf(stderr, "\r\033[K%s", buf);
    else
      std::fprintf(stderr, "%s\n", buf);
    std::fflush(stderr);
  }
  bool m_tty;
  std::int64_t m_target;
  double m_loss = std::nan("");
  RunStatus m_status;
  std::chrono::steady_clock::time_point m_last{};
};

bool parseCount(const char* opt, const char* text, std::int64_t& out) {
  char* end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v <= 0) {
    std::fprintf(stderr, "pretext-train: %s expects a positive integer, got '%s'\n", opt, text);
    return false;
  }
  out = v;
  return true;
}

void printConfigHelp() {
  for (const auto& s : configSchema()) {
    std::printf("%-32s default %-12s %s", s.path.c_str(), formatValue(s.defaultValue).c_str(),
                s.help.c_str());
    if (!s.choices.empty()) {
      std::printf(" [");
      for (std::size_t i = 0; i < s.choices.size(); ++i)
        std::printf("%s%s", i ? "|" : "", s.choices[i].c_str());
      std::printf("]");
    }
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  LaunchRequest req;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto need = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "pretext-train: %s needs a value\n%s", name, kUsage);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      registerComponentVersion("qt", "not linked (headless trainer)");
      registerComponentVersion("vtk", "not linked (headless trainer)");
      std::fputs(versionReport().c_str(), stdout);
      return 0;
    } else if (a == "--list-presets") {
      for (const auto& p : presets())
        std::printf("%-28s %s\n", p.name.c_str(), p.description.c_str());
      return 0;
    } else if (a == "--help-config") {
      printConfigHelp();
      return 0;
    } else if (a == "--out") {
      req.runsRoot = need("--out");
    } else if (a == "--resume") {
      req.resumeDir = need("--resume");
    } else if (a == "--max-steps") {
      if (!parseCount("--max-steps", need("--max-steps"), req.maxSteps)) return 2;
    } else if (a == "--until-step") {
      if (!parseCount("--until-step", need("--until-step"), req.untilStep)) return 2;
    } else if (a == "--set") {
      req.overrides.push_back(need("--set"));
    } else if (a == "--quiet") {
      quiet = true;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "pretext-train: unknown option '%s'\n%s", a.c_str(), kUsage);
      return 2;
    } else if (req.configOrPreset.empty()) {
      req.configOrPreset = a;
    } else {
      std::fprintf(stderr, "pretext-train: unexpected argument '%s'\n", a.c_str());
      return 2;
    }
  }
  if (req.configOrPreset.empty() == req.resumeDir.empty()) {
    std::fprintf(stderr, "pretext-train: give either CONFIG or --resume RUN_DIR\n%s", kUsage);
    return 2;
  }

  // Signals are handled by one thread with sigwait, so the trainer sees a clean stop
  // request between steps. A second signal ends the process at once.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  std::vector<ConfigIssue> issues;
  std::string error;
  auto job = TrainingJob::prepare(req, issues, error);
  if (!job) {
    if (!issues.empty()) {
      std::fprintf(stderr, "pretext-train: invalid configuration:\n");
      for (const auto& is : issues) std::fprintf(stderr, "  %s\n", is.toString().c_str());
      return 2;
    }
    std::fprintf(stderr, "pretext-train: %s\n", error.c_str());
    return 1;
  }

  ControlBlock control;
  std::atomic<bool> signalled{false};
  std::thread([&] {
    int sig = 0;
    while (sigwait(&sigs, &sig) == 0) {
      if (signalled.exchange(true)) _exit(130);
      std::fprintf(stderr, "\npretext-train: stopping after the current step (again to abort)\n");
      control.requestStop();
    }
  }).detach();

  if (!quiet)
    std::fprintf(stderr, "pretext-train: run %s (steps %lld -> %lld)\n", job->runDir().c_str(),
                 static_cast<long long>(job->startStep()),
                 static_cast<long long>(job->targetStep()));
  ProgressPrinter printer(isatty(STDERR_FILENO), job->targetStep());
  NullSink nothing;
  EventSink& sink = quiet ? static_cast<EventSink&>(nothing) : printer;
  RunStatus final = job->run(control, sink);
  if (!quiet) printer.finish();
  std::printf("%s\n", job->runDir().c_str());
  if (final.phase == RunPhase::Failed) {
    std::fprintf(stderr, "pretext-train: run failed: %s\n", final.error.c_str());
    return 1;
  }
  if (signalled.load()) return 130;
  return 0;
}
