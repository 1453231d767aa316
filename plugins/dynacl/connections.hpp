// The live connections of each username (client id and address), for getClient's "connections" list as
// Mosquitto 2.1's dynamic-security gives it. 2.0's plugin API has no way to walk the connected clients, so
// the plugin records each login it accepted and drops it at the client's disconnect. Bounded in bytes: past
// the budget a login is not recorded and is counted instead. Broker-free; broker thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mqs::dynacl {

class ConnectionRegistry {
public:
    struct Connection {
        std::string client_id;
        std::string address;
        bool operator==(const Connection&) const = default;
    };
    static constexpr size_t kEntryOverhead = 200;  // hash and tree nodes, strings' headers
    static constexpr size_t kMaxTextBytes = 256;   // ids and addresses are cut to this

    explicit ConnectionRegistry(size_t max_bytes = 16 * 1024 * 1024) : max_bytes_(max_bytes) {}

    // A login of `username` accepted on the broker's client handle `client` (a handle is reused by later
    // connections: a new login replaces what it held).
    void add(const void* client, std::string_view username, std::string_view client_id, std::string_view address);
    void remove(const void* client);
    // The connections of a username, sorted by client id.
    std::vector<Connection> of(std::string_view username) const;

    size_t count() const { return by_client_.size(); }
    size_t bytes() const { return bytes_; }
    uint64_t untracked() const { return untracked_; }  // logins not recorded: over the budget

private:
    struct Entry {
        std::string username;
        Connection connection;
        size_t bytes = 0;
    };
    size_t max_bytes_;
    size_t bytes_ = 0;
    uint64_t untracked_ = 0;
    std::unordered_map<const void*, Entry> by_client_;
    std::map<std::string, std::set<const void*>, std::less<>> by_username_;
};

}  // namespace mqs::dynacl
