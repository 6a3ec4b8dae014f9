#pragma once
// Small filesystem helpers with crash-safe semantics. Any thread.
#include <string>

namespace pretext::core {

// Writes `content` to `path` atomically: temp file in the same folder, fsync, rename,
// fsync of the folder. A reader sees the old or the new file, never half of one.
bool writeFileAtomic(const std::string& path, const std::string& content, std::string& error);
// Writes all of `data` to an open file descriptor, retrying short writes and EINTR.
bool writeAll(int fd, const std::string& data, const std::string& what, std::string& error);
bool readFile(const std::string& path, std::string& content, std::string& error);
bool fsyncPath(const std::string& path);  // file or directory
double unixNow();
std::string hostName();
bool processAlive(int pid);

}  // namespace pretext::core
