#define BOOST_TEST_MODULE submitter
#include <boost/test/unit_test.hpp>
