#pragma once
// Small filesystem helpers with crash-safe semantics. Any thread.
#include <cstdint>
#include <string>

namespace pretext::core {

// Writes `content` to `path` atomically: temp file in the same folder, fsync, rename,
// fsync of the folder. A reader sees the old or the new file, never half of one.
bool writeFileAtomic(const std::string& path, const std::string& content, std::string& error);
// Writes all of `data` to an open file descriptor, retrying short writes and EINTR.
bool writeAll(int fd, const std::string& data, const std::string& what, std::string& error);
// Reads a whole regular file. FIFOs, devices, sockets and folders are refused without being
// opened for reading ("<path>: not a regular file (fifo)"), and so is a file larger than
// readMemoryLimit() ("<path>: needs 15.0 GiB, more than the limit 2.0 GiB ...").
bool readFile(const std::string& path, std::string& content, std::string& error);
// Opens `path` read-only when it is a regular file: stat first (never opens a FIFO, device or
// socket), then O_NONBLOCK so a file swapped for a FIFO in between cannot block either.
// Returns the descriptor and its size, or -1 with `error` naming the path.
int openRegularFile(const std::string& path, std::uint64_t& size, std::string& error);
// The most memory one file read may take (its bytes plus what is parsed from them):
// PRETEXT_READ_LIMIT_GIB when set to a positive number, else 2 GiB or a quarter of the
// physical memory, whichever is smaller.
std::uint64_t readMemoryLimit();
// "" when `bytes` fit readMemoryLimit(), else "needs 3.4 GiB, more than the limit 2.0 GiB
// (set PRETEXT_READ_LIMIT_GIB to raise it)".
std::string memoryLimitProblem(std::uint64_t bytes);
std::string formatBytes(std::uint64_t bytes);  // "15.0 GiB", "2.0 MiB", "12 bytes"
bool fsyncPath(const std::string& path);       // file or directory
double unixNow();
std::string hostName();
bool processAlive(int pid);

}  // namespace pretext::core
