// PBKDF2-SHA512 hashing and verification with OpenSSL; see password.hpp.
#include "dynacl/password.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>

namespace mqs::dynacl {
namespace {

std::optional<std::string> pbkdf2(std::string_view password, const std::string& salt, int iterations) {
    std::string out(kHashBytes, '\0');
    if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                          reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                          iterations, EVP_sha512(), static_cast<int>(out.size()),
                          reinterpret_cast<unsigned char*>(out.data())) != 1) {
        return std::nullopt;
    }
    return out;
}

}  // namespace

bool verifyPassword(const PasswordHash& stored, std::string_view password) {
    if (!stored.unsupported.empty() || stored.iterations < 1 || stored.hash.size() != kHashBytes) return false;
    auto computed = pbkdf2(password, stored.salt, stored.iterations);
    return computed && CRYPTO_memcmp(computed->data(), stored.hash.data(), kHashBytes) == 0;
}

PasswordHash hashPassword(std::string_view password, int iterations) {
    PasswordHash h;
    h.iterations = iterations;
    h.salt.assign(12, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(h.salt.data()), static_cast<int>(h.salt.size())) != 1) {
        throw std::runtime_error("no random bytes for a password salt");
    }
    auto computed = pbkdf2(password, h.salt, iterations);
    if (!computed) throw std::runtime_error("PBKDF2 failed");
    h.hash = std::move(*computed);
    return h;
}

std::string base64Encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0) return std::nullopt;
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) return std::nullopt;
    // EVP_DecodeBlock counts the padding as zero bytes.
    size_t len = static_cast<size_t>(n);
    if (text.back() == '=') --len;
    if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
    out.resize(len);
    return out;
}

std::optional<PasswordHash> parseEncodedPassword(std::string_view encoded) {
    if (encoded.starts_with("$argon2")) {
        PasswordHash h;
        h.unsupported = "argon2id hashes are not supported";
        return h;
    }
    if (!encoded.starts_with("$7$")) return std::nullopt;
    std::string_view rest = encoded.substr(3);
    const size_t a = rest.find('$');
    if (a == std::string_view::npos) return std::nullopt;
    const size_t b = rest.find('$', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    PasswordHash h;
    const std::string_view iter = rest.substr(0, a);
    auto [ptr, ec] = std::from_chars(iter.data(), iter.data() + iter.size(), h.iterations);
    if (ec != std::errc() || ptr != iter.data() + iter.size() || h.iterations < 1) return std::nullopt;
    auto salt = base64Decode(rest.substr(a + 1, b - a - 1));
    auto hash = base64Decode(rest.substr(b + 1));
    if (!salt || !hash || salt->empty() || hash->size() != kHashBytes) return std::nullopt;
    h.salt = std::move(*salt);
    h.hash = std::move(*hash);
    return h;
}

}  // namespace mqs::dynacl
