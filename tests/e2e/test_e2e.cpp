// Launches the real `pretext` GUI binary on a preset (the process inherits Xvfb's DISPLAY
// from ctest), lets it train and exit, then inspects the run directory and the screenshot.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "pixels.h"
#include "pretext/runs/run_dir.h"

namespace fs = std::filesystem;
using namespace pretext;

namespace {

int runGui(const std::string& args, std::string& output) {
  // A private settings folder: a developer's saved window layout must not change the test.
  const std::string config = std::string(PRETEXT_ARTIFACTS) + "/e2e-config";
  std::string cmd =
      "XDG_CONFIG_HOME=" + config + " " + std::string(PRETEXT_GUI_EXE) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

QRect rectOf(const QJsonObject& o, const char* key) {
  QJsonArray a = o.value(key).toArray();
  return QRect(a.at(0).toInt(), a.at(1).toInt(), a.at(2).toInt(), a.at(3).toInt());
}

}  // namespace

TEST_CASE("pretext --run trains a preset, screenshots the window and exits", "[e2e]") {
  const fs::path out = fs::path(PRETEXT_ARTIFACTS) / "e2e";
  fs::remove_all(out);
  fs::create_directories(out);
  const std::string shot = (out / "main_window.png").string();
  std::string log;
  const int code =
      runGui("--run quick-test --max-steps 24 --set trainer.snapshot_every=4 --out " +
                 (out / "runs").string() + " --screenshot " + shot + " --exit-when-done",
             log);
  INFO(log);
  REQUIRE(code == 0);

  // The run directory is complete.
  std::vector<core::RunSummary> runs = core::listRuns((out / "runs").string());
  REQUIRE(runs.size() == 1);
  const std::string dir = runs[0].dir;
  CHECK(runs[0].status.phase == core::RunPhase::Finished);
  CHECK(runs[0].status.step == 24);
  CHECK_FALSE(runs[0].stale);
  for (const char* f : {"run.json", "config.yaml", "status.json", "metrics.csv", "events.jsonl",
                        "checkpoints/latest.json"})
    CHECK(fs::is_regular_file(fs::path(dir) / f));
  CHECK(core::latestCheckpoint(dir) == 24);
  auto acc = core::readMetrics(dir);
  REQUIRE(acc.series().count("loss/total"));
  CHECK(acc.series().at("loss/total").back().step == 24);
  CHECK(acc.malformedLines() == 0);
  CHECK(fs::is_regular_file(fs::path(dir) / "snapshots" / core::checkpointDirName(24) /
                            "points.npy"));
  std::ifstream run(fs::path(dir) / "run.json");
  std::string runJson((std::istreambuf_iterator<char>(run)), {});
  CHECK(runJson.find("\"qt\"") != std::string::npos);  // the GUI registered its versions
  CHECK(runJson.find("\"vtk\"") != std::string::npos);

  // The screenshot shows a non-blank 3D view and a chart with a curve.
  QImage img(QString::fromStdString(shot));
  REQUIRE_FALSE(img.isNull());
  QFile side(QString::fromStdString(shot + ".json"));
  REQUIRE(side.open(QIODevice::ReadOnly));
  QJsonObject meta = QJsonDocument::fromJson(side.readAll()).object();
  CHECK(meta.value("phase").toString() == "finished");
  const QRect view = rectOf(meta, "view3d");
  const QRect chart = rectOf(meta, "loss_chart");
  REQUIRE(img.rect().contains(view));
  REQUIRE(img.rect().contains(chart));
  auto v = test::regionStats(img, view, QColor(meta.value("view3d_background").toString()));
  INFO("3D view: " << v.fractionNotBackground * 100 << "% not background, " << v.distinctColors
                   << " colours");
  CHECK(v.fractionNotBackground > 0.005);
  CHECK(v.distinctColors > 30);
  auto c = test::regionStats(img, chart, Qt::white,
                             QColor(meta.value("loss_chart_color").toString()), 40);
  INFO("chart: " << c.matching << " curve pixels spanning x " << c.matchMinX << ".."
                 << c.matchMaxX);
  CHECK(c.matching > 80);
  CHECK(c.matchMaxX - c.matchMinX > chart.width() / 2);

  // Example figures of this run, kept in the build folder (artifacts/e2e/figures) for a
  // reviewer: plots as PDF/SVG, the 3D view of the last snapshot as PNG and PDF, and one
  // frame per snapshot with a shared camera and colour range.
  const fs::path figs = out / "figures";
  fs::create_directories(figs);
  const std::string exe = PRETEXT_EXPORT_EXE;
  const std::vector<std::pair<std::string, std::string>> exports = {
      {"--figure loss/total,equiv/probe_err --out " + (figs / "plots.pdf").string(), "plots.pdf"},
      {"--figure loss/total,equiv/probe_err --style double-column --out " +
           (figs / "plots.svg").string(),
       "plots.svg"},
      {"--render latest --scale 2 --out " + (figs / "view3d.png").string(), "view3d.png"},
      {"--render latest --background white --out " + (figs / "view3d.pdf").string(), "view3d.pdf"},
      {"--render all --size 640x480 --out " + (figs / "frames").string(),
       "frames/step_000000024.png"},
  };
  for (const auto& [args, file] : exports) {
    std::string output;
    FILE* p = popen((exe + " " + dir + " " + args + " 2>&1").c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
    const int status = pclose(p);
    INFO(args << "\n" << output);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    CHECK(fs::file_size(figs / file) > 1000);
  }
  // Snapshots every 4 steps up to 24: 7 frames (step 0 included).
  std::size_t frames = 0;
  for (const auto& e : fs::directory_iterator(figs / "frames"))
    frames += e.path().extension() == ".png";
  CHECK(frames == 7);
}

TEST_CASE("pretext --run with an invalid config exits 2 and names the key", "[e2e]") {
  const fs::path out = fs::path(PRETEXT_ARTIFACTS) / "e2e-invalid";
  fs::remove_all(out);
  std::string log;
  const int code = runGui(
      "--run quick-test --set trainer.lr=fast --out " + out.string() + " --exit-when-done", log);
  INFO(log);
  CHECK(code == 2);
  CHECK(log.find("trainer.lr: expected a number") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("SIGTERM to the window stops its run with a checkpoint and exits 130", "[e2e]") {
  const fs::path out = fs::path(PRETEXT_ARTIFACTS) / "e2e-sigterm";
  fs::remove_all(out);
  fs::create_directories(out);
  const std::string config = std::string(PRETEXT_ARTIFACTS) + "/e2e-config";
  const std::string runs = (out / "runs").string();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    setenv("XDG_CONFIG_HOME", config.c_str(), 1);
    if (!freopen((out / "log.txt").c_str(), "w", stderr)) _exit(126);
    execl(PRETEXT_GUI_EXE, PRETEXT_GUI_EXE, "--run", "quick-test", "--max-steps", "100000", "--out",
          runs.c_str(), nullptr);
    _exit(127);
  }
  // Wait until the run has trained a few steps, then signal as Slurm or systemd would.
  std::string dir;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline && dir.empty()) {
    auto list = core::listRuns(runs);
    if (!list.empty() && list[0].status.step >= 3) dir = list[0].dir;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE_FALSE(dir.empty());
  kill(pid, SIGTERM);
  int status = 0, code = -2;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (code == -2) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  std::ifstream logFile(out / "log.txt");
  std::string log((std::istreambuf_iterator<char>(logFile)), {});
  INFO(log);
  CHECK(code == 130);
  std::string err;
  const auto st = core::readStatus(dir, err);
  REQUIRE(st);
  CHECK(st->phase == core::RunPhase::Stopped);
  CHECK(core::latestCheckpoint(dir) == st->step);
}
