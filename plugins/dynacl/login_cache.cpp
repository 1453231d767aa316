// The verified-credentials cache; see login_cache.hpp.
#include "dynacl/login_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace mqs::dynacl {
namespace {

// Each field is length-prefixed, so ("ab","c") and ("a","bc") never give the same input.
void addField(std::string& out, std::string_view field) {
    const uint64_t n = field.size();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out.append(field);
}

}  // namespace

LoginCache::LoginCache(size_t max_bytes) : max_bytes_(max_bytes) {
    if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1) {
        throw std::runtime_error("no random bytes for the login cache key");
    }
}

size_t LoginCache::entryBytes(std::string_view username) {
    // Measured with glibc on x86-64 (login_cache_test): list node and hash-map node with their malloc headers
    // and a share of the bucket array come to about 180 bytes; a username longer than std::string's inline
    // 15 bytes costs a heap block in each of them.
    constexpr size_t kInline = 15;
    return 200 + (username.size() > kInline ? 2 * (username.size() + 24) : 0);
}

LoginCache::Digest LoginCache::digestOf(std::string_view username, const PasswordHash& stored,
                                        std::string_view password) const {
    std::string input;
    input.reserve(64 + username.size() + stored.salt.size() + stored.hash.size() + password.size());
    addField(input, username);
    addField(input, stored.salt);
    addField(input, stored.hash);
    addField(input, std::to_string(stored.iterations));
    addField(input, password);
    Digest d{};
    unsigned int len = 0;
    const bool ok = HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size(), d.data(), &len) != nullptr;
    OPENSSL_cleanse(input.data(), input.size());  // it held the password
    if (!ok || len != d.size()) throw std::runtime_error("HMAC-SHA256 failed");
    return d;
}

bool LoginCache::verify(std::string_view username, const PasswordHash& stored, std::string_view password) {
    if (max_bytes_ == 0) return verifyPassword(stored, password);
    Digest d;
    try {
        d = digestOf(username, stored, password);
    } catch (const std::exception&) {
        return verifyPassword(stored, password);  // no cache without a digest; the answer stays right
    }
    auto it = index_.find(std::string(username));
    if (it != index_.end() && CRYPTO_memcmp(it->second->digest.data(), d.data(), d.size()) == 0) {
        lru_.splice(lru_.begin(), lru_, it->second);
        ++hits_;
        return true;
    }
    ++misses_;
    if (!verifyPassword(stored, password)) return false;  // a wrong password is never remembered
    remember(username, d);
    return true;
}

void LoginCache::rememberVerified(std::string_view username, const PasswordHash& stored, std::string_view password) {
    if (max_bytes_ == 0) return;
    try {
        remember(username, digestOf(username, stored, password));
    } catch (const std::exception&) {
        // Not remembered: the next login verifies in full.
    }
}

void LoginCache::remember(std::string_view username, const Digest& digest) {
    auto it = index_.find(std::string(username));
    if (it != index_.end()) {
        it->second->digest = digest;
        lru_.splice(lru_.begin(), lru_, it->second);
        return;
    }
    const size_t cost = entryBytes(username);
    if (cost > max_bytes_) return;
    while (bytes_ + cost > max_bytes_ && !lru_.empty()) {
        bytes_ -= entryBytes(lru_.back().username);
        index_.erase(lru_.back().username);
        lru_.pop_back();
    }
    lru_.push_front(Entry{std::string(username), digest});
    index_.emplace(lru_.front().username, lru_.begin());
    bytes_ += cost;
}

void LoginCache::clear() {
    lru_.clear();
    index_.clear();
    bytes_ = 0;
}

}  // namespace mqs::dynacl
