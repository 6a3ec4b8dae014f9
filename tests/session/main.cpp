// Catch2 runner for the session tests: a QCoreApplication, no display.
#define CATCH_CONFIG_RUNNER
#include <QCoreApplication>
#include <catch2/catch.hpp>

int main(int argc, char** argv) {
  QCoreApplication::setOrganizationName("PretextTests");
  QCoreApplication::setApplicationName("PretextSessionTests");
  QCoreApplication app(argc, argv);
  return Catch::Session().run(argc, argv);
}
