#include "submitter/control_socket.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <vector>

using namespace swarm::submitter;
using swarm::test::TempDir;
namespace fs = std::filesystem;

namespace {

// What a client with uid `uid` reads back after sending "cancel": the
// child's exit status is 0 for "error not the owner of this run", 1 for
// any other answer, 2 when it could not connect at all.
int answerAs(uid_t uid, const fs::path& socket) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0)
            ::_exit(3);
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            ::_exit(2);
        // The run may refuse and close before this is sent: no SIGPIPE.
        (void)!::send(fd, "cancel\n", 7, MSG_NOSIGNAL);
        char buf[128] = {};
        std::size_t got = 0;
        while (got < sizeof buf - 1) {
            const ssize_t n = ::read(fd, buf + got, sizeof buf - 1 - got);
            if (n <= 0)
                break;
            got += static_cast<std::size_t>(n);
        }
        ::_exit(std::strcmp(buf, "error not the owner of this run\n") == 0 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

BOOST_AUTO_TEST_SUITE(control_socket)

BOOST_AUTO_TEST_CASE(request_lines_and_final_answer) {
    TempDir dir;
    std::vector<std::string> requests;
    {
        ControlSocket server(dir.path(), ::geteuid(),
                             [&](std::string_view request, const ControlSocket::Answer& answer) {
                                 requests.emplace_back(request);
                                 if (request != "cancel")
                                     return std::string("error unknown request");
                                 answer("first");
                                 answer("second");
                                 return std::string("ok cancelled");
                             });
        BOOST_TEST((fs::status(ControlSocket::path(dir.path())).permissions() ==
                    (fs::perms::owner_read | fs::perms::owner_write)));
        std::vector<std::string> lines;
        auto r = askRun(dir.path(), "cancel", [&](std::string_view l) { lines.emplace_back(l); });
        BOOST_REQUIRE(r.has_value());
        BOOST_TEST(*r == "ok cancelled");
        BOOST_TEST(lines == (std::vector<std::string>{"first", "second"}));
        r = askRun(dir.path(), "dance");
        BOOST_REQUIRE(r.has_value());
        BOOST_TEST(*r == "error unknown request");
    }
    BOOST_TEST(requests == (std::vector<std::string>{"cancel", "dance"}));
    // Removed on exit; with no run, the error names the socket.
    BOOST_TEST(!fs::exists(ControlSocket::path(dir.path())));
    auto gone = askRun(dir.path(), "cancel");
    BOOST_REQUIRE(!gone.has_value());
    BOOST_TEST(gone.error().find("does not answer on " +
                                 ControlSocket::path(dir.path()).string()) != std::string::npos,
               gone.error());
}

BOOST_AUTO_TEST_CASE(a_stale_socket_file_is_replaced) {
    TempDir dir;
    dir.write("control.sock", "left by a run that was killed");
    ControlSocket server(dir.path(), ::geteuid(),
                         [](std::string_view, const ControlSocket::Answer&) { return "ok"; });
    auto r = askRun(dir.path(), "cancel");
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(*r == "ok");
}

// The socket file's mode is not what keeps others out: even a socket anyone
// may open serves only the run's own uid (SO_PEERCRED).
BOOST_AUTO_TEST_CASE(only_the_owner_is_served) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("not root: cannot connect as another user; skipped");
        return;
    }
    TempDir dir;
    fs::permissions(dir.path(), fs::perms::all);
    std::atomic<int> served{0};
    ControlSocket server(dir.path(), ::geteuid(),
                         [&](std::string_view, const ControlSocket::Answer&) {
                             ++served;
                             return std::string("ok cancelled");
                         });
    fs::permissions(ControlSocket::path(dir.path()), fs::perms::all);
    BOOST_TEST(answerAs(65534, ControlSocket::path(dir.path())) == 0);
    BOOST_TEST(served == 0);
    // The owner still is.
    auto r = askRun(dir.path(), "cancel");
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(*r == "ok cancelled");
    BOOST_TEST(served == 1);
}

BOOST_AUTO_TEST_SUITE_END()
