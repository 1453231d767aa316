// Bookkeeping of the disconnecting client context for the Will check; see disconnected_clients.hpp.
#include "validate/disconnected_clients.hpp"

#include <functional>

namespace mqs::validate {
namespace {

uint64_t idHash(std::string_view id) {
    return std::hash<std::string_view>{}(id);
}

}  // namespace

void DisconnectedClients::onDisconnect(const void* client, std::string_view client_id) {
    slot_ = client;
    slot_id_hash_ = idHash(client_id);
}

bool DisconnectedClients::takeWill(const void* client, std::string_view client_id) {
    const bool is_will = client != nullptr && client == slot_ && slot_id_hash_ == idHash(client_id);
    slot_ = nullptr;
    return is_will;
}

}  // namespace mqs::validate
