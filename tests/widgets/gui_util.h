#pragma once
// Widget-test set-up shared by the GUI test files.
#include <QTest>
#include <QWidget>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "pretext/runs/config.h"
#include "pretext/runs/run_dir.h"

namespace pretext::test {

// Resizes, shows and waits until the window system has exposed `w`; false on timeout.
inline bool showExposed(QWidget& w, int width, int height) {
  w.resize(width, height);
  w.show();
  return QTest::qWaitForWindowExposed(&w);
}

// A new run (default config) under `root` whose one point snapshot is `snap`; its folder.
inline std::string runWithSnapshot(const std::string& root, const core::PointSnapshot& snap) {
  std::string err;
  auto writer = core::RunDirWriter::create(root, core::Config::defaults(), err);
  INFO(err);
  REQUIRE(writer);
  REQUIRE(writer->writeSnapshot(snap, err));
  return writer->dir();
}

// Collects the Qt warnings emitted while it lives (one at a time; not thread-safe), so a
// test can require that a widget stays quiet.
class QtWarnings {
 public:
  QtWarnings() {
    messages().clear();
    m_previous =
        qInstallMessageHandler([](QtMsgType type, const QMessageLogContext&, const QString& text) {
          if (type == QtWarningMsg || type == QtCriticalMsg)
            messages().push_back(text.toStdString());
        });
  }
  ~QtWarnings() { qInstallMessageHandler(m_previous); }
  static std::vector<std::string>& messages() {
    static std::vector<std::string> m;
    return m;
  }
  std::string joined() const {
    std::string all;
    for (const auto& m : messages()) all += m + "\n";
    return all;
  }

 private:
  QtMessageHandler m_previous = nullptr;
};

}  // namespace pretext::test
