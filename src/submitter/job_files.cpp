#include "submitter/job_files.hpp"

#include <toml++/toml.h>

#include <stdexcept>

namespace swarm::submitter {

namespace fs = std::filesystem;

Journal openJob(const fs::path& dir, Journal::Access access) {
    std::error_code ec;
    if (!fs::exists(dir, ec))
        throw std::runtime_error("no such directory: " + dir.string());
    if (!fs::is_directory(dir, ec))
        throw std::runtime_error(dir.string() + " is not a directory");
    if (!Journal::exists(dir))
        throw std::runtime_error(dir.string() +
                                 " is not a job directory (no journal.sqlite in it)");
    try {
        return Journal::open(dir, access);
    } catch (const std::system_error& e) {
        if (e.code() == std::errc::device_or_resource_busy)
            throw std::runtime_error(e.what());
        throw std::runtime_error("cannot read the journal of " + dir.string() + ": " + e.what());
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot read the journal of " + dir.string() + ": " + e.what());
    }
}

std::string jobName(const Journal& journal) {
    try {
        const auto spec = toml::parse(journal.specToml());
        return spec["name"].value<std::string>().value_or("job");
    } catch (const std::exception&) {
        return "job";
    }
}

} // namespace swarm::submitter
