#include "worker/schedule.hpp"

#include <boost/test/unit_test.hpp>

#include <ctime>

using namespace swarm::worker;

namespace {
constexpr std::int64_t kDay = Schedule::kDay;
constexpr std::int64_t kH = 3600;
enum Day { kSun, kMon, kTue, kWed, kThu, kFri, kSat };

std::int64_t at(int day, int h, int m = 0, int s = 0) {
    return day * kDay + h * kH + m * 60 + s;
}

Schedule evenings() { // weekdays 18:00-08:00, weekends all
    Schedule s;
    auto nights = Schedule::parseDay("18:00-08:00");
    auto all = Schedule::parseDay("all");
    BOOST_REQUIRE(nights && all);
    for (int d = kMon; d <= kFri; ++d)
        s.setDay(d, *nights);
    s.setDay(kSun, *all);
    s.setDay(kSat, *all);
    return s;
}
} // namespace

BOOST_AUTO_TEST_SUITE(schedule)

BOOST_AUTO_TEST_CASE(a_day_parses_from_all_none_or_windows) {
    using W = Schedule::Window;
    BOOST_TEST((*Schedule::parseDay("all") == std::vector<W>{{0, kDay}}));
    BOOST_TEST(Schedule::parseDay("none")->empty());
    BOOST_TEST((*Schedule::parseDay("09:00-12:00, 14:00-18:00") ==
                std::vector<W>{{9 * kH, 12 * kH}, {14 * kH, 18 * kH}}));
    BOOST_TEST((*Schedule::parseDay("18:00:30-24:00") == std::vector<W>{{18 * kH + 30, kDay}}));
    // Past midnight: it ends on the next day.
    BOOST_TEST((*Schedule::parseDay("22:00-02:00") == std::vector<W>{{22 * kH, kDay + 2 * kH}}));
    for (const char* bad : {"", "always", "9:00-12:00", "25:00-01:00", "10:60-11:00", "24:00-01:00",
                            "10:00-10:00", "10:00", "10:00-", "10:00-11:00,", "24:30-01:00"}) {
        auto got = Schedule::parseDay(bad);
        BOOST_TEST(!got.has_value(), bad);
    }
    BOOST_TEST(Schedule::parseDay("25:00-01:00").error() ==
               "'25:00' is not a time (HH:MM or HH:MM:SS)");
}

BOOST_AUTO_TEST_CASE(without_a_schedule_the_worker_is_always_open) {
    Schedule s;
    BOOST_TEST(s.always());
    BOOST_TEST(s.openAt(at(kWed, 3)));
    BOOST_TEST(!s.secondsToChange(at(kWed, 3)).has_value());
}

BOOST_AUTO_TEST_CASE(a_window_crossing_midnight_is_open_on_both_sides) {
    auto s = evenings();
    BOOST_TEST(!s.openAt(at(kTue, 12)));
    BOOST_TEST(!s.openAt(at(kTue, 17, 59, 59)));
    BOOST_TEST(s.openAt(at(kTue, 18)));
    BOOST_TEST(s.openAt(at(kTue, 23, 59, 59)));
    BOOST_TEST(s.openAt(at(kWed, 0)));
    BOOST_TEST(s.openAt(at(kWed, 7, 59, 59)));
    BOOST_TEST(!s.openAt(at(kWed, 8)));
    BOOST_TEST(*s.secondsToChange(at(kTue, 12)) == 6 * kH);
    BOOST_TEST(*s.secondsToChange(at(kTue, 23)) == 9 * kH);
}

BOOST_AUTO_TEST_CASE(the_weekend_joins_the_weeknights_around_it) {
    auto s = evenings();
    // Friday evening runs into Saturday's "all"; Sunday's "all" ends at
    // 24:00, and Monday's window starts at 18:00: a window belongs to the
    // day it starts on.
    BOOST_TEST(s.openAt(at(kFri, 20)));
    BOOST_TEST(s.openAt(at(kSat, 5)));
    BOOST_TEST(s.openAt(at(kSun, 23, 59, 59)));
    BOOST_TEST(!s.openAt(at(kMon, 0)));
    BOOST_TEST(*s.secondsToChange(at(kFri, 20)) == 2 * kDay + 4 * kH); // Sunday 24:00
    BOOST_TEST(*s.secondsToChange(at(kMon, 0)) == 18 * kH);
    // From Sunday noon, the wrap of the week: the change is at its end.
    BOOST_TEST(*s.secondsToChange(at(kSun, 12)) == 12 * kH);
}

BOOST_AUTO_TEST_CASE(a_closed_week_never_changes) {
    Schedule s;
    for (int d = 0; d < 7; ++d)
        s.setDay(d, {});
    BOOST_TEST(!s.openAt(at(kThu, 9)));
    BOOST_TEST(!s.secondsToChange(at(kThu, 9)).has_value());
    Schedule all;
    for (int d = 0; d < 7; ++d)
        all.setDay(d, *Schedule::parseDay("all"));
    BOOST_TEST(all.openAt(at(kThu, 9)));
    BOOST_TEST(!all.secondsToChange(at(kThu, 9)).has_value());
}

BOOST_AUTO_TEST_CASE(local_time_is_the_clock) {
    // Tuesday 2026-12-01 12:00:05 local time, whatever the zone.
    std::tm tm{};
    tm.tm_year = 126;
    tm.tm_mon = 11;
    tm.tm_mday = 1;
    tm.tm_hour = 12;
    tm.tm_sec = 5;
    tm.tm_isdst = -1;
    const auto t = std::chrono::system_clock::from_time_t(std::mktime(&tm));
    BOOST_TEST(localWeekSecond(t) == at(kTue, 12, 0, 5));
    auto s = evenings();
    BOOST_TEST(!s.open(t));
    BOOST_TEST((*s.nextChange(t) - t == std::chrono::seconds(6 * kH - 5)));
    BOOST_TEST(s.describe(t) == "closed until Tue 2026-12-01 18:00:00");
}

BOOST_AUTO_TEST_SUITE_END()
