// A readable text for a MOSQ_ERR_* code. mosquitto_strerror belongs to libmosquitto (the client library):
// 2.0.11's broker binary happens to export it, 2.0.21's does not, and a plugin calling it fails to load.
#pragma once

namespace mqs::broker {

// Never null; unknown codes give "unknown error".
const char* errorText(int rc);

}  // namespace mqs::broker
