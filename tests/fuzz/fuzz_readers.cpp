// libFuzzer entry point for one reader, chosen at compile time by PRETEXT_FUZZ_TARGET.
// Readers may throw DataError (the expected outcome for bad input); anything else -- a crash,
// a sanitizer report, a leak, another exception type -- is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pretext/data/readers.h"

using namespace pretext::core;

namespace {
void parse(std::string_view in) {
#if PRETEXT_FUZZ_TARGET == 0
  parseFloatRecords("fuzz.bin", in, 4, {"intensity"});
#elif PRETEXT_FUZZ_TARGET == 1
  parseFloatRecords("fuzz.pcd.bin", in, 5, {"intensity", "ring"});
#elif PRETEXT_FUZZ_TARGET == 2
  parsePcd("fuzz.pcd", in);
#elif PRETEXT_FUZZ_TARGET == 3
  parsePly("fuzz.ply", in);
#elif PRETEXT_FUZZ_TARGET == 4
  parseNpyCloud("fuzz.npy", in);
#elif PRETEXT_FUZZ_TARGET == 5
  parseNpz("fuzz.npz", in);
#elif PRETEXT_FUZZ_TARGET == 6
  parseKittiLabels("fuzz_label.txt", in);
#elif PRETEXT_FUZZ_TARGET == 7
  parseKittiCalib("fuzz_calib.txt", in);
#elif PRETEXT_FUZZ_TARGET == 8
  parseKittiPoses("fuzz_poses.txt", in);
  parseOdometryTr("fuzz_calib.txt", in);
#else
#error unknown PRETEXT_FUZZ_TARGET
#endif
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    parse(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const DataError&) {
  }
  return 0;
}
