// Last denials per connected client; see denials.hpp.
#include "dynacl/denials.hpp"

#include "dynacl/conditions.hpp"

namespace mqs::dynacl {
namespace {

std::string cut(std::string_view text) {
    if (text.size() <= DenialLog::kMaxTextBytes) return std::string(text);
    // Not in the middle of a UTF-8 sequence, so the reply stays valid JSON text.
    size_t n = DenialLog::kMaxTextBytes;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    return std::string(text.substr(0, n));
}

size_t costOf(const Denial& d) {
    return DenialLog::kEntryOverhead + d.topic.size() + d.via.size() + d.rolename.size() + d.acl_topic.size();
}

}  // namespace

const char* accessName(Access access) {
    static constexpr const char* kNames[] = {"receive", "publish", "subscribe", "unsubscribe"};  // Access order
    return kNames[static_cast<size_t>(access)];
}

void DenialLog::record(const void* client, std::string_view client_id, std::string_view username, bool has_username,
                       Denial denial) {
    auto [it, inserted] = clients_.try_emplace(client);
    ClientDenials& c = it->second;
    if (inserted || c.client_id != client_id || c.username != username || c.has_username != has_username) {
        total_bytes_ -= c.bytes;
        c = ClientDenials{};
        c.client_id = cut(client_id);
        c.username = cut(username);
        c.has_username = has_username;
        c.bytes = kEntryOverhead + c.client_id.size() + c.username.size();
        total_bytes_ += c.bytes;
    }
    ++c.counts[static_cast<size_t>(denial.access)];
    if (per_client_ == 0) return;
    denial.topic = cut(denial.topic);
    denial.via = cut(denial.via);
    denial.rolename = cut(denial.rolename);
    denial.acl_topic = cut(denial.acl_topic);
    const size_t cost = costOf(denial);
    while (!c.last.empty() && (c.last.size() >= per_client_ || total_bytes_ + cost > total_limit_)) {
        const size_t old = costOf(c.last.front());
        c.last.pop_front();
        c.bytes -= old;
        total_bytes_ -= old;
    }
    // Over the total budget even with this client's list empty: only its counts are kept.
    if (total_bytes_ + cost > total_limit_) return;
    c.last.push_back(std::move(denial));
    c.bytes += cost;
    total_bytes_ += cost;
}

void DenialLog::forget(const void* client) {
    auto it = clients_.find(client);
    if (it == clients_.end()) return;
    total_bytes_ -= it->second.bytes;
    clients_.erase(it);
}

std::vector<const ClientDenials*> DenialLog::find(const std::string* client_id, const std::string* username) const {
    std::vector<const ClientDenials*> out;
    for (const auto& [handle, c] : clients_) {
        if (client_id && c.client_id != *client_id) continue;
        if (username && (!c.has_username || c.username != *username)) continue;
        out.push_back(&c);
    }
    return out;
}

nlohmann::json denialsJson(const ClientDenials& c) {
    using nlohmann::json;
    json counts = json::object();
    for (Access a : {Access::Write, Access::Read, Access::Subscribe, Access::Unsubscribe}) {
        counts[accessName(a)] = c.counts[static_cast<size_t>(a)];
    }
    json last = json::array();
    for (auto it = c.last.rbegin(); it != c.last.rend(); ++it) {  // newest first
        const Denial& d = *it;
        last.push_back({{"time", formatUtcTime(d.time_ms / 1000)},
                        {"time_ms", d.time_ms},
                        {"access", accessName(d.access)},
                        {"topic", d.topic},
                        {"via", d.via},
                        {"rolename", d.rolename},
                        {"acl",
                         {{"acltype", aclTypeName(d.acltype)},
                          {"topic", d.acl_topic},
                          {"priority", d.priority},
                          {"allow", false}}}});
    }
    json j = {{"clientid", c.client_id}, {"counts", std::move(counts)}, {"denials", std::move(last)}};
    j["username"] = c.has_username ? json(c.username) : json();
    return j;
}

}  // namespace mqs::dynacl
