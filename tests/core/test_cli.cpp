// Runs the real pretext-train binary: exit codes, messages, kill -9 and resume.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "pretext/runs/run_dir.h"
#include "test_util.h"

using namespace pretext::core;
namespace fs = std::filesystem;

namespace {

pretext::test::CommandResult run(const std::string& args) {
  return pretext::test::runCommand(std::string(PRETEXT_TRAIN_EXE) + " " + args);
}

std::vector<std::string> runDirs(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) out.push_back(e.path().string());
  return out;
}

}  // namespace

TEST_CASE("pretext-train: help, version and usage errors", "[cli]") {
  auto h = run("--help");
  CHECK(h.code == 0);
  CHECK(h.output.find("--resume RUN_DIR") != std::string::npos);
  auto v = run("--version");
  CHECK(v.code == 0);
  CHECK(v.output.find("libtorch 1.13") != std::string::npos);
  CHECK(run("").code == 2);
  auto bad = run("quick-test --frobnicate");
  CHECK(bad.code == 2);
  CHECK(bad.output.find("unknown option '--frobnicate'") != std::string::npos);
  CHECK(run("quick-test --max-steps ten").code == 2);
  CHECK(run("--list-presets").output.find("default") != std::string::npos);
}

TEST_CASE("pretext-train: invalid configs exit 2 naming each key, no run dir", "[cli]") {
  pretext::test::TempDir dir;
  std::ofstream(dir / "bad.yaml")
      << "trainer:\n  lr: fast\n  batch_sise: 2\ndata:\n  source: files\n  path: ./missing\n";
  auto r = run(dir / "bad.yaml" + " --out " + (dir / "runs") + " --set model.width=0");
  CHECK(r.code == 2);
  CHECK(r.output.find("trainer.lr: expected a number") != std::string::npos);
  CHECK(r.output.find("trainer.batch_sise: unknown key (did you mean 'trainer.batch_size'?)") !=
        std::string::npos);
  CHECK(r.output.find("data.path: path './missing' does not exist") != std::string::npos);
  CHECK(r.output.find("model.width: value 0 is out of range") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "runs"));
  auto missing = run(dir / "nope.yaml --out " + (dir / "runs"));
  CHECK(missing.code == 2);
  CHECK(missing.output.find("no such config file or preset") != std::string::npos);
  auto notRun = run("--resume " + dir.str());
  CHECK(notRun.code == 1);
  CHECK(notRun.output.find("not a Pretext run directory") != std::string::npos);
}

TEST_CASE("pretext-train: a run, its progress lines and --set recorded in config.yaml", "[cli]") {
  pretext::test::TempDir dir;
  auto r = run("quick-test --max-steps 6 --set trainer.lr=0.002 --out " + (dir / "runs"));
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(r.output.find("step 6/6") != std::string::npos);
  auto dirs = runDirs(dir / "runs");
  REQUIRE(dirs.size() == 1);
  std::string cfg, err;
  std::ifstream in(dirs[0] + "/config.yaml");
  cfg.assign(std::istreambuf_iterator<char>(in), {});
  CHECK(cfg.find("lr: 0.002") != std::string::npos);
  CHECK(cfg.find("max_steps: 6") != std::string::npos);
  CHECK(readStatus(dirs[0], err)->phase == RunPhase::Finished);
  // Finished: resuming without a larger target is refused with advice.
  auto again = run("--resume " + dirs[0]);
  CHECK(again.code == 1);
  CHECK(again.output.find("--max-steps") != std::string::npos);
  auto extend = run("--resume " + dirs[0] + " --max-steps 8");
  CHECK(extend.code == 0);
  CHECK(readStatus(dirs[0], err)->step == 8);
}

TEST_CASE("pretext-train: kill -9 mid-run, then --resume continues from the checkpoint",
          "[cli][slow]") {
  pretext::test::TempDir dir;
  const std::string root = dir / "runs";
  pid_t pid = fork();
  if (pid == 0) {
    execl(PRETEXT_TRAIN_EXE, PRETEXT_TRAIN_EXE, "quick-test", "--quiet", "--out", root.c_str(),
          "--max-steps", "400", "--set", "trainer.checkpoint_every=7", "--set",
          "trainer.log_every=1", nullptr);
    _exit(127);
  }
  // Wait for the second checkpoint so the kill lands in the middle of training.
  std::string runDir;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    auto dirs = runDirs(root);
    if (!dirs.empty() && latestCheckpoint(dirs[0]).value_or(0) >= 14) {
      runDir = dirs[0];
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE_FALSE(runDir.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));

  auto before = listRuns(root);
  REQUIRE(before.size() == 1);
  CHECK(before[0].stale);  // says running, but its process is gone
  const std::int64_t ckpt = *latestCheckpoint(runDir);
  std::string err;
  const std::int64_t reached = readStatus(runDir, err)->step;
  INFO("checkpoint " << ckpt << ", status step " << reached);
  CHECK(ckpt >= 14);
  CHECK(ckpt < 400);

  auto r = run("--resume " + runDir + " --quiet");
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(readStatus(runDir, err)->phase == RunPhase::Finished);
  auto acc = readMetrics(runDir);
  CHECK(acc.malformedLines() == 0);
  CHECK(acc.resumeSteps() == std::vector<std::int64_t>{ckpt});
  const auto& loss = acc.series().at("loss/total");
  REQUIRE(loss.size() == 400);  // one row per step: nothing torn, nothing duplicated
  for (std::size_t i = 0; i < loss.size(); ++i) {
    CHECK(loss[i].step == static_cast<std::int64_t>(i + 1));
    CHECK(loss[i].segment == (loss[i].step <= ckpt ? 1 : 2));
  }
}

TEST_CASE("pretext-train links neither Qt nor VTK", "[cli]") {
  auto capture = [](const std::string& cmd) {
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::string out;
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
    return out;
  };
  const std::string exe = PRETEXT_TRAIN_EXE;
  // Its own dependencies: LibTorch, no Qt, no VTK.
  auto needed = capture("readelf -d " + exe + " | grep NEEDED");
  CHECK(needed.find("libtorch") != std::string::npos);
  CHECK(needed.find("libQt") == std::string::npos);
  CHECK(needed.find("libvtk") == std::string::npos);
  // Transitively: Debian's LibTorch pulls Qt 5 in through OpenCV's highgui, but never Qt 6
  // (the GUI's) nor VTK.
  auto all = capture("ldd " + exe);
  CHECK(all.find("libQt6") == std::string::npos);
  CHECK(all.find("libvtk") == std::string::npos);
}
