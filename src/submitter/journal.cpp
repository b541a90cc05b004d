#include "submitter/journal.hpp"

#include "base/unique_fd.hpp"
#include "wire/bytes.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <map>
#include <system_error>
#include <thread>
#include <utility>

namespace swarm::submitter {

namespace fs = std::filesystem;

namespace {

constexpr int kFormat = 1;

class SqliteCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "sqlite"; }
    std::string message(int code) const override { return sqlite3_errstr(code); }
};

const std::error_category& sqliteCategory() {
    static const SqliteCategory category;
    return category;
}

[[noreturn]] void throwSqlite(sqlite3* db, int rc, std::string_view what) {
    throw std::system_error(
        rc, sqliteCategory(),
        fmt::format("{}: {}", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

struct DbCloser {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
    void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};

void exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw std::system_error(rc, sqliteCategory(), fmt::format("journal: {}", msg));
    }
}

// A prepared statement; bindings are 1-based like SQLite's.
class Statement {
public:
    Statement() = default;
    Statement(sqlite3* db, std::string_view sql) : db_(db) {
        sqlite3_stmt* raw = nullptr;
        const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
        if (rc != SQLITE_OK)
            throwSqlite(db, rc, "journal: prepare");
        stmt_.reset(raw);
    }

    Statement& bind(int i, std::string_view v) {
        check(sqlite3_bind_text(stmt_.get(), i, v.data(), static_cast<int>(v.size()),
                                SQLITE_TRANSIENT));
        return *this;
    }
    Statement& bind(int i, std::int64_t v) {
        check(sqlite3_bind_int64(stmt_.get(), i, v));
        return *this;
    }
    Statement& bindNull(int i) {
        check(sqlite3_bind_null(stmt_.get(), i));
        return *this;
    }
    Statement& bind(int i, const std::optional<wire::Digest>& d) {
        return d ? bind(i, std::string_view(d->str())) : bindNull(i);
    }

    /// True when a row is available; false when done.
    bool step() {
        const int rc = sqlite3_step(stmt_.get());
        if (rc == SQLITE_ROW)
            return true;
        if (rc == SQLITE_DONE)
            return false;
        throwSqlite(db_, rc, "journal: step");
    }
    void run() {
        while (step()) {
        }
        reset();
    }
    void reset() {
        sqlite3_reset(stmt_.get());
        sqlite3_clear_bindings(stmt_.get());
    }

    bool isPrepared() const noexcept { return stmt_ != nullptr; }
    bool isNull(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }
    std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
    std::string text(int col) const {
        const auto* p = sqlite3_column_text(stmt_.get(), col);
        const int n = sqlite3_column_bytes(stmt_.get(), col);
        return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
                 : std::string();
    }
    std::optional<wire::Digest> digest(int col) const {
        if (isNull(col))
            return std::nullopt;
        auto d = wire::Digest::parse(text(col));
        if (!d)
            throw std::system_error(SQLITE_CORRUPT, sqliteCategory(), "journal: bad digest");
        return d;
    }

private:
    void check(int rc) {
        if (rc != SQLITE_OK)
            throwSqlite(db_, rc, "journal: bind");
    }
    sqlite3* db_ = nullptr;
    std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
};

// Rolls back unless committed.
class Transaction {
public:
    explicit Transaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE"); }
    ~Transaction() {
        if (db_)
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
        exec(db_, "COMMIT");
        db_ = nullptr;
    }

private:
    sqlite3* db_;
};

// An exclusive advisory lock on DIR/journal.lock, held while open (the
// lock goes with the descriptor).
class DirLock {
public:
    DirLock() = default;
    explicit DirLock(const fs::path& dir) {
        const fs::path p = dir / "journal.lock";
        fd_.reset(::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (!fd_)
            throw std::system_error(errno, std::generic_category(), "open " + p.string());
        // `swarm-submit jobs` probes the lock for an instant (Journal::inUse):
        // a run that meets such a probe tries again rather than give up.
        int rc = ::flock(fd_.get(), LOCK_EX | LOCK_NB);
        for (int tries = 0; rc != 0 && errno == EWOULDBLOCK && tries < 20; ++tries) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            rc = ::flock(fd_.get(), LOCK_EX | LOCK_NB);
        }
        if (rc != 0) {
            const int err = errno;
            if (err == EWOULDBLOCK)
                throw std::system_error(EBUSY, std::generic_category(),
                                        "job directory " + dir.string() +
                                            " is in use by another swarm-submit");
            throw std::system_error(err, std::generic_category(), "lock " + p.string());
        }
    }

private:
    base::UniqueFd fd_;
};

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE units(
    id TEXT PRIMARY KEY,
    ord INTEGER NOT NULL UNIQUE,
    state TEXT NOT NULL,
    digest TEXT,
    accepted_replica INTEGER,
    agreed TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '');
CREATE TABLE replicas(
    unit TEXT NOT NULL REFERENCES units(id),
    replica INTEGER NOT NULL,
    worker TEXT NOT NULL,
    state TEXT NOT NULL,
    issued_ms INTEGER NOT NULL,
    lease_ms INTEGER NOT NULL,
    exit_code INTEGER NOT NULL,
    digest TEXT,
    reason TEXT NOT NULL DEFAULT '',
    resumed_from INTEGER,
    PRIMARY KEY(unit, replica));
CREATE TABLE outputs(
    unit TEXT NOT NULL,
    replica INTEGER NOT NULL,
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    truncated INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(unit, replica, name),
    FOREIGN KEY(unit, replica) REFERENCES replicas(unit, replica));
CREATE VIEW results AS
    SELECT u.id AS unit, o.name, o.digest, o.size FROM units u
    JOIN outputs o ON o.unit = u.id AND o.replica = u.accepted_replica
    WHERE u.state = 'valid';
)sql";

std::string joinLines(const std::vector<WorkerId>& items) {
    std::string out;
    for (const auto& s : items) {
        if (!out.empty())
            out += '\n';
        out += s;
    }
    return out;
}

std::vector<WorkerId> splitLines(const std::string& text) {
    std::vector<WorkerId> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto nl = text.find('\n', start);
        if (nl == std::string::npos)
            nl = text.size();
        out.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

DbHandle openDb(const fs::path& file, int flags) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    DbHandle db(raw);
    if (rc != SQLITE_OK)
        throwSqlite(db.get(), rc, "journal: open " + file.string());
    sqlite3_extended_result_codes(db.get(), 1);
    sqlite3_busy_timeout(db.get(), 5000);
    return db;
}

// A value read back from the journal, or SQLITE_CORRUPT when it is not one.
// A fresh batch id: 16 random bytes as 32 lower-case hex digits.
std::string newBatchId() {
    std::array<std::uint8_t, 16> bytes{};
    wire::randomBytes(bytes);
    return wire::toHex(bytes);
}

template <typename T> T orCorrupt(std::optional<T> value, const char* what) {
    if (!value)
        throw std::system_error(SQLITE_CORRUPT, sqliteCategory(), what);
    return *value;
}

bool hasColumn(sqlite3* db, const char* table, std::string_view column) {
    Statement q(db, fmt::format("PRAGMA table_info({})", table));
    while (q.step())
        if (q.text(1) == column)
            return true;
    return false;
}

// Journals written before outputs had a truncation flag get the column.
void addTruncatedColumn(sqlite3* db) {
    if (!hasColumn(db, "outputs", "truncated"))
        exec(db, "ALTER TABLE outputs ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0");
}

// Journals written before checkpoints get the replica's checkpoint origin.
void addResumedFromColumn(sqlite3* db) {
    if (!hasColumn(db, "replicas", "resumed_from"))
        exec(db, "ALTER TABLE replicas ADD COLUMN resumed_from INTEGER");
}

} // namespace

struct Journal::Impl {
    DirLock lock;
    DbHandle db;
    Statement updateUnit;
    Statement upsertReplica;
    Statement deleteOutputs;
    Statement insertOutput;

    void prepare() {
        updateUnit = Statement(db.get(), "UPDATE units SET state = ?2, digest = ?3, "
                                         "accepted_replica = ?4, agreed = ?5, reason = ?6 "
                                         "WHERE id = ?1 AND state = 'pending'");
        upsertReplica = Statement(
            db.get(),
            "INSERT INTO replicas(unit, replica, worker, state, issued_ms, lease_ms, exit_code, "
            "digest, reason, resumed_from) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
            "ON CONFLICT(unit, replica) DO UPDATE SET worker = excluded.worker, "
            "state = excluded.state, issued_ms = excluded.issued_ms, "
            "lease_ms = excluded.lease_ms, exit_code = excluded.exit_code, "
            "digest = excluded.digest, reason = excluded.reason, "
            "resumed_from = excluded.resumed_from");
        deleteOutputs = Statement(db.get(), "DELETE FROM outputs WHERE unit = ?1 AND replica = ?2");
        insertOutput =
            Statement(db.get(), "INSERT INTO outputs(unit, replica, name, digest, size, truncated) "
                                "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    }
};

Journal::Journal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Journal::Journal(Journal&&) noexcept = default;
Journal& Journal::operator=(Journal&&) noexcept = default;
Journal::~Journal() = default;

bool Journal::exists(const fs::path& jobDir) {
    std::error_code ec;
    return fs::exists(path(jobDir), ec);
}

bool Journal::inUse(const fs::path& jobDir) {
    base::UniqueFd fd(::open((jobDir / "journal.lock").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return false;
    return ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

Journal Journal::create(const fs::path& jobDir, const JobSpec& job) {
    fs::create_directories(jobDir);
    auto impl = std::make_unique<Impl>();
    impl->lock = DirLock(jobDir);
    if (exists(jobDir))
        throw std::system_error(EEXIST, std::generic_category(),
                                "a journal already exists in " + jobDir.string());
    impl->db = openDb(path(jobDir), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3* db = impl->db.get();
    exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");
    {
        Transaction tx(db);
        exec(db, kSchema);
        Statement meta(db, "INSERT INTO meta(key, value) VALUES(?1, ?2)");
        meta.bind(1, std::string_view("format")).bind(2, std::string_view(std::to_string(kFormat)));
        meta.run();
        meta.bind(1, std::string_view("job")).bind(2, std::string_view(jobSpecToToml(job)));
        meta.run();
        meta.bind(1, std::string_view("batch")).bind(2, std::string_view(newBatchId()));
        meta.run();
        Statement unit(db, "INSERT INTO units(id, ord, state) VALUES(?1, ?2, 'pending')");
        std::int64_t ord = 0;
        for (const auto& u : job.units) {
            unit.bind(1, std::string_view(u.id)).bind(2, ord++);
            unit.run();
        }
        tx.commit();
    }
    impl->prepare();
    return Journal(std::move(impl));
}

Journal Journal::open(const fs::path& jobDir, Access access) {
    if (!exists(jobDir))
        throw std::system_error(ENOENT, std::generic_category(),
                                "no journal in " + jobDir.string());
    auto impl = std::make_unique<Impl>();
    const bool rw = access == Access::kReadWrite;
    if (rw)
        impl->lock = DirLock(jobDir);
    impl->db = openDb(path(jobDir), rw ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY);
    sqlite3* db = impl->db.get();
    if (rw)
        exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");
    bool ok = false;
    try {
        Statement q(db, "SELECT value FROM meta WHERE key = 'format'");
        ok = q.step() && q.text(0) == std::to_string(kFormat);
    } catch (const std::system_error&) {
        ok = false;
    }
    if (!ok)
        throw std::system_error(SQLITE_CORRUPT, sqliteCategory(),
                                path(jobDir).string() + " is not a swarm journal (format " +
                                    std::to_string(kFormat) + ")");
    if (rw) {
        addTruncatedColumn(db);
        addResumedFromColumn(db);
        // A journal from before batch ids gets one on its first read-write
        // open; from then on every run of the job names the same batch.
        Statement q(db, "INSERT INTO meta(key, value) VALUES('batch', ?1) "
                        "ON CONFLICT(key) DO NOTHING");
        q.bind(1, std::string_view(newBatchId()));
        q.run();
        impl->prepare();
    }
    return Journal(std::move(impl));
}

std::string Journal::batchId() const {
    Statement q(impl_->db.get(), "SELECT value FROM meta WHERE key = 'batch'");
    return q.step() ? q.text(0) : std::string();
}

std::string Journal::specToml() const {
    Statement q(impl_->db.get(), "SELECT value FROM meta WHERE key = 'job'");
    if (!q.step())
        throw std::system_error(SQLITE_CORRUPT, sqliteCategory(), "journal: no job spec");
    return q.text(0);
}

std::string Journal::inputListing() const {
    Statement q(impl_->db.get(), "SELECT value FROM meta WHERE key = 'inputs'");
    return q.step() ? q.text(0) : std::string();
}

void Journal::recordInputListing(const std::string& listing) {
    Statement q(impl_->db.get(), "INSERT INTO meta(key, value) VALUES('inputs', ?1) "
                                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    q.bind(1, std::string_view(listing));
    q.run();
}

std::expected<JobSpec, wire::Error> Journal::job() const {
    return parseJobToml(specToml(), "journal job spec", "/");
}

Snapshot Journal::load() const {
    sqlite3* db = impl_->db.get();
    Snapshot snap;
    Statement units(db, "SELECT id, state, digest, accepted_replica, agreed, reason FROM units "
                        "ORDER BY ord");
    while (units.step()) {
        UnitRecord u;
        u.id = units.text(0);
        u.state = orCorrupt(parseUnitState(units.text(1)), "journal: bad unit state");
        u.digest = units.digest(2);
        if (!units.isNull(3))
            u.acceptedReplica = static_cast<std::uint32_t>(units.integer(3));
        u.agreed = splitLines(units.text(4));
        u.reason = units.text(5);
        snap.units.push_back(std::move(u));
    }
    std::map<std::pair<std::string, std::uint32_t>, std::vector<OutputFile>> outputs;
    // A read-only open of an older journal has no truncation column.
    Statement outs(db, hasColumn(db, "outputs", "truncated")
                           ? "SELECT unit, replica, name, digest, size, truncated FROM outputs "
                             "ORDER BY unit, replica, name"
                           : "SELECT unit, replica, name, digest, size, 0 FROM outputs "
                             "ORDER BY unit, replica, name");
    while (outs.step()) {
        OutputFile o;
        o.name = outs.text(2);
        o.digest = *outs.digest(3);
        o.size = static_cast<std::uint64_t>(outs.integer(4));
        o.truncated = outs.integer(5) != 0;
        outputs[{outs.text(0), static_cast<std::uint32_t>(outs.integer(1))}].push_back(
            std::move(o));
    }
    // A read-only open of an older journal has no checkpoint origins.
    Statement reps(
        db, fmt::format("SELECT r.unit, r.replica, r.worker, r.state, r.issued_ms, "
                        "r.lease_ms, r.exit_code, r.digest, r.reason, {} FROM replicas r "
                        "JOIN units u ON u.id = r.unit ORDER BY u.ord, r.replica",
                        hasColumn(db, "replicas", "resumed_from") ? "r.resumed_from" : "NULL"));
    while (reps.step()) {
        ReplicaRecord r;
        r.unitId = reps.text(0);
        r.replica = static_cast<std::uint32_t>(reps.integer(1));
        r.worker = reps.text(2);
        r.state = orCorrupt(parseReplicaState(reps.text(3)), "journal: bad replica state");
        r.issuedMs = reps.integer(4);
        r.leaseExpiresMs = reps.integer(5);
        r.exitCode = static_cast<std::int32_t>(reps.integer(6));
        r.digest = reps.digest(7);
        r.reason = reps.text(8);
        if (!reps.isNull(9))
            r.resumedFrom = static_cast<std::uint32_t>(reps.integer(9));
        if (auto it = outputs.find({r.unitId, r.replica}); it != outputs.end())
            r.outputs = std::move(it->second);
        snap.replicas.push_back(std::move(r));
    }
    return snap;
}

std::optional<std::int64_t> Journal::cancelledAt() const {
    Statement q(impl_->db.get(), "SELECT value FROM meta WHERE key = 'cancelled'");
    if (!q.step())
        return std::nullopt;
    try {
        return std::stoll(q.text(0));
    } catch (const std::exception&) {
        throw std::system_error(SQLITE_CORRUPT, sqliteCategory(), "journal: bad cancel time");
    }
}

void Journal::recordCancel(std::int64_t ms) {
    Statement q(impl_->db.get(), "INSERT INTO meta(key, value) VALUES('cancelled', ?1) "
                                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    q.bind(1, std::string_view(std::to_string(ms)));
    q.run();
}

void Journal::clearCancel() {
    Statement q(impl_->db.get(), "DELETE FROM meta WHERE key = 'cancelled'");
    q.run();
}

Journal::CancelTally Journal::cancelOffline(std::int64_t ms) {
    sqlite3* db = impl_->db.get();
    if (!db || !impl_->updateUnit.isPrepared())
        throw std::system_error(SQLITE_READONLY, sqliteCategory(), "journal: opened read-only");
    Transaction tx(db);
    CancelTally tally;
    {
        Statement q(db, "SELECT COUNT(*), COUNT(DISTINCT worker) FROM replicas "
                        "WHERE state = 'in-flight'");
        if (q.step()) {
            tally.replicas = static_cast<std::size_t>(q.integer(0));
            tally.workers = static_cast<std::size_t>(q.integer(1));
        }
    }
    Statement given(db, "UPDATE replicas SET state = ?1, reason = ?2 WHERE state = 'in-flight'");
    given.bind(1, stateName(ReplicaState::kGivenBack)).bind(2, kResearcherCancel);
    given.run();
    recordCancel(ms);
    tx.commit();
    return tally;
}

void Journal::commit(const StateBatch& batch) {
    auto& im = *impl_;
    if (!im.db || !im.updateUnit.isPrepared())
        throw std::system_error(SQLITE_READONLY, sqliteCategory(), "journal: opened read-only");
    Transaction tx(im.db.get());
    // Replicas first: a unit's accepted replica must exist when the unit row
    // points at it.
    for (const auto& r : batch.replicas) {
        im.upsertReplica.bind(1, std::string_view(r.unitId))
            .bind(2, static_cast<std::int64_t>(r.replica))
            .bind(3, std::string_view(r.worker))
            .bind(4, stateName(r.state))
            .bind(5, r.issuedMs)
            .bind(6, r.leaseExpiresMs)
            .bind(7, static_cast<std::int64_t>(r.exitCode))
            .bind(8, r.digest)
            .bind(9, std::string_view(r.reason));
        if (r.resumedFrom)
            im.upsertReplica.bind(10, static_cast<std::int64_t>(*r.resumedFrom));
        else
            im.upsertReplica.bindNull(10);
        im.upsertReplica.run();
        // Every ended replica keeps what it reported: the outputs of a
        // success, the logs of an error.
        if (r.state != ReplicaState::kInFlight) {
            im.deleteOutputs.bind(1, std::string_view(r.unitId))
                .bind(2, static_cast<std::int64_t>(r.replica));
            im.deleteOutputs.run();
            for (const auto& o : r.outputs) {
                im.insertOutput.bind(1, std::string_view(r.unitId))
                    .bind(2, static_cast<std::int64_t>(r.replica))
                    .bind(3, std::string_view(o.name))
                    .bind(4, std::string_view(o.digest.str()))
                    .bind(5, static_cast<std::int64_t>(o.size))
                    .bind(6, std::int64_t{o.truncated ? 1 : 0});
                im.insertOutput.run();
            }
        }
    }
    for (const auto& u : batch.units) {
        im.updateUnit.bind(1, std::string_view(u.id)).bind(2, stateName(u.state)).bind(3, u.digest);
        if (u.acceptedReplica)
            im.updateUnit.bind(4, static_cast<std::int64_t>(*u.acceptedReplica));
        else
            im.updateUnit.bindNull(4);
        im.updateUnit.bind(5, std::string_view(joinLines(u.agreed)))
            .bind(6, std::string_view(u.reason));
        im.updateUnit.run();
        // A decided unit never changes again: refusing here is what makes
        // "validated twice" impossible even if a caller replays an event.
        if (sqlite3_changes(im.db.get()) != 1)
            throw std::system_error(SQLITE_CONSTRAINT, sqliteCategory(),
                                    "journal: unit '" + u.id + "' is unknown or already decided");
    }
    tx.commit();
}

} // namespace swarm::submitter
