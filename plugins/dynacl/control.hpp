// The $CONTROL/dynamic-security/v1 command API: dynamic-security's request and response JSON and error
// strings, applied all-or-nothing to a copy of the state. Broker-free; the adapter publishes the reply and
// swaps the new state in. Not thread-safe; broker thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dynacl/state.hpp"

namespace mqs::dynacl {

inline constexpr const char* kControlTopic = "$CONTROL/dynamic-security/v1";
inline constexpr const char* kResponseTopic = "$CONTROL/dynamic-security/v1/response";
inline constexpr size_t kMaxRequestBytes = 1024 * 1024;

struct ControlOutcome {
    std::string reply;          // {"responses":[...]}
    std::optional<State> next;  // the new state when the request changed it and every command succeeded
    // One line per command for the log: "<command> | k=v | ..." (passwords hidden) or "<command>: <error>".
    std::vector<std::string> log;
    // Whom dynamic-security would disconnect for these changes (reference section 6), for the
    // kick_like_dynsec switch; filled only when `next` is set.
    std::set<std::string> kick_usernames;
    bool kick_anonymous = false;
};

class DenialLog;
class ConnectionRegistry;

// What the commands see besides the state.
struct ControlExtras {
    std::optional<int64_t> now;          // unix seconds for explain; nullopt: the system clock
    const DenialLog* denials = nullptr;  // for getClientDenials; nullptr: every client has none
    const ConnectionRegistry* connections = nullptr;  // for getClient; nullptr: nobody is connected
};

ControlOutcome handleControl(const State& current, std::string_view payload, int password_iterations,
                             const ControlExtras& extras = {});

}  // namespace mqs::dynacl
