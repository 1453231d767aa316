// Rehashes, off the broker thread, the password of a client that just logged in with a hash weaker than the
// configured iteration count; the broker thread applies the results to the state (in TICK) and persists them
// like a $CONTROL change. The hashing runs in a forked child process, not a thread (common/child_task.hpp:
// a second thread would cost the broker on every message from then on).
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/child_task.hpp"
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

// Thread: the broker thread only. Bounded: at most `capacity` upgrades queued or being hashed; more are
// refused (the client is upgraded on a later login). One child at a time hashes every upgrade queued when it
// started; its results carry no secret (salt and hash only). The destructor kills a running child: unfinished
// upgrades are dropped.
class HashUpgrader {
public:
    explicit HashUpgrader(size_t capacity = 256);
    ~HashUpgrader();
    HashUpgrader(const HashUpgrader&) = delete;
    HashUpgrader& operator=(const HashUpgrader&) = delete;

    // False when this username is already in flight or the queue is full.
    bool submit(std::string username, const PasswordHash& from, std::string_view password, int iterations);
    // Finished upgrades (failures are dropped); frees their usernames for later submits. Never blocks: it
    // collects a finished child and starts the next one for what was queued meanwhile.
    std::vector<HashUpgrade> takeDone();
    size_t inFlight() const { return in_flight_.size(); }

private:
    struct Request {
        HashUpgrade upgrade;
        int iterations;
    };
    void startChild();
    void drop(std::vector<Request>& requests);

    size_t capacity_;
    std::set<std::string> in_flight_;  // queued or hashing
    std::vector<Request> queued_;      // for the next child
    std::vector<Request> hashing_;     // the running child's, in the order of its result lines
    ChildTask child_;
};

void wipe(std::string& secret);

}  // namespace mqs::dynacl
