#pragma once
// Readers and writers for LiDAR point-cloud formats. Every reader throws DataError with a
// message naming the file and the problem; none crashes or returns garbage on malformed
// input. Rows with NaN/Inf x, y or z are dropped and counted (PointCloud::droppedNonFinite);
// a file with no finite point is rejected. The parse* functions work on bytes in memory
// (the fuzz targets call them); `name` is only used in messages. Plain C++; any thread.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "pretext/data/point_cloud.h"

namespace pretext::core {

enum class CloudFormat { Unknown, KittiBin, NuscenesBin, Pcd, Ply, Npy };
const char* formatName(CloudFormat f);
// By extension: .bin (KITTI, 4 floats), .pcd.bin (nuScenes, 5 floats), .pcd, .ply, .npy.
CloudFormat formatFromPath(const std::string& path);

// Every byte of a regular file. Throws DataError naming the file for FIFOs, devices, sockets
// and folders (refused before they are opened for reading), for files whose size exceeds
// readMemoryLimit() (fs_util.h), and when the allocation fails.
std::string readFileBytes(const std::string& path);

// Plausibility bounds for formats without a header (KITTI .bin, nuScenes .pcd.bin), whose
// bytes would otherwise be taken as points whatever they hold.
struct ReadOptions {
  double maxAbsCoord = 1000.0;  // metres; |x|, |y|, |z| above it refuse the file
};

// Raw float32 records: `columns` floats per point, the first three x, y, z; the names of the
// remaining columns given in `extra` (KITTI: {"intensity"}; nuScenes: {"intensity","ring"}).
// Rows with NaN/Inf x, y or z are dropped and counted; a finite coordinate beyond
// options.maxAbsCoord or a NaN/Inf in another column refuses the whole file (random bytes or
// a different format, not a LiDAR scan).
PointCloud parseFloatRecords(const std::string& name, std::string_view bytes, int columns,
                             const std::vector<std::string>& extra,
                             const ReadOptions& options = {});
PointCloud parsePcd(const std::string& name, std::string_view bytes);
PointCloud parsePly(const std::string& name, std::string_view bytes);
// A (N, >=3) numeric .npy: columns 0..2 are x, y, z; further columns become f3, f4, ...
PointCloud parseNpyCloud(const std::string& name, std::string_view bytes);

// File readers: an allocation failure is rethrown as a DataError naming the file.
PointCloud readKittiBin(const std::string& path, const ReadOptions& options = {});
PointCloud readNuscenesBin(const std::string& path, const ReadOptions& options = {});
PointCloud readPcd(const std::string& path);
PointCloud readPly(const std::string& path);
// Dispatch on formatFromPath.
PointCloud readPointCloud(const std::string& path, const ReadOptions& options = {});

// Writers (atomic: temp file + rename). KITTI .bin takes "intensity" (0 if absent).
enum class PcdEncoding { Ascii, Binary, BinaryCompressed };
void writeKittiBin(const std::string& path, const PointCloud& cloud);
void writePcd(const std::string& path, const PointCloud& cloud,
              PcdEncoding encoding = PcdEncoding::Binary);
void writePly(const std::string& path, const PointCloud& cloud, bool binary = true);
void writePointCloud(const std::string& path, const PointCloud& cloud);  // by extension

// LZF (as used by PCD binary_compressed). Throws DataError on corrupt input.
std::string lzfDecompress(std::string_view in, std::size_t expectedSize, const std::string& name);
std::string lzfCompress(std::string_view in);

// ---- NumPy ------------------------------------------------------------------------------

// Any numeric .npy array, converted to double (dtypes f2/f4/f8, i1..i8, u1..u8, b1; either
// byte order; C order only).
struct NpyArray {
  std::string dtype;  // as in the header, e.g. "<f4"
  std::vector<std::size_t> shape;
  std::vector<double> data;
  std::size_t rows() const { return shape.empty() ? 1 : shape[0]; }
  std::size_t cols() const;  // product of the trailing dimensions (1 for a vector)
};
NpyArray parseNpy(const std::string& name, std::string_view bytes);
// Every member of an .npz (stored or deflated; zip64 ok), by key without ".npy". Each
// member's .npy header is read before the member is inflated, and the memory of the whole
// archive (its bytes, the member being inflated, the arrays as double) is checked against
// readMemoryLimit() first: a zip bomb is refused, not unpacked.
std::map<std::string, NpyArray> parseNpz(const std::string& name, std::string_view bytes);

// float32 arrays to .npy bytes and to an uncompressed .npz (np.load reads both).
struct NpyFloat32 {
  std::string key;
  std::vector<float> data;
  std::vector<std::size_t> shape;
};
// Throws DataError naming `name` when the shape does not match the data size.
std::string npyBytes(const std::string& name, const std::vector<float>& data,
                     const std::vector<std::size_t>& shape);
void writeNpz(const std::string& path, const std::vector<NpyFloat32>& arrays);
// One float32 array to `path` (.npy), and any .npy file back (throws DataError naming it).
void writeNpy(const std::string& path, const std::vector<float>& data,
              const std::vector<std::size_t>& shape);
NpyArray readNpy(const std::string& path);

// ---- KITTI object: labels and calibration ------------------------------------------------

struct KittiCalib {
  double P2[12] = {};
  double R0[9] = {};
  double TrVeloToCam[12] = {};
  Mat4 veloToRectCam() const;  // R0_rect * Tr_velo_to_cam
};
KittiCalib parseKittiCalib(const std::string& name, std::string_view text);
KittiCalib readKittiCalib(const std::string& path);

struct KittiObject {
  std::string type;  // Car, Pedestrian, Cyclist, DontCare, ...
  double truncated = 0, alpha = 0;
  int occluded = 0;
  double bbox[4] = {};
  double h = 0, w = 0, l = 0;  // metres
  double x = 0, y = 0, z = 0;  // bottom centre in the rectified camera frame
  double ry = 0;               // yaw about the camera y axis
};
std::vector<KittiObject> parseKittiLabels(const std::string& name, std::string_view text);
std::vector<KittiObject> readKittiLabels(const std::string& path);
// The object's box in the LiDAR frame (centre at half height, yaw about z).
Box3D kittiBoxInLidar(const KittiObject& o, const KittiCalib& calib);

// ---- KITTI odometry -----------------------------------------------------------------------

// Poses file: one row per frame of 12 (KITTI) or 13 (timestamp first) numbers, the row-major
// 3x4 pose of camera-0 frame i in camera-0 frame 0.
std::vector<Mat4> parseKittiPoses(const std::string& name, std::string_view text);
// The `Tr:` line of an odometry calib.txt (Velodyne -> camera 0).
Mat4 parseOdometryTr(const std::string& name, std::string_view text);

}  // namespace pretext::core
