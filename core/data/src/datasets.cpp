// Scene-flow pairs from .npz files and KITTI odometry sequences, and the folder datasets
// behind `data.source`.
#include "pretext/data/datasets.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>

#include "pretext/data/fs_util.h"
#include "pretext/data/readers.h"
#include "pretext/data/street_sim.h"
#include "readers_detail.h"

namespace fs = std::filesystem;

namespace pretext::core {

using namespace io;

namespace {

// Without reading it: `path` is a regular file whose size fits whole `record`-byte records
// and the memory limit. For headerless scans of datasets too large to read at open.
void checkScanFile(const std::string& path, std::uint64_t record) {
  std::uint64_t size = 0;
  std::string error;
  const int fd = openRegularFile(path, size, error);
  if (fd < 0) throw DataError(error);
  ::close(fd);
  if (size == 0) fail(path, "empty file");
  if (size % record != 0)
    fail(path, "size " + std::to_string(size) + " bytes is not a multiple of the " +
                   std::to_string(record) + "-byte record; truncated or a different format");
  requireMemory(path, 2 * size);
}

// Files already read by openDataset in this process, by path, kind of check, size, mtime and
// inode: "" when good, else the error. The trainer opens its dataset twice (validation in
// TrainingJob::prepare, then the experiment), and a folder should be read once.
std::mutex g_checkedMutex;
std::map<std::string, std::string> g_checked;

std::string fileStamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return std::to_string(st.st_mode) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_ino);
}

// Runs `check` on every file (it throws DataError naming the file). A bad file fails the open,
// or with `skip` is removed from `files`; returns the warning for what was skipped.
template <typename Check>
std::string checkFiles(const std::string& path, std::vector<std::string>& files, bool skip,
                       const std::string& tag, Check&& check) {
  std::vector<std::string> good;
  std::string first;
  for (const auto& f : files) {
    const std::string stamp = fileStamp(f);
    const std::string key = tag + '\n' + f + '\n' + stamp;
    std::string error;
    bool known = false;
    if (!stamp.empty()) {
      std::lock_guard<std::mutex> lock(g_checkedMutex);
      auto it = g_checked.find(key);
      if (it != g_checked.end()) error = it->second, known = true;
    }
    if (!known) {
      try {
        check(f);
      } catch (const DataError& e) {
        error = e.what();
      } catch (const std::bad_alloc&) {
        error = f + ": out of memory while reading";
      }
      if (!stamp.empty()) {
        std::lock_guard<std::mutex> lock(g_checkedMutex);
        if (g_checked.size() > 1000000) g_checked.clear();
        g_checked[key] = error;
      }
    }
    if (error.empty()) {
      good.push_back(f);
      continue;
    }
    if (!skip) throw DataError(error);
    if (first.empty()) first = error;
  }
  if (first.empty()) return {};
  if (good.empty())
    fail(path, "all " + std::to_string(files.size()) +
                   " files are bad (data.on_bad_file: skip); first: " + first);
  const std::string warning = "skipped " + std::to_string(files.size() - good.size()) + " of " +
                              std::to_string(files.size()) + " files: first: " + first;
  files = std::move(good);
  return warning;
}

}  // namespace

std::vector<FlowKeyMap> defaultFlowKeyMaps() {
  return {{"pc1", "pc2", "gt_flow_0_1", "pc1_flows_valid_idx", "pc2_flows_valid_idx"},
          {"pc1", "pc2", "flow", "", ""},
          {"pos1", "pos2", "gt", "", ""},
          {"pc1", "pc2", "gt", "", ""}};
}

FlowKeyMap parseFlowKeyMap(const std::string& spec) {
  FlowKeyMap m;
  std::size_t pos = 0;
  while (pos <= spec.size()) {
    std::size_t e = spec.find(',', pos);
    if (e == std::string::npos) e = spec.size();
    const std::string item = spec.substr(pos, e - pos);
    pos = e + 1;
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw DataError("data.flow_keys: expected ROLE=KEY, got " + io::quoted(item));
    const std::string role = item.substr(0, eq), key = item.substr(eq + 1);
    if (role == "p1")
      m.p1 = key;
    else if (role == "p2")
      m.p2 = key;
    else if (role == "flow")
      m.flow = key;
    else if (role == "valid1")
      m.valid1 = key;
    else if (role == "valid2")
      m.valid2 = key;
    else
      throw DataError("data.flow_keys: unknown role " + io::quoted(role) +
                      " (expected p1, p2, flow, valid1, valid2)");
  }
  if (m.p1.empty() || m.p2.empty() || m.flow.empty())
    throw DataError("data.flow_keys: p1, p2 and flow are required, e.g. p1=pc1,p2=pc2,flow=flow");
  return m;
}

namespace {

const NpyArray& member(const std::string& path, const std::map<std::string, NpyArray>& z,
                       const std::string& key, bool points) {
  const NpyArray& a = z.at(key);
  if (points && (a.shape.size() != 2 || a.shape[1] != 3))
    fail(path, "array '" + key + "' should have shape (N, 3)");
  if (!points && a.shape.size() != 1)
    fail(path, "array '" + key + "' should be a vector of indices");
  return a;
}

// Rows of `a` selected by `valid` (or all), checking the indices.
std::vector<std::size_t> rowsOf(const std::string& path, const NpyArray& a, const NpyArray* valid,
                                const std::string& key) {
  std::vector<std::size_t> rows;
  if (!valid) {
    rows.resize(a.shape[0]);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
    return rows;
  }
  rows.reserve(valid->data.size());
  for (double v : valid->data) {
    if (!(v >= 0) || v >= static_cast<double>(a.shape[0]) || v != std::floor(v))
      fail(path, "index array '" + key + "' holds " + std::to_string(v) + ", outside 0.." +
                     std::to_string(a.shape[0] - 1));
    rows.push_back(static_cast<std::size_t>(v));
  }
  return rows;
}

}  // namespace

namespace {

ScenePair readFlowNpzUnguarded(const std::string& path, const std::vector<FlowKeyMap>& maps) {
  const auto z = parseNpz(path, readFileBytes(path));
  const FlowKeyMap* m = nullptr;
  for (const auto& cand : maps) {
    auto has = [&](const std::string& k) { return k.empty() || z.count(k); };
    if (z.count(cand.p1) && z.count(cand.p2) && z.count(cand.flow) && has(cand.valid1) &&
        has(cand.valid2)) {
      m = &cand;
      break;
    }
  }
  if (!m) {
    std::string keys;
    for (const auto& [k, v] : z) keys += (keys.empty() ? "" : ", ") + k;
    fail(path, "no known scene-flow key set (arrays: " + keys +
                   "); set data.flow_keys, e.g. p1=pc1,p2=pc2,flow=flow");
  }
  const NpyArray& a1 = member(path, z, m->p1, true);
  const NpyArray& a2 = member(path, z, m->p2, true);
  const NpyArray& af = member(path, z, m->flow, true);
  if (af.shape[0] != a1.shape[0])
    fail(path, "flow '" + m->flow + "' has " + std::to_string(af.shape[0]) + " rows but '" + m->p1 +
                   "' has " + std::to_string(a1.shape[0]));
  const auto rows1 =
      rowsOf(path, a1, m->valid1.empty() ? nullptr : &member(path, z, m->valid1, false), m->valid1);
  const auto rows2 =
      rowsOf(path, a2, m->valid2.empty() ? nullptr : &member(path, z, m->valid2, false), m->valid2);
  ScenePair p;
  p.flowKind = "stored";
  p.egoMotion = identity4();
  std::size_t dropped1 = 0, dropped2 = 0;
  for (std::size_t r : rows1) {
    const double* x = &a1.data[3 * r];
    const double* f = &af.data[3 * r];
    bool ok = true;
    for (int d = 0; d < 3; ++d) ok = ok && std::isfinite(x[d]) && std::isfinite(f[d]);
    if (!ok) {
      ++dropped1;
      continue;
    }
    for (int d = 0; d < 3; ++d) {
      p.first.xyz.push_back(static_cast<float>(x[d]));
      p.flow.push_back(static_cast<float>(f[d]));
    }
  }
  for (std::size_t r : rows2) {
    const double* x = &a2.data[3 * r];
    if (!std::isfinite(x[0]) || !std::isfinite(x[1]) || !std::isfinite(x[2])) {
      ++dropped2;
      continue;
    }
    for (int d = 0; d < 3; ++d) p.second.xyz.push_back(static_cast<float>(x[d]));
  }
  p.first.droppedNonFinite = dropped1;
  p.second.droppedNonFinite = dropped2;
  // Selected rows that are still non-finite mean the index arrays do not fit the data.
  if (!m->valid1.empty() && dropped1)
    fail(path, std::to_string(dropped1) + " rows selected by '" + m->valid1 + "' are NaN/Inf");
  if (p.first.empty() || p.second.empty()) fail(path, "a frame of the pair has no finite points");
  return p;
}

}  // namespace

ScenePair readFlowNpz(const std::string& path, const std::vector<FlowKeyMap>& maps) {
  return guardMemory(path, [&] { return readFlowNpzUnguarded(path, maps); });
}

// ---- KITTI odometry -------------------------------------------------------------------------

KittiOdometrySequence::KittiOdometrySequence(const std::string& dir, const std::string& tr,
                                             const ReadOptions& read)
    : m_read(read) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(dir, "not a folder (expected a KITTI odometry sequence)");
  const fs::path scans =
      fs::is_directory(fs::path(dir) / "velodyne", ec) ? fs::path(dir) / "velodyne" : fs::path(dir);
  std::vector<std::pair<std::size_t, std::string>> found;
  for (const auto& e : fs::directory_iterator(scans, ec)) {
    const std::string stem = e.path().stem().string();
    std::uint64_t idx;
    if (e.path().extension() == ".bin" && parseU64(stem, idx))
      found.emplace_back(static_cast<std::size_t>(idx), e.path().string());
  }
  std::sort(found.begin(), found.end());
  if (found.empty()) fail(dir, "no NNNNNN.bin scans in " + scans.string());
  // Poses: poses.txt, else the one *poses*.txt / NN.txt-style file with pose rows.
  std::string posesPath;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (e.path().extension() == ".txt" && n.find("poses") != std::string::npos) {
      if (!posesPath.empty() && n != "poses.txt") continue;
      posesPath = e.path().string();
    }
  }
  if (posesPath.empty()) fail(dir, "no poses file (poses.txt or *poses*.txt)");
  m_poses = parseKittiPoses(posesPath, readFileBytes(posesPath));
  const fs::path calib = fs::path(dir) / "calib.txt";
  if (fs::exists(calib, ec)) {
    m_tr = parseOdometryTr(calib.string(), readFileBytes(calib.string()));
  } else if (!tr.empty()) {
    m_tr = parseOdometryTr("data.odometry_tr", "Tr: " + tr);
  } else {
    fail(dir,
         "no calib.txt with a Tr line (Velodyne -> camera 0); add one or set data.odometry_tr");
  }
  for (const auto& [idx, file] : found) {
    checkScanFile(file, 16);
    if (idx >= m_poses.size())
      fail(posesPath, "has " + std::to_string(m_poses.size()) + " poses but scan " + file +
                          " needs pose " + std::to_string(idx));
    m_files.push_back(file);
    m_poseIndex.push_back(idx);
  }
}

PointCloud KittiOdometrySequence::frame(std::size_t i) const {
  return readKittiBin(m_files.at(i), m_read);
}

Mat4 KittiOdometrySequence::lidarPose(std::size_t i) const {
  return multiply(inverseAffine(m_tr), multiply(m_poses[m_poseIndex.at(i)], m_tr));
}

ScenePair KittiOdometrySequence::pair(std::size_t i) const {
  ScenePair p;
  p.first = frame(i);
  p.second = frame(i + 1);
  p.egoMotion = multiply(inverseAffine(lidarPose(i + 1)), lidarPose(i));
  p.flowKind = "ego-motion";
  const std::size_t n = p.first.size();
  p.flow.resize(3 * n);
  transformPoints(p.egoMotion, p.first.xyz.data(), p.flow.data(), n);
  for (std::size_t k = 0; k < 3 * n; ++k) p.flow[k] -= p.first.xyz[k];
  return p;
}

// ---- datasets ------------------------------------------------------------------------------

ScenePair ScanDataset::pair(std::size_t) const {
  throw DataError(describe() + ": this source has no consecutive pairs");
}
std::vector<Box3D> ScanDataset::boxes(std::size_t) const { return {}; }

namespace {

constexpr std::size_t kSimFramesPerSequence = 50;

class SimDataset : public ScanDataset {
 public:
  explicit SimDataset(const DatasetOptions& d) : m_seed(d.seed) {
    m_o.beams = d.simBeams;
    m_o.azimuthSteps = d.simAzimuthSteps;
    m_o.maxRange = d.simMaxRange;
    m_o.rangeNoise = d.simRangeNoise;
    m_o.objects = d.simObjects;
    StreetSequence check(m_o, 0);  // validates the options now
  }
  std::size_t size() const override { return 0; }
  PointCloud scan(std::size_t i) const override { return seq(i).frame(frameOf(i)).cloud; }
  bool hasPairs() const override { return true; }
  ScenePair pair(std::size_t i) const override { return seq(i).pair(frameOf(i)); }
  std::vector<Box3D> boxes(std::size_t i) const override { return seq(i).frame(frameOf(i)).boxes; }
  std::pair<PointCloud, std::vector<Box3D>> labelledScan(std::size_t i) const override {
    SimFrame f = seq(i).frame(frameOf(i));
    return {std::move(f.cloud), std::move(f.boxes)};
  }
  std::string describe() const override { return "simulated street scenes"; }

 private:
  // Index i: sequence i / 50 (a new world), frame i % 50.
  StreetSequence seq(std::size_t i) const {
    return StreetSequence(m_o, mixSeed(m_seed, i / kSimFramesPerSequence));
  }
  static int frameOf(std::size_t i) { return static_cast<int>(i % kSimFramesPerSequence); }
  StreetSimOptions m_o;
  std::uint64_t m_seed;
};

std::vector<std::string> listFiles(const std::string& dir, const std::vector<std::string>& exts) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    // FIFOs, devices and broken links with a scan's name are listed: opening the dataset
    // reports them as bad files instead of leaving them out silently.
    if (e.is_directory(ec)) continue;
    const std::string n = e.path().filename().string();
    for (const auto& x : exts)
      if (n.size() > x.size() && n.compare(n.size() - x.size(), x.size(), x) == 0) {
        out.push_back(e.path().string());
        break;
      }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A file or folder given as data.path: a folder is listed, anything else is one file (a FIFO
// or device then fails as a bad file, with what it is).
std::vector<std::string> filesAt(const std::string& path, const std::vector<std::string>& exts) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (fs::is_directory(st)) return listFiles(path, exts);
  if (fs::exists(st)) return {path};
  fail(path, "no such file or folder");
}

class FilesDataset : public ScanDataset {
 public:
  explicit FilesDataset(const DatasetOptions& d) : m_path(d.path) {
    m_read.maxAbsCoord = d.maxAbsCoord;
    m_files = filesAt(d.path, {".bin", ".pcd", ".ply", ".npy"});
    if (m_files.empty()) fail(d.path, "no point-cloud files (.bin, .pcd.bin, .pcd, .ply, .npy)");
    if (d.checkFiles) {
      char tag[64];
      std::snprintf(tag, sizeof tag, "cloud %.17g", d.maxAbsCoord);
      m_warning = checkFiles(d.path, m_files, d.skipBadFiles, tag,
                             [&](const std::string& f) { readPointCloud(f, m_read); });
    }
  }
  std::size_t size() const override { return m_files.size(); }
  PointCloud scan(std::size_t i) const override {
    return readPointCloud(m_files[i % m_files.size()], m_read);
  }
  std::string describe() const override {
    return m_path + " (" + std::to_string(m_files.size()) + " files)";
  }
  std::string warning() const override { return m_warning; }

 private:
  std::string m_path, m_warning;
  std::vector<std::string> m_files;
  ReadOptions m_read;
};

class KittiObjectDataset : public ScanDataset {
 public:
  explicit KittiObjectDataset(const DatasetOptions& d) : m_path(d.path) {
    const std::string& path = d.path;
    m_read.maxAbsCoord = d.maxAbsCoord;
    std::error_code ec;
    fs::path root(path);
    if (fs::is_directory(root / "training" / "velodyne", ec)) root /= "training";
    if (!fs::is_directory(root / "velodyne", ec))
      fail(path, "not a KITTI object folder (no velodyne/ or training/velodyne/)");
    m_root = root.string();
    m_files = listFiles((root / "velodyne").string(), {".bin"});
    if (m_files.empty()) fail(path, "velodyne/ holds no .bin scans");
    // Thousands of scans: checked by kind and size here, their values when read.
    m_warning = checkFiles(path, m_files, d.skipBadFiles, "kitti size",
                           [](const std::string& f) { checkScanFile(f, 16); });
  }
  std::size_t size() const override { return m_files.size(); }
  PointCloud scan(std::size_t i) const override {
    return readKittiBin(m_files[i % m_files.size()], m_read);
  }
  std::vector<Box3D> boxes(std::size_t i) const override {
    const std::string stem = fs::path(m_files[i % m_files.size()]).stem().string();
    const fs::path label = fs::path(m_root) / "label_2" / (stem + ".txt");
    const fs::path calib = fs::path(m_root) / "calib" / (stem + ".txt");
    std::error_code ec;
    if (!fs::exists(label, ec)) return {};
    if (!fs::exists(calib, ec)) fail(label.string(), "has no matching calib/" + stem + ".txt");
    const KittiCalib c = readKittiCalib(calib.string());
    std::vector<Box3D> out;
    for (const auto& o : readKittiLabels(label.string()))
      if (o.type != "DontCare") out.push_back(kittiBoxInLidar(o, c));
    return out;
  }
  std::string describe() const override {
    return m_path + " (KITTI object, " + std::to_string(m_files.size()) + " scans)";
  }
  std::string warning() const override { return m_warning; }

 private:
  std::string m_path, m_root, m_warning;
  std::vector<std::string> m_files;
  ReadOptions m_read;
};

class OdometryDataset : public ScanDataset {
 public:
  OdometryDataset(const std::string& path, const std::string& tr, const ReadOptions& read)
      : m_path(path), m_seq(path, tr, read) {
    if (m_seq.pairs() == 0) fail(path, "needs at least two consecutive scans");
  }
  std::size_t size() const override { return m_seq.pairs(); }
  PointCloud scan(std::size_t i) const override { return m_seq.frame(i % m_seq.pairs()); }
  bool hasPairs() const override { return true; }
  ScenePair pair(std::size_t i) const override { return m_seq.pair(i % m_seq.pairs()); }
  std::string describe() const override {
    return m_path + " (KITTI odometry, " + std::to_string(m_seq.frames()) + " scans)";
  }

 private:
  std::string m_path;
  KittiOdometrySequence m_seq;
};

class NpzFlowDataset : public ScanDataset {
 public:
  explicit NpzFlowDataset(const DatasetOptions& d) : m_path(d.path) {
    m_maps = d.flowKeys.empty() ? defaultFlowKeyMaps()
                                : std::vector<FlowKeyMap>{parseFlowKeyMap(d.flowKeys)};
    m_files = filesAt(d.path, {".npz"});
    if (m_files.empty()) fail(d.path, "no .npz flow pairs");
    if (d.checkFiles)
      m_warning = checkFiles(d.path, m_files, d.skipBadFiles, "npz " + d.flowKeys,
                             [&](const std::string& f) { readFlowNpz(f, m_maps); });
  }
  std::size_t size() const override { return m_files.size(); }
  PointCloud scan(std::size_t i) const override { return pair(i).first; }
  bool hasPairs() const override { return true; }
  ScenePair pair(std::size_t i) const override {
    return readFlowNpz(m_files[i % m_files.size()], m_maps);
  }
  std::string describe() const override {
    return m_path + " (" + std::to_string(m_files.size()) + " flow pairs)";
  }
  std::string warning() const override { return m_warning; }

 private:
  std::string m_path, m_warning;
  std::vector<std::string> m_files;
  std::vector<FlowKeyMap> m_maps;
};

}  // namespace

std::unique_ptr<ScanDataset> openDataset(const DatasetOptions& d) {
  if (d.source == "simulated") return std::make_unique<SimDataset>(d);
  if (d.path.empty()) throw DataError("data.path: required when data.source is " + d.source);
  ReadOptions read;
  read.maxAbsCoord = d.maxAbsCoord;
  if (d.source == "files") return std::make_unique<FilesDataset>(d);
  if (d.source == "kitti_object") return std::make_unique<KittiObjectDataset>(d);
  if (d.source == "kitti_odometry")
    return std::make_unique<OdometryDataset>(d.path, d.odometryTr, read);
  if (d.source == "npz_flow") return std::make_unique<NpzFlowDataset>(d);
  throw DataError("data.source: unknown source '" + d.source + "'");
}

FlowSample loadFlowPair(const std::string& path, std::size_t index) {
  DatasetOptions d;
  d.path = path;
  d.checkFiles = false;  // one pair is read; its errors name its file
  std::error_code ec;
  if (path == "simulated") {
    d.source = "simulated";
    d.path.clear();
  } else if (fs::is_regular_file(path, ec) || !listFiles(path, {".npz"}).empty()) {
    d.source = "npz_flow";
  } else if (fs::is_directory(path, ec)) {
    d.source = "kitti_odometry";
  } else {
    fail(path, "no such file or folder");
  }
  auto dataset = openDataset(d);
  ScenePair p = dataset->pair(index);
  FlowSample f;
  f.first = std::move(p.first.xyz);
  f.second = std::move(p.second.xyz);
  f.truth = std::move(p.flow);
  f.kind = p.flowKind;
  f.source = dataset->describe();
  for (const auto& b : p.boxesFirst)
    f.boxes.insert(f.boxes.end(),
                   {static_cast<float>(b.cx), static_cast<float>(b.cy), static_cast<float>(b.cz),
                    static_cast<float>(b.length), static_cast<float>(b.width),
                    static_cast<float>(b.height), static_cast<float>(b.yaw)});
  return f;
}

}  // namespace pretext::core
