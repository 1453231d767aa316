// Remembers logins that passed a full PBKDF2 check, so a client reconnecting with the same password does not
// pay PBKDF2 on the broker thread again. What is kept is a keyed digest, not a reusable secret.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "dynacl/password.hpp"

namespace mqs::dynacl {

// Per username: HMAC-SHA256 under a random per-process key of (username, the stored hash's salt, hash and
// iterations, the password). A hit needs the same password against the same stored hash, so a password
// change or a reloaded file misses by itself; a wrong password never hits. Bounded in bytes, least recently
// used entry first out. Thread: broker thread only (not thread-safe). Throws std::runtime_error from the
// constructor when OpenSSL gives no random key.
class LoginCache {
public:
    explicit LoginCache(size_t max_bytes);

    // True if `password` matches `stored`: from the cache, or by a full verifyPassword, remembered on success.
    bool verify(std::string_view username, const PasswordHash& stored, std::string_view password);
    // Remembers a password the caller has verified against `stored` (a hash upgrade computed it from one).
    void rememberVerified(std::string_view username, const PasswordHash& stored, std::string_view password);

    // Heap bytes of one entry (list node, hash-map node, username twice, digest), measured, rounded up.
    static size_t entryBytes(std::string_view username);
    size_t bytes() const { return bytes_; }
    size_t size() const { return index_.size(); }
    uint64_t hits() const { return hits_; }
    uint64_t misses() const { return misses_; }
    void clear();

private:
    using Digest = std::array<unsigned char, 32>;
    struct Entry {
        std::string username;
        Digest digest;
    };
    Digest digestOf(std::string_view username, const PasswordHash& stored, std::string_view password) const;
    void remember(std::string_view username, const Digest& digest);

    size_t max_bytes_;
    std::array<unsigned char, 32> key_{};
    std::list<Entry> lru_;  // front: most recently used
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
    size_t bytes_ = 0;
    uint64_t hits_ = 0;
    uint64_t misses_ = 0;
};

}  // namespace mqs::dynacl
