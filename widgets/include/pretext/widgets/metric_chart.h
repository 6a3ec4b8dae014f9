#pragma once
// A live chart of one metric key for one or more runs (Qt Charts). Keeps full-resolution
// history per run and draws a per-pixel min/max decimation of it, so no local extreme is
// lost however many steps were logged; redraws at most 10 times a second. GUI thread only.
#include <QColor>
#include <QMap>
#include <QPointF>
#include <QTimer>
#include <QWidget>
#include <vector>

#include "pretext/core/run_dir.h"
#include "pretext/core/run_types.h"

class QChartView;
class QComboBox;
class QCheckBox;
class QDoubleSpinBox;
class QLabel;
QT_BEGIN_NAMESPACE
class QChart;
class QLineSeries;
class QValueAxis;
class QLogValueAxis;
QT_END_NAMESPACE

namespace pretext::widgets {

// Colour-blind-safe palette (Okabe-Ito); run i keeps colour i in every chart.
QColor runColor(int index);

// Reduces points (sorted by x) to at most ~4 per bucket: first, min, max and last of each
// of `buckets` equal x-intervals over [x0, x1], in x order. Every local min and max at
// that resolution survives.
std::vector<QPointF> decimateMinMax(const std::vector<QPointF>& points, double x0, double x1,
                                    int buckets);

// Exponential smoothing with debiasing, on the full-resolution values in step order:
// m_i = w m_{i-1} + (1 - w) v_i with m_0 = 0, shown as m_i / (1 - w^i). The first shown
// value is v_1 and a constant series stays exactly that constant (as TensorBoard's
// smoothing slider does). w = 0 returns the values; w is clamped to [0, 0.999].
std::vector<double> smoothDebiased(const std::vector<double>& values, double w);

class MetricChart : public QWidget {
  Q_OBJECT
 public:
  explicit MetricChart(const QString& key, QWidget* parent = nullptr);

  void addRows(const QString& run, const std::vector<core::MetricRow>& rows);
  void clearRuns();
  void removeRun(const QString& run);
  QString key() const { return m_key; }
  void setKey(const QString& key);
  void setLogY(bool on);
  bool logY() const { return m_logY; }
  // Smoothing weight w in [0, 0.999] (smoothDebiased): the smoothed curve is drawn in the
  // run's colour, the raw curve faintly behind it; 0 draws the raw curve only.
  void setSmoothing(double w);
  double smoothing() const { return m_smoothing; }
  // The faint raw curve drawn for `run` when smoothing is on (decimated), else empty.
  std::vector<QPointF> drawnRawPoints(const QString& run) const;
  // x axis: the step, or the run's wall-clock training time in seconds.
  void setWallTimeX(bool on);
  bool wallTimeX() const { return m_wallX; }
  // Outlier-robust y range: the 1st to 99th percentile of what is drawn (plus 10 %); points
  // outside are clipped and counted in the note next to the key.
  void setRobustY(bool on);
  bool robustY() const { return m_robustY; }
  std::pair<double, double> yRange() const;  // the y axis range as drawn
  QString note() const;                      // hidden / clipped counts, empty if none
  // x positions of the dashed lines where resumed runs start a new segment.
  std::vector<double> segmentBoundaries() const;
  // What the chart shows at full resolution, for figure export: per run its colour index and
  // the (step, value) points of the current key (smoothed when smoothing is on).
  struct Curve {
    QString run;
    int color = 0;
    std::vector<std::pair<double, double>> points;
  };
  std::vector<Curve> curves() const;
  QStringList keys() const;  // every key seen so far
  QChartView* view() const { return m_view; }
  // The series currently drawn for `run` (after decimation), for tests and export.
  std::vector<QPointF> drawnPoints(const QString& run) const;
  std::size_t rawPointCount(const QString& run) const;
  void redrawNow();

 Q_SIGNALS:
  void keyChanged(const QString& key);

 private:
  struct RunData {
    core::MetricsAccumulator acc;
    QLineSeries* series = nullptr;
    QLineSeries* rawSeries = nullptr;  // faint, while smoothing is on
    int color = 0;
  };
  void scheduleRedraw();
  void rebuildKeyList();
  QString m_key;
  bool m_logY = false, m_wallX = false, m_robustY = false;
  double m_smoothing = 0;
  std::pair<double, double> m_yRange{0, 1};
  std::vector<QLineSeries*> m_boundaries;
  QMap<QString, RunData> m_runs;
  int m_nextColor = 0;
  QChart* m_chart = nullptr;
  QChartView* m_view = nullptr;
  QComboBox* m_keyBox = nullptr;
  QCheckBox* m_logBox = nullptr;
  QDoubleSpinBox* m_smoothBox = nullptr;
  QComboBox* m_xBox = nullptr;
  QCheckBox* m_robustBox = nullptr;
  QLabel* m_note = nullptr;
  QTimer m_redraw;
  bool m_dirty = false;
  QStringList m_knownKeys;
};

}  // namespace pretext::widgets
