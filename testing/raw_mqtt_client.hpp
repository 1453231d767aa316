// A bare MQTT 3.1.1 connection over a plain socket, for what libmosquitto will not do: send the same
// QoS 1 PUBLISH twice, the second with DUP set (a client whose PUBACK was lost). Blocking, 5 s timeouts.
#pragma once

#include <cstdint>
#include <string>

namespace mqs::testing {

// Test thread only; every call returns false on a socket error, a timeout or an unexpected reply.
class RawMqttClient {
public:
    explicit RawMqttClient(int port);  // TCP connect to 127.0.0.1:port
    ~RawMqttClient();
    RawMqttClient(const RawMqttClient&) = delete;
    RawMqttClient& operator=(const RawMqttClient&) = delete;

    // CONNECT (clean session, keepalive 60 s) and a CONNACK that accepts it.
    bool connect(const std::string& client_id);
    // PUBLISH QoS 1 with packet id `id` (DUP flag when `dup`), then waits for its PUBACK.
    bool publishQos1(const std::string& topic, const std::string& payload, uint16_t id, bool dup);

private:
    bool send(uint8_t type, const std::string& body);
    bool expect(const std::string& want);

    int fd_ = -1;
    bool ok_ = false;
};

}  // namespace mqs::testing
