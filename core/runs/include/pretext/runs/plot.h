#pragma once
// Line plots: the one place that decides what a line plot looks like (panels side by side,
// frame, nice ticks, log y, grid, min/max-decimated curves, legend, labels, panel letters).
// It draws through PlotCanvas, so the same layout goes to the study SVGs (SvgPlotCanvas,
// here, Qt-free) and to the figure export (a QPainter canvas in render/figure.cpp: PDF,
// SVG, PNG). The live chart (Qt Charts) shares only the decimation and smoothing
// (series.h). Pure functions and plain classes, any thread.
#include <string>
#include <vector>

#include "pretext/runs/series.h"

namespace pretext::core {

struct PlotSeries {
  std::string label;            // legend text (the run or arm)
  int colorIndex = 0;           // plotColor(colorIndex); series of one colour share a legend entry
  std::vector<XYPoint> points;  // x ascending
};

struct PlotPanel {
  std::string yLabel;  // the metric key (see metricAxisLabel)
  std::string xLabel = "step";
  bool logY = false;  // decades; non-positive values are left out
  std::vector<PlotSeries> series;
};

// Sizes in points (1/72 inch); a canvas maps points to its device.
struct PlotStyle {
  double widthPt = 241, heightPt = 170;  // the whole plot; panels share the width
  std::string fontFamily = "DejaVu Sans";
  double fontPt = 7;
  double lineWidthPt = 1.0;
};

// Where the legend (one entry per colour) goes: a row above the panels, a box in the upper
// right corner of the first panel, a column right of the panels, or nowhere.
enum class PlotLegend { Top, Inside, Right, None };

struct PlotOptions {
  bool allPoints = false;    // false: per-column min/max decimation to the output resolution
  bool panelLetters = true;  // (a), (b), ... when there is more than one panel
  PlotLegend legend = PlotLegend::Top;
  std::string title;  // above everything when not empty
};

// Okabe–Ito colour-blind-safe palette ("#RRGGBB"); index i is the i-th run in every panel.
std::string plotColor(int index);

// The axis label of a metric key: the key with its unit where the key has one, e.g.
// "sink/sink1 (%)", "perf/tokens_per_sec (tokens/s)", "perf/allreduce_ms (ms)",
// "equiv/rot_cls_acc (fraction)"; unit-less keys (losses, errors) stay as they are.
std::string metricAxisLabel(const std::string& key);

// Round tick positions covering [lo, hi], which are widened to the outer ticks: steps of
// 1, 2 or 5 times a power of ten, about `target` intervals. An empty range is padded.
std::vector<double> niceTicks(double& lo, double& hi, int target = 4);

struct PlotRect {
  double x = 0, y = 0, w = 0, h = 0;
  double right() const { return x + w; }
  double bottom() const { return y + h; }
};
struct PlotFont {
  double sizePt = 7;
  bool bold = false;
};
enum class PlotAlign { Left, Center, Right };

// What drawLinePlot draws with. Coordinates in points, origin top left, y down; colours
// "#RRGGBB". Lines have flat ends; polylines round caps and joins.
class PlotCanvas {
 public:
  virtual ~PlotCanvas() = default;
  virtual double textWidth(const std::string& utf8, const PlotFont& font) = 0;
  virtual double ascent(const PlotFont& font) = 0;
  virtual double lineHeight(const PlotFont& font) = 0;
  // Decimation buckets per point of plot width: device pixels for rasters, a fixed 4 for
  // vector output (fine enough for any zoom a reader applies).
  virtual double bucketsPerPt() const = 0;
  virtual void fillRect(const PlotRect& r, const std::string& color, double opacity = 1) = 0;
  virtual void strokeRect(const PlotRect& r, const std::string& color, double widthPt) = 0;
  virtual void line(double x0, double y0, double x1, double y1, const std::string& color,
                    double widthPt) = 0;
  virtual void polyline(const std::vector<XYPoint>& points, const std::string& color,
                        double widthPt) = 0;
  virtual void dot(double x, double y, double radiusPt, const std::string& color) = 0;
  // (x, y) is on the baseline; `align` is along the text. vertical: rotated by 90 degrees
  // counter-clockwise (reads bottom to top).
  virtual void text(double x, double y, const std::string& utf8, const PlotFont& font,
                    PlotAlign align, bool vertical = false) = 0;
  virtual void pushClip(const PlotRect& r) = 0;
  virtual void popClip() = 0;
};

// Draws the panels side by side (one row) over the whole canvas of style.widthPt x
// style.heightPt. Non-finite points are left out.
void drawLinePlot(PlotCanvas& canvas, const std::vector<PlotPanel>& panels, const PlotStyle& style,
                  const PlotOptions& options);

// An SVG document, Qt-free. Text is measured with DejaVu Sans' advance widths (the font it
// asks for); sizes are written as plain user units (1 pt = 1 px).
class SvgPlotCanvas : public PlotCanvas {
 public:
  SvgPlotCanvas(double widthPt, double heightPt, std::string fontFamily = "DejaVu Sans");
  // The complete document (closes open clips).
  std::string finish();

  double textWidth(const std::string& utf8, const PlotFont& font) override;
  double ascent(const PlotFont& font) override;
  double lineHeight(const PlotFont& font) override;
  double bucketsPerPt() const override { return 4; }
  void fillRect(const PlotRect& r, const std::string& color, double opacity = 1) override;
  void strokeRect(const PlotRect& r, const std::string& color, double widthPt) override;
  void line(double x0, double y0, double x1, double y1, const std::string& color,
            double widthPt) override;
  void polyline(const std::vector<XYPoint>& points, const std::string& color,
                double widthPt) override;
  void dot(double x, double y, double radiusPt, const std::string& color) override;
  void text(double x, double y, const std::string& utf8, const PlotFont& font, PlotAlign align,
            bool vertical = false) override;
  void pushClip(const PlotRect& r) override;
  void popClip() override;

 private:
  std::string m_out;
  int m_clips = 0, m_open = 0;
};

// drawLinePlot into an SvgPlotCanvas of the style's size.
std::string linePlotSvg(const std::vector<PlotPanel>& panels, const PlotStyle& style,
                        const PlotOptions& options);

}  // namespace pretext::core
