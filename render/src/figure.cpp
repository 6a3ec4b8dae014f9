// Publication figures drawn with QPainter; see figure.h. The layout is core::drawLinePlot
// (pretext/runs/plot.h), in points (1/72 inch); QtCanvas converts points to device pixels
// with one factor per output, so a PDF, an SVG and a PNG of the same figure have the same
// geometry.
#include "pretext/render/figure.h"

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
#include <map>
#include <stdexcept>

namespace pretext::render {
namespace {

constexpr double kMmPerPt = 25.4 / 72.0;

// core's plot canvas on a QPainter: points times `pxPerPt` are device pixels.
class QtCanvas : public core::PlotCanvas {
 public:
  QtCanvas(QPainter& p, double pxPerPt, bool raster, const QString& fontFamily)
      : m_p(p), m_k(pxPerPt), m_raster(raster), m_family(fontFamily) {
    m_p.setRenderHint(QPainter::Antialiasing);
    m_p.setRenderHint(QPainter::TextAntialiasing);
  }
  double textWidth(const std::string& utf8, const core::PlotFont& font) override {
    return metrics(font).horizontalAdvance(QString::fromStdString(utf8)) / m_k;
  }
  double ascent(const core::PlotFont& font) override { return metrics(font).ascent() / m_k; }
  double lineHeight(const core::PlotFont& font) override { return metrics(font).height() / m_k; }
  double bucketsPerPt() const override { return m_raster ? m_k : 4; }
  void fillRect(const core::PlotRect& r, const std::string& color, double opacity) override {
    QColor c(QString::fromStdString(color));
    c.setAlphaF(static_cast<float>(opacity));
    m_p.fillRect(rect(r), c);
  }
  void strokeRect(const core::PlotRect& r, const std::string& color, double widthPt) override {
    QPen pen = this->pen(color, widthPt);
    pen.setJoinStyle(Qt::MiterJoin);
    m_p.setPen(pen);
    m_p.setBrush(Qt::NoBrush);
    m_p.drawRect(rect(r));
  }
  void line(double x0, double y0, double x1, double y1, const std::string& color,
            double widthPt) override {
    m_p.setPen(pen(color, widthPt));
    m_p.drawLine(QPointF(x0 * m_k, y0 * m_k), QPointF(x1 * m_k, y1 * m_k));
  }
  void polyline(const std::vector<core::XYPoint>& points, const std::string& color,
                double widthPt) override {
    if (points.empty()) return;
    QPainterPath path(QPointF(points[0].first * m_k, points[0].second * m_k));
    for (std::size_t k = 1; k < points.size(); ++k)
      path.lineTo(points[k].first * m_k, points[k].second * m_k);
    QPen pen = this->pen(color, widthPt);
    pen.setCapStyle(Qt::RoundCap);
    pen.setJoinStyle(Qt::RoundJoin);
    m_p.setPen(pen);
    m_p.setBrush(Qt::NoBrush);
    m_p.drawPath(path);
  }
  void dot(double x, double y, double radiusPt, const std::string& color) override {
    m_p.setPen(Qt::NoPen);
    m_p.setBrush(QColor(QString::fromStdString(color)));
    m_p.drawEllipse(QPointF(x * m_k, y * m_k), radiusPt * m_k, radiusPt * m_k);
    m_p.setBrush(Qt::NoBrush);
  }
  void text(double x, double y, const std::string& utf8, const core::PlotFont& font,
            core::PlotAlign align, bool vertical) override {
    const QString t = QString::fromStdString(utf8);
    const QFont& f = fontOf(font);
    const double w = align == core::PlotAlign::Left ? 0 : metrics(font).horizontalAdvance(t);
    const double dx = align == core::PlotAlign::Center ? -w / 2 : -w;
    m_p.setFont(f);
    m_p.setPen(Qt::black);
    if (!vertical) {
      m_p.drawText(QPointF(x * m_k + dx, y * m_k), t);
      return;
    }
    m_p.save();
    m_p.translate(x * m_k, y * m_k);
    m_p.rotate(-90);
    m_p.drawText(QPointF(dx, 0), t);
    m_p.restore();
  }
  void pushClip(const core::PlotRect& r) override {
    m_p.save();
    m_p.setClipRect(rect(r));
  }
  void popClip() override { m_p.restore(); }

 private:
  QRectF rect(const core::PlotRect& r) const {
    return QRectF(r.x * m_k, r.y * m_k, r.w * m_k, r.h * m_k);
  }
  QPen pen(const std::string& color, double widthPt) const {
    QPen pen(QColor(QString::fromStdString(color)), widthPt * m_k);
    pen.setCapStyle(Qt::FlatCap);
    return pen;
  }
  // Fonts at whole device pixel sizes, as the layout measured them.
  const QFont& fontOf(const core::PlotFont& font) {
    const auto key = std::make_pair(font.sizePt, font.bold);
    auto it = m_fonts.find(key);
    if (it == m_fonts.end()) {
      QFont f(m_family);
      f.setPixelSize(std::max(1, static_cast<int>(std::lround(font.sizePt * m_k))));
      f.setBold(font.bold);
      it = m_fonts.emplace(key, std::make_pair(f, QFontMetricsF(f))).first;
    }
    return it->second.first;
  }
  const QFontMetricsF& metrics(const core::PlotFont& font) {
    fontOf(font);
    return m_fonts.at(std::make_pair(font.sizePt, font.bold)).second;
  }

  QPainter& m_p;
  double m_k;
  bool m_raster;
  QString m_family;
  std::map<std::pair<double, bool>, std::pair<QFont, QFontMetricsF>> m_fonts;
};

void drawFigure(QPainter& p, double pxPerPt, bool raster, const std::vector<FigurePanel>& panels,
                const FigureStyle& style, const FigureOptions& o) {
  core::PlotStyle ps;
  ps.widthPt = style.widthMm / kMmPerPt;
  ps.heightPt = style.heightMm / kMmPerPt;
  ps.fontFamily = style.fontFamily.toStdString();
  ps.fontPt = style.fontPt;
  ps.lineWidthPt = style.lineWidthPt;
  core::PlotOptions po;
  po.allPoints = o.allPoints;
  po.panelLetters = o.panelLetters;
  po.legend = o.legend == FigureLegend::Top      ? core::PlotLegend::Top
              : o.legend == FigureLegend::Inside ? core::PlotLegend::Inside
                                                 : core::PlotLegend::None;
  QtCanvas canvas(p, pxPerPt, raster, style.fontFamily);
  core::drawLinePlot(canvas, panels, ps, po);
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

QString figureColor(int index) { return QString::fromStdString(core::plotColor(index)); }

std::string figureRunLabel(const std::string& runDir) {
  QString dir = QString::fromStdString(runDir);
  while (dir.endsWith('/')) dir.chop(1);
  std::string label = QFileInfo(dir).fileName().toStdString();
  if (label.size() > 16 && label[8] == '-' && label[15] == '-') label = label.substr(16);
  return label;
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
    drawFigure(p, 1200.0 / 72.0, false, panels, style, options);
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
    drawFigure(p, dpi / 72.0, false, panels, style, options);
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
      drawFigure(p, dpi / 72.0, true, panels, style, options);
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

}  // namespace pretext::render
