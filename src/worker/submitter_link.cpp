#include "worker/submitter_link.hpp"

#include "base/event_loop.hpp"
#include "net/blob_store.hpp"
#include "net/blob_transfer.hpp"
#include "net/credentials.hpp"
#include "net/dialer.hpp"
#include "net/peer_check.hpp"
#include "net/session.hpp"
#include "wire/clock.hpp"
#include "wire/identity.hpp"
#include "wire/log.hpp"
#include "worker/held_results.hpp"
#include "worker/live_log.hpp"
#include "worker/proven_blobs.hpp"
#include "worker/unit_runner.hpp"
#include "worker/worker.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <future>

namespace swarm::worker {

namespace {
const wire::Logger kLog("worker");
// How long the reader waits for a message before it looks whether it is
// being closed; a close aborts the wait anyway.
constexpr auto kIdle = std::chrono::seconds(1);

// A copy of a message whose storage outlives the receive that produced it.
wire::RawMessage cloneMessage(const wire::RawMessage& raw) {
    wire::RawMessage copy;
    copy.type = raw.type;
    copy.handle = msgpack::clone(raw.body);
    copy.body = copy.handle.get();
    return copy;
}

// Runs `f` on the loop and waits for its answer; nullopt if the loop
// stopped (its dropped task breaks the promise). No timeout: an answer
// given after the asker left would leave the table expecting a fetch.
template <typename F> auto ask(base::EventLoop& loop, F f) -> std::optional<decltype(f())> {
    using R = decltype(f());
    auto promise = std::make_shared<std::promise<R>>();
    auto future = promise->get_future();
    // Only the task holds the promise: dropped unrun, it breaks it.
    loop.post([promise = std::move(promise), f = std::move(f)] { promise->set_value(f()); });
    try {
        return future.get();
    } catch (const std::future_error&) { // dropped by a stopping loop
        return std::nullopt;
    }
}
} // namespace

SubmitterLink::SubmitterLink(LinkContext& ctx, SessionId id, dht::ReceivedOffer offer)
    : ctx_(ctx), id_(id), offer_(std::move(offer)) {}

SubmitterLink::~SubmitterLink() {
    join();
}

template <typename F> void SubmitterLink::post(F task) {
    ctx_.loop.post([&table = ctx_.table, task = std::move(task)]() mutable { task(table); });
}

void SubmitterLink::start() {
    reader_ = std::thread([this] { readerMain(); });
    writer_ = std::thread([this] { writerMain(); });
}

void SubmitterLink::join() {
    if (reader_.joinable())
        reader_.join();
    if (writer_.joinable())
        writer_.join();
    unitThreads_.joinAll();
    for (auto& f : stragglers_)
        f.wait();
    if (session_)
        session_->close();
}

void SubmitterLink::readerMain() {
    if (dial()) {
        post([id = id_](SessionTable& t) { t.connected(id); });
        serve();
    }
    // Closed by the table: the writer sends the last word, then ends the
    // stream. Else the session is over from this side: nothing goes out.
    if (!closeAsked_)
        endSending();
    {
        std::lock_guard lock(queueMutex_);
        closing_ = true;
    }
    queueCv_.notify_all();
    post([id = id_](SessionTable& t) { t.ended(id); });
}

// Nothing goes out any more: a unit still running keeps its result.
void SubmitterLink::endSending() {
    ending_ = true;
    std::lock_guard lock(sendMutex_);
    closed_ = true;
    if (session_)
        session_->abort();
}

// Every endpoint of the offer, staggered (net::Dialer::dialFirst): the
// first that connects is used, and logged, with what the others said.
bool SubmitterLink::dial() {
    // A relay the offer names is used whoever it is: the offer is signed by
    // a trusted submitter, and the session inside the circuit is
    // authenticated end to end with that submitter's key.
    net::Dialer dialer(ctx_.deps.credentials, {},
                       net::RelayRoute{net::allowIf([](const wire::PublicKey&) { return true; }),
                                       offer_.submitter.key()});
    wire::Hello hello;
    hello.token = offer_.offer.token;
    hello.software = kWorkerSoftware;
    hello.version = wire::Hello::kWithFollow;
    hello.slots = ctx_.cfg.slots;
    std::vector<net::Endpoint> endpoints;
    for (const auto& text : offer_.offer.endpoints) {
        auto endpoint = net::Endpoint::parse(text);
        if (endpoint)
            endpoints.push_back(*endpoint);
        else
            kLog.warn("offer from {}: bad endpoint: {}", offer_.submitter.shortStr(),
                      net::describe(endpoint.error()));
    }
    auto got = dialer.dialFirst(
        endpoints, net::allowListAndKey(ctx_.deps.trust, offer_.submitter.key()), hello);
    stragglers_ = std::move(got.stragglers);
    if (!got.session) {
        kLog.warn("cannot reach submitter {}: {}", offer_.submitter.shortStr(),
                  got.errors.empty() ? "no endpoint"
                                     : fmt::format("{}", fmt::join(got.errors, "; ")));
        return false;
    }
    kLog.info("connected to submitter {} at {} (endpoint {} of {})", offer_.submitter.shortStr(),
              endpoints[got.index].str(), got.index + 1, endpoints.size());
    std::lock_guard lock(sendMutex_);
    session_ = std::move(got.session);
    return !closed_;
}

void SubmitterLink::serve() {
    while (!ending_ && !closeAsked_) {
        while (!pending_.empty() && !ending_ && !closeAsked_) {
            auto msg = std::move(pending_.front());
            pending_.pop_front();
            if (!dispatch(msg))
                return;
        }
        auto msg = session_->receive(kIdle);
        if (!msg) {
            const auto code = msg.error().code;
            if (code == net::Error::Code::kTimeout && !session_->broken())
                continue;
            if (ending_ || closeAsked_) // closed by the table
                return;
            if (code == net::Error::Code::kTooLarge || code == net::Error::Code::kProtocol) {
                // A frame over the cap or bytes that do not decode: refused
                // before the judge, and counted with its refusals.
                kLog.warn("submitter {}: refused a message: {}; ending the session",
                          offer_.submitter.str(), net::describe(msg.error()));
                post([](SessionTable& t) { t.countRefused(); });
            } else if (code != net::Error::Code::kClosed) {
                kLog.warn("session with {} failed: {}", offer_.submitter.shortStr(),
                          net::describe(msg.error()));
            }
            return;
        }
        if (!dispatch(*msg))
            return;
    }
}

// The body of a message whose refusal ends the session (docs/protocol.md):
// logged once with the peer and counted.
template <typename T> std::optional<T> SubmitterLink::read(const wire::RawMessage& msg) {
    auto body = session_->bodyOrBreak<T>(msg);
    if (body)
        return std::move(*body);
    kLog.warn("submitter {}: refused {}: {}; ending the session", offer_.submitter.str(),
              wire::msgTypeName(msg.type), body.error().what);
    post([](SessionTable& t) { t.countRefused(); });
    return std::nullopt;
}

bool SubmitterLink::dispatch(wire::RawMessage& msg) {
    const auto id = id_;
    switch (msg.type) {
    case wire::MsgType::kAssign:
        return onAssign(msg);
    case wire::MsgType::kCancel: {
        auto cancel = read<wire::Cancel>(msg);
        if (cancel)
            post([id, c = std::move(*cancel)](SessionTable& t) { t.cancelled(id, c); });
        return cancel.has_value();
    }
    case wire::MsgType::kNoWork: {
        auto none = read<wire::NoWork>(msg);
        if (none)
            post([id, n = none->slots](SessionTable& t) { t.noWork(id, n); });
        return none.has_value();
    }
    case wire::MsgType::kFollow: {
        auto follow = read<wire::Follow>(msg);
        if (follow)
            onFollow(*follow);
        return follow.has_value();
    }
    case wire::MsgType::kWorkReady:
        if (!read<wire::WorkReady>(msg))
            return false;
        post([id](SessionTable& t) { t.workReady(id); });
        return true;
    case wire::MsgType::kBye: {
        auto bye = read<wire::Bye>(msg);
        kLog.info("submitter {} said bye{}", offer_.submitter.shortStr(),
                  bye ? ": " + bye->reason : "");
        return false;
    }
    case wire::MsgType::kError: {
        auto err = read<wire::ErrorMsg>(msg);
        kLog.warn("submitter {} reported an error: {}", offer_.submitter.shortStr(),
                  err ? err->message : "(unreadable)");
        return false;
    }
    default:
        kLog.warn("submitter {} sent an unexpected {}", offer_.submitter.shortStr(),
                  wire::msgTypeName(msg.type));
        return false;
    }
}

// The table judges the assign against the volunteer's rules; an admitted
// one has its inputs fetched here (the reader is the one receiving), then
// the table starts it.
bool SubmitterLink::onAssign(const wire::RawMessage& msg) {
    const auto id = id_;
    auto assign = wire::bodyAs<wire::Assign>(msg);
    if (!assign && assign.error().code == wire::Error::Code::kRefused) {
        auto verdict =
            ask(ctx_.loop, [&t = ctx_.table, id, key = wire::unitKeyOf(msg),
                            why = assign.error().what] { return t.refusedAssign(id, key, why); });
        return verdict && *verdict != AssignVerdict::kEnd;
    }
    if (!assign)
        return read<wire::Assign>(msg).has_value(); // a broken shape ends the session
    auto answer = ask(ctx_.loop, [&t = ctx_.table, id, a = *assign] { return t.assigned(id, a); });
    if (!answer || answer->verdict == AssignVerdict::kEnd)
        return false;
    if (answer->verdict == AssignVerdict::kRefused)
        return true;
    Fetched got;
    const bool alive = fetch(*assign, answer->admission.shippedImage, got);
    post([id, a = std::move(*assign), adm = answer->admission, got = std::move(got)](
             SessionTable& t) mutable { t.fetched(id, std::move(a), adm, std::move(got)); });
    return alive;
}

// A follow names a replica this session runs, or will run once its inputs
// are in: that one is remembered and followed when it starts.
void SubmitterLink::onFollow(const wire::Follow& follow) {
    static constexpr std::size_t kMaxFollowSoon = 64;
    const std::string key = fmt::format("{}/{}", follow.unitId, follow.replica);
    std::shared_ptr<LiveLog> live;
    {
        std::lock_guard lock(liveMutex_);
        if (auto it = live_.find(key); it != live_.end())
            live = it->second;
        else if (!follow.on)
            followSoon_.erase(key);
        else if (followSoon_.size() < kMaxFollowSoon)
            followSoon_.insert(key);
    }
    if (!live)
        return;
    if (!follow.on)
        live->unfollow();
    else
        startPump(follow, live);
}

void SubmitterLink::startPump(const wire::Follow& follow, const std::shared_ptr<LiveLog>& live) {
    if (live->follow())
        unitThreads_.start([self = shared_from_this(), follow, live] { self->pump(follow, live); });
}

// Sends a followed replica's output as log-chunks, one at a time under the
// send lock like any sender, until the replica ends (`end`), the follow is
// turned off or the session ends. What it cannot send fast enough the
// LiveLog drops, so neither the unit nor the worker's memory waits on it.
void SubmitterLink::pump(const wire::Follow& follow, std::shared_ptr<LiveLog> live) {
    for (;;) {
        auto piece = live->next(kIdle);
        if (piece.kind == LiveLog::Piece::Kind::kStop)
            return;
        if (ending_) {
            live->pumpGone();
            return;
        }
        if (piece.kind == LiveLog::Piece::Kind::kNothing)
            continue;
        wire::LogChunk chunk{.unitId = follow.unitId,
                             .replica = follow.replica,
                             .stream =
                                 piece.stream == LiveLog::Stream::kStderr ? "stderr" : "stdout",
                             .offset = piece.offset,
                             .data = wire::Bytes(piece.data.begin(), piece.data.end()),
                             .truncated = piece.truncated,
                             .end = piece.end};
        ++busy_;
        bool sent = false;
        {
            std::lock_guard lock(sendMutex_);
            sent = !closed_ && session_ && session_->send(chunk).has_value();
        }
        --busy_;
        if (!sent && !piece.end)
            live->pumpGone();
        if (!sent || piece.end)
            return;
    }
}

// Fetches a unit's inputs (and its shipped image) into the cache and pins
// them. Returns false if the session broke.
bool SubmitterLink::fetch(const wire::Assign& assign, bool shipped, Fetched& out) {
    std::vector<wire::Digest> inputs;
    for (const auto& in : assign.inputs)
        inputs.push_back(net::toDigest(in.digest));
    if (shipped)
        inputs.push_back(net::toDigest(assign.imageArchive)); // fetched and cached like an input
    net::FetchOptions options;
    options.onOther = [this](const wire::RawMessage& other) {
        pending_.push_back(cloneMessage(other));
        return true;
    };
    const auto peer = offer_.submitter.str();
    options.usable = [this, &peer](const wire::Digest& d) { return ctx_.proven.has(peer, d); };
    std::expected<void, net::Error> fetched;
    ++busy_;
    try {
        // The fetch sends need-blobs: nothing else may be sent meanwhile.
        std::lock_guard lock(sendMutex_);
        fetched = closed_ ? std::unexpected(net::Error{net::Error::Code::kClosed, "closed"})
                          : net::fetchBlobs(*session_, ctx_.store, inputs, options);
    } catch (const std::exception& e) { // the cache's disk failed
        --busy_;
        kLog.error("cannot cache inputs of {}: {}", assign.unitId, e.what());
        out = {
            Fetched::Outcome::kFailed, std::string("inputs could not be cached: ") + e.what(), {}};
        return true;
    }
    --busy_;
    if (!fetched) {
        if (session_->broken() || ending_) {
            kLog.warn("fetching inputs of {} failed: {}", assign.unitId,
                      net::describe(fetched.error()));
            out = {Fetched::Outcome::kBroken, {}, {}};
            return false;
        }
        out = {Fetched::Outcome::kFailed,
               "inputs could not be fetched: " + net::describe(fetched.error()),
               {}};
        return true;
    }
    ctx_.proven.add(peer, inputs);
    out = {Fetched::Outcome::kOk, {}, {}};
    for (const auto& d : inputs)
        if (ctx_.store.pin(d))
            out.pinned.push_back(d);
    return true;
}

void SubmitterLink::send(wire::Bytes payload) {
    {
        std::lock_guard lock(queueMutex_);
        if (closing_)
            return;
        queue_.push_back(std::move(payload));
    }
    queueCv_.notify_all();
}

bool SubmitterLink::ready() const {
    std::lock_guard lock(queueMutex_);
    return queue_.empty() && busy_ == 0 && !closing_ && session_ && session_->writable();
}

void SubmitterLink::close(std::optional<wire::Bye> last) {
    {
        std::lock_guard lock(queueMutex_);
        if (closing_)
            return;
        closing_ = true;
        last_ = std::move(last);
    }
    closeAsked_ = true;
    queueCv_.notify_all();
}

// Sends what the table queued, one message at a time; on close, what is
// left and the last word, then ends the session.
void SubmitterLink::writerMain() {
    std::unique_lock lock(queueMutex_);
    for (;;) {
        queueCv_.wait(lock, [&] { return !queue_.empty() || closing_; });
        if (queue_.empty() && closing_)
            break;
        auto payload = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
        lock.unlock();
        {
            std::lock_guard send(sendMutex_);
            if (!closed_ && session_)
                (void)session_->sendPayload(payload);
        }
        --busy_;
        lock.lock();
        if (queue_.empty())
            post([id = id_](SessionTable& t) { t.drained(id); });
    }
    auto last = std::move(last_);
    lock.unlock();
    // The last word and the end in one go: no result slips in between.
    ending_ = true;
    std::lock_guard send(sendMutex_);
    if (last && !closed_ && session_)
        (void)session_->send(*last);
    closed_ = true;
    if (session_)
        session_->abort(); // the reader sees its receive aborted and ends
}

void SubmitterLink::run(wire::Assign assign, sandbox::Limits limits,
                        std::vector<wire::Digest> pinned, std::stop_token stop,
                        std::stop_token giveBack) {
    unitThreads_.start([self = shared_from_this(), a = std::move(assign), limits,
                        p = std::move(pinned), stop,
                        giveBack] { self->runUnit(a, limits, p, stop, giveBack); });
}

void SubmitterLink::runUnit(const wire::Assign& assign, const sandbox::Limits& limits,
                            const std::vector<wire::Digest>& pinned, std::stop_token stop,
                            std::stop_token giveBack) {
    const std::string key = fmt::format("{}/{}", assign.unitId, assign.replica);
    // Named from the worker's own counter and random bytes: no path is ever
    // built from text a peer sent (the unit id is a label only).
    std::array<std::uint8_t, 6> rnd{};
    wire::randomBytes(rnd);
    const auto n = ++ctx_.workDirs;
    auto outDir = ctx_.deps.home / "work" / fmt::format("unit-{}-{}", n, wire::toHex(rnd));

    UnitRunner runner({.runtime = ctx_.deps.runtime,
                       .images = ctx_.deps.images,
                       .blobs = ctx_.store,
                       .pins = images_,
                       .workerId = ctx_.selfId,
                       .submitterId = offer_.submitter.str(),
                       .freeze = ctx_.freeze});
    auto live = std::make_shared<LiveLog>();
    bool followed = false;
    {
        std::lock_guard lock(liveMutex_);
        live_[key] = live;
        followed = followSoon_.erase(key) > 0;
    }
    if (followed)
        startPump(wire::Follow{.unitId = assign.unitId, .replica = assign.replica}, live);
    wire::Result r = runner.run(assign, limits, outDir, stop, giveBack, live.get());
    {
        std::lock_guard lock(liveMutex_);
        live_.erase(key);
    }
    // A follower gets the last bytes and the end before the result; a
    // stalled one does not hold the result back for long.
    live->finish();
    (void)live->drained(kIdle * 5);
    std::vector<wire::Digest> produced;
    for (const auto& out : r.outputs)
        produced.push_back(net::toDigest(out.digest));
    ctx_.proven.add(offer_.submitter.str(), produced);
    for (const auto& d : pinned)
        ctx_.store.unpin(d);

    const bool sent = sendResult(r);
    if (r.givenBack)
        kLog.info("unit {} given back{}", key, sent ? "" : " (not delivered: the session is gone)");
    else
        kLog.info("unit {} done: exit {}{}", key, r.exitCode,
                  r.error.empty() ? "" : ", " + r.error);
    if (!sent && !r.givenBack)
        keepResult(r, key);
    post([id = id_, key, sent, ok = r.error.empty()](SessionTable& t) {
        t.unitEnded(id, key, sent, ok);
    });
}

// A result whose session is gone is kept for a later session of the same
// submitter and batch, if the table says so (not cancelled, not given back
// by a stopping worker); such a session connected now gets it at once.
void SubmitterLink::keepResult(const wire::Result& result, const std::string& key) {
    auto keep = ask(ctx_.loop, [&t = ctx_.table, id = id_, &key] { return t.keepResult(id, key); });
    if (!keep || !*keep)
        return;
    auto& store = ctx_.store;
    if (!ctx_.held.keep(result, offer_.submitter.str(), offer_.offer.batchId,
                        [&store](const wire::Digest& d) { return store.pathOf(d); }))
        return;
    post([submitter = offer_.submitter, batch = offer_.offer.batchId](SessionTable& t) {
        t.resultHeld(submitter, batch);
    });
}

void SubmitterLink::deliverHeld() {
    unitThreads_.start([this] { sendHeld(); });
}

// Each held result exactly like a live one: the result, then its outputs
// (docs/protocol.md step 5), removed once sent.
void SubmitterLink::sendHeld() {
    auto held = ctx_.held.claim(offer_.submitter.str(), offer_.offer.batchId);
    for (const auto& h : held) {
        if (sendHeldOne(h)) {
            ctx_.held.delivered(h.id);
            kLog.info("delivered the held result of {}/{} to submitter {}", h.result.unitId,
                      h.result.replica, offer_.submitter.shortStr());
        } else {
            ctx_.held.release(h.id);
        }
    }
    if (!held.empty())
        post([id = id_](SessionTable& t) { t.drained(id); });
}

bool SubmitterLink::sendHeldOne(const HeldResult& held) {
    ++busy_;
    std::lock_guard lock(sendMutex_);
    auto ok = [&] {
        if (closed_ || !session_ || session_->broken())
            return false;
        if (!session_->send(held.result))
            return false;
        for (const auto& out : held.result.outputs) {
            const auto digest = net::toDigest(out.digest);
            auto file = ctx_.held.openBlob(digest);
            if (!file) {
                // Its submitter takes the result as failed (docs/protocol.md).
                kLog.error("{}", file.error().what);
                wire::ErrorMsg missing{.code = net::kBlobMissingCode, .message = digest.str()};
                if (!session_->send(missing))
                    return false;
                continue;
            }
            if (!net::sendBlobFile(*session_, digest, *file))
                return false;
        }
        return true;
    }();
    --busy_;
    return ok;
}

bool SubmitterLink::sendResult(const wire::Result& result) {
    ++busy_;
    std::lock_guard lock(sendMutex_);
    auto ok = [&] {
        if (closed_ || !session_ || session_->broken())
            return false;
        if (!session_->send(result))
            return false;
        // The outputs follow the result, unasked (see docs/protocol.md).
        for (const auto& out : result.outputs)
            if (!net::sendBlob(*session_, ctx_.store, net::toDigest(out.digest)))
                return false;
        return true;
    }();
    --busy_;
    return ok;
}

} // namespace swarm::worker
