#include "sandbox/attach_stream.hpp"

#include "sandbox/podman_client.hpp"
#include "sandbox/podman_request.hpp"

namespace swarm::sandbox {

void AttachStream::begin(const std::filesystem::path& socket, const std::string& container,
                         std::chrono::milliseconds timeout) {
    thread_ = std::thread([this, socket, container, timeout] {
        try {
            PodmanClient c(socket);
            auto r = request("POST",
                             "/containers/" + container +
                                 "/attach?stream=true&stdout=true&stderr=true&logs=false",
                             timeout);
            r.onHeaders = [this](long status) {
                std::lock_guard g(m_);
                status_ = status;
                ready_ = true;
                cv_.notify_all();
            };
            c.stream(r, [this](std::string_view chunk) {
                logs_.feed(chunk);
                return true;
            });
        } catch (...) {
            error_ = std::current_exception();
        }
        std::lock_guard g(m_);
        ready_ = true;
        ended_ = true;
        cv_.notify_all();
    });
}

bool AttachStream::attached(std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_);
    cv_.wait_for(lock, timeout, [this] { return ready_; });
    return ready_ && status_ == 200;
}

bool AttachStream::ended(std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, timeout, [this] { return ended_; });
}

void AttachStream::join() {
    if (thread_.joinable())
        thread_.join();
}

} // namespace swarm::sandbox
