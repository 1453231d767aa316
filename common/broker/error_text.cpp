// Our own texts for the MOSQ_ERR_* codes a plugin can get back from the broker; see error_text.hpp.
#include "common/broker/error_text.hpp"

#include "common/broker/mosquitto_api.hpp"

namespace mqs::broker {
namespace {

struct CodeText {
    int code;
    const char* text;
};

constexpr CodeText kTexts[] = {
    {MOSQ_ERR_SUCCESS, "success"},
    {MOSQ_ERR_NOMEM, "out of memory"},
    {MOSQ_ERR_PROTOCOL, "protocol error"},
    {MOSQ_ERR_INVAL, "invalid argument"},
    {MOSQ_ERR_NO_CONN, "no connection"},
    {MOSQ_ERR_NOT_FOUND, "not found"},
    {MOSQ_ERR_PAYLOAD_SIZE, "payload too large"},
    {MOSQ_ERR_NOT_SUPPORTED, "not supported"},
    {MOSQ_ERR_AUTH, "not authorised"},
    {MOSQ_ERR_ACL_DENIED, "access denied"},
    {MOSQ_ERR_UNKNOWN, "unknown broker error"},
    {MOSQ_ERR_ERRNO, "system error"},
    {MOSQ_ERR_PLUGIN_DEFER, "deferred to the next plugin"},
    {MOSQ_ERR_MALFORMED_UTF8, "malformed UTF-8"},
    {MOSQ_ERR_QOS_NOT_SUPPORTED, "QoS not supported"},
    {MOSQ_ERR_OVERSIZE_PACKET, "packet too large"},
    {MOSQ_ERR_RETAIN_NOT_SUPPORTED, "retain not supported"},
    {MOSQ_ERR_ADMINISTRATIVE_ACTION, "administrative action"},
    {MOSQ_ERR_ALREADY_EXISTS, "already exists"},
};

}  // namespace

const char* errorText(int rc) {
    for (const auto& t : kTexts) {
        if (t.code == rc) return t.text;
    }
    return "unknown error";
}

}  // namespace mqs::broker
