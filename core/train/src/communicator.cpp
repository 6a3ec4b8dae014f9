// c10d/Gloo data parallelism (communicator.h).
#include "communicator.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

// ---- where rank 0's rendezvous store listens ------------------------------------------
// LibTorch 1.13's TCPStore server binds the wildcard address (every interface) and has no
// option to choose one. While rank 0 creates its store, bind() calls of that thread are
// redirected to the address MASTER_ADDR resolves to: 127.0.0.1 for single-machine runs,
// the interface of MASTER_ADDR on a cluster. A wildcard bind of the other address family
// fails with EADDRNOTAVAIL, and the store then tries the next family. Every other bind in
// the process is passed through unchanged. PRETEXT_STORE_BIND=any restores the wildcard.
namespace {
thread_local const sockaddr_storage* t_storeAddress = nullptr;
thread_local socklen_t t_storeAddressLength = 0;
thread_local int t_storeBindErrno = 0;

bool isWildcard(const sockaddr* a) {
  if (a->sa_family == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(a)->sin_addr.s_addr == htonl(INADDR_ANY);
  if (a->sa_family == AF_INET6) {
    const in6_addr& x = reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr;
    return std::memcmp(&x, &in6addr_any, sizeof x) == 0;
  }
  return false;
}
}  // namespace

extern "C" int bind(int fd, const sockaddr* address, socklen_t length) noexcept {
  using BindFn = int (*)(int, const sockaddr*, socklen_t);
  static const BindFn next = reinterpret_cast<BindFn>(::dlsym(RTLD_NEXT, "bind"));
  if (!next) {
    errno = ENOSYS;
    return -1;
  }
  if (!t_storeAddress || !address || !isWildcard(address)) return next(fd, address, length);
  if (address->sa_family != t_storeAddress->ss_family) {
    errno = EADDRNOTAVAIL;
    return -1;
  }
  sockaddr_storage target{};
  std::memcpy(&target, t_storeAddress, t_storeAddressLength);
  if (address->sa_family == AF_INET)
    reinterpret_cast<sockaddr_in*>(&target)->sin_port =
        reinterpret_cast<const sockaddr_in*>(address)->sin_port;
  else
    reinterpret_cast<sockaddr_in6*>(&target)->sin6_port =
        reinterpret_cast<const sockaddr_in6*>(address)->sin6_port;
  const int rc = next(fd, reinterpret_cast<const sockaddr*>(&target), t_storeAddressLength);
  if (rc != 0) t_storeBindErrno = errno;
  return rc;
}

namespace pretext::core {
namespace {

bool isLoopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

bool isLoopbackAddress(const sockaddr* a) {
  if (a->sa_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(a)->sin_addr.s_addr) >> 24) == 127;
  if (a->sa_family == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr, &in6addr_loopback,
                       sizeof(in6_addr)) == 0;
  return false;
}

// Redirects the wildcard binds of this thread to `host` (its first IPv4 address, else its
// first address) while alive; `error` is set when `host` does not resolve. One exception:
// ranks on other hosts (`multiHost`) and a host name that resolves to loopback on rank 0's
// machine (Debian's /etc/hosts maps the machine's own name to 127.0.1.1): listening there
// would shut the other hosts out, so the wildcard is kept and `note` says why.
class StoreBindScope {
 public:
  StoreBindScope(const std::string& host, bool multiHost) {
    const char* mode = std::getenv("PRETEXT_STORE_BIND");
    if (mode && std::string(mode) == "any") return;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list); rc != 0) {
      error = "MASTER_ADDR " + host + " does not resolve: " + ::gai_strerror(rc);
      return;
    }
    const addrinfo* pick = list;
    for (const addrinfo* a = list; a; a = a->ai_next)
      if (a->ai_family == AF_INET) {
        pick = a;
        break;
      }
    if (multiHost && isLoopbackAddress(pick->ai_addr) && !isLoopback(host)) {
      ::freeaddrinfo(list);
      note = "MASTER_ADDR " + host +
             " resolves to a loopback address on rank 0's machine while ranks run on other "
             "hosts; the rendezvous store listens on every interface so that they can reach "
             "it (give MASTER_ADDR as rank 0's cluster address to keep it on one)";
      return;
    }
    std::memcpy(&m_address, pick->ai_addr, pick->ai_addrlen);
    t_storeAddressLength = pick->ai_addrlen;
    ::freeaddrinfo(list);
    t_storeAddress = &m_address;
    t_storeBindErrno = 0;
  }
  ~StoreBindScope() { t_storeAddress = nullptr; }
  StoreBindScope(const StoreBindScope&) = delete;
  StoreBindScope& operator=(const StoreBindScope&) = delete;
  std::string error, note;
  // Why the redirected bind failed, for the rendezvous error ("" when it did not).
  static std::string bindFailure(const std::string& host) {
    if (t_storeBindErrno == 0) return {};
    return " (rank 0 could not listen on MASTER_ADDR " + host + ": " +
           std::strerror(t_storeBindErrno) +
           "; it must be an address of rank 0's machine, or set PRETEXT_STORE_BIND=any to "
           "listen on every interface)";
  }

 private:
  sockaddr_storage m_address{};
};

using namespace std::chrono_literals;
constexpr auto kHeartbeatPeriod = 500ms;
constexpr auto kHeartbeatWindow = 2500ms;  // a rank silent this long is reported lost

std::string heartbeatKey(int rank) { return "pretext/heartbeat/" + std::to_string(rank); }

// The rank's main store handle (`member`: counts towards the world rank 0 waits for; rank
// 0 hosts the server) or an extra client of the heartbeat and the diagnosis.
c10d::TCPStoreOptions storeOptions(const DistributedEnv& env, bool member,
                                   std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(env.masterPort);
  o.isServer = member && env.rank == 0;
  o.timeout = timeout;
  if (member) o.numWorkers = static_cast<std::size_t>(env.world);  // 1.13 counts only then
  o.waitWorkers = member;
  return o;
}

}  // namespace

struct Communicator::Impl {
  DistributedEnv env;
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  std::thread heartbeat;
  std::mutex mutex;
  std::condition_variable cv;
  bool stopping = false;

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    cv.notify_all();
    if (heartbeat.joinable()) heartbeat.join();
  }

  std::chrono::milliseconds timeout() const {
    return std::chrono::milliseconds(static_cast<std::int64_t>(env.timeoutSec * 1000));
  }

  // Each rank bumps its counter in the store twice a second from its own client.
  void startHeartbeat() {
    heartbeat = std::thread([this] {
      try {
        c10d::TCPStore client(env.masterAddr, storeOptions(env, false, 10s));
        std::unique_lock<std::mutex> lock(mutex);
        while (!stopping) {
          lock.unlock();
          client.add(heartbeatKey(env.rank), 1);
          lock.lock();
          cv.wait_for(lock, kHeartbeatPeriod, [this] { return stopping; });
        }
      } catch (const std::exception&) {
        // The store went away (rank 0 ended); nothing left to report to.
      }
    });
  }

  // Which ranks stopped beating: sampled twice, kHeartbeatWindow apart.
  std::string lostRanks() const {
    try {
      c10d::TCPStore client(env.masterAddr, storeOptions(env, false, 5s));
      std::vector<std::int64_t> before(static_cast<std::size_t>(env.world));
      for (int r = 0; r < env.world; ++r) before[r] = client.add(heartbeatKey(r), 0);
      std::this_thread::sleep_for(kHeartbeatWindow);
      std::string lost;
      for (int r = 0; r < env.world; ++r)
        if (r != env.rank && client.add(heartbeatKey(r), 0) == before[r])
          lost += (lost.empty() ? "" : ", ") + std::to_string(r);
      if (lost.empty()) return "no rank lost its heartbeat (a rank may be stalled)";
      return "lost rank " + lost + " (no heartbeat for " +
             std::to_string(std::chrono::duration<double>(kHeartbeatWindow).count()).substr(0, 3) +
             " s)";
    } catch (const std::exception&) {
      return "lost rank 0 (its rendezvous store at " + env.masterAddr + ":" +
             std::to_string(env.masterPort) + " no longer answers)";
    }
  }
};

Communicator::Communicator(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Communicator::~Communicator() = default;
int Communicator::rank() const { return m_impl->env.rank; }
int Communicator::world() const { return m_impl->env.world; }

std::unique_ptr<Communicator> Communicator::connect(const DistributedEnv& env, std::string& error) {
  auto impl = std::make_unique<Impl>();
  impl->env = env;
  const std::string where = env.masterAddr + ":" + std::to_string(env.masterPort);
  try {
    {
      std::optional<StoreBindScope> scope;
      if (env.rank == 0) {
        scope.emplace(env.masterAddr, env.world > env.localWorld);
        if (!scope->error.empty()) throw std::runtime_error(scope->error);
        if (!scope->note.empty()) std::fprintf(stderr, "pretext-train: %s\n", scope->note.c_str());
      }
      try {
        impl->store = c10::make_intrusive<c10d::TCPStore>(env.masterAddr,
                                                          storeOptions(env, true, impl->timeout()));
      } catch (const std::exception& e) {
        std::string what = e.what();
        what = what.substr(0, what.find("\nException raised from"));
        throw std::runtime_error(what + StoreBindScope::bindFailure(env.masterAddr));
      }
    }
    auto options = c10d::ProcessGroupGloo::Options::create(impl->timeout());
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (isLoopback(env.masterAddr))
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 1;
    impl->group =
        c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, env.rank, env.world, options);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find("\nException raised from"));
    error = "rank " + std::to_string(env.rank) + " of " + std::to_string(env.world) +
            ": rendezvous at " + where + " failed within " +
            std::to_string(static_cast<int>(env.timeoutSec)) + " s: " + what;
    return nullptr;
  }
  impl->startHeartbeat();
  return std::unique_ptr<Communicator>(new Communicator(std::move(impl)));
}

template <class F>
void Communicator::guarded(const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    std::string cause = e.what();
    cause = cause.substr(0, cause.find("\nException raised from"));
    throw std::runtime_error("data-parallel " + std::string(what) + " failed on rank " +
                             std::to_string(rank()) + ": " + m_impl->lostRanks() + "; " + cause);
  }
}

void Communicator::publish(const std::string& key, const std::string& value) {
  guarded("publish", [&] {
    m_impl->store->set("pretext/" + key, std::vector<std::uint8_t>(value.begin(), value.end()));
  });
}

std::string Communicator::fetch(const std::string& key) {
  std::string out;
  guarded("fetch", [&] {
    auto bytes = m_impl->store->get("pretext/" + key);
    out.assign(bytes.begin(), bytes.end());
  });
  return out;
}

bool Communicator::averageGradients(const std::vector<torch::Tensor>& params, bool stopRequested) {
  torch::NoGradGuard ng;
  const auto n = static_cast<std::int64_t>(params.size());
  // Bucket layout: [stop flag, one "defined" flag per parameter] then gradients in order,
  // a new bucket whenever the next gradient would overflow the current one.
  std::vector<torch::Tensor> buckets;
  std::vector<std::vector<torch::Tensor>> pieces(1);
  auto header = torch::zeros({1 + n});
  auto* h = header.data_ptr<float>();
  h[0] = stopRequested ? 1.0f : 0.0f;
  pieces[0].push_back(header);
  std::int64_t fill = 1 + n;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto& p = params[static_cast<std::size_t>(i)];
    const bool defined = p.grad().defined();
    h[1 + i] = defined ? 1.0f : 0.0f;
    auto g = defined ? p.grad().to(torch::kFloat).reshape({-1}) : torch::zeros({p.numel()});
    if (fill > 0 && fill + g.numel() > kBucketFloats) {
      pieces.emplace_back();
      fill = 0;
    }
    pieces.back().push_back(g);
    fill += g.numel();
  }
  for (auto& list : pieces) buckets.push_back(torch::cat(list));
  guarded("gradient all-reduce", [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& b : buckets) {
      std::vector<torch::Tensor> one{b};
      works.push_back(m_impl->group->allreduce(one));
    }
    for (auto& w : works) w->wait();
  });
  const float scale = 1.0f / static_cast<float>(world());
  const float* flags = buckets[0].data_ptr<float>();
  std::size_t bucket = 0;
  std::int64_t offset = 1 + n;
  for (std::int64_t i = 0; i < n; ++i) {
    torch::Tensor p = params[static_cast<std::size_t>(i)];  // a handle: grads are shared
    const auto numel = p.numel();
    if (offset + numel > buckets[bucket].numel()) {
      ++bucket;
      offset = 0;
    }
    auto avg = buckets[bucket].narrow(0, offset, numel).mul_(scale).view(p.sizes());
    offset += numel;
    if (flags[1 + i] == 0.0f) continue;  // no rank has a gradient for it
    if (!p.grad().defined())
      p.mutable_grad() = avg.to(p.dtype()).clone();
    else
      p.mutable_grad().copy_(avg);
  }
  return flags[0] > 0.0f;
}

void Communicator::sum(std::vector<double>& values) {
  if (values.empty()) return;
  auto t =
      torch::from_blob(values.data(), {static_cast<std::int64_t>(values.size())}, torch::kFloat64);
  guarded("metric reduction", [&] {
    std::vector<torch::Tensor> one{t};
    m_impl->group->allreduce(one)->wait();
  });
}

void Communicator::minMax(const std::vector<double>& values, std::vector<double>& mins,
                          std::vector<double>& maxs) {
  mins = values;
  maxs = values;
  if (values.empty()) return;
  const std::int64_t n = static_cast<std::int64_t>(values.size());
  auto lo = torch::from_blob(mins.data(), {n}, torch::kFloat64);
  auto hi = torch::from_blob(maxs.data(), {n}, torch::kFloat64);
  guarded("consistency check", [&] {
    std::vector<torch::Tensor> a{lo}, b{hi};
    c10d::AllreduceOptions mn, mx;
    mn.reduceOp = c10d::ReduceOp::MIN;
    mx.reduceOp = c10d::ReduceOp::MAX;
    auto w1 = m_impl->group->allreduce(a, mn);
    auto w2 = m_impl->group->allreduce(b, mx);
    w1->wait();
    w2->wait();
  });
}

void Communicator::broadcast(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard ng;
  guarded("state broadcast", [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (const auto& t : tensors) {
      std::vector<torch::Tensor> one{t};
      works.push_back(m_impl->group->broadcast(one));
    }
    for (auto& w : works) w->wait();
  });
}

}  // namespace pretext::core
