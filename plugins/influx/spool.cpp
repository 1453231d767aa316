// Spool segments, recovery and the cursor file; see spool.hpp and docs/influx.md ("Spool").
// Torn or damaged records end their segment; recovered segments are never appended to.
#include "influx/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace mqs::influx {
namespace {

namespace fs = std::filesystem;

uint32_t crcOf(const void* data, size_t len) {
    return static_cast<uint32_t>(crc32(0L, static_cast<const Bytef*>(data), static_cast<uInt>(len)));
}

std::string errnoText() { return std::strerror(errno); }

}  // namespace

Spool::Spool(SpoolOptions options) : options_(std::move(options)) {
    std::error_code ec;
    fs::create_directories(options_.dir, ec);
    if (ec) throw SpoolError("cannot create spool directory '" + options_.dir.string() + "': " + ec.message());
    if (::access(options_.dir.c_str(), W_OK) != 0) {
        throw SpoolError("spool directory '" + options_.dir.string() + "' is not writable: " + errnoText());
    }
    recover();
}

Spool::~Spool() {
    closeWrite();
    if (read_fd_ >= 0) ::close(read_fd_);
}

fs::path Spool::segmentPath(uint64_t seq) const {
    char name[32];
    std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(seq));
    return options_.dir / name;
}

void Spool::syncDir() {
    if (options_.fsync != FsyncPolicy::Batch) return;
    int fd = ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

// Returns the end of the last valid record at or after `from`; a damaged record ends the segment.
uint64_t Spool::scanSegment(const fs::path& path, uint64_t from, uint64_t size, bool is_last) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return from;
    uint64_t pos = from;
    std::string payload;
    while (pos + kHeaderBytes <= size) {
        uint32_t header[2];
        if (::pread(fd, header, sizeof header, static_cast<off_t>(pos)) != static_cast<ssize_t>(sizeof header)) break;
        const uint32_t len = header[0];
        if (len > kMaxRecordBytes || pos + kHeaderBytes + len > size) break;
        payload.resize(len);
        if (::pread(fd, payload.data(), len, static_cast<off_t>(pos + kHeaderBytes)) != static_cast<ssize_t>(len)) break;
        if (crcOf(payload.data(), len) != header[1]) break;
        pos += kHeaderBytes + len;
        ++records_;
        bytes_ += kHeaderBytes + len;
    }
    ::close(fd);
    if (pos < size) {
        corrupt_bytes_ += size - pos;
        // A torn last write (kill -9 or power loss mid-append) is cut off so appends continue cleanly.
        // (If truncating fails, appends still go to a new segment and reads stop at `pos`.)
        if (is_last) [[maybe_unused]] int rc = ::truncate(path.c_str(), static_cast<off_t>(pos));
    }
    return pos;
}

void Spool::recover() {
    uint64_t cursor_seq = 0, cursor_offset = 0;
    {
        std::ifstream cursor(options_.dir / "cursor");
        unsigned long long s = 0, o = 0;
        if (cursor >> s >> o) {
            cursor_seq = s;
            cursor_offset = o;
        }
    }
    std::vector<uint64_t> seqs;
    for (const auto& entry : fs::directory_iterator(options_.dir)) {
        const std::string name = entry.path().filename().string();
        if (name.size() != 24 || name.substr(20) != ".seg") continue;
        seqs.push_back(std::stoull(name.substr(0, 20)));
    }
    std::sort(seqs.begin(), seqs.end());
    next_seq_ = std::max<uint64_t>(cursor_seq + 1, seqs.empty() ? 1 : seqs.back() + 1);
    bool first_kept = true;
    for (size_t i = 0; i < seqs.size(); ++i) {
        const uint64_t seq = seqs[i];
        const fs::path path = segmentPath(seq);
        std::error_code ec;
        if (seq < cursor_seq) {
            fs::remove(path, ec);  // fully acknowledged before the restart
            continue;
        }
        const uint64_t size = fs::file_size(path, ec);
        if (ec) continue;
        const uint64_t start = seq == cursor_seq ? std::min(cursor_offset, size) : 0;
        const bool is_last = i + 1 == seqs.size();
        const uint64_t end = scanSegment(path, start, size, is_last);
        if (end == start && !is_last) {
            fs::remove(path, ec);
            continue;
        }
        if (first_kept) {
            read_offset_ = start;
            first_kept = false;
        }
        segments_.push_back({seq, end});
    }
    recovered_records_ = records_;
    if (records_ == 0) {
        // Nothing to replay: start from a clean directory.
        for (const auto& s : segments_) {
            std::error_code ec;
            fs::remove(segmentPath(s.seq), ec);
        }
        segments_.clear();
        read_offset_ = 0;
    }
}

bool Spool::openWriteSegment(std::string& error) {
    closeWrite();
    const uint64_t seq = next_seq_++;
    write_fd_ = ::open(segmentPath(seq).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (write_fd_ < 0) {
        error = "cannot create spool segment '" + segmentPath(seq).string() + "': " + errnoText();
        return false;
    }
    segments_.push_back({seq, 0});
    syncDir();
    return true;
}

void Spool::closeWrite() {
    if (write_fd_ >= 0) ::close(write_fd_);
    write_fd_ = -1;
}

Spool::Append Spool::append(std::string_view record, std::string& error) {
    const uint64_t total = kHeaderBytes + record.size();
    if (record.size() > kMaxRecordBytes) {
        error = "record of " + std::to_string(record.size()) + " bytes is larger than a spool record may be";
        return Append::IoError;
    }
    if (bytes_ + total > options_.max_bytes) return Append::Full;
    // Appends go to the last segment only while it is open for writing (segments found at start-up
    // are read-only: a new one is started, so a recovered file is never written again).
    if (write_fd_ < 0 || segments_.empty() || segments_.back().size >= options_.segment_bytes) {
        if (!openWriteSegment(error)) return Append::IoError;
    }
    const uint32_t header[2] = {static_cast<uint32_t>(record.size()), crcOf(record.data(), record.size())};
    iovec parts[2] = {{const_cast<uint32_t*>(header), sizeof header}, {const_cast<char*>(record.data()), record.size()}};
    Segment& seg = segments_.back();
    uint64_t written = 0;
    while (written < total) {
        ssize_t n;
        if (written < sizeof header) {
            iovec rest[2] = {{reinterpret_cast<char*>(const_cast<uint32_t*>(header)) + written, sizeof header - written},
                             parts[1]};
            n = ::writev(write_fd_, rest, 2);
        } else {
            n = ::write(write_fd_, record.data() + (written - sizeof header), total - written);
        }
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = "cannot write spool segment '" + segmentPath(seg.seq).string() + "': " + errnoText();
            // Cut the partial record so the file stays a sequence of whole records.
            if (::ftruncate(write_fd_, static_cast<off_t>(seg.size)) != 0) closeWrite();
            return Append::IoError;
        }
        written += static_cast<uint64_t>(n);
    }
    if (options_.fsync == FsyncPolicy::Batch && ::fdatasync(write_fd_) != 0) {
        error = "cannot fdatasync spool segment: " + errnoText();
        // The bytes were written; keep them counted so the order on disk and in memory agree.
    }
    seg.size += total;
    ++records_;
    bytes_ += total;
    return Append::Ok;
}

bool Spool::readAt(uint64_t seq, uint64_t offset, void* buf, size_t len) {
    if (read_fd_ < 0 || read_seq_ != seq) {
        if (read_fd_ >= 0) ::close(read_fd_);
        read_fd_ = ::open(segmentPath(seq).c_str(), O_RDONLY | O_CLOEXEC);
        read_seq_ = seq;
        if (read_fd_ < 0) return false;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = ::pread(read_fd_, static_cast<char*>(buf) + done, len - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

void Spool::dropHeadSegment() {
    const uint64_t seq = segments_.front().seq;
    if (read_fd_ >= 0 && read_seq_ == seq) {
        ::close(read_fd_);
        read_fd_ = -1;
    }
    if (segments_.size() == 1) closeWrite();
    segments_.pop_front();
    read_offset_ = 0;
    writeCursor();
    std::error_code ec;
    fs::remove(segmentPath(seq), ec);
}

bool Spool::front(std::string& out) {
    while (!segments_.empty()) {
        Segment& seg = segments_.front();
        if (read_offset_ + kHeaderBytes > seg.size) {
            if (segments_.size() == 1) return false;  // the write segment, fully read
            dropHeadSegment();
            continue;
        }
        uint32_t header[2];
        bool ok = readAt(seg.seq, read_offset_, header, sizeof header) && header[0] <= kMaxRecordBytes &&
                  read_offset_ + kHeaderBytes + header[0] <= seg.size;
        if (ok) {
            out.resize(header[0]);
            ok = readAt(seg.seq, read_offset_ + kHeaderBytes, out.data(), header[0]) && crcOf(out.data(), out.size()) == header[1];
        }
        if (ok) {
            head_length_ = header[0];
            return true;
        }
        // Damaged after it was written: give up on the rest of this segment, keep the counts honest.
        const uint64_t lost = seg.size - read_offset_;
        corrupt_bytes_ += lost;
        bytes_ -= std::min(bytes_, lost);
        seg.size = read_offset_;
        if (segments_.size() == 1) {
            records_ = 0;
            closeWrite();
        }
    }
    records_ = 0;
    return false;
}

void Spool::pop() {
    if (head_length_ == 0) {
        // The caller sent a copy it had before the record reached the spool: find its length now.
        std::string record;
        if (!front(record)) return;
    }
    const uint64_t total = kHeaderBytes + head_length_;
    head_length_ = 0;
    read_offset_ += total;
    --records_;
    bytes_ -= std::min(bytes_, total);
    if (records_ == 0) {
        // Everything acknowledged: remove the files, the next append starts a fresh segment.
        closeWrite();
        if (read_fd_ >= 0) ::close(read_fd_);
        read_fd_ = -1;
        std::vector<uint64_t> seqs;
        for (const auto& s : segments_) seqs.push_back(s.seq);
        segments_.clear();
        read_offset_ = 0;
        bytes_ = 0;
        writeCursor();
        for (uint64_t s : seqs) {
            std::error_code ec;
            fs::remove(segmentPath(s), ec);
        }
        return;
    }
    if (read_offset_ >= segments_.front().size && segments_.size() > 1) {
        dropHeadSegment();
    } else {
        writeCursor();
    }
}

void Spool::writeCursor() {
    const uint64_t seq = segments_.empty() ? next_seq_ : segments_.front().seq;
    const uint64_t offset = segments_.empty() ? 0 : read_offset_;
    const fs::path tmp = options_.dir / "cursor.tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;  // the next pop tries again; a stale cursor only replays acknowledged records
    const std::string text = std::to_string(seq) + " " + std::to_string(offset) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (ok && options_.fsync == FsyncPolicy::Batch) ok = ::fdatasync(fd) == 0;
    ::close(fd);
    if (ok && ::rename(tmp.c_str(), (options_.dir / "cursor").c_str()) == 0) syncDir();
}

}  // namespace mqs::influx
