#include "base/json_writer.hpp"

#include <boost/test/unit_test.hpp>

#include <json/json.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

using swarm::base::JsonArray;
using swarm::base::JsonObject;
using swarm::base::jsonString;

namespace {

const std::string kFffd = "\xEF\xBF\xBD"; // U+FFFD as UTF-8

std::string quoted(const std::string& inner) {
    return "\"" + inner + "\"";
}

// Strict UTF-8 (RFC 3629), written independently of the writer's check:
// decode each sequence, then reject overlong forms, surrogates and code
// points above U+10FFFF.
bool isUtf8(const std::string& s) {
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000}; // by trailing bytes
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t trailing = 0;
        std::uint32_t cp = c;
        if (c >= 0x80) {
            if ((c & 0xE0) == 0xC0)
                trailing = 1;
            else if ((c & 0xF0) == 0xE0)
                trailing = 2;
            else if ((c & 0xF8) == 0xF0)
                trailing = 3;
            else
                return false;
            cp = c & (0x3F >> trailing); // the lead byte's payload bits
        }
        if (i + trailing >= s.size() && trailing > 0)
            return false;
        for (std::size_t k = 1; k <= trailing; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < kMin[trailing] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return false;
        i += trailing + 1;
    }
    return true;
}

// Parses `text` strictly with jsoncpp; fails the test if it is not JSON.
Json::Value parse(const std::string& text) {
    Json::CharReaderBuilder b;
    Json::CharReaderBuilder::strictMode(&b.settings_);
    std::unique_ptr<Json::CharReader> r(b.newCharReader());
    Json::Value v;
    std::string errs;
    BOOST_REQUIRE_MESSAGE(r->parse(text.data(), text.data() + text.size(), &v, &errs),
                          "not JSON: " << errs << " in " << text);
    return v;
}

} // namespace

BOOST_AUTO_TEST_SUITE(json_writer)

BOOST_AUTO_TEST_CASE(plain_text_is_copied) {
    BOOST_TEST(jsonString("") == "\"\"");
    BOOST_TEST(jsonString("plain text, 100% ASCII ~/{}[]") == "\"plain text, 100% ASCII ~/{}[]\"");
}

BOOST_AUTO_TEST_CASE(quotes_and_backslashes_are_escaped) {
    BOOST_TEST(jsonString("a\"b\\c") == R"("a\"b\\c")");
    BOOST_TEST(jsonString("\\\"") == R"("\\\"")");
    BOOST_TEST(jsonString("\"") == R"("\"")");
}

BOOST_AUTO_TEST_CASE(control_bytes_are_escaped) {
    for (int c = 0; c < 0x20; ++c) {
        if (c == '\n' || c == '\t' || c == '\r')
            continue;
        char expect[8];
        std::snprintf(expect, sizeof expect, "\\u%04x", c);
        BOOST_TEST(jsonString(std::string(1, static_cast<char>(c))) == quoted(expect));
    }
    BOOST_TEST(jsonString("line\nnext\ttab\r") == R"("line\nnext\ttab\r")");
    BOOST_TEST(jsonString("\x7f") == R"("\u007f")");
    BOOST_TEST(jsonString(std::string("a\0b", 3)) == R"("a\u0000b")");
    BOOST_TEST(jsonString("\x1b[31mred\x08\x0c") == R"("\u001b[31mred\u0008\u000c")");
}

BOOST_AUTO_TEST_CASE(valid_utf8_passes_through) {
    for (const std::string s : {"caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x98\x80", "\xC2\x80",
                                "\xDF\xBF", "\xE0\xA0\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80",
                                "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF", "\xEE\x80\x80"})
        BOOST_TEST(jsonString(s) == quoted(s));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_becomes_replacement_characters) {
    const auto f = kFffd;
    BOOST_TEST(jsonString("\xFF") == quoted(f));
    BOOST_TEST(jsonString("bad\xFF\xC3") == quoted("bad" + f + f)); // cut short at the end
    BOOST_TEST(jsonString("\xC3"
                          "A") == quoted(f + "A"));                      // next byte kept
    BOOST_TEST(jsonString("\x80\xBF") == quoted(f + f));                 // lone continuations
    BOOST_TEST(jsonString("\xC0\xAF") == quoted(f + f));                 // overlong '/'
    BOOST_TEST(jsonString("\xC1\xBF") == quoted(f + f));                 // overlong
    BOOST_TEST(jsonString("\xE0\x80\xAF") == quoted(f + f + f));         // overlong 3-byte
    BOOST_TEST(jsonString("\xF0\x80\x80\xAF") == quoted(f + f + f + f)); // overlong 4-byte
    BOOST_TEST(jsonString("\xED\xA0\x80") == quoted(f + f + f));         // surrogate D800
    BOOST_TEST(jsonString("\xED\xBF\xBF") == quoted(f + f + f));         // surrogate DFFF
    BOOST_TEST(jsonString("\xF4\x90\x80\x80") == quoted(f + f + f + f)); // above U+10FFFF
    BOOST_TEST(jsonString("\xF5\x80\x80\x80") == quoted(f + f + f + f)); // never valid lead
    BOOST_TEST(jsonString("\xE2\x82") == quoted(f + f));                 // cut short
    BOOST_TEST(jsonString("\xE2\x82\"") == quoted(f + f + "\\\""));      // cut short by a quote
    BOOST_TEST(jsonString("ok\xC3\xA9\xFFok") == quoted("ok\xC3\xA9" + f + "ok"));
}

BOOST_AUTO_TEST_CASE(any_bytes_give_valid_json_in_valid_utf8) {
    // The checker itself: it must refuse what the writer must never emit.
    BOOST_TEST(isUtf8("caf\xC3\xA9 \xF0\x9F\x98\x80"));
    for (const char* bad : {"\xFF", "\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80"})
        BOOST_TEST(!isUtf8(bad), bad);
    std::mt19937 rng(20240611);
    for (int round = 0; round < 3000; ++round) {
        std::string s(rng() % 24, '\0');
        for (auto& c : s) // bias towards the interesting bytes
            c = static_cast<char>(rng() % 3 == 0 ? 0x80 + rng() % 0x80 : rng() % 0x100);
        const std::string out = jsonString(s);
        BOOST_TEST_REQUIRE(isUtf8(out), "bytes " << round);
        const auto parsed = parse("[" + out + "]");
        BOOST_TEST_REQUIRE(parsed[0].isString());
        if (isUtf8(s))
            BOOST_TEST(parsed[0].asString() == s); // nothing lost but what was invalid
    }
}

BOOST_AUTO_TEST_CASE(objects_keep_insertion_order) {
    JsonObject o;
    BOOST_TEST(o.empty());
    BOOST_TEST(o.str() == "{}");
    o.add("b", "x").add("a", 1).add("c", true).add("d", false).addNull("e");
    BOOST_TEST(!o.empty());
    BOOST_TEST(o.str() == R"({"b":"x","a":1,"c":true,"d":false,"e":null})");
    BOOST_TEST(o.str() == o.str()); // str() does not close the builder
    o.add("f", std::string("y"));
    BOOST_TEST(o.str() == R"({"b":"x","a":1,"c":true,"d":false,"e":null,"f":"y"})");
}

BOOST_AUTO_TEST_CASE(keys_are_escaped_too) {
    BOOST_TEST(JsonObject().add("k\"\x01\xFF", 1).str() == "{\"k\\\"\\u0001" + kFffd + "\":1}");
}

BOOST_AUTO_TEST_CASE(numbers) {
    JsonArray a;
    a.add(0)
        .add(-1)
        .add(std::numeric_limits<std::int64_t>::min())
        .add(std::numeric_limits<std::int64_t>::max())
        .add(std::numeric_limits<std::uint64_t>::max())
        .add(std::uint32_t{7})
        .add(std::int16_t{-3})
        .add(std::size_t{42});
    BOOST_TEST(a.str() == "[0,-1,-9223372036854775808,9223372036854775807,"
                          "18446744073709551615,7,-3,42]");
    JsonArray d;
    d.add(0.5).add(-2.0).add(0.1).add(1e300).add(1.5f);
    BOOST_TEST(d.str() == "[0.5,-2,0.1,1e+300,1.5]");
    JsonArray notFinite;
    notFinite.add(std::nan("")).add(std::numeric_limits<double>::infinity());
    BOOST_TEST(notFinite.str() == "[null,null]");
    const auto parsed = parse(a.str());
    BOOST_TEST(parsed[2].asInt64() == std::numeric_limits<std::int64_t>::min());
    BOOST_TEST(parsed[4].asUInt64() == std::numeric_limits<std::uint64_t>::max());
}

BOOST_AUTO_TEST_CASE(nested_objects_and_arrays) {
    JsonArray empty;
    BOOST_TEST(empty.empty());
    BOOST_TEST(empty.str() == "[]");
    JsonObject inner;
    inner.add("n", 1).add("list", std::vector<std::string>{"a", "b\"c"});
    JsonArray items;
    items.add(inner).add(JsonArray().add(1).add("two").addNull()).add(JsonObject()).add(empty);
    JsonObject doc;
    doc.add("items", items).add("inner", inner).add("none", std::vector<std::string>{});
    const std::string text = doc.str();
    BOOST_TEST(text == R"({"items":[{"n":1,"list":["a","b\"c"]},[1,"two",null],{},[]],)"
                       R"("inner":{"n":1,"list":["a","b\"c"]},"none":[]})");
    const auto v = parse(text);
    BOOST_TEST(v["items"][0]["list"][1].asString() == "b\"c");
    BOOST_TEST(v["items"][1][2].isNull());
    BOOST_TEST(v["inner"]["n"].asInt() == 1);
}

BOOST_AUTO_TEST_CASE(append_forms) {
    std::string out = "x=";
    swarm::base::appendJsonString(out, "\xFF");
    BOOST_TEST(out == "x=\"" + kFffd + "\"");
    out.clear();
    swarm::base::appendJson(out, JsonObject().add("a", "b"));
    BOOST_TEST(out == R"({"a":"b"})");
}

BOOST_AUTO_TEST_SUITE_END()
