// The state file as a StateStore; see state_store.hpp.
#include "dynacl/state_store.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/durable_file.hpp"
#include "dynacl/state_file.hpp"

namespace mqs::dynacl {

std::string FileStateStore::load() const {
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
        throw StateFileError("cannot open '" + path_ + "': " + std::strerror(errno) +
                             " (create it with: mosquitto_ctrl dynsec init " + path_ + " <admin-user>)");
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) throw StateFileError("cannot read '" + path_ + "'");
    return buffer.str();
}

std::string FileStateStore::save(const std::string& content) {
    return writeFileAtomically(path_, content);
}

}  // namespace mqs::dynacl
