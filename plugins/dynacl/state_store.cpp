// The state file as a StateStore; see state_store.hpp.
#include "dynacl/state_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

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
    const std::string& path = path_;
    const std::string temp = path + ".new";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return "cannot create '" + temp + "': " + std::strerror(errno);
    size_t off = 0;
    while (off < content.size()) {
        const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::string problem = "cannot write '" + temp + "': " + std::strerror(errno);
            ::close(fd);
            return problem;
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        std::string problem = "cannot fsync '" + temp + "': " + std::strerror(errno);
        ::close(fd);
        return problem;
    }
    ::close(fd);
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        return "cannot rename '" + temp + "' to '" + path + "': " + std::strerror(errno);
    }
    // The rename itself is durable only once the folder is.
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = std::filesystem::path(".");
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return "";
}

}  // namespace mqs::dynacl
