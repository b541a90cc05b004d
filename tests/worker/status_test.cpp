#include "worker/worker.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::worker;

BOOST_AUTO_TEST_SUITE(worker_status)

BOOST_AUTO_TEST_CASE(status_says_where_the_dht_sees_the_worker) {
    WorkerStatus st;
    st.peerId = "sw1x";
    BOOST_TEST(st.json().find(R"("reach":"")") != std::string::npos); // not known yet
    st.reach = "behind NAT: the DHT sees this host at 198.51.100.7, an address of none of its "
               "interfaces";
    const auto json = st.json();
    BOOST_TEST_MESSAGE(json);
    BOOST_TEST(json.find(R"("reach":"behind NAT: the DHT sees this host at 198.51.100.7, )") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(status_reads_as_a_table_for_people) {
    WorkerStatus st;
    st.peerId = "sw1workerpeerid";
    st.slots = 2;
    st.submitters = {"sw1submitterpeeridlong"};
    st.running = {{"sw1submitterpeeridlong", "u7/1", 125'000}};
    st.done = 5;
    st.cacheBytes = 3u << 20;
    st.cacheLimit = 1u << 30;
    st.offersAccepted = 4;
    st.heldCount = 1;
    st.heldBytes = 2048;
    st.schedule = "closed until Mon 2026-12-07 18:00:00";
    st.scheduleOpen = false;
    st.heldLimit = 1u << 30;
    st.cacheMaxAgeMs = 7 * 24 * 3600 * 1000;
    st.imageCount = 2;
    st.imageBytes = 5u << 20;
    st.imageLimit = 8ull << 30;
    st.imageMaxAgeMs = 12 * 3600 * 1000;
    const auto text = st.text();
    BOOST_TEST_MESSAGE(text);
    BOOST_TEST(text.find("worker     sw1workerpeerid\n") != std::string::npos);
    BOOST_TEST(text.find("reach      not known yet\n") != std::string::npos);
    BOOST_TEST(text.find("schedule   closed until Mon 2026-12-07 18:00:00\n") != std::string::npos);
    BOOST_TEST(st.json().find(
                   R"("schedule":"closed until Mon 2026-12-07 18:00:00","schedule_open":false)") !=
               std::string::npos);
    BOOST_TEST(text.find("slots      2, 1 running\n") != std::string::npos);
    BOOST_TEST(text.find("submitters sw1submitter…\n") != std::string::npos);
    BOOST_TEST(text.find("sw1submitter…  u7/1                    2 min\n") != std::string::npos);
    BOOST_TEST(text.find("results    5 delivered, 0 failed; 0 messages refused\n") !=
               std::string::npos);
    BOOST_TEST(text.find("cache      3.0 MiB of 1.0 GiB; unused 7 d: removed\n") !=
               std::string::npos);
    BOOST_TEST(text.find("images     2 loaded by this worker, 5.0 MiB of 8.0 GiB; unused 12 h: "
                         "removed\n") != std::string::npos);
    BOOST_TEST(text.find("offers     4 accepted, 0 refused\n") != std::string::npos);
    BOOST_TEST(text.find("held       1 result for submitters away, 2 KiB of 1.0 GiB\n") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(status_says_why_the_worker_is_suspended_and_how_units_freeze) {
    WorkerStatus st;
    st.freezeMethod = "SIGSTOP/SIGCONT of the unit's processes (rootless on cgroup v1 cannot "
                      "pause)";
    st.userActivity = "not watched";
    auto text = st.text();
    BOOST_TEST(text.find("\nsuspended  no\n") != std::string::npos, text);
    BOOST_TEST(text.find("\nfreeze     SIGSTOP/SIGCONT of the unit's processes") !=
                   std::string::npos,
               text);
    BOOST_TEST(text.find("\nidle       other processes' CPU not watched\n           user "
                         "activity not watched\n") != std::string::npos,
               text);
    st.suspended = true;
    st.suspendedWhy = "user until 16:42; busy (other processes at 83% > 50%)";
    st.maxOtherCpu = 50;
    st.otherCpuPercent = 83.4;
    st.userActivity = "logind not available: user activity not watched";
    text = st.text();
    BOOST_TEST(text.find("\nsuspended  user until 16:42; busy (other processes at 83% > 50%)\n") !=
                   std::string::npos,
               text);
    BOOST_TEST(text.find("\nidle       suspends while other processes use more than 50% of the "
                         "machine (now 83%)\n           logind not available: user activity not "
                         "watched\n") != std::string::npos,
               text);
    const auto json = st.json();
    BOOST_TEST(json.find(R"("suspended":true,"suspended_why":"user until 16:42; busy )") !=
                   std::string::npos,
               json);
    BOOST_TEST(json.find(R"("other_cpu_percent":83,"max_other_cpu":50,"user_activity":"logind )") !=
                   std::string::npos,
               json);
}

BOOST_AUTO_TEST_CASE(status_counts_held_results) {
    WorkerStatus st;
    st.heldCount = 2;
    st.heldBytes = 4096;
    const auto json = st.json();
    BOOST_TEST(json.find(R"("held":2,"held_bytes":4096)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(status_shows_what_the_worker_holds_on_disk_and_the_limits) {
    WorkerStatus st;
    st.cacheBytes = 10;
    st.cacheLimit = 20;
    st.cacheMaxAgeMs = 30;
    st.imageCount = 1;
    st.imageBytes = 40;
    st.imageLimit = 50;
    st.imageMaxAgeMs = 60;
    st.heldBytes = 70;
    st.heldLimit = 80;
    const auto json = st.json();
    BOOST_TEST(json.find(R"("cache_bytes":10,"cache_limit":20)") != std::string::npos);
    BOOST_TEST(json.find(R"("held_bytes":70,"held_limit":80,"cache_max_age_ms":30,"images":1,)"
                         R"("image_bytes":40,"image_limit":50,"image_max_age_ms":60)") !=
                   std::string::npos,
               json);
}

BOOST_AUTO_TEST_SUITE_END()
