// Live connections per username; see connections.hpp.
#include "dynacl/connections.hpp"

#include <algorithm>

namespace mqs::dynacl {

namespace {

std::string cut(std::string_view s) {
    if (s.size() <= ConnectionRegistry::kMaxTextBytes) return std::string(s);
    size_t n = ConnectionRegistry::kMaxTextBytes;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // a UTF-8 boundary
    return std::string(s.substr(0, n));
}

}  // namespace

void ConnectionRegistry::add(const void* client, std::string_view username, std::string_view client_id,
                             std::string_view address) {
    remove(client);
    Entry e{cut(username), {cut(client_id), cut(address)}, 0};
    e.bytes = kEntryOverhead + e.username.size() * 2 + e.connection.client_id.size() + e.connection.address.size();
    if (bytes_ + e.bytes > max_bytes_) {
        ++untracked_;
        return;
    }
    bytes_ += e.bytes;
    by_username_[e.username].insert(client);
    by_client_.emplace(client, std::move(e));
}

void ConnectionRegistry::remove(const void* client) {
    const auto it = by_client_.find(client);
    if (it == by_client_.end()) return;
    const auto u = by_username_.find(it->second.username);
    if (u != by_username_.end()) {
        u->second.erase(client);
        if (u->second.empty()) by_username_.erase(u);
    }
    bytes_ -= it->second.bytes;
    by_client_.erase(it);
}

std::vector<ConnectionRegistry::Connection> ConnectionRegistry::of(std::string_view username) const {
    std::vector<Connection> out;
    const auto u = by_username_.find(username);
    if (u == by_username_.end()) return out;
    for (const void* client : u->second) out.push_back(by_client_.at(client).connection);
    std::sort(out.begin(), out.end(), [](const Connection& a, const Connection& b) {
        return a.client_id != b.client_id ? a.client_id < b.client_id : a.address < b.address;
    });
    return out;
}

}  // namespace mqs::dynacl
