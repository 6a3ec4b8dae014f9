// Catch2 runner for widget tests: one QApplication for the whole run, with the OpenGL
// format VTK needs. Run under Xvfb (ctest does that through xvfb-run).
#define CATCH_CONFIG_RUNNER
#include <QApplication>
#include <catch2/catch.hpp>
#include "pretext/widgets/point_cloud_view.h"

using namespace pretext::render;

int main(int argc, char** argv) {
  pretext::widgets::setVtkSurfaceFormat();
  QApplication::setOrganizationName("PretextTests");
  QApplication::setApplicationName("PretextTests");
  QApplication app(argc, argv);
  return Catch::Session().run(argc, argv);
}
