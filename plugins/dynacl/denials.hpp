// The last denials of each connected client (topic, access, the deciding role and ACL, time) and its
// denial counts per access type, for the getClientDenials command. Bounded: a few entries per client, each
// text cut, and a total budget beyond which only counts are kept. Broker-free; broker thread only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "dynacl/state.hpp"

namespace mqs::dynacl {

struct Denial {
    int64_t time_ms = 0;  // unix milliseconds
    Access access = Access::Write;
    std::string topic;
    std::string via;       // Explanation::via
    std::string rolename;  // the deciding role
    AclType acltype = AclType::PublishClientSend;
    std::string acl_topic;
    int priority = 0;
};

struct ClientDenials {
    std::string client_id;
    std::string username;
    bool has_username = false;
    std::array<uint64_t, 4> counts{};  // per Access
    std::deque<Denial> last;           // oldest first
    size_t bytes = 0;                  // of `last` and the names
};

class DenialLog {
public:
    static constexpr size_t kMaxTextBytes = 256;  // topics and names are cut to this
    static constexpr size_t kEntryOverhead = 160;

    explicit DenialLog(size_t per_client = 8, size_t total_bytes = 8 * 1024 * 1024)
        : per_client_(per_client), total_limit_(total_bytes) {}

    // `client` is the broker's opaque client handle.
    void record(const void* client, std::string_view client_id, std::string_view username, bool has_username,
                Denial denial);
    void forget(const void* client);

    // Connected clients with at least one denial, matching the client id and/or username given.
    std::vector<const ClientDenials*> find(const std::string* client_id, const std::string* username) const;
    size_t bytes() const { return total_bytes_; }
    size_t clients() const { return clients_.size(); }

private:
    size_t per_client_;
    size_t total_limit_;
    size_t total_bytes_ = 0;
    std::unordered_map<const void*, ClientDenials> clients_;
};

const char* accessName(Access access);  // publish, receive, subscribe, unsubscribe
nlohmann::json denialsJson(const ClientDenials& c);

}  // namespace mqs::dynacl
