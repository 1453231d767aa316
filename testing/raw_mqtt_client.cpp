// Raw MQTT 3.1.1 packets over a blocking socket; see raw_mqtt_client.hpp.
#include "testing/raw_mqtt_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace mqs::testing {
namespace {

// An MQTT UTF-8 string: two length bytes, then the bytes.
std::string mqttString(const std::string& s) {
    return std::string{static_cast<char>(s.size() >> 8), static_cast<char>(s.size() & 0xff)} + s;
}

std::string packetId(uint16_t id) {
    return std::string{static_cast<char>(id >> 8), static_cast<char>(id & 0xff)};
}

}  // namespace

RawMqttClient::RawMqttClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

RawMqttClient::~RawMqttClient() {
    if (fd_ >= 0) ::close(fd_);
}

bool RawMqttClient::connect(const std::string& client_id) {
    // Protocol name, level 4 (3.1.1), flags 0x02 (clean session), keepalive 60 s.
    const std::string body = mqttString("MQTT") + std::string("\x04\x02\x00\x3c", 4) + mqttString(client_id);
    return ok_ && send(0x10, body) && expect(std::string("\x20\x02\x00\x00", 4));
}

bool RawMqttClient::publishQos1(const std::string& topic, const std::string& payload, uint16_t id, bool dup) {
    const std::string body = mqttString(topic) + packetId(id) + payload;
    return send(dup ? 0x3a : 0x32, body) && expect(std::string("\x40\x02", 2) + packetId(id));
}

bool RawMqttClient::send(uint8_t type, const std::string& body) {
    std::string packet(1, static_cast<char>(type));
    size_t len = body.size();
    do {  // remaining length: 7 bits a byte, high bit = more
        uint8_t byte = len % 128;
        len /= 128;
        if (len != 0) byte |= 0x80;
        packet += static_cast<char>(byte);
    } while (len != 0);
    packet += body;
    return ::send(fd_, packet.data(), packet.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(packet.size());
}

bool RawMqttClient::expect(const std::string& want) {
    std::string got(want.size(), '\0');
    size_t done = 0;
    while (done < got.size()) {
        const ssize_t n = ::recv(fd_, got.data() + done, got.size() - done, 0);
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return got == want;
}

}  // namespace mqs::testing
