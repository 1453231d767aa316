// On-disk spool of one sink: append-only segment files of length+CRC32-framed records, read back
// in order, acknowledged through a small cursor file, recovered after a restart or kill -9.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mqs::influx {

// never: write() only; the data survives a crash of the broker (it is in the kernel's page cache)
//        but not a power loss or kernel crash.
// batch: fdatasync() after every appended record and fsync() of the directory when a segment is
//        created or the cursor moves; survives power loss up to the last appended batch.
enum class FsyncPolicy { Never, Batch };

struct SpoolOptions {
    std::filesystem::path dir;
    uint64_t max_bytes = 1ull << 30;        // unacknowledged bytes (headers included) it may hold
    uint64_t segment_bytes = 16ull << 20;   // a new segment starts past this size
    FsyncPolicy fsync = FsyncPolicy::Batch;
};

class SpoolError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thread: not thread-safe; the owning pipeline calls it under its own lock.
// Errors: the constructor throws SpoolError when the directory cannot be used; later I/O errors
// are returned, never thrown.
class Spool {
public:
    explicit Spool(SpoolOptions options);
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    enum class Append { Ok, Full, IoError };
    Append append(std::string_view record, std::string& error);

    // Copies the oldest unacknowledged record into `out`; false when the spool is empty.
    // A record whose CRC does not match (disk damage) is skipped and counted in corruptBytes().
    bool front(std::string& out);
    // Acknowledges the record last returned by front(): it will not be read again, even after a restart.
    void pop();

    bool empty() const { return records_ == 0; }
    uint64_t records() const { return records_; }
    uint64_t bytes() const { return bytes_; }
    uint64_t corruptBytes() const { return corrupt_bytes_; }
    uint64_t recoveredRecords() const { return recovered_records_; }
    const SpoolOptions& options() const { return options_; }

    static constexpr size_t kHeaderBytes = 8;                 // u32 length, u32 crc32(payload)
    static constexpr uint32_t kMaxRecordBytes = 256u << 20;   // larger lengths mean a damaged header

private:
    struct Segment {
        uint64_t seq;
        uint64_t size;  // bytes of valid records
    };
    std::filesystem::path segmentPath(uint64_t seq) const;
    void recover();
    uint64_t scanSegment(const std::filesystem::path& path, uint64_t from, uint64_t size, bool is_last);
    bool openWriteSegment(std::string& error);
    void closeWrite();
    void dropHeadSegment();
    void writeCursor();
    bool readAt(uint64_t seq, uint64_t offset, void* buf, size_t len);
    void syncDir();

    SpoolOptions options_;
    std::deque<Segment> segments_;
    uint64_t read_offset_ = 0;   // into segments_.front()
    uint64_t head_length_ = 0;   // payload length of the record front() returned, 0 if none
    int write_fd_ = -1;          // open on segments_.back() when it takes appends
    int read_fd_ = -1;
    uint64_t read_seq_ = 0;
    uint64_t next_seq_ = 1;
    uint64_t records_ = 0, bytes_ = 0, corrupt_bytes_ = 0, recovered_records_ = 0;
};

}  // namespace mqs::influx
