#include "submitter/offer_book.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm;
using submitter::OfferBook;

namespace {
wire::PublicKey key(std::uint8_t b) {
    wire::PublicKey k;
    k.bytes.fill(b);
    return k;
}
} // namespace

BOOST_AUTO_TEST_SUITE(offer_book)

BOOST_AUTO_TEST_CASE(a_worker_is_offered_again_only_after_the_reoffer_interval) {
    OfferBook book;
    BOOST_TEST(book.offer("w1", key(1), 1000).has_value());
    BOOST_TEST(!book.offer("w1", key(1), 1000 + OfferBook::kReofferMs - 1).has_value());
    BOOST_TEST(book.offer("w2", key(2), 1000).has_value());
    BOOST_TEST(book.offer("w1", key(1), 1000 + OfferBook::kReofferMs).has_value());
    BOOST_TEST(book.outstanding() == 3u);
}

BOOST_AUTO_TEST_CASE(a_token_is_spent_once_by_its_worker_while_fresh) {
    OfferBook book;
    auto t = *book.offer("w1", key(1), 0);
    BOOST_TEST(book.redeem(t, key(2), 10).error() == "token was offered to another worker");
    // Still there: only the right worker spends it.
    BOOST_TEST(book.redeem(t, key(1), 10).has_value());
    BOOST_TEST(book.redeem(t, key(1), 10).error() == "unknown token");

    auto late = *book.offer("w2", key(2), 0);
    BOOST_TEST(book.redeem(late, key(2), OfferBook::kLifetimeMs).error() == "offer expired");
    BOOST_TEST(book.outstanding() == 0u);
}

BOOST_AUTO_TEST_CASE(expired_tokens_are_dropped) {
    OfferBook book;
    (void)book.offer("w1", key(1), 0);
    (void)book.offer("w2", key(2), 30'000);
    book.expire(OfferBook::kLifetimeMs);
    BOOST_TEST(book.outstanding() == 1u);
    book.expire(30'000 + OfferBook::kLifetimeMs);
    BOOST_TEST(book.outstanding() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
