#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "pretext/data/fs_util.h"
#include "pretext/data/readers.h"
#include "pretext/runs/events.h"
#include "pretext/runs/run_dir.h"
#include "test_util.h"

using namespace pretext::core;
namespace fs = std::filesystem;

namespace {
std::unique_ptr<RunDirWriter> newRun(const std::string& root) {
  std::string err;
  auto w = RunDirWriter::create(root, Config::defaults(), err);
  INFO(err);
  REQUIRE(w);
  return w;
}
void appendRaw(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app | std::ios::binary) << text;
}
}  // namespace

TEST_CASE("a new run directory has every file and nothing temporary", "[rundir]") {
  pretext::test::TempDir root;
  auto w = newRun(root.str());
  for (const char* f : {"run.json", "config.yaml", "status.json", "metrics.csv", "events.jsonl"})
    CHECK(fs::is_regular_file(w->dir() + "/" + f));
  CHECK(fs::is_directory(w->dir() + "/checkpoints"));
  int entries = 0;
  for (const auto& e : fs::directory_iterator(root.str())) {
    ++entries;
    CHECK(e.path().filename().string()[0] != '.');
  }
  CHECK(entries == 1);
  std::string text, err;
  REQUIRE(readFile(w->dir() + "/run.json", text, err));
  auto j = nlohmann::json::parse(text);
  CHECK(j["format_version"] == kRunFormatVersion);
  CHECK(j["versions"].contains("libtorch"));
  auto st = readStatus(w->dir(), err);
  REQUIRE(st);
  CHECK(st->phase == RunPhase::Created);
  CHECK(isRunDir(w->dir()));
}

TEST_CASE("an unwritable runs root fails cleanly", "[rundir]") {
  std::string err;
  auto w = RunDirWriter::create("/proc/no-such-place/runs", Config::defaults(), err);
  CHECK_FALSE(w);
  CHECK(err.find("/proc/no-such-place/runs") != std::string::npos);
}

TEST_CASE("metric rows round-trip and torn lines are never seen", "[rundir]") {
  pretext::test::TempDir root;
  auto w = newRun(root.str());
  std::string err;
  REQUIRE(
      w->appendMetrics({{1, 5, 0.5, "loss/total", 2.5}, {1, 10, 1.0, "loss/total", 1.25}}, err));
  const std::string csv = w->dir() + "/metrics.csv";
  LineTail tail(csv);
  CHECK(tail.poll().size() == 3);      // header + 2
  appendRaw(csv, "1,15,1.5,loss/to");  // a writer killed mid-line
  CHECK(tail.poll().empty());
  auto acc = readMetrics(w->dir());
  REQUIRE(acc.series().at("loss/total").size() == 2);
  CHECK(acc.series().at("loss/total")[1].value == 1.25);
  CHECK(acc.malformedLines() == 0);
  appendRaw(csv, "tal,0.75\n");  // the rest of the line arrives
  auto lines = tail.poll();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "1,15,1.5,loss/total,0.75");
}

TEST_CASE("malformed metric lines are counted, not parsed", "[rundir]") {
  MetricsAccumulator acc;
  CHECK_FALSE(acc.addLine("segment,step,wall_s,key,value"));
  CHECK_FALSE(acc.addLine("1,x,0,loss,1"));
  CHECK_FALSE(acc.addLine("1,2,0,loss"));
  CHECK_FALSE(acc.addLine("1,2,0,loss,1.5junk"));
  CHECK(acc.addLine("1,2,0,loss,1.5"));
  CHECK(acc.malformedLines() == 3);
}

TEST_CASE("resume hides the abandoned branch and cuts a torn tail", "[rundir]") {
  pretext::test::TempDir root;
  std::string dir, err;
  {
    auto w = newRun(root.str());
    dir = w->dir();
    std::vector<MetricRow> rows;
    for (int s = 5; s <= 30; s += 5) rows.push_back({1, s, s * 0.1, "loss/total", 100.0 - s});
    REQUIRE(w->appendMetrics(rows, err));
  }
  appendRaw(dir + "/metrics.csv", "1,35,3.5,loss/tot");  // crash mid-write
  auto w2 = RunDirWriter::openForResume(dir, 20, err);
  REQUIRE(w2);
  CHECK(w2->segment() == 2);
  REQUIRE(
      w2->appendMetrics({{2, 25, 2.6, "loss/total", 50.0}, {2, 30, 3.1, "loss/total", 40.0}}, err));
  auto acc = readMetrics(dir);
  CHECK(acc.malformedLines() == 0);
  const auto& s = acc.series().at("loss/total");
  std::vector<std::int64_t> steps;
  for (const auto& p : s) steps.push_back(p.step);
  CHECK(steps == std::vector<std::int64_t>{5, 10, 15, 20, 25, 30});
  CHECK(s[4].value == 50.0);  // the new segment's value, not the abandoned one
  CHECK(s[4].segment == 2);
  CHECK(acc.resumeSteps() == std::vector<std::int64_t>{20});
  // A second resume is segment 3.
  w2.reset();
  auto w3 = RunDirWriter::openForResume(dir, 25, err);
  REQUIRE(w3);
  CHECK(w3->segment() == 3);
}

TEST_CASE("status is replaced atomically and read back", "[rundir]") {
  pretext::test::TempDir root;
  auto w = newRun(root.str());
  RunStatus st;
  st.phase = RunPhase::Running;
  st.step = 42;
  st.maxSteps = 100;
  st.pid = ::getpid();
  st.host = hostName();
  std::string err;
  REQUIRE(w->writeStatus(st, err));
  auto back = readStatus(w->dir(), err);
  REQUIRE(back);
  CHECK(back->phase == RunPhase::Running);
  CHECK(back->step == 42);
  for (const auto& e : fs::directory_iterator(w->dir()))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
  std::ofstream(w->dir() + "/status.json") << "{\"phase\": 7";
  CHECK_FALSE(readStatus(w->dir(), err));
  CHECK(err.find("status.json: malformed") != std::string::npos);
}

TEST_CASE("listRuns marks a running run whose process is gone as stale", "[rundir]") {
  pretext::test::TempDir root;
  auto alive = newRun(root.str());
  auto dead = newRun(root.str());
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  std::string err;
  RunStatus st;
  st.phase = RunPhase::Running;
  st.host = hostName();
  st.pid = ::getpid();
  st.updatedAt = unixNow();
  REQUIRE(alive->writeStatus(st, err));
  st.pid = child;
  REQUIRE(dead->writeStatus(st, err));
  auto runs = listRuns(root.str());
  REQUIRE(runs.size() == 2);
  for (const auto& r : runs) {
    if (r.dir == dead->dir()) {
      CHECK(r.stale);
      CHECK(r.displayPhase() == "stale");
    } else {
      CHECK_FALSE(r.stale);
      CHECK(r.displayPhase() == "running");
    }
  }
}

TEST_CASE("checkpoints commit atomically, latest points at the newest, old ones are pruned",
          "[rundir]") {
  pretext::test::TempDir root;
  auto w = newRun(root.str());
  std::string err;
  for (int step : {10, 20, 30, 40}) {
    std::string tmp = w->beginCheckpoint(step, err);
    REQUIRE_FALSE(tmp.empty());
    std::ofstream(tmp + "/model.pt") << "weights" << step;
    std::ofstream(tmp + "/state.json") << "{\"step\": " << step << ", \"manifest\": true}";
    REQUIRE(w->commitCheckpoint(step, 2, err));
  }
  std::string latestDir;
  CHECK(latestCheckpoint(w->dir(), &latestDir) == 40);
  CHECK(fs::is_regular_file(latestDir + "/model.pt"));
  int kept = 0;
  for (const auto& e : fs::directory_iterator(w->dir() + "/checkpoints"))
    if (e.is_directory()) ++kept;
  CHECK(kept == 2);
  // A begun but never committed checkpoint is invisible.
  REQUIRE_FALSE(w->beginCheckpoint(50, err).empty());
  CHECK(latestCheckpoint(w->dir()) == 40);
}

TEST_CASE("point snapshots carry the probe pair's flow; a damaged one is refused by name",
          "[rundir]") {
  pretext::test::TempDir root;
  auto w = newRun(root.str());
  PointSnapshot snap;
  snap.step = 7;
  snap.xyz = {0, 0, 0, 1, 1, 1};
  snap.fields["height"] = {0, 1};
  auto flow = std::make_shared<FlowSample>();
  flow->first = {0, 0, 0, 1, 0, 0, 2, 0, 0};
  flow->second = {0.5f, 0, 0, 1.5f, 0, 0};
  flow->truth = {0.5f, 0, 0, 0.5f, 0, 0, 0.5f, 0, 0};
  flow->predicted = {0.5f, 0, 0, 0.5f, 0, 0, -0.5f, 0, 0};
  flow->kind = "exact";
  flow->source = "probe pair";
  snap.flow = flow;
  std::string err;
  REQUIRE(w->writeSnapshot(snap, err));
  const std::string dir = w->dir() + "/snapshots/" + checkpointDirName(7);
  auto back = readPointSnapshot(dir, err);
  INFO(err);
  REQUIRE(back);
  REQUIRE(back->flow);
  CHECK(back->flow->first == flow->first);
  CHECK(back->flow->second == flow->second);
  CHECK(back->flow->truth == flow->truth);
  CHECK(back->flow->predicted == flow->predicted);
  CHECK(back->flow->kind == "exact");
  // Without a prediction there is no flow_pred.npy and none is read.
  snap.step = 8;
  flow->predicted.clear();
  REQUIRE(w->writeSnapshot(snap, err));
  auto noPred = readPointSnapshot(w->dir() + "/snapshots/" + checkpointDirName(8), err);
  REQUIRE(noPred);
  CHECK(noPred->flow->predicted.empty());
  CHECK(!fs::exists(w->dir() + "/snapshots/" + checkpointDirName(8) + "/flow_pred.npy"));
  // A truncated array is refused, naming the file.
  std::string npy;
  REQUIRE(readFile(dir + "/flow_truth.npy", npy, err));
  std::ofstream(dir + "/flow_truth.npy", std::ios::binary | std::ios::trunc)
      << npy.substr(0, npy.size() - 12);
  err.clear();
  CHECK(!readPointSnapshot(dir, err));
  CHECK_THAT(err, Catch::Contains("flow_truth.npy"));
}

TEST_CASE("npy files round-trip and bad ones are rejected", "[npy]") {
  pretext::test::TempDir dir;
  std::vector<float> data{1, 2, 3, 4, 5, 6};
  REQUIRE_NOTHROW(writeNpy(dir / "a.npy", data, {2, 3}));
  const NpyArray back = readNpy(dir / "a.npy");
  CHECK(std::vector<float>(back.data.begin(), back.data.end()) == data);
  CHECK(back.shape == std::vector<std::size_t>{2, 3});
  CHECK((fs::file_size(dir / "a.npy") - 24) % 64 == 0);  // header padded to 64 bytes
  std::ofstream(dir / "bad.npy") << "not numpy";
  CHECK_THROWS_WITH(readNpy(dir / "bad.npy"), Catch::Contains("bad magic"));
  fs::resize_file(dir / "a.npy", fs::file_size(dir / "a.npy") - 4);
  CHECK_THROWS_WITH(
      readNpy(dir / "a.npy"),
      Catch::Contains("shape needs 24 bytes of <f4 data but 20 bytes follow the header"));
}

TEST_CASE("the event queue is bounded and coalesces", "[events]") {
  EventQueue q(/*maxRows=*/3, /*maxLogs=*/2);
  q.onMetrics({{1, 1, 0, "a", 1}, {1, 2, 0, "a", 2}});
  q.onMetrics({{1, 3, 0, "a", 3}, {1, 4, 0, "a", 4}});
  RunStatus s1, s2;
  s1.step = 1;
  s2.step = 2;
  q.onStatus(s1);
  q.onStatus(s2);
  auto snap1 = std::make_shared<PointSnapshot>();
  auto snap2 = std::make_shared<PointSnapshot>();
  snap2->step = 9;
  q.onSnapshot(snap1);
  q.onSnapshot(snap2);
  for (int i = 0; i < 5; ++i) q.onLog(LogLevel::Info, std::to_string(i));
  auto b = q.drain();
  REQUIRE(b.metrics.size() == 3);
  CHECK(b.metrics.front().step == 2);  // oldest dropped
  CHECK(b.metricsGap);
  CHECK(b.status.step == 2);
  CHECK(b.snapshot->step == 9);
  REQUIRE(b.logs.size() == 2);
  CHECK(b.logs.back().second == "4");
  CHECK(b.logsDropped == 3);
  CHECK(q.drain().empty());
}

TEST_CASE("one writer per run directory: a second writer is refused and nothing is touched",
          "[rundir]") {
  pretext::test::TempDir root;
  auto first = newRun(root.str());
  std::string err;
  REQUIRE(first->appendMetrics({{1, 1, 0.1, "loss/total", 1.0}}, err));
  std::ofstream(first->dir() + "/metrics.csv", std::ios::app) << "1,2,0.2,loss/to";  // mid-write
  const auto sizeBefore = fs::file_size(first->dir() + "/metrics.csv");
  auto second = RunDirWriter::openForResume(first->dir(), 1, err);
  CHECK_FALSE(second);
  CHECK(err.find("another process is writing this run") != std::string::npos);
  CHECK(fs::file_size(first->dir() + "/metrics.csv") == sizeBefore);  // the live tail is not cut
  first.reset();  // the writer ends: the run can be resumed
  auto third = RunDirWriter::openForResume(
      fs::path(root.str()).string() + "/" + listRuns(root.str())[0].id, 1, err);
  INFO(err);
  CHECK(third);
}
