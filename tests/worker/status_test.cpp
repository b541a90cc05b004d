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

BOOST_AUTO_TEST_CASE(status_counts_held_results) {
    WorkerStatus st;
    st.heldCount = 2;
    st.heldBytes = 4096;
    const auto json = st.json();
    BOOST_TEST(json.find(R"("held":2,"held_bytes":4096)") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
