#include <malloc.h>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QMainWindow>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTest>
#include <QTimer>
#include <QToolButton>
#include <QTreeWidget>
#include <QtCharts/QChartView>
#include <QtCharts/QLegend>
#include <QtCharts/QLegendMarker>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include <fstream>
#include "../core/test_util.h"
#include "busy_probe.h"
#include "gui_util.h"
#include "pixels.h"
#include "pretext/runs/presets.h"
#include "pretext/runs/series.h"
#include "pretext/session/run_watcher.h"
#include "pretext/session/trainer_host.h"
#include "pretext/widgets/config_panel.h"
#include "pretext/widgets/main_window.h"
#include "pretext/widgets/metric_chart.h"
#include "pretext/widgets/point_cloud_view.h"
#include "pretext/widgets/run_status_bar.h"
#include "pretext/widgets/runs_browser.h"

using namespace pretext::render;

using namespace pretext;
using pretext::test::regionStats;

namespace {

// A 60 x 60 m ground grid with a ramp of scalars along x.
void gridCloud(std::vector<float>& xyz, std::vector<float>& s, float lo, float hi) {
  for (int i = 0; i < 120; ++i)
    for (int j = 0; j < 120; ++j) {
      xyz.insert(xyz.end(), {i * 0.5f - 30, j * 0.5f - 30, -1.7f + 0.02f * j});
      s.push_back(lo + (hi - lo) * i / 119.0f);
    }
}

// Shows `view` at w x h and gives it the 0..1 grid cloud coloured by x.
void showGrid(widgets::PointCloudView& view, int w, int h) {
  view.resize(w, h);
  view.show();
  REQUIRE(QTest::qWaitForWindowExposed(&view));
  std::vector<float> xyz, s;
  gridCloud(xyz, s, 0, 1);
  view.setPointCloud(xyz, s, "x");
}

// Shows a main window writing runs under `runsRoot` and waits until it is on screen.
void showWindow(widgets::MainWindow& w, const std::string& runsRoot) {
  w.setRunsRoot(QString::fromStdString(runsRoot));
  REQUIRE(pretext::test::showExposed(w, 1280, 800));
}

template <typename Pred>
bool waitFor(Pred pred, int ms) {
  QElapsedTimer t;
  t.start();
  while (!pred() && t.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 20);
  return pred();
}

// A folder without config.yaml cannot be diffed: the tree says why.
bool showDiffRefused(widgets::RunsBrowser* browser, const std::string& notARun) {
  const QString dir = QString::fromStdString(notARun);
  QSignalSpy shown(browser, &widgets::RunsBrowser::diffShown);
  browser->showDiff(dir, dir);  // the configs are read in a job
  return shown.wait(5000) && !shown.at(0).at(0).toBool() &&
         browser->diffTree()->topLevelItem(0)->text(0) == "cannot compare";
}

void settle(int ms = 200) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 20);
}

// Shows the main window's 3D view with a point cloud once and goes back to what it showed,
// so that the view's one-time set-up (OpenGL context, VTK pipeline, llvmpipe compiling the
// shaders) is done before a responsiveness probe starts: the probes measure the GUI thread
// while it works, not this. The set-up's own longest busy stretch is returned, for reports.
double warmUp3dView(widgets::MainWindow& w) {
  auto* stack = qobject_cast<QStackedWidget*>(w.pointView()->parentWidget());
  REQUIRE(stack);
  QWidget* shown = stack->currentWidget();
  pretext::test::BusyProbe busy;
  stack->setCurrentWidget(w.pointView());
  std::vector<float> xyz, s;
  gridCloud(xyz, s, 0, 1);
  w.pointView()->setPointCloud(xyz, s, "x");
  settle(300);
  stack->setCurrentWidget(shown);
  settle(100);
  busy.stop();
  return busy.longestMs();
}

}  // namespace

TEST_CASE("the VTK view renders a coloured point cloud with a matching colour bar", "[gui][vtk]") {
  widgets::PointCloudView view;
  REQUIRE(pretext::test::showExposed(view, 640, 480));
  QImage empty = view.grabFramebuffer();
  CHECK(regionStats(empty, empty.rect(), view.background()).fractionNotBackground < 0.001);

  std::vector<float> xyz, s;
  gridCloud(xyz, s, 2.0f, 7.5f);
  view.setPointCloud(xyz, s, "height");
  settle();
  CHECK(view.pointCount() == 14400);
  CHECK(view.scalarRange().first == Approx(2.0));
  CHECK(view.scalarRange().second == Approx(7.5));
  QImage img = view.grabFramebuffer();
  REQUIRE(img.width() >= 640);
  auto st = regionStats(img, img.rect(), view.background());
  INFO("not background " << st.fractionNotBackground << ", colours " << st.distinctColors);
  CHECK(st.fractionNotBackground > 0.05);
  CHECK(st.distinctColors > 40);
  // The colour bar sits at the right edge and holds both ends of viridis.
  QRect bar(static_cast<int>(img.width() * 0.88), 0, static_cast<int>(img.width() * 0.12),
            img.height());
  CHECK(regionStats(img, bar, view.background(), QColor(68, 1, 84), 40).matching > 20);
  CHECK(regionStats(img, bar, view.background(), QColor(253, 231, 37), 40).matching > 20);
  QDir().mkpath(QString(PRETEXT_ARTIFACTS) + "/gui");  // kept for a human look
  img.save(QString(PRETEXT_ARTIFACTS) + "/gui/vtk_view.png");
}

TEST_CASE("mouse drags and the wheel move the camera; R resets it", "[gui][vtk]") {
  widgets::PointCloudView view;
  showGrid(view, 500, 400);
  settle();
  QImage before = view.grabFramebuffer();
  QTest::mousePress(&view, Qt::LeftButton, {}, QPoint(250, 200));
  for (int k = 1; k <= 10; ++k) QTest::mouseMove(&view, QPoint(250 + 12 * k, 200 + 3 * k));
  QTest::mouseRelease(&view, Qt::LeftButton, {}, QPoint(370, 230));
  settle();
  QImage rotated = view.grabFramebuffer();
  CHECK(rotated != before);
  QWheelEvent wheel(QPointF(250, 200), view.mapToGlobal(QPointF(250, 200)), QPoint(),
                    QPoint(0, 120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
  QApplication::sendEvent(&view, &wheel);
  settle();
  CHECK(view.grabFramebuffer() != rotated);
  QTest::keyClick(&view, Qt::Key_R);
  settle();
  CHECK(view.grabFramebuffer() == before);
}

TEST_CASE("a drag draws an even subset of a large cloud, the whole cloud after it", "[gui][vtk]") {
  widgets::PointCloudView view;
  REQUIRE(pretext::test::showExposed(view, 400, 300));
  std::vector<float> xyz, s;
  for (int i = 0; i < 600000; ++i) {
    xyz.insert(xyz.end(), {float(i % 1000) * 0.05f, float(i / 1000) * 0.05f, 0});
    s.push_back(float(i % 7));
  }
  view.setPointCloud(xyz, s, "f");
  CHECK(view.drawnPointCount() == 600000);
  const QPoint mid(200, 150);
  QTest::mousePress(&view, Qt::LeftButton, {}, mid);
  CHECK(view.drawnPointCount() == 200000);  // every third point: at most 250 000
  QTest::mouseMove(&view, mid + QPoint(40, 0));
  settle(100);
  QTest::mouseRelease(&view, Qt::LeftButton, {}, mid + QPoint(40, 0));
  CHECK(view.drawnPointCount() == 600000);
  // A small cloud is always drawn whole.
  view.setPointCloud(std::vector<float>(xyz.begin(), xyz.begin() + 3000), {}, "small");
  view.setInteracting(true);
  CHECK(view.drawnPointCount() == 1000);
  view.setInteracting(false);
}

TEST_CASE("the view follows resizes", "[gui][vtk]") {
  widgets::PointCloudView view;
  showGrid(view, 300, 200);
  view.resize(700, 300);
  settle();
  QImage img = view.grabFramebuffer();
  CHECK(img.width() == static_cast<int>(700 * view.devicePixelRatioF()));
  // The cloud stays drawn and centred in the widened view.
  double sumX = 0;
  long count = 0;
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < static_cast<int>(img.width() * 0.85); ++x)  // left of the colour bar
      if (!pretext::test::near(img.pixel(x, y), view.background(), 12)) sumX += x, ++count;
  REQUIRE(count > img.width() * img.height() / 50);
  CHECK(std::abs(sumX / count - img.width() / 2.0) < img.width() * 0.1);
}

TEST_CASE("min/max decimation keeps every bucket's extremes of a 10^6-point series",
          "[gui][chart]") {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 1);
  std::vector<core::XYPoint> pts;
  pts.reserve(1000000);
  for (int i = 0; i < 1000000; ++i) pts.emplace_back(i, std::sin(i * 1e-4) + noise(rng) * 0.1);
  const int width = 800;
  auto out = core::decimateMinMax(pts, 0, 999999, width);
  CHECK(out.size() <= static_cast<std::size_t>(4 * width));
  CHECK(out.size() >= static_cast<std::size_t>(2 * width));
  // For every bucket, the bucket's min and max survive.
  const double bw = 999999.0 / width;
  std::vector<double> mins(width, 1e9), maxs(width, -1e9), outMins(width, 1e9),
      outMaxs(width, -1e9);
  auto bucket = [&](double x) { return std::min(width - 1, static_cast<int>(x / bw)); };
  for (const auto& [x, y] : pts) {
    mins[bucket(x)] = std::min(mins[bucket(x)], y);
    maxs[bucket(x)] = std::max(maxs[bucket(x)], y);
  }
  for (const auto& [x, y] : out) {
    outMins[bucket(x)] = std::min(outMins[bucket(x)], y);
    outMaxs[bucket(x)] = std::max(outMaxs[bucket(x)], y);
  }
  CHECK(outMins == mins);
  CHECK(outMaxs == maxs);
  for (std::size_t i = 1; i < out.size(); ++i) REQUIRE(out[i].first > out[i - 1].first);
}

TEST_CASE("the chart draws decimated history and survives log axes with bad values",
          "[gui][chart]") {
  widgets::MetricChart chart("loss/total");
  REQUIRE(pretext::test::showExposed(chart, 600, 300));
  // Switching between linear and log axes draws nothing a log scale cannot place (Qt
  // Charts warns "Logarithms of zero and negative values are undefined." when it must).
  pretext::test::QtWarnings warnings;
  std::vector<core::MetricRow> rows;
  for (int s = 1; s <= 20000; ++s)
    rows.push_back({1, s, s * 0.01, "loss/total", 10.0 / s - (s == 500 ? 5 : 0)});
  rows.push_back({1, 20001, 0, "loss/total", 0.0});
  chart.addRows("runA", rows);
  chart.redrawNow();
  CHECK(chart.rawPointCount("runA") == 20001);
  auto drawn = chart.drawnPoints("runA");
  CHECK(drawn.size() < 4000);
  CHECK(drawn.size() > 100);
  bool hasDip = false;
  for (const auto& p : drawn) hasDip |= (p.x() == 500);
  CHECK(hasDip);        // a one-step outlier is not averaged away
  chart.setLogY(true);  // 0 and the negative dip cannot be drawn on a log axis
  auto logDrawn = chart.drawnPoints("runA");
  CHECK_FALSE(logDrawn.empty());
  for (const auto& p : logDrawn) CHECK(p.y() > 0);
  CHECK(chart.keys().contains("loss/total"));
  chart.setLogY(false);  // and back: the non-positive values return
  CHECK(chart.drawnPoints("runA").size() > logDrawn.size());
  INFO(warnings.joined());
  CHECK(pretext::test::QtWarnings::messages().empty());
}

TEST_CASE("smoothing: debiased EMA on full-resolution data, raw curve kept faintly",
          "[gui][chart]") {
  // The function: identity at 0, a constant stays that constant, the first value is kept,
  // a step is approached monotonically.
  const std::vector<double> ramp = {1, 2, 3};
  CHECK(core::smoothDebiased(ramp, 0) == ramp);
  const auto c = core::smoothDebiased(std::vector<double>(1000, 3.25), 0.95);
  for (double v : c) CHECK(v == Catch::Detail::Approx(3.25).margin(1e-12));
  std::vector<double> step(200, 0.0);
  std::fill(step.begin() + 100, step.end(), 1.0);
  const auto s = core::smoothDebiased(step, 0.9);
  CHECK(s[0] == 0.0);
  for (std::size_t i = 100; i + 1 < s.size(); ++i) {
    CHECK(s[i] > 0);
    CHECK(s[i] < 1);
    CHECK(s[i + 1] > s[i]);
  }
  CHECK(s[101] == Catch::Detail::Approx(0.19).margin(1e-3));  // 1 - 0.9^2 after two ones

  // The chart: a constant series of 10^5 points draws as that constant when smoothed.
  widgets::MetricChart chart("loss/total");
  REQUIRE(pretext::test::showExposed(chart, 600, 300));
  std::vector<core::MetricRow> rows;
  for (int i = 1; i <= 100000; ++i)
    rows.push_back({1, i, 0, "loss/total", i % 1000 == 0 ? 4.0 : 2.5});  // spikes every 1000
  chart.addRows("run", rows);
  chart.setSmoothing(0.99);
  const auto smooth = chart.drawnPoints("run");
  const auto raw = chart.drawnRawPoints("run");
  REQUIRE_FALSE(smooth.empty());
  REQUIRE_FALSE(raw.empty());
  double rawMax = 0, smoothMax = 0;
  for (const auto& p : raw) rawMax = std::max(rawMax, p.y());
  for (const auto& p : smooth) smoothMax = std::max(smoothMax, p.y());
  CHECK(rawMax == 4.0);    // the faint raw curve keeps every spike
  CHECK(smoothMax < 2.6);  // the smoothed one averages them out
  CHECK(smoothMax > 2.5);
  // The figure export gets what is drawn: the smoothed values at full resolution.
  const auto curves = chart.curves();
  REQUIRE(curves.size() == 1);
  CHECK(curves[0].points.size() == 100000);
  CHECK(curves[0].points[999].second < 2.6);
  chart.setSmoothing(0);
  CHECK(chart.drawnRawPoints("run").empty());
  double plainMax = 0;
  for (const auto& p : chart.drawnPoints("run")) plainMax = std::max(plainMax, p.y());
  CHECK(plainMax == 4.0);
  widgets::MetricChart flat("x");
  flat.resize(400, 200);
  std::vector<core::MetricRow> constant;
  for (int i = 1; i <= 5000; ++i) constant.push_back({1, i, 0, "x", -7.5});
  flat.addRows("run", constant);
  flat.setSmoothing(0.9);
  for (const auto& p : flat.drawnPoints("run"))
    CHECK(p.y() == Catch::Detail::Approx(-7.5).margin(1e-12));
}

TEST_CASE("chart x axis, outlier-robust y range and resumed-segment markers", "[gui][chart]") {
  widgets::MetricChart chart("loss/total");
  REQUIRE(pretext::test::showExposed(chart, 600, 300));
  std::vector<core::MetricRow> rows;
  for (int i = 1; i <= 30; ++i)
    rows.push_back({1, i, 2.0 * i, "loss/total", i == 10 ? 1000.0 : 1.0 + 0.01 * i});
  // The run was resumed from its checkpoint at step 30 as segment 2.
  for (int i = 31; i <= 60; ++i) rows.push_back({2, i, 100.0 + i, "loss/total", 1.5});
  chart.addRows("run", rows);
  chart.redrawNow();
  CHECK(chart.rawPointCount("run") == 60);
  CHECK(chart.segmentBoundaries() == std::vector<double>{31});
  // One spike sets the plain range; the robust range ignores it and says so.
  CHECK(chart.yRange().second >= 1000);
  chart.setRobustY(true);
  CHECK(chart.yRange().second < 3);
  CHECK(chart.yRange().first <= 1.0);
  CHECK(chart.note().contains("outside the robust y range"));
  chart.setRobustY(false);
  CHECK(chart.note().isEmpty());
  // Wall time on x: the same points at their wall-clock times (boundary included).
  chart.setWallTimeX(true);
  auto drawn = chart.drawnPoints("run");
  REQUIRE_FALSE(drawn.empty());
  CHECK(drawn.front().x() == 2.0);
  CHECK(drawn.back().x() == 160.0);
  CHECK(chart.segmentBoundaries() == std::vector<double>{131});
  chart.setWallTimeX(false);
  CHECK(chart.drawnPoints("run").back().x() == 60.0);
}

TEST_CASE("chart zoom re-decimates the window; log x, samples seen and the crosshair",
          "[gui][chart]") {
  widgets::MetricChart chart("loss/total");
  REQUIRE(pretext::test::showExposed(chart, 700, 400));
  // Switching between linear and log axes draws nothing a log scale cannot place (Qt
  // Charts warns "Logarithms of zero and negative values are undefined." when it must).
  pretext::test::QtWarnings warnings;
  std::vector<core::MetricRow> rows;
  for (int i = 0; i <= 1000000; ++i)
    rows.push_back({1, i, i * 0.01, "loss/total", std::sin(i * 0.37) + 1e-4 * i});
  chart.addRows("runA", rows);
  chart.redrawNow();
  CHECK(chart.yRange().second > 100);  // the trend reaches 101
  auto inWindow = [&](double a, double b) {
    std::size_t n = 0;
    for (const auto& p : chart.drawnPoints("runA")) n += p.x() >= a && p.x() <= b;
    return n;
  };
  const std::size_t before = inWindow(1000, 2000);
  CHECK(before < 20);  // 10^6 points over ~650 px: a few per thousand steps
  // Zoomed to steps 1000..2000, every logged point there is drawn (1001 < 4 per pixel).
  chart.setXWindow(1000, 2000);
  CHECK(chart.xRange() == std::make_pair(1000.0, 2000.0));
  CHECK(inWindow(1000, 2000) == 1001);
  // y fits the window: sin in [-1, 1] plus at most 0.2 (nice numbers may round out).
  CHECK(chart.yRange().first >= -2.5);
  CHECK(chart.yRange().second <= 2.5);
  chart.resetZoom();
  CHECK(chart.xRange().second >= 1000000);
  CHECK(inWindow(1000, 2000) == before);

  // A rubber-band drag over the middle of the plot zooms in; Fit undoes it.
  const QRectF plot = chart.view()->chart()->plotArea();
  const QPoint a = chart.view()->mapFromScene(plot.topLeft() + QPointF(plot.width() * 0.4, 5));
  const QPoint b = chart.view()->mapFromScene(plot.bottomLeft() + QPointF(plot.width() * 0.6, -5));
  QTest::mousePress(chart.view()->viewport(), Qt::LeftButton, {}, a);
  QTest::mouseMove(chart.view()->viewport(), (a + b) / 2);
  QTest::mouseMove(chart.view()->viewport(), b);
  QTest::mouseRelease(chart.view()->viewport(), Qt::LeftButton, {}, b);
  settle(300);
  const auto zoomed = chart.xRange();
  INFO("zoomed to " << zoomed.first << " .. " << zoomed.second);
  CHECK(zoomed.first > 300000);
  CHECK(zoomed.second < 700000);
  CHECK(inWindow(zoomed.first, zoomed.second) > 2000);  // re-decimated at the new scale

  // Pan and zoom about a point (what the wheel does).
  chart.setXWindow(1000, 2000);
  chart.panX(0.5);
  CHECK(chart.xRange() == std::make_pair(1500.0, 2500.0));
  chart.zoomX(0.5, 2000);
  CHECK(chart.xRange() == std::make_pair(1750.0, 2250.0));
  CHECK(inWindow(1750, 2250) == 501);
  // The crosshair: exact values of the nearest logged step.
  chart.resetZoom();
  CHECK(chart.valuesAt(1234.4).startsWith("step 1234 · runA "));
  CHECK(chart.valuesAt(1234.4).endsWith(
      QString::number(std::sin(1234 * 0.37) + 1e-4 * 1234, 'g', 6)));
  QTest::mouseMove(chart.view()->viewport(), chart.view()->mapFromScene(plot.center()));
  settle(50);
  CHECK(chart.crosshairText().startsWith("step "));

  // Samples seen: step x batch size.
  chart.setSamplesPerStep("runA", 32);
  chart.setXAxis(widgets::MetricChart::XAxis::Samples);
  CHECK(chart.xRange().second >= 32.0 * 1000000);
  CHECK(chart.valuesAt(3200).startsWith("samples 3200 · runA "));
  chart.setXAxis(widgets::MetricChart::XAxis::Step);

  // Log x: step 0 cannot be drawn and is counted; the first decade is kept point by point.
  chart.setLogX(true);
  CHECK(chart.note().contains("1 non-positive"));
  std::set<double> xs;
  for (const auto& p : chart.drawnPoints("runA")) {
    CHECK(p.x() > 0);
    xs.insert(p.x());
  }
  for (int step = 1; step <= 10; ++step) CHECK(xs.count(step) == 1);
  CHECK(chart.xRange().first > 0);
  chart.setLogX(false);
  CHECK(chart.xRange().first <= 0);  // step 0 is back
  INFO(warnings.joined());
  CHECK(pretext::test::QtWarnings::messages().empty());
}

TEST_CASE("the config panel validates inline and yields overrides", "[gui][config]") {
  widgets::ConfigPanel panel;
  panel.setSource("quick-test");
  CHECK_FALSE(panel.hasErrors());
  CHECK(panel.overrides().empty());
  CHECK_FALSE(panel.setValue("trainer.lr", "fast"));
  CHECK(panel.hasErrors());
  CHECK(panel.setValue("trainer.lr", "0.003"));
  CHECK_FALSE(panel.hasErrors());
  auto o = panel.overrides();
  REQUIRE(o.size() == 1);
  CHECK(o[0] == "trainer.lr=0.003");
  // In range alone, but above augment.scale.max: the cross-field rule marks the row.
  CHECK_FALSE(panel.setValue("augment.scale.min", "1.5"));
  CHECK(panel.hasErrors());
  CHECK(panel.setValue("augment.scale.min", "0.9"));
  CHECK_FALSE(panel.hasErrors());
}

TEST_CASE("the GUI thread stays responsive while a run trains; views fill up", "[gui][e2e][busy]") {
  pretext::test::TempDir root;
  widgets::MainWindow w;
  showWindow(w, root.str());
  const double setUpMs = warmUp3dView(w);

  // Configure through the panel, as a user would, then start. gui.loaded trains fewer steps
  // (PRETEXT_TEST_TRAIN_STEPS): its busy loops leave the niced trainer a tenth of a core.
  const char* stepsEnv = std::getenv("PRETEXT_TEST_TRAIN_STEPS");
  const int steps = stepsEnv ? std::atoi(stepsEnv) : 40;
  REQUIRE(steps >= 10);
  w.configPanel()->setSource("default");
  REQUIRE(w.configPanel()->setValue("trainer.max_steps", QString::number(steps)));
  REQUIRE(w.configPanel()->setValue("trainer.log_every", "2"));
  QSignalSpy done(&w, &widgets::MainWindow::runFinished);
  REQUIRE(w.startFromPanel());

  // The GUI thread's longest busy stretch, in its own CPU time (busy_probe.h): the machine's
  // load does not change it. The 10 ms ticks keep the event loop iterating and report the
  // wall-clock gaps when the check fails.
  pretext::test::TickGaps ticks;
  pretext::test::BusyProbe busy;
  REQUIRE(done.wait(600000));
  busy.stop();
  ticks.stop();
  INFO(busy.summary());
  INFO(ticks.summary());
  INFO("the 3D view's set-up before the run: " << setUpMs << " ms CPU");
  CHECK(ticks.ticks() > 50);
  CHECK(busy.stretches() > 100);  // the probe saw the event loop run
  CHECK(busy.longestMs() < 100);

  auto st = done.takeFirst().at(0).value<core::RunStatus>();
  CHECK(st.phase == core::RunPhase::Finished);
  w.lossChart()->redrawNow();
  CHECK(w.lossChart()->rawPointCount(w.currentRunDir()) == static_cast<std::size_t>(steps / 2));
  CHECK(w.pointView()->pointCount() == 4096);  // the default preset's data.points_per_scan
  settle(300);
  QDir().mkpath(QString(PRETEXT_ARTIFACTS) + "/gui");
  const QString shot = QString(PRETEXT_ARTIFACTS) + "/gui/main_window.png";
  REQUIRE(w.saveScreenshot(shot).result());
  QImage img(shot);
  REQUIRE_FALSE(img.isNull());
  QRect chartRect(w.lossChart()->view()->viewport()->mapTo(&w, QPoint(0, 0)),
                  w.lossChart()->view()->viewport()->size());
  const qreal dpr = img.devicePixelRatio();
  chartRect = QRect(chartRect.topLeft() * dpr, chartRect.size() * dpr);
  auto curve = regionStats(img, chartRect, Qt::white, widgets::runColor(0), 40);
  CHECK(curve.matching > 50);
  CHECK(curve.matchMaxX - curve.matchMinX > chartRect.width() / 3);

  // One click to a figure: the two plots as an SVG with their keys and the run's legend.
  QString error;
  const std::string svg = root / "figure.svg";
  REQUIRE(w.exportFigure(QString::fromStdString(svg), "single-column", error));
  std::ifstream in(svg);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = text.find("width=\"");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(text.substr(at + 7)) == Catch::Detail::Approx(85.0).margin(0.5));  // mm
  CHECK(text.compare(text.find('"', at + 7) - 2, 2, "mm") == 0);
  CHECK(text.find("loss/total") != std::string::npos);
  CHECK(text.find(w.equivChart()->key().toStdString()) != std::string::npos);
  CHECK(text.find("default-") != std::string::npos);  // legend: <name>-<tag> of the run
  CHECK_FALSE(w.exportFigure(QString::fromStdString(root / "f.pdf"), "poster", error));
  CHECK(error.contains("unknown figure style"));
}

TEST_CASE("first run: the welcome panel offers the presets and starts the default in one click",
          "[gui][welcome]") {
  QSettings().clear();  // no remembered experiment: what a new user sees
  pretext::test::TempDir root;
  widgets::MainWindow w;
  showWindow(w, root.str());
  auto* welcome = w.findChild<QWidget*>("welcome");
  REQUIRE(welcome);
  CHECK(welcome->isVisible());
  auto* list = w.findChild<QListWidget*>("welcome.presets");
  REQUIRE(list);
  CHECK(list->count() == static_cast<int>(core::presets().size()));
  // Double-clicking (activating) a preset loads it into the Experiment panel.
  for (int i = 0; i < list->count(); ++i)
    if (list->item(i)->data(Qt::UserRole).toString() == "essl-temporal")
      Q_EMIT list->itemActivated(list->item(i));
  CHECK(w.configPanel()->source() == "essl-temporal");

  auto* start = w.findChild<QPushButton*>("welcome.start");
  REQUIRE(start);
  QSignalSpy done(&w, &widgets::MainWindow::runFinished);
  QTest::mouseClick(start, Qt::LeftButton);
  CHECK(w.configPanel()->source() == "default");
  // The run starts: the trainer reports steps, the 3D view replaces the welcome panel.
  QElapsedTimer t;
  t.start();
  while (w.lastStatus().step < 1 && t.elapsed() < 60000) settle(50);
  CHECK(w.lastStatus().step >= 1);
  CHECK(w.currentRunDir().startsWith(QString::fromStdString(root.str())));
  w.host()->stop();
  REQUIRE(done.wait(60000));
  CHECK(done.takeFirst().at(0).value<core::RunStatus>().phase == core::RunPhase::Stopped);
  CHECK_FALSE(welcome->isVisible());
}

TEST_CASE("the runs browser lists runs with their status", "[gui][runs]") {
  pretext::test::TempDir root;
  std::string err;
  auto w1 = core::RunDirWriter::create(root.str(), core::Config::defaults(), err);
  REQUIRE(w1);
  core::RunStatus s;
  s.phase = core::RunPhase::Finished;
  s.step = 7;
  REQUIRE(w1->writeStatus(s, err));
  widgets::RunsBrowser browser;
  QSignalSpy refreshed(&browser, &widgets::RunsBrowser::refreshed);
  browser.setRunsRoot(QString::fromStdString(root.str()));
  REQUIRE(refreshed.wait(5000));
  CHECK(browser.runCount() == 1);
}

TEST_CASE("opening a run with 10^6 metric rows: read in pieces with progress, cancellable",
          "[gui][watch][busy]") {
  pretext::test::TempDir root;
  std::string err;
  auto writer = core::RunDirWriter::create(root.str(), core::Config::defaults(), err);
  REQUIRE(writer);
  pretext::test::appendLongHistory(writer->dir(), 1000000);
  const QString dir = QString::fromStdString(writer->dir());
  widgets::MainWindow w;
  showWindow(w, root.str());
  const double setUpMs = warmUp3dView(w);
  // The GUI thread's longest busy stretch while reading, in its own CPU time (busy_probe.h):
  // the machine's load does not change it. The 10 ms ticks report the wall-clock gaps.
  pretext::test::TickGaps ticks;
  pretext::test::BusyProbe busy;
  w.openRun(dir);
  bool sawProgress = false;
  QElapsedTimer t;
  t.start();
  while (w.lossChart()->rawPointCount(dir) < 1000000 && t.elapsed() < 60000) {
    sawProgress = sawProgress || w.loadingMetrics();
    busy.processEvents(QEventLoop::AllEvents, 10);
  }
  busy.stop();
  ticks.stop();
  INFO("read in " << t.elapsed() << " ms; " << busy.summary());
  INFO(ticks.summary());
  INFO("the 3D view's set-up before opening: " << setUpMs << " ms CPU");
  CHECK(w.lossChart()->rawPointCount(dir) == 1000000);
  CHECK(sawProgress);
  settle(300);
  CHECK_FALSE(w.loadingMetrics());
  CHECK(busy.stretches() > 20);  // the probe saw the event loop run
  CHECK(busy.longestMs() < 150);

  // Cancel part-way: what was read stays, nothing more arrives.
  w.openRun(dir);
  REQUIRE(waitFor([&] { return w.loadingMetrics(); }, 20000));
  QToolButton* cancel = nullptr;
  for (auto* b : w.statusBar()->findChildren<QToolButton*>())
    if (b->text() == "Cancel") cancel = b;
  REQUIRE(cancel);
  QTest::mouseClick(cancel, Qt::LeftButton);
  CHECK_FALSE(w.loadingMetrics());
  const auto kept = w.lossChart()->rawPointCount(dir);
  settle(1500);
  CHECK(w.lossChart()->rawPointCount(dir) == kept);
  CHECK(kept < 1000000);
}

TEST_CASE("a charted run holds its metrics once: the window costs <= 1.3x the store alone",
          "[gui][memory]") {
  // 10^6 rows: 10 keys (as a run logs them, both charted keys among them) x 10^5 steps.
  pretext::test::TempDir root;
  std::string err;
  auto writer = core::RunDirWriter::create(root.str(), core::Config::defaults(), err);
  REQUIRE(writer);
  const char* keys[] = {"loss/total",         "equiv/probe_err",   "loss/rot", "loss/trans",
                        "loss/scale",         "loss/flow",         "train/lr", "train/grad_norm",
                        "perf/steps_per_sec", "perf/scans_per_sec"};
  {
    std::vector<core::MetricRow> rows;
    for (int step = 1; step <= 100000; ++step) {
      for (const char* k : keys) rows.push_back({1, step, step * 0.01, k, 1.0 / step});
      if (rows.size() >= 100000) {
        REQUIRE(writer->appendMetrics(rows, err));
        rows.clear();
      }
    }
    REQUIRE(writer->appendMetrics(rows, err));
  }
  const QString dir = QString::fromStdString(writer->dir());
  // Heap in use, every arena (glibc), in bytes.
  auto heap = [] {
    const auto m = mallinfo2();
    return static_cast<double>(m.uordblks + m.hblkhd);
  };
  widgets::MainWindow w;
  showWindow(w, root.str());
  // The 3D view's first frame allocates Mesa's buffers (tens of MB in this process): once,
  // before measuring, so only the run's own memory is counted.
  warmUp3dView(w);
  settle(300);
  const double before = heap();
  w.openRun(dir);
  REQUIRE(waitFor(
      [&] {
        return w.lossChart()->rawPointCount(dir) == 100000u &&
               w.equivChart()->rawPointCount(dir) == 100000u && !w.loadingMetrics();
      },
      120000));
  w.lossChart()->redrawNow();
  w.equivChart()->redrawNow();
  settle(300);
  const double window = heap() - before;
  // The same rows in one store of their own, built the same way (row by row).
  const double storeBefore = heap();
  auto store = std::make_shared<core::MetricsAccumulator>(core::readMetrics(writer->dir()));
  const double storeBytes = heap() - storeBefore;
  std::size_t rows = 0;
  for (const auto& [k, pts] : store->series()) rows += pts.size();
  REQUIRE(rows == 1000000u);
  INFO("window: " << window / 1e6 << " MB for the opened run; the store alone: " << storeBytes / 1e6
                  << " MB (" << window / storeBytes << "x)");
  CHECK(storeBytes > 20e6);  // ~32 bytes a row: the measure sees the store
  CHECK(window <= 1.3 * storeBytes);
}

TEST_CASE("chart legend: one entry per run, named by its folder, for two or more runs",
          "[gui][chart][legend]") {
  widgets::MetricChart chart("loss/total");
  chart.resize(700, 300);
  chart.show();
  REQUIRE(QTest::qWaitForWindowExposed(&chart));
  std::vector<core::MetricRow> rows;
  for (int s = 1; s <= 50; ++s) rows.push_back({1, s, s * 0.1, "loss/total", 1.0 / s});
  const QString a = "/runs/20261207-101010-default-aaaa", b = "/runs/20261207-111111-default-bbbb";
  chart.addRows(a, rows);
  chart.redrawNow();
  CHECK_FALSE(chart.legendVisible());                // one run: nothing to tell apart
  rows.push_back({2, 60, 6.0, "loss/total", 0.01});  // a resumed segment: a dashed line
  chart.addRows(b, rows);
  chart.setSmoothing(0.5);  // faint raw curves too
  chart.redrawNow();
  settle(100);
  REQUIRE(chart.legendVisible());
  QStringList names, all;
  for (QLegendMarker* m : chart.findChild<QChartView*>()->chart()->legend()->markers()) {
    all << m->label() + (m->isVisible() ? "+" : "-");
    if (m->isVisible()) names << m->label();
  }
  INFO(all.join(", ").toStdString());
  CHECK(names == QStringList{"default-aaaa", "default-bbbb"});
  QDir().mkpath(PRETEXT_ARTIFACTS);
  QTest::qWait(300);  // also runs deferred deletes (Qt Charts frees old axes' items so)
  CHECK(chart.findChild<QChartView*>()->chart()->axes().size() == 2);   // one x, one y
  chart.grab().save(QString(PRETEXT_ARTIFACTS) + "/chart_legend.png");  // to look at
  chart.setLegendShown(false);
  CHECK_FALSE(chart.legendVisible());
}

TEST_CASE("status bar: a rate and ETA only while running; a stale run says so", "[gui][status]") {
  QMainWindow win;
  auto* bar = new widgets::RunStatusBar(win.statusBar());
  auto shown = [&] {
    QStringList all;
    for (auto* l : win.statusBar()->findChildren<QLabel*>()) all << l->text();
    return all.join(" | ");
  };
  core::RunStatus s;
  s.phase = core::RunPhase::Running;
  s.step = 10;
  s.maxSteps = 100;
  s.stepsPerSec = 2;
  s.etaSec = 45;
  bar->setStatus(s);
  CHECK(shown().contains("ETA 0:45"));
  for (auto phase : {core::RunPhase::Paused, core::RunPhase::Stopped, core::RunPhase::Finished,
                     core::RunPhase::Failed}) {
    s.phase = phase;
    bar->setStatus(s);
    INFO(shown().toStdString());
    CHECK_FALSE(shown().contains("ETA"));
    CHECK(shown().contains(QString::fromStdString(core::toString(phase))));
  }
  s.phase = core::RunPhase::Running;
  s.stale = true;  // says running, its process is gone
  bar->setStatus(s);
  CHECK(shown().contains("stale"));
  CHECK_FALSE(shown().contains("ETA"));
}

TEST_CASE("runs browser: a tree of changed config values; compare overlays runs in the plots",
          "[gui][runs]") {
  pretext::test::TempDir root;
  std::string err;
  std::vector<core::ConfigIssue> issues;
  const core::Config base = core::Config::defaults();
  auto changed = base.with({"augment.rotation.range_deg=180", "trainer.lr=0.002"}, issues);
  REQUIRE(changed);
  auto a = core::RunDirWriter::create(root.str(), base, err);
  auto b = core::RunDirWriter::create(root.str(), *changed, err);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(a->appendMetrics({{1, 1, 0.1, "loss/total", 3.0}, {1, 2, 0.2, "loss/total", 2.0}}, err));
  REQUIRE(b->appendMetrics({{1, 1, 0.1, "loss/total", 5.0},
                            {1, 2, 0.2, "loss/total", 4.0},
                            {1, 3, 0.3, "loss/total", 3.5}},
                           err));
  const QString da = QString::fromStdString(a->dir()), db = QString::fromStdString(b->dir());
  widgets::MainWindow w;
  showWindow(w, root.str());
  auto* browser = w.runsBrowser();
  QSignalSpy refreshed(browser, &widgets::RunsBrowser::refreshed);
  browser->refresh();
  REQUIRE(refreshed.wait(5000));
  REQUIRE(browser->runCount() == 2);
  CHECK_FALSE(browser->diffButton()->isEnabled());
  browser->selectRuns({da, db});
  CHECK(browser->selectedRuns().size() == 2);
  // The selection survives the periodic refresh.
  browser->refresh();
  REQUIRE(refreshed.wait(5000));
  CHECK(browser->selectedRuns().size() == 2);
  REQUIRE(browser->diffButton()->isEnabled());
  QSignalSpy diffShown(browser, &widgets::RunsBrowser::diffShown);
  browser->showDiff(da, db);  // the configs are read in a job
  REQUIRE(diffShown.wait(5000));
  REQUIRE(diffShown.at(0).at(0).toBool());
  // augment > rotation > range_deg: 90.0 → 180.0, and trainer > lr: 0.001 → 0.002.
  std::map<QString, QString> leaves;
  for (QTreeWidgetItemIterator it(browser->diffTree()); *it; ++it)
    if (!(*it)->data(0, Qt::UserRole).toString().isEmpty())
      leaves[(*it)->data(0, Qt::UserRole).toString()] = (*it)->text(1);
  CHECK(leaves == std::map<QString, QString>{{"augment.rotation.range_deg", "90.0 → 180.0"},
                                             {"trainer.lr", "0.001 → 0.002"}});
  auto* rot = browser->diffTree()->findItems("augment", Qt::MatchExactly).value(0);
  REQUIRE(rot);
  CHECK(rot->child(0)->text(0) == "rotation");
  CHECK(rot->child(0)->child(0)->text(0) == "range_deg");
  // Compare: both runs in both plots, in selection order, one colour each.
  QSignalSpy shown(&w, &widgets::MainWindow::comparisonShown);
  QTest::mouseClick(browser->compareButton(), Qt::LeftButton);
  REQUIRE(shown.wait(10000));
  const QStringList order = browser->selectedRuns();
  CHECK(w.lossChart()->rawPointCount(order[0]) == (order[0] == da ? 2u : 3u));
  CHECK(w.lossChart()->rawPointCount(order[1]) == (order[1] == da ? 2u : 3u));
  const auto curves = w.lossChart()->curves();
  REQUIRE(curves.size() == 2);
  CHECK(curves[0].color != curves[1].color);
  CHECK(showDiffRefused(browser, root.str()));
}

TEST_CASE("the training-axis slider scrubs a run's point snapshots and follows new ones",
          "[gui][watch]") {
  pretext::test::TempDir root;
  std::string err;
  auto writer = core::RunDirWriter::create(root.str(), core::Config::defaults(), err);
  REQUIRE(writer);
  auto snapshot = [&](std::int64_t step, float value) {
    core::PointSnapshot s;
    s.step = step;
    s.xyz = {0, 0, 0, 1, 0, 0, 0, 1, 0};
    s.fields["equiv_error"] = {value, value + 1, value + 2};
    s.fields["pca_r"] = {1, 0, 0};
    s.fields["pca_g"] = {0, 1, 0};
    s.fields["pca_b"] = {0, 0, 1};
    REQUIRE(writer->writeSnapshot(s, err));
  };
  snapshot(0, 10);
  snapshot(5, 20);
  snapshot(10, 30);
  widgets::MainWindow w;
  showWindow(w, root.str());
  w.openRun(QString::fromStdString(writer->dir()));
  auto* slider = w.snapshotSlider();
  REQUIRE(waitFor([&] { return slider->isVisible() && slider->maximum() == 2; }, 10000));
  REQUIRE(w.currentSnapshot());
  CHECK(w.currentSnapshot()->step == 10);  // the newest
  CHECK(slider->value() == 2);
  // Back to the first snapshot: its colours (the colour bar spans 10..12).
  slider->setValue(0);
  REQUIRE(waitFor([&] { return w.currentSnapshot()->step == 0; }, 10000));
  CHECK(w.pointView()->scalarRange().first == Catch::Detail::Approx(10));
  CHECK(w.pointView()->scalarRange().second == Catch::Detail::Approx(12));
  // Locked scale: the next snapshot keeps 10..12.
  auto* lock = w.findChild<QCheckBox*>("lock_scale");
  REQUIRE(lock);
  REQUIRE(lock->text() == "lock scale");
  lock->setChecked(true);
  slider->setValue(1);
  REQUIRE(waitFor([&] { return w.currentSnapshot()->step == 5; }, 10000));
  CHECK(w.pointView()->scalarRange().first == Catch::Detail::Approx(10));
  lock->setChecked(false);
  CHECK(w.pointView()->scalarRange().first == Catch::Detail::Approx(20));
  slider->setValue(0);
  REQUIRE(waitFor([&] { return w.currentSnapshot()->step == 0; }, 10000));
  // A new snapshot while scrubbed back: the slider grows, the view stays.
  snapshot(15, 40);
  REQUIRE(waitFor([&] { return slider->maximum() == 3; }, 10000));
  settle(300);
  CHECK(w.currentSnapshot()->step == 0);
  // At the right end it follows again.
  slider->setValue(3);
  REQUIRE(waitFor([&] { return w.currentSnapshot()->step == 15; }, 10000));
  snapshot(20, 50);
  REQUIRE(waitFor([&] { return w.currentSnapshot()->step == 20; }, 10000));
  CHECK(slider->value() == slider->maximum());
  // Derived colourings: distance from the sensor, and the feature PCA as RGB.
  auto* fields = w.findChild<QComboBox*>("field_box");
  REQUIRE(fields);
  REQUIRE(fields->findText("range (m)") >= 0);
  fields->setCurrentText("range (m)");
  CHECK(w.pointView()->scalarRange().second == Catch::Detail::Approx(1.0));
  REQUIRE(fields->findText("features PCA (RGB)") >= 0);
  fields->setCurrentText("features PCA (RGB)");
  CHECK(w.pointView()->scene().rgb ==
        std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0, 1});  // pca_r/g/b per point
}

TEST_CASE("figure export runs on a worker with a cancel that discards the file", "[gui][export]") {
  pretext::test::TempDir root;
  std::string err;
  auto writer = core::RunDirWriter::create(root.str(), core::Config::defaults(), err);
  REQUIRE(writer);
  std::vector<core::MetricRow> rows;
  for (int i = 1; i <= 200000; ++i)
    rows.push_back({1, i, i * 0.01, "loss/total", 3.0 / std::sqrt(double(i))});
  REQUIRE(writer->appendMetrics(rows, err));
  widgets::MainWindow w;
  showWindow(w, root.str());
  w.openRun(QString::fromStdString(writer->dir()));
  REQUIRE(waitFor(
      [&] {
        return w.lossChart()->rawPointCount(QString::fromStdString(writer->dir())) == 200000u;
      },
      30000));
  QSignalSpy done(&w, &widgets::MainWindow::exportDone);
  const QString pdf = QString::fromStdString(root / "figure.pdf");
  auto future = w.exportFigureAsync(pdf, "single-column");
  CHECK(w.exporting());
  REQUIRE(done.wait(60000));
  CHECK(done.takeFirst().at(1).toString().isEmpty());
  CHECK(QFileInfo(pdf).size() > 1000);
  CHECK_FALSE(w.exporting());
  // Cancelled: the worker finishes, its file is removed.
  const QString gone = QString::fromStdString(root / "cancelled.pdf");
  w.exportFigureAsync(gone, "single-column");
  w.cancelExport();
  CHECK_FALSE(w.exporting());
  REQUIRE(done.wait(60000));
  CHECK(done.takeFirst().at(1).toString() == "cancelled");
  CHECK_FALSE(QFileInfo::exists(gone));
  // Cancelling one export does not cancel the next one started meanwhile.
  const QString first = QString::fromStdString(root / "first.pdf");
  const QString second = QString::fromStdString(root / "second.svg");
  w.exportFigureAsync(first, "single-column");
  w.cancelExport();
  w.exportFigureAsync(second, "single-column");
  while (done.size() < 2) REQUIRE(done.wait(60000));
  std::map<QString, QString> outcome;
  for (const auto& call : done) outcome[call.at(0).toString()] = call.at(1).toString();
  CHECK(outcome[first] == "cancelled");
  CHECK(outcome[second].isEmpty());
  CHECK_FALSE(QFileInfo::exists(first));
  CHECK(QFileInfo(second).size() > 1000);
  done.clear();
  // A bad style is refused at once, nothing runs.
  auto bad = w.exportFigureAsync(pdf, "poster");
  CHECK(bad.isFinished());
  CHECK(bad.result().contains("unknown figure style"));
}

TEST_CASE("a run written by another process is tailed live", "[gui][watch]") {
  pretext::test::TempDir root;
  std::string err;
  auto writer = core::RunDirWriter::create(root.str(), core::Config::defaults(), err);
  REQUIRE(writer);
  session::RunWatcher watcher;
  std::vector<core::MetricRow> seen;
  core::RunStatus lastStatus;
  core::PointSnapshotPtr lastSnap;
  QObject::connect(
      &watcher, &session::RunWatcher::metricsArrived,
      [&](const std::vector<core::MetricRow>& r) { seen.insert(seen.end(), r.begin(), r.end()); });
  QObject::connect(&watcher, &session::RunWatcher::statusChanged,
                   [&](const core::RunStatus& s) { lastStatus = s; });
  QObject::connect(&watcher, &session::RunWatcher::snapshotArrived,
                   [&](const core::PointSnapshotPtr& s) { lastSnap = s; });
  watcher.watch(QString::fromStdString(writer->dir()), 50);

  auto waitFor = [&](auto pred) {
    QElapsedTimer t;
    t.start();
    while (!pred() && t.elapsed() < 5000) QApplication::processEvents(QEventLoop::AllEvents, 20);
    return pred();
  };
  REQUIRE(
      writer->appendMetrics({{1, 1, 0.1, "loss/total", 3.0}, {1, 2, 0.2, "loss/total", 2.0}}, err));
  CHECK(waitFor([&] { return seen.size() == 2; }));
  // A half-written line is not delivered until it is complete.
  { std::ofstream(writer->dir() + "/metrics.csv", std::ios::app) << "1,3,0.3,loss/to"; }
  settle(300);
  CHECK(seen.size() == 2);
  { std::ofstream(writer->dir() + "/metrics.csv", std::ios::app) << "tal,1.5\n"; }
  CHECK(waitFor([&] { return seen.size() == 3 && seen.back().value == 1.5; }));
  core::RunStatus st;
  st.phase = core::RunPhase::Running;
  st.step = 3;
  st.updatedAt = 123.0;
  REQUIRE(writer->writeStatus(st, err));
  CHECK(waitFor([&] { return lastStatus.step == 3; }));
  core::PointSnapshot snap;
  snap.step = 3;
  snap.xyz = {0, 0, 0, 1, 1, 1};
  snap.fields["equiv_error"] = {0.5f, 0.25f};
  REQUIRE(writer->writeSnapshot(snap, err));
  CHECK(waitFor([&] { return lastSnap && lastSnap->step == 3; }));
  REQUIRE(lastSnap);
  CHECK(lastSnap->fields.at("equiv_error") == std::vector<float>{0.5f, 0.25f});
}

TEST_CASE("pause, resume and stop from the GUI; closing while training stops first", "[gui][e2e]") {
  pretext::test::TempDir root;
  widgets::MainWindow w;
  w.setRunsRoot(QString::fromStdString(root.str()));
  w.show();
  REQUIRE(QTest::qWaitForWindowExposed(&w));
  core::LaunchRequest req;
  req.configOrPreset = "quick-test";
  req.overrides = {"trainer.max_steps=100000"};
  REQUIRE(w.startRun(req, true));
  auto waitFor = [&](auto pred, int ms = 20000) {
    QElapsedTimer t;
    t.start();
    while (!pred() && t.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 20);
    return pred();
  };
  REQUIRE(waitFor([&] { return w.lastStatus().step >= 2; }));
  w.host()->pause();
  REQUIRE(waitFor([&] { return w.lastStatus().phase == core::RunPhase::Paused; }));
  const auto pausedAt = w.lastStatus().step;
  settle(500);
  CHECK(w.lastStatus().step == pausedAt);  // no steps while paused
  w.host()->resume();
  REQUIRE(waitFor([&] { return w.lastStatus().step > pausedAt + 1; }));

  // Close while training (automation mode skips the question): stop, then close.
  QSignalSpy done(&w, &widgets::MainWindow::runFinished);
  w.setAutomation(QString(), true);
  w.close();
  CHECK(w.isVisible());  // not yet: the trainer finishes its step first
  REQUIRE(done.wait(20000));
  CHECK(done.takeFirst().at(0).value<core::RunStatus>().phase == core::RunPhase::Stopped);
  CHECK(waitFor([&] { return !w.isVisible(); }, 2000));
  std::string err;
  auto latest = core::latestCheckpoint(w.currentRunDir().toStdString());
  REQUIRE(latest);
  CHECK(*latest == core::readStatus(w.currentRunDir().toStdString(), err)->step);
}

TEST_CASE("a language-model run shows its loss and sink curves", "[gui][lm]") {
  pretext::test::TempDir root;
  widgets::MainWindow w;
  w.setRunsRoot(QString::fromStdString(root.str()));
  w.show();
  REQUIRE(QTest::qWaitForWindowExposed(&w));
  core::LaunchRequest req;
  req.configOrPreset = "sink-backcopy-softmax";
  req.overrides = {"lm.d_model=32",
                   "lm.heads=2",
                   "lm.ffn=64",
                   "lm.context=16",
                   "trainer.batch_size=4",
                   "sink.probe_sequences=6",
                   "trainer.snapshot_every=2",
                   "trainer.max_steps=8"};
  QSignalSpy done(&w, &widgets::MainWindow::runFinished);
  REQUIRE(w.startRun(req, true));
  auto shown = w.configPanel()->overrides();  // the panel shows what the run uses
  CHECK(std::find(shown.begin(), shown.end(), "lm.d_model=32") != shown.end());
  CHECK(w.lossChart()->key() == "loss/val");
  CHECK(w.equivChart()->key() == "sink/sink1");
  REQUIRE(done.wait(60000));
  w.equivChart()->redrawNow();
  CHECK(w.equivChart()->rawPointCount(w.currentRunDir()) == 5);  // steps 0, 2, 4, 6, 8
  CHECK(w.lossChart()->keys().contains("sink/alpha1_mean"));
}

TEST_CASE("a data-parallel run written by another process is followed live in the plots",
          "[gui][watch][dist]") {
  // Two pretext-train ranks (Gloo on loopback) write a run as a cluster job would; the GUI
  // opens the folder while it is being written and the plot grows with it (polling, so it
  // also works on NFS, where file watchers do not).
  pretext::test::TempDir root;
  QProcess job;
  job.setProgram(PRETEXT_TRAIN_EXE);
  job.setArguments({"quick-test", "--quiet", "--nproc", "2", "--out",
                    QString::fromStdString(root.str()), "--max-steps", "150", "--set",
                    "trainer.log_every=1"});
  job.start();
  REQUIRE(job.waitForStarted(10000));
  QString runDir;
  QElapsedTimer t;
  t.start();
  while (runDir.isEmpty() && t.elapsed() < 60000) {
    for (const auto& e : std::filesystem::directory_iterator(root.str()))
      if (e.path().filename().string()[0] != '.' && std::filesystem::exists(e.path() / "run.json"))
        runDir = QString::fromStdString(e.path().string());  // committed, not ".creating-"
    QApplication::processEvents(QEventLoop::AllEvents, 20);
  }
  REQUIRE_FALSE(runDir.isEmpty());
  widgets::MainWindow w;
  w.show();
  REQUIRE(QTest::qWaitForWindowExposed(&w));
  w.openRun(runDir);
  // Distinct sizes of the plotted loss curve while the job runs: it must grow repeatedly.
  std::set<std::size_t> sizes;
  while (job.state() != QProcess::NotRunning && t.elapsed() < 120000) {
    sizes.insert(w.lossChart()->rawPointCount(runDir));
    QApplication::processEvents(QEventLoop::AllEvents, 20);
  }
  if (job.state() != QProcess::NotRunning) REQUIRE(job.waitForFinished(60000));
  INFO(job.readAllStandardError().toStdString());
  CHECK(job.exitStatus() == QProcess::NormalExit);
  CHECK(job.exitCode() == 0);
  settle(1500);  // the last poll
  sizes.erase(0);
  CHECK(sizes.size() >= 3);
  CHECK(w.lossChart()->rawPointCount(runDir) == 150);
  CHECK(w.lastStatus().phase == core::RunPhase::Finished);
}
