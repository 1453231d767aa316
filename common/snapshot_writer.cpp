// Latest-wins snapshot saving in a forked child; see snapshot_writer.hpp.
#include "common/snapshot_writer.hpp"

#include <exception>
#include <utility>

namespace mqs {
namespace {

constexpr auto kRetryAfterForkFailure = std::chrono::seconds(1);

}  // namespace

SnapshotWriter::SnapshotWriter(Save save) : save_(std::move(save)) {}

SnapshotWriter::~SnapshotWriter() {
    flush();
}

uint64_t SnapshotWriter::submit(std::string content, std::string note) {
    return submit([text = std::move(content)] { return text; }, std::move(note));
}

uint64_t SnapshotWriter::submit(Render render, std::string note) {
    const uint64_t seq = ++submitted_;
    if (pending_) ++superseded_;
    pending_ = std::move(render);
    if (!note.empty()) notes_.push_back(std::move(note));
    poll();
    return seq;
}

void SnapshotWriter::poll() {
    if (child_.running()) {
        auto outcome = child_.poll();
        if (!outcome) return;
        finish(*outcome);
    }
    if (pending_ && std::chrono::steady_clock::now() >= retry_at_) start();
}

void SnapshotWriter::flush() {
    while (child_.running() || pending_) {
        if (child_.running()) {
            finish(child_.wait());
            continue;
        }
        retry_at_ = {};  // shutdown does not wait for the retry delay
        start();
        if (!child_.running()) {  // cannot fork at all: reported, and this snapshot is given up
            pending_ = nullptr;
            notes_.clear();
            done_ = submitted_;
        }
    }
}

void SnapshotWriter::fail(std::string problem) {
    ++failures_;
    // Bounded: a disk that fails every time must not grow memory while nobody drains errors.
    if (errors_.size() < 16) errors_.push_back(std::move(problem));
}

void SnapshotWriter::start() {
    const std::string problem = child_.start([this]() -> std::string {
        // In the child, on its own copy of the pending snapshot and notes.
        std::string outcome;
        try {
            outcome = save_(pending_(), notes_);
        } catch (const std::exception& e) {
            outcome = std::string("cannot serialize the state: ") + e.what();
        } catch (...) {
            outcome = "cannot serialize the state";
        }
        return outcome.empty() ? "ok" : outcome.substr(0, 4000);
    });
    if (!problem.empty()) {
        fail("cannot start the state writer process: " + problem);
        retry_at_ = std::chrono::steady_clock::now() + kRetryAfterForkFailure;
        return;
    }
    pending_ = nullptr;  // the child has its own copy, and of the notes
    notes_.clear();
    child_seq_ = submitted_;
}

void SnapshotWriter::finish(const std::string& outcome) {
    if (outcome == "ok") {
        ++writes_;
        written_ = child_seq_;
    } else if (outcome.empty()) {
        fail("the state writer process ended without writing the state");
    } else {
        fail(outcome);
    }
    done_ = child_seq_;
}

}  // namespace mqs
