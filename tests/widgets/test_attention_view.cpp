// The attention-sink views (issue #6 item 5): alpha_1 heatmap, per-head attention patterns
// with the sink slot, hidden-state norm bars, hover values, scrubbing through snapshots,
// and the main window following an lm_sink run directory.
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QStackedWidget>
#include <QTest>
#include <catch2/catch.hpp>
#include <filesystem>

#include "../core/test_util.h"
#include "gui_util.h"
#include "pretext/render/colormap.h"
#include "pretext/widgets/attention_view.h"
#include "pretext/widgets/main_window.h"
#include "pretext/widgets/point_cloud_view.h"

using namespace pretext::render;

using namespace pretext;

namespace {

// 2 layers x 3 heads x 4 queries, with a sink slot (5 keys). Layer 1 head 2 puts all its
// attention on the slot; every other head attends uniformly to the visible keys.
core::AttentionSnapshotPtr snapshot(std::int64_t step, float alphaScale = 1.f) {
  auto s = std::make_shared<core::AttentionSnapshot>();
  s->step = step;
  s->layers = 2;
  s->heads = 3;
  s->queries = 4;
  s->keys = 5;
  s->hasSinkSlot = true;
  s->tokens = {"a", "b", "c", "d"};
  s->alpha1 = {0.0f, 0.5f, 1.0f, 0.2f, 0.9f, 0.1f};
  for (auto& a : s->alpha1) a *= alphaScale;
  s->hiddenNorm = {10.f, 1.f, 1.f, 1.f};
  s->maps.assign(2 * 3 * 4 * 5, 0.f);
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 3; ++h)
      for (int q = 0; q < 4; ++q)
        for (int k = 0; k < 5; ++k) {
          float v = 0;
          if (l == 1 && h == 2)
            v = k == 0 ? 1.f : 0.f;
          else if (k <= q + 1)
            v = 1.f / static_cast<float>(q + 2);
          s->maps[((static_cast<std::size_t>(l) * 3 + h) * 4 + q) * 5 + k] = v;
        }
  return s;
}

QColor expected(double v) {
  double rgb[3];
  render::viridis(v, rgb);
  return QColor::fromRgbF(static_cast<float>(rgb[0]), static_cast<float>(rgb[1]),
                          static_cast<float>(rgb[2]));
}

bool near(const QColor& a, const QColor& b, int tol = 6) {
  return std::abs(a.red() - b.red()) <= tol && std::abs(a.green() - b.green()) <= tol &&
         std::abs(a.blue() - b.blue()) <= tol;
}

QColor at(const QImage& img, const QRectF& r) { return img.pixelColor(r.center().toPoint()); }

}  // namespace

TEST_CASE("attention views: alpha_1 heatmap, sink-slot patterns, norm bars, hover values",
          "[gui][attention]") {
  widgets::AttentionView view;
  REQUIRE(pretext::test::showExposed(view, 900, 600));
  view.addSnapshot(snapshot(10));
  view.setLayer(1);
  QApplication::processEvents();
  const QImage img = view.grab().toImage();
  const double dpr = view.devicePixelRatioF();
  REQUIRE(dpr == 1.0);  // geometry below is in widget pixels

  // alpha_1: one absolute scale, 0 purple ... 1 yellow, at each (layer, head) cell.
  const float alpha[2][3] = {{0.0f, 0.5f, 1.0f}, {0.2f, 0.9f, 0.1f}};
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 3; ++h) {
      const QRectF cell = view.alphaCellRect(l, h);
      REQUIRE_FALSE(cell.isEmpty());
      // Sample off-centre: the cell shows its value as text in the middle.
      const QPoint p = (cell.topLeft() + QPointF(3, 3)).toPoint();
      INFO("layer " << l << " head " << h);
      CHECK(near(img.pixelColor(p), expected(alpha[l][h])));
    }
  // Layer 1, head 2 attends only to the sink slot (key 0).
  for (int q = 0; q < 4; ++q) {
    CHECK(near(at(img, view.patternCellRect(2, q, 0)), expected(1.0)));
    CHECK(near(at(img, view.patternCellRect(2, q, 3)), expected(0.0)));
  }
  // Head 0 of layer 1: query 2 spreads 1/4 over keys 0..3; key 4 is in its future.
  CHECK(near(at(img, view.patternCellRect(0, 2, 1)), expected(0.25)));
  CHECK(near(at(img, view.patternCellRect(0, 2, 4)), expected(0.0)));
  // Massive activation at position 0: its bar is 10 x the others.
  const double h0 = view.normBarRect(0).height(), h1 = view.normBarRect(1).height();
  CHECK(h0 == Catch::Detail::Approx(10 * h1).epsilon(0.02));

  CHECK(view.describeAt(view.alphaCellRect(1, 1).center()) == "layer 1, head 1: alpha_1 = 0.900");
  CHECK(view.describeAt(view.patternCellRect(2, 3, 0).center()) ==
        "layer 1, head 2: query 3 'd' -> key 0 '<sink>' = 1.000");
  CHECK(view.describeAt(view.patternCellRect(0, 1, 2).center()) ==
        "layer 1, head 0: query 1 'b' -> key 2 'b' = 0.333");
  CHECK(view.describeAt(view.normBarRect(0).center()).startsWith("position 0 'a': |h| = 10"));
  CHECK(view.describeAt(QPointF(1, 1)).isEmpty());

  // Scrubbing: the view follows the newest snapshot until the user moves back.
  view.addSnapshot(snapshot(20, 0.5f));
  CHECK(view.snapshotCount() == 2);
  CHECK(view.current()->step == 20);
  view.setCurrentIndex(0);
  CHECK(view.current()->step == 10);
  view.addSnapshot(snapshot(30));
  CHECK(view.current()->step == 10);  // stays where the user put it
  view.setCurrentIndex(2);
  view.addSnapshot(snapshot(40));
  CHECK(view.current()->step == 40);  // at the end again: follows
  view.addSnapshot(snapshot(20));     // the same step again replaces it
  CHECK(view.snapshotCount() == 4);
  view.clear();
  CHECK(view.snapshotCount() == 0);
  CHECK_FALSE(view.current());
  CHECK(view.alphaCellRect(0, 0).isEmpty());
}

TEST_CASE("the main window shows an lm_sink run's attention snapshots", "[gui][attention]") {
  pretext::test::TempDir root;
  const std::string cmd = std::string(PRETEXT_TRAIN_EXE) +
                          " sink-backcopy-kbias --quiet --max-steps 4 --out " + root.str() +
                          " --set lm.d_model=32 --set lm.ffn=64 --set trainer.snapshot_every=2";
  auto r = pretext::test::runCommand(cmd);
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::string run = r.output.substr(0, r.output.find('\n'));
  REQUIRE(std::filesystem::exists(run + "/run.json"));
  widgets::MainWindow w;
  REQUIRE(pretext::test::showExposed(w, 1280, 800));
  w.openRun(QString::fromStdString(run));
  QElapsedTimer t;
  t.start();
  while (w.attentionView()->snapshotCount() < 3 && t.elapsed() < 10000)
    QApplication::processEvents(QEventLoop::AllEvents, 20);
  CHECK(w.attentionView()->snapshotCount() == 3);  // steps 0, 2 and 4
  CHECK(w.attentionView()->isVisible());
  CHECK_FALSE(w.pointView()->isVisible());
  REQUIRE(w.attentionView()->current());
  CHECK(w.attentionView()->current()->step == 4);
  CHECK(w.attentionView()->current()->hasSinkSlot);
  // The language-model layout: no LiDAR docks, no 3D controls, no 3D export.
  for (const char* name : {"dock.augment", "dock.inspector", "dock.flow"}) {
    INFO(name);
    auto* dock = w.findChild<QDockWidget*>(name);
    REQUIRE(dock);
    CHECK_FALSE(dock->isVisible());
    CHECK_FALSE(dock->toggleViewAction()->isEnabled());
  }
  CHECK_FALSE(w.findChild<QComboBox*>("field_box")->isVisible());
  for (QAction* a : w.findChildren<QAction*>())
    if (a->text().startsWith("Export 3D view")) CHECK_FALSE(a->isEnabled());
}
