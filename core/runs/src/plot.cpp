// The line-plot layout (see plot.h) and its SVG canvas. All geometry is in points; the
// canvases map points to their devices, so a study SVG, a PDF, an SVG and a PNG figure of
// the same panels have the same proportions.
#include "pretext/runs/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <utility>

namespace pretext::core {
namespace {

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool valid() const { return lo <= hi; }
};

std::string tickText(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

const char* const kBlack = "#000000";

}  // namespace

std::string plotColor(int index) {
  static const char* okabeIto[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                   "#E69F00", "#56B4E9", "#F0E442", "#000000"};
  return okabeIto[((index % 8) + 8) % 8];
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

std::vector<double> niceTicks(double& lo, double& hi, int target) {
  if (!(hi > lo)) {
    const double pad = std::abs(lo) > 0 ? 0.1 * std::abs(lo) : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
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
  const long n = std::lround((hi - lo) / step);
  for (long k = 0; k <= n; ++k) {
    const double v = lo + static_cast<double>(k) * step;
    t.push_back(std::abs(v) < 1e-12 * step ? 0 : v);
  }
  return t;
}

void drawLinePlot(PlotCanvas& c, const std::vector<PlotPanel>& panels, const PlotStyle& style,
                  const PlotOptions& o) {
  const double W = style.widthPt, H = style.heightPt;
  c.fillRect({0, 0, W, H}, "#ffffff");
  const PlotFont font{style.fontPt, false}, bold{style.fontPt, true},
      titleFont{style.fontPt * 1.2, false};
  const double lineH = c.lineHeight(font), asc = c.ascent(font);
  // Legend: one entry per colour (run), the same colour in every panel.
  std::map<int, std::string> runs;
  for (const auto& panel : panels)
    for (const auto& s : panel.series) runs.emplace(s.colorIndex, s.label);
  auto drawEntry = [&](double x, double y, int color, const std::string& text) {
    c.line(x, y, x + 10, y, plotColor(color), style.lineWidthPt * 1.5);
    c.text(x + 13, y + asc * 0.35, text, font, PlotAlign::Left);
  };
  double legendTextW = 0;
  for (const auto& [color, label] : runs)
    legendTextW = std::max(legendTextW, c.textWidth(label, font));
  // A legend column right of the panels takes its width from them.
  const bool rightLegend = o.legend == PlotLegend::Right && !runs.empty();
  const double panelsW = rightLegend ? W - (13 + legendTextW + 10) : W;
  double y0 = 2;
  if (!o.title.empty()) {
    c.text(panelsW / 2, y0 + c.ascent(titleFont), o.title, titleFont, PlotAlign::Center);
    y0 += c.lineHeight(titleFont) + 2;
  }
  double top = y0;
  if (o.legend == PlotLegend::Top) {
    // Rows above the panels, wrapped to the width.
    double x = 4, legendY = y0 + lineH * 0.5;
    for (const auto& [color, label] : runs) {
      const double entry = 13 + c.textWidth(label, font) + 8;
      if (x > 4 && x + entry > W) {
        x = 4;
        legendY += lineH;
      }
      drawEntry(x, legendY, color, label);
      x += entry;
    }
    top = legendY + lineH * 0.5 + 2;
  } else {
    top = y0 + lineH * 0.5;  // room for the panel letters
  }
  const double panelW = panelsW / static_cast<double>(std::max<std::size_t>(1, panels.size()));
  const double yTickRoom = c.textWidth("-0.000e+00", font) * 0.75;
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const PlotPanel& panel = panels[i];
    const double left = panelW * static_cast<double>(i);
    // The drawable points in axis space (log y drops non-positive values).
    std::vector<std::vector<XYPoint>> curves;
    Range xr, yr;
    for (const auto& s : panel.series) {
      auto& pts = curves.emplace_back();
      for (const auto& [x, y] : s.points) {
        if (!std::isfinite(x) || !std::isfinite(y) || (panel.logY && y <= 0)) continue;
        pts.emplace_back(x, panel.logY ? std::log10(y) : y);
        xr.add(pts.back().first);
        yr.add(pts.back().second);
      }
    }
    if (!xr.valid()) xr = {0, 1};
    if (!yr.valid()) yr = {0, 1};
    double x0 = xr.lo, x1 = xr.hi, y0v = yr.lo, y1v = yr.hi;
    const auto xt = niceTicks(x0, x1);
    std::vector<double> yt;
    std::vector<std::string> ytText;
    if (panel.logY) {
      // Decades; every k-th one when there are more than eight.
      y0v = std::floor(y0v);
      y1v = std::ceil(y1v);
      if (y1v <= y0v) y1v = y0v + 1;
      const double step = std::max(1.0, std::ceil((y1v - y0v) / 8));
      y0v = std::floor(y0v / step) * step;
      y1v = std::ceil(y1v / step) * step;
      for (double v = y0v; v <= y1v + 1e-9; v += step) {
        yt.push_back(v);
        ytText.push_back("1e" + std::to_string(static_cast<int>(std::lround(v))));
      }
    } else {
      yt = niceTicks(y0v, y1v);
      for (double v : yt) ytText.push_back(tickText(v));
    }
    double ytW = 0;
    for (const auto& t : ytText) ytW = std::max(ytW, c.textWidth(t, font));
    // Room left for the y label and the widest tick label, right for half the last x tick
    // label (it is centred on the frame's edge).
    const double plotLeft = left + lineH * 1.4 + std::max(yTickRoom, ytW + 2);
    const double rightPad =
        std::max(6.0, xt.empty() ? 0.0 : c.textWidth(tickText(xt.back()), font) / 2 + 1);
    PlotRect area{plotLeft, top + 4, std::max(1.0, left + panelW - rightPad - plotLeft),
                  std::max(1.0, H - (top + 4) - lineH * 2.6)};
    auto X = [&](double v) { return area.x + (v - x0) / (x1 - x0) * area.w; };
    auto Y = [&](double v) { return area.bottom() - (v - y0v) / (y1v - y0v) * area.h; };
    // Grid, frame, ticks and labels.
    for (double v : yt) c.line(area.x, Y(v), area.right(), Y(v), "#d9d9d9", 0.4);
    c.strokeRect(area, kBlack, 0.6);
    for (double v : xt) {
      c.line(X(v), area.bottom(), X(v), area.bottom() + 2, kBlack, 0.6);
      c.text(X(v), area.bottom() + 2.5 + asc, tickText(v), font, PlotAlign::Center);
    }
    for (std::size_t k = 0; k < yt.size(); ++k) {
      c.line(area.x - 2, Y(yt[k]), area.x, Y(yt[k]), kBlack, 0.6);
      c.text(area.x - 3, Y(yt[k]) + asc * 0.35, ytText[k], font, PlotAlign::Right);
    }
    c.text(area.x + area.w / 2, area.bottom() + 3 + asc + lineH, panel.xLabel, font,
           PlotAlign::Center);
    c.text(left + lineH * 0.9, area.y + area.h / 2, panel.yLabel + (panel.logY ? " (log)" : ""),
           font, PlotAlign::Center, true);
    if (o.panelLetters && panels.size() > 1)
      c.text(left + 1, top + 3 + asc * 0.5,
             std::string("(") + static_cast<char>('a' + static_cast<int>(i % 26)) + ")", bold,
             PlotAlign::Left);
    // Curves, decimated to the output resolution unless every point is wanted; a series of
    // one point is a dot.
    const int columns = std::max(1, static_cast<int>(area.w * c.bucketsPerPt()));
    c.pushClip(area);
    for (std::size_t k = 0; k < curves.size(); ++k) {
      auto& pts = curves[k];
      if (pts.empty()) continue;
      if (!o.allPoints) pts = decimateMinMax(pts, pts.front().first, pts.back().first, columns);
      for (auto& p : pts) p = {X(p.first), Y(p.second)};
      const std::string color = plotColor(panel.series[k].colorIndex);
      if (pts.size() == 1)
        c.dot(pts[0].first, pts[0].second, style.lineWidthPt * 1.5, color);
      else
        c.polyline(pts, color, style.lineWidthPt);
    }
    c.popClip();
    if (i == 0 && o.legend == PlotLegend::Inside && !runs.empty()) {
      // A boxed column in the first panel's upper right corner, over the curves.
      const PlotRect box{area.right() - 3 - (16 + legendTextW), area.y + 3, 16 + legendTextW,
                         lineH * static_cast<double>(runs.size()) + 2};
      c.fillRect(box, "#ffffff", 230.0 / 255.0);
      c.strokeRect(box, "#bdbdbd", 0.4);
      double y = box.y + 1 + lineH * 0.5;
      for (const auto& [color, label] : runs) {
        drawEntry(box.x + 2, y, color, label);
        y += lineH;
      }
    }
  }
  if (rightLegend) {
    double y = top + 4 + lineH * 0.5;
    for (const auto& [color, label] : runs) {
      drawEntry(panelsW + 2, y, color, label);
      y += lineH;
    }
  }
}

// ---- SVG ----

namespace {

// DejaVu Sans advance widths of ASCII 32..126 in 1/1000 em (regular, bold), as Qt measures
// them; its ascent is 0.928 em and its line height 1.164 em.
const short kDejaVuWidths[2][95] = {
    {318,  401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337,
     636,  636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531,
     1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787,
     603,  787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500,
     500,  613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612,
     635,  635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838},
    {348,  456, 521, 838, 696, 1002, 872, 306,  457, 457, 523, 838, 380, 415,  380, 365,
     696,  696, 696, 696, 696, 696,  696, 696,  696, 696, 400, 400, 838, 838,  838, 580,
     1000, 774, 762, 734, 830, 683,  683, 821,  837, 372, 372, 775, 637, 995,  837, 850,
     733,  850, 770, 720, 682, 812,  774, 1103, 771, 724, 725, 457, 365, 457,  838, 500,
     500,  675, 716, 593, 716, 678,  435, 716,  712, 343, 343, 665, 343, 1042, 712, 687,
     716,  716, 493, 595, 478, 712,  652, 924,  645, 652, 582, 712, 365, 712,  838}};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string escapeXml(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '<')
      out += "&lt;";
    else if (ch == '>')
      out += "&gt;";
    else if (ch == '&')
      out += "&amp;";
    else if (ch == '"')
      out += "&quot;";
    else
      out += ch;
  }
  return out;
}

}  // namespace

SvgPlotCanvas::SvgPlotCanvas(double widthPt, double heightPt, std::string fontFamily) {
  m_out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(widthPt) + "\" height=\"" +
          num(heightPt) + "\" viewBox=\"0 0 " + num(widthPt) + " " + num(heightPt) +
          "\" font-family=\"" + escapeXml(fontFamily) + ", sans-serif\">\n";
}

std::string SvgPlotCanvas::finish() {
  while (m_open > 0) popClip();
  return m_out + "</svg>\n";
}

double SvgPlotCanvas::textWidth(const std::string& utf8, const PlotFont& font) {
  double w = 0;
  for (char ch : utf8) {
    const auto u = static_cast<unsigned char>(ch);
    if (u >= 32 && u < 127)
      w += kDejaVuWidths[font.bold][u - 32];
    else if ((u & 0xC0) != 0x80)  // the first byte of any other code point
      w += font.bold ? 678 : 615;
  }
  return w / 1000 * font.sizePt;
}

double SvgPlotCanvas::ascent(const PlotFont& font) { return 0.928 * font.sizePt; }
double SvgPlotCanvas::lineHeight(const PlotFont& font) { return 1.164 * font.sizePt; }

void SvgPlotCanvas::fillRect(const PlotRect& r, const std::string& color, double opacity) {
  m_out += "<rect x=\"" + num(r.x) + "\" y=\"" + num(r.y) + "\" width=\"" + num(r.w) +
           "\" height=\"" + num(r.h) + "\" fill=\"" + color + "\"";
  if (opacity < 1) m_out += " fill-opacity=\"" + num(opacity) + "\"";
  m_out += "/>\n";
}

void SvgPlotCanvas::strokeRect(const PlotRect& r, const std::string& color, double widthPt) {
  m_out += "<rect x=\"" + num(r.x) + "\" y=\"" + num(r.y) + "\" width=\"" + num(r.w) +
           "\" height=\"" + num(r.h) + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"" +
           num(widthPt) + "\"/>\n";
}

void SvgPlotCanvas::line(double x0, double y0, double x1, double y1, const std::string& color,
                         double widthPt) {
  m_out += "<line x1=\"" + num(x0) + "\" y1=\"" + num(y0) + "\" x2=\"" + num(x1) + "\" y2=\"" +
           num(y1) + "\" stroke=\"" + color + "\" stroke-width=\"" + num(widthPt) + "\"/>\n";
}

void SvgPlotCanvas::polyline(const std::vector<XYPoint>& points, const std::string& color,
                             double widthPt) {
  m_out += "<polyline fill=\"none\" stroke=\"" + color + "\" stroke-width=\"" + num(widthPt) +
           "\" stroke-linecap=\"round\" stroke-linejoin=\"round\" points=\"";
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (i) m_out += ' ';
    m_out += num(points[i].first) + "," + num(points[i].second);
  }
  m_out += "\"/>\n";
}

void SvgPlotCanvas::dot(double x, double y, double radiusPt, const std::string& color) {
  m_out += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + num(radiusPt) +
           "\" fill=\"" + color + "\"/>\n";
}

void SvgPlotCanvas::text(double x, double y, const std::string& utf8, const PlotFont& font,
                         PlotAlign align, bool vertical) {
  m_out += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"" + num(font.sizePt) + "\"";
  if (font.bold) m_out += " font-weight=\"bold\"";
  if (align == PlotAlign::Center) m_out += " text-anchor=\"middle\"";
  if (align == PlotAlign::Right) m_out += " text-anchor=\"end\"";
  if (vertical) m_out += " transform=\"rotate(-90 " + num(x) + " " + num(y) + ")\"";
  m_out += ">" + escapeXml(utf8) + "</text>\n";
}

void SvgPlotCanvas::pushClip(const PlotRect& r) {
  const std::string id = "clip" + std::to_string(++m_clips);
  m_out += "<clipPath id=\"" + id + "\"><rect x=\"" + num(r.x) + "\" y=\"" + num(r.y) +
           "\" width=\"" + num(r.w) + "\" height=\"" + num(r.h) +
           "\"/></clipPath>\n<g clip-path=\"url(#" + id + ")\">\n";
  ++m_open;
}

void SvgPlotCanvas::popClip() {
  if (m_open == 0) return;
  m_out += "</g>\n";
  --m_open;
}

std::string linePlotSvg(const std::vector<PlotPanel>& panels, const PlotStyle& style,
                        const PlotOptions& options) {
  SvgPlotCanvas canvas(style.widthPt, style.heightPt, style.fontFamily);
  drawLinePlot(canvas, panels, style, options);
  return canvas.finish();
}

}  // namespace pretext::core
