#pragma once
// Widget-test set-up shared by the GUI test files.
#include <QTest>
#include <QWidget>

namespace pretext::test {

// Resizes, shows and waits until the window system has exposed `w`; false on timeout.
inline bool showExposed(QWidget& w, int width, int height) {
  w.resize(width, height);
  w.show();
  return QTest::qWaitForWindowExposed(&w);
}

}  // namespace pretext::test
