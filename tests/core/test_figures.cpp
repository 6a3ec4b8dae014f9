// Figure export read back by independent tools: the PDF through poppler (pdfinfo for the
// page size, pdftotext for labels and legend, pdffonts for embedded fonts, pdftoppm to
// render), the SVG through Python's XML parser (size in mm, paths, text, per-run colour in
// every panel, decimation keeping the file small), the PNG's IHDR for the DPI.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pretext/runs/config.h"
#include "pretext/runs/run_dir.h"
#include "test_util.h"

using namespace pretext::core;
namespace fs = std::filesystem;

namespace {
// A finished run with `points` values of loss/total and 50 of equiv/rot_cls_acc.
std::string syntheticRun(const std::string& root, const std::string& name, int points,
                         double offset) {
  std::vector<ConfigIssue> issues;
  auto config = Config::defaults().with({"experiment.name=" + name}, issues);
  REQUIRE(config);
  std::string error;
  auto w = RunDirWriter::create(root, *config, error);
  REQUIRE(w);
  std::vector<MetricRow> rows;
  for (int i = 0; i < points; ++i)
    rows.push_back({1, i, i * 0.01, "loss/total",
                    offset + 2.0 * std::exp(-i / 2e4) + 0.2 * std::sin(i * 0.37)});
  for (int i = 0; i < 50; ++i)
    rows.push_back({1, i * (points / 50), i * 0.01, "equiv/rot_cls_acc", offset * 0.1 + i / 60.0});
  REQUIRE(w->appendMetrics(rows, error));
  return w->dir();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

TEST_CASE("figure export: PDF, SVG and PNG checked by poppler and Python", "[export][figure]") {
  pretext::test::TempDir root;
  const std::string a = syntheticRun(root / "runs", "alpha", 100000, 0.0);
  const std::string b = syntheticRun(root / "runs", "beta", 100000, 0.5);
  const std::string exe = PRETEXT_EXPORT_EXE;
  const std::string both = " " + a + " " + b + " --figure loss/total,equiv/rot_cls_acc";
  auto run = [&](const std::string& args) {
    auto r = pretext::test::runCommand(exe + args);
    INFO(args << "\n" << r.output);
    return r;
  };

  // PDF: 85 x 60 mm (241 x 170 pt), text present, fonts embedded, renderable.
  REQUIRE(run(both + " --out " + (root / "f.pdf")).code == 0);
  auto info = pretext::test::runCommand("pdfinfo " + (root / "f.pdf"));
  REQUIRE(info.code == 0);
  CHECK_THAT(info.output, Catch::Contains("Page size:       241 x 170 pts"));
  auto text = pretext::test::runCommand("pdftotext " + (root / "f.pdf") + " -");
  REQUIRE(text.code == 0);
  for (const char* s : {"loss/total", "equiv/rot_cls_acc", "step", "(a)", "(b)", "alpha", "beta"})
    CHECK_THAT(text.output, Catch::Contains(s));
  auto fonts = pretext::test::runCommand("pdffonts " + (root / "f.pdf"));
  CHECK_THAT(fonts.output, Catch::Contains("DejaVuSans"));
  // Every font embedded: the "emb" column says yes.
  CHECK_THAT(fonts.output, Catch::Contains("Identity-H       yes"));
  CHECK(fonts.output.find("Identity-H       no") == std::string::npos);
  REQUIRE(
      pretext::test::runCommand("pdftoppm -r 40 -png " + (root / "f.pdf") + " " + (root / "page"))
          .code == 0);
  CHECK(fs::exists(root / "page-1.png"));

  // SVG, double column: 175 x 70 mm, paths and text, each run's colour in both panels,
  // 10^5-point curves decimated to a small file; --all-points keeps every point.
  REQUIRE(run(both + " --style double-column --out " + (root / "f.svg")).code == 0);
  REQUIRE(run(both + " --style double-column --all-points --out " + (root / "full.svg")).code == 0);
  const std::string script =
      "import sys, xml.etree.ElementTree as ET\n"
      "t = ET.parse(sys.argv[1]).getroot()\n"
      "ns = '{http://www.w3.org/2000/svg}'\n"
      "w, h = t.get('width'), t.get('height')\n"
      "assert w.endswith('mm') and abs(float(w[:-2]) - 175) < 0.5, w\n"
      "assert h.endswith('mm') and abs(float(h[:-2]) - 70) < 0.5, h\n"
      "paths = [p for p in t.iter(ns + 'path')] + [p for p in t.iter(ns + 'polyline')]\n"
      "texts = ' '.join((x.text or '') for x in t.iter(ns + 'text'))\n"
      "for s in ['loss/total', 'equiv/rot_cls_acc', 'alpha', 'beta', '(a)', '(b)']:\n"
      "    assert s in texts, s\n"
      "def strokes(colour):\n"
      "    return sum(1 for e in t.iter() if (e.get('stroke') or '').lower() == colour)\n"
      "print(len(paths), strokes('#0072b2'), strokes('#d55e00'))\n";
  std::ofstream(root / "svg_check.py") << script;
  auto svg = pretext::test::runCommand("/usr/bin/python3 " + (root / "svg_check.py") + " " +
                                       (root / "f.svg"));
  INFO(svg.output);
  REQUIRE(svg.code == 0);
  int paths = 0, blue = 0, orange = 0;
  std::istringstream(svg.output) >> paths >> blue >> orange;
  CHECK(paths >= 4);
  CHECK(blue >= 3);  // legend + one curve in each of the two panels
  CHECK(orange >= 3);
  const auto small = fs::file_size(root / "f.svg"), full = fs::file_size(root / "full.svg");
  INFO("decimated " << small << " bytes, all points " << full << " bytes");
  CHECK(small < 400000);
  CHECK(full > 5 * small);

  // Axis labels carry units; the legend can move into the first panel or go; labels can be
  // overridden per panel.
  CHECK_THAT(text.output, Catch::Contains("equiv/rot_cls_acc (fraction)"));
  REQUIRE(run(both + " --legend none --ylabel 'Total loss' --xlabel 'training step' --out " +
              (root / "bare.pdf"))
              .code == 0);
  auto bare = pretext::test::runCommand("pdftotext " + (root / "bare.pdf") + " -").output;
  CHECK_THAT(bare, Catch::Contains("Total loss"));
  CHECK_THAT(bare, Catch::Contains("training step"));
  CHECK_THAT(bare, Catch::Contains("equiv/rot_cls_acc (fraction)"));  // the second panel's
  CHECK(bare.find("alpha") == std::string::npos);
  CHECK(bare.find("beta") == std::string::npos);
  REQUIRE(run(both + " --legend inside --out " + (root / "inside.pdf")).code == 0);
  auto inside = pretext::test::runCommand("pdftotext " + (root / "inside.pdf") + " -").output;
  CHECK_THAT(inside, Catch::Contains("alpha"));
  CHECK_THAT(inside, Catch::Contains("beta"));
  auto bad = run(both + " --legend sideways --out " + (root / "x.pdf"));
  CHECK(bad.code == 2);
  CHECK_THAT(bad.output, Catch::Contains("--legend expects top, inside or none"));
  bad = run(both + " --ylabel a --ylabel b --ylabel c --out " + (root / "x.pdf"));
  CHECK(bad.code == 2);
  CHECK_THAT(bad.output, Catch::Contains("3 --ylabel for 2 panel(s)"));
  bad = run(" " + a + " --csv " + (root / "x.csv") + " --legend top");
  CHECK(bad.code == 2);
  CHECK_THAT(bad.output, Catch::Contains("--legend applies to --figure"));
  CHECK_FALSE(fs::exists(root / "x.pdf"));

  // PNG at 200 dpi: 85 mm -> 669 px wide.
  REQUIRE(run(both + " --dpi 200 --out " + (root / "f.png")).code == 0);
  const std::string png = slurp(root / "f.png");
  REQUIRE(png.size() > 24);
  const auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned>(static_cast<unsigned char>(png[at])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(png[at + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(png[at + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(png[at + 3]));
  };
  CHECK(be32(16) == 669u);
  CHECK(be32(20) == 472u);

  // Errors name the problem.
  auto style = run(both + " --style poster --out " + (root / "x.pdf"));
  CHECK(style.code == 2);
  CHECK_THAT(style.output, Catch::Contains("unknown figure style 'poster'"));
  auto key = run(" " + a + " --figure no/such_key --out " + (root / "x.pdf"));
  CHECK(key.code == 1);
  CHECK_THAT(key.output, Catch::Contains("has no metric 'no/such_key'"));
  auto fmt = run(both + " --out " + (root / "x.jpg"));
  CHECK(fmt.code == 1);
  CHECK_THAT(fmt.output, Catch::Contains("unknown figure format 'jpg'"));
  CHECK(run(both).code == 2);  // no --out
  CHECK(!fs::exists(root / "x.pdf"));
}
