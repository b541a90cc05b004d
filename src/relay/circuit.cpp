#include "relay/circuit.hpp"

#include "wire/log.hpp"
#include "wire/messages.hpp"
#include "wire/peer_id.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace swarm::relay {

namespace {
const wire::Logger kLog("relay");
// How often a pump waiting for data looks at the circuit's state and clock.
constexpr std::chrono::milliseconds kTick{250};
} // namespace

Bandwidth::Bandwidth(std::uint64_t bytesPerSecond)
    : rate_(bytesPerSecond), last_(std::chrono::steady_clock::now()) {}

bool Bandwidth::take(std::size_t bytes, const std::function<bool()>& stopped) {
    if (rate_ == 0)
        return true;
    for (;;) {
        std::chrono::duration<double> wait{};
        {
            std::lock_guard lock(mutex_);
            auto now = std::chrono::steady_clock::now();
            double refill = std::chrono::duration<double>(now - last_).count() * rate_;
            tokens_ = std::min(static_cast<double>(rate_), tokens_ + refill);
            last_ = now;
            // A message bigger than a second's worth passes once the bucket
            // is full, leaving it in debt.
            if (tokens_ >= static_cast<double>(std::min<std::uint64_t>(bytes, rate_))) {
                tokens_ -= static_cast<double>(bytes);
                return true;
            }
            wait =
                std::chrono::duration<double>((std::min<double>(bytes, rate_) - tokens_) / rate_);
        }
        if (stopped())
            return false;
        std::this_thread::sleep_for(
            std::min<std::chrono::duration<double>>(wait, std::chrono::milliseconds(100)));
    }
}

Circuit::Circuit(net::Session& a, net::Session& b, Limits limits, Bandwidth& bandwidth,
                 std::atomic<std::uint64_t>& relayed, std::string label)
    : a_(a), b_(b), limits_(limits), bandwidth_(bandwidth), relayed_(relayed),
      label_(std::move(label)), openedAt_(std::chrono::steady_clock::now()) {}

std::string Circuit::name(net::Session& s) const {
    return wire::PeerId(s.peer()).shortStr();
}

bool Circuit::open() {
    for (net::Session* s : {&a_, &b_}) {
        wire::RelayOpened opened;
        opened.peerObserved = other(*s).peerAddress();
        opened.observed = s->peerAddress();
        opened.maxBytes = static_cast<std::int64_t>(limits_.bytes);
        opened.maxDurationMs = limits_.duration.count();
        std::expected<void, net::Error> sent;
        {
            std::lock_guard lock(sendLock(*s));
            sent = s->send(opened);
        }
        if (!sent) {
            close(fmt::format("{} could not be told the circuit is open: {}", name(*s),
                              net::describe(sent.error())));
            return false;
        }
    }
    kLog.info("circuit {} open", label_);
    return true;
}

void Circuit::pump(net::Session& from) {
    net::Session& to = other(from);
    auto stopped = [this] { return closed_.load(); };
    while (!closed_) {
        if (limits_.duration.count() > 0 &&
            std::chrono::steady_clock::now() - openedAt_ > limits_.duration)
            return close(fmt::format("the circuit reached its duration limit of {} s",
                                     limits_.duration.count() / 1000));
        auto raw = from.receive(kTick);
        if (!raw && raw.error().code == net::Error::Code::kTimeout)
            continue;
        if (!raw)
            return close(fmt::format("{} ended: {}", name(from), net::describe(raw.error())));
        auto data = wire::bodyAs<wire::RelayData>(*raw);
        if (!data)
            return close(fmt::format("{} sent a bad message on an open circuit: {}", name(from),
                                     data.error().what));
        const std::uint64_t total = bytes_ += data->data.size();
        relayed_ += data->data.size();
        if (limits_.bytes > 0 && total > limits_.bytes)
            return close(fmt::format("the circuit reached its limit of {} bytes", limits_.bytes));
        if (!bandwidth_.take(data->data.size(), stopped))
            break;
        std::expected<void, net::Error> sent;
        {
            std::lock_guard lock(sendLock(to));
            sent = to.send(*data);
        }
        if (!sent)
            return close(
                fmt::format("{} did not take data: {}", name(to), net::describe(sent.error())));
    }
}

void Circuit::finish() {
    std::unique_lock lock(mutex_);
    ++pumpsOver_;
    done_.notify_all();
    done_.wait(lock, [this] { return pumpsOver_ >= 2; });
}

void Circuit::close(const std::string& reason) {
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return;
        reason_ = reason;
        closed_ = true;
    }
    kLog.info("circuit {} closed after {} bytes: {}", label_, bytes_.load(), reason);
    wire::ErrorMsg error;
    error.code = static_cast<std::uint32_t>(net::Error::Code::kClosed);
    error.message = reason;
    for (net::Session* s : {&a_, &b_}) {
        // A side stuck in a send to a peer that stopped reading holds the
        // lock; that peer gets no reason, only the end of the stream.
        std::unique_lock lock(sendLock(*s), std::try_to_lock);
        if (lock.owns_lock() && s->writable())
            (void)s->send(error);
        s->abort();
    }
}

std::string Circuit::reason() const {
    std::lock_guard lock(mutex_);
    return reason_;
}

} // namespace swarm::relay
