#include "base/unique_fd.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

using swarm::base::UniqueFd;

namespace {

// A pipe whose write end the test hands to a UniqueFd: the read end sees
// end-of-file exactly when every copy of the write end is closed, which
// proves a close without guessing at descriptor numbers.
struct Pipe {
    int readEnd = -1;
    int writeEnd = -1;
    Pipe() {
        int fds[2];
        BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
        readEnd = fds[0];
        writeEnd = fds[1];
    }
    ~Pipe() { ::close(readEnd); }
    // True once the write end is closed (read returns 0, not EAGAIN).
    bool writerClosed() const {
        char c;
        return ::read(readEnd, &c, 1) == 0;
    }
};
bool isOpen(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

} // namespace

BOOST_AUTO_TEST_SUITE(unique_fd)

BOOST_AUTO_TEST_CASE(empty_by_default) {
    UniqueFd fd;
    BOOST_TEST(fd.get() == -1);
    BOOST_TEST(!fd.isValid());
    BOOST_TEST(!fd);
    UniqueFd failed(-1); // what a failed open() hands over
    BOOST_TEST(!failed);
    BOOST_TEST(UniqueFd(-5).get() == -1);
}

BOOST_AUTO_TEST_CASE(closes_on_destruction) {
    Pipe p;
    {
        UniqueFd fd(p.writeEnd);
        BOOST_TEST(fd.isValid());
        BOOST_TEST(static_cast<bool>(fd));
        BOOST_TEST(fd.get() == p.writeEnd);
        BOOST_TEST(!p.writerClosed());
    }
    BOOST_TEST(p.writerClosed());
}

BOOST_AUTO_TEST_CASE(move_transfers_ownership) {
    Pipe p;
    UniqueFd a(p.writeEnd);
    UniqueFd b(std::move(a));
    BOOST_TEST(!a); // a moved-from UniqueFd is empty
    BOOST_TEST(b.get() == p.writeEnd);
    {
        UniqueFd c;
        c = std::move(b);
        BOOST_TEST(!b);
        BOOST_TEST(c.get() == p.writeEnd);
        BOOST_TEST(!p.writerClosed());
    }
    BOOST_TEST(p.writerClosed()); // only the last owner closed it
}

BOOST_AUTO_TEST_CASE(move_assignment_closes_the_old_descriptor) {
    Pipe old;
    Pipe fresh;
    UniqueFd fd(old.writeEnd);
    fd = UniqueFd(fresh.writeEnd);
    BOOST_TEST(old.writerClosed());
    BOOST_TEST(!fresh.writerClosed());
    BOOST_TEST(fd.get() == fresh.writeEnd);
}

BOOST_AUTO_TEST_CASE(release_gives_the_descriptor_up) {
    Pipe p;
    int raw = -1;
    {
        UniqueFd fd(p.writeEnd);
        raw = fd.release();
        BOOST_TEST(!fd);
        BOOST_TEST(fd.get() == -1);
    }
    BOOST_TEST(raw == p.writeEnd);
    BOOST_TEST(isOpen(raw));
    BOOST_TEST(!p.writerClosed());
    ::close(raw);
    BOOST_TEST(p.writerClosed());
}

BOOST_AUTO_TEST_CASE(reset_closes_and_takes_another) {
    Pipe first;
    Pipe second;
    UniqueFd fd(first.writeEnd);
    fd.reset(second.writeEnd);
    BOOST_TEST(first.writerClosed());
    BOOST_TEST(fd.get() == second.writeEnd);
    fd.reset();
    BOOST_TEST(second.writerClosed());
    BOOST_TEST(!fd);
}

BOOST_AUTO_TEST_CASE(swap_exchanges) {
    Pipe p;
    UniqueFd a(p.writeEnd);
    UniqueFd b;
    a.swap(b);
    BOOST_TEST(!a);
    BOOST_TEST(b.get() == p.writeEnd);
}

BOOST_AUTO_TEST_SUITE_END()
