// pretext-data: inspect, convert, simulate and augment LiDAR data from the command line.
// Links pretext_data only (no LibTorch, no Qt): starts instantly, runs anywhere.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pretext/cli/args.h"
#include "pretext/data/augment.h"
#include "pretext/data/datasets.h"
#include "pretext/data/fs_util.h"
#include "pretext/data/readers.h"
#include "pretext/data/street_sim.h"

using namespace pretext::core;
namespace cli = pretext::cli;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kUsage =
    "usage: pretext-data COMMAND [arguments]\n"
    "\n"
    "commands:\n"
    "  info FILE [--json] [--max-abs-coord M]\n"
    "                               format, point count, fields with min/max, bounds; for an\n"
    "                               .npz its arrays and, when it holds a flow pair, the pair\n"
    "  convert IN OUT [--pcd-encoding ascii|binary|binary_compressed] [--ply-ascii]\n"
    "          [--max-abs-coord M]\n"
    "                               between .bin (KITTI), .pcd.bin (nuScenes, read only),\n"
    "                               .pcd, .ply and .npy (read only); format from the extension\n"
    "  simulate --out DIR [--frames N] [--seed S] [--beams B] [--azimuth-steps A]\n"
    "           [--objects K] [--format bin|pcd|ply] [--force]\n"
    "                               simulated street scans as a KITTI-odometry-style folder:\n"
    "                               velodyne/NNNNNN.<format>, poses.txt, calib.txt, boxes/\n"
    "                               NNNNNN.txt and flow/NNNNNN.npz (exact flow to frame N+1)\n"
    "  augment FILE --out FILE [--set KEY=VALUE]... [--seed S]\n"
    "                               apply one spatial transform and print it as JSON; keys:\n"
    "                               angle_deg, scale, flip_x, flip_y, tx, ty, tz; --seed draws\n"
    "                               one from the default ranges (methods.md §1.3) instead\n"
    "  --version, -h/--help\n"
    "\n"
    "--max-abs-coord M: a headerless scan (.bin, .pcd.bin) with a coordinate beyond M metres\n"
    "is refused as not LiDAR data (default 1000, as data.max_abs_coord). A file that needs\n"
    "more memory to read than PRETEXT_READ_LIMIT_GIB (default: 2, at most a quarter of the\n"
    "RAM) is refused before it is read.\n"
    "\n"
    "exit codes: 0 success, 1 bad or unreadable data (one-line message), 2 bad arguments\n";

using cli::UsageError;

// Options of the commands start with "--"; anything else (also "-") is a positional.
bool isOption(const cli::ArgReader& a) { return a.arg().rfind("--", 0) == 0; }

// --max-abs-coord M (default: ReadOptions, 1000 m like data.max_abs_coord).
double maxAbsCoord(cli::ArgReader& a) {
  const double m = a.numberValue();
  if (!(m > 0)) throw UsageError("--max-abs-coord expects a positive number of metres");
  return m;
}

json cloudInfo(const std::string& path, const PointCloud& c) {
  json j;
  j["file"] = path;
  j["format"] = formatName(formatFromPath(path));
  j["points"] = c.size();
  j["dropped_non_finite"] = c.droppedNonFinite;
  auto stats = [&](const std::string& name, auto get) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
      const double v = get(i);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
    }
    return json{
        {"name", name}, {"min", lo}, {"max", hi}, {"mean", c.size() ? sum / c.size() : 0.0}};
  };
  json fields = json::array();
  for (int d = 0; d < 3; ++d)
    fields.push_back(
        stats(std::string(1, "xyz"[d]), [&](std::size_t i) { return c.xyz[3 * i + d]; }));
  for (std::size_t f = 0; f < c.fields.size(); ++f)
    fields.push_back(stats(c.fieldNames[f], [&](std::size_t i) { return c.fields[f][i]; }));
  j["fields"] = fields;
  double rmax = 0;
  for (std::size_t i = 0; i < c.size(); ++i)
    rmax = std::max(rmax, std::hypot(double(c.xyz[3 * i]), double(c.xyz[3 * i + 1])));
  j["max_horizontal_range"] = rmax;
  return j;
}

json npzInfo(const std::string& path) {
  json j;
  j["file"] = path;
  j["format"] = "npz";
  json arrays = json::object();
  for (const auto& [k, a] : parseNpz(path, readFileBytes(path)))
    arrays[k] = {{"dtype", a.dtype}, {"shape", a.shape}};
  j["arrays"] = arrays;
  try {
    const ScenePair p = readFlowNpz(path, defaultFlowKeyMaps());
    double maxFlow = 0, sum = 0;
    for (std::size_t i = 0; i < p.first.size(); ++i) {
      const double m = std::sqrt(std::pow(p.flow[3 * i], 2) + std::pow(p.flow[3 * i + 1], 2) +
                                 std::pow(p.flow[3 * i + 2], 2));
      maxFlow = std::max(maxFlow, m);
      sum += m;
    }
    j["flow_pair"] = {{"points_first", p.first.size()},
                      {"points_second", p.second.size()},
                      {"dropped_non_finite", p.first.droppedNonFinite},
                      {"flow_mean_m", p.first.size() ? sum / p.first.size() : 0.0},
                      {"flow_max_m", maxFlow}};
  } catch (const DataError& e) {
    j["flow_pair"] = nullptr;
    j["flow_pair_note"] = e.what();
  }
  return j;
}

void printInfo(const json& j) {
  std::printf("%s: %s", j["file"].get<std::string>().c_str(),
              j["format"].get<std::string>().c_str());
  if (j.contains("points")) {
    std::printf(", %zu points", j["points"].get<std::size_t>());
    if (j["dropped_non_finite"].get<std::size_t>())
      std::printf(" (%zu rows with NaN/Inf dropped)", j["dropped_non_finite"].get<std::size_t>());
    std::printf(", max horizontal range %.2f m\n", j["max_horizontal_range"].get<double>());
    for (const auto& f : j["fields"])
      std::printf("  %-12s min %12.4f  max %12.4f  mean %12.4f\n",
                  f["name"].get<std::string>().c_str(), f["min"].get<double>(),
                  f["max"].get<double>(), f["mean"].get<double>());
    return;
  }
  std::printf("\n");
  for (const auto& [k, a] : j["arrays"].items()) {
    std::string shape;
    for (const auto& d : a["shape"])
      shape += (shape.empty() ? "" : ", ") + std::to_string(d.get<std::size_t>());
    std::printf("  %-24s %s (%s)\n", k.c_str(), a["dtype"].get<std::string>().c_str(),
                shape.c_str());
  }
  if (!j["flow_pair"].is_null())
    std::printf("  flow pair: %zu -> %zu points, mean |flow| %.3f m, max %.3f m\n",
                j["flow_pair"]["points_first"].get<std::size_t>(),
                j["flow_pair"]["points_second"].get<std::size_t>(),
                j["flow_pair"]["flow_mean_m"].get<double>(),
                j["flow_pair"]["flow_max_m"].get<double>());
}

int cmdInfo(cli::ArgReader& a) {
  std::vector<std::string> files;
  bool asJson = false;
  ReadOptions ro;
  while (a.next()) {
    if (a.is("--json"))
      asJson = true;
    else if (a.is("--max-abs-coord"))
      ro.maxAbsCoord = maxAbsCoord(a);
    else if (isOption(a))
      throw a.unknownOption();
    else
      files.push_back(a.arg());
  }
  if (files.size() != 1) throw UsageError("info takes one FILE");
  const std::string& path = files[0];
  const bool isNpz = path.size() > 4 && path.compare(path.size() - 4, 4, ".npz") == 0;
  const json j = isNpz ? npzInfo(path) : cloudInfo(path, readPointCloud(path, ro));
  if (asJson)
    std::cout << j.dump(2) << "\n";
  else
    printInfo(j);
  return 0;
}

int cmdConvert(cli::ArgReader& a) {
  std::vector<std::string> files;
  const std::vector<std::string> encodings = {"ascii", "binary", "binary_compressed"};
  std::size_t enc = 1;
  bool plyAscii = false;
  ReadOptions ro;
  while (a.next()) {
    if (a.is("--pcd-encoding"))
      enc = a.choiceValue(encodings);
    else if (a.is("--ply-ascii"))
      plyAscii = true;
    else if (a.is("--max-abs-coord"))
      ro.maxAbsCoord = maxAbsCoord(a);
    else if (isOption(a))
      throw a.unknownOption();
    else
      files.push_back(a.arg());
  }
  if (files.size() != 2) throw UsageError("convert takes IN and OUT");
  const std::string &in = files[0], &out = files[1];
  const CloudFormat outFormat = formatFromPath(out);
  if (outFormat != CloudFormat::KittiBin && outFormat != CloudFormat::Pcd &&
      outFormat != CloudFormat::Ply)
    throw UsageError(out + ": cannot write this format (expected .bin, .pcd or .ply)");
  const PointCloud c = readPointCloud(in, ro);
  if (outFormat == CloudFormat::Pcd)
    writePcd(out, c,
             enc == 0   ? PcdEncoding::Ascii
             : enc == 1 ? PcdEncoding::Binary
                        : PcdEncoding::BinaryCompressed);
  else if (outFormat == CloudFormat::Ply)
    writePly(out, c, !plyAscii);
  else
    writeKittiBin(out, c);
  std::fprintf(
      stderr, "%s -> %s: %zu points%s\n", in.c_str(), out.c_str(), c.size(),
      outFormat == CloudFormat::KittiBin && c.fields.size() > (c.field("intensity") ? 1u : 0u)
          ? " (KITTI .bin keeps x, y, z, intensity only)"
          : "");
  return 0;
}

std::string poseLine(const Mat4& m) {
  std::ostringstream s;
  s.precision(9);
  for (int i = 0; i < 12; ++i) s << (i ? " " : "") << m[i];
  return s.str() + "\n";
}

int cmdSimulate(cli::ArgReader& a) {
  fs::path dir;
  bool hasOut = false, force = false;
  long frames = 10, seed = 0;
  StreetSimOptions o;
  o.beams = 64;
  o.azimuthSteps = 2048;
  o.objects = 40;
  const std::vector<std::string> formats = {"bin", "pcd", "ply"};
  std::string format = "bin";
  while (a.next()) {
    if (a.is("--out")) {
      dir = a.value();
      hasOut = true;
    } else if (a.is("--frames")) {
      frames = static_cast<long>(a.intValue(1, 100000));
    } else if (a.is("--seed")) {
      seed = static_cast<long>(a.intValue(0, std::numeric_limits<long>::max()));
    } else if (a.is("--beams")) {
      o.beams = static_cast<int>(a.intValue(1, 256));
    } else if (a.is("--azimuth-steps")) {
      o.azimuthSteps = static_cast<int>(a.intValue(8, 16384));
    } else if (a.is("--objects")) {
      o.objects = static_cast<int>(a.intValue(0, 1000));
    } else if (a.is("--format")) {
      format = formats[a.choiceValue(formats)];
    } else if (a.is("--force")) {
      force = true;
    } else if (isOption(a)) {
      throw a.unknownOption();
    } else {
      throw UsageError("simulate takes no positional arguments");
    }
  }
  if (!hasOut) throw UsageError("simulate needs --out DIR");
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec) && !force)
    throw UsageError(dir.string() + " exists and is not empty (use --force to add to it)");
  for (const char* sub : {"velodyne", "boxes", "flow"}) fs::create_directories(dir / sub, ec);
  if (ec) throw DataError(dir.string() + ": cannot create: " + ec.message());
  StreetSequence seq(o, static_cast<std::uint64_t>(seed));
  const bool tty = isatty(2);
  std::string poses;
  const Mat4 toFirst = inverseRigid(seq.egoPose(0));
  char name[32];
  for (long k = 0; k < frames; ++k) {
    const ScenePair p = seq.pair(static_cast<int>(k));
    std::snprintf(name, sizeof name, "%06ld", k);
    writePointCloud((dir / "velodyne" / (std::string(name) + "." + format)).string(), p.first);
    std::string boxes =
        "# class cx cy cz length width height yaw instance (LiDAR frame, metres, rad)\n";
    char line[256];
    for (const auto& b : p.boxesFirst) {
      std::snprintf(line, sizeof line, "%s %.4f %.4f %.4f %.4f %.4f %.4f %.6f %d\n",
                    b.label.c_str(), b.cx, b.cy, b.cz, b.length, b.width, b.height, b.yaw,
                    b.instance);
      boxes += line;
    }
    std::string err;
    if (!writeFileAtomic((dir / "boxes" / (std::string(name) + ".txt")).string(), boxes, err))
      throw DataError(err);
    const std::size_t n1 = p.first.size(), n2 = p.second.size();
    writeNpz((dir / "flow" / (std::string(name) + ".npz")).string(),
             {{"pc1", p.first.xyz, {n1, 3}},
              {"pc2", p.second.xyz, {n2, 3}},
              {"flow", p.flow, {n1, 3}},
              {"instance1", *p.first.field("instance"), {n1}},
              {"class1", *p.first.field("class"), {n1}}});
    // Pose of LiDAR frame k in LiDAR frame 0 (Tr = identity in calib.txt).
    poses += poseLine(multiply(toFirst, seq.egoPose(static_cast<int>(k))));
    if (tty) std::fprintf(stderr, "\rsimulate: frame %ld/%ld (%zu points)", k + 1, frames, n1);
  }
  if (tty) std::fprintf(stderr, "\n");
  std::string err;
  if (!writeFileAtomic((dir / "poses.txt").string(), poses, err) ||
      !writeFileAtomic((dir / "calib.txt").string(), "Tr: 1 0 0 0 0 1 0 0 0 0 1 0\n", err))
    throw DataError(err);
  std::printf(
      "%s: %ld frames, seed %ld (read it with data.source kitti_odometry or npz_flow on flow/)\n",
      dir.string().c_str(), frames, seed);
  return 0;
}

int cmdAugment(cli::ArgReader& a) {
  std::vector<std::string> files;
  std::string out;
  std::optional<std::int64_t> seed;
  std::vector<cli::KeyValue> sets;
  while (a.next()) {
    if (a.is("--out"))
      out = a.value();
    else if (a.is("--seed"))
      seed = a.intValue(0, std::numeric_limits<long>::max());
    else if (a.is("--set"))
      sets.push_back(a.keyValue());
    else if (isOption(a))
      throw a.unknownOption();
    else
      files.push_back(a.arg());
  }
  if (files.size() != 1) throw UsageError("augment takes one FILE");
  if (out.empty()) throw UsageError("augment needs --out FILE");
  if (formatFromPath(out) == CloudFormat::Unknown || formatFromPath(out) == CloudFormat::Npy ||
      formatFromPath(out) == CloudFormat::NuscenesBin)
    throw UsageError(out + ": cannot write this format (expected .bin, .pcd or .ply)");
  AugmentOptions opts;
  SpatialTransform t;
  if (seed) {
    if (!sets.empty()) throw UsageError("use either --seed or --set, not both");
    std::mt19937_64 rng(static_cast<std::uint64_t>(*seed));
    t = sampleTransform(opts, rng);
  }
  auto flag = [](const std::string& k, const std::string& v) {
    if (v == "1" || v == "true" || v == "yes") return true;
    if (v == "0" || v == "false" || v == "no") return false;
    throw UsageError("--set " + k + " expects true or false, got '" + v + "'");
  };
  auto number = [](const std::string& k, const std::string& v) {
    return cli::parseNumber("--set " + k, v);
  };
  for (const auto& [k, v] : sets) {
    if (k == "angle_deg")
      t.angle = number(k, v) * M_PI / 180.0;
    else if (k == "scale") {
      t.scale = number(k, v);
      if (!(t.scale > 0)) throw UsageError("--set scale: must be positive");
    } else if (k == "flip_x")
      t.flipX = flag(k, v);
    else if (k == "flip_y")
      t.flipY = flag(k, v);
    else if (k == "tx")
      t.t[0] = number(k, v);
    else if (k == "ty")
      t.t[1] = number(k, v);
    else if (k == "tz")
      t.t[2] = number(k, v);
    else
      throw UsageError("--set: unknown key '" + k +
                       "' (angle_deg, scale, flip_x, flip_y, tx, ty, tz)");
  }
  PointCloud c = readPointCloud(files[0]);
  t.apply(c.xyz.data(), c.xyz.data(), c.size());
  writePointCloud(out, c);
  json j = {{"angle_deg", t.angle * 180.0 / M_PI},
            {"scale", t.scale},
            {"flip_x", t.flipX},
            {"flip_y", t.flipY},
            {"translation", {t.t[0], t.t[1], t.t[2]}},
            {"rotation_bin", rotationBin(t.angle, opts)},
            {"scale_bin", scaleBin(t.scale, opts)},
            {"flip_class", flipClass(t)},
            {"matrix", t.matrix()},
            {"points", c.size()}};
  std::cout << j.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  try {
    cli::ArgReader a(argc, argv);
    a.next();
    if (a.is("-h") || a.is("--help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a.is("--version")) {
      std::printf("pretext-data %s\n", PRETEXT_VERSION);
      return 0;
    }
    if (a.is("info")) return cmdInfo(a);
    if (a.is("convert")) return cmdConvert(a);
    if (a.is("simulate")) return cmdSimulate(a);
    if (a.is("augment")) return cmdAugment(a);
    throw UsageError("unknown command '" + a.arg() + "'");
  } catch (const UsageError& e) {
    std::fprintf(stderr, "pretext-data: %s\n(see pretext-data --help)\n", e.what());
    return 2;
  } catch (const DataError& e) {
    std::fprintf(stderr, "pretext-data: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pretext-data: %s\n", e.what());
    return 1;
  }
}
