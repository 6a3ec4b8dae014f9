#pragma once
// What a lidar config describes for the data layer: the augmentation options (augment.*,
// with the bin counts of the classification objectives) and the dataset (data.*). Used by
// the trainer and by the GUI's augmentation preview, so both sample transforms the same
// way. No LibTorch.
#include "pretext/data/augment.h"
#include "pretext/data/datasets.h"
#include "pretext/runs/config.h"

namespace pretext::core {

AugmentOptions lidarAugmentOptions(const Config& c);
DatasetOptions lidarDatasetOptions(const Config& c);

}  // namespace pretext::core
