// pretext: the desktop workbench.
#include <signal.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QTimer>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "pretext/core/stop_signals.h"
#include "pretext/core/training_job.h"
#include "pretext/core/versions.h"
#include "pretext/widgets/main_window.h"
#include "pretext/widgets/point_cloud_view.h"

// SIGTERM and SIGINT stop a training run cleanly (checkpoint, "stopped") and close the
// window; the process then exits 130. They are blocked in every thread from .preinit_array,
// before any library starts a thread (OpenBLAS does so in its constructor), and taken by
// one thread with sigwait. A second signal ends the process at once.
static void blockStopSignalsEarly(int, char**, char**) { pretext::core::blockStopSignals(); }
__attribute__((section(".preinit_array"),
               used)) static void (*preinitBlockStopSignals)(int, char**,
                                                             char**) = &blockStopSignalsEarly;

int main(int argc, char** argv) {
  pretext::core::registerComponentVersion("qt", qVersion());
  pretext::core::registerComponentVersion("vtk", PRETEXT_VTK_VERSION);
  // --version and --help need no display: answer them before any window system starts.
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--version") {
      std::fputs(pretext::core::versionReport().c_str(), stdout);
      return 0;
    }
  }
  bool helpOnly = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help" || a == "--help-all") helpOnly = true;
  }
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
  for (const auto& s : cli.values(setOpt))
    if (!s.contains('=') || s.startsWith("--")) {
      std::fprintf(stderr, "pretext: --set expects KEY=VALUE (e.g. trainer.lr=3e-4), got '%s'\n",
                   s.toUtf8().constData());
      return 2;
    }

  pretext::core::configureThreads(0);

  pretext::widgets::MainWindow window;
  // The signal thread outlives main(): what it touches is static, and the window only while
  // main() has not returned.
  static std::atomic<bool> signalled{false};
  static std::mutex signalMutex;
  static pretext::widgets::MainWindow* live = nullptr;
  {
    std::lock_guard<std::mutex> lock(signalMutex);
    live = &window;
  }
  struct Unhook {
    ~Unhook() {
      std::lock_guard<std::mutex> lock(signalMutex);
      live = nullptr;
    }
  } unhook;
  std::thread([] {
    const sigset_t sigs = pretext::core::stopSignals();
    int sig = 0;
    while (sigwait(&sigs, &sig) == 0) {
      if (signalled.exchange(true)) _exit(130);
      std::lock_guard<std::mutex> lock(signalMutex);
      if (!live) continue;
      std::fprintf(stderr, "\npretext: stopping the run after its current step (again to abort)\n");
      pretext::widgets::MainWindow* w = live;
      QMetaObject::invokeMethod(
          w, [w] { w->quitWithoutAsking(); }, Qt::QueuedConnection);
    }
  }).detach();
  if (cli.isSet(outOpt)) window.setRunsRoot(QDir(cli.value(outOpt)).absolutePath());
  window.setAutomation(cli.value(shotOpt), cli.isSet(exitOpt));
  window.resize(1400, 900);
  window.show();

  if (cli.isSet(runOpt) || cli.isSet(resumeOpt)) {
    pretext::core::LaunchRequest req;
    req.configOrPreset = cli.value(runOpt).toStdString();
    req.resumeDir = cli.value(resumeOpt).toStdString();
    for (const auto& s : cli.values(setOpt)) req.overrides.push_back(s.toStdString());
    if (cli.isSet(stepsOpt)) {
      bool ok = false;
      req.maxSteps = cli.value(stepsOpt).toLongLong(&ok);
      if (!ok || req.maxSteps <= 0) {
        std::fprintf(stderr, "pretext: --max-steps expects a positive integer, got '%s'\n",
                     cli.value(stepsOpt).toUtf8().constData());
        return 2;
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
  return signalled.load() ? 130 : code;
}
