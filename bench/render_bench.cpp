// Rendering and interaction budgets of the GUI (issue #6), measured on whatever OpenGL the
// X server offers (CI: Mesa llvmpipe under Xvfb; the renderer is printed). Each number is
// the median over `rounds` of one user-visible action, including the render and the read
// back of the frame (grabFramebuffer), which bench/render_bench.py does the same way with
// Open3D's visualizer:
//   update_120k   a new 120 000-point snapshot replaces the cloud (scalars coloured)
//   orbit_1M      one frame while orbiting a 1 000 000-point cloud (2 degrees per frame)
//   orbit_1M_drag the same during a mouse drag (the view then draws an even 250 000)
//   chart_1M      a chart of 10^6 logged steps redrawn (min/max decimation + series)
//   chart_1M_paint  the same plus painting the chart widget
// Usage: render_bench [rounds]    prints "name median_ms" lines.
#include <QApplication>
#include <QElapsedTimer>
#include <QOpenGLContext>
#include <QOpenGLFunctions>
#include <QWindow>
#include <QtCharts/QChartView>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "pretext/widgets/metric_chart.h"
#include "pretext/widgets/point_cloud_view.h"

using namespace pretext::render;

using namespace pretext;

namespace {

// Points uniform in a 60 m disk, z in [-2, 3]; the scalar is the height.
void cloud(std::size_t n, std::uint64_t seed, std::vector<float>& xyz, std::vector<float>& s) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1), h(-2, 3);
  xyz.clear();
  s.clear();
  xyz.reserve(3 * n);
  s.reserve(n);
  while (s.size() < n) {
    const float x = u(rng), y = u(rng);
    if (x * x + y * y > 1) continue;
    const float z = h(rng);
    xyz.insert(xyz.end(), {60 * x, 60 * y, z});
    s.push_back(z);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
double timeMs(F&& f) {
  QElapsedTimer t;
  t.start();
  f();
  return t.nsecsElapsed() / 1e6;
}

void waitExposed(QWidget& w) {
  QElapsedTimer t;
  t.start();
  while (!w.windowHandle()->isExposed() && t.elapsed() < 10000) QApplication::processEvents();
  QApplication::processEvents();
}

}  // namespace

int main(int argc, char** argv) {
  widgets::setVtkSurfaceFormat();
  QApplication app(argc, argv);
  const int rounds = argc > 1 ? std::max(3, std::atoi(argv[1])) : 15;

  widgets::PointCloudView view;
  view.resize(1280, 720);
  view.show();
  waitExposed(view);
  view.makeCurrent();
  const auto* renderer = reinterpret_cast<const char*>(
      QOpenGLContext::currentContext()->functions()->glGetString(GL_RENDERER));
  std::printf("# OpenGL renderer: %s, 1280 x 720 px\n", renderer ? renderer : "?");
  view.doneCurrent();

  // A new 120k-point snapshot (the default preset's probe scans are 4096; KITTI is 120k).
  std::vector<std::vector<float>> xyz(rounds + 1), s(rounds + 1);
  for (int i = 0; i <= rounds; ++i) cloud(120000, 100 + i, xyz[i], s[i]);
  view.setPointCloud(xyz[0], s[0], "height");
  view.grabFramebuffer();  // shaders compiled, buffers sized
  std::vector<double> update;
  for (int i = 1; i <= rounds; ++i)
    update.push_back(timeMs([&] {
      view.setPointCloud(xyz[i], s[i], "height");
      view.grabFramebuffer();
    }));
  std::printf("update_120k %.2f\n", median(update));

  // Orbiting a million points.
  std::vector<float> big, bigS;
  cloud(1000000, 7, big, bigS);
  view.setPointCloud(big, bigS, "height");
  view.resetCamera();
  view.grabFramebuffer();
  // Median time of one orbit step (2 degrees) and its frame.
  auto orbitFrames = [&] {
    std::vector<double> times;
    for (int i = 0; i < rounds; ++i)
      times.push_back(timeMs([&] {
        view.orbit(2, 0);
        view.grabFramebuffer();
      }));
    return median(times);
  };
  std::printf("orbit_1M %.2f\n", orbitFrames());
  // The same while a mouse drag is in progress: the view draws an even quarter-million.
  view.setInteracting(true);
  view.grabFramebuffer();
  std::printf("orbit_1M_drag %.2f\n", orbitFrames());
  view.setInteracting(false);
  // Reading the frame back alone (part of every number above and of Open3D's).
  std::vector<double> readback;
  for (int i = 0; i < rounds; ++i) {
    view.setPointCloud({}, {}, "empty");
    readback.push_back(timeMs([&] { view.grabFramebuffer(); }));
  }
  std::printf("# render_and_readback_empty %.2f\n", median(readback));
  view.hide();

  // A chart of 10^6 logged steps.
  widgets::MetricChart chart("loss/total");
  chart.resize(1280, 400);
  chart.show();
  waitExposed(chart);
  std::vector<core::MetricRow> rows;
  rows.reserve(1000000);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0, 0.05);
  for (std::int64_t i = 1; i <= 1000000; ++i)
    rows.push_back({1, i, i * 0.01, "loss/total", 5.0 / std::sqrt(double(i)) + noise(rng)});
  const double addMs = timeMs([&] { chart.addRows("bench-run", rows); });
  std::printf("# chart_1M_add_rows %.1f (once: appending 10^6 rows)\n", addMs);
  std::vector<double> redraw, paint;
  for (int i = 0; i < rounds; ++i) {
    redraw.push_back(timeMs([&] { chart.redrawNow(); }));
    paint.push_back(timeMs([&] {
      chart.redrawNow();
      chart.view()->grab();
    }));
  }
  std::printf("chart_1M %.2f\n", median(redraw));
  std::printf("chart_1M_paint %.2f\n", median(paint));
  return 0;
}
