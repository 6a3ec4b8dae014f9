// Catch2 runner for the session tests: a QCoreApplication, no display.
#include <QCoreApplication>

#include "catch_runner.h"

int main(int argc, char** argv) {
  QCoreApplication::setOrganizationName("PretextTests");
  QCoreApplication::setApplicationName("PretextSessionTests");
  QCoreApplication app(argc, argv);
  return pretext::test::runCatch(argc, argv);
}
