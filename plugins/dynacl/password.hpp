// Password hashes as dynamic-security stores them: PBKDF2-HMAC-SHA512 with a salt and an iteration
// count (file fields password/salt/iterations, or 2.1's encoded_password "$7$iter$salt64$hash64").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mqs::dynacl {

struct PasswordHash {
    int iterations = 0;
    std::string salt;  // raw bytes
    std::string hash;  // raw bytes, 64
    // A hash we cannot verify (2.1's $argon2id$): the client exists but its logins are refused.
    std::string unsupported;
};

inline constexpr int kDefaultIterations = 101;  // dynamic-security's count; see docs/dynacl.md
inline constexpr size_t kHashBytes = 64;

bool verifyPassword(const PasswordHash& stored, std::string_view password);
// New random salt (12 bytes, as dynsec); throws std::runtime_error if OpenSSL fails.
PasswordHash hashPassword(std::string_view password, int iterations = kDefaultIterations);

std::string base64Encode(std::string_view bytes);
std::optional<std::string> base64Decode(std::string_view text);

// "$7$<iterations>$<salt64>$<hash64>"; nullopt when malformed. "$argon2id$..." gives a hash marked
// unsupported.
std::optional<PasswordHash> parseEncodedPassword(std::string_view encoded);

}  // namespace mqs::dynacl
