// The state writer: SnapshotWriter saving into a StateStore after the audit log; see state_writer.hpp.
#include "dynacl/state_writer.hpp"

#include <utility>
#include <vector>

#include "common/durable_file.hpp"

namespace mqs::dynacl {

namespace {

SnapshotWriter::Save saveWithAudit(std::shared_ptr<StateStore> store, std::string audit_path) {
    return [store = std::move(store), audit_path = std::move(audit_path)](const std::string& content,
                                                                           const std::vector<std::string>& audit) {
        if (!audit_path.empty() && !audit.empty()) {
            std::string problem = appendLinesDurably(audit_path, audit);
            if (!problem.empty()) return "audit log: " + problem;
        }
        return store->save(content);
    };
}

}  // namespace

StateWriter::StateWriter(std::string path, std::string audit_path)
    : StateWriter(std::make_unique<FileStateStore>(std::move(path)), std::move(audit_path)) {}

StateWriter::StateWriter(std::unique_ptr<StateStore> store, std::string audit_path)
    : SnapshotWriter(saveWithAudit(std::move(store), std::move(audit_path))) {}

}  // namespace mqs::dynacl
