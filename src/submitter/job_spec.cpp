#include "submitter/job_spec.hpp"

#include "submitter/result_store.hpp"
#include "wire/judge.hpp"
#include "wire/messages.hpp"

#include <glob.h>

#include <toml++/toml.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <set>
#include <span>
#include <sstream>

namespace swarm::submitter {

namespace fs = std::filesystem;
using wire::Error;

bool isSafeUnitId(std::string_view id) noexcept {
    return wire::isSafeId(id);
}

std::optional<std::uint64_t> parseSize(std::string_view text) noexcept {
    std::uint64_t value = 0;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    auto [p, ec] = std::from_chars(first, last, value);
    if (ec != std::errc{} || p == first)
        return std::nullopt;
    std::string_view suffix(p, static_cast<std::size_t>(last - p));
    if (suffix.ends_with("iB"))
        suffix.remove_suffix(2);
    else if (suffix.ends_with("B") && suffix.size() == 2)
        suffix.remove_suffix(1);
    else if (suffix.ends_with("i"))
        suffix.remove_suffix(1);
    unsigned shift = 0;
    if (suffix.empty() || suffix == "B")
        shift = 0;
    else if (suffix == "K" || suffix == "k")
        shift = 10;
    else if (suffix == "M" || suffix == "m")
        shift = 20;
    else if (suffix == "G" || suffix == "g")
        shift = 30;
    else if (suffix == "T" || suffix == "t")
        shift = 40;
    else
        return std::nullopt;
    if (shift && value > (std::numeric_limits<std::uint64_t>::max() >> shift))
        return std::nullopt;
    return value << shift;
}

std::optional<std::int64_t> parseDurationMs(std::string_view text) noexcept {
    std::int64_t value = 0;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    auto [p, ec] = std::from_chars(first, last, value);
    if (ec != std::errc{} || p == first || value <= 0)
        return std::nullopt;
    const std::string_view unit(p, static_cast<std::size_t>(last - p));
    std::int64_t mult = 0;
    if (unit == "ms")
        mult = 1;
    else if (unit.empty() || unit == "s")
        mult = 1000;
    else if (unit == "m" || unit == "min")
        mult = 60'000;
    else if (unit == "h")
        mult = 3'600'000;
    else
        return std::nullopt;
    if (value > std::numeric_limits<std::int64_t>::max() / mult)
        return std::nullopt;
    return value * mult;
}

std::vector<std::string> unitCommand(const JobSpec& job, const UnitSpec& unit) {
    std::vector<std::string> out = job.command;
    if (unit.inputs.empty())
        return out;
    // Inputs are copied to in/ below the work dir (the container's /work).
    const std::string name = "in/" + unit.inputs.front().name;
    for (auto& word : out) {
        for (auto pos = word.find("{}"); pos != std::string::npos;
             pos = word.find("{}", pos + name.size()))
            word.replace(pos, 2, name);
    }
    return out;
}

namespace {

constexpr std::string_view kTopKeys[] = {"name",
                                         "image",
                                         "image_archive",
                                         "command",
                                         "env",
                                         "resources",
                                         "timeout",
                                         "replicas",
                                         "quorum",
                                         "max_errors",
                                         "max_total_results",
                                         "deadline",
                                         "outputs",
                                         "inputs",
                                         "unit",
                                         "requirements"};
constexpr std::string_view kResourceKeys[] = {"cpus", "memory", "pids"};
constexpr std::string_view kRequirementKeys[] = {"arch", "labels"};
constexpr std::string_view kUnitKeys[] = {"id", "inputs"};
constexpr std::string_view kInputKeys[] = {"path", "as"};

std::size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}

bool hasCommandPlaceholder(const std::vector<std::string>& command) {
    return std::any_of(command.begin(), command.end(),
                       [](const std::string& w) { return w.find("{}") != std::string::npos; });
}

// Makes a file name usable as a unit id.
std::string sanitizeId(std::string_view name) {
    std::string id(name);
    for (auto& c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok)
            c = '_';
    }
    while (!id.empty() && (id.front() == '.' || id.front() == '-'))
        id.front() = '_';
    if (id.size() > 128)
        id.resize(128);
    return id;
}

// Escapes glob metacharacters in a literal directory prefix.
std::string globEscape(std::string_view literal) {
    std::string out;
    for (char c : literal) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\')
            out += '\\';
        out += c;
    }
    return out;
}

// The parser: collects the first error with file and line.
class Parser {
public:
    Parser(std::string_view displayName, fs::path baseDir)
        : name_(displayName), base_(std::move(baseDir)) {}

    std::expected<JobSpec, Error> run(std::string_view text);

private:
    struct Failure {
        std::string what;
    };

    [[noreturn]] void fail(const toml::source_region& where, std::string what) const {
        if (where.begin.line > 0)
            throw Failure{fmt::format("{}:{}: {}", name_, where.begin.line, what)};
        throw Failure{fmt::format("{}: {}", name_, what)};
    }
    [[noreturn]] void failNoLine(std::string what) const {
        throw Failure{fmt::format("{}: {}", name_, what)};
    }

    void checkKeys(const toml::table& table, std::span<const std::string_view> allowed,
                   std::string_view where) const;
    std::string str(const toml::node& node, std::string_view key) const;
    std::int64_t integer(const toml::node& node, std::string_view key, std::int64_t min,
                         std::int64_t max) const;
    std::int64_t duration(const toml::node& node, std::string_view key) const;
    std::vector<std::string> strings(const toml::node& node, std::string_view key) const;
    fs::path resolve(const std::string& p) const {
        return fs::path(p).is_absolute() ? fs::path(p) : base_ / p;
    }
    void addGlobUnits(const toml::node& node, JobSpec& job, std::vector<int>& lines) const;
    void addExplicitUnits(const toml::node& node, JobSpec& job, std::vector<int>& lines) const;
    InputFile input(const toml::node& node) const;

    // One part of the job file each, in the order run() checks them (the
    // first failure is the one reported).
    toml::table document(std::string_view text) const;
    ImageSpec image(const toml::table& doc) const;
    void commandAndEnv(const toml::table& doc, JobSpec& job) const;
    Resources resources(const toml::table& doc) const;
    Requirements requirements(const toml::table& doc) const;
    void timeoutAndPolicy(const toml::table& doc, JobSpec& job) const;
    std::vector<std::string> outputs(const toml::table& doc) const;
    void units(const toml::table& doc, JobSpec& job) const;

    std::string name_;
    fs::path base_;
};

void Parser::checkKeys(const toml::table& table, std::span<const std::string_view> allowed,
                       std::string_view where) const {
    for (auto&& [key, value] : table) {
        const std::string_view k = key.str();
        if (std::find(allowed.begin(), allowed.end(), k) != allowed.end())
            continue;
        std::string hint;
        std::size_t best = 3;
        for (auto a : allowed) {
            const auto d = editDistance(k, a);
            if (d < best) {
                best = d;
                hint = fmt::format(" (did you mean '{}'?)", a);
            }
        }
        const auto& region = key.source().begin.line ? key.source() : value.source();
        fail(region, fmt::format("unknown key '{}'{}{}", k,
                                 where.empty() ? "" : fmt::format(" in {}", where), hint));
    }
}

std::string Parser::str(const toml::node& node, std::string_view key) const {
    if (auto s = node.value<std::string>(); s && node.is_string())
        return *s;
    fail(node.source(), fmt::format("{} must be a string", key));
}

std::int64_t Parser::integer(const toml::node& node, std::string_view key, std::int64_t min,
                             std::int64_t max) const {
    if (!node.is_integer())
        fail(node.source(), fmt::format("{} must be an integer", key));
    const std::int64_t v = node.as_integer()->get();
    if (v < min)
        fail(node.source(), fmt::format("{} ({}) must be at least {}", key, v, min));
    if (v > max)
        fail(node.source(), fmt::format("{} ({}) must be at most {}", key, v, max));
    return v;
}

std::int64_t Parser::duration(const toml::node& node, std::string_view key) const {
    if (node.is_integer()) {
        const std::int64_t v = node.as_integer()->get();
        if (v <= 0 || v > std::numeric_limits<std::int64_t>::max() / 1000)
            fail(node.source(),
                 fmt::format("{} ({}) must be a positive number of seconds", key, v));
        return v * 1000;
    }
    if (node.is_string()) {
        const auto text = node.as_string()->get();
        if (auto ms = parseDurationMs(text))
            return *ms;
        fail(node.source(),
             fmt::format("{} ('{}') is not a duration (e.g. \"90s\", \"5m\", \"2h\")", key, text));
    }
    fail(node.source(), fmt::format("{} must be a duration string or a number of seconds", key));
}

std::vector<std::string> Parser::strings(const toml::node& node, std::string_view key) const {
    const auto* arr = node.as_array();
    if (!arr)
        fail(node.source(), fmt::format("{} must be an array of strings", key));
    std::vector<std::string> out;
    for (const auto& item : *arr) {
        if (!item.is_string())
            fail(item.source(), fmt::format("{} must be an array of strings", key));
        out.push_back(item.as_string()->get());
    }
    return out;
}

InputFile Parser::input(const toml::node& node) const {
    InputFile in;
    std::string path;
    const toml::source_region* where = &node.source();
    if (node.is_string()) {
        path = node.as_string()->get();
    } else if (const auto* t = node.as_table()) {
        checkKeys(*t, kInputKeys, "an input");
        const auto* p = t->get("path");
        if (!p)
            fail(node.source(), "input needs a path");
        path = str(*p, "path");
        where = &p->source();
        if (const auto* as = t->get("as")) {
            in.name = str(*as, "as");
            if (auto ok = safeRelativePath(in.name); !ok)
                fail(as->source(), fmt::format("input name '{}': {}", in.name, ok.error().what));
        }
    } else {
        fail(node.source(), "an input must be a path string or { path = ..., as = ... }");
    }
    if (path.empty())
        fail(*where, "input path is empty");
    in.source = resolve(path);
    std::error_code ec;
    if (!fs::is_regular_file(in.source, ec))
        fail(*where, fmt::format("input '{}' does not exist or is not a regular file", path));
    if (in.name.empty()) {
        in.name = in.source.filename().string();
        if (auto ok = safeRelativePath(in.name); !ok)
            fail(*where,
                 fmt::format("input '{}': {} (give it a name with 'as')", path, ok.error().what));
    }
    return in;
}

void Parser::addGlobUnits(const toml::node& node, JobSpec& job, std::vector<int>& lines) const {
    std::vector<std::pair<std::string, const toml::node*>> patterns;
    if (node.is_string()) {
        patterns.emplace_back(node.as_string()->get(), &node);
    } else if (const auto* arr = node.as_array()) {
        for (const auto& item : *arr) {
            if (!item.is_string())
                fail(item.source(), "inputs must be a glob string or an array of them");
            patterns.emplace_back(item.as_string()->get(), &item);
        }
    } else {
        fail(node.source(), "inputs must be a glob string or an array of them");
    }
    for (const auto& [pattern, where] : patterns) {
        if (pattern.empty())
            fail(where->source(), "inputs: empty glob");
        if (pattern.find("**") != std::string::npos)
            fail(where->source(),
                 fmt::format("inputs: bad glob '{}': '**' is not supported", pattern));
        int depth = 0;
        for (std::size_t i = 0; i < pattern.size(); ++i) {
            if (pattern[i] == '\\')
                ++i;
            else if (pattern[i] == '[')
                ++depth;
            else if (pattern[i] == ']' && depth > 0)
                --depth;
        }
        if (depth != 0)
            fail(where->source(), fmt::format("inputs: bad glob '{}': unclosed '['", pattern));
        const std::string full =
            fs::path(pattern).is_absolute() ? pattern : globEscape(base_.string() + "/") + pattern;
        glob_t g{};
        const int rc = ::glob(full.c_str(), GLOB_ERR, nullptr, &g);
        std::vector<fs::path> files;
        if (rc == 0) {
            for (std::size_t i = 0; i < g.gl_pathc; ++i) {
                fs::path p(g.gl_pathv[i]);
                std::error_code ec;
                if (fs::is_regular_file(p, ec))
                    files.push_back(std::move(p));
            }
        }
        ::globfree(&g);
        if (rc == GLOB_ABORTED)
            fail(where->source(),
                 fmt::format("inputs: cannot read the directories of '{}'", pattern));
        if (rc == GLOB_NOSPACE)
            throw std::bad_alloc();
        if (files.empty())
            fail(where->source(), fmt::format("inputs: '{}' matches no files", pattern));
        std::sort(files.begin(), files.end());
        for (auto& f : files) {
            UnitSpec unit;
            unit.id = sanitizeId(f.filename().string());
            InputFile in;
            in.name = unit.id; // sanitised: always a safe single-component name
            in.source = std::move(f);
            unit.inputs.push_back(std::move(in));
            job.units.push_back(std::move(unit));
            lines.push_back(static_cast<int>(where->source().begin.line));
        }
    }
}

void Parser::addExplicitUnits(const toml::node& node, JobSpec& job, std::vector<int>& lines) const {
    const auto* arr = node.as_array();
    if (!arr)
        fail(node.source(), "unit must be an array of tables ([[unit]])");
    for (const auto& item : *arr) {
        const auto* t = item.as_table();
        if (!t)
            fail(item.source(), "unit must be an array of tables ([[unit]])");
        checkKeys(*t, kUnitKeys, "[[unit]]");
        UnitSpec unit;
        const auto* id = t->get("id");
        if (!id)
            fail(item.source(), "[[unit]] needs an id");
        unit.id = str(*id, "id");
        if (!isSafeUnitId(unit.id))
            fail(id->source(),
                 fmt::format("unit id '{}' is not safe as a directory name (use 1-128 letters, "
                             "digits, '.', '_', '-'; not starting with '.' or '-')",
                             unit.id));
        if (const auto* inputs = t->get("inputs")) {
            const auto* list = inputs->as_array();
            if (!list)
                fail(inputs->source(), "unit inputs must be an array");
            std::set<std::string> names;
            for (const auto& i : *list) {
                auto in = input(i);
                if (!names.insert(in.name).second)
                    fail(i.source(),
                         fmt::format("unit '{}' has two inputs named '{}'", unit.id, in.name));
                unit.inputs.push_back(std::move(in));
            }
        }
        lines.push_back(static_cast<int>(id->source().begin.line));
        job.units.push_back(std::move(unit));
    }
}

toml::table Parser::document(std::string_view text) const {
    toml::table doc;
    try {
        doc = toml::parse(text, name_);
    } catch (const toml::parse_error& e) {
        fail(e.source(), std::string(e.description()));
    }
    checkKeys(doc, kTopKeys, "");
    return doc;
}

ImageSpec Parser::image(const toml::table& doc) const {
    ImageSpec spec;
    const auto* reference = doc.get("image");
    const auto* archive = doc.get("image_archive");
    if (reference && archive)
        fail(archive->source(), "give either image or image_archive, not both");
    if (reference) {
        spec.reference = str(*reference, "image");
        if (spec.reference.empty())
            fail(reference->source(), "image is empty");
    } else if (archive) {
        const auto path = str(*archive, "image_archive");
        spec.archive = resolve(path);
        std::error_code ec;
        if (!fs::is_regular_file(*spec.archive, ec))
            fail(archive->source(), fmt::format("image_archive '{}' does not exist", path));
    } else {
        failNoLine("missing image: set image = \"REFERENCE\" or image_archive = \"FILE.tar\"");
    }
    return spec;
}

void Parser::commandAndEnv(const toml::table& doc, JobSpec& job) const {
    if (const auto* n = doc.get("command"))
        job.command = strings(*n, "command");
    const auto* n = doc.get("env");
    if (!n)
        return;
    const auto* t = n->as_table();
    if (!t)
        fail(n->source(), "env must be a table of strings");
    for (auto&& [k, v] : *t) {
        const std::string_view key = k.str();
        const bool ok = !key.empty() && !(key[0] >= '0' && key[0] <= '9') &&
                        std::all_of(key.begin(), key.end(), [](char c) {
                            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                   (c >= '0' && c <= '9') || c == '_';
                        });
        if (!ok)
            fail(k.source(), fmt::format("env: '{}' is not a valid variable name", key));
        job.env.emplace(std::string(key), str(v, fmt::format("env.{}", key)));
    }
}

Resources Parser::resources(const toml::table& doc) const {
    Resources res;
    const auto* n = doc.get("resources");
    if (!n)
        return res;
    const auto* t = n->as_table();
    if (!t)
        fail(n->source(), "resources must be a table");
    checkKeys(*t, kResourceKeys, "[resources]");
    if (const auto* c = t->get("cpus")) {
        if (!c->is_number())
            fail(c->source(), "resources.cpus must be a number");
        const double v = c->value<double>().value_or(0);
        if (!(v > 0 && v <= 1024))
            fail(c->source(), fmt::format("resources.cpus ({}) must be above 0", v));
        res.cpus = v;
    }
    if (const auto* m = t->get("memory")) {
        std::optional<std::uint64_t> bytes;
        if (m->is_integer() && m->as_integer()->get() > 0)
            bytes = static_cast<std::uint64_t>(m->as_integer()->get());
        else if (m->is_string())
            bytes = parseSize(m->as_string()->get());
        if (!bytes || *bytes < (1u << 20))
            fail(m->source(),
                 "resources.memory must be a size of at least 1M (e.g. \"512M\", \"1G\")");
        res.memoryBytes = *bytes;
    }
    if (const auto* p = t->get("pids"))
        res.pids = static_cast<std::uint32_t>(integer(*p, "resources.pids", 1, 1 << 20));
    return res;
}

Requirements Parser::requirements(const toml::table& doc) const {
    Requirements req;
    const auto* n = doc.get("requirements");
    if (!n)
        return req;
    const auto* t = n->as_table();
    if (!t)
        fail(n->source(), "requirements must be a table");
    checkKeys(*t, kRequirementKeys, "[requirements]");
    if (const auto* a = t->get("arch"))
        req.arch = a->is_string() ? std::vector{str(*a, "requirements.arch")}
                                  : strings(*a, "requirements.arch");
    if (const auto* l = t->get("labels"))
        req.labels = strings(*l, "requirements.labels");
    for (const auto& text : req.arch)
        if (text.empty() || text.size() > 64)
            fail(t->get("arch")->source(), "requirements.arch: each must be 1 to 64 characters");
    for (const auto& text : req.labels)
        if (text.empty() || text.size() > 64)
            fail(t->get("labels")->source(),
                 "requirements.labels: each must be 1 to 64 characters");
    return req;
}

void Parser::timeoutAndPolicy(const toml::table& doc, JobSpec& job) const {
    if (const auto* n = doc.get("timeout"))
        job.timeoutMs = duration(*n, "timeout");

    auto& pol = job.policy;
    const auto* rNode = doc.get("replicas");
    const auto* qNode = doc.get("quorum");
    if (rNode)
        pol.replicas = static_cast<std::uint32_t>(integer(*rNode, "replicas", 1, 100));
    if (qNode)
        pol.quorum = static_cast<std::uint32_t>(integer(*qNode, "quorum", 1, 100));
    else
        pol.quorum = std::min<std::uint32_t>(pol.quorum, pol.replicas);
    if (pol.quorum > pol.replicas)
        fail(qNode->source(),
             fmt::format("quorum ({}) is larger than replicas ({})", pol.quorum, pol.replicas));
    if (const auto* n = doc.get("max_errors"))
        pol.maxErrors = static_cast<std::uint32_t>(integer(*n, "max_errors", 0, 1000));
    pol.maxTotalResults = std::max<std::uint32_t>(10, 2 * pol.replicas + pol.maxErrors);
    if (const auto* n = doc.get("max_total_results")) {
        pol.maxTotalResults =
            static_cast<std::uint32_t>(integer(*n, "max_total_results", 1, 10000));
        if (pol.maxTotalResults < pol.replicas)
            fail(n->source(), fmt::format("max_total_results ({}) is smaller than replicas ({})",
                                          pol.maxTotalResults, pol.replicas));
    }
    pol.leaseMs = 2 * job.timeoutMs + 60'000;
    if (const auto* n = doc.get("deadline")) {
        pol.leaseMs = duration(*n, "deadline");
        if (pol.leaseMs <= job.timeoutMs)
            fail(n->source(), fmt::format("deadline ({}s) must be longer than timeout ({}s): it "
                                          "also covers moving inputs and outputs",
                                          pol.leaseMs / 1000, job.timeoutMs / 1000));
    }
}

std::vector<std::string> Parser::outputs(const toml::table& doc) const {
    const auto* n = doc.get("outputs");
    if (!n)
        return {};
    std::vector<std::string> list = strings(*n, "outputs");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& o = list[i];
        const auto& where = n->as_array()->get(i)->source();
        if (auto ok = safeRelativePath(o); !ok)
            fail(where, fmt::format("outputs: '{}': {}", o, ok.error().what));
        if (o == "stdout" || o == "stderr")
            fail(where, fmt::format("outputs: '{}' is always collected; remove it", o));
        if (o != "out" && !o.starts_with("out/"))
            fail(where, fmt::format("outputs: '{}' is not below out/, the only directory "
                                    "collected from the container",
                                    o));
        if (!seen.insert(o).second)
            fail(where, fmt::format("outputs: '{}' listed twice", o));
    }
    return list;
}

void Parser::units(const toml::table& doc, JobSpec& job) const {
    std::vector<int> lines; // line of each unit's definition, for messages
    if (const auto* n = doc.get("inputs"))
        addGlobUnits(*n, job, lines);
    if (const auto* n = doc.get("unit"))
        addExplicitUnits(*n, job, lines);
    if (job.units.empty())
        failNoLine("no units: set inputs = \"data/*.txt\" (one unit per file) or add "
                   "[[unit]] entries");
    auto failAtLine = [this](int line, std::string what) {
        toml::source_region at;
        at.begin.line = static_cast<toml::source_index>(line);
        fail(at, std::move(what));
    };
    std::map<std::string, int> ids;
    for (std::size_t i = 0; i < job.units.size(); ++i) {
        auto [it, fresh] = ids.emplace(job.units[i].id, lines[i]);
        if (!fresh)
            failAtLine(lines[i], fmt::format("duplicate unit id '{}' (first defined on line {})",
                                             job.units[i].id, it->second));
    }
    if (!hasCommandPlaceholder(job.command))
        return;
    for (std::size_t i = 0; i < job.units.size(); ++i) {
        if (job.units[i].inputs.empty())
            failAtLine(lines[i], fmt::format("command uses {{}} but unit '{}' has no inputs",
                                             job.units[i].id));
    }
}

std::expected<JobSpec, Error> Parser::run(std::string_view text) {
    try {
        const toml::table doc = document(text);
        JobSpec job;
        const auto* name = doc.get("name");
        job.name = name ? str(*name, "name") : "job";
        job.image = image(doc);
        commandAndEnv(doc, job);
        job.resources = resources(doc);
        job.requirements = requirements(doc);
        timeoutAndPolicy(doc, job); // one step: the deadline is checked against the timeout
        job.outputs = outputs(doc);
        units(doc, job); // after the command: its "{}" needs every unit to have an input
        return job;
    } catch (const Failure& f) {
        return std::unexpected(Error(Error::Code::kInvalidArgument, f.what));
    }
}

// Every unit's assign must pass the judge workers apply (wire/judge.hpp):
// a job that breaks a protocol limit fails here, not on every worker.
std::expected<JobSpec, Error> withinProtocol(std::expected<JobSpec, Error> job,
                                             std::string_view displayName) {
    if (!job)
        return job;
    for (const auto& unit : job->units) {
        wire::Assign a;
        a.unitId = unit.id;
        a.image = job->image.archive ? "" : job->image.reference;
        if (job->image.archive)
            a.imageArchive = wire::RawDigest{1};
        a.command = unitCommand(*job, unit);
        if (a.command.empty())
            a.command = {"(the image's default)"}; // the worker's admission decides
        a.env = job->env;
        for (const auto& in : unit.inputs)
            a.inputs.push_back(wire::FileRef{in.name, wire::RawDigest{1}, 0});
        a.outputs = job->outputs;
        a.timeoutMs = job->timeoutMs;
        a.memoryBytes = job->resources.memoryBytes;
        a.cpus = job->resources.cpus;
        a.pids = job->resources.pids;
        if (auto ok = wire::judge(a); !ok)
            return std::unexpected(
                Error(Error::Code::kInvalidArgument,
                      fmt::format("{}{}unit '{}' breaks a protocol limit that workers enforce: {}",
                                  displayName, displayName.empty() ? "" : ": ", unit.id,
                                  ok.error().what)));
    }
    return job;
}

} // namespace

std::expected<JobSpec, Error> parseJobToml(std::string_view text, std::string_view displayName,
                                           const fs::path& baseDir) {
    return withinProtocol(Parser(displayName, baseDir).run(text), displayName);
}

std::expected<JobSpec, Error> loadJobFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::unexpected(
            Error(Error::Code::kIo, fmt::format("{}: cannot open the job file", path.string())));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        return std::unexpected(
            Error(Error::Code::kIo, fmt::format("{}: cannot read the job file", path.string())));
    fs::path base = path.parent_path();
    if (base.empty())
        base = ".";
    return parseJobToml(text.str(), path.string(), base);
}

std::string jobSpecToToml(const JobSpec& job) {
    toml::table t;
    t.insert("name", job.name);
    if (job.image.archive)
        t.insert("image_archive", fs::absolute(*job.image.archive).string());
    else
        t.insert("image", job.image.reference);
    toml::array command;
    for (const auto& w : job.command)
        command.push_back(w);
    t.insert("command", std::move(command));
    toml::table env;
    for (const auto& [k, v] : job.env)
        env.insert(k, v);
    t.insert("env", std::move(env));
    toml::table res;
    res.insert("cpus", job.resources.cpus);
    res.insert("memory", static_cast<std::int64_t>(job.resources.memoryBytes));
    res.insert("pids", static_cast<std::int64_t>(job.resources.pids));
    t.insert("resources", std::move(res));
    const auto& req = job.requirements;
    if (req != Requirements{}) {
        toml::table rt;
        toml::array arch, labels;
        for (const auto& a : req.arch)
            arch.push_back(a);
        for (const auto& l : req.labels)
            labels.push_back(l);
        rt.insert("arch", std::move(arch));
        rt.insert("labels", std::move(labels));
        t.insert("requirements", std::move(rt));
    }
    t.insert("timeout", fmt::format("{}ms", job.timeoutMs));
    t.insert("deadline", fmt::format("{}ms", job.policy.leaseMs));
    t.insert("replicas", static_cast<std::int64_t>(job.policy.replicas));
    t.insert("quorum", static_cast<std::int64_t>(job.policy.quorum));
    t.insert("max_errors", static_cast<std::int64_t>(job.policy.maxErrors));
    t.insert("max_total_results", static_cast<std::int64_t>(job.policy.maxTotalResults));
    toml::array outputs;
    for (const auto& o : job.outputs)
        outputs.push_back(o);
    t.insert("outputs", std::move(outputs));
    toml::array units;
    for (const auto& u : job.units) {
        toml::table ut;
        ut.insert("id", u.id);
        toml::array inputs;
        for (const auto& in : u.inputs) {
            toml::table it;
            it.insert("path", fs::absolute(in.source).string());
            it.insert("as", in.name);
            inputs.push_back(std::move(it));
        }
        ut.insert("inputs", std::move(inputs));
        units.push_back(std::move(ut));
    }
    t.insert("unit", std::move(units));
    std::ostringstream out;
    out << t << "\n";
    return out.str();
}

std::expected<JobSpec, Error> oneLineJob(const OneLineJob& args) {
    auto bad = [](std::string what) {
        return std::unexpected(Error(Error::Code::kInvalidArgument, std::move(what)));
    };
    JobSpec job;
    job.name = "one-liner";
    if (args.image.empty())
        return bad("missing --image");
    job.image.reference = args.image;
    if (args.replicas < 1 || args.replicas > 100)
        return bad(fmt::format("--replicas ({}) must be between 1 and 100", args.replicas));
    if (args.quorum < 1)
        return bad("--quorum must be at least 1");
    if (args.quorum > args.replicas)
        return bad(fmt::format("--quorum ({}) is larger than --replicas ({})", args.quorum,
                               args.replicas));
    job.policy.replicas = args.replicas;
    job.policy.quorum = args.quorum;
    job.policy.maxTotalResults =
        std::max<std::uint32_t>(10, 2 * job.policy.replicas + job.policy.maxErrors);
    if (args.timeout) {
        auto ms = parseDurationMs(*args.timeout);
        if (!ms)
            return bad(
                fmt::format("--timeout '{}' is not a duration (e.g. 90s, 5m)", *args.timeout));
        job.timeoutMs = *ms;
    }
    job.policy.leaseMs = 2 * job.timeoutMs + 60'000;
    if (args.command.empty())
        return bad("missing command: give it after --");
    job.command = args.command;
    if (args.files.empty())
        return bad("no input files: list them after :::");
    std::map<std::string, std::string> ids;
    for (const auto& f : args.files) {
        std::error_code ec;
        if (!fs::is_regular_file(f, ec))
            return bad(
                fmt::format("input '{}' does not exist or is not a regular file", f.string()));
        UnitSpec unit;
        unit.id = sanitizeId(f.filename().string());
        if (!isSafeUnitId(unit.id))
            return bad(fmt::format("input '{}' has no usable file name", f.string()));
        if (auto [it, fresh] = ids.emplace(unit.id, f.string()); !fresh)
            return bad(fmt::format("inputs '{}' and '{}' give the same unit id '{}'", it->second,
                                   f.string(), unit.id));
        unit.inputs.push_back({f, unit.id});
        job.units.push_back(std::move(unit));
    }
    return withinProtocol(std::move(job), "");
}

} // namespace swarm::submitter
