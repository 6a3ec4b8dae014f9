#pragma once
// Publication figures: one or more line-plot panels drawn with QPainter into a PDF (vector,
// fonts embedded), an SVG (vector, size in mm) or a PNG (at a chosen DPI). The layout is
// core's line plot (pretext/runs/plot.h, shared with the study SVGs); this file is its
// QPainter canvas. Needs a QGuiApplication (the offscreen platform works); no widgets, no
// VTK. Any thread that may use QPainter on paint devices (the GUI thread or a worker: no
// QWidget is involved).
#include <QString>
#include <string>
#include <utility>
#include <vector>

#include "pretext/runs/plot.h"

namespace pretext::render {

struct FigureStyle {
  std::string name;
  double widthMm = 85, heightMm = 60;  // the whole figure; panels share the width
  QString fontFamily = "DejaVu Sans";
  double fontPt = 7;
  double lineWidthPt = 1.0;
};
// single-column (85 mm), double-column (175 mm), slide (16:9, 254 x 142.9 mm). Throws
// std::invalid_argument naming the known styles for anything else.
FigureStyle figureStyle(const std::string& name);
std::vector<std::string> figureStyleNames();

// Okabe–Ito colour-blind-safe palette; colour i of a figure is the i-th run in every panel.
QString figureColor(int index);

// A curve (label = the run, colorIndex, points with x ascending) and a panel (yLabel,
// xLabel = "step", logY, series): core's plot types.
using FigureSeries = core::PlotSeries;
using FigurePanel = core::PlotPanel;

// Where the legend (one entry per run) goes: a row above the panels, a box in the upper
// right corner of the first panel, or nowhere.
enum class FigureLegend { Top, Inside, None };
bool parseFigureLegend(const std::string& name, FigureLegend& out);  // top|inside|none

struct FigureOptions {
  double dpi = 300;          // PNG only
  bool allPoints = false;    // false: per-column min/max decimation to the output resolution
  bool panelLetters = true;  // (a), (b), ... when there is more than one panel
  FigureLegend legend = FigureLegend::Top;
};

// The axis label of a metric key with its unit, e.g. "sink/sink1 (%)" (core, plot.h).
using core::metricAxisLabel;

// The legend text of a run directory: run folders are named YYYYMMDD-HHMMSS-<name>-<tag>
// and the legend shows <name>-<tag>; other folder names are kept whole.
std::string figureRunLabel(const std::string& runDir);

// Renders the panels side by side (one row) into `file`; the format comes from the
// extension (.pdf, .svg, .png). Returns false with `error` naming the file on failure.
bool renderFigure(const std::vector<FigurePanel>& panels, const FigureStyle& style,
                  const FigureOptions& options, const QString& file, QString& error);

}  // namespace pretext::render
