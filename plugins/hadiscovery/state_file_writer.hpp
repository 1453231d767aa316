// Writes the plugin's state snapshot off the broker thread: common/snapshot_writer.hpp (the latest snapshot
// wins, rendered and saved by a forked child, so the broker gets no second thread) saving with
// writeFileAtomically (<file>.new, fsync, rename, fsync of the folder).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/durable_file.hpp"
#include "common/snapshot_writer.hpp"

namespace mqs::hadiscovery {

// Corrupt or unreadable state snapshot; the message names the file (`where`) and the problem.
class SnapshotError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

using mqs::writeFileAtomically;

// Thread: as SnapshotWriter. A crash at any moment leaves either the old or the new complete file.
class StateFileWriter : public SnapshotWriter {
public:
    explicit StateFileWriter(std::string path)
        : SnapshotWriter([path](const std::string& content, const std::vector<std::string>&) {
              return writeFileAtomically(path, content);
          }),
          path_(std::move(path)) {}

    const std::string& path() const { return path_; }

private:
    const std::string path_;
};

}  // namespace mqs::hadiscovery
