// ACL conditions and link windows; see conditions.hpp.
#include "dynacl/conditions.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

namespace mqs::dynacl {
namespace {

using nlohmann::json;

// An address to 16 bytes (IPv4 in the first 4); IPv4-mapped IPv6 counts as IPv4, as %a shows it.
bool addressBytes(std::string_view text, bool& v6, std::array<uint8_t, 16>& out) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
    char input[INET6_ADDRSTRLEN];
    std::memcpy(input, text.data(), text.size());
    input[text.size()] = '\0';
    out = {};
    in_addr a4{};
    if (inet_pton(AF_INET, input, &a4) == 1) {
        v6 = false;
        std::memcpy(out.data(), &a4, 4);
        return true;
    }
    in6_addr a6{};
    if (inet_pton(AF_INET6, input, &a6) != 1) return false;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        v6 = false;
        std::memcpy(out.data(), &a6.s6_addr[12], 4);
        return true;
    }
    v6 = true;
    std::memcpy(out.data(), &a6, 16);
    return true;
}

bool prefixEqual(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int bits) {
    const int whole = bits / 8;
    if (std::memcmp(a.data(), b.data(), static_cast<size_t>(whole)) != 0) return false;
    const int rest = bits % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

int64_t timeValue(const json& v, const char* key) {
    if (!v.is_string()) {
        throw ConditionError(std::string("'") + key +
                             "' must be an RFC 3339 UTC time such as \"2026-12-06T18:00:00Z\"");
    }
    auto t = parseUtcTime(v.get<std::string>());
    if (!t) {
        throw ConditionError(std::string("'") + key + "': '" + v.get<std::string>() +
                             "' is not an RFC 3339 UTC time such as \"2026-12-06T18:00:00Z\"");
    }
    return *t;
}

void checkWindow(const Window& w) {
    if (w.not_before && w.not_after && *w.not_after <= *w.not_before) {
        throw ConditionError("'notAfter' must be later than 'notBefore'");
    }
}

}  // namespace

std::optional<CidrRange> CidrRange::parse(std::string_view text) {
    CidrRange r;
    const size_t slash = text.find('/');
    const std::string_view address = text.substr(0, slash);
    if (!addressBytes(address, r.v6, r.bytes)) return std::nullopt;
    // "::ffff:10.0.0.0/104" names an IPv4 range in IPv6 notation: its prefix is on the IPv6 scale.
    const bool mapped = !r.v6 && address.find(':') != std::string_view::npos;
    const int max = r.v6 ? 128 : 32;
    r.prefix = max;
    if (slash != std::string_view::npos) {
        const std::string_view bits = text.substr(slash + 1);
        if (bits.empty() || bits.size() > 3) return std::nullopt;
        auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), r.prefix);
        if (ec != std::errc() || end != bits.data() + bits.size()) return std::nullopt;
        if (mapped) r.prefix -= 96;
        if (r.prefix < 0 || r.prefix > max) return std::nullopt;
    }
    // Host bits are cleared so that text() gives the network.
    for (int bit = r.prefix; bit < max; ++bit) r.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
    return r;
}

bool CidrRange::contains(std::string_view address) const {
    bool v6_address = false;
    std::array<uint8_t, 16> b{};
    if (!addressBytes(address, v6_address, b) || v6_address != v6) return false;
    return prefixEqual(bytes, b, prefix);
}

std::string CidrRange::text() const {
    char out[INET6_ADDRSTRLEN];
    if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), out, sizeof out) == nullptr) return "?";
    return std::string(out) + "/" + std::to_string(prefix);
}

bool Conditions::hold(const CheckFacts& facts, std::string_view address, bool message, bool subscription) const {
    if (!window.holds(facts.now)) return false;
    if (!addresses.empty()) {
        if (address.empty()) return false;
        bool any = false;
        for (const CidrRange& r : addresses) {
            if (r.contains(address)) {
                any = true;
                break;
            }
        }
        if (!any) return false;
    }
    if (message || subscription) {
        if (max_qos && facts.qos > *max_qos) return false;
    }
    if (message) {
        if (retain_allowed && !*retain_allowed && facts.retain) return false;
        if (max_payload_bytes && facts.payload_bytes > *max_payload_bytes) return false;
    }
    return true;
}

std::optional<int64_t> parseUtcTime(std::string_view t) {
    // YYYY-MM-DDTHH:MM:SSZ
    if (t.size() != 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t[19] != 'Z') {
        return std::nullopt;
    }
    auto num = [&](size_t at, size_t len, int& out) {
        auto [end, ec] = std::from_chars(t.data() + at, t.data() + at + len, out);
        return ec == std::errc() && end == t.data() + at + len;
    };
    int year, month, day, hour, minute, second;
    if (!num(0, 4, year) || !num(5, 2, month) || !num(8, 2, day) || !num(11, 2, hour) || !num(14, 2, minute) ||
        !num(17, 2, second)) {
        return std::nullopt;
    }
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
        return std::nullopt;
    }
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    const time_t seconds = timegm(&tm);
    // timegm normalises 31 February into March: such a date is refused.
    if (tm.tm_mday != day || tm.tm_mon != month - 1) return std::nullopt;
    return static_cast<int64_t>(seconds);
}

std::string formatUtcTime(int64_t seconds) {
    const auto t = static_cast<time_t>(seconds);
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) return "?";
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

Conditions parseConditions(const json& object) {
    if (!object.is_object()) throw ConditionError("'conditions' must be an object");
    Conditions c;
    for (const auto& [key, v] : object.items()) {
        if (key == "clientAddress") {
            if (!v.is_array() || v.empty()) {
                throw ConditionError("'clientAddress' must be a non-empty list of addresses or CIDR ranges");
            }
            for (const json& r : v) {
                auto range = r.is_string() ? CidrRange::parse(r.get<std::string>()) : std::nullopt;
                if (!range) throw ConditionError("'clientAddress': " + r.dump() + " is not an address or CIDR range");
                c.addresses.push_back(*range);
            }
        } else if (key == "maxQos") {
            if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 2) {
                throw ConditionError("'maxQos' must be 0, 1 or 2");
            }
            c.max_qos = v.get<int>();
        } else if (key == "retainAllowed") {
            if (!v.is_boolean()) throw ConditionError("'retainAllowed' must be true or false");
            c.retain_allowed = v.get<bool>();
        } else if (key == "maxPayloadBytes") {
            if (!v.is_number_integer() || v.get<int64_t>() < 0) {
                throw ConditionError("'maxPayloadBytes' must be a number of bytes >= 0");
            }
            c.max_payload_bytes = v.get<uint64_t>();
        } else if (key == "notBefore") {
            c.window.not_before = timeValue(v, "notBefore");
        } else if (key == "notAfter") {
            c.window.not_after = timeValue(v, "notAfter");
        } else if (key == "listenerPort") {
            throw ConditionError(
                "'listenerPort' is not supported: Mosquitto 2.0's plugin interface does not tell a client's listener");
        } else {
            throw ConditionError("unknown condition '" + key + "'");
        }
    }
    checkWindow(c.window);
    return c;
}

json conditionsToJson(const Conditions& c) {
    json j = json::object();
    if (!c.addresses.empty()) {
        json list = json::array();
        for (const CidrRange& r : c.addresses) list.push_back(r.text());
        j["clientAddress"] = std::move(list);
    }
    if (c.max_qos) j["maxQos"] = *c.max_qos;
    if (c.retain_allowed) j["retainAllowed"] = *c.retain_allowed;
    if (c.max_payload_bytes) j["maxPayloadBytes"] = *c.max_payload_bytes;
    windowToJson(c.window, j);
    return j;
}

Window parseWindow(const json& object) {
    Window w;
    if (auto it = object.find("notBefore"); it != object.end()) w.not_before = timeValue(*it, "notBefore");
    if (auto it = object.find("notAfter"); it != object.end()) w.not_after = timeValue(*it, "notAfter");
    checkWindow(w);
    return w;
}

void windowToJson(const Window& w, json& object) {
    if (w.not_before) object["notBefore"] = formatUtcTime(*w.not_before);
    if (w.not_after) object["notAfter"] = formatUtcTime(*w.not_after);
}

void BoundaryWatch::reset(std::vector<int64_t> boundaries, int64_t now) {
    boundaries_ = std::move(boundaries);
    advance(now);
}

void BoundaryWatch::advance(int64_t now) {
    auto it = std::upper_bound(boundaries_.begin(), boundaries_.end(), now);
    next_ = it == boundaries_.end() ? kNoBoundary : *it;
}

bool BoundaryWatch::passed(int64_t now) {
    if (now < next_) return false;
    advance(now);
    return true;
}

}  // namespace mqs::dynacl
