#include "pretext/session/point_fields.h"

#include <cmath>

namespace pretext::session {

const QString kRangeField = QStringLiteral("range (m)");
const QString kPcaField = QStringLiteral("features PCA (RGB)");

namespace {
bool hasPca(const core::PointSnapshot& s) {
  return s.fields.count("pca_r") && s.fields.count("pca_g") && s.fields.count("pca_b");
}
}  // namespace

QStringList pointFieldNames(const core::PointSnapshot& snapshot) {
  QStringList names;
  for (const auto& [name, values] : snapshot.fields) names << QString::fromStdString(name);
  names << kRangeField;
  if (hasPca(snapshot)) names << kPcaField;
  return names;
}

PointColouring pointColouring(const core::PointSnapshot& snapshot, const QString& field) {
  PointColouring out;
  const auto& xyz = snapshot.xyz;
  const std::size_t n = snapshot.size();
  if (field == kPcaField && hasPca(snapshot)) {
    out.rgb = true;
    out.values.resize(3 * n);
    const auto &r = snapshot.fields.at("pca_r"), &g = snapshot.fields.at("pca_g"),
               &b = snapshot.fields.at("pca_b");
    for (std::size_t i = 0; i < n; ++i) {
      out.values[3 * i] = r[i];
      out.values[3 * i + 1] = g[i];
      out.values[3 * i + 2] = b[i];
    }
  } else if (field == kRangeField) {
    out.values.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      out.values[i] = std::sqrt(xyz[3 * i] * xyz[3 * i] + xyz[3 * i + 1] * xyz[3 * i + 1] +
                                xyz[3 * i + 2] * xyz[3 * i + 2]);
  } else if (auto it = snapshot.fields.find(field.toStdString()); it != snapshot.fields.end()) {
    out.values = it->second;
  }
  return out;
}

}  // namespace pretext::session
