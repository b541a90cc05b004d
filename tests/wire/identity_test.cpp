#include "wire/home.hpp"
#include "wire/identity.hpp"

#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <fstream>

using namespace swarm::wire;
using swarm::test::TempDir;

BOOST_AUTO_TEST_SUITE(identity)

BOOST_AUTO_TEST_CASE(sign_and_verify) {
    auto id = Identity::generate();
    Bytes msg{1, 2, 3};
    auto sig = id.sign(msg);
    BOOST_TEST(verifySignature(id.publicKey(), msg, sig));
    msg[0] ^= 1;
    BOOST_TEST(!verifySignature(id.publicKey(), msg, sig));
}

BOOST_AUTO_TEST_CASE(save_load_round_trip_with_mode_0600) {
    TempDir dir;
    auto path = identityPath(dir.path() / "home");
    auto id = Identity::generate();
    BOOST_REQUIRE(saveIdentity(path, id, false));
    struct stat st {};
    BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u);
    auto loaded = loadIdentity(path);
    BOOST_REQUIRE(loaded);
    BOOST_TEST((loaded->publicKey() == id.publicKey()));
    Bytes msg{9};
    BOOST_TEST(verifySignature(id.publicKey(), msg, loaded->sign(msg)));
}

BOOST_AUTO_TEST_CASE(never_overwrites_without_force) {
    TempDir dir;
    auto path = identityPath(dir.path());
    auto first = Identity::generate();
    BOOST_REQUIRE(saveIdentity(path, first, false));
    auto second = Identity::generate();
    auto again = saveIdentity(path, second, false);
    BOOST_REQUIRE(!again);
    BOOST_TEST((again.error().code == Error::Code::kExists));
    BOOST_TEST((loadIdentity(path)->publicKey() == first.publicKey()));
    BOOST_REQUIRE(saveIdentity(path, second, true));
    BOOST_TEST((loadIdentity(path)->publicKey() == second.publicKey()));
}

BOOST_AUTO_TEST_CASE(refuses_group_or_world_readable_key) {
    TempDir dir;
    auto path = identityPath(dir.path());
    BOOST_REQUIRE(saveIdentity(path, Identity::generate(), false));
    for (mode_t mode : {0640, 0604, 0660}) {
        ::chmod(path.c_str(), mode);
        auto loaded = loadIdentity(path);
        BOOST_REQUIRE(!loaded);
        BOOST_TEST((loaded.error().code == Error::Code::kPermissions));
        BOOST_TEST(loaded.error().what.find("chmod 600") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(refuses_truncated_or_mismatched_key) {
    TempDir dir;
    auto path = identityPath(dir.path());
    BOOST_REQUIRE(saveIdentity(path, Identity::generate(), false));
    std::filesystem::resize_file(path, 40);
    auto loaded = loadIdentity(path);
    BOOST_REQUIRE(!loaded);
    BOOST_TEST((loaded.error().code == Error::Code::kMalformed));
    BOOST_TEST(loaded.error().what.find("truncated") != std::string::npos);

    BOOST_REQUIRE(saveIdentity(path, Identity::generate(), true));
    {
        // Flip the bits of the last byte (the stored public key's), so the
        // file always changes whatever the generated key was.
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(-1, std::ios::end);
        char last = 0;
        f.get(last);
        f.seekp(-1, std::ios::end);
        f.put(static_cast<char>(last ^ 0xff));
    }
    loaded = loadIdentity(path);
    BOOST_REQUIRE(!loaded);
    BOOST_TEST(loaded.error().what.find("does not match") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_key_says_how_to_create_one) {
    TempDir dir;
    auto loaded = loadIdentity(identityPath(dir.path()));
    BOOST_REQUIRE(!loaded);
    BOOST_TEST((loaded.error().code == Error::Code::kNotFound));
    BOOST_TEST(loaded.error().what.find("init") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sealed_box_opens_only_for_its_recipient) {
    auto worker = Identity::generate();
    auto other = Identity::generate();
    Bytes secret{'h', 'i'};
    auto sealed = sealTo(worker.publicKey(), secret);
    auto opened = worker.openSealed(sealed);
    BOOST_REQUIRE(opened);
    BOOST_TEST(*opened == secret);
    BOOST_TEST(!other.openSealed(sealed));
    sealed[sealed.size() / 2] ^= 1;
    BOOST_TEST(!worker.openSealed(sealed));
    BOOST_TEST(!worker.openSealed(Bytes{1, 2, 3}));
}

BOOST_AUTO_TEST_CASE(home_resolution_order) {
    auto env = [](std::map<std::string, std::string> vars) {
        return [vars](const char* name) -> std::optional<std::string> {
            auto it = vars.find(name);
            if (it == vars.end())
                return std::nullopt;
            return it->second;
        };
    };
    BOOST_TEST(resolveHome(std::string("/x"), env({{"SWARM_HOME", "/s"}})) == "/x");
    BOOST_TEST(resolveHome(std::nullopt, env({{"SWARM_HOME", "/s"}, {"HOME", "/h"}})) == "/s");
    BOOST_TEST(resolveHome(std::nullopt, env({{"XDG_CONFIG_HOME", "/c"}, {"HOME", "/h"}})) ==
               "/c/swarm");
    BOOST_TEST(resolveHome(std::nullopt, env({{"HOME", "/h"}})) == "/h/.config/swarm");
    BOOST_CHECK_THROW(resolveHome(std::nullopt, env({})), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
