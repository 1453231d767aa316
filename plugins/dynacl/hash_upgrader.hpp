// Rehashes, off the broker thread, the password of a client that just logged in with a hash weaker than the
// configured iteration count; the broker thread applies the results to the state (in TICK) and persists them
// like a $CONTROL change.
#pragma once

#include <atomic>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/bounded_queue.hpp"
#include "dynacl/password.hpp"

namespace mqs::dynacl {

struct State;

struct HashUpgrade {
    std::string username;
    PasswordHash from;     // the hash the login passed against: applied only if the client still has it
    PasswordHash to;       // the new hash at the configured count
    std::string password;  // kept until applied so the login cache can learn the new hash; wiped after
};

// True if `stored` is a hash dynacl can verify and weaker than `iterations`.
bool needsUpgrade(const PasswordHash& stored, int iterations);
// Puts u.to in place of u.from for u.username; false (nothing changed) when the client is gone or its hash is
// no longer u.from (changed through $CONTROL or a reload in the meantime).
bool applyUpgrade(State& state, const HashUpgrade& u);
std::string describeUpgrade(const HashUpgrade& u);  // for the log and the audit line, no secret in it

// Thread: submit, takeDone from the broker thread; the worker is internal. Bounded: at most `capacity`
// upgrades queued or waiting to be taken; more are refused (the client is upgraded on a later login).
// The destructor stops the worker; unfinished upgrades are dropped.
class HashUpgrader {
public:
    explicit HashUpgrader(size_t capacity = 256);
    ~HashUpgrader();
    HashUpgrader(const HashUpgrader&) = delete;
    HashUpgrader& operator=(const HashUpgrader&) = delete;

    // False when this username is already in flight or the queue is full.
    bool submit(std::string username, const PasswordHash& from, std::string_view password, int iterations);
    // Finished upgrades (failures are dropped); frees their usernames for later submits.
    std::vector<HashUpgrade> takeDone();
    size_t inFlight() const { return in_flight_.size(); }

private:
    struct Request {
        HashUpgrade upgrade;
        int iterations;
    };
    void run();

    size_t capacity_;
    std::set<std::string> in_flight_;  // broker thread only
    BoundedQueue<Request> requests_;
    BoundedQueue<HashUpgrade> done_;  // a failed one has an empty `to.hash`
    std::atomic<bool> stop_{false};
    std::thread worker_;  // started by the first submit()
};

void wipe(std::string& secret);

}  // namespace mqs::dynacl
