// Atomic replace and durable append; see durable_file.hpp.
#include "common/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mqs {

namespace {

std::string errnoText() {
    return std::strerror(errno);
}

// Writes all of `text` to `fd`; false with errno set on failure.
bool writeAll(int fd, const std::string& text) {
    size_t off = 0;
    while (off < text.size()) {
        const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        off += static_cast<size_t>(n);
    }
    return true;
}

}  // namespace

std::string writeFileAtomically(const std::string& path, const std::string& content) {
    const std::string temp = path + ".new";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return "cannot create '" + temp + "': " + errnoText();
    const auto fail = [&](const std::string& what) {
        std::string problem = what + " '" + temp + "': " + errnoText();
        ::close(fd);
        ::unlink(temp.c_str());
        return problem;
    };
    if (!writeAll(fd, content)) return fail("cannot write");
    // Data on disk before the rename, else a crash could leave the new name on an empty file.
    if (::fsync(fd) != 0) return fail("cannot fsync");
    if (::close(fd) != 0) {
        std::string problem = "cannot close '" + temp + "': " + errnoText();
        ::unlink(temp.c_str());
        return problem;
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        std::string problem = "cannot rename '" + temp + "' to '" + path + "': " + errnoText();
        ::unlink(temp.c_str());
        return problem;
    }
    // The rename is durable only once the folder is.
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return "cannot open the folder of '" + path + "' to fsync it: " + errnoText();
    const bool synced = ::fsync(dfd) == 0;
    const std::string why = synced ? "" : errnoText();
    ::close(dfd);
    return synced ? "" : "cannot fsync the folder of '" + path + "': " + why;
}

std::string appendLinesDurably(const std::string& path, const std::vector<std::string>& lines) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return "cannot open '" + path + "': " + errnoText();
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    if (!writeAll(fd, text)) {
        std::string problem = "cannot write '" + path + "': " + errnoText();
        ::close(fd);
        return problem;
    }
    const bool synced = ::fsync(fd) == 0;
    const std::string why = synced ? "" : errnoText();
    ::close(fd);
    return synced ? "" : "cannot fsync '" + path + "': " + why;
}

}  // namespace mqs
