#define BOOST_TEST_MODULE netlab
#include <boost/test/unit_test.hpp>
