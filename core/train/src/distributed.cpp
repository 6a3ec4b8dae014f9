// Reading the data-parallel launch environment (distributed.h). No LibTorch here.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "pretext/train/distributed.h"

namespace pretext::core {
namespace {

bool parseInt(const char* name, const char* text, long lo, long hi, long& out, std::string& error) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v < lo || v > hi) {
    error = std::string(name) + "='" + text + "': expected an integer in [" + std::to_string(lo) +
            ", " + std::to_string(hi) + "]";
    return false;
  }
  out = v;
  return true;
}

}  // namespace

std::string firstSlurmHost(const std::string& list, std::string& error) {
  // The first top-level entry (commas inside brackets separate ranges, not hosts).
  std::string entry;
  int depth = 0;
  for (char c : list) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (depth < 0) break;
    if (c == ',' && depth == 0) break;
    entry += c;
  }
  if (entry.empty() || depth != 0) {
    error = "malformed Slurm node list '" + list + "'";
    return {};
  }
  // Each bracket group contributes its first number, as written (zero padding kept).
  std::string host;
  for (std::size_t i = 0; i < entry.size(); ++i) {
    if (entry[i] != '[') {
      host += entry[i];
      continue;
    }
    const auto close = entry.find(']', i);
    if (close == std::string::npos) {
      error = "malformed Slurm node list '" + list + "'";
      return {};
    }
    const std::string inner = entry.substr(i + 1, close - i - 1);
    const auto stop = inner.find_first_of(",-");
    const std::string first = inner.substr(0, stop);
    if (first.empty() || first.find_first_not_of("0123456789") != std::string::npos) {
      error = "malformed range '[" + inner + "]' in Slurm node list '" + list + "'";
      return {};
    }
    host += first;
    i = close;
  }
  return host;
}

bool readDistributedEnv(DistributedEnv& out, std::string& error, const EnvGetter& getter) {
  auto get = [&](const char* name) -> const char* {
    const char* v = getter ? getter(name) : std::getenv(name);
    return v && *v ? v : nullptr;
  };
  DistributedEnv d;
  long v = 0;
  const char* world = get("WORLD_SIZE");
  const bool slurm = !world && get("SLURM_NTASKS");
  if (world) {
    d.source = "env";
    if (!parseInt("WORLD_SIZE", world, 1, 65536, v, error)) return false;
    d.world = static_cast<int>(v);
    const char* rank = get("RANK");
    if (!rank && d.world > 1) {
      error = "WORLD_SIZE=" + std::to_string(d.world) + " is set but RANK is not";
      return false;
    }
    if (rank && !parseInt("RANK", rank, 0, d.world - 1, v, error)) return false;
    d.rank = rank ? static_cast<int>(v) : 0;
    if (const char* lr = get("LOCAL_RANK")) {
      if (!parseInt("LOCAL_RANK", lr, 0, d.world - 1, v, error)) return false;
      d.localRank = static_cast<int>(v);
    }
    if (const char* lw = get("LOCAL_WORLD_SIZE")) {
      if (!parseInt("LOCAL_WORLD_SIZE", lw, 1, d.world, v, error)) return false;
      d.localWorld = static_cast<int>(v);
    }
  } else if (slurm) {
    d.source = "slurm";
    if (!parseInt("SLURM_NTASKS", get("SLURM_NTASKS"), 1, 65536, v, error)) return false;
    d.world = static_cast<int>(v);
    const char* rank = get("SLURM_PROCID");
    if (!rank) {
      error = "SLURM_NTASKS is set but SLURM_PROCID is not (start the ranks with srun)";
      return false;
    }
    if (!parseInt("SLURM_PROCID", rank, 0, d.world - 1, v, error)) return false;
    d.rank = static_cast<int>(v);
    if (const char* lr = get("SLURM_LOCALID")) {
      if (!parseInt("SLURM_LOCALID", lr, 0, d.world - 1, v, error)) return false;
      d.localRank = static_cast<int>(v);
    }
    // SLURM_NTASKS_PER_NODE is a plain count; SLURM_TASKS_PER_NODE reads like "2(x3),1".
    if (const char* lw = get("SLURM_NTASKS_PER_NODE")) {
      if (!parseInt("SLURM_NTASKS_PER_NODE", lw, 1, d.world, v, error)) return false;
      d.localWorld = static_cast<int>(v);
    } else if (const char* tpn = get("SLURM_TASKS_PER_NODE")) {
      d.localWorld = std::max(1, std::atoi(tpn));
    }
    if (const char* cpus = get("SLURM_CPUS_PER_TASK")) {
      if (!parseInt("SLURM_CPUS_PER_TASK", cpus, 1, 4096, v, error)) return false;
      d.cpusPerRank = static_cast<int>(v);
    }
    if (!get("MASTER_ADDR")) {
      const char* nodes = get("SLURM_JOB_NODELIST");
      if (!nodes) nodes = get("SLURM_NODELIST");
      if (!nodes) {
        error = "Slurm launch without MASTER_ADDR needs SLURM_JOB_NODELIST or SLURM_NODELIST";
        return false;
      }
      d.masterAddr = firstSlurmHost(nodes, error);
      if (d.masterAddr.empty()) {
        error = "SLURM_JOB_NODELIST: " + error;
        return false;
      }
    }
  }
  if (d.world > 1) {
    if (const char* addr = get("MASTER_ADDR")) d.masterAddr = addr;
    if (const char* port = get("MASTER_PORT")) {
      if (!parseInt("MASTER_PORT", port, 1, 65535, v, error)) return false;
      d.masterPort = static_cast<int>(v);
    }
  }
  if (const char* t = get("PRETEXT_DIST_TIMEOUT")) {
    if (!parseInt("PRETEXT_DIST_TIMEOUT", t, 1, 86400, v, error)) return false;
    d.timeoutSec = static_cast<double>(v);
  }
  if (d.localRank >= d.localWorld) d.localWorld = d.localRank + 1;
  out = d;
  return true;
}

}  // namespace pretext::core
