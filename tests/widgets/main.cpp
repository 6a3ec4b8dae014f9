// Catch2 runner for widget tests: one QApplication for the whole run, with the OpenGL
// format VTK needs. Run under Xvfb (ctest does that through xvfb-run).
#include <QApplication>
#include "catch_runner.h"
#include "pretext/widgets/point_cloud_view.h"

int main(int argc, char** argv) {
  pretext::widgets::setVtkSurfaceFormat();
  QApplication::setOrganizationName("PretextTests");
  QApplication::setApplicationName("PretextTests");
  QApplication app(argc, argv);
  return pretext::test::runCatch(argc, argv);
}
