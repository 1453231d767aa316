// Which broker client context is being disconnected, so that validate can tell the write check of a Will
// (sent only for a client that is gone) from the write check of an ordinary publish (already checked in MESSAGE).
#pragma once

#include <cstdint>
#include <string_view>

namespace mqs::validate {

// Mosquitto write-checks a Will through MOSQ_EVT_ACL_CHECK right after MOSQ_EVT_DISCONNECT for the same
// context, within the same call (src/context.c, context__disconnect); an ordinary publish is write-checked
// while its client is connected. So the first write check after a DISCONNECT, for that context and client
// id, is its Will; the next callback of any kind ends the window (endOfDisconnect).
// Only that window is trusted: a context is freed soon after and its address handed to the next
// connection (seen on 2.0.21 and 2.1.2 with a client that reconnects under the same id), so remembering
// contexts longer, for MQTT 5 delayed Wills or session-expiry Wills, mistook that client's first publish
// for a Will. Such later Wills are not checked (docs/validate.md, Wills).
// Thread: broker thread only. Never throws.
class DisconnectedClients {
public:
    void onDisconnect(const void* client, std::string_view client_id);
    // Any callback other than the Will check that follows a DISCONNECT: the immediate Will, if any, is past.
    void endOfDisconnect() { slot_ = nullptr; }
    // A write check for `client`: true (and forgotten, a Will is sent once) if it is the client being
    // disconnected, under the same id.
    bool takeWill(const void* client, std::string_view client_id);
    bool empty() const { return slot_ == nullptr; }
    bool contains(const void* client) const { return client != nullptr && client == slot_; }

private:
    const void* slot_ = nullptr;  // the client of the DISCONNECT being handled
    uint64_t slot_id_hash_ = 0;
};

}  // namespace mqs::validate
