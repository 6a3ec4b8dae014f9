#pragma once
// Viridis, the perceptually uniform and colour-blind-safe map every Pretext view uses
// (point colours, colour bars, attention heatmaps). Header-only, no Qt, no VTK.
#include <algorithm>
#include <cmath>

namespace pretext::render {

// t in [0, 1] (clamped; NaN gives the low end) to RGB in [0, 1], interpolated between 11
// control points of matplotlib's viridis.
inline void viridis(double t, double rgb[3]) {
  static const double kStops[11][3] = {
      {0.267, 0.005, 0.329}, {0.283, 0.141, 0.458}, {0.254, 0.265, 0.530}, {0.207, 0.372, 0.553},
      {0.164, 0.471, 0.558}, {0.128, 0.567, 0.551}, {0.135, 0.659, 0.518}, {0.267, 0.749, 0.441},
      {0.478, 0.821, 0.318}, {0.741, 0.873, 0.150}, {0.993, 0.906, 0.144}};
  const double x = std::isfinite(t) ? std::clamp(t, 0.0, 1.0) * 10.0 : 0.0;
  const int k = std::min(static_cast<int>(x), 9);
  const double f = x - k;
  for (int c = 0; c < 3; ++c) rgb[c] = kStops[k][c] * (1 - f) + kStops[k + 1][c] * f;
}

}  // namespace pretext::render
