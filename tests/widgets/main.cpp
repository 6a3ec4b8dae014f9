// Catch2 runner for widget tests: one QApplication for the whole run, with the OpenGL
// format VTK needs. Run under Xvfb (ctest does that through xvfb-run).
#define CATCH_CONFIG_RUNNER
#include <QApplication>
#include <QSurfaceFormat>
#include <catch2/catch.hpp>

int main(int argc, char** argv) {
  QSurfaceFormat fmt;
  fmt.setRenderableType(QSurfaceFormat::OpenGL);
  fmt.setVersion(3, 2);
  fmt.setProfile(QSurfaceFormat::CoreProfile);
  fmt.setDepthBufferSize(24);
  fmt.setStencilBufferSize(8);
  QSurfaceFormat::setDefaultFormat(fmt);
  QApplication::setOrganizationName("PretextTests");
  QApplication::setApplicationName("PretextTests");
  QApplication app(argc, argv);
  return Catch::Session().run(argc, argv);
}
