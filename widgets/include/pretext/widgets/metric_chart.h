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
  // What the chart shows at full resolution, for figure export: per run its colour index and
  // the (step, value) points of the current key.
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
    int color = 0;
  };
  void scheduleRedraw();
  void rebuildKeyList();
  QString m_key;
  bool m_logY = false;
  QMap<QString, RunData> m_runs;
  int m_nextColor = 0;
  QChart* m_chart = nullptr;
  QChartView* m_view = nullptr;
  QComboBox* m_keyBox = nullptr;
  QCheckBox* m_logBox = nullptr;
  QLabel* m_note = nullptr;
  QTimer m_redraw;
  bool m_dirty = false;
  QStringList m_knownKeys;
};

}  // namespace pretext::widgets
