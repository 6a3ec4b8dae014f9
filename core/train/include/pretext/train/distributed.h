#pragma once
// Data-parallel launch settings, read from the environment variables that PyTorch's
// launchers and Slurm already set. LibTorch-free: the CLI validates them before any
// process group exists; the c10d/Gloo side lives in core/train/src/communicator.*.
//
// Variables (docs/architecture.md, "Scale-out"):
//   torchrun style  WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT
//   Slurm (srun)    SLURM_NTASKS, SLURM_PROCID, SLURM_LOCALID, SLURM_NTASKS_PER_NODE,
//                   SLURM_JOB_NODELIST / SLURM_NODELIST (first host = rendezvous host),
//                   SLURM_CPUS_PER_TASK (intra-op threads per rank)
//   both            PRETEXT_DIST_TIMEOUT (seconds a collective may wait, default 300)
// WORLD_SIZE wins over SLURM_NTASKS when both are set.
#include <functional>
#include <string>

namespace pretext::core {

struct DistributedEnv {
  int rank = 0;
  int world = 1;
  int localRank = 0;
  int localWorld = 1;   // ranks on this host (to split the cores between them)
  int cpusPerRank = 0;  // SLURM_CPUS_PER_TASK; 0: this host's cores / localWorld
  std::string masterAddr = "127.0.0.1";
  int masterPort = 29500;
  double timeoutSec = 300;
  std::string source = "none";  // "none", "env" (torchrun style) or "slurm"
  bool enabled() const { return world > 1; }
};

// Reads the launch environment through `get` (getenv by default). Returns false with a
// message naming the variable and the problem on malformed or inconsistent values.
using EnvGetter = std::function<const char*(const char*)>;
bool readDistributedEnv(DistributedEnv& out, std::string& error, const EnvGetter& get = nullptr);

// The first host of a Slurm node list: "node[07-09,12],gpu3" -> "node07". Empty with
// `error` set when the list is malformed.
std::string firstSlurmHost(const std::string& nodeList, std::string& error);

}  // namespace pretext::core
