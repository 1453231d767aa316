// Crash-safe hand-off of encoded lines from the broker thread to a sink's intake thread: a fixed-size
// file-backed ring, memory-mapped, so a line appended before the PUBACK survives a kill -9 of the broker.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "influx/batch.hpp"

namespace mqs::influx {

// CRC-32C of `data`, continuing from `crc` (0 to start), as zlib's crc32() chains: hardware when the
// CPU has it, a table otherwise (same values).
uint32_t crc32c(uint32_t crc, const void* data, size_t len);

// File `<spool_dir>/<sink>/journal`: a 4 KiB header page, then `capacity` bytes of ring. Positions are
// logical byte offsets that only grow; position p lives at data[p % capacity]. Each record is
//   u32 length | u32 crc32c(length, position, line) | u64 position | line, padded to 16 bytes
// and a record that would cross the end of the ring is preceded by a wrap marker (length 0xffffffff).
// The header holds `consumed`: everything before it is safe elsewhere (written to the server, or in the
// spool). Nothing else in the file is ever rewritten in place except by appends, so a kill between any
// two stores leaves at most one torn record, the last, which its CRC (and its position) cuts off.
//
// Thread: append() from one producer (the broker thread); read() from one consumer (the intake thread);
// release() from the consumer side under the owner's lock (calls must not race each other).
// Errors: the constructor throws SpoolError when the file cannot be created, sized or mapped; nothing
// after that does I/O except sync().
class Journal {
public:
    static constexpr uint64_t kHeaderBytes = 4096;
    static constexpr uint64_t kRecordHeaderBytes = 16;
    static constexpr uint64_t kMinCapacity = 64 * 1024;

    // Opens (or creates) `file`. An existing journal keeps its own capacity while it holds records;
    // an empty or unreadable one is re-created with `capacity` (rounded up to 4 KiB).
    Journal(std::filesystem::path file, uint64_t capacity);
    ~Journal();
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;

    // Broker thread: copies the line into the ring (no system call). False, writing nothing, when the
    // ring has no room for it (lines not yet released fill it).
    bool append(std::string_view line) {
        const uint64_t len = line.size();
        const uint64_t need = recordBytes(len);
        uint64_t w = write_;
        const uint64_t off = w % capacity_;
        const uint64_t to_end = capacity_ - off;
        const uint64_t total = need <= to_end ? need : need + to_end;
        if (len == 0 || len >= kWrapMarker || w + total - consumed_.load(std::memory_order_acquire) > capacity_)
            return false;
        if (need > to_end) {
            writeHeader(data_ + off, kWrapMarker, w, {});
            w += to_end;
        }
        char* dst = data_ + w % capacity_;
        std::memcpy(dst + kRecordHeaderBytes, line.data(), len);
        writeHeader(dst, static_cast<uint32_t>(len), w, line);
        write_ = w + need;
        written_.store(write_, std::memory_order_release);
        return true;
    }

    // Consumer: appends up to `max_lines` lines not read yet to `out` (as Batch::add does, without the
    // time stamp) and, for each, the position just past its record to `ends`. Returns the count.
    size_t read(Batch& out, std::vector<uint64_t>& ends, size_t max_lines);
    bool hasUnread() const { return read_ != written_.load(std::memory_order_acquire); }

    // Consumer side: every line whose record ends at or before `position` is safe elsewhere; its space
    // may be reused and it is not replayed after a restart. Positions below the current one are ignored.
    void release(uint64_t position);

    // msync of the whole mapping (what a power loss would otherwise take); false with errno on failure.
    bool sync();

    uint64_t capacity() const { return capacity_; }
    // Bytes of records not yet released (read or not).
    uint64_t usedBytes() const {
        return written_.load(std::memory_order_acquire) - consumed_.load(std::memory_order_acquire);
    }
    // Lines found after `consumed` when the file was opened; they are read first.
    uint64_t recoveredLines() const { return recovered_lines_; }
    // Bytes after the last valid record that looked written (a torn last record), when opened.
    uint64_t tornBytes() const { return torn_bytes_; }
    // What the constructor had to do that the owner may want to log (empty when nothing).
    const std::string& note() const { return note_; }
    const std::filesystem::path& file() const { return file_; }

    static uint64_t recordBytes(uint64_t len) { return (kRecordHeaderBytes + len + 15) & ~uint64_t{15}; }

private:
    static constexpr uint32_t kWrapMarker = 0xffffffffu;
    static constexpr uint64_t kMagic = 0x314c4e524a51534dull;  // "MSQJRNL1"

    struct Header {
        uint64_t magic;
        uint64_t capacity;
        char pad[48];
        uint64_t consumed;  // alone on its cache line: the consumer's only store into the file
    };

    static uint32_t crcOf(uint32_t len, uint64_t pos, std::string_view line);
    static void writeHeader(char* dst, uint32_t len, uint64_t pos, std::string_view line) {
        const uint32_t crc = crcOf(len, pos, line);
        std::memcpy(dst, &len, 4);
        std::memcpy(dst + 4, &crc, 4);
        std::memcpy(dst + 8, &pos, 8);
    }
    void create(uint64_t capacity);
    void map(int fd, uint64_t capacity);
    void recover();

    std::filesystem::path file_;
    int fd_ = -1;
    char* map_ = nullptr;
    Header* header_ = nullptr;
    char* data_ = nullptr;
    uint64_t capacity_ = 0;

    uint64_t write_ = 0;                // producer's own copy of written_
    std::atomic<uint64_t> written_{0};  // published to the consumer
    // Consumer-written state on its own cache line: the producer's stores above do not bounce it.
    alignas(64) std::atomic<uint64_t> consumed_{0};  // published to the producer (mirrors header_->consumed)
    uint64_t read_ = 0;                              // consumer only
    uint64_t recovered_lines_ = 0, torn_bytes_ = 0;
    std::string note_;
};

}  // namespace mqs::influx
