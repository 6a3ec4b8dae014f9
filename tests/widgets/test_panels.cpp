// The augmentation and objective panels (issue #6 items 6 and 7), and the end-to-end run
// configured through them by keyboard and mouse, with screenshots of the inspector, the
// flow view, the plots and the sink heatmap kept in the build folder (artifacts/e2e-panels).
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>
#include <QToolBar>
#include <QTreeWidget>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <map>

#include "../core/test_util.h"
#include "gui_util.h"
#include "pretext/data/fs_util.h"
#include "pretext/runs/run_dir.h"
#include "pretext/session/trainer_host.h"
#include "pretext/widgets/attention_view.h"
#include "pretext/widgets/config_panel.h"
#include "pretext/widgets/equivariance_inspector.h"
#include "pretext/widgets/flow_view.h"
#include "pretext/widgets/main_window.h"
#include "pretext/widgets/metric_chart.h"
#include "pretext/widgets/panels.h"
#include "pretext/widgets/point_cloud_view.h"

using namespace pretext::render;

using namespace pretext;

namespace {

void settle(int ms) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 20);
}

// Replaces a line edit's text by typing, then Return, as a user would.
void typeInto(QWidget* w, const QString& text) {
  auto* edit = qobject_cast<QLineEdit*>(w);
  REQUIRE(edit);
  edit->setFocus();
  QTest::keyClick(edit, Qt::Key_A, Qt::ControlModifier);
  QTest::keyClicks(edit, text);
  QTest::keyClick(edit, Qt::Key_Return);
  QApplication::processEvents();
}

// Edits `key` in the experiment panel's tree as a user does: open the value's editor, type,
// Return.
void editInTree(widgets::ConfigPanel* config, const QString& key, const QString& text) {
  auto* tree = config->findChild<QTreeWidget*>();
  REQUIRE(tree);
  QTreeWidgetItem* item = nullptr;
  for (QTreeWidgetItemIterator it(tree); *it; ++it)
    if ((*it)->toolTip(0).startsWith(key + "\n")) item = *it;
  REQUIRE(item);
  tree->scrollToItem(item);
  tree->editItem(item, 1);
  QApplication::processEvents();
  auto* editor = tree->viewport()->findChild<QLineEdit*>();
  REQUIRE(editor);
  typeInto(editor, text);
  REQUIRE(config->value(key) == text);
}

bool hasOverride(widgets::ConfigPanel& config, const std::string& kv) {
  for (const auto& o : config.overrides())
    if (o == kv) return true;
  return false;
}

// Not blank: no single colour covers 90 % of the image and there are many colours.
void checkNotBlank(const QImage& img, const char* what) {
  std::map<QRgb, long> counts;
  for (int y = 0; y < img.height(); y += 2)
    for (int x = 0; x < img.width(); x += 2) ++counts[img.pixel(x, y) & 0xF0F0F0];
  long top = 0, total = 0;
  for (const auto& [c, n] : counts) top = std::max(top, n), total += n;
  INFO(what << ": " << counts.size() << " colours, the commonest covers " << 100.0 * top / total
            << " %");
  CHECK(counts.size() >= 30);
  CHECK(top < 0.9 * total);
}

QString saveShot(QWidget* w, const QString& name) {
  const QString dir = QString(PRETEXT_ARTIFACTS) + "/e2e-panels";
  QDir().mkpath(dir);
  const QString path = dir + "/" + name;
  const QImage img = w->grab().toImage();
  REQUIRE(img.save(path));
  checkNotBlank(img, name.toUtf8().constData());
  return path;
}

bool waitUntil(const std::function<bool()>& ready, int ms) {
  QElapsedTimer t;
  t.start();
  while (!ready() && t.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 20);
  return ready();
}

}  // namespace

TEST_CASE("augmentation and objective panels edit the experiment and validate inline",
          "[gui][panels]") {
  widgets::ConfigPanel config;
  config.setSource("quick-test");
  widgets::AugmentationPanel aug(&config);
  widgets::ObjectivePanel obj(&config);
  REQUIRE(pretext::test::showExposed(aug, 400, 700));
  // Typing into the rotation range writes the experiment's value.
  typeInto(aug.fieldWidget("augment.rotation.range_deg"), "180");
  CHECK(config.value("augment.rotation.range_deg") == "180");
  CHECK(hasOverride(config, "augment.rotation.range_deg=180"));
  // Out of range: marked red with the reason; the experiment reports it and cannot start.
  typeInto(aug.fieldWidget("augment.rotation.range_deg"), "500");
  CHECK(config.hasErrors());
  CHECK(aug.fieldWidget("augment.rotation.range_deg")->toolTip().contains("out of range"));
  CHECK_FALSE(aug.fieldWidget("augment.rotation.range_deg")->styleSheet().isEmpty());
  // Another edit refreshes every field from the experiment: the refused one stays marked.
  typeInto(aug.fieldWidget("augment.translation.max_m"), "0.3");
  CHECK_FALSE(aug.fieldWidget("augment.rotation.range_deg")->styleSheet().isEmpty());
  typeInto(aug.fieldWidget("augment.rotation.range_deg"), "45");
  CHECK_FALSE(config.hasErrors());
  CHECK(aug.fieldWidget("augment.rotation.range_deg")->styleSheet().isEmpty());
  // A click on a check box switches the transform off.
  auto* flip = qobject_cast<QCheckBox*>(aug.fieldWidget("augment.flip.enabled"));
  REQUIRE(flip);
  REQUIRE(flip->isChecked());
  QTest::mouseClick(flip, Qt::LeftButton, {}, QPoint(6, flip->height() / 2));
  CHECK(config.value("augment.flip.enabled") == "false");
  // Sampled transforms follow the panel: rotation within +-45 degrees, never mirrored.
  for (int i = 0; i < 50; ++i) {
    core::SpatialTransform t;
    QString error;
    REQUIRE(aug.sampleTransform(t, error));
    CHECK(std::abs(t.angle) <= M_PI / 4 + 1e-9);
    CHECK_FALSE(t.flipY);
  }
  // Edits in the experiment panel show up in the augmentation panel.
  REQUIRE(config.setValue("augment.translation.max_m", "1.5"));
  CHECK(qobject_cast<QLineEdit*>(aug.fieldWidget("augment.translation.max_m"))->text() == "1.5");

  // Objectives: before a run, edits go to the experiment.
  REQUIRE(pretext::test::showExposed(obj, 400, 700));
  typeInto(obj.fieldWidget("objective.flow.weight"), "120");
  CHECK(hasOverride(config, "objective.flow.weight=120"));
  CHECK_FALSE(obj.applyButton()->isEnabled());
  // While a run trains only the live values are editable; changes wait for "Apply".
  obj.setRunActive(true);
  CHECK_FALSE(obj.fieldWidget("objective.pnce.temperature")->isEnabled());
  CHECK(obj.fieldWidget("trainer.lr")->isEnabled());
  QSignalSpy applied(&obj, &widgets::ObjectivePanel::applyRequested);
  typeInto(obj.fieldWidget("trainer.lr"), "-1");
  QTest::mouseClick(obj.applyButton(), Qt::LeftButton);
  CHECK(applied.isEmpty());  // refused inline: out of range
  typeInto(obj.fieldWidget("trainer.lr"), "0.0003");
  typeInto(obj.fieldWidget("objective.flow.weight"), "80");
  CHECK(obj.pendingChanges() ==
        std::map<QString, QString>{{"objective.flow.weight", "80"}, {"trainer.lr", "0.0003"}});
  REQUIRE(obj.applyButton()->isEnabled());
  QTest::mouseClick(obj.applyButton(), Qt::LeftButton);
  REQUIRE(applied.size() == 1);
  CHECK(obj.pendingChanges().empty());
  // The experiment panel keeps the values the run started with.
  CHECK(config.value("trainer.lr") != "0.0003");
  obj.setRunActive(false);
  CHECK(qobject_cast<QLineEdit*>(obj.fieldWidget("objective.flow.weight"))->text() == "120");
}

TEST_CASE("a resumed run's panels show the values it trains with, mid-run changes included",
          "[gui][panels]") {
  pretext::test::TempDir root;
  // A run whose learning rate and flow weight changed before step 1, stopped at step 2.
  core::LaunchRequest first;
  first.configOrPreset = "quick-test";
  first.runsRoot = root.str();
  first.overrides = {"trainer.max_steps=6", "trainer.log_every=3"};
  first.untilStep = 2;
  std::vector<core::ConfigIssue> issues;
  std::string error;
  std::string run;
  {
    auto job = core::TrainingJob::prepare(first, issues, error);
    REQUIRE(job);
    core::ControlBlock control;
    control.requestChange("trainer.lr", "0.00037");
    control.requestChange("objective.flow.weight", "10");
    core::NullSink none;
    REQUIRE(job->run(control, none).phase == core::RunPhase::Stopped);
    run = job->runDir();
  }

  widgets::MainWindow w;
  w.setRunsRoot(QString::fromStdString(root.str()));
  REQUIRE(pretext::test::showExposed(w, 1280, 800));
  w.configPanel()->setSource("default");  // something else was on screen before
  core::LaunchRequest resume;
  resume.resumeDir = run;
  resume.maxSteps = 5;  // a new target, as `pretext --resume DIR --max-steps 5` asks
  QSignalSpy done(&w, &widgets::MainWindow::runFinished);
  REQUIRE(w.startRun(resume, true));
  CHECK(w.configPanel()->value("trainer.lr") == "0.00037");
  CHECK(w.configPanel()->value("objective.flow.weight") == "10.0");
  CHECK(w.configPanel()->value("trainer.max_steps") == "5");
  CHECK(w.configPanel()->value("trainer.log_every") == "3");  // from the run's config.yaml
  auto* lr = qobject_cast<QLineEdit*>(w.objectivePanel()->fieldWidget("trainer.lr"));
  REQUIRE(lr);
  CHECK(lr->text() == "0.00037");
  // Nothing is pending: Apply compares with what the run really uses.
  CHECK(w.objectivePanel()->pendingChanges().empty());
  REQUIRE(done.wait(120000));
  CHECK(w.lastStatus().phase == core::RunPhase::Finished);
}

TEST_CASE("e2e: a run configured through the panels, changed while training, screenshots",
          "[gui][e2e]") {
  pretext::test::TempDir root;
  widgets::MainWindow w;
  w.setRunsRoot(QString::fromStdString(root.str()));
  REQUIRE(pretext::test::showExposed(w, 1600, 1000));
  // The experiment: a preset from the list, two values typed into the tree.
  auto* source = w.configPanel()->findChild<QComboBox*>();
  REQUIRE(source);
  source->setCurrentIndex(source->findText("quick-test"));
  REQUIRE(w.configPanel()->source() == "quick-test");
  editInTree(w.configPanel(), "trainer.max_steps", "40");
  editInTree(w.configPanel(), "trainer.snapshot_every", "10");
  auto* augDock = w.findChild<QDockWidget*>("dock.augment");
  auto* objDock = w.findChild<QDockWidget*>("dock.objectives");
  REQUIRE(augDock);
  REQUIRE(objDock);
  augDock->raise();
  typeInto(w.augmentationPanel()->fieldWidget("augment.rotation.range_deg"), "180");
  objDock->raise();
  typeInto(w.objectivePanel()->fieldWidget("trainer.lr"), "0.002");

  // Start with the toolbar button.
  auto* bar = w.findChild<QToolBar*>("toolbar.run");
  REQUIRE(bar);
  QSignalSpy done(&w, &widgets::MainWindow::runFinished);
  QTest::mouseClick(bar->widgetForAction(bar->actions().at(0)), Qt::LeftButton);
  REQUIRE(w.host()->active());
  const std::string run = w.currentRunDir().toStdString();
  std::string text, err;
  REQUIRE(core::readFile(run + "/config.yaml", text, err));
  CHECK(text.find("range_deg: 180") != std::string::npos);
  CHECK(text.find("lr: 0.002") != std::string::npos);

  // While it trains: a new flow weight, applied at the next step.
  REQUIRE(waitUntil([&] { return w.lastStatus().step >= 3; }, 120000));
  typeInto(w.objectivePanel()->fieldWidget("objective.flow.weight"), "50");
  REQUIRE(w.objectivePanel()->applyButton()->isEnabled());
  QTest::mouseClick(w.objectivePanel()->applyButton(), Qt::LeftButton);
  REQUIRE(done.wait(240000));
  CHECK(w.lastStatus().phase == core::RunPhase::Finished);
  REQUIRE(core::readFile(run + "/events.jsonl", text, err));
  CHECK(text.find("\"type\":\"param_change\"") != std::string::npos);
  CHECK(text.find("\"key\":\"objective.flow.weight\",\"from\":\"300.0\",\"to\":\"50.0\"") !=
        std::string::npos);

  // Preview a transform from the augmentation panel in the inspector.
  augDock->raise();
  QPushButton* preview = nullptr;
  for (auto* b : w.augmentationPanel()->findChildren<QPushButton*>())
    if (b->text().startsWith("Preview")) preview = b;
  REQUIRE(preview);
  QTest::mouseClick(preview, Qt::LeftButton);
  auto* inspectorDock = w.findChild<QDockWidget*>("dock.inspector");
  REQUIRE(waitUntil([&] { return inspectorDock->isVisible(); }, 5000));
  REQUIRE(waitUntil([&] { return w.inspector()->right()->pointCount() > 0; }, 10000));
  settle(400);
  saveShot(w.inspector(), "inspector.png");

  // The flow view (Ctrl+Shift+F) follows the run's probe pair.
  w.activateWindow();
  REQUIRE(QTest::qWaitForWindowActive(&w));
  QTest::keyClick(&w, Qt::Key_F, Qt::ControlModifier | Qt::ShiftModifier);
  settle(200);
  INFO("flow view visible " << w.flowView()->isVisible() << ", sample "
                            << (w.flowView()->sample() != nullptr));
  REQUIRE(waitUntil([&] { return w.flowView()->isVisible() && w.flowView()->sample(); }, 5000));
  CHECK(w.flowView()->vectorCount() > 0);
  settle(400);
  saveShot(w.flowView(), "flow.png");
  saveShot(w.findChild<QDockWidget*>("dock.plots"), "plots.png");
  REQUIRE(w.saveScreenshot(QString(PRETEXT_ARTIFACTS) + "/e2e-panels/main_window.png").result());

  // A language-model run: the sink heatmap.
  w.findChild<QDockWidget*>("dock.experiment")->raise();
  source->setCurrentIndex(source->findText("sink-backcopy-softmax"));
  editInTree(w.configPanel(), "trainer.max_steps", "20");
  editInTree(w.configPanel(), "trainer.snapshot_every", "10");
  editInTree(w.configPanel(), "sink.probe_sequences", "8");
  QTest::mouseClick(bar->widgetForAction(bar->actions().at(0)), Qt::LeftButton);
  REQUIRE(done.wait(240000));
  CHECK(w.lastStatus().phase == core::RunPhase::Finished);
  settle(400);
  saveShot(w.attentionView(), "sink_heatmap.png");
}

TEST_CASE("resuming a killed run in the window charts each step once", "[gui][panels]") {
  pretext::test::TempDir root;
  // A run checkpointed at step 4 whose process then logged steps 5-7 and was killed: those
  // rows belong to a branch the resume abandons.
  core::LaunchRequest first;
  first.configOrPreset = "quick-test";
  first.runsRoot = root.str();
  first.overrides = {"trainer.max_steps=10", "trainer.log_every=1", "trainer.checkpoint_every=4"};
  first.untilStep = 4;
  std::vector<core::ConfigIssue> issues;
  std::string error, run;
  {
    auto job = core::TrainingJob::prepare(first, issues, error);
    REQUIRE(job);
    core::ControlBlock control;
    core::NullSink none;
    REQUIRE(job->run(control, none).phase == core::RunPhase::Stopped);
    run = job->runDir();
  }
  {
    std::ofstream metrics(run + "/metrics.csv", std::ios::app);
    for (int step = 5; step <= 7; ++step) metrics << "1," << step << ",9.0,loss/total,123.0\n";
  }
  widgets::MainWindow w;
  w.setRunsRoot(QString::fromStdString(root.str()));
  REQUIRE(pretext::test::showExposed(w, 1280, 800));
  core::LaunchRequest resume;
  resume.resumeDir = run;
  QSignalSpy done(&w, &widgets::MainWindow::runFinished);
  REQUIRE(w.startRun(resume, true));
  REQUIRE(done.wait(120000));
  CHECK(w.lastStatus().phase == core::RunPhase::Finished);
  w.lossChart()->redrawNow();
  // Steps 1-10 once each: the abandoned rows are not shown, nor doubled by the live ones.
  CHECK(w.lossChart()->rawPointCount(QString::fromStdString(run)) == 10);
}
