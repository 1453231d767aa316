// Dead-letter envelope construction; the format is documented in docs/validate.md.
#include "validate/dead_letter.hpp"

#include <ctime>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <simdjson.h>

namespace mqs::validate {
namespace {

std::string isoTime(std::chrono::system_clock::time_point t) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
    return out;
}

nlohmann::ordered_json failureList(const std::vector<CheckFailure>& failures) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& f : failures) {
        list.push_back({{"rule", f.rule}, {"check", f.check}, {"pointer", f.pointer}, {"message", f.message}});
    }
    return list;
}

}  // namespace

std::string base64Encode(const void* data, size_t length) {
    std::string out(4 * ((length + 2) / 3), '\0');
    if (length == 0) return out;
    int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), static_cast<const unsigned char*>(data),
                                  static_cast<int>(length));
    out.resize(static_cast<size_t>(written));
    return out;
}

std::string buildDeadLetter(const Message& message, const Verdict& verdict, std::chrono::system_clock::time_point received,
                            size_t payload_limit) {
    nlohmann::ordered_json envelope;  // keeps the documented field order
    envelope["topic"] = std::string(message.topic);
    envelope["client_id"] = std::string(message.client_id);
    envelope["username"] = message.has_username ? nlohmann::ordered_json(std::string(message.username)) : nlohmann::ordered_json(nullptr);
    envelope["rule"] = verdict.deciding_rule ? verdict.deciding_rule->name : "";
    envelope["received_at"] = isoTime(received);
    envelope["qos"] = message.qos;
    envelope["retain"] = message.retain;
    envelope["will"] = message.will;
    envelope["errors"] = failureList(verdict.failures);
    envelope["payload_size"] = message.payload_length;

    size_t copied = std::min(message.payload_length, payload_limit);
    const char* bytes = static_cast<const char*>(message.payload);
    bool text = simdjson::validate_utf8(bytes, copied);
    if (!text && copied < message.payload_length) {
        // A cut may split a multi-byte character: step back to a boundary before deciding it is binary.
        size_t back = copied;
        while (back > 0 && copied - back < 4 && (static_cast<unsigned char>(bytes[back]) & 0xC0) == 0x80) --back;
        if (simdjson::validate_utf8(bytes, back)) {
            copied = back;
            text = true;
        }
    }
    if (text) {
        envelope["payload_encoding"] = "utf8";
        envelope["payload"] = std::string(bytes, copied);
    } else {
        envelope["payload_encoding"] = "base64";
        envelope["payload"] = base64Encode(bytes, copied);
    }
    envelope["payload_truncated"] = copied < message.payload_length;
    // replace: invalid UTF-8 never reaches dump() (checked above), but never throw from here either.
    return envelope.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace mqs::validate
