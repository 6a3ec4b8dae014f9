// Data-parallel training over c10d/Gloo: the launch environment, and real multi-process runs
// of pretext-train on loopback (equivalence with one process, a killed rank, resuming with
// another world size, the Slurm script with faked Slurm variables).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "pretext/runs/run_dir.h"
#include "pretext/train/distributed.h"
#include "pretext/train/training_job.h"
#include "test_util.h"

using namespace pretext::core;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

EnvGetter fakeEnv(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

std::vector<std::string> runDirs(const std::string& root) {
  std::vector<std::string> out;
  if (!fs::exists(root)) return out;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "step N checksum A B" lines of a rank's log: step -> "A B" as written (17 digits).
std::map<std::int64_t, std::string> checksums(const std::string& log) {
  std::map<std::int64_t, std::string> out;
  std::istringstream in(readText(log));
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find(" step ");
    const auto cs = line.find(" checksum ");
    if (at == std::string::npos || cs == std::string::npos) continue;
    out[std::stoll(line.substr(at + 6, cs - at - 6))] = line.substr(cs + 10);
  }
  return out;
}

std::string train() { return std::string(PRETEXT_TRAIN_EXE); }

// One rank started the way torchrun would, with its stderr in `errFile`.
pid_t spawnRank(int rank, int world, int port, const std::vector<std::string>& args,
                const std::string& errFile) {
  std::fflush(nullptr);  // the child must not repeat the parent's buffered output
  const pid_t pid = fork();
  if (pid == 0) {
    setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
    setenv("RANK", std::to_string(rank).c_str(), 1);
    setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
    setenv("LOCAL_WORLD_SIZE", std::to_string(world).c_str(), 1);
    setenv("MASTER_ADDR", "127.0.0.1", 1);
    setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
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

// Waits for `pid` up to `limit`; the exit code, or -1 if killed by a signal, or -2 on timeout.
int waitFor(pid_t pid, std::chrono::seconds limit, double* seconds = nullptr) {
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < limit) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      if (seconds) *seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -2;
}

int testPort(int offset) { return 29000 + static_cast<int>(getpid() % 500) * 2 + offset; }

}  // namespace

TEST_CASE("launch environment: torchrun and Slurm variables", "[dist]") {
  DistributedEnv d;
  std::string err;
  SECTION("nothing set: one process") {
    REQUIRE(readDistributedEnv(d, err, fakeEnv({})));
    CHECK_FALSE(d.enabled());
    CHECK(d.source == "none");
  }
  SECTION("torchrun style") {
    REQUIRE(readDistributedEnv(d, err,
                               fakeEnv({{"WORLD_SIZE", "4"},
                                        {"RANK", "3"},
                                        {"LOCAL_RANK", "1"},
                                        {"LOCAL_WORLD_SIZE", "2"},
                                        {"MASTER_ADDR", "10.0.0.7"},
                                        {"MASTER_PORT", "23456"},
                                        {"PRETEXT_DIST_TIMEOUT", "45"}})));
    CHECK(d.enabled());
    CHECK(d.source == "env");
    CHECK(d.rank == 3);
    CHECK(d.world == 4);
    CHECK(d.localRank == 1);
    CHECK(d.localWorld == 2);
    CHECK(d.masterAddr == "10.0.0.7");
    CHECK(d.masterPort == 23456);
    CHECK(d.timeoutSec == 45);
  }
  SECTION("Slurm: rank from SLURM_PROCID, rendezvous host from the node list") {
    REQUIRE(readDistributedEnv(d, err,
                               fakeEnv({{"SLURM_NTASKS", "8"},
                                        {"SLURM_PROCID", "5"},
                                        {"SLURM_LOCALID", "1"},
                                        {"SLURM_TASKS_PER_NODE", "2(x4)"},
                                        {"SLURM_CPUS_PER_TASK", "6"},
                                        {"SLURM_JOB_NODELIST", "cn[007-010,12],gpu1"}})));
    CHECK(d.source == "slurm");
    CHECK(d.rank == 5);
    CHECK(d.world == 8);
    CHECK(d.localRank == 1);
    CHECK(d.localWorld == 2);
    CHECK(d.cpusPerRank == 6);
    CHECK(d.masterAddr == "cn007");
    CHECK(d.masterPort == 29500);
  }
  SECTION("WORLD_SIZE wins over SLURM_NTASKS; MASTER_ADDR over the node list") {
    REQUIRE(readDistributedEnv(d, err,
                               fakeEnv({{"SLURM_NTASKS", "8"},
                                        {"SLURM_PROCID", "5"},
                                        {"WORLD_SIZE", "2"},
                                        {"RANK", "1"},
                                        {"MASTER_ADDR", "head"}})));
    CHECK(d.world == 2);
    CHECK(d.rank == 1);
    CHECK(d.masterAddr == "head");
  }
  SECTION("malformed values are refused with the variable named") {
    const std::vector<std::pair<std::map<std::string, std::string>, std::string>> bad = {
        {{{"WORLD_SIZE", "two"}, {"RANK", "0"}}, "WORLD_SIZE"},
        {{{"WORLD_SIZE", "2"}}, "RANK is not"},
        {{{"WORLD_SIZE", "2"}, {"RANK", "2"}}, "RANK='2'"},
        {{{"WORLD_SIZE", "2"}, {"RANK", "-1"}}, "RANK"},
        {{{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", "70000"}}, "MASTER_PORT"},
        {{{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"PRETEXT_DIST_TIMEOUT", "0"}},
         "PRETEXT_DIST_TIMEOUT"},
        {{{"SLURM_NTASKS", "2"}}, "SLURM_PROCID"},
        {{{"SLURM_NTASKS", "2"}, {"SLURM_PROCID", "1"}}, "SLURM_NODELIST"},
        {{{"SLURM_NTASKS", "2"}, {"SLURM_PROCID", "1"}, {"SLURM_JOB_NODELIST", "n[01-"}},
         "SLURM_JOB_NODELIST"},
    };
    for (const auto& [vars, needle] : bad) {
      DistributedEnv out;
      std::string e;
      INFO(needle);
      CHECK_FALSE(readDistributedEnv(out, e, fakeEnv(vars)));
      CHECK(e.find(needle) != std::string::npos);
    }
  }
}

TEST_CASE("first host of a Slurm node list", "[dist]") {
  std::string err;
  CHECK(firstSlurmHost("node17", err) == "node17");
  CHECK(firstSlurmHost("node[07-09,12]", err) == "node07");
  CHECK(firstSlurmHost("rack[2-3]-n[01-04],login", err) == "rack2-n01");
  CHECK(firstSlurmHost("a,b", err) == "a");
  CHECK(firstSlurmHost("n[x1]", err).empty());
  CHECK(err.find("n[x1]") != std::string::npos);
  CHECK(firstSlurmHost("", err).empty());
}

TEST_CASE("pretext-train refuses bad data-parallel launches before any run exists", "[dist]") {
  pretext::test::TempDir dir;
  const std::string root = dir / "runs";
  auto r =
      pretext::test::runCommand("WORLD_SIZE=2 RANK=x " + train() + " quick-test --out " + root);
  CHECK(r.code == 2);
  CHECK(r.output.find("RANK='x'") != std::string::npos);
  r = pretext::test::runCommand("WORLD_SIZE=2 RANK=0 " + train() + " quick-test --nproc 2 --out " +
                                root);
  CHECK(r.code == 2);
  CHECK(r.output.find("--nproc") != std::string::npos);
  r = pretext::test::runCommand(train() + " quick-test --nproc 0 --out " + root);
  CHECK(r.code == 2);
  // quick-test's global batch of 2 does not split over 3 ranks: every rank refuses.
  r = pretext::test::runCommand(train() + " quick-test --nproc 3 --quiet --out " + root);
  INFO(r.output);
  CHECK(r.code == 2);
  CHECK(r.output.find("trainer.batch_size") != std::string::npos);
  CHECK(r.output.find("3 data-parallel ranks") != std::string::npos);
  CHECK(runDirs(root).empty());
}

namespace {
// Trains `preset` for `steps` steps with `nproc` ranks into a fresh root; the run directory.
std::string trainRun(const std::string& root, const std::string& preset, int nproc, int steps,
                     const std::string& extra = "") {
  const std::string cmd = train() + " " + preset + " --quiet --out " + root + " --max-steps " +
                          std::to_string(steps) +
                          " --set trainer.log_every=1 --set trainer.checkpoint_every=1000" +
                          (nproc > 1 ? " --nproc " + std::to_string(nproc) : "") + " " + extra;
  auto r = pretext::test::runCommand(cmd);
  INFO(cmd << "\n" << r.output);
  REQUIRE(r.code == 0);
  auto dirs = runDirs(root);
  REQUIRE(dirs.size() == 1);
  return dirs[0];
}

void checkRanksAgreeEveryStep(const std::string& run, int world, int steps) {
  const auto first = checksums(run + "/logs/rank-0.log");
  REQUIRE(first.size() == static_cast<std::size_t>(steps + 1));  // step 0 and every step
  for (int r = 1; r < world; ++r) {
    const auto other = checksums(run + "/logs/rank-" + std::to_string(r) + ".log");
    CHECK(other == first);  // bitwise: the same 17 significant digits at every step
  }
}

void checkSameLoss(const std::string& a, const std::string& b, double relTol) {
  const auto la = readMetrics(a).series().at("loss/total");
  const auto lb = readMetrics(b).series().at("loss/total");
  REQUIRE(la.size() == lb.size());
  for (std::size_t i = 0; i < la.size(); ++i) {
    INFO("step " << la[i].step);
    CHECK(la[i].step == lb[i].step);
    CHECK(std::abs(la[i].value - lb[i].value) <= relTol * std::abs(lb[i].value));
  }
}
}  // namespace

TEST_CASE("two ranks on loopback train exactly what one process trains", "[dist][slow]") {
  // LiDAR (quick-test: global batch 2, one scan per rank) and the LM (global batch 8).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"quick-test", ""},
      {"sink-backcopy-softmax",
       "--set lm.d_model=32 --set lm.layers=2 --set lm.ffn=64 --set trainer.batch_size=8"},
  };
  for (const auto& [preset, extra] : cases) {
    INFO(preset);
    pretext::test::TempDir dir;
    const int steps = 6;
    const std::string two = trainRun(dir / "two", preset, 2, steps, extra);
    const std::string one = trainRun(dir / "one", preset, 1, steps, extra);
    checkRanksAgreeEveryStep(two, 2, steps);
    std::string err;
    const double diff = maxWeightDifference(two + "/checkpoints/step_000000006",
                                            one + "/checkpoints/step_000000006", err);
    INFO(err);
    REQUIRE(diff >= 0);
    CHECK(diff < 2e-5);
    checkSameLoss(two, one, 1e-4);
    // Rank 0 alone wrote the run; every rank wrote its log.
    CHECK(fs::exists(two + "/logs/rank-1.log"));
    CHECK(readText(two + "/events.jsonl").find("\"world_size\":2") != std::string::npos);
  }
}

TEST_CASE("a 2-rank checkpoint resumes on 1 rank", "[dist][slow]") {
  pretext::test::TempDir dir;
  const std::string cmd = train() + " quick-test --quiet --nproc 2 --out " + (dir / "two") +
                          " --max-steps 8 --until-step 4 --set trainer.log_every=1";
  auto r = pretext::test::runCommand(cmd);
  INFO(r.output);
  REQUIRE(r.code == 0);
  const auto run = runDirs(dir / "two").at(0);
  CHECK(latestCheckpoint(run).value_or(0) == 4);
  r = pretext::test::runCommand(train() + " --quiet --resume " + run);
  INFO(r.output);
  REQUIRE(r.code == 0);
  std::string err;
  CHECK(readStatus(run, err)->phase == RunPhase::Finished);
  const std::string straight = trainRun(dir / "one", "quick-test", 1, 8);
  const double diff = maxWeightDifference(run + "/checkpoints/step_000000008",
                                          straight + "/checkpoints/step_000000008", err);
  INFO(err);
  REQUIRE(diff >= 0);
  CHECK(diff < 2e-5);
  auto acc = readMetrics(run);
  CHECK(acc.malformedLines() == 0);
  CHECK(acc.series().at("loss/total").size() == 8);
}

TEST_CASE("a killed rank makes the others exit with its name; the run resumes", "[dist][slow]") {
  for (int victim : {1, 0}) {
    DYNAMIC_SECTION("kill rank " << victim) {
      pretext::test::TempDir dir;
      const std::string root = dir / "runs";
      const std::vector<std::string> args = {"quick-test",  "--quiet",
                                             "--out",       root,
                                             "--max-steps", "2000",
                                             "--set",       "trainer.checkpoint_every=5",
                                             "--set",       "trainer.log_every=1"};
      const int port = testPort(victim);
      pid_t pids[2];
      for (int r = 0; r < 2; ++r)
        pids[r] = spawnRank(r, 2, port, args, dir / ("rank" + std::to_string(r) + ".err"));
      // Wait for the second checkpoint, then kill the victim mid-training.
      std::string run;
      const auto deadline = Clock::now() + std::chrono::seconds(120);
      while (Clock::now() < deadline && run.empty()) {
        auto dirs = runDirs(root);
        if (!dirs.empty() && latestCheckpoint(dirs[0]).value_or(0) >= 10) run = dirs[0];
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      REQUIRE_FALSE(run.empty());
      kill(pids[victim], SIGKILL);
      waitpid(pids[victim], nullptr, 0);
      const int survivor = 1 - victim;
      double took = 0;
      const int code = waitFor(pids[survivor], std::chrono::seconds(90), &took);
      const std::string err = readText(dir / ("rank" + std::to_string(survivor) + ".err"));
      INFO(err);
      CHECK(code > 0);
      CHECK(took < 60);
      CHECK(err.find("lost rank " + std::to_string(victim)) != std::string::npos);
      // The run directory is intact: a failed run (rank 0 survived) or a stale one (rank 0
      // was killed), readable metrics, and it resumes on one process.
      std::string e;
      auto st = readStatus(run, e);
      REQUIRE(st);
      if (victim == 1) CHECK(st->phase == RunPhase::Failed);
      if (victim == 1)
        CHECK(readText(run + "/events.jsonl").find("lost rank 1") != std::string::npos);
      CHECK(readMetrics(run).malformedLines() == 0);
      const auto ckpt = latestCheckpoint(run).value_or(0);
      CHECK(ckpt >= 10);
      auto r = pretext::test::runCommand(train() + " --quiet --resume " + run + " --max-steps " +
                                         std::to_string(ckpt + 3));
      INFO(r.output);
      CHECK(r.code == 0);
      CHECK(readStatus(run, e)->phase == RunPhase::Finished);
    }
  }
}

TEST_CASE("the Slurm batch script runs 2 local ranks under faked Slurm variables", "[dist][slow]") {
  const std::string script =
      std::string(PRETEXT_SOURCE_DIR) + "/packaging/slurm/pretext-train.sbatch";
  REQUIRE(pretext::test::runCommand("bash -n " + script).code == 0);
  pretext::test::TempDir dir;
  // A stand-in for srun: starts SLURM_NTASKS copies of the command with the per-task
  // variables srun sets (SLURM_PROCID, SLURM_LOCALID) and fails if any copy fails.
  const std::string bin = dir / "bin";
  fs::create_directories(bin);
  {
    std::ofstream srun(bin + "/srun");
    srun
        << "#!/bin/bash\n"
           "[[ \"$1\" == --kill-on-bad-exit=1 ]] || { echo \"srun: unexpected $1\" >&2; exit 9; }\n"
           "shift\n"
           "pids=()\n"
           "for ((i = 0; i < SLURM_NTASKS; i++)); do\n"
           "  SLURM_PROCID=$i SLURM_LOCALID=$i \"$@\" > \"$FAKE_OUT.$i\" &\n"
           "  pids+=($!)\n"
           "done\n"
           "rc=0\n"
           "for p in \"${pids[@]}\"; do wait \"$p\" || rc=$?; done\n"
           "exit $rc\n";
  }
  fs::permissions(bin + "/srun", fs::perms::owner_all);
  const std::string root = dir / "runs";
  const std::string cmd = "env -u MASTER_ADDR -u MASTER_PORT -u WORLD_SIZE PATH=" + bin +
                          ":$PATH FAKE_OUT=" + (dir / "out") +
                          " SLURM_NTASKS=2 SLURM_NTASKS_PER_NODE=2 SLURM_CPUS_PER_TASK=1"
                          " SLURM_JOB_NODELIST=localhost SLURM_JOB_ID=" +
                          std::to_string(4000 + getpid() % 5000) + " PRETEXT_TRAIN=" + train() +
                          " bash " + script + " quick-test --quiet --out " + root +
                          " --max-steps 4 --set trainer.log_every=1";
  auto r = pretext::test::runCommand(cmd);
  INFO(cmd << "\n" << r.output);
  REQUIRE(r.code == 0);
  const auto dirs = runDirs(root);
  REQUIRE(dirs.size() == 1);
  std::string e;
  CHECK(readStatus(dirs[0], e)->phase == RunPhase::Finished);
  CHECK(r.output.find("2 ranks, rendezvous localhost") != std::string::npos);
  checkRanksAgreeEveryStep(dirs[0], 2, 4);
  CHECK(readText(dirs[0] + "/logs/rank-1.log").find("rank 1 of 2") != std::string::npos);
  // Rank 0 printed the run directory; rank 1 printed nothing on stdout.
  CHECK(readText(dir / "out.0").find(dirs[0]) != std::string::npos);
  CHECK(readText(dir / "out.1").empty());
}

TEST_CASE("rank 0's rendezvous store listens on MASTER_ADDR only; SIGTERM stops every rank",
          "[dist][slow]") {
  // Every listening TCP socket of the two ranks, as `ss` shows them (local address:port).
  auto listeners = [](const std::vector<pid_t>& pids) {
    auto r = pretext::test::runCommand("ss -ltnpH");
    std::vector<std::string> out;
    std::istringstream in(r.output);
    std::string line;
    while (std::getline(in, line))
      for (pid_t p : pids)
        if (line.find("pid=" + std::to_string(p) + ",") != std::string::npos) {
          std::istringstream f(line);
          std::string state, recvQ, sendQ, local;
          f >> state >> recvQ >> sendQ >> local;
          out.push_back(local);
        }
    return out;
  };
  for (const bool any : {false, true}) {
    DYNAMIC_SECTION((any ? "PRETEXT_STORE_BIND=any" : "default")) {
      pretext::test::TempDir dir;
      const std::string root = dir / "runs";
      const std::vector<std::string> args = {"quick-test", "--quiet",     "--out",
                                             root,         "--max-steps", "100000"};
      const int port = testPort(4 + (any ? 1 : 0));
      if (any) setenv("PRETEXT_STORE_BIND", "any", 1);
      std::vector<pid_t> pids;
      for (int r = 0; r < 2; ++r)
        pids.push_back(spawnRank(r, 2, port, args, dir / ("rank" + std::to_string(r) + ".err")));
      unsetenv("PRETEXT_STORE_BIND");
      std::string run;
      const auto deadline = Clock::now() + std::chrono::seconds(120);
      while (Clock::now() < deadline && run.empty()) {
        auto dirs = runDirs(root);
        std::string e;
        if (!dirs.empty())
          if (auto st = readStatus(dirs[0], e); st && st->step >= 2) run = dirs[0];
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      REQUIRE_FALSE(run.empty());
      const auto local = listeners(pids);
      std::string all;
      for (const auto& l : local) all += l + " ";
      INFO("listening: " << all);
      const std::string storeEnd = ":" + std::to_string(port);
      bool storeSeen = false, wildcard = false;
      for (const auto& l : local) {
        const bool loopback =
            l.rfind("127.0.0.1:", 0) == 0 || l.rfind("[::ffff:127.0.0.1]:", 0) == 0;
        if (l.size() > storeEnd.size() &&
            l.compare(l.size() - storeEnd.size(), storeEnd.size(), storeEnd) == 0)
          storeSeen = true;
        if (!loopback) wildcard = true;
      }
      CHECK(storeSeen);
      CHECK(wildcard == any);  // the check sees a wildcard listener when one is asked for
      // SIGTERM to both ranks (as Slurm does): they agree on a step, checkpoint, exit 130.
      for (pid_t p : pids) kill(p, SIGTERM);
      for (int r = 0; r < 2; ++r) {
        INFO("rank " << r << ": " << readText(dir / ("rank" + std::to_string(r) + ".err")));
        CHECK(waitFor(pids[r], std::chrono::seconds(60)) == 130);
      }
      std::string e;
      const auto st = readStatus(run, e);
      REQUIRE(st);
      CHECK(st->phase == RunPhase::Stopped);
      CHECK(latestCheckpoint(run) == st->step);
    }
  }
}
