// Writes the state off the broker thread (common/snapshot_writer.hpp: the latest snapshot wins, rendered and
// saved by a forked child process), into a StateStore (the file: atomic, so a crash leaves the old or the new
// state, never a mix), with each change's audit line appended and fsynced first.
#pragma once

#include <memory>
#include <string>

#include "common/snapshot_writer.hpp"
#include "dynacl/state_store.hpp"

namespace mqs::dynacl {

// Thread: as SnapshotWriter. Sequence numbers (submit's result, done(), written()) let the adapter send a
// $CONTROL reply only once its change is durable.
class StateWriter : public SnapshotWriter {
public:
    // `audit_path` empty: no audit log. Otherwise the audit lines submitted with a snapshot (and with the ones
    // it superseded) are appended and fsynced before the state is saved: a crash in between leaves a logged
    // change that did not land, never an unlogged one.
    explicit StateWriter(std::string path, std::string audit_path = "");  // a FileStateStore on `path`
    explicit StateWriter(std::unique_ptr<StateStore> store, std::string audit_path = "");
};

}  // namespace mqs::dynacl
