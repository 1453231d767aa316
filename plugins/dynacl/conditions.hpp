// Optional conditions on one ACL (client address ranges, QoS, retain, payload size, validity window) and
// validity windows on role links: parsed from / written to JSON, and evaluated against the facts of one
// check. An ACL whose condition does not hold is treated as not matching: evaluation goes on to the next
// ACL. Broker-free; time is passed in (unix seconds) so tests use a fake clock.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mqs::dynacl {

// A condition value that cannot be used; the text names the key and the problem.
class ConditionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What a check knows besides the topic: the message's QoS, retain flag and size (publish, receive), the
// requested QoS (subscribe), and the wall clock.
struct CheckFacts {
    int qos = 0;
    bool retain = false;
    uint64_t payload_bytes = 0;
    int64_t now = 0;  // unix seconds
};

// An address range, "10.0.0.0/8", "::1/128" or a bare address (a full-length prefix).
struct CidrRange {
    bool v6 = false;
    std::array<uint8_t, 16> bytes{};
    int prefix = 0;
    // Parsed from `text`; nullopt when it is not an address with an optional prefix of the right length.
    static std::optional<CidrRange> parse(std::string_view text);
    // `address` in canonical form (IPv4 dotted, IPv6, IPv4-mapped as IPv4); false when not an address.
    bool contains(std::string_view address) const;
    std::string text() const;
};

// [not_before, not_after): unix seconds; either side open.
struct Window {
    std::optional<int64_t> not_before, not_after;
    bool empty() const { return !not_before && !not_after; }
    bool holds(int64_t now) const { return (!not_before || now >= *not_before) && (!not_after || now < *not_after); }
};

struct Conditions {
    std::vector<CidrRange> addresses;  // "clientAddress": any of them
    std::optional<int> max_qos;        // "maxQos"
    std::optional<bool> retain_allowed;
    std::optional<uint64_t> max_payload_bytes;
    Window window;  // "notBefore" / "notAfter"

    bool empty() const {
        return addresses.empty() && !max_qos && !retain_allowed && !max_payload_bytes && window.empty();
    }
    // True when the outcome depends on the message or the request (QoS, retain, size): such decisions are
    // not cached.
    bool perMessage() const { return max_qos || retain_allowed || max_payload_bytes; }
    bool usesAddress() const { return !addresses.empty(); }
    // `address` canonical or empty (unknown: an address condition does not hold). `subscription`: QoS is the
    // requested one and retain/size do not apply; `unsubscription`: only address and window apply.
    bool hold(const CheckFacts& facts, std::string_view address, bool message, bool subscription) const;
};

// RFC 3339 in UTC, "2026-12-06T18:00:00Z" (seconds precision, 'Z' only) <-> unix seconds.
std::optional<int64_t> parseUtcTime(std::string_view text);
std::string formatUtcTime(int64_t seconds);

// The "conditions" object of an ACL; throws ConditionError naming the key (unknown keys included, so a
// misspelt condition never silently widens a rule).
Conditions parseConditions(const nlohmann::json& object);
nlohmann::json conditionsToJson(const Conditions& c);

// "notBefore"/"notAfter" keys of an object (a role link); absent: no bound. Throws ConditionError.
Window parseWindow(const nlohmann::json& object);
void windowToJson(const Window& w, nlohmann::json& object);

inline constexpr int64_t kNoBoundary = std::numeric_limits<int64_t>::max();

// Tells the adapter when a window boundary (State::summarize) has passed, so it bumps its decision
// generation: cached decisions that depended on time are then recomputed without a change of the state.
class BoundaryWatch {
public:
    void reset(std::vector<int64_t> boundaries, int64_t now);
    // Any boundary at all: only then does the adapter read the clock per check.
    bool active() const { return !boundaries_.empty(); }
    // True once when `now` has reached the next boundary (several passed at once count once).
    bool passed(int64_t now);
    int64_t next() const { return next_; }

private:
    void advance(int64_t now);
    std::vector<int64_t> boundaries_;
    int64_t next_ = kNoBoundary;
};

}  // namespace mqs::dynacl
