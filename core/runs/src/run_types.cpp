#include "pretext/runs/run_types.h"

#include <iterator>

namespace pretext::core {

namespace {
// Indexed by RunPhase, in its order.
constexpr const char* kPhaseNames[] = {"created",  "running", "paused",
                                       "finished", "stopped", "failed"};
static_assert(std::size(kPhaseNames) == static_cast<std::size_t>(RunPhase::Failed) + 1);
}  // namespace

std::string toString(RunPhase p) {
  const auto i = static_cast<std::size_t>(p);
  return i < std::size(kPhaseNames) ? kPhaseNames[i] : "unknown";
}

std::optional<RunPhase> phaseFromString(const std::string& s) {
  for (RunPhase p : {RunPhase::Created, RunPhase::Running, RunPhase::Paused, RunPhase::Finished,
                     RunPhase::Stopped, RunPhase::Failed})
    if (toString(p) == s) return p;
  return std::nullopt;
}

bool isTerminal(RunPhase p) {
  return p == RunPhase::Finished || p == RunPhase::Stopped || p == RunPhase::Failed;
}

}  // namespace pretext::core
