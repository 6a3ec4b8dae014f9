// pretext-train under faults a cluster or a careless day brings: SIGTERM/SIGINT at any
// step (Slurm's way to end a job), a disk that fills up mid-checkpoint.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "pretext/data/fs_util.h"
#include "pretext/runs/run_dir.h"
#include "pretext/train/training_job.h"
#include "test_util.h"

using namespace pretext::core;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

pid_t spawnTrain(const std::vector<std::string>& args, const std::string& errFile) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(errFile.c_str(), "w", stderr)) _exit(126);
    if (!freopen("/dev/null", "w", stdout)) _exit(126);
    std::vector<char*> argv{const_cast<char*>(PRETEXT_TRAIN_EXE)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(PRETEXT_TRAIN_EXE, argv.data());
    _exit(127);
  }
  return pid;
}

// The exit code, 1000 + signal when killed, -2 after `limit` (then killed).
int waitExit(pid_t pid, std::chrono::seconds limit) {
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < limit) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -2;
}

std::string firstRun(const std::string& root) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.path().filename().string()[0] != '.') return e.path().string();
  return {};
}

// Waits until the run under `root` reports at least `step` in status.json.
std::string waitForStep(const std::string& root, std::int64_t step, pid_t pid) {
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < deadline) {
    const std::string dir = firstRun(root);
    std::string err;
    if (!dir.empty())
      if (auto st = readStatus(dir, err); st && st->step >= step) return dir;
    if (waitpid(pid, nullptr, WNOHANG) == pid) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return {};
}

std::string readText(const std::string& path) {
  std::string text, err;
  readFile(path, text, err);
  return text;
}

std::uint64_t blockedSignals(const std::string& statusFile) {
  std::ifstream in(statusFile);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("SigBlk:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  return 0;
}

const std::vector<std::string> kLongRun = {"quick-test", "--quiet", "--max-steps",
                                           "100000",     "--set",   "trainer.log_every=2"};

}  // namespace

TEST_CASE("pretext-train: every thread blocks SIGINT and SIGTERM; SIGTERM stops the run", "[cli]") {
  pretext::test::TempDir dir;
  const std::string root = dir / "runs";
  auto args = kLongRun;
  args.insert(args.end(), {"--out", root});
  const pid_t pid = spawnTrain(args, dir / "err.txt");
  const std::string run = waitForStep(root, 2, pid);
  REQUIRE_FALSE(run.empty());
  // OpenBLAS and OpenMP start threads before main(); each must block the stop signals, or
  // the kernel may deliver SIGTERM to one of them and the process dies unstopped.
  // The one exception is the thread waiting in sigwait: the kernel unblocks the awaited
  // signals while it waits (its wait channel says so).
  int threads = 0, waiting = 0;
  const std::uint64_t stopBits = (1ull << (SIGINT - 1)) | (1ull << (SIGTERM - 1));
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    ++threads;
    const std::string wchan = readText(t.path().string() + "/wchan");
    INFO("thread " << t.path().filename().string() << " waits in " << wchan);
    if (wchan.find("sigtimedwait") != std::string::npos) {
      ++waiting;
      continue;
    }
    CHECK((blockedSignals(t.path().string() + "/status") & stopBits) == stopBits);
  }
  CHECK(waiting == 1);
  CHECK(threads >= 3);  // the trainer, the signal thread and OpenBLAS's worker
  kill(pid, SIGTERM);
  CHECK(waitExit(pid, std::chrono::seconds(60)) == 130);
  std::string err;
  CHECK(readStatus(run, err)->phase == RunPhase::Stopped);
}

TEST_CASE(
    "pretext-train: SIGTERM or SIGINT at random steps stops, checkpoints and resumes "
    "to the straight run's curve and weights",
    "[cli][slow]") {
  pretext::test::TempDir dir;
  const std::int64_t total = 40;
  const std::vector<std::string> common = {"quick-test",  "--quiet",
                                           "--max-steps", std::to_string(total),
                                           "--set",       "trainer.log_every=2",
                                           "--set",       "trainer.checkpoint_every=10"};
  auto straightArgs = common;
  straightArgs.insert(straightArgs.end(), {"--out", dir / "straight"});
  const pid_t sp = spawnTrain(straightArgs, dir / "straight.err");
  REQUIRE(waitExit(sp, std::chrono::seconds(300)) == 0);
  const std::string straight = firstRun(dir / "straight");
  std::string straightCkpt;
  REQUIRE(latestCheckpoint(straight, &straightCkpt) == total);
  const auto reference = readMetrics(straight).series().at("loss/total");

  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  INFO("seed " << seed);
  for (int trial = 0; trial < 10; ++trial) {
    const int sig = trial % 2 ? SIGINT : SIGTERM;
    const std::int64_t at = std::uniform_int_distribution<std::int64_t>(1, total - 5)(rng);
    INFO("trial " << trial << ": signal " << sig << " once step " << at << " is reached");
    const std::string root = dir / ("t" + std::to_string(trial));
    auto args = common;
    args.insert(args.end(), {"--out", root});
    const pid_t pid = spawnTrain(args, root + ".err");
    const std::string run = waitForStep(root, at, pid);
    REQUIRE_FALSE(run.empty());
    kill(pid, sig);
    REQUIRE(waitExit(pid, std::chrono::seconds(60)) == 130);
    std::string err;
    const auto st = readStatus(run, err);
    REQUIRE(st);
    CHECK(st->phase == RunPhase::Stopped);
    CHECK(readText(run + "/events.jsonl").find("\"type\":\"stop\"") != std::string::npos);
    // The checkpoint is the step the run stopped at: nothing trained is lost.
    const auto ckpt = latestCheckpoint(run);
    REQUIRE(ckpt);
    CHECK(*ckpt == st->step);
    if (*ckpt >= total) continue;  // the signal came too late to interrupt
    auto r = pretext::test::runCommand(std::string(PRETEXT_TRAIN_EXE) + " --quiet --resume " + run);
    INFO(r.output);
    REQUIRE(r.code == 0);
    const auto loss = readMetrics(run).series().at("loss/total");
    REQUIRE(loss.size() == reference.size());
    for (std::size_t i = 0; i < loss.size(); ++i) {
      CHECK(loss[i].step == reference[i].step);
      CHECK(loss[i].value == Approx(reference[i].value).epsilon(1e-5));
    }
    std::string finalCkpt;
    REQUIRE(latestCheckpoint(run, &finalCkpt) == total);
    const double diff = maxWeightDifference(straightCkpt, finalCkpt, err);
    INFO(err);
    CHECK(diff >= 0);
    CHECK(diff <= 1e-6);
  }
}

TEST_CASE("pretext-train: a disk that fills up fails the run cleanly, the last checkpoint intact",
          "[cli][slow]") {
  pretext::test::TempDir dir;
  // A private 5 MiB tmpfs in a user and mount namespace (no root needed); the run is copied
  // out before the namespace ends. A checkpoint of quick-test takes 1.8 MB and a snapshot
  // 0.1 MB: the first checkpoints fit, a later checkpoint or snapshot finds the disk full.
  const std::string disk = dir / "disk", copy = dir / "copy";
  fs::create_directories(disk);
  const std::string script =
      "unshare -rm sh -c 'mount -t tmpfs -o size=5m tmpfs " + disk + " || exit 99; " +
      PRETEXT_TRAIN_EXE + " quick-test --quiet --out " + disk +
      "/runs --max-steps 100000 --set trainer.checkpoint_every=3 --set trainer.log_every=1 "
      "--set trainer.snapshot_every=1 --set trainer.keep_checkpoints=2; echo \"exit=$?\"; "
      "cp -r " +
      disk + "/runs " + copy + "'";
  auto r = pretext::test::runCommand(script);
  INFO(r.output);
  REQUIRE(r.output.find("exit=") != std::string::npos);
  CHECK(r.output.find("exit=1\n") != std::string::npos);
  CHECK(r.output.find("no space left") != std::string::npos);
  CHECK(r.output.find("terminate") == std::string::npos);
  const std::string run = firstRun(copy);
  REQUIRE_FALSE(run.empty());
  std::string err;
  const auto st = readStatus(run, err);
  INFO(err);
  REQUIRE(st);
  CHECK(st->phase == RunPhase::Failed);
  CHECK(st->error.find("No space left") != std::string::npos);
  // The newest checkpoint verifies, and no half-written one is left behind.
  const CheckpointChoice choice = findCheckpoint(run);
  INFO(choice.error);
  REQUIRE(choice.step);
  CHECK(choice.warnings.empty());
  for (const auto& e : fs::directory_iterator(run + "/checkpoints"))
    CHECK(e.path().filename().string().rfind(".tmp-", 0) != 0);
  // With space again, the run resumes from it.
  auto resumed =
      pretext::test::runCommand(std::string(PRETEXT_TRAIN_EXE) + " --quiet --resume " + run +
                                " --max-steps " + std::to_string(*choice.step + 3));
  INFO(resumed.output);
  CHECK(resumed.code == 0);
}

TEST_CASE("pretext-train --quiet still warns when a damaged checkpoint is passed over", "[cli]") {
  pretext::test::TempDir dir;
  const std::string root = dir / "runs";
  auto first = pretext::test::runCommand(
      std::string(PRETEXT_TRAIN_EXE) + " quick-test --quiet --out " + root +
      " --max-steps 6 --until-step 4 --set trainer.checkpoint_every=2");
  REQUIRE(first.code == 0);
  const std::string run = firstRun(root);
  const std::string model = run + "/checkpoints/" + checkpointDirName(4) + "/model.pt";
  std::string bytes = readText(model);
  REQUIRE(bytes.size() > 100);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
  std::ofstream(model, std::ios::binary | std::ios::trunc) << bytes;
  auto r = pretext::test::runCommand(std::string(PRETEXT_TRAIN_EXE) + " --quiet --resume " + run);
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(r.output.find("pretext-train: warning: checkpoint passed over: " + model +
                      ": checksum mismatch") != std::string::npos);
  CHECK(readText(run + "/metrics.csv").find("run/resumed_from,2\n") != std::string::npos);
}
