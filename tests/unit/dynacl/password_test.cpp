// PBKDF2-SHA512 hashes in dynamic-security's encodings.
#include <gtest/gtest.h>

#include "dynacl/password.hpp"

using namespace mqs::dynacl;

TEST(Password, HashAndVerify) {
    PasswordHash h = hashPassword("secret");
    EXPECT_EQ(h.iterations, kDefaultIterations);
    EXPECT_EQ(h.salt.size(), 12u);
    EXPECT_EQ(h.hash.size(), 64u);
    EXPECT_TRUE(verifyPassword(h, "secret"));
    EXPECT_FALSE(verifyPassword(h, "Secret"));
    EXPECT_FALSE(verifyPassword(h, ""));
    h.iterations = 102;
    EXPECT_FALSE(verifyPassword(h, "secret"));
}

TEST(Password, KnownVector) {
    // PBKDF2-HMAC-SHA512("password", "salt", 1), RFC 6070-style vector for SHA-512.
    PasswordHash h;
    h.iterations = 1;
    h.salt = "salt";
    h.hash = *base64Decode("hn9wzxreAs/zdSWZo6U9xK80x6ZpgVrl1RNVThyM8lLALUcKKFoFAbrZmb/pQ8CPBQI119aLHaVeY/c7YKV/zg==");
    ASSERT_EQ(h.hash.size(), 64u);
    EXPECT_TRUE(verifyPassword(h, "password"));
}

TEST(Password, Base64RoundTrip) {
    for (const std::string& s : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                                 std::string("abcd"), std::string("\0\xff\x10", 3)}) {
        auto encoded = base64Encode(s);
        if (s.empty()) {
            EXPECT_EQ(encoded, "");
            continue;
        }
        auto decoded = base64Decode(encoded);
        ASSERT_TRUE(decoded);
        EXPECT_EQ(*decoded, s);
    }
    EXPECT_FALSE(base64Decode("abc"));
    EXPECT_FALSE(base64Decode("****"));
}

TEST(Password, EncodedPassword) {
    PasswordHash h = hashPassword("pw", 1000);
    std::string encoded = "$7$1000$" + base64Encode(h.salt) + "$" + base64Encode(h.hash);
    auto parsed = parseEncodedPassword(encoded);
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(verifyPassword(*parsed, "pw"));
    EXPECT_FALSE(parseEncodedPassword("$7$0$" + base64Encode(h.salt) + "$" + base64Encode(h.hash)));
    EXPECT_FALSE(parseEncodedPassword("$6$abc$def"));
    EXPECT_FALSE(parseEncodedPassword("$7$10$abcd"));
    auto argon = parseEncodedPassword("$argon2id$v=19$m=47104,t=1,p=1$c2FsdA$aGFzaA");
    ASSERT_TRUE(argon);
    EXPECT_FALSE(argon->unsupported.empty());
    EXPECT_FALSE(verifyPassword(*argon, "pw"));
}
