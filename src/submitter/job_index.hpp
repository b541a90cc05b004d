#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::submitter {

/// One line of the job index: a run or a resume started on a job directory.
struct IndexEntry {
    std::int64_t timeMs = 0;   ///< when it started (Unix ms)
    std::string kind;          ///< "run" or "resume"
    std::filesystem::path dir; ///< the job directory, absolute
    std::string name;          ///< the job's name
    bool operator==(const IndexEntry&) const = default;
};

/// The batches this researcher ran: `HOME/jobs.tsv`, one line per run or
/// resume, appended and never rewritten. A line is
/// "j1<TAB>TIME_MS<TAB>KIND<TAB>DIR<TAB>NAME<TAB>." with backslash, tab and
/// newline in DIR and NAME escaped as \\, \t and \n; the final "." shows
/// the line was written whole. Each line is written with one write() on an
/// O_APPEND descriptor and fsync'd, so concurrent runs never interleave and
/// a crash loses at most the line being written; a line cut short is
/// skipped when read (and the next append starts on a fresh line). Nothing
/// is ever removed: a job directory deleted since is still listed, and the
/// reader decides what to make of it. Not thread-safe.
class JobIndex {
public:
    /// What read() found: the entries in file order, and how many lines
    /// were not entries (cut short, corrupt, or of an unknown version).
    struct Contents {
        std::vector<IndexEntry> entries;
        std::size_t skipped = 0;
    };

    static std::filesystem::path path(const std::filesystem::path& home) {
        return home / "jobs.tsv";
    }

    explicit JobIndex(std::filesystem::path file) : file_(std::move(file)) {}

    const std::filesystem::path& file() const noexcept { return file_; }

    /// Appends `entry`, creating the file (0600) and its directory if
    /// needed. Throws std::system_error on I/O failure.
    void record(const IndexEntry& entry) const;

    /// Every entry; empty when there is no index yet. Throws
    /// std::system_error when the file exists but cannot be read.
    Contents read() const;

private:
    std::filesystem::path file_;
};

/// The index line for `entry`, newline included.
std::string indexLine(const IndexEntry& entry);

/// Parses one line (without its newline); nullopt unless it is a whole,
/// well-formed "j1" line.
std::optional<IndexEntry> parseIndexLine(std::string_view line);

/// Parses a whole index file's text: every line that parses, in order, and
/// the count of those that do not (a last line without its newline counts
/// as cut short).
JobIndex::Contents parseIndex(std::string_view text);

} // namespace swarm::submitter
