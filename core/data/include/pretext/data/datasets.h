#pragma once
// Temporal pairs with scene flow and datasets made from folders: KITTI object folders,
// KITTI odometry sequences, folders of point-cloud files, folders of .npz flow pairs, and
// the simulator. Plain C++ (no Qt, no LibTorch); errors are DataError naming the path.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pretext/data/point_cloud.h"
#include "pretext/data/readers.h"
#include "pretext/data/samples.h"

namespace pretext::core {

// Two consecutive scans and the flow of every point of `first`: first.xyz + flow is where
// that surface point is at the time of `second`, in `second`'s coordinate frame.
struct ScenePair {
  PointCloud first, second;
  std::vector<float> flow;  // 3 per point of `first`
  Mat4 egoMotion{};         // maps first-frame coordinates into the second frame
  std::string flowKind;     // "exact" (simulated), "ego-motion" (static world), "stored"
  std::vector<Box3D> boxesFirst, boxesSecond;  // when known
};

// Which .npz keys hold the pair. valid1/valid2 name optional index arrays selecting the
// real rows (the rest is padding). The defaults (tried in order) are documented in
// docs/data.md: ICP-Flow/ZeroFlow AV2 (pc1, pc2, gt_flow_0_1, pc1_flows_valid_idx,
// pc2_flows_valid_idx), FlowNet3D-style (pc1, pc2, flow), PointPWC/FLOT (pos1, pos2, gt).
struct FlowKeyMap {
  std::string p1, p2, flow, valid1, valid2;
};
std::vector<FlowKeyMap> defaultFlowKeyMaps();
// "p1=pc1,p2=pc2,flow=sf[,valid1=..,valid2=..]"; throws DataError("data.flow_keys: ...").
FlowKeyMap parseFlowKeyMap(const std::string& spec);
// Without valid-index arrays, rows with NaN/Inf in p1 or flow (p2) are dropped and counted.
ScenePair readFlowNpz(const std::string& path, const std::vector<FlowKeyMap>& maps);

// A KITTI odometry sequence folder: velodyne/NNNNNN.bin (or the .bin files directly), a poses
// file (poses.txt or *poses*.txt, 12 or 13 columns) and calib.txt with a `Tr:` line; `tr`
// (12 numbers, row-major 3x4) is used when the folder has no calib.txt.
class KittiOdometrySequence {
 public:
  // Every scan must be a regular file of whole 16-byte records (checked here, without reading
  // it); its values are checked when it is read, with `read`.
  explicit KittiOdometrySequence(const std::string& dir, const std::string& tr = "",
                                 const ReadOptions& read = {});
  std::size_t frames() const { return m_files.size(); }
  std::size_t pairs() const { return m_files.size() > 1 ? m_files.size() - 1 : 0; }
  PointCloud frame(std::size_t i) const;
  Mat4 lidarPose(std::size_t i) const;  // LiDAR frame i -> LiDAR frame of pose 0
  // Frames i and i+1; flow = ego motion of a static world (moving objects are not covered).
  ScenePair pair(std::size_t i) const;

 private:
  std::vector<std::string> m_files;
  std::vector<std::size_t> m_poseIndex;
  std::vector<Mat4> m_poses;
  Mat4 m_tr{};
  ReadOptions m_read;
};

// Where scans for training come from.
struct DatasetOptions {
  std::string source = "simulated";  // simulated | files | kitti_object | kitti_odometry | npz_flow
  std::string path;
  std::string flowKeys;         // FlowKeyMap spec, empty = defaults
  std::string odometryTr;       // 12 numbers when the odometry folder has no calib.txt
  double maxAbsCoord = 1000.0;  // data.max_abs_coord: bound for headerless .bin coordinates
  // data.on_bad_file: false = a bad file fails the open; true = it is left out and counted
  // (files, npz_flow, kitti_object; a KITTI odometry sequence cannot lose frames).
  bool skipBadFiles = false;
  // Read every file of `files` and `npz_flow` once when opening (results cached per process
  // by path, size and mtime); false opens without reading (the flow view, one pair at a time).
  bool checkFiles = true;
  std::uint64_t seed = 0;
  int simBeams = 64, simAzimuthSteps = 2048;
  double simMaxRange = 80.0, simRangeNoise = 0.02;
  int simObjects = 40;
};

class ScanDataset {
 public:
  virtual ~ScanDataset() = default;
  // 0 = unbounded (simulated: index is the seed).
  virtual std::size_t size() const = 0;
  virtual PointCloud scan(std::size_t index) const = 0;
  virtual bool hasPairs() const { return false; }
  virtual ScenePair pair(std::size_t index) const;
  virtual std::vector<Box3D> boxes(std::size_t index) const;
  // scan(index) and boxes(index) together; sources that produce both at once (the
  // simulator renders a frame for either) override it to do the work once.
  virtual std::pair<PointCloud, std::vector<Box3D>> labelledScan(std::size_t index) const {
    return {scan(index), boxes(index)};
  }
  virtual std::string describe() const = 0;
  // "" or what the open left out: "skipped 2 of 40 files: first: <path>: <reason>".
  virtual std::string warning() const { return {}; }
};
// Scans the folder once and checks its files (DatasetOptions::checkFiles); throws DataError
// naming the path and what is missing, or the first bad file and why.
std::unique_ptr<ScanDataset> openDataset(const DatasetOptions& options);

// One scene-flow pair for the flow view: `path` is "simulated" (the simulator's pair `index`,
// seed 0), a .npz flow file, a folder of .npz pairs, or a KITTI odometry folder (pair `index`
// modulo the pairs there; flow = ego motion). Throws DataError naming the path.
FlowSample loadFlowPair(const std::string& path, std::size_t index);

}  // namespace pretext::core
