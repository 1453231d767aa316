// Where the state's bytes live: a small interface so a store other than the local file (shared between brokers)
// can replace it without touching the loader or the writer. FileStateStore is the dynamic-security.json file.
#pragma once

#include <string>

namespace mqs::dynacl {

// Thread: load() on the broker thread (init, reload); save() in the StateWriter's child process only (a forked
// copy of the broker: what it saves must land outside the process, in a file or a database). Neither is called
// concurrently with itself.
class StateStore {
public:
    virtual ~StateStore() = default;
    // The stored bytes; throws StateFileError naming the store and the problem.
    virtual std::string load() const = 0;
    // Makes `bytes` the stored state durably and atomically (the old or the new bytes after a crash, never a
    // mix). Returns empty, or why not (for the broker log).
    virtual std::string save(const std::string& bytes) = 0;
    // Names the store in log lines and errors, e.g. the file path.
    virtual std::string name() const = 0;
};

// The state file: writes <path>.new, fsyncs it, renames it over <path>, fsyncs the folder.
class FileStateStore : public StateStore {
public:
    explicit FileStateStore(std::string path) : path_(std::move(path)) {}
    std::string load() const override;
    std::string save(const std::string& bytes) override;
    std::string name() const override { return path_; }

private:
    std::string path_;
};

}  // namespace mqs::dynacl
