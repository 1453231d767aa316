// Fuzz target: hadiscovery's state snapshot (plugins/hadiscovery/inventory.* parseState), the file read at
// every start. Any input is accepted or refused with SnapshotError; an accepted one stays within the limits
// and survives a write and a read unchanged (serialize -> parse -> serialize gives the same text).
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "hadiscovery/inventory.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace mqs::hadiscovery;
    // Small limits, so the "over the limit: dropped and counted" paths run too.
    constexpr size_t kInventoryBytes = 4096, kDeletionsCount = 8, kDeletionsBytes = 1024;
    const std::string text(mqs::fuzz::asText(data, size));
    try {
        const LoadedState state =
            parseState(text, "fuzz-state.json", kInventoryBytes, kDeletionsCount, kDeletionsBytes);
        FUZZ_CHECK(state.inventory.bytes() <= kInventoryBytes, "inventory over its limit");
        FUZZ_CHECK(state.deletions.count() <= kDeletionsCount && state.deletions.bytes() <= kDeletionsBytes,
                   "deletions over their limits");
        const std::string once = serializeState(state.inventory, state.deletions);
        const LoadedState again =
            parseState(once, "fuzz-state.json (rewritten)", kInventoryBytes, kDeletionsCount, kDeletionsBytes);
        FUZZ_CHECK(serializeState(again.inventory, again.deletions) == once, "not stable across a write and a read");
    } catch (const SnapshotError&) {
        return 0;
    } catch (const std::exception& e) {
        FUZZ_CHECK(!mqs::fuzz::strictErrors(), std::string("not a SnapshotError: ") + e.what());
    }
    return 0;
}
