// A batch of encoded lines as it travels from the intake thread to the sender and the spool:
// one contiguous body ready to POST, plus line boundaries so a rejected batch can be split.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mqs::influx {

struct Batch {
    std::string data;             // every line followed by '\n'
    std::vector<uint32_t> ends;   // offset just past each line's '\n' (string fields may hold '\n' themselves)
    int64_t oldest_ms = 0;        // wall-clock ms when its first line was accepted (age metric)
    uint64_t journal_end = 0;     // journal position past its last line (0: not journaled); not spooled

    size_t lines() const { return ends.size(); }
    size_t bytes() const { return data.size(); }
    void add(std::string_view line, int64_t now_ms);
    // Body of lines [first, last) including their newlines.
    std::string_view body(size_t first, size_t last) const;
    // One line without its newline.
    std::string_view line(size_t i) const;

    // Spool record: u64 oldest_ms, u32 count, count x u32 ends, data (little-endian).
    std::string serialize() const;
    static std::optional<Batch> deserialize(std::string_view record);
};

}  // namespace mqs::influx
