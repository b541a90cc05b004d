#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::worker {

/// What logind says of one session (`loginctl show-session ID -p Active -p
/// IdleHint -p Type -p Remote`).
struct LoginSession {
    bool active = false;
    bool idle = false;
    std::string type; ///< "x11", "wayland", "tty", "mir", "unspecified", ...
    bool remote = false;
    std::string sessionClass; ///< "user", "greeter", "lock-screen", ...; "" if not said
};

/// The session ids of `loginctl list-sessions --no-legend` (first column).
std::vector<std::string> parseSessionIds(std::string_view text);
/// The properties of `loginctl show-session` ("Active=yes" lines); nullopt
/// when Active is missing (not such output).
std::optional<LoginSession> parseSession(std::string_view text);
/// Someone uses the machine: an active, non-idle, local session at a seat
/// or terminal (x11, wayland, mir or tty). ssh and service sessions do not
/// count.
bool userActive(const LoginSession& s);

/// Asks logind, through `loginctl`, whether someone uses the machine (the
/// `[idle] when_user_active` rule). Used by one thread.
class UserActivity {
public:
    /// Runs a command (argv[0] looked up in PATH) and returns its stdout,
    /// or nullopt if it could not run, failed or took too long.
    using Run = std::function<std::optional<std::string>(const std::vector<std::string>& argv)>;

    explicit UserActivity(Run run) : run_(std::move(run)) {}

    /// True when a session is active (userActive()); nullopt when logind
    /// cannot be asked (no loginctl, or it fails: no systemd-logind).
    std::optional<bool> check();

private:
    Run run_;
};

/// The real Run: posix_spawnp with stdout on a pipe, at most `timeout`
/// (then the child is killed by pid and reaped), at most 64 KiB of output.
UserActivity::Run spawnCommand(std::chrono::milliseconds timeout = std::chrono::seconds(2));

} // namespace swarm::worker
