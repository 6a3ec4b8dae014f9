// pretext: the desktop workbench.
#include <signal.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QTimer>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "pretext/cli/args.h"
#include "pretext/data/stop_signals.h"
#include "pretext/runs/versions.h"
#include "pretext/train/training_job.h"
#include "pretext/widgets/main_window.h"
#include "pretext/widgets/point_cloud_view.h"

using namespace pretext::render;

namespace {
// The form --set takes, in its error message.
const char* kSetForm = "KEY=VALUE (e.g. trainer.lr=3e-4)";
}  // namespace

// SIGTERM and SIGINT stop a training run cleanly (checkpoint, "stopped") and close the
// window; the process then exits 130. They are blocked in every thread from .preinit_array,
// before any library starts a thread (OpenBLAS does so in its constructor), and taken by
// one thread with sigwait (a StopSignalWatch). A second signal ends the process at once.
PRETEXT_BLOCK_STOP_SIGNALS_BEFORE_MAIN();

int main(int argc, char** argv) {
  pretext::core::registerComponentVersion("qt", qVersion());
  pretext::core::registerComponentVersion("vtk", PRETEXT_VTK_VERSION);
  // --version and --help need no display: answer them before any window system starts.
  if (pretext::cli::contains(argc, argv, {"--version"})) {
    std::fputs(pretext::core::versionReport().c_str(), stdout);
    return 0;
  }
  const bool helpOnly = pretext::cli::contains(argc, argv, {"-h", "--help", "--help-all"});
  std::unique_ptr<QCoreApplication> appPtr;
  if (helpOnly) {
    appPtr = std::make_unique<QCoreApplication>(argc, argv);
  } else {
    pretext::widgets::setVtkSurfaceFormat();
    appPtr = std::make_unique<QApplication>(argc, argv);
  }
  QCoreApplication& app = *appPtr;
  QCoreApplication::setOrganizationName("Pretext");
  QCoreApplication::setApplicationName("Pretext");
  QCoreApplication::setApplicationVersion(QString::fromStdString(pretext::core::pretextVersion()));

  QCommandLineParser cli;
  cli.setApplicationDescription("Pretext: a workbench for pre-training objectives.");
  cli.addHelpOption();
  QCommandLineOption versionOpt("version", "Print the versions of Pretext, LibTorch, Qt and VTK.");
  QCommandLineOption runOpt("run", "Start a run from a YAML file or a preset name.",
                            "CONFIG_OR_PRESET");
  QCommandLineOption resumeOpt("resume", "Resume a run directory from its latest checkpoint.",
                               "RUN_DIR");
  QCommandLineOption openOpt("open", "Open (and tail) a run directory.", "RUN_DIR");
  QCommandLineOption stepsOpt("max-steps",
                              "trainer.max_steps for the run (new target on --resume).", "N");
  QCommandLineOption setOpt("set", "Override a config value (repeatable), e.g. trainer.lr=3e-4.",
                            "KEY=VALUE");
  QCommandLineOption outOpt("out", "Folder that receives run directories.", "RUNS_ROOT");
  QCommandLineOption shotOpt("screenshot", "Save a PNG of the window when the run ends.", "FILE");
  QCommandLineOption exitOpt("exit-when-done",
                             "Quit when the run ends (exit 0 finished, 1 failed, 2 invalid).");
  cli.addOptions(
      {versionOpt, runOpt, resumeOpt, openOpt, stepsOpt, setOpt, outOpt, shotOpt, exitOpt});
  cli.process(app);
  pretext::core::LaunchRequest req;
  try {
    for (const auto& s : cli.values(setOpt))
      req.overrides.push_back(
          pretext::cli::parseKeyValue("--set", s.toStdString(), kSetForm).text());
  } catch (const pretext::cli::UsageError& e) {
    return pretext::cli::reportUsageError("pretext", e, nullptr);
  }

  pretext::core::configureThreads(0);

  pretext::widgets::MainWindow window;
  // The signal thread outlives main(): the watch, destroyed before the window, unhooks it.
  const pretext::core::StopSignalWatch stopWatch(
      "pretext: stopping the run after its current step (again to abort)", [w = &window] {
        QMetaObject::invokeMethod(
            w, [w] { w->quitWithoutAsking(); }, Qt::QueuedConnection);
      });
  if (cli.isSet(outOpt)) window.setRunsRoot(QDir(cli.value(outOpt)).absolutePath());
  window.setAutomation(cli.value(shotOpt), cli.isSet(exitOpt));
  window.resize(1400, 900);
  window.show();

  if (cli.isSet(runOpt) || cli.isSet(resumeOpt)) {
    req.configOrPreset = cli.value(runOpt).toStdString();
    req.resumeDir = cli.value(resumeOpt).toStdString();
    if (cli.isSet(stepsOpt)) {
      try {
        req.maxSteps = pretext::cli::parseInt("--max-steps", cli.value(stepsOpt).toStdString(), 1);
      } catch (const pretext::cli::UsageError& e) {
        return pretext::cli::reportUsageError("pretext", e, nullptr);
      }
    }
    const bool headlessAutomation = cli.isSet(exitOpt);
    // Start once the event loop runs so the window is up first.
    QTimer::singleShot(0, &window, [&window, req, headlessAutomation] {
      if (!window.startRun(req, headlessAutomation)) {
        std::fprintf(stderr, "pretext: the run could not start (see the log panel)\n");
        if (headlessAutomation) QApplication::exit(2);
      }
    });
  } else if (cli.isSet(openOpt)) {
    window.openRun(QDir(cli.value(openOpt)).absolutePath());
  }
  const int code = app.exec();
  return pretext::core::StopSignalWatch::signalled() ? 130 : code;
}
