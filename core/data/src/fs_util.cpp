#include "pretext/data/fs_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace pretext::core {

bool fsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

bool writeAll(int fd, const std::string& data, const std::string& what, std::string& error) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = what + ": write failed: " + std::strerror(errno);
      return false;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return true;
}

bool writeFileAtomic(const std::string& path, const std::string& content, std::string& error) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = tmp + ": cannot create: " + std::strerror(errno);
    return false;
  }
  if (!writeAll(fd, content, tmp, error)) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    error = tmp + ": fsync/close failed: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path + ": rename failed: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  fsyncPath(fs::path(path).parent_path().string());
  return true;
}

namespace {

const char* fileKind(mode_t mode) {
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISDIR(mode)) return "folder";
  return "special file";
}

}  // namespace

int openRegularFile(const std::string& path, std::uint64_t& size, std::string& error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return -1;
  }
  if (S_ISDIR(st.st_mode)) {
    error = path + ": is a directory, expected a file";
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    error = path + ": not a regular file (" + fileKind(st.st_mode) + ")";
    return -1;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return -1;
  }
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = path + (S_ISREG(st.st_mode)
                        ? std::string(": cannot stat")
                        : ": not a regular file (" + std::string(fileKind(st.st_mode)) + ")");
    ::close(fd);
    return -1;
  }
  size = static_cast<std::uint64_t>(st.st_size);
  return fd;
}

std::uint64_t readMemoryLimit() {
  if (const char* env = std::getenv("PRETEXT_READ_LIMIT_GIB")) {
    char* end = nullptr;
    const double gib = std::strtod(env, &end);
    if (end != env && *end == '\0' && gib > 0 && gib < 1e9)
      return static_cast<std::uint64_t>(gib * 1073741824.0);
  }
  std::uint64_t limit = 2ull << 30;
  const long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && pageSize > 0)
    limit = std::min<std::uint64_t>(
        limit, static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(pageSize) / 4);
  return limit;
}

std::string formatBytes(std::uint64_t bytes) {
  char buf[48];
  if (bytes >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / 1073741824.0);
  else if (bytes >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / 1048576.0);
  else
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

std::string memoryLimitProblem(std::uint64_t bytes) {
  const std::uint64_t limit = readMemoryLimit();
  if (bytes <= limit) return {};
  return "needs " + formatBytes(bytes) + ", more than the limit " + formatBytes(limit) +
         " (set PRETEXT_READ_LIMIT_GIB to raise it)";
}

bool readFile(const std::string& path, std::string& content, std::string& error) {
  std::uint64_t size = 0;
  const int fd = openRegularFile(path, size, error);
  if (fd < 0) return false;
  if (std::string why = memoryLimitProblem(size); !why.empty()) {
    ::close(fd);
    error = path + ": " + why;
    return false;
  }
  // Read to the end, not to the size stat gave: /proc files report 0, and a file may grow
  // while it is read. The memory limit still bounds what is read.
  content.clear();
  char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      error = path + ": read failed: " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (r == 0) break;
    if (std::string why = memoryLimitProblem(content.size() + static_cast<std::size_t>(r));
        !why.empty()) {
      ::close(fd);
      error = path + ": " + why;
      return false;
    }
    try {
      content.append(buf, static_cast<std::size_t>(r));
    } catch (const std::bad_alloc&) {
      ::close(fd);
      error = path + ": out of memory while reading " + formatBytes(content.size());
      return false;
    }
  }
  ::close(fd);
  return true;
}

double unixNow() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string hostName() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

bool processAlive(int pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0) return errno == EPERM;
  // A killed child that was not reaped yet still answers kill(); its state letter is Z.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  auto close = line.rfind(')');
  return !(close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z');
}

}  // namespace pretext::core
