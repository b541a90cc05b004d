#include "net/circuit_bridge.hpp"

#include "wire/log.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace swarm::net {

namespace {

const wire::Logger kLog("net");

// The most one relay-data message carries: big enough for a blob chunk's
// records to pass in a few messages, small against the frame cap.
constexpr std::size_t kChunk = 64 * 1024;
// How often a waiting thread looks whether the bridge is ending.
constexpr std::chrono::milliseconds kTick{250};

} // namespace

std::expected<CircuitBridge::Started, Error> CircuitBridge::start(std::unique_ptr<Session> relay,
                                                                  std::string label) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0)
        return std::unexpected(
            Error(Error::Code::kIo, std::string("socketpair: ") + std::strerror(errno)));
    base::UniqueFd mine(fds[0]);
    base::UniqueFd theirs(fds[1]);
    std::shared_ptr<CircuitBridge> bridge(
        new CircuitBridge(std::move(relay), std::move(mine), std::move(label)));
    try {
        bridge->down_ = std::thread([b = bridge.get()] { b->down(); });
        bridge->up_ = std::thread([b = bridge.get()] { b->up(); });
    } catch (const std::system_error& e) {
        return std::unexpected(Error(Error::Code::kIo, std::string("circuit thread: ") + e.what()));
    }
    return Started{std::move(theirs), std::move(bridge)};
}

CircuitBridge::CircuitBridge(std::unique_ptr<Session> relay, base::UniqueFd local,
                             std::string label)
    : relay_(std::move(relay)), local_(std::move(local)), label_(std::move(label)) {}

CircuitBridge::~CircuitBridge() {
    stopping_ = true;
    ::shutdown(local_.get(), SHUT_RDWR);
    relay_->abort();
    if (up_.joinable())
        up_.join();
    if (down_.joinable())
        down_.join();
}

std::string CircuitBridge::endReason() const {
    std::lock_guard lock(mutex_);
    return reason_;
}

// The first reason wins; both directions stop: the local socket is shut
// down (the end-to-end session sees the stream end) and so is the relay's.
void CircuitBridge::end(const std::string& reason) {
    {
        std::lock_guard lock(mutex_);
        if (!reason_.empty())
            return;
        reason_ = reason;
    }
    if (!stopping_)
        kLog.info("circuit {} ended: {}", label_, reason);
    ::shutdown(local_.get(), SHUT_RDWR);
    relay_->abort();
}

void CircuitBridge::up() {
    std::vector<std::uint8_t> buffer(kChunk);
    while (!stopping_) {
        pollfd p{local_.get(), POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(kTick.count()));
        if (n < 0 && errno != EINTR)
            return end(std::string("poll: ") + std::strerror(errno));
        if (n <= 0)
            continue;
        ssize_t got = ::recv(local_.get(), buffer.data(), buffer.size(), 0);
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (got <= 0) {
            // The end-to-end session closed: say goodbye to the relay.
            relay_->close();
            return end("closed here");
        }
        wire::RelayData data;
        data.data.assign(buffer.data(), buffer.data() + got);
        if (auto sent = relay_->send(data); !sent)
            return end("relay: " + describe(sent.error()));
    }
}

void CircuitBridge::down() {
    while (!stopping_) {
        auto raw = relay_->receive(kTick);
        if (!raw && raw.error().code == Error::Code::kTimeout)
            continue;
        if (!raw)
            return end("relay: " + describe(raw.error()));
        if (raw->type == wire::MsgType::kError) {
            auto err = relay_->bodyOrBreak<wire::ErrorMsg>(*raw);
            return end("the relay closed it: " + (err ? err->message : describe(err.error())));
        }
        auto data = relay_->bodyOrBreak<wire::RelayData>(*raw);
        if (!data)
            return end("relay: " + describe(data.error()));
        auto wrote = writeAll(local_.get(), data->data.data(), data->data.size(),
                              SteadyClock::now() + relay_->limits().write);
        if (!wrote)
            return end("the session here stopped reading: " + describe(wrote.error()));
    }
}

} // namespace swarm::net
