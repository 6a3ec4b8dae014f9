// Series as they are drawn (pretext/runs/series.h) and the line-plot layout shared by the
// figure export and the study SVGs (pretext/runs/plot.h): display-free.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "pretext/runs/plot.h"
#include "pretext/runs/series.h"

using namespace pretext::core;

namespace {
int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Records what drawLinePlot draws, measuring text like the SVG canvas.
class Recorder : public SvgPlotCanvas {
 public:
  Recorder(double w, double h) : SvgPlotCanvas(w, h) {}
  struct Text {
    double x, y, w;
    std::string s;
    PlotAlign align;
    bool vertical;
  };
  std::vector<Text> texts;
  std::vector<std::vector<XYPoint>> lines;
  int dots = 0;
  void polyline(const std::vector<XYPoint>& p, const std::string& c, double w) override {
    lines.push_back(p);
    SvgPlotCanvas::polyline(p, c, w);
  }
  void dot(double x, double y, double r, const std::string& c) override {
    ++dots;
    SvgPlotCanvas::dot(x, y, r, c);
  }
  void text(double x, double y, const std::string& s, const PlotFont& f, PlotAlign a,
            bool vertical) override {
    texts.push_back({x, y, textWidth(s, f), s, a, vertical});
    SvgPlotCanvas::text(x, y, s, f, a, vertical);
  }
};
}  // namespace

TEST_CASE("min/max decimation keeps each bucket's first, last and extremes in x order",
          "[series]") {
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0, 1);
  std::vector<XYPoint> pts;
  for (int i = 0; i < 100000; ++i) pts.emplace_back(i * 0.5, std::cos(i * 1e-3) + noise(rng));
  pts[31337].second = 50;  // one-sample spikes survive
  pts[77777].second = -50;
  const int buckets = 300;
  const double x0 = 0, x1 = pts.back().first;
  const auto keep = decimateMinMaxIndices(pts, x0, x1, buckets);
  const auto out = decimateMinMax(pts, x0, x1, buckets);
  REQUIRE(out.size() == keep.size());
  CHECK(out.size() <= static_cast<std::size_t>(4 * buckets));
  CHECK(out.size() >= static_cast<std::size_t>(2 * buckets));
  CHECK(keep.front() == 0);
  CHECK(keep.back() == pts.size() - 1);
  for (std::size_t i = 0; i < out.size(); ++i) {
    REQUIRE(out[i] == pts[keep[i]]);  // a subsequence of the input
    if (i) REQUIRE(out[i].first > out[i - 1].first);
  }
  const double width = (x1 - x0) / buckets;
  auto bucket = [&](double x) { return std::min(buckets - 1, static_cast<int>((x - x0) / width)); };
  std::vector<double> lo(buckets, 1e9), hi(buckets, -1e9), outLo = lo, outHi = hi;
  for (const auto& [x, y] : pts) {
    lo[bucket(x)] = std::min(lo[bucket(x)], y);
    hi[bucket(x)] = std::max(hi[bucket(x)], y);
  }
  for (const auto& [x, y] : out) {
    outLo[bucket(x)] = std::min(outLo[bucket(x)], y);
    outHi[bucket(x)] = std::max(outHi[bucket(x)], y);
  }
  CHECK(outLo == lo);
  CHECK(outHi == hi);
  bool spikes = false;
  for (const auto& p : out) spikes |= p.second == 50 || p.second == -50;
  CHECK(spikes);

  // Nothing to reduce, or nothing to bucket by: the input comes back.
  const std::vector<XYPoint> few(400, {1.0, 2.0});
  CHECK(decimateMinMax(few, 0, 10, 100) == few);
  CHECK(decimateMinMax(pts, 5, 5, buckets) == pts);
  CHECK(decimateMinMax(pts, 0, x1, 0) == pts);
  // Points outside [x0, x1] count to the first and last bucket.
  const auto window = decimateMinMax(pts, 10000, 20000, 10);
  CHECK(window.front() == pts.front());
  CHECK(window.back() == pts.back());
  CHECK(window.size() <= 40);
}

TEST_CASE("min/max decimation on a log x axis: buckets in log x, original points back",
          "[series]") {
  std::vector<XYPoint> pts, logPts;
  for (int i = 1; i <= 100000; ++i) {
    pts.emplace_back(i, std::sin(i * 0.1));
    logPts.emplace_back(std::log10(i), pts.back().second);
  }
  const auto keep = decimateMinMaxIndices(logPts, 0, 5, 50);
  CHECK(keep.size() <= 200);
  // The first decade has as many buckets as the last: its ten points all stay.
  int firstDecade = 0;
  for (auto k : keep) firstDecade += pts[k].first < 10;
  CHECK(firstDecade == 9);
  for (std::size_t i = 1; i < keep.size(); ++i) CHECK(keep[i] > keep[i - 1]);
}

TEST_CASE("debiased smoothing: identity at 0, constants stay, first value kept", "[series]") {
  const std::vector<double> ramp = {1, 2, 3};
  CHECK(smoothDebiased(ramp, 0) == ramp);
  CHECK(smoothDebiased(ramp, -1) == ramp);  // clamped to 0
  for (double w : {0.5, 0.95, 0.999, 5.0}) {
    const auto c = smoothDebiased(std::vector<double>(5000, -3.25), w);
    for (double v : c) REQUIRE(v == Approx(-3.25).margin(1e-9));
  }
  const auto s = smoothDebiased({4, 0, 0}, 0.5);
  CHECK(s[0] == 4);                       // v_1, not (1 - w) v_1
  CHECK(s[1] == Approx(0.5 * 2 / 0.75));  // m_2 = 0.5 m_1 = 1, / (1 - 0.25)
  CHECK(s[2] == Approx(0.25 * 2 / 0.875));
  // w > 0.999 is clamped: the same as 0.999.
  std::vector<double> step(100, 0.0);
  std::fill(step.begin() + 50, step.end(), 1.0);
  CHECK(smoothDebiased(step, 2.0) == smoothDebiased(step, 0.999));
  const auto t = smoothDebiased(step, 0.9);
  for (std::size_t i = 51; i < t.size(); ++i) CHECK(t[i] > t[i - 1]);
  CHECK(t[51] == Approx(0.19).margin(1e-3));
}

TEST_CASE("nice ticks and metric axis labels", "[series][plot]") {
  double lo = 0.013, hi = 0.87;
  auto t = niceTicks(lo, hi);
  CHECK(lo == 0);
  CHECK(hi == Approx(1));
  REQUIRE(t.size() == 3);  // steps of 1, 2 or 5 x 10^k: 0.5 for about four intervals
  CHECK(t[1] == Approx(0.5));
  lo = -3;
  hi = 97;
  t = niceTicks(lo, hi);
  CHECK(t == std::vector<double>{-50, 0, 50, 100});
  lo = hi = 5;  // an empty range is padded
  t = niceTicks(lo, hi);
  CHECK(lo < 5);
  CHECK(hi > 5);
  CHECK(metricAxisLabel("equiv/rot_cls_acc") == "equiv/rot_cls_acc (fraction)");
  CHECK(metricAxisLabel("loss/total") == "loss/total");
  CHECK(plotColor(0) == "#0072B2");
  CHECK(plotColor(9) == plotColor(1));
}

TEST_CASE("line plot: decimated curves, labels inside the canvas, legend, log y, SVG",
          "[series][plot]") {
  PlotPanel a, b;
  a.yLabel = "loss/total";
  b.yLabel = "sink/sink1 (%)";
  b.logY = true;
  for (int r = 0; r < 2; ++r) {
    PlotSeries s;
    s.label = r ? "beta" : "alpha";
    s.colorIndex = r;
    for (int i = 0; i < 100000; ++i) s.points.emplace_back(i, 2 + std::sin(i * 0.37) + r);
    s.points[500].second = std::nan("");  // left out
    a.series.push_back(s);
    s.points.resize(3);
    s.points[0].second = -1;  // not on a log axis
    b.series.push_back(s);
  }
  PlotSeries single;
  single.label = "gamma";
  single.colorIndex = 2;
  single.points = {{5, 0.5}};
  b.series.push_back(single);
  PlotStyle style;  // 241 x 170 pt
  Recorder rec(style.widthPt, style.heightPt);
  drawLinePlot(rec, {a, b}, style, PlotOptions{});
  REQUIRE(rec.lines.size() == 4);  // alpha and beta in both panels; gamma is a dot
  CHECK(rec.dots == 1);
  CHECK(rec.lines[0].size() <= static_cast<std::size_t>(4 * 4 * style.widthPt));
  CHECK(rec.lines[0].size() > 100);
  CHECK(rec.lines[2].size() == 2);  // the non-positive value is left out on log y
  std::string all;
  for (const auto& t : rec.texts) {
    all += t.s + "|";
    // Every label lies within the canvas (the last x tick is centred on the frame's edge).
    const double from = t.align == PlotAlign::Left    ? 0
                        : t.align == PlotAlign::Right ? -t.w
                                                      : -t.w / 2;
    INFO(t.s);
    if (t.vertical) {  // reads bottom to top from (x, y)
      CHECK(t.y - from - t.w >= -0.01);
      CHECK(t.y - from <= style.heightPt + 0.01);
    } else {
      CHECK(t.x + from >= -0.01);
      CHECK(t.x + from + t.w <= style.widthPt + 0.01);
    }
  }
  for (const char* s : {"alpha|", "beta|", "gamma|", "(a)|", "(b)|", "loss/total|",
                        "sink/sink1 (%) (log)|", "step|", "1e0|", "1e+05|"})
    CHECK_THAT(all, Catch::Contains(s));

  PlotOptions everything;
  everything.allPoints = true;
  everything.legend = PlotLegend::Right;
  everything.title = "a <title> & more";
  Recorder full(640, 400);
  drawLinePlot(full, {a}, style, everything);
  REQUIRE(full.lines.size() == 2);
  CHECK(full.lines[0].size() == 99999);  // all but the NaN

  const std::string svg = linePlotSvg({a, b}, style, everything);
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(count(svg, "<polyline") == 4);
  CHECK(count(svg, "<circle") == 1);
  CHECK(count(svg, "<clipPath") == 2);
  CHECK(count(svg, "<g ") == count(svg, "</g>"));
  CHECK(svg.find("a &lt;title&gt; &amp; more") != std::string::npos);
  CHECK(svg.find("stroke=\"#0072B2\"") != std::string::npos);
}
