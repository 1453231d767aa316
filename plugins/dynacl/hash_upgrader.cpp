// Password hash upgrade on login; see hash_upgrader.hpp.
#include "dynacl/hash_upgrader.hpp"

#include <openssl/crypto.h>

#include <chrono>

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

HashUpgrader::HashUpgrader(size_t capacity)
    : capacity_(capacity), requests_(capacity), done_(capacity) {}

HashUpgrader::~HashUpgrader() {
    stop_ = true;
    requests_.close();
    if (worker_.joinable()) worker_.join();
    requests_.drain([](Request r) { wipe(r.upgrade.password); });
    done_.drain([](HashUpgrade u) { wipe(u.password); });
}

bool HashUpgrader::submit(std::string username, const PasswordHash& from, std::string_view password, int iterations) {
    if (in_flight_.size() >= capacity_ || in_flight_.count(username)) return false;
    // Started with the first upgrade, not at load: a second thread costs the broker on every message (glibc
    // locks in malloc and around system calls once a process has one), and most logins need no upgrade.
    if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
    Request r{HashUpgrade{username, from, PasswordHash{}, std::string(password)}, iterations};
    if (!requests_.tryPush(std::move(r))) return false;
    in_flight_.insert(std::move(username));
    return true;
}

std::vector<HashUpgrade> HashUpgrader::takeDone() {
    std::vector<HashUpgrade> out;
    done_.drain([&](HashUpgrade u) {
        in_flight_.erase(u.username);
        if (u.to.hash.empty()) {
            wipe(u.password);
        } else {
            out.push_back(std::move(u));
        }
    });
    return out;
}

void HashUpgrader::run() {
    for (;;) {
        auto r = requests_.popWait(std::chrono::seconds(1));
        if (!r) {
            if (stop_) return;
            continue;
        }
        if (stop_) {  // shutting down: an unfinished upgrade is redone on a later login
            wipe(r->upgrade.password);
            continue;
        }
        try {
            r->upgrade.to = hashPassword(r->upgrade.password, r->iterations);
        } catch (const std::exception&) {
            r->upgrade.to = PasswordHash{};  // reported as failed; the old hash stays
        }
        done_.tryPush(std::move(r->upgrade));  // never full: in_flight_ bounds both queues together
    }
}

}  // namespace mqs::dynacl
