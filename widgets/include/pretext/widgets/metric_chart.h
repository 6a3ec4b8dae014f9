#pragma once
// A live chart of one metric key for one or more runs (Qt Charts). Keeps full-resolution
// history per run and draws a per-pixel min/max decimation of it, so no local extreme is
// lost however many steps were logged; redraws at most 10 times a second. GUI thread only.
#include <QColor>
#include <QMap>
#include <QPointF>
#include <QTimer>
#include <QWidget>
#include <map>
#include <optional>
#include <vector>

#include "pretext/runs/run_dir.h"
#include "pretext/runs/run_types.h"
#include "pretext/session/run_model.h"

class QChartView;
class QComboBox;
class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QGraphicsLineItem;
class QHBoxLayout;
QT_BEGIN_NAMESPACE
class QChart;
class QLineSeries;
class QValueAxis;
class QLogValueAxis;
class QAbstractAxis;
QT_END_NAMESPACE

namespace pretext::widgets {

// Colour-blind-safe palette (Okabe-Ito); run i keeps colour i in every chart.
QColor runColor(int index);

class MetricChart : public QWidget {
  Q_OBJECT
 public:
  explicit MetricChart(const QString& key, QWidget* parent = nullptr);

  // Shows `run` from a metrics store shared with the run model (rows are held once, in
  // the store); call runChanged() when rows were added to it.
  void addRun(const QString& run, const session::MetricsStore& store);
  void runChanged(const QString& run);
  // A chart on its own (tests, tools): adds rows to a store the chart keeps for `run`.
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
  // x axis: the step, the run's wall-clock training time in seconds, or the training
  // samples seen (step x the run's batch size, setSamplesPerStep).
  enum class XAxis { Step, WallTime, Samples };
  void setXAxis(XAxis x);
  XAxis xAxis() const { return m_xMode; }
  void setWallTimeX(bool on) { setXAxis(on ? XAxis::WallTime : XAxis::Step); }
  bool wallTimeX() const { return m_xMode == XAxis::WallTime; }
  void setSamplesPerStep(const QString& run, double samples);
  // Logarithmic x axis: x <= 0 (step 0) is hidden and counted; decimation buckets are equal
  // in log x.
  void setLogX(bool on);
  bool logX() const { return m_logX; }
  // The x window shown (a zoom: drag a rectangle; right-click zooms out); unset = all data.
  // Decimation is recomputed for the window, so zooming into 10^6 points shows every
  // local extreme at the new resolution; the y range fits the points in the window.
  void setXWindow(double x0, double x1);
  void resetZoom();
  // Pan: moves the window by `fraction` of its width (negative: left). Zoom: scales it by
  // `factor` (< 1 zooms in) about x = `centre`. The mouse wheel zooms about the pointer,
  // shift + wheel pans. Log x axes do both in log x.
  void panX(double fraction);
  void zoomX(double factor, double centre);
  std::pair<double, double> xRange() const;  // the x axis range as drawn
  // The exact values nearest to x for every run (what the crosshair shows), e.g.
  // "step 1200 · run-a 0.51234 · run-b 0.3 (raw 0.29)"; empty when there is no data.
  QString valuesAt(double x) const;
  QString crosshairText() const;
  // Outlier-robust y range: the 1st to 99th percentile of what is drawn (plus 10 %); points
  // outside are clipped and counted in the note next to the key.
  // A legend naming each run (its folder without the timestamp) when two or more runs are
  // drawn; off hides it (View › Plot legends).
  void setLegendShown(bool on);
  bool legendVisible() const;
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
    session::MetricsStore acc;                      // what is drawn: shared, or `own`
    std::shared_ptr<core::MetricsAccumulator> own;  // null once shown from a shared store
    std::size_t keyCount = 0;                       // keys seen at the last runChanged
    QLineSeries* series = nullptr;
    QLineSeries* rawSeries = nullptr;  // faint, while smoothing is on
    int color = 0;
    double samplesPerStep = 0;  // 0: unknown (the samples axis then falls back to steps)
  };
  // The run's (x, value) points of the current key in x order, and the smoothed values
  // (empty when smoothing is off: the curve is then the raw points).
  struct XY {
    std::vector<QPointF> raw, smoothed;
    const std::vector<QPointF>& curve() const { return smoothed.empty() ? raw : smoothed; }
  };
  RunData& runData(const QString& run);  // created with the next colour
  void updateLegend();
  QHBoxLayout* buildControls();
  // redrawNow's steps.
  struct Frame;
  std::vector<QPointF> decimated(const std::vector<QPointF>& all, double x0, double x1) const;
  void decimateRuns(Frame& f);
  void ensureSeries(RunData& run, const QString& name);
  void robustYRange(Frame& f) const;
  QAbstractAxis* makeXAxis(double x0, double x1);
  QAbstractAxis* makeYAxis(double y0, double y1);
  void drawSegmentBoundaries(QAbstractAxis* ax, QAbstractAxis* ay, double y0, double y1);
  XY pointsOf(const RunData& run, std::size_t* hidden = nullptr) const;
  double xOf(const RunData& run, const core::SeriesPoint& p) const;
  void showCrosshair(const QPointF& viewportPos);
  bool eventFilter(QObject* watched, QEvent* event) override;
  void scheduleRedraw();
  void rebuildKeyList();
  QString m_key;
  bool m_logY = false, m_logX = false, m_robustY = false, m_legendShown = true;
  XAxis m_xMode = XAxis::Step;
  std::optional<std::pair<double, double>> m_xWindow;
  std::pair<double, double> m_xRange{0, 1};
  bool m_settingAxes = false;  // our own axis changes are not user zooms
  std::map<QString, XY> m_xy;  // per run, as the last redraw computed it (crosshair lookups)
  QGraphicsLineItem* m_crossLine = nullptr;
  QLabel* m_cross = nullptr;
  QCheckBox* m_logXBox = nullptr;
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
