// pretext-train: the headless trainer. Links pretext_train only (no Qt, no VTK), so it runs
// on cluster nodes without a display.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "pretext/cli/args.h"
#include "pretext/data/stop_signals.h"
#include "pretext/runs/config.h"
#include "pretext/runs/presets.h"
#include "pretext/runs/versions.h"
#include "pretext/train/distributed.h"
#include "pretext/train/training_job.h"

using namespace pretext::core;
namespace cli = pretext::cli;

// SIGINT and SIGTERM mean "checkpoint, mark the run stopped, exit 130"; a thread waits for
// them with sigwait. The kernel hands a process-directed signal to any thread that does
// not block it, and OpenBLAS starts its worker threads in its library constructor, before
// main() and before this program's static initialisers; a signal landing on one of them
// killed the process. Functions in .preinit_array run before any shared library's
// constructor, so the mask set there is inherited by every thread the process ever has.
PRETEXT_BLOCK_STOP_SIGNALS_BEFORE_MAIN();

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
    "  --nproc N            data parallel on this machine: start N ranks over Gloo on loopback\n"
    "                       (trainer.batch_size is the global batch, split over the ranks)\n"
    "  --list-presets       list the built-in presets\n"
    "  --help-config        list every config key with its type, default and meaning\n"
    "  --quiet              no progress output (warnings are still printed)\n"
    "  --version            print the versions of Pretext and LibTorch (the headless trainer\n"
    "                       links neither Qt nor VTK)\n"
    "  -h, --help           this help\n"
    "\n"
    "\n"
    "Data parallel on a cluster: start one pretext-train per rank with the variables of\n"
    "torchrun (WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or of srun\n"
    "(SLURM_NTASKS, SLURM_PROCID, SLURM_LOCALID, SLURM_JOB_NODELIST) set; rank 0 writes the\n"
    "run directory. PRETEXT_DIST_TIMEOUT bounds a collective's wait (seconds, default 300).\n"
    "See packaging/slurm/pretext-train.sbatch.\n"
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

// The form --set takes, in its error message.
const char* kSetForm = "KEY=VALUE (e.g. trainer.lr=3e-4)";

// What a rank other than 0 prints: its warnings and errors, prefixed with the rank (rank 0
// prints the progress of the run). With --quiet, rank 0 prints its warnings alone (a
// checkpoint passed over, a change not applied); main() reports a failure itself.
class RankSink : public NullSink {
 public:
  explicit RankSink(int rank) : m_rank(rank) {}
  void onLog(LogLevel level, const std::string& msg) override {
    if (level == LogLevel::Info || (m_rank == 0 && level == LogLevel::Error)) return;
    const std::string who = m_rank == 0 ? "pretext-train" : "rank " + std::to_string(m_rank);
    std::fprintf(stderr, "%s: %s%s\n", who.c_str(),
                 level == LogLevel::Error ? "error: " : "warning: ", msg.c_str());
  }

 private:
  int m_rank;
};

// A free TCP port on loopback for the local launcher's rendezvous.
int freeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// --nproc N: starts N ranks of this program on loopback and waits for them. A signal to
// the launcher is passed on to every rank once (they stop together after the same step).
// When a rank fails, the others get 60 s to notice and exit, then are killed.
int launchLocal(int nproc, int argc, char** argv, const sigset_t& sigs) {
  std::vector<char*> args{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--nproc") {
      ++i;
      continue;
    }
    args.push_back(argv[i]);
  }
  args.push_back(nullptr);
  const int port = freeLoopbackPort();
  if (port <= 0) {
    std::fprintf(stderr, "pretext-train: no free loopback port for the rendezvous\n");
    return 1;
  }
  const pid_t launcher = ::getpid();
  std::vector<pid_t> pids;
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("pretext-train: fork");
      for (pid_t p : pids) ::kill(p, SIGTERM);
      return 1;
    }
    if (pid == 0) {
      // Own process group: a Ctrl-C reaches the launcher only, which forwards it once.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the launcher died: stop cleanly
      if (::getppid() != launcher) ::_exit(1);
      const std::string w = std::to_string(nproc), rank = std::to_string(r),
                        p = std::to_string(port);
      ::setenv("WORLD_SIZE", w.c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", w.c_str(), 1);
      ::setenv("RANK", rank.c_str(), 1);
      ::setenv("LOCAL_RANK", rank.c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", p.c_str(), 1);
      ::unsetenv("SLURM_NTASKS");
      // Each rank's share of the cores for OpenBLAS's own thread pool too (read when the
      // library loads): N ranks x all-core BLAS pools measured 30 % slower than one process.
      const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
      const std::string blas = std::to_string(std::max(1u, cores / static_cast<unsigned>(nproc)));
      ::setenv("OPENBLAS_NUM_THREADS", blas.c_str(), 0);
      pthread_sigmask(SIG_UNBLOCK, &sigs, nullptr);
      ::execv("/proc/self/exe", args.data());
      std::perror("pretext-train: exec");
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  std::thread([&sigs, pids] {
    int sig = 0;
    while (sigwait(&sigs, &sig) == 0)
      for (pid_t p : pids) ::kill(p, sig);
  }).detach();

  int result = 0, alive = nproc;
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (alive > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "pretext-train: ranks still running 60 s after a failure; killing\n");
        for (pid_t p : pids) ::kill(p, SIGKILL);
        deadline = std::chrono::steady_clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    --alive;
    const auto r = std::find(pids.begin(), pids.end(), pid) - pids.begin();
    int code = 0;
    if (WIFSIGNALED(status)) {
      code = 1;
      std::fprintf(stderr, "pretext-train: rank %ld (pid %d) was killed by signal %d\n",
                   static_cast<long>(r), pid, WTERMSIG(status));
    } else if (WIFEXITED(status)) {
      code = WEXITSTATUS(status);
    }
    if (code != 0 && result == 0) {
      result = code;
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    }
  }
  return result;
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
  std::int64_t nproc = 1;
  try {
    cli::ArgReader a(argc, argv);
    while (a.next()) {
      if (a.is("-h") || a.is("--help")) {
        std::fputs(kUsage, stdout);
        return 0;
      } else if (a.is("--version")) {
        registerComponentVersion("qt", "not linked (headless trainer)");
        registerComponentVersion("vtk", "not linked (headless trainer)");
        std::fputs(versionReport().c_str(), stdout);
        return 0;
      } else if (a.is("--list-presets")) {
        for (const auto& p : presets())
          std::printf("%-28s %s\n", p.name.c_str(), p.description.c_str());
        return 0;
      } else if (a.is("--help-config")) {
        printConfigHelp();
        return 0;
      } else if (a.is("--out")) {
        req.runsRoot = a.value();
      } else if (a.is("--resume")) {
        req.resumeDir = a.value();
      } else if (a.is("--max-steps")) {
        req.maxSteps = a.intValue(1);
      } else if (a.is("--until-step")) {
        req.untilStep = a.intValue(1);
      } else if (a.is("--set")) {
        req.overrides.push_back(a.keyValue(kSetForm).text());
      } else if (a.is("--nproc")) {
        nproc = a.intValue(1);
        if (nproc > 256)
          throw cli::UsageError("--nproc " + std::to_string(nproc) + ": at most 256 local ranks");
      } else if (a.is("--quiet")) {
        quiet = true;
      } else if (a.isOption()) {
        throw a.unknownOption();
      } else if (req.configOrPreset.empty()) {
        req.configOrPreset = a.arg();
      } else {
        throw a.unexpected(false);
      }
    }
    if (req.configOrPreset.empty() == req.resumeDir.empty())
      throw cli::UsageError("give either CONFIG or --resume RUN_DIR", true);
  } catch (const cli::UsageError& e) {
    return cli::reportUsageError("pretext-train", e, kUsage);
  }

  // Signals are handled by one thread with sigwait, so the trainer sees a clean stop
  // request between steps. A second signal ends the process at once. (Already blocked in
  // every thread from .preinit_array; blocking again is harmless.)
  const sigset_t sigs = stopSignals();
  blockStopSignals();

  std::string envError;
  if (!readDistributedEnv(req.distributed, envError)) {
    std::fprintf(stderr, "pretext-train: %s\n", envError.c_str());
    return 2;
  }
  if (nproc > 1) {
    if (req.distributed.enabled()) {
      std::fprintf(stderr,
                   "pretext-train: --nproc starts its own ranks; it cannot be combined with a "
                   "launcher's WORLD_SIZE/SLURM_NTASKS (%s launch of %d ranks)\n",
                   req.distributed.source.c_str(), req.distributed.world);
      return 2;
    }
    return launchLocal(static_cast<int>(nproc), argc, argv, sigs);
  }
  const int rank = req.distributed.rank;

  // From here on a signal stops the run cleanly (one that arrives while the run is being
  // prepared stops it before its first step); a second one ends the process.
  // The signal thread outlives main(): the watch, destroyed before `control`, unhooks it
  // (a signal landing as the run ends found a destroyed ControlBlock: SIGSEGV in 1 of ~20
  // fault-injection trials).
  ControlBlock control;
  const StopSignalWatch stopWatch("pretext-train: stopping after the current step (again to abort)",
                                  [&control] { control.requestStop(); });

  std::vector<ConfigIssue> issues;
  std::string error;
  auto job = TrainingJob::prepare(req, issues, error);
  if (!job) {
    if (!issues.empty()) {
      if (rank > 0) return 2;  // rank 0 prints the issues
      std::fprintf(stderr, "pretext-train: invalid configuration:\n");
      for (const auto& is : issues) std::fprintf(stderr, "  %s\n", is.toString().c_str());
      return 2;
    }
    std::fprintf(stderr, "pretext-train: %s\n", error.c_str());
    return 1;
  }

  if (!quiet && rank == 0)
    std::fprintf(stderr, "pretext-train: run %s (steps %lld -> %lld%s)\n", job->runDir().c_str(),
                 static_cast<long long>(job->startStep()),
                 static_cast<long long>(job->targetStep()),
                 job->worldSize() > 1
                     ? (", " + std::to_string(job->worldSize()) + " data-parallel ranks").c_str()
                     : "");
  ProgressPrinter printer(isatty(STDERR_FILENO), job->targetStep());
  RankSink follower(rank);
  EventSink& sink = rank > 0 || quiet ? static_cast<EventSink&>(follower) : printer;
  RunStatus final = job->run(control, sink);
  if (!quiet && rank == 0) printer.finish();
  if (rank == 0) std::printf("%s\n", job->runDir().c_str());
  if (final.phase == RunPhase::Failed) {
    if (rank > 0)
      std::fprintf(stderr, "pretext-train: rank %d failed: %s\n", rank, final.error.c_str());
    else
      std::fprintf(stderr, "pretext-train: run failed: %s\n", final.error.c_str());
    return 1;
  }
  // Stopped before its target: by a signal to this process, or, on a data-parallel rank, by
  // one another rank received (the ranks agree on the step; this rank's own signal may
  // arrive after the run ended).
  // A signal that arrives after the last step leaves a finished run: exit 0.
  if (final.phase == RunPhase::Stopped &&
      (StopSignalWatch::signalled() || final.step < job->targetStep()))
    return 130;
  return 0;
}
