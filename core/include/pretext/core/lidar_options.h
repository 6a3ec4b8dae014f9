#pragma once
// The augmentation options a lidar_ssl config describes (augment.*, with the bin counts of
// the classification objectives). Used by the trainer and by the GUI's augmentation
// preview, so both sample transforms the same way. No LibTorch.
#include "pretext/core/augment.h"
#include "pretext/core/config.h"

namespace pretext::core {

AugmentOptions lidarAugmentOptions(const Config& c);

}  // namespace pretext::core
