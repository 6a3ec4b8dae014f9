#include "pretext/train/lidar_options.h"

namespace pretext::core {
namespace {
constexpr double kPi = 3.14159265358979323846;
}

AugmentOptions lidarAugmentOptions(const Config& c) {
  AugmentOptions o;
  o.rotation = c.getBool("augment.rotation.enabled");
  o.rotationRange = c.getFloat("augment.rotation.range_deg") * kPi / 180.0;
  o.rotationBins = static_cast<int>(c.getInt("objective.ebc.bins"));
  o.rotationAtBinCentres = true;
  o.translation = c.getBool("augment.translation.enabled");
  o.translationMax = c.getFloat("augment.translation.max_m");
  o.translationBins = static_cast<int>(c.getInt("augment.translation.bins"));
  o.translationAtBinCentres = c.getString("augment.translation.objective") == "classification";
  o.scaling = c.getBool("augment.scale.enabled");
  o.scaleMin = c.getFloat("augment.scale.min");
  o.scaleMax = c.getFloat("augment.scale.max");
  o.scaleBins = static_cast<int>(c.getInt("augment.scale.bins"));
  o.scaleAtBinCentres = c.getString("augment.scale.objective") == "classification";
  const bool flip = c.getBool("augment.flip.enabled");
  o.flipYProb = flip ? c.getFloat("augment.flip.prob") : 0.0;
  o.flipXProb = flip ? c.getFloat("augment.flip.prob_x") : 0.0;
  o.jitter = c.getFloat("augment.jitter_m");
  return o;
}

DatasetOptions lidarDatasetOptions(const Config& c) {
  DatasetOptions d;
  d.source = c.getString("data.source");
  d.path = c.getString("data.path");
  d.flowKeys = c.getString("data.flow_keys");
  d.odometryTr = c.getString("data.odometry_tr");
  d.maxAbsCoord = c.getFloat("data.max_abs_coord");
  d.skipBadFiles = c.getString("data.on_bad_file") == "skip";
  d.seed = static_cast<std::uint64_t>(c.getInt("experiment.seed"));
  d.simBeams = static_cast<int>(c.getInt("data.sim.beams"));
  d.simAzimuthSteps = static_cast<int>(c.getInt("data.sim.azimuth_steps"));
  d.simMaxRange = c.getFloat("data.sim.max_range");
  d.simRangeNoise = c.getFloat("data.sim.range_noise");
  d.simObjects = static_cast<int>(c.getInt("data.sim.objects"));
  return d;
}

}  // namespace pretext::core
