#pragma once
// The colourings a point snapshot offers the 3D view: its stored per-point fields, and two
// derived ones, the distance from the sensor and (when the snapshot has pca_r, pca_g and
// pca_b) the encoder's feature PCA as RGB. Plain functions, any thread.
#include <QString>
#include <QStringList>
#include <vector>

#include "pretext/runs/run_types.h"

namespace pretext::session {

extern const QString kRangeField;  // "range (m)"
extern const QString kPcaField;    // "features PCA (RGB)"

// The stored fields in name order, then the derived ones.
QStringList pointFieldNames(const core::PointSnapshot& snapshot);

// One colouring: scalars per point, or 3 floats per point for kPcaField (then `rgb` is
// true). An unknown field gives no scalars (the view draws the points uncoloured).
struct PointColouring {
  std::vector<float> values;
  bool rgb = false;
};
PointColouring pointColouring(const core::PointSnapshot& snapshot, const QString& field);

}  // namespace pretext::session
