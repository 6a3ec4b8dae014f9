#pragma once
// Private to core (LibTorch): the training plan of a lidar_ssl config (which loss enforces
// which transform family) and the batches it trains on. Batches are built on the prefetch
// worker thread from the step number alone.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "lidar_common.h"
#include "pretext/data/augment.h"
#include "pretext/runs/config.h"

namespace pretext::core::essl {

extern const char* const kFamilies[];
enum Family { kRotation = 0, kTranslation, kScale, kFlip, kFamilyCount };

// What each transform family is enforced by ("off" when the family is disabled):
// - contrastive / invariance families are drawn independently for the two views (the pair
//   feeds PointInfoNCE, resp. the global invariance term);
// - classification families are drawn once per scan and shared by both views in absolute
//   mode (only the classifier sees them), or per view in relative mode (the pair predicts
//   the bin difference, 2K-1 classes; flips: XOR of the 4 flip classes).
struct Plan {
  std::string objective[kFamilyCount];
  bool relative = false;
  bool contrastive = false, classification = false, invariance = false;
  std::string global;  // zoo objective on pooled embeddings, "none" when off
  bool temporal = false;
  int classes[kFamilyCount] = {0, 0, 0, 0};  // 0: no classifier for the family
};
Plan makePlan(const Config& c);

// Class label of a family's parameter in one view, and of a view pair (relative mode).
int familyLabel(int family, const SpatialTransform& t, const AugmentOptions& o);
int relativeLabel(int family, const SpatialTransform& a, const SpatialTransform& b,
                  const AugmentOptions& o);

struct Batch {
  torch::Tensor view1, view2;            // [B, N, 3]
  std::vector<SpatialTransform> t1, t2;  // per scan: view = t(base) (+ jitter)
  torch::Tensor pairs;  // [B, P] indices of matched points (same index in both views)
  // [B] per classified family: the shared transform's class (absolute), or the pair's
  // bin difference (relative). Both views carry the same label either way.
  torch::Tensor labels[kFamilyCount];
  torch::Tensor mixed;  // [B, N, 3] mixbt: points of view1 and of another scan's view2
  double mixAlpha = 1.0;
  torch::Tensor mixPerm;                    // [B]
  torch::Tensor current, previous, warped;  // [B, N, 3] temporal: frame t, t-1, t-1 + flow
};
// Examples [first, first + count) of step `step`'s global batch (count < 0: the whole
// batch of trainer.batch_size). Each example draws from its own generator, seeded by the
// step and its index in the global batch, so a data-parallel rank builds exactly its shard.
Batch makeBatch(const Config& c, const Plan& plan, const LidarScanSource& source, std::int64_t step,
                std::int64_t first = 0, std::int64_t count = -1);

// Benchmark hook: builds the lidar_ssl experiment of `config`, runs `warmup` untimed and
// then `steps` timed training steps on `batches` (cycled), and returns the timed seconds.
double timeTrainingSteps(const Config& config, const std::vector<Batch>& batches, int warmup,
                         int steps);

}  // namespace pretext::core::essl
