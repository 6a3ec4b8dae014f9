#pragma once
// Metric series as they are drawn: min/max decimation to the output resolution and
// debiased exponential smoothing. The one implementation behind the live chart
// (widgets/metric_chart), the figure export (render/figure) and the study plots
// (core/train/study). Qt-free; pure functions, any thread.
#include <cstddef>
#include <utility>
#include <vector>

namespace pretext::core {

// One point of a series: (x, y).
using XYPoint = std::pair<double, double>;

// Reduces points (sorted by x) to at most ~4 per bucket: first, min, max and last of each
// of `buckets` equal x-intervals over [x0, x1], in x order. Every local min and max at
// that resolution survives, so the drawn envelope is the same as with every point. Points
// outside [x0, x1] count to the first or last bucket. Series of at most 4 * buckets
// points, x1 <= x0 or buckets < 1 are returned unchanged. For a log x axis, pass log10 x
// (and log10 of the bounds) and map the kept points back (decimateMinMaxIndices).
std::vector<XYPoint> decimateMinMax(const std::vector<XYPoint>& points, double x0, double x1,
                                    int buckets);
// The same selection as indices into `points` (ascending).
std::vector<std::size_t> decimateMinMaxIndices(const std::vector<XYPoint>& points, double x0,
                                               double x1, int buckets);

// Exponential smoothing with debiasing, on the full-resolution values in step order:
// m_i = w m_{i-1} + (1 - w) v_i with m_0 = 0, shown as m_i / (1 - w^i). The first shown
// value is v_1 and a constant series stays exactly that constant (as TensorBoard's
// smoothing slider does). w = 0 returns the values; w is clamped to [0, 0.999].
std::vector<double> smoothDebiased(const std::vector<double>& values, double w);

}  // namespace pretext::core
