// pretext-data: inspect, convert, simulate and augment LiDAR data from the command line.
// Links pretext_data only (no LibTorch, no Qt): starts instantly, runs anywhere.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pretext/core/augment.h"
#include "pretext/core/datasets.h"
#include "pretext/core/fs_util.h"
#include "pretext/core/readers.h"
#include "pretext/core/street_sim.h"

using namespace pretext::core;
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

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

double number(const std::string& what, const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v))
    throw UsageError(what + ": '" + s + "' is not a number");
  return v;
}

long integer(const std::string& what, const std::string& s, long lo, long hi) {
  const double v = number(what, s);
  if (v != std::floor(v) || v < lo || v > hi)
    throw UsageError(what + ": expected a whole number in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], got '" + s + "'");
  return static_cast<long>(v);
}

// Simple option scanner: positional arguments and --name [value] options.
struct Args {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> options;
  Args(int argc, char** argv, int first, const std::vector<std::string>& valued,
       const std::vector<std::string>& flags) {
    for (int i = first; i < argc; ++i) {
      const std::string a = argv[i];
      if (a.rfind("--", 0) != 0) {
        positional.push_back(a);
        continue;
      }
      if (std::find(flags.begin(), flags.end(), a) != flags.end()) {
        options.emplace(a, "");
      } else if (std::find(valued.begin(), valued.end(), a) != valued.end()) {
        if (i + 1 >= argc) throw UsageError(a + " needs a value");
        options.emplace(a, argv[++i]);
      } else {
        throw UsageError("unknown option " + a);
      }
    }
  }
  bool has(const std::string& k) const { return options.count(k) > 0; }
  std::string get(const std::string& k, const std::string& def) const {
    auto it = options.find(k);
    return it == options.end() ? def : it->second;
  }
};

// --max-abs-coord M (default: ReadOptions, 1000 m like data.max_abs_coord).
ReadOptions readOptions(const Args& a) {
  ReadOptions o;
  if (a.has("--max-abs-coord")) {
    o.maxAbsCoord = number("--max-abs-coord", a.get("--max-abs-coord", ""));
    if (!(o.maxAbsCoord > 0))
      throw UsageError("--max-abs-coord: expected a positive number of metres");
  }
  return o;
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

int cmdInfo(int argc, char** argv) {
  Args a(argc, argv, 2, {"--max-abs-coord"}, {"--json"});
  if (a.positional.size() != 1) throw UsageError("info takes one FILE");
  const std::string& path = a.positional[0];
  const bool isNpz = path.size() > 4 && path.compare(path.size() - 4, 4, ".npz") == 0;
  const json j = isNpz ? npzInfo(path) : cloudInfo(path, readPointCloud(path, readOptions(a)));
  if (a.has("--json"))
    std::cout << j.dump(2) << "\n";
  else
    printInfo(j);
  return 0;
}

int cmdConvert(int argc, char** argv) {
  Args a(argc, argv, 2, {"--pcd-encoding", "--max-abs-coord"}, {"--ply-ascii"});
  if (a.positional.size() != 2) throw UsageError("convert takes IN and OUT");
  const std::string &in = a.positional[0], &out = a.positional[1];
  const CloudFormat outFormat = formatFromPath(out);
  if (outFormat != CloudFormat::KittiBin && outFormat != CloudFormat::Pcd &&
      outFormat != CloudFormat::Ply)
    throw UsageError(out + ": cannot write this format (expected .bin, .pcd or .ply)");
  const std::string enc = a.get("--pcd-encoding", "binary");
  if (enc != "ascii" && enc != "binary" && enc != "binary_compressed")
    throw UsageError("--pcd-encoding: expected ascii, binary or binary_compressed, got '" + enc +
                     "'");
  const PointCloud c = readPointCloud(in, readOptions(a));
  if (outFormat == CloudFormat::Pcd)
    writePcd(out, c,
             enc == "ascii"    ? PcdEncoding::Ascii
             : enc == "binary" ? PcdEncoding::Binary
                               : PcdEncoding::BinaryCompressed);
  else if (outFormat == CloudFormat::Ply)
    writePly(out, c, !a.has("--ply-ascii"));
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

int cmdSimulate(int argc, char** argv) {
  Args a(argc, argv, 2,
         {"--out", "--frames", "--seed", "--beams", "--azimuth-steps", "--objects", "--format"},
         {"--force"});
  if (!a.positional.empty()) throw UsageError("simulate takes no positional arguments");
  if (!a.has("--out")) throw UsageError("simulate needs --out DIR");
  const fs::path dir = a.get("--out", "");
  const long frames = integer("--frames", a.get("--frames", "10"), 1, 100000);
  const long seed = integer("--seed", a.get("--seed", "0"), 0, std::numeric_limits<long>::max());
  StreetSimOptions o;
  o.beams = static_cast<int>(integer("--beams", a.get("--beams", "64"), 1, 256));
  o.azimuthSteps =
      static_cast<int>(integer("--azimuth-steps", a.get("--azimuth-steps", "2048"), 8, 16384));
  o.objects = static_cast<int>(integer("--objects", a.get("--objects", "40"), 0, 1000));
  const std::string format = a.get("--format", "bin");
  if (format != "bin" && format != "pcd" && format != "ply")
    throw UsageError("--format: expected bin, pcd or ply, got '" + format + "'");
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec) && !a.has("--force"))
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

int cmdAugment(int argc, char** argv) {
  Args a(argc, argv, 2, {"--out", "--set", "--seed"}, {});
  if (a.positional.size() != 1) throw UsageError("augment takes one FILE");
  if (!a.has("--out")) throw UsageError("augment needs --out FILE");
  const std::string out = a.get("--out", "");
  if (formatFromPath(out) == CloudFormat::Unknown || formatFromPath(out) == CloudFormat::Npy ||
      formatFromPath(out) == CloudFormat::NuscenesBin)
    throw UsageError(out + ": cannot write this format (expected .bin, .pcd or .ply)");
  AugmentOptions opts;
  SpatialTransform t;
  if (a.has("--seed")) {
    if (a.has("--set")) throw UsageError("use either --seed or --set, not both");
    std::mt19937_64 rng(static_cast<std::uint64_t>(
        integer("--seed", a.get("--seed", "0"), 0, std::numeric_limits<long>::max())));
    t = sampleTransform(opts, rng);
  }
  auto flag = [](const std::string& k, const std::string& v) {
    if (v == "1" || v == "true" || v == "yes") return true;
    if (v == "0" || v == "false" || v == "no") return false;
    throw UsageError("--set " + k + ": expected true or false, got '" + v + "'");
  };
  for (auto [it, end] = a.options.equal_range("--set"); it != end; ++it) {
    const std::string& kv = it->second;
    const auto eq = kv.find('=');
    if (eq == std::string::npos) throw UsageError("--set: expected KEY=VALUE, got '" + kv + "'");
    const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (k == "angle_deg")
      t.angle = number("--set angle_deg", v) * M_PI / 180.0;
    else if (k == "scale") {
      t.scale = number("--set scale", v);
      if (!(t.scale > 0)) throw UsageError("--set scale: must be positive");
    } else if (k == "flip_x")
      t.flipX = flag(k, v);
    else if (k == "flip_y")
      t.flipY = flag(k, v);
    else if (k == "tx")
      t.t[0] = number("--set tx", v);
    else if (k == "ty")
      t.t[1] = number("--set ty", v);
    else if (k == "tz")
      t.t[2] = number("--set tz", v);
    else
      throw UsageError("--set: unknown key '" + k +
                       "' (angle_deg, scale, flip_x, flip_y, tx, ty, tz)");
  }
  PointCloud c = readPointCloud(a.positional[0]);
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
  const std::string cmd = argv[1];
  try {
    if (cmd == "-h" || cmd == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (cmd == "--version") {
      std::printf("pretext-data %s\n", PRETEXT_VERSION);
      return 0;
    }
    if (cmd == "info") return cmdInfo(argc, argv);
    if (cmd == "convert") return cmdConvert(argc, argv);
    if (cmd == "simulate") return cmdSimulate(argc, argv);
    if (cmd == "augment") return cmdAugment(argc, argv);
    throw UsageError("unknown command '" + cmd + "'");
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
