// dynamic-security.json <-> State: reads the file mosquitto_ctrl dynsec init and the stock plugin write
// (2.0's password/salt/iterations and 2.1's encoded_password) and writes it back in the same layout.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dynacl/state.hpp"
#include "dynacl/state_store.hpp"

namespace mqs::dynacl {

class StateFileError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct LoadedState {
    State state;
    std::vector<std::string> warnings;  // entries skipped, as dynamic-security skips them
};

// Throws StateFileError naming the file and the problem: missing or unreadable file, invalid JSON, a
// wrong type where the layout needs an object/array, duplicate names. A 0-byte file is an empty state
// (nothing allowed by default, as dynamic-security).
LoadedState loadStateFile(const std::string& path);
// The same from any store (loadStateFile is a FileStateStore); errors name store.name().
LoadedState loadState(const StateStore& store);
LoadedState parseState(const nlohmann::json& root);

// The layout dynamic-security writes (reference 1.2): defaultACLAccess, clients, groups, anonymousGroup,
// roles; link priorities of -1 left out.
nlohmann::json stateToJson(const State& state);

}  // namespace mqs::dynacl
