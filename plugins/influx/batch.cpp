// Batch bookkeeping and its spool record form; see batch.hpp.
// Records are read back only by this code on the same host, hence native byte order.
#include "influx/batch.hpp"

#include <cstring>

namespace mqs::influx {
namespace {

template <typename T>
void put(std::string& out, T v) {
    char buf[sizeof(T)];
    std::memcpy(buf, &v, sizeof(T));  // the spool is read back on the same host: native (little-endian) order
    out.append(buf, sizeof(T));
}

template <typename T>
bool get(std::string_view& in, T& v) {
    if (in.size() < sizeof(T)) return false;
    std::memcpy(&v, in.data(), sizeof(T));
    in.remove_prefix(sizeof(T));
    return true;
}

}  // namespace

void Batch::add(std::string_view l, int64_t now_ms) {
    if (ends.empty()) oldest_ms = now_ms;
    data.append(l);
    data += '\n';
    ends.push_back(static_cast<uint32_t>(data.size()));
}

std::string_view Batch::body(size_t first, size_t last) const {
    if (first >= last) return {};
    size_t start = first == 0 ? 0 : ends[first - 1];
    return std::string_view(data).substr(start, ends[last - 1] - start);
}

std::string_view Batch::line(size_t i) const {
    std::string_view b = body(i, i + 1);
    return b.substr(0, b.size() - 1);
}

std::string Batch::serialize() const {
    std::string out;
    out.reserve(12 + ends.size() * 4 + data.size());
    put<int64_t>(out, oldest_ms);
    put<uint32_t>(out, static_cast<uint32_t>(ends.size()));
    for (uint32_t e : ends) put<uint32_t>(out, e);
    out += data;
    return out;
}

std::optional<Batch> Batch::deserialize(std::string_view in) {
    Batch b;
    uint32_t count = 0;
    if (!get(in, b.oldest_ms) || !get(in, count) || in.size() / 4 < count) return std::nullopt;
    b.ends.resize(count);
    uint32_t prev = 0;
    for (auto& e : b.ends) {
        get(in, e);
        if (e <= prev) return std::nullopt;
        prev = e;
    }
    if (prev != in.size()) return std::nullopt;
    b.data.assign(in);
    return b;
}

}  // namespace mqs::influx
