#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace swarm::test {

/// A fresh private directory `<prefix>-XXXXXX` under the system temp dir,
/// removed with all its content on destruction unless keep() was called.
/// The one temporary directory of the tests and the benchmarks.
class TempDir {
public:
    /// Throws std::system_error when the directory cannot be made.
    explicit TempDir(std::string_view prefix = "swarm-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(std::string_view rel) const { return path_ / rel; }

    /// Writes a file (creating parent dirs) and returns its path.
    std::filesystem::path write(std::string_view rel, std::string_view content) const;

    /// Leaves the directory in place on destruction (for a post-mortem).
    void keep() { keep_ = true; }

private:
    std::filesystem::path path_;
    bool keep_ = false;
};

/// The whole content of a file; "" when it cannot be read.
std::string readFile(const std::filesystem::path& path);

} // namespace swarm::test
