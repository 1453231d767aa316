// Password hash upgrade on login; see hash_upgrader.hpp.
#include "dynacl/hash_upgrader.hpp"

#include <openssl/crypto.h>

#include <cstdlib>
#include <exception>
#include <optional>

#include "dynacl/state.hpp"

namespace mqs::dynacl {

void wipe(std::string& secret) {
    if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
    secret.clear();
}

bool needsUpgrade(const PasswordHash& stored, int iterations) {
    return stored.unsupported.empty() && stored.hash.size() == kHashBytes && stored.iterations < iterations;
}

bool applyUpgrade(State& state, const HashUpgrade& u) {
    auto it = state.clients.find(u.username);
    if (it == state.clients.end() || !it->second.password) return false;
    const PasswordHash& now = *it->second.password;
    if (now.iterations != u.from.iterations || now.salt != u.from.salt || now.hash != u.from.hash) return false;
    it->second.password = u.to;
    return true;
}

std::string describeUpgrade(const HashUpgrade& u) {
    return "upgradePasswordHash | username=" + u.username + " | iterations=" + std::to_string(u.from.iterations) +
           "->" + std::to_string(u.to.iterations);
}

HashUpgrader::HashUpgrader(size_t capacity) : capacity_(capacity) {}

HashUpgrader::~HashUpgrader() {
    drop(queued_);
    drop(hashing_);  // ~ChildTask kills the child: these are redone on a later login
}

void HashUpgrader::drop(std::vector<Request>& requests) {
    for (auto& r : requests) {
        in_flight_.erase(r.upgrade.username);
        wipe(r.upgrade.password);
    }
    requests.clear();
}

bool HashUpgrader::submit(std::string username, const PasswordHash& from, std::string_view password, int iterations) {
    if (in_flight_.size() >= capacity_ || in_flight_.count(username)) return false;
    in_flight_.insert(username);
    queued_.push_back({HashUpgrade{std::move(username), from, PasswordHash{}, std::string(password)}, iterations});
    if (!child_.running()) startChild();
    return true;
}

void HashUpgrader::startChild() {
    if (queued_.empty()) return;
    hashing_ = std::move(queued_);
    queued_.clear();
    // The child hashes its copy of the batch; one line per request, in order: "<iterations> <salt> <hash>"
    // (base64), or "-" when OpenSSL failed. No password leaves the child.
    const std::string problem = child_.start([this] {
        std::string out;
        for (const auto& r : hashing_) {
            try {
                const PasswordHash h = hashPassword(r.upgrade.password, r.iterations);
                out += std::to_string(h.iterations) + ' ' + base64Encode(h.salt) + ' ' + base64Encode(h.hash) + '\n';
            } catch (const std::exception&) {
                out += "-\n";
            }
        }
        return out;
    });
    if (!problem.empty()) drop(hashing_);  // cannot fork now: the next login of each client asks again
}

namespace {

// One result line of the child; nullopt for "-" or anything malformed (a child killed mid-write).
std::optional<PasswordHash> parseResult(std::string_view line) {
    const size_t a = line.find(' ');
    const size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    PasswordHash h;
    const std::string count(line.substr(0, a));
    h.iterations = std::atoi(count.c_str());
    auto salt = base64Decode(line.substr(a + 1, b - a - 1));
    auto hash = base64Decode(line.substr(b + 1));
    if (h.iterations <= 0 || !salt || !hash || hash->size() != kHashBytes) return std::nullopt;
    h.salt = std::move(*salt);
    h.hash = std::move(*hash);
    return h;
}

}  // namespace

std::vector<HashUpgrade> HashUpgrader::takeDone() {
    std::vector<HashUpgrade> out;
    if (child_.running()) {
        const auto result = child_.poll();
        if (!result) return out;
        std::string_view rest(*result);
        for (auto& r : hashing_) {
            const size_t end = rest.find('\n');
            std::optional<PasswordHash> to;
            if (end != std::string_view::npos) {
                to = parseResult(rest.substr(0, end));
                rest.remove_prefix(end + 1);
            } else {
                rest = {};
            }
            in_flight_.erase(r.upgrade.username);
            if (to) {
                r.upgrade.to = std::move(*to);
                out.push_back(std::move(r.upgrade));
            } else {
                wipe(r.upgrade.password);  // failed: the old hash stays, a later login tries again
            }
        }
        hashing_.clear();
    }
    if (!child_.running()) startChild();
    return out;
}

}  // namespace mqs::dynacl
