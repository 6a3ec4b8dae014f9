// Publication figures drawn with QPainter; see figure.h. Everything is laid out in points
// (1/72 inch) and converted to device pixels with one factor per output, so a PDF, an SVG
// and a PNG of the same figure have the same geometry.
#include "pretext/widgets/figure.h"

#include <QFileInfo>
#include <QFont>
#include <QFontMetricsF>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPainterPath>
#include <QPdfWriter>
#include <QSvgGenerator>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

namespace pretext::widgets {
namespace {

constexpr double kMmPerPt = 25.4 / 72.0;

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool valid() const { return lo <= hi; }
};

// Round tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten.
std::vector<double> niceTicks(double& lo, double& hi, int target = 4) {
  if (!(hi > lo)) {
    const double pad = std::abs(lo) > 0 ? 0.1 * std::abs(lo) : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  std::vector<double> t;
  for (double v = lo; v <= hi + 0.5 * step; v += step)
    t.push_back(std::abs(v) < 1e-12 * step ? 0 : v);
  return t;
}

QString tickText(double v) { return QString::number(v, 'g', 4); }

class Painter {
 public:
  Painter(QPainter& p, double pxPerPt, const FigureStyle& s) : m_p(p), m_k(pxPerPt), m_style(s) {
    m_p.setRenderHint(QPainter::Antialiasing);
    m_p.setRenderHint(QPainter::TextAntialiasing);
  }
  double px(double pt) const { return pt * m_k; }
  QFont font(double scale = 1.0, bool bold = false) const {
    QFont f(m_style.fontFamily);
    f.setPixelSize(std::max(1, static_cast<int>(std::lround(px(m_style.fontPt * scale)))));
    f.setBold(bold);
    return f;
  }
  QPainter& p() { return m_p; }

 private:
  QPainter& m_p;
  double m_k;
  const FigureStyle& m_style;
};

void drawFigure(Painter& d, const std::vector<FigurePanel>& panels, const FigureStyle& style,
                const FigureOptions& o, double widthPt, double heightPt, bool raster) {
  QPainter& p = d.p();
  p.fillRect(QRectF(0, 0, d.px(widthPt), d.px(heightPt)), Qt::white);
  const QFont font = d.font();
  const QFontMetricsF fm(font);
  const double lineH = fm.height();
  // Legend: one entry per run, the same colour in every panel.
  std::map<int, std::string> runs;
  for (const auto& panel : panels)
    for (const auto& s : panel.series) runs.emplace(s.colorIndex, s.label);
  p.setFont(font);
  auto drawEntry = [&](double x, double y, int color, const QString& text) {
    p.setPen(QPen(QColor(figureColor(color)), d.px(style.lineWidthPt * 1.5)));
    p.drawLine(QPointF(x, y), QPointF(x + d.px(10), y));
    p.setPen(Qt::black);
    p.drawText(QPointF(x + d.px(13), y + fm.ascent() * 0.35), text);
  };
  double top = d.px(2);
  if (o.legend == FigureLegend::Top) {
    // Rows above the panels, wrapped to the width.
    double x = d.px(4), legendY = d.px(2) + lineH * 0.5;
    for (const auto& [color, label] : runs) {
      const QString text = QString::fromStdString(label);
      const double entry = d.px(13) + fm.horizontalAdvance(text) + d.px(8);
      if (x > d.px(4) && x + entry > d.px(widthPt)) {
        x = d.px(4);
        legendY += lineH;
      }
      drawEntry(x, legendY, color, text);
      x += entry;
    }
    top = legendY + lineH * 0.5 + d.px(2);
  } else {
    top = d.px(2) + lineH * 0.5;  // room for the panel letters
  }
  const double panelW =
      d.px(widthPt) / static_cast<double>(std::max<std::size_t>(1, panels.size()));
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const FigurePanel& panel = panels[i];
    const double left = panelW * static_cast<double>(i);
    const QRectF plot(left + lineH * 1.4 + fm.horizontalAdvance("-0.000e+00") * 0.75, top + d.px(4),
                      0, 0);
    QRectF area(plot.left(), plot.top(), left + panelW - d.px(6) - plot.left(),
                d.px(heightPt) - plot.top() - lineH * 2.6);
    // Data ranges (log y drops non-positive values).
    Range xr, yr;
    for (const auto& s : panel.series)
      for (const auto& [px_, py] : s.points) {
        if (panel.logY && py <= 0) continue;
        xr.add(px_);
        yr.add(panel.logY ? std::log10(py) : py);
      }
    if (!xr.valid()) xr = {0, 1};
    if (!yr.valid()) yr = {0, 1};
    double x0 = xr.lo, x1 = xr.hi, y0 = yr.lo, y1 = yr.hi;
    auto xt = niceTicks(x0, x1);
    std::vector<double> yt;
    if (panel.logY) {
      y0 = std::floor(y0);
      y1 = std::ceil(y1);
      if (y1 <= y0) y1 = y0 + 1;
      for (double v = y0; v <= y1 + 1e-9; v += 1) yt.push_back(v);
    } else {
      yt = niceTicks(y0, y1);
    }
    auto X = [&](double v) { return area.left() + (v - x0) / (x1 - x0) * area.width(); };
    auto Y = [&](double v) { return area.bottom() - (v - y0) / (y1 - y0) * area.height(); };
    // Axes, ticks and grid.
    p.setPen(QPen(QColor("#d9d9d9"), d.px(0.4)));
    for (double v : yt) p.drawLine(QPointF(area.left(), Y(v)), QPointF(area.right(), Y(v)));
    p.setPen(QPen(Qt::black, d.px(0.6)));
    p.drawRect(area);
    for (double v : xt) {
      p.drawLine(QPointF(X(v), area.bottom()), QPointF(X(v), area.bottom() + d.px(2)));
      const QString t = tickText(v);
      p.drawText(
          QPointF(X(v) - fm.horizontalAdvance(t) / 2, area.bottom() + d.px(2.5) + fm.ascent()), t);
    }
    for (double v : yt) {
      p.drawLine(QPointF(area.left() - d.px(2), Y(v)), QPointF(area.left(), Y(v)));
      const QString t = panel.logY ? QString("1e%1").arg(static_cast<int>(v)) : tickText(v);
      p.drawText(
          QPointF(area.left() - d.px(3) - fm.horizontalAdvance(t), Y(v) + fm.ascent() * 0.35), t);
    }
    const QString xl = QString::fromStdString(panel.xLabel);
    p.drawText(QPointF(area.center().x() - fm.horizontalAdvance(xl) / 2,
                       area.bottom() + d.px(3) + fm.ascent() + lineH),
               xl);
    const QString yl = QString::fromStdString(panel.yLabel) + (panel.logY ? " (log)" : "");
    p.save();
    p.translate(left + lineH * 0.9, area.center().y() + fm.horizontalAdvance(yl) / 2);
    p.rotate(-90);
    p.drawText(QPointF(0, 0), yl);
    p.restore();
    if (o.panelLetters && panels.size() > 1) {
      p.setFont(d.font(1.0, true));
      p.drawText(QPointF(left + d.px(1), top + d.px(3) + fm.ascent() * 0.5),
                 QString("(%1)").arg(QChar('a' + static_cast<int>(i))));
      p.setFont(font);
    }
    // Curves, decimated to the output resolution unless every point is wanted.
    const int columns = static_cast<int>(raster ? area.width() : area.width() / d.px(1) * 4);
    p.save();
    p.setClipRect(area);
    for (const auto& s : panel.series) {
      std::vector<std::pair<double, double>> pts;
      for (const auto& [a, b] : s.points)
        if (std::isfinite(b) && (!panel.logY || b > 0))
          pts.push_back({a, panel.logY ? std::log10(b) : b});
      if (!o.allPoints) pts = decimateMinMax(pts, std::max(1, columns));
      if (pts.empty()) continue;
      QPainterPath path(QPointF(X(pts[0].first), Y(pts[0].second)));
      for (std::size_t k = 1; k < pts.size(); ++k) path.lineTo(X(pts[k].first), Y(pts[k].second));
      QPen pen(QColor(figureColor(s.colorIndex)), d.px(style.lineWidthPt));
      pen.setCapStyle(Qt::RoundCap);
      pen.setJoinStyle(Qt::RoundJoin);
      p.setPen(pen);
      p.setBrush(Qt::NoBrush);
      p.drawPath(path);
    }
    p.restore();
    if (i == 0 && o.legend == FigureLegend::Inside && !runs.empty()) {
      // A boxed column in the first panel's upper right corner, over the curves.
      double textW = 0;
      for (const auto& [color, label] : runs)
        textW = std::max(textW, fm.horizontalAdvance(QString::fromStdString(label)));
      const QRectF box(area.right() - d.px(3) - (d.px(16) + textW), area.top() + d.px(3),
                       d.px(16) + textW, lineH * static_cast<double>(runs.size()) + d.px(2));
      p.setPen(QPen(QColor("#bdbdbd"), d.px(0.4)));
      p.setBrush(QColor(255, 255, 255, 230));
      p.drawRect(box);
      p.setBrush(Qt::NoBrush);
      double y = box.top() + d.px(1) + lineH * 0.5;
      for (const auto& [color, label] : runs) {
        drawEntry(box.left() + d.px(2), y, color, QString::fromStdString(label));
        y += lineH;
      }
    }
  }
}

}  // namespace

bool parseFigureLegend(const std::string& name, FigureLegend& out) {
  if (name == "top")
    out = FigureLegend::Top;
  else if (name == "inside")
    out = FigureLegend::Inside;
  else if (name == "none")
    out = FigureLegend::None;
  else
    return false;
  return true;
}

std::string metricAxisLabel(const std::string& key) {
  auto starts = [&](const char* p) { return key.rfind(p, 0) == 0; };
  auto ends = [&](const char* p) {
    const std::string s(p);
    return key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0;
  };
  std::string unit;
  if (starts("sink/sink") || starts("fn/share_"))
    unit = "%";
  else if (ends("_per_sec")) {
    const auto slash = key.find('/');
    unit = key.substr(slash + 1, key.size() - slash - 1 - 8) + "/s";  // tokens/s, points/s
  } else if (ends("_ms"))
    unit = "ms";
  else if (ends("_s") || key == "wall_s")
    unit = "s";
  else if (ends("_acc") || ends("match_top1"))
    unit = "fraction";
  else if (starts("norm/"))
    unit = "L2 norm";
  return unit.empty() ? key : key + " (" + unit + ")";
}

FigureStyle figureStyle(const std::string& name) {
  FigureStyle s;
  s.name = name;
  if (name == "single-column") {
    s.widthMm = 85;
    s.heightMm = 60;
  } else if (name == "double-column") {
    s.widthMm = 175;
    s.heightMm = 70;
  } else if (name == "slide") {
    s.widthMm = 254;
    s.heightMm = 142.875;
    s.fontPt = 14;
    s.lineWidthPt = 2.0;
  } else {
    throw std::invalid_argument("unknown figure style '" + name +
                                "' (single-column, double-column, slide)");
  }
  return s;
}

std::vector<std::string> figureStyleNames() { return {"single-column", "double-column", "slide"}; }

QString figureColor(int index) {
  static const char* okabeIto[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                   "#E69F00", "#56B4E9", "#F0E442", "#000000"};
  return okabeIto[((index % 8) + 8) % 8];
}

std::string figureRunLabel(const std::string& runDir) {
  QString dir = QString::fromStdString(runDir);
  while (dir.endsWith('/')) dir.chop(1);
  std::string label = QFileInfo(dir).fileName().toStdString();
  if (label.size() > 16 && label[8] == '-' && label[15] == '-') label = label.substr(16);
  return label;
}

std::vector<std::pair<double, double>> decimateMinMax(
    const std::vector<std::pair<double, double>>& points, int columns) {
  if (points.size() <= static_cast<std::size_t>(4 * columns)) return points;
  const double x0 = points.front().first, x1 = points.back().first;
  const double width = (x1 - x0) / columns;
  std::vector<std::pair<double, double>> out;
  std::size_t i = 0;
  for (int c = 0; c < columns && i < points.size(); ++c) {
    const double end =
        c + 1 == columns ? std::numeric_limits<double>::infinity() : x0 + (c + 1) * width;
    const std::size_t first = i;
    std::size_t lo = i, hi = i;
    while (i < points.size() && points[i].first < end) {
      if (points[i].second < points[lo].second) lo = i;
      if (points[i].second > points[hi].second) hi = i;
      ++i;
    }
    if (i == first) continue;
    std::vector<std::size_t> keep{first, lo, hi, i - 1};
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
    for (auto k : keep) out.push_back(points[k]);
  }
  return out;
}

bool renderFigure(const std::vector<FigurePanel>& panels, const FigureStyle& style,
                  const FigureOptions& options, const QString& file, QString& error) {
  const QString ext = QFileInfo(file).suffix().toLower();
  const double widthPt = style.widthMm / kMmPerPt, heightPt = style.heightMm / kMmPerPt;
  if (ext == "pdf") {
    QPdfWriter pdf(file);
    pdf.setCreator("Pretext");
    pdf.setPageSize(QPageSize(QSizeF(style.widthMm, style.heightMm), QPageSize::Millimeter));
    pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
    pdf.setResolution(1200);
    QPainter p;
    if (!p.begin(&pdf)) {
      error = file + ": cannot write the PDF";
      return false;
    }
    Painter d(p, 1200.0 / 72.0, style);
    drawFigure(d, panels, style, options, widthPt, heightPt, false);
    p.end();
  } else if (ext == "svg") {
    const double dpi = 720;
    QSvgGenerator svg;
    svg.setFileName(file);
    svg.setTitle("Pretext figure");
    svg.setResolution(static_cast<int>(dpi));
    const QSize size(static_cast<int>(std::lround(widthPt * dpi / 72)),
                     static_cast<int>(std::lround(heightPt * dpi / 72)));
    svg.setSize(size);
    svg.setViewBox(QRect(QPoint(0, 0), size));
    QPainter p;
    if (!p.begin(&svg)) {
      error = file + ": cannot write the SVG";
      return false;
    }
    Painter d(p, dpi / 72.0, style);
    drawFigure(d, panels, style, options, widthPt, heightPt, false);
    p.end();
  } else if (ext == "png") {
    const double dpi = options.dpi;
    QImage img(static_cast<int>(std::lround(widthPt * dpi / 72)),
               static_cast<int>(std::lround(heightPt * dpi / 72)), QImage::Format_ARGB32);
    img.setDotsPerMeterX(static_cast<int>(std::lround(dpi / 0.0254)));
    img.setDotsPerMeterY(static_cast<int>(std::lround(dpi / 0.0254)));
    img.fill(Qt::white);
    {
      QPainter p(&img);
      Painter d(p, dpi / 72.0, style);
      drawFigure(d, panels, style, options, widthPt, heightPt, true);
    }
    if (!img.save(file, "PNG")) {
      error = file + ": cannot write the PNG";
      return false;
    }
  } else {
    error = file + ": unknown figure format '" + ext + "' (use .pdf, .svg or .png)";
    return false;
  }
  if (!QFileInfo::exists(file)) {
    error = file + ": nothing was written";
    return false;
  }
  return true;
}

}  // namespace pretext::widgets
