#pragma once
// Pixel statistics for screenshot assertions.
#include <QColor>
#include <QImage>
#include <QRect>
#include <cstdlib>
#include <set>

namespace pretext::test {

inline bool near(QRgb a, const QColor& b, int tol) {
  return std::abs(qRed(a) - b.red()) <= tol && std::abs(qGreen(a) - b.green()) <= tol &&
         std::abs(qBlue(a) - b.blue()) <= tol;
}

struct RegionStats {
  double fractionNotBackground = 0;
  int distinctColors = 0;
  int matching = 0;  // pixels near the probe colour
  int matchMinX = 1 << 30, matchMaxX = -1;
};

inline RegionStats regionStats(const QImage& img, const QRect& r, const QColor& background,
                               const QColor& probe = QColor(), int tol = 30) {
  RegionStats s;
  std::set<QRgb> colors;
  long total = 0, other = 0;
  const QRect clip = r.intersected(img.rect());
  for (int y = clip.top(); y <= clip.bottom(); ++y)
    for (int x = clip.left(); x <= clip.right(); ++x) {
      QRgb p = img.pixel(x, y);
      ++total;
      if (!near(p, background, 12)) ++other;
      if (colors.size() < 5000) colors.insert(p & 0xFCFCFC);
      if (probe.isValid() && near(p, probe, tol)) {
        ++s.matching;
        s.matchMinX = std::min(s.matchMinX, x);
        s.matchMaxX = std::max(s.matchMaxX, x);
      }
    }
  s.fractionNotBackground = total ? static_cast<double>(other) / total : 0;
  s.distinctColors = static_cast<int>(colors.size());
  return s;
}

}  // namespace pretext::test
