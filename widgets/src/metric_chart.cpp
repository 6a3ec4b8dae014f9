#include "pretext/widgets/metric_chart.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QGraphicsLineItem>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QToolButton>
#include <QVBoxLayout>
#include <QWheelEvent>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QLegend>
#include <QtCharts/QLegendMarker>
#include <QtCharts/QLineSeries>
#include <QtCharts/QLogValueAxis>
#include <QtCharts/QValueAxis>
#include <algorithm>
#include <cmath>
#include <limits>

#include "pretext/render/figure.h"
#include "pretext/runs/plot.h"
#include "pretext/runs/series.h"

namespace pretext::widgets {

QColor runColor(int index) {
  static const QColor colors[] = {QColor(0, 114, 178),   QColor(213, 94, 0),  QColor(0, 158, 115),
                                  QColor(204, 121, 167), QColor(230, 159, 0), QColor(86, 180, 233),
                                  QColor(240, 228, 66),  QColor(0, 0, 0)};
  return colors[index % 8];
}

MetricChart::MetricChart(const QString& key, QWidget* parent) : QWidget(parent), m_key(key) {
  m_chart = new QChart();
  m_chart->legend()->setVisible(false);  // shown for two or more runs (updateLegend)
  m_chart->legend()->setAlignment(Qt::AlignTop);
  m_chart->setMargins(QMargins(4, 4, 4, 4));
  m_view = new QChartView(m_chart, this);
  m_view->setRenderHint(QPainter::Antialiasing);
  m_view->setMinimumSize(240, 160);
  m_view->setRubberBand(QChartView::RectangleRubberBand);
  m_view->setToolTip(
      tr("Drag a rectangle to zoom in, right-click to zoom out; wheel zooms about the "
         "pointer, shift + wheel pans"));

  QHBoxLayout* top = buildControls();
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(2, 2, 2, 2);
  lay->addLayout(top);
  lay->addWidget(m_view, 1);
  lay->addWidget(m_cross);
  m_view->viewport()->setMouseTracking(true);
  m_view->viewport()->installEventFilter(this);

  m_redraw.setSingleShot(true);
  m_redraw.setInterval(100);
  connect(&m_redraw, &QTimer::timeout, this, &MetricChart::redrawNow);
  redrawNow();
}

// The row above the plot: key, x axis, smoothing, robust y, log axes, Fit and the note.
QHBoxLayout* MetricChart::buildControls() {
  m_keyBox = new QComboBox(this);
  m_keyBox->setEditable(false);
  m_keyBox->setMinimumContentsLength(18);
  m_keyBox->addItem(m_key);
  m_keyBox->setToolTip(tr("Metric to plot"));
  m_logBox = new QCheckBox(tr("log y"), this);
  m_logBox->setToolTip(tr("Logarithmic y axis; non-positive values are hidden and counted"));
  m_smoothBox = new QDoubleSpinBox(this);
  m_smoothBox->setRange(0, 0.99);
  m_smoothBox->setSingleStep(0.1);
  m_smoothBox->setDecimals(2);
  m_smoothBox->setPrefix(tr("smooth "));
  m_smoothBox->setToolTip(
      tr("Exponential smoothing weight w on every logged value, debiased like TensorBoard's: "
         "m = w m + (1 - w) v, shown as m / (1 - w^n). The raw curve stays visible faintly. "
         "0 = off"));
  m_xBox = new QComboBox(this);
  m_xBox->addItems({tr("step"), tr("wall time"), tr("samples")});
  m_xBox->setToolTip(
      tr("x axis: training step, the run's wall-clock training time (s), or training samples "
         "seen (step x batch size)"));
  m_logXBox = new QCheckBox(tr("log x"), this);
  m_logXBox->setToolTip(tr("Logarithmic x axis; x <= 0 (step 0) is hidden and counted"));
  auto* fit = new QToolButton(this);
  fit->setText(tr("Fit"));
  fit->setToolTip(tr("Show all data again after zooming (drag a rectangle to zoom in)"));
  m_cross = new QLabel(this);
  m_cross->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_cross->setToolTip(tr("Exact values at the mouse position (nearest logged step per run)"));
  m_robustBox = new QCheckBox(tr("robust y"), this);
  m_robustBox->setToolTip(
      tr("y range from the 1st to the 99th percentile of the drawn values (+10 %), so one "
         "spike does not flatten the curve; clipped points are counted next to the key"));
  m_note = new QLabel(this);
  m_note->setStyleSheet("color: #a05000;");
  auto* top = new QHBoxLayout();
  top->setContentsMargins(0, 0, 0, 0);
  top->addWidget(m_keyBox, 1);
  top->addWidget(m_xBox);
  top->addWidget(m_smoothBox);
  top->addWidget(m_robustBox);
  top->addWidget(m_logBox);
  top->addWidget(m_logXBox);
  top->addWidget(fit);
  top->addWidget(m_note);
  connect(m_logXBox, &QCheckBox::toggled, this, &MetricChart::setLogX);
  connect(fit, &QToolButton::clicked, this, &MetricChart::resetZoom);
  connect(m_keyBox, &QComboBox::currentTextChanged, this, [this](const QString& k) {
    if (!k.isEmpty() && k != m_key) setKey(k);
  });
  connect(m_logBox, &QCheckBox::toggled, this, &MetricChart::setLogY);
  connect(m_smoothBox, qOverload<double>(&QDoubleSpinBox::valueChanged), this,
          &MetricChart::setSmoothing);
  connect(m_xBox, qOverload<int>(&QComboBox::currentIndexChanged), this,
          [this](int i) { setXAxis(static_cast<XAxis>(i)); });
  connect(m_robustBox, &QCheckBox::toggled, this, &MetricChart::setRobustY);
  return top;
}

MetricChart::RunData& MetricChart::runData(const QString& run) {
  auto it = m_runs.find(run);
  if (it == m_runs.end()) {
    RunData data;
    data.color = m_nextColor++;
    data.own = std::make_shared<core::MetricsAccumulator>();
    data.acc = data.own;
    it = m_runs.insert(run, std::move(data));
  }
  return it.value();
}

void MetricChart::addRows(const QString& run, const std::vector<core::MetricRow>& rows) {
  RunData& data = runData(run);
  if (!data.own) return;  // shown from the run model's store (addRun): not written here
  for (const auto& r : rows) data.own->addRow(r);
  runChanged(run);
}

void MetricChart::addRun(const QString& run, const session::MetricsStore& store) {
  RunData& data = runData(run);
  data.own.reset();
  data.acc = store;
  data.keyCount = 0;
  runChanged(run);
}

void MetricChart::runChanged(const QString& run) {
  auto it = m_runs.find(run);
  if (it == m_runs.end()) return;
  if (it->acc->series().size() != it->keyCount) {
    it->keyCount = it->acc->series().size();
    rebuildKeyList();
  }
  scheduleRedraw();
}

void MetricChart::clearRuns() {
  for (auto& r : m_runs)
    for (auto* series : {r.series, r.rawSeries})
      if (series) m_chart->removeSeries(series), delete series;
  m_runs.clear();
  m_nextColor = 0;
  m_xWindow.reset();
  m_xy.clear();
  m_cross->clear();
  scheduleRedraw();
}

void MetricChart::removeRun(const QString& run) {
  auto it = m_runs.find(run);
  if (it == m_runs.end()) return;
  for (auto* series : {it->series, it->rawSeries})
    if (series) {
      m_chart->removeSeries(series);
      delete series;
    }
  m_xy.erase(run);
  m_runs.erase(it);
  scheduleRedraw();
}

void MetricChart::setKey(const QString& key) {
  m_key = key;
  if (m_keyBox->currentText() != key) {
    if (m_keyBox->findText(key) < 0) m_keyBox->addItem(key);
    m_keyBox->setCurrentText(key);
  }
  Q_EMIT keyChanged(key);
  redrawNow();
}

std::vector<MetricChart::Curve> MetricChart::curves() const {
  std::vector<Curve> out;
  for (auto it = m_runs.begin(); it != m_runs.end(); ++it) {
    Curve c;
    c.run = it.key();
    c.color = it.value().color;
    auto s = it.value().acc->series().find(m_key.toStdString());
    if (s != it.value().acc->series().end()) {
      std::vector<double> v;
      for (const auto& p : s->second) v.push_back(p.value);
      v = core::smoothDebiased(v, m_smoothing);  // what the chart draws
      for (std::size_t i = 0; i < v.size(); ++i)
        c.points.push_back({static_cast<double>(s->second[i].step), v[i]});
    }
    out.push_back(std::move(c));
  }
  return out;
}

void MetricChart::setLogY(bool on) {
  m_logY = on;
  if (m_logBox->isChecked() != on) m_logBox->setChecked(on);
  redrawNow();
}

void MetricChart::setSmoothing(double w) {
  m_smoothing = std::clamp(w, 0.0, 0.999);
  if (std::abs(m_smoothBox->value() - m_smoothing) > 1e-9) {
    QSignalBlocker block(m_smoothBox);
    m_smoothBox->setValue(m_smoothing);
  }
  redrawNow();
}

std::vector<QPointF> MetricChart::drawnRawPoints(const QString& run) const {
  auto it = m_runs.find(run);
  if (it == m_runs.end() || !it->rawSeries || !it->rawSeries->isVisible()) return {};
  auto pts = it->rawSeries->points();
  return std::vector<QPointF>(pts.begin(), pts.end());
}

void MetricChart::setXAxis(XAxis x) {
  if (x != m_xMode) m_xWindow.reset();  // another quantity: a zoom window means nothing
  m_xMode = x;
  if (m_xBox->currentIndex() != static_cast<int>(x)) {
    QSignalBlocker block(m_xBox);
    m_xBox->setCurrentIndex(static_cast<int>(x));
  }
  redrawNow();
}

void MetricChart::setSamplesPerStep(const QString& run, double samples) {
  runData(run).samplesPerStep = samples;
  scheduleRedraw();
}

void MetricChart::setLogX(bool on) {
  m_logX = on;
  m_xWindow.reset();
  if (m_logXBox->isChecked() != on) {
    QSignalBlocker block(m_logXBox);
    m_logXBox->setChecked(on);
  }
  redrawNow();
}

void MetricChart::setXWindow(double x0, double x1) {
  if (!(x1 > x0)) return;
  m_xWindow = std::make_pair(x0, x1);
  redrawNow();
}

void MetricChart::resetZoom() {
  m_xWindow.reset();
  redrawNow();
}

std::pair<double, double> MetricChart::xRange() const { return m_xRange; }

void MetricChart::panX(double fraction) {
  auto [a, b] = m_xWindow ? *m_xWindow : m_xRange;
  if (m_logX && a > 0 && b > 0) {
    const double la = std::log10(a), lb = std::log10(b), d = fraction * (lb - la);
    setXWindow(std::pow(10.0, la + d), std::pow(10.0, lb + d));
  } else {
    const double d = fraction * (b - a);
    setXWindow(a + d, b + d);
  }
}

void MetricChart::zoomX(double factor, double centre) {
  auto [a, b] = m_xWindow ? *m_xWindow : m_xRange;
  if (!(factor > 0)) return;
  if (m_logX && a > 0 && b > 0 && centre > 0) {
    const double c = std::log10(centre);
    setXWindow(std::pow(10.0, c + (std::log10(a) - c) * factor),
               std::pow(10.0, c + (std::log10(b) - c) * factor));
  } else {
    setXWindow(centre + (a - centre) * factor, centre + (b - centre) * factor);
  }
}

double MetricChart::xOf(const RunData& run, const core::SeriesPoint& p) const {
  switch (m_xMode) {
    case XAxis::WallTime:
      return p.wallS;
    case XAxis::Samples:
      return static_cast<double>(p.step) * (run.samplesPerStep > 0 ? run.samplesPerStep : 1.0);
    case XAxis::Step:
      break;
  }
  return static_cast<double>(p.step);
}

MetricChart::XY MetricChart::pointsOf(const RunData& run, std::size_t* hidden) const {
  XY out;
  auto s = run.acc->series().find(m_key.toStdString());
  if (s == run.acc->series().end()) return out;
  out.raw.reserve(s->second.size());
  for (const auto& p : s->second) {
    const double x = xOf(run, p);
    if (!std::isfinite(p.value) || (m_logY && p.value <= 0) || (m_logX && !(x > 0))) {
      if (hidden) ++*hidden;
      continue;
    }
    out.raw.emplace_back(x, p.value);
  }
  // Wall time is not monotonic across rows logged at the same step: keep x order.
  if (m_xMode == XAxis::WallTime)
    std::stable_sort(out.raw.begin(), out.raw.end(),
                     [](const QPointF& a, const QPointF& b) { return a.x() < b.x(); });
  if (m_smoothing > 0) {
    out.smoothed = out.raw;
    std::vector<double> v(out.raw.size());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = out.raw[i].y();
    v = core::smoothDebiased(v, m_smoothing);
    for (std::size_t i = 0; i < v.size(); ++i) out.smoothed[i].setY(v[i]);
  }
  return out;
}

QString MetricChart::valuesAt(double x) const {
  QStringList parts;
  double shownX = x;
  bool any = false;
  // What the last redraw computed (at most 100 ms old), not a fresh copy per mouse move.
  for (const auto& [run, xy] : m_xy) {
    if (xy.raw.empty()) continue;
    // The logged point nearest to x.
    auto at = std::lower_bound(xy.raw.begin(), xy.raw.end(), x,
                               [](const QPointF& p, double v) { return p.x() < v; });
    std::size_t i = static_cast<std::size_t>(at - xy.raw.begin());
    if (i == xy.raw.size() || (i > 0 && x - xy.raw[i - 1].x() < xy.raw[i].x() - x)) --i;
    if (!any) shownX = xy.raw[i].x();
    any = true;
    QString v = QString::number(xy.curve()[i].y(), 'g', 6);
    if (!xy.smoothed.empty()) v += tr(" (raw %1)").arg(xy.raw[i].y(), 0, 'g', 6);
    parts << QString("%1 %2").arg(QFileInfo(run).fileName(), v);
  }
  if (!any) return {};
  const QString xName = m_xMode == XAxis::WallTime  ? tr("t %1 s")
                        : m_xMode == XAxis::Samples ? tr("samples %1")
                                                    : tr("step %1");
  parts.prepend(xName.arg(shownX, 0, 'g', 10));
  return parts.join(" · ");
}

QString MetricChart::crosshairText() const { return m_cross->text(); }

void MetricChart::setLegendShown(bool on) {
  m_legendShown = on;
  redrawNow();
}

bool MetricChart::legendVisible() const { return m_chart->legend()->isVisible(); }

void MetricChart::updateLegend() {
  // One entry per run: the faint raw curves and the resume lines are not listed.
  QLegend* legend = m_chart->legend();
  for (auto it = m_runs.begin(); it != m_runs.end(); ++it)
    if (it->rawSeries)
      for (QLegendMarker* m : legend->markers(it->rawSeries)) m->setVisible(false);
  for (QLineSeries* b : m_boundaries)
    for (QLegendMarker* m : legend->markers(b)) m->setVisible(false);
}

bool MetricChart::eventFilter(QObject* watched, QEvent* event) {
  if (watched == m_view->viewport() && event->type() == QEvent::MouseMove)
    showCrosshair(static_cast<QMouseEvent*>(event)->position());
  if (watched == m_view->viewport() && event->type() == QEvent::Wheel) {
    auto* wheel = static_cast<QWheelEvent*>(event);
    const int dy = wheel->angleDelta().y(), dx = wheel->angleDelta().x();
    if (wheel->modifiers() & Qt::ShiftModifier || (dy == 0 && dx != 0)) {
      panX(((dx != 0 ? dx : dy) > 0 ? -0.1 : 0.1));
    } else if (dy != 0) {
      QLineSeries* any = nullptr;
      for (const auto& r : m_runs)
        if (r.series) any = r.series;
      if (any) {
        const QPointF at = m_view->mapToScene(wheel->position().toPoint());
        zoomX(dy > 0 ? 0.8 : 1.25, m_chart->mapToValue(at, any).x());
      }
    }
    return true;  // the chart does not scroll
  }
  if (watched == m_view->viewport() && event->type() == QEvent::Leave) {
    if (m_crossLine) m_crossLine->hide();
  }
  return QWidget::eventFilter(watched, event);
}

void MetricChart::showCrosshair(const QPointF& pos) {
  const QPointF scenePos = m_view->mapToScene(pos.toPoint());
  const QRectF plot = m_chart->plotArea();
  if (!plot.contains(scenePos) || m_runs.isEmpty()) {
    if (m_crossLine) m_crossLine->hide();
    return;
  }
  QLineSeries* any = nullptr;
  for (const auto& r : m_runs)
    if (r.series) any = r.series;
  if (!any) return;
  const double x = m_chart->mapToValue(scenePos, any).x();
  m_cross->setText(valuesAt(x));
  if (!m_crossLine) {
    m_crossLine = new QGraphicsLineItem(m_chart);
    QPen pen(QColor(120, 120, 120));
    pen.setStyle(Qt::DotLine);
    m_crossLine->setPen(pen);
    m_crossLine->setZValue(100);
  }
  const QPointF local = m_chart->mapFromScene(scenePos);
  m_crossLine->setLine(local.x(), plot.top(), local.x(), plot.bottom());
  m_crossLine->show();
}

void MetricChart::setRobustY(bool on) {
  m_robustY = on;
  if (m_robustBox->isChecked() != on) {
    QSignalBlocker block(m_robustBox);
    m_robustBox->setChecked(on);
  }
  redrawNow();
}

std::pair<double, double> MetricChart::yRange() const { return m_yRange; }
QString MetricChart::note() const { return m_note->text(); }

std::vector<double> MetricChart::segmentBoundaries() const {
  std::vector<double> out;
  for (auto* b : m_boundaries)
    if (b->count() > 0) out.push_back(b->at(0).x());
  return out;
}

QStringList MetricChart::keys() const { return m_knownKeys; }

void MetricChart::rebuildKeyList() {
  QStringList keys;
  for (const auto& r : m_runs)
    for (const auto& [k, pts] : r.acc->series()) {
      QString q = QString::fromStdString(k);
      if (!keys.contains(q)) keys << q;
    }
  keys.sort();
  m_knownKeys = keys;
  QSignalBlocker block(m_keyBox);
  m_keyBox->clear();
  m_keyBox->addItems(keys);
  if (!keys.contains(m_key)) m_keyBox->addItem(m_key);
  m_keyBox->setCurrentText(m_key);
}

void MetricChart::scheduleRedraw() {
  m_dirty = true;
  if (!m_redraw.isActive()) m_redraw.start();
}

std::vector<QPointF> MetricChart::drawnPoints(const QString& run) const {
  auto it = m_runs.find(run);
  if (it == m_runs.end() || !it->series) return {};
  auto pts = it->series->points();
  return std::vector<QPointF>(pts.begin(), pts.end());
}

std::size_t MetricChart::rawPointCount(const QString& run) const {
  auto it = m_runs.find(run);
  if (it == m_runs.end()) return 0;
  auto s = it->acc->series().find(m_key.toStdString());
  return s == it->acc->series().end() ? 0 : s->second.size();
}

// One redraw's working state: the x and y ranges, what was hidden or clipped, and the
// decimated curve and faint raw curve of each run.
struct MetricChart::Frame {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  std::size_t hidden = 0, clipped = 0;
  std::vector<double> drawnY;                                          // for the robust range
  std::map<QString, std::pair<QList<QPointF>, QList<QPointF>>> fresh;  // curve, raw per run
};

void MetricChart::redrawNow() {
  m_dirty = false;
  // The legend first: showing it while the axes are replaced left the old axes drawn.
  m_chart->legend()->setVisible(m_legendShown && m_runs.size() > 1);
  for (auto* axis : m_chart->axes()) {
    m_chart->removeAxis(axis);
    delete axis;
  }
  Frame f;
  m_xy.clear();
  for (auto it = m_runs.begin(); it != m_runs.end(); ++it) {
    XY xy = pointsOf(it.value(), &f.hidden);
    if (!xy.raw.empty()) {
      f.x0 = std::min(f.x0, xy.raw.front().x());
      f.x1 = std::max(f.x1, xy.raw.back().x());
    }
    m_xy[it.key()] = std::move(xy);
  }
  // A zoom shows its window; otherwise all data.
  if (m_xWindow) std::tie(f.x0, f.x1) = *m_xWindow;
  decimateRuns(f);
  if (!(f.x1 > f.x0)) {
    f.x0 = m_logX ? 1 : 0;
    f.x1 = std::isfinite(f.x1) ? f.x1 + 1 : 10;
  }
  if (!(f.y1 >= f.y0)) {
    f.y0 = m_logY ? 0.1 : 0;
    f.y1 = 1;
  }
  robustYRange(f);
  m_settingAxes = true;
  QAbstractAxis* ax = makeXAxis(f.x0, f.x1);
  QAbstractAxis* ay = makeYAxis(f.y0, f.y1);
  const bool smooth = m_smoothing > 0;
  for (auto it = m_runs.begin(); it != m_runs.end(); ++it) {
    for (auto* series : {it->rawSeries, it->series}) {
      series->clear();  // the old points may not fit the new scale (log after linear)
      series->attachAxis(ax);
      series->attachAxis(ay);
    }
    const auto& [curve, raw] = f.fresh.at(it.key());
    it->series->replace(curve);
    it->rawSeries->replace(raw);
    it->rawSeries->setVisible(smooth);
  }
  drawSegmentBoundaries(ax, ay, f.y0, f.y1);
  m_yRange = {f.y0, f.y1};
  if (auto* lin = qobject_cast<QValueAxis*>(ay)) m_yRange = {lin->min(), lin->max()};
  if (auto* lg = qobject_cast<QLogValueAxis*>(ay)) m_yRange = {lg->min(), lg->max()};
  m_settingAxes = false;
  updateLegend();
  QStringList notes;
  if (f.hidden) notes << tr("%1 non-positive/non-finite hidden").arg(f.hidden);
  if (f.clipped) notes << tr("%1 drawn points outside the robust y range").arg(f.clipped);
  m_note->setText(notes.join(" · "));
}

std::vector<QPointF> MetricChart::decimated(const std::vector<QPointF>& all, double x0,
                                            double x1) const {
  // Decimation in the axis' own scale: equal buckets in log x on a log axis.
  const int buckets = std::max(16, m_view->viewport()->width());
  // The points in the window, plus one neighbour on each side so lines reach the edges.
  auto lo = std::lower_bound(all.begin(), all.end(), x0,
                             [](const QPointF& p, double v) { return p.x() < v; });
  auto hi = std::upper_bound(all.begin(), all.end(), x1,
                             [](double v, const QPointF& p) { return v < p.x(); });
  if (lo != all.begin()) --lo;
  if (hi != all.end()) ++hi;
  std::vector<QPointF> in(lo, hi);
  std::vector<core::XYPoint> xy;
  xy.reserve(in.size());
  for (const auto& p : in) xy.emplace_back(m_logX ? std::log10(p.x()) : p.x(), p.y());
  const auto kept = m_logX
                        ? core::decimateMinMaxIndices(xy, std::log10(x0), std::log10(x1), buckets)
                        : core::decimateMinMaxIndices(xy, x0, x1, buckets);
  // The kept points by index: the originals (exact x also on a log axis).
  std::vector<QPointF> out;
  out.reserve(kept.size());
  for (auto k : kept) out.push_back(in[k]);
  return out;
}

void MetricChart::decimateRuns(Frame& f) {
  const bool smooth = m_smoothing > 0;
  for (auto it = m_runs.begin(); it != m_runs.end(); ++it) {
    // Smoothing ran on the full-resolution values (pointsOf); both curves are decimated.
    const XY& xy = m_xy[it.key()];
    auto pts = decimated(xy.curve(), f.x0, f.x1);
    auto rawPts = smooth ? decimated(xy.raw, f.x0, f.x1) : std::vector<QPointF>{};
    for (const auto* list : {&pts, &rawPts})
      for (const auto& p : *list) {
        if (p.x() < f.x0 || p.x() > f.x1) continue;  // edge neighbours do not set the y range
        f.y0 = std::min(f.y0, p.y());
        f.y1 = std::max(f.y1, p.y());
        f.drawnY.push_back(p.y());
      }
    ensureSeries(it.value(), it.key());
    // Handed to the series once the new axes are attached: until then a series keeps the
    // previous axes' scale, and a log scale warns about points it cannot place (linear
    // after log). The old points are cleared before attaching for the other direction.
    f.fresh[it.key()] = {QList<QPointF>(pts.begin(), pts.end()),
                         QList<QPointF>(rawPts.begin(), rawPts.end())};
  }
}

void MetricChart::ensureSeries(RunData& run, const QString& name) {
  if (!run.rawSeries) {  // added first: drawn behind the main curve
    run.rawSeries = new QLineSeries();
    QColor faint = runColor(run.color);
    faint.setAlpha(70);
    QPen pen(faint);
    pen.setWidthF(1.0);
    run.rawSeries->setPen(pen);
    m_chart->addSeries(run.rawSeries);
  }
  if (!run.series) {
    run.series = new QLineSeries();
    // The legend names the run by its folder, without the timestamp it starts with.
    run.series->setName(QString::fromStdString(render::figureRunLabel(name.toStdString())));
    QPen pen(runColor(run.color));
    pen.setWidthF(2.0);
    run.series->setPen(pen);
    m_chart->addSeries(run.series);
  }
}

void MetricChart::robustYRange(Frame& f) const {
  if (!m_robustY || f.drawnY.size() < 20) return;
  auto& v = f.drawnY;
  std::sort(v.begin(), v.end());
  auto q = [&](double frac) { return v[static_cast<std::size_t>(frac * (v.size() - 1))]; };
  const double lo = q(0.01), hi = q(0.99), pad = 0.1 * (hi - lo);
  const double r0 = m_logY ? lo / 1.5 : lo - pad, r1 = m_logY ? hi * 1.5 : hi + pad;
  for (double y : v) f.clipped += y < r0 || y > r1;
  if (r1 > r0) f.y0 = std::max(f.y0, r0), f.y1 = std::min(f.y1, r1);
}

QAbstractAxis* MetricChart::makeXAxis(double x0, double x1) {
  QAbstractAxis* ax = nullptr;
  const QString xTitle = m_xMode == XAxis::WallTime  ? tr("wall time (s)")
                         : m_xMode == XAxis::Samples ? tr("samples seen")
                                                     : tr("step");
  if (m_logX) {
    auto* log = new QLogValueAxis();
    log->setBase(10);
    log->setRange(x0, x1);
    log->setLabelFormat("%g");
    ax = log;
    m_xRange = {log->min(), log->max()};
    connect(log, &QLogValueAxis::rangeChanged, this, [this](qreal a, qreal b) {
      if (!m_settingAxes) m_xWindow = std::make_pair(a, b), scheduleRedraw();
    });
  } else {
    auto* lin = new QValueAxis();
    lin->setRange(x0, x1);
    lin->setLabelFormat("%g");
    if (!m_xWindow) lin->applyNiceNumbers();  // a zoom window is shown exactly
    ax = lin;
    m_xRange = {lin->min(), lin->max()};
    // A rubber-band zoom (or right-click zoom out) becomes the window of the next redraw.
    connect(lin, &QValueAxis::rangeChanged, this, [this](qreal a, qreal b) {
      if (!m_settingAxes) m_xWindow = std::make_pair(a, b), scheduleRedraw();
    });
  }
  ax->setTitleText(xTitle);
  m_chart->addAxis(ax, Qt::AlignBottom);
  return ax;
}

QAbstractAxis* MetricChart::makeYAxis(double y0, double y1) {
  QAbstractAxis* ay = nullptr;
  if (m_logY) {
    auto* log = new QLogValueAxis();
    log->setBase(10);
    log->setRange(y0 / 1.2, y1 * 1.2);
    log->setLabelFormat("%g");
    ay = log;
  } else {
    auto* lin = new QValueAxis();
    const double pad = y1 > y0 ? 0.05 * (y1 - y0) : std::max(1e-6, 0.05 * std::fabs(y0));
    double lo = y0 - pad, hi = y1 + pad;
    // As many round ticks as fit with a label's height and as much again between them: Qt
    // Charts cuts a label taller than its tick spacing down to "…".
    const double plot = m_chart->plotArea().height() > 0 ? m_chart->plotArea().height()
                                                         : m_view->viewport()->height() - 60.0;
    const int target = std::clamp(static_cast<int>(plot / (2.0 * fontMetrics().height())), 1, 6);
    const auto ticks = core::niceTicks(lo, hi, target);
    lin->setRange(lo, hi);
    lin->setTickCount(static_cast<int>(ticks.size()));
    lin->setLabelFormat("%.4g");
    ay = lin;
  }
  ay->setTitleText(m_key);
  m_chart->addAxis(ay, Qt::AlignLeft);
  return ay;
}

// Resumed runs: a dashed line where each later segment starts.
void MetricChart::drawSegmentBoundaries(QAbstractAxis* ax, QAbstractAxis* ay, double y0,
                                        double y1) {
  for (auto* b : m_boundaries) {
    m_chart->removeSeries(b);
    delete b;
  }
  m_boundaries.clear();
  const std::string key = m_key.toStdString();
  for (auto it = m_runs.begin(); it != m_runs.end(); ++it) {
    const auto s = it->acc->series().find(key);
    if (s == it->acc->series().end()) continue;
    for (std::size_t i = 1; i < s->second.size(); ++i) {
      if (s->second[i].segment == s->second[i - 1].segment) continue;
      const double x = xOf(it.value(), s->second[i]);
      if (m_logX && !(x > 0)) continue;
      auto* line = new QLineSeries();
      QPen pen(runColor(it->color));
      pen.setStyle(Qt::DashLine);
      pen.setWidthF(1.0);
      line->setPen(pen);
      const double lo = m_logY ? std::max(y0, 1e-300) : y0;
      line->append(x, lo);
      line->append(x, y1);
      m_chart->addSeries(line);
      line->attachAxis(ax);
      line->attachAxis(ay);
      m_boundaries.push_back(line);
    }
  }
}

}  // namespace pretext::widgets
