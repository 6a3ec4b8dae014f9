#pragma once
// Private to core (LibTorch + c10d): the data-parallel side of a run. One Gloo process
// group over a TCPStore that rank 0 hosts at MASTER_ADDR:MASTER_PORT, plus a heartbeat per
// rank in the store so that after a failed collective the survivors can name the rank
// that went away. Trainer thread only (the heartbeat thread has its own store client).
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "pretext/train/distributed.h"

namespace pretext::core {

class Communicator {
 public:
  // Rendezvous and process-group creation; waits up to env.timeoutSec for every rank.
  // nullptr with `error` set on failure.
  static std::unique_ptr<Communicator> connect(const DistributedEnv& env, std::string& error);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const;
  int world() const;

  // Small values through the store (rank 0's preparation result for the others).
  void publish(const std::string& key, const std::string& value);
  std::string fetch(const std::string& key);  // waits up to the timeout

  // Averages the gradients of `params` over the ranks: flat float32 buckets of at most
  // kBucketFloats, all launched before the first wait. A parameter whose gradient is
  // undefined on some ranks gets the average of the others' (zeros elsewhere), so every rank
  // applies the same update. The first bucket also carries each rank's stop request: returns
  // true when any rank asked to stop, so all ranks stop after the same step.
  bool averageGradients(const std::vector<torch::Tensor>& params, bool stopRequested);
  static constexpr std::int64_t kBucketFloats = 1 << 20;  // 4 MiB

  // Element-wise sum over the ranks, in double.
  void sum(std::vector<double>& values);
  // Element-wise minimum and maximum over the ranks (two collectives).
  void minMax(const std::vector<double>& values, std::vector<double>& mins,
              std::vector<double>& maxs);
  // Copies rank 0's tensors into every rank's (in place).
  void broadcast(const std::vector<torch::Tensor>& tensors);

 private:
  struct Impl;
  explicit Communicator(std::unique_ptr<Impl> impl);
  // Runs a collective; on failure throws std::runtime_error naming the lost rank(s).
  template <class F>
  void guarded(const char* what, F&& f);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace pretext::core
