// 3D figure export (issue #7): the view rendered off screen, camera-locked, at N x its
// resolution, with a transparent background and the colour bar; pretext-export --render
// over every snapshot of a run; GL2PS PDF with the labels as text.
#include <QApplication>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QImage>
#include <QScreen>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>

#include "../core/test_util.h"
#include "gui_util.h"
#include "pixels.h"
#include "pretext/render/colormap.h"
#include "pretext/runs/config.h"
#include "pretext/runs/run_dir.h"
#include "pretext/train/encoder_probe.h"
#include "pretext/widgets/equivariance_inspector.h"
#include "pretext/widgets/flow_view.h"
#include "pretext/widgets/main_window.h"
#include "pretext/widgets/point_cloud_view.h"

using namespace pretext::render;

using namespace pretext;
using pretext::test::regionStats;
namespace fs = std::filesystem;

namespace {

void wait(int ms) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 20);
}

// A disk of points on z = 0 (radius 10 m) with the scalar = (x + 10) / 20 in [0, 1].
void disk(std::vector<float>& xyz, std::vector<float>& scalars) {
  for (int i = -40; i <= 40; ++i)
    for (int j = -40; j <= 40; ++j) {
      const float x = 0.25f * static_cast<float>(i), y = 0.25f * static_cast<float>(j);
      if (x * x + y * y > 100) continue;
      xyz.insert(xyz.end(), {x, y, 0.f});
      scalars.push_back((x + 10) / 20);
    }
}

// A point snapshot of the disk at step 5 with its equivariance error (and `extraFields`
// more copies of it under long names), written as a run under `root`.
std::size_t diskPoints() {
  std::vector<float> xyz, values;
  disk(xyz, values);
  return xyz.size() / 3;
}

std::string diskRun(const std::string& root, int extraFields = 0) {
  core::PointSnapshot s;
  s.step = 5;
  std::vector<float> xyz, values;
  disk(xyz, values);
  s.xyz = xyz;
  s.fields["equiv_error"] = values;
  for (int k = 0; k < extraFields; ++k)
    s.fields["a_rather_long_per_point_field_name_" + std::to_string(k)] = values;
  return pretext::test::runWithSnapshot(root, s);
}

bool yellow(QRgb p) { return qRed(p) > 200 && qGreen(p) > 190 && qBlue(p) < 110; }
bool purple(QRgb p) { return qRed(p) < 110 && qGreen(p) < 70 && qBlue(p) > 60; }

// Rows at which the right-hand strip (the colour bar) shows yellow and purple: the bar is
// there and runs from the low end (bottom) to the high end (top).
std::pair<int, int> barEnds(const QImage& img) {
  int yYellow = -1, yPurple = -1;
  for (int y = 0; y < img.height(); ++y)
    for (int x = img.width() * 85 / 100; x < img.width(); ++x) {
      const QRgb p = img.pixel(x, y);
      if (qAlpha(p) < 200) continue;
      if (yellow(p) && yYellow < 0) yYellow = y;
      if (purple(p)) yPurple = y;
    }
  return {yYellow, yPurple};
}

}  // namespace

TEST_CASE("3D export: the view's camera at N x resolution, transparent, with the colour bar",
          "[gui][export3d]") {
  widgets::PointCloudView view;
  REQUIRE(pretext::test::showExposed(view, 480, 360));
  std::vector<float> xyz, scalars;
  disk(xyz, scalars);
  view.setPointCloud(xyz, scalars, "equiv_error");
  view.setPointSize(4);
  view.orbit(35, 15);  // a camera nobody would get by default
  wait(300);
  const QImage screen = view.grabFramebuffer().convertToFormat(QImage::Format_RGB32);
  pretext::test::TempDir dir;

  QString error;
  REQUIRE(view.exportImage(QString::fromStdString(dir / "x1.png"), 1, false, error));
  const QImage x1 =
      QImage(QString::fromStdString(dir / "x1.png")).convertToFormat(QImage::Format_RGB32);
  REQUIRE(x1.size() == screen.size());
  // Camera-locked: the export and the screen agree pixel for pixel, up to rasterisation.
  long differ = 0;
  for (int y = 0; y < x1.height(); ++y)
    for (int x = 0; x < x1.width(); ++x) {
      const QRgb a = x1.pixel(x, y), b = screen.pixel(x, y);
      if (std::abs(qRed(a) - qRed(b)) + std::abs(qGreen(a) - qGreen(b)) +
              std::abs(qBlue(a) - qBlue(b)) >
          60)
        ++differ;
    }
  const double fraction = static_cast<double>(differ) / (x1.width() * x1.height());
  INFO("pixels differing from the screen: " << fraction);
  CHECK(fraction < 0.02);
  CHECK(regionStats(x1, x1.rect(), view.background()).fractionNotBackground > 0.05);

  REQUIRE(view.exportImage(QString::fromStdString(dir / "x3.png"), 3, false, error));
  const QImage x3(QString::fromStdString(dir / "x3.png"));
  CHECK(x3.size() == screen.size() * 3);
  auto [top, bottom] = barEnds(x3);
  CHECK(top >= 0);
  CHECK(bottom > top);  // yellow (high) above purple (low)

  REQUIRE(view.exportImage(QString::fromStdString(dir / "clear.png"), 2, true, error));
  const QImage clear(QString::fromStdString(dir / "clear.png"));
  REQUIRE(clear.hasAlphaChannel());
  CHECK(qAlpha(clear.pixel(2, 2)) == 0);  // the background corner
  long opaque = 0;
  for (int y = 0; y < clear.height(); ++y)
    for (int x = 0; x < clear.width() * 8 / 10; ++x) opaque += qAlpha(clear.pixel(x, y)) == 255;
  CHECK(opaque > 1000);  // the points
  auto [ctop, cbottom] = barEnds(clear);
  CHECK(ctop >= 0);
  CHECK(cbottom > ctop);

  // Bad requests are refused with the reason, nothing written.
  CHECK_FALSE(view.exportImage(QString::fromStdString(dir / "v.svg"), 1, false, error));
  CHECK(error.contains("SVG"));
  CHECK_FALSE(view.exportImage(QString::fromStdString(dir / "t.pdf"), 1, true, error));
  CHECK(error.contains(".png"));
  CHECK_FALSE(view.exportImage(QString::fromStdString(dir / "nope/v.png"), 1, false, error));
  CHECK(error.contains("does not exist"));
  CHECK_FALSE(fs::exists(dir / "v.svg"));
}

TEST_CASE("3D export from the main window runs off the GUI thread", "[gui][export3d]") {
  widgets::MainWindow w;
  REQUIRE(pretext::test::showExposed(w, 1280, 800));
  std::vector<float> xyz, scalars;
  disk(xyz, scalars);
  w.pointView()->setPointCloud(xyz, scalars, "equiv_error");
  wait(200);
  pretext::test::TempDir dir;
  const QString file = QString::fromStdString(dir / "main.png");
  QFutureWatcher<QString> watcher;
  int ticks = 0;
  QTimer timer;
  QObject::connect(&timer, &QTimer::timeout, [&] { ++ticks; });
  timer.start(5);
  watcher.setFuture(w.export3dView(file, 4, false));
  QElapsedTimer t;
  t.start();
  while (!watcher.isFinished() && t.elapsed() < 60000)
    QApplication::processEvents(QEventLoop::AllEvents, 5);
  timer.stop();
  REQUIRE(watcher.isFinished());
  CHECK(watcher.result().isEmpty());
  const QImage img(file);
  const QSize expected = w.pointView()->size() * 4 * w.pointView()->devicePixelRatioF();
  CHECK(img.size() == expected);
  INFO("GUI timer ticks while rendering " << expected.width() << " x " << expected.height() << ": "
                                          << ticks << " in " << t.elapsed() << " ms");
  CHECK(ticks > 0);
}

TEST_CASE("pretext-export --render: every snapshot with one camera and one colour range",
          "[gui][export3d][cli]") {
  pretext::test::TempDir root;
  std::string err;
  auto writer = core::RunDirWriter::create(root.str(), core::Config::defaults(), err);
  REQUIRE(writer);
  std::vector<float> xyz, ramp;
  disk(xyz, ramp);
  for (int k = 0; k < 3; ++k) {  // the same points, uniform values 0, 0.5, 1
    core::PointSnapshot s;
    s.step = 10 * k;
    s.xyz = xyz;
    s.fields["equiv_error"] = std::vector<float>(ramp.size(), 0.5f * static_cast<float>(k));
    s.fields["height"] = ramp;
    REQUIRE(writer->writeSnapshot(s, err));
  }
  const std::string run = writer->dir();
  const std::string exe = PRETEXT_EXPORT_EXE;
  auto r = pretext::test::runCommand(exe + " " + run + " --render all --out " + (root / "frames") +
                                     " --range 0:1 --size 320x240 --background white");
  INFO(r.output);
  REQUIRE(r.code == 0);
  std::vector<QImage> frames;
  for (int k = 0; k < 3; ++k) {
    char name[32];
    std::snprintf(name, sizeof name, "step_%09d.png", 10 * k);
    frames.emplace_back(QString::fromStdString(root / (std::string("frames/") + name)));
    REQUIRE(frames.back().size() == QSize(320, 240));
  }
  // One camera: the points cover the same pixels in every frame (left of the colour bar);
  // one range: value 0 is purple, 1 yellow.
  auto mask = [](const QImage& img) {
    std::vector<bool> m;
    for (int y = 0; y < img.height(); ++y)
      for (int x = 0; x < img.width() * 8 / 10; ++x)
        m.push_back(!pretext::test::near(img.pixel(x, y), Qt::white, 12));
    return m;
  };
  const auto m0 = mask(frames[0]);
  CHECK(std::count(m0.begin(), m0.end(), true) > 2000);
  CHECK(mask(frames[1]) == m0);
  CHECK(mask(frames[2]) == m0);
  auto count = [&](const QImage& img, bool (*pred)(QRgb)) {
    long n = 0;
    for (int y = 0; y < img.height(); ++y)
      for (int x = 0; x < img.width() * 8 / 10; ++x) n += pred(img.pixel(x, y));
    return n;
  };
  const long points = std::count(m0.begin(), m0.end(), true);
  CHECK(count(frames[0], purple) > points / 2);
  CHECK(count(frames[0], yellow) == 0);
  CHECK(count(frames[2], yellow) > points / 2);
  CHECK(count(frames[2], purple) == 0);

  r = pretext::test::runCommand(exe + " " + run + " --render latest --scale 2 --size 320x240 " +
                                "--field height --transparent --out " + (root / "latest.png"));
  INFO(r.output);
  REQUIRE(r.code == 0);
  const QImage latest(QString::fromStdString(root / "latest.png"));
  CHECK(latest.size() == QSize(640, 480));
  CHECK(qAlpha(latest.pixel(1, 1)) == 0);

  // GL2PS PDF: the scene as one image of the requested size, the labels as text.
  r = pretext::test::runCommand(exe + " " + run + " --render 20 --size 320x240 --out " +
                                (root / "fig.pdf"));
  REQUIRE(r.code == 0);
  auto text = pretext::test::runCommand("pdftotext " + (root / "fig.pdf") + " -");
  CHECK(text.output.find("equiv_error") != std::string::npos);
  auto images = pretext::test::runCommand("pdfimages -list " + (root / "fig.pdf"));
  CHECK(images.output.find("image     320   240") != std::string::npos);

  // Refusals name the problem.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {" --render all --out x --field nope", "no field 'nope' (it has: equiv_error, height)"},
      {" --render 7 --out x.png", "no point snapshot at step 7"},
      {" --render latest --out x.svg", "SVG"},
      {" --render sometime --out x.png", "--render expects"},
      {" --render latest --out x.png --camera sideways", "--camera expects"},
      {" --render latest", "--render needs --out"},
      {" --csv x.csv --scale 2", "--scale applies to --render"},
  };
  for (const auto& [args, needle] : bad) {
    auto b = pretext::test::runCommand(exe + " " + run + args);
    INFO(args << "\n" << b.output);
    CHECK(b.code != 0);
    CHECK(b.output.find(needle) != std::string::npos);
  }
  auto headless = pretext::test::runCommand("env -u DISPLAY " + exe + " " + run +
                                            " --render latest --out " + (root / "h.png"));
  CHECK(headless.code == 1);
  CHECK(headless.output.find("xvfb-run") != std::string::npos);
  CHECK_FALSE(fs::exists(root / "h.png"));
  // A display that does not answer: a clear error after the retries, not VTK's abort().
  auto gone = pretext::test::runCommand("DISPLAY=:987 " + exe + " " + run +
                                        " --render latest --out " + (root / "g.png"));
  INFO(gone.output);
  CHECK(gone.code == 1);
  CHECK(gone.output.find("cannot connect to the X display :987") != std::string::npos);
  CHECK_FALSE(fs::exists(root / "g.png"));
}

TEST_CASE("picking returns the index of the point under the mouse", "[gui][pick]") {
  // Three far-apart points in distinct colours, drawn large; find each colour's pixels in
  // the real rendering and pick there.
  widgets::PointCloudView view;
  REQUIRE(pretext::test::showExposed(view, 500, 400));
  // (Two far corner points, value 0.75, only set the framing.)
  const std::vector<float> xyz = {-4,   -3, 0, 0,   0,   0, 3.5f, 2.5f, 0,
                                  1.5f, -3, 0, -20, -20, 0, 20,   20,   0};
  const std::vector<float> scalars = {0.0f, 0.5f, 1.0f, 0.25f, 0.75f, 0.75f};
  view.setPointCloud(xyz, scalars, "value");
  view.setFixedRange(0, 1);
  view.setPointSize(12);
  view.setCameraPreset(widgets::CameraPreset::BirdsEye);
  view.orbit(20, 0);
  wait(300);
  const QImage img = view.grabFramebuffer();
  const double dpr = view.devicePixelRatioF();
  // Centre (widget coordinates) of the pixels drawn in the colour of `value`, left of the
  // colour bar, and how many there are.
  auto centreOf = [&](double value, long& count) {
    double rgb[3];
    render::viridis(value, rgb);
    const QColor want = QColor::fromRgbF(static_cast<float>(rgb[0]), static_cast<float>(rgb[1]),
                                         static_cast<float>(rgb[2]));
    double sx = 0, sy = 0;
    count = 0;
    for (int y = 0; y < img.height(); ++y)
      for (int x = 0; x < img.width() * 85 / 100; ++x)
        if (pretext::test::near(img.pixel(x, y), want, 10)) sx += x, sy += y, ++count;
    return count ? QPointF(sx / count / dpr, sy / count / dpr) : QPointF();
  };
  for (int i = 0; i < 4; ++i) {
    long count = 0;
    const QPointF centre = centreOf(scalars[static_cast<std::size_t>(i)], count);
    INFO("point " << i << ": " << count << " pixels of its colour");
    REQUIRE(count > 20);
    CHECK(view.pickPoint(centre) == i);
    CHECK(view.describePoint(i).startsWith(QString("point %1 at").arg(i)));
  }
  CHECK(view.pickPoint(QPointF(2, 2)) == -1);  // nothing there
  // A click (press and release in place) emits the pick.
  int picked = -1;
  QObject::connect(&view, &widgets::PointCloudView::pointPicked, [&](int i) { picked = i; });
  long count = 0;
  const QPointF yellow = centreOf(1.0, count);
  REQUIRE(count > 0);
  QTest::mouseClick(&view, Qt::LeftButton, {}, yellow.toPoint());
  CHECK(picked == 2);
}

TEST_CASE("equivariance inspector: cameras linked through T keep every point in place",
          "[gui][inspector]") {
  widgets::EquivarianceInspector inspector;
  REQUIRE(pretext::test::showExposed(inspector, 1000, 520));
  auto snap = std::make_shared<core::PointSnapshot>();
  snap->step = 7;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> U(-10, 10), E(0.1f, 0.9f);
  for (int i = 0; i < 300; ++i) {
    snap->xyz.insert(snap->xyz.end(), {U(rng), U(rng), 0.2f * U(rng)});
    snap->fields["equiv_error"].push_back(E(rng));
  }
  inspector.setSnapshot(snap);
  core::SpatialTransform t;
  t.angle = 0.6;  // about 34 degrees
  t.t[0] = 2;
  t.t[1] = -1;
  t.scale = 1.5;
  inspector.setTransform(t);
  wait(200);
  auto* a = inspector.left();
  auto* b = inspector.right();
  // One colour scale in both views: the field's range; the histogram holds every point.
  CHECK(a->scalarRange() == b->scalarRange());
  const auto& counts = inspector.histogram()->counts();
  CHECK(std::accumulate(counts.begin(), counts.end(), 0) == 300);
  auto offset = [](widgets::PointCloudView* v, int i) {
    auto p = v->projectPoint(i);
    return p ? std::optional<QPointF>(*p - QPointF(v->width() / 2.0, v->height() / 2.0))
             : std::nullopt;
  };
  auto checkAligned = [&](const char* when) {
    int compared = 0;
    for (int i = 0; i < 300; ++i) {
      auto pa = offset(a, i), pb = offset(b, i);
      if (!pa || !pb) continue;
      ++compared;
      INFO(when << ": point " << i);
      CHECK(std::abs(pa->x() - pb->x()) < 0.01);
      CHECK(std::abs(pa->y() - pb->y()) < 0.01);
    }
    CHECK(compared > 100);
  };
  checkAligned("initial");
  a->orbit(25, 10);  // rotate the left view: the right one follows through T
  wait(100);
  checkAligned("after rotating x");
  b->orbit(-40, 15);  // and the other way round, through T^-1
  wait(100);
  checkAligned("after rotating T x");
  // A point picked in one view is the one under the same screen position in the other.
  const auto pos = a->projectPoint(42);
  REQUIRE(pos);
  CHECK(a->pickPoint(*pos) == 42);
  const QPointF shift(b->width() / 2.0 - a->width() / 2.0, b->height() / 2.0 - a->height() / 2.0);
  CHECK(b->pickPoint(*pos + shift) == 42);
  // Changing T moves the right cloud and keeps the link.
  t.angle = -1.2;
  t.scale = 0.8;
  inspector.setTransform(t);
  wait(100);
  checkAligned("after changing T");
}

TEST_CASE("the main window's inspector dock follows the run's point snapshot", "[gui][inspector]") {
  pretext::test::TempDir root;
  core::PointSnapshot s;
  s.step = 5;
  std::vector<float> xyz, values;
  disk(xyz, values);
  s.xyz = xyz;
  s.fields["equiv_error"] = values;
  const std::string run = pretext::test::runWithSnapshot(root.str(), s);
  widgets::MainWindow w;
  REQUIRE(pretext::test::showExposed(w, 1400, 900));
  auto* dock = w.findChild<QDockWidget*>("dock.inspector");
  REQUIRE(dock);
  CHECK_FALSE(dock->isVisible());  // hidden until asked for
  dock->show();
  w.openRun(QString::fromStdString(run));
  QElapsedTimer t;
  t.start();
  while (w.inspector()->left()->pointCount() == 0 && t.elapsed() < 10000)
    QApplication::processEvents(QEventLoop::AllEvents, 20);
  CHECK(w.inspector()->left()->pointCount() == xyz.size() / 3);
  CHECK(w.inspector()->right()->pointCount() == xyz.size() / 3);
  CHECK(w.inspector()->field() == "equiv_error");
}

TEST_CASE("3D docks survive floating and re-docking: every move renders the cloud again",
          "[gui][inspector][dock]") {
  // Floating a dock moves its QOpenGLWidgets to another top-level window, and Qt gives them
  // a new GL context; VTK's objects of the old one must not be drawn with (it crashed in
  // vtkOpenGLPolyDataMapper::RenderPieceDraw, issue #17).
  pretext::test::TempDir root;
  const std::string run = diskRun(root.str());
  const std::size_t points = diskPoints();
  widgets::MainWindow w;
  REQUIRE(pretext::test::showExposed(w, 1400, 900));
  auto* inspector = w.findChild<QDockWidget*>("dock.inspector");
  auto* flow = w.findChild<QDockWidget*>("dock.flow");
  REQUIRE(inspector);
  REQUIRE(flow);
  inspector->show();
  w.openRun(QString::fromStdString(run));
  QElapsedTimer t;
  t.start();
  while (w.inspector()->left()->pointCount() == 0 && t.elapsed() < 10000)
    QApplication::processEvents(QEventLoop::AllEvents, 20);
  REQUIRE(w.inspector()->left()->pointCount() == points);
  // The cloud drawn: a good share of the view is not background.
  auto drawn = [](widgets::PointCloudView* v) {
    const QImage img = v->grabFramebuffer().convertToFormat(QImage::Format_RGB32);
    return regionStats(img, img.rect(), v->background()).fractionNotBackground;
  };
  const double before = drawn(w.inspector()->left());
  INFO("docked, before any move: " << before);
  REQUIRE(before > 0.02);
  for (QDockWidget* dock : {inspector, flow, inspector}) {
    dock->show();
    dock->raise();
    for (bool floating : {true, false, true, false}) {
      dock->setFloating(floating);
      wait(300);
      if (dock == flow) {
        w.flowView()->view()->update();
        wait(100);
        continue;  // no pair loaded: it must only survive the move and draw
      }
      for (auto* v : {w.inspector()->left(), w.inspector()->right()}) {
        v->update();
        wait(100);
        const double now = drawn(v);
        INFO((floating ? "floating" : "docked") << ": " << now);
        CHECK(now > 0.5 * before);
      }
    }
  }
  // Hidden and shown again, and the window still closes cleanly.
  inspector->hide();
  wait(100);
  inspector->show();
  wait(300);
  CHECK(drawn(w.inspector()->left()) > 0.5 * before);
}

TEST_CASE("no action widens the window: a picked point's fields, the inspector, a long path",
          "[gui][layout]") {
  pretext::test::TempDir root;
  // Many long field names: the picked point's caption runs to ~1 500 characters.
  const std::string run = diskRun(root.str(), 40);
  const std::size_t points = diskPoints();
  widgets::MainWindow w;
  REQUIRE(pretext::test::showExposed(w, 1400, 900));
  const int screenWidth = w.screen()->availableGeometry().width();
  const int before = w.width();
  w.openRun(QString::fromStdString(run));
  QElapsedTimer t;
  t.start();
  while (w.pointView()->pointCount() == 0 && t.elapsed() < 10000)
    QApplication::processEvents(QEventLoop::AllEvents, 20);
  REQUIRE(w.pointView()->pointCount() == points);
  Q_EMIT w.pointView()->pointPicked(7);  // what a click on point 7 does
  wait(200);
  CHECK(w.width() == before);
  CHECK(w.frameGeometry().width() <= screenWidth);
  // The inspector (Ctrl+I) with its caption and checkpoint list.
  auto* dock = w.findChild<QDockWidget*>("dock.inspector");
  REQUIRE(dock);
  dock->toggleViewAction()->trigger();
  wait(300);
  REQUIRE(dock->isVisible());
  CHECK(w.frameGeometry().width() <= screenWidth);
  CHECK(w.width() <= before + 1);
}

TEST_CASE("inspector: the error of the untrained or a checkpoint's encoder for a typed-in T",
          "[gui][inspector]") {
  pretext::test::TempDir root;
  const auto r = pretext::test::runCommand(
      std::string(PRETEXT_TRAIN_EXE) + " quick-test --quiet --out " + root.str() +
      " --max-steps 4 --set trainer.snapshot_every=4 --set trainer.checkpoint_every=4");
  INFO(r.output);
  REQUIRE(r.code == 0);
  const auto runs = core::listRuns(root.str());
  REQUIRE(runs.size() == 1);
  const std::string run = runs[0].dir;
  std::string err;
  auto snap = core::readPointSnapshot(run + "/snapshots/" + core::checkpointDirName(4), err);
  REQUIRE(snap);

  widgets::EquivarianceInspector inspector;
  REQUIRE(pretext::test::showExposed(inspector, 900, 500));
  inspector.setRunDir(QString::fromStdString(run));
  inspector.setSnapshot(snap);
  CHECK(inspector.encoderChoices() ==
        std::vector<std::int64_t>{widgets::EquivarianceInspector::kTrainerFields,
                                  widgets::EquivarianceInspector::kUntrained, 4});
  core::SpatialTransform t;
  t.angle = 0.6;
  t.t[0] = 1.5;
  inspector.setTransform(t);
  QSignalSpy done(&inspector, &widgets::EquivarianceInspector::computed);
  auto expect = [&](std::int64_t step) {
    return core::EncoderProbe::open(run, step)->equivarianceError(snap->xyz, t);
  };
  // The worker's LibTorch runs with its own OpenMP thread count, so sums are ordered
  // differently than on this thread; the normalised-feature difference amplifies that to a
  // few 1e-4. The encoders compared below differ by far more than the tolerance.
  auto worstDiff = [](const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return 1e9;
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      worst = std::max(worst, double(std::abs(a[i] - b[i])));
    return worst;
  };
  constexpr double kTol = 2e-3;
  auto near = [&](const std::vector<float>& a, const std::vector<float>& b) {
    const double worst = worstDiff(a, b);
    UNSCOPED_INFO("largest difference " << worst);
    return worst <= kTol;
  };
  inspector.setEncoder(4);
  CHECK(inspector.computing());  // on a worker: the call returned at once
  REQUIRE(done.wait(30000));
  CHECK(done.takeFirst().at(0).toString().isEmpty());
  done.clear();
  const auto trained = expect(4);
  CHECK(near(inspector.shownValues(), trained));
  // Both views show those values on one scale, and the histogram covers them.
  CHECK(inspector.right()->scalarRange() == inspector.left()->scalarRange());
  CHECK(inspector.histogram()->range().second ==
        Catch::Detail::Approx(*std::max_element(trained.begin(), trained.end())).margin(kTol));
  inspector.setEncoder(widgets::EquivarianceInspector::kUntrained);
  REQUIRE(done.wait(30000));
  done.clear();
  CHECK(near(inspector.shownValues(), expect(-1)));
  CHECK(worstDiff(expect(-1), trained) > 10 * kTol);
  // A new T recomputes; cancelling leaves what was shown.
  const auto before = inspector.shownValues();
  t.angle = -1.0;
  inspector.setTransform(t);
  REQUIRE(inspector.computing());
  inspector.cancelComputation();
  CHECK_FALSE(inspector.computing());
  CHECK_FALSE(done.wait(1500));
  CHECK(inspector.shownValues() == before);
  // The trainer's fields again.
  inspector.setEncoder(widgets::EquivarianceInspector::kTrainerFields);
  CHECK(inspector.shownValues() == snap->fields.at("equiv_error"));
  // A folder that is not a run: the error is reported, nothing crashes.
  inspector.setRunDir(QString::fromStdString(root.str()));
  inspector.setEncoder(widgets::EquivarianceInspector::kUntrained);
  REQUIRE(done.wait(30000));
  CHECK(done.last().at(0).toString().contains("not a run directory"));
}
