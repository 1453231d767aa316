// MQTT test client for tests and bench: a synchronous-looking MQTT 3.1.1 / 5 client on libmosquitto
// (background network thread, condition-variable waits for CONNACK, SUBACK, acks and messages).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <iosfwd>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

struct mosquitto;
struct mosquitto_message;
typedef struct mqtt5__property mosquitto_property;

namespace mqs::testing {

using UserProperties = std::vector<std::pair<std::string, std::string>>;

struct ReceivedMessage {
    std::string topic;
    std::string payload;  // binary-safe
    int qos = 0;
    bool retain = false;
    int mid = 0;
    // MQTT 5 properties; empty / nullopt under 3.1.1 or when absent.
    UserProperties user_properties;
    std::optional<std::string> content_type;
    std::optional<std::string> response_topic;
    std::optional<std::string> correlation_data;
    std::optional<uint8_t> payload_format_indicator;
    std::optional<uint32_t> message_expiry_interval;
    std::vector<uint32_t> subscription_identifiers;

    // First user property with this name.
    std::optional<std::string> userProperty(const std::string& name) const;
};

// Properties for publishWithProperties (MQTT 5 only).
struct PublishProperties {
    UserProperties user_properties;
    std::optional<std::string> content_type;
    std::optional<std::string> response_topic;
    std::optional<std::string> correlation_data;
    std::optional<uint8_t> payload_format_indicator;
    std::optional<uint32_t> message_expiry_interval;
};

class MqttTestClient {
public:
    enum class Protocol { V311, V5 };
    friend std::ostream& operator<<(std::ostream& os, Protocol protocol);  // readable test names

    // An empty client_id lets libmosquitto generate one (clean session only).
    explicit MqttTestClient(std::string client_id, Protocol protocol = Protocol::V5);
    ~MqttTestClient();

    MqttTestClient(const MqttTestClient&) = delete;
    MqttTestClient& operator=(const MqttTestClient&) = delete;

    // Settings below apply to the next connect().
    void setCredentials(const std::string& user, const std::string& password);
    // delay_seconds > 0: MQTT 5 Will Delay Interval (the broker sends the Will that long after the drop,
    // if the session lives that long: pair it with setSessionExpiryInterval).
    void setWill(const std::string& topic, const std::string& payload, int qos, bool retain, uint32_t delay_seconds = 0);
    void setCleanSession(bool clean);                 // clean session (3.1.1) / clean start (5)
    void setSessionExpiryInterval(uint32_t seconds);  // MQTT 5 CONNECT property
    void setKeepAlive(int seconds);                   // default 60
    // TLS to a listener with this CA (the server certificate must name 127.0.0.1), presenting this client
    // certificate and key.
    void setTls(const std::string& cafile, const std::string& certfile, const std::string& keyfile);

    // Connects to 127.0.0.1:port and waits for CONNACK. False if the TCP connect fails, the
    // broker refuses (see connackReason()) or closes the connection, or on timeout.
    // The client never reconnects by itself; call connect() again (same object is fine).
    bool connect(int port, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Graceful: sends DISCONNECT (so no will), then stops the network thread.
    void disconnect();
    // Ungraceful: shuts the socket down without DISCONNECT, so the broker publishes the will.
    void abortConnection();
    bool isConnected() const;
    // CONNACK reason of the last connect(): 0 accepted; v5 codes (0x86 bad user/password,
    // 0x87 not authorised, ...) or 3.1.1 codes (4, 5); -1 if no CONNACK arrived.
    int connackReason() const;
    bool sessionPresent() const;

    // Waits until the connection is gone (broker kick, broker exit, ...).
    bool waitForDisconnect(std::chrono::milliseconds timeout);
    // For a v5 DISCONNECT from the broker: its reason code (e.g. 0x98 administrative action,
    // which 2.0.11 sends for a plugin's mosquitto_kick_client_by_*). For a dropped socket
    // (3.1.1 kicks, session takeover before 2.0.21, broker exit): libmosquitto's MOSQ_ERR_CONN_LOST (7).
    // Since 2.0.21 a v5 client taken over gets 0x8E (session taken over).
    // 0 after our own disconnect(); -1 if never disconnected.
    int lastDisconnectReason() const;

    // Waits for SUBACK; false on timeout or when the granted code is a failure (>= 0x80).
    bool subscribe(const std::string& filter, int qos = 1, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                   int* granted = nullptr);
    bool unsubscribe(const std::string& filter, std::chrono::milliseconds timeout = std::chrono::seconds(5));

    // QoS 0: waits until the packet was written to the socket. QoS 1/2: waits for PUBACK/PUBCOMP
    // (or a failing PUBREC). *reason_code gets the v5 ack reason (0 success, 0x10 no matching
    // subscribers, 0x87 not authorised, 0x99 payload format invalid, ...; always 0 under 3.1.1).
    // False on timeout, if publishing failed locally, or if the connection dropped before
    // the ack (*reason_code is then -1).
    bool publish(const std::string& topic, const std::string& payload, int qos = 0, bool retain = false,
                 int* reason_code = nullptr, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    bool publishWithProperties(const std::string& topic, const std::string& payload, int qos, bool retain,
                               const PublishProperties& properties, int* reason_code = nullptr,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5));

    // Received messages queue up across reconnects until popped.
    // Pops the next message in arrival order.
    std::optional<ReceivedMessage> waitForMessage(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Pops the next message whose topic matches the filter; others stay queued.
    std::optional<ReceivedMessage> waitForMessageOn(const std::string& topic_filter,
                                                    std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Everything received until no message arrived for `quiet`.
    std::vector<ReceivedMessage> drain(std::chrono::milliseconds quiet = std::chrono::milliseconds(200));
    size_t queuedMessages() const;

    const std::string& clientId() const { return client_id_; }
    // libmosquitto's text for the last local failure (connect/publish/subscribe), for assertions.
    std::string lastError() const;

private:
    struct Will {
        std::string topic;
        std::string payload;
        int qos;
        bool retain;
        uint32_t delay_seconds;
    };

    static void onConnect(struct mosquitto*, void* self, int rc, int flags, const mosquitto_property*);
    static void onDisconnect(struct mosquitto*, void* self, int rc, const mosquitto_property*);
    static void onPublish(struct mosquitto*, void* self, int mid, int rc, const mosquitto_property*);
    static void onSubscribe(struct mosquitto*, void* self, int mid, int count, const int* granted,
                            const mosquitto_property*);
    static void onUnsubscribe(struct mosquitto*, void* self, int mid, const mosquitto_property*);
    static void onMessage(struct mosquitto*, void* self, const struct mosquitto_message* msg,
                          const mosquitto_property* props);

    bool publishImpl(const std::string& topic, const std::string& payload, int qos, bool retain,
                     const mosquitto_property* props, int* reason_code, std::chrono::milliseconds timeout);
    void shutdownSession();  // stops the network thread and destroys the mosquitto handle
    void setError(const std::string& what, int rc);

    std::string client_id_;
    Protocol protocol_;
    std::optional<std::pair<std::string, std::string>> credentials_;
    std::optional<Will> will_;
    bool clean_session_ = true;
    std::optional<uint32_t> session_expiry_;
    int keepalive_ = 60;
    struct Tls {
        std::string cafile, certfile, keyfile;
    };
    std::optional<Tls> tls_;

    struct mosquitto* mosq_ = nullptr;  // recreated per connect(); used only from the test thread
    bool loop_running_ = false;

    mutable std::mutex mutex_;  // guards everything below (written by the network thread)
    std::condition_variable cv_;
    bool connected_ = false;
    bool connack_received_ = false;
    int connack_reason_ = -1;
    bool session_present_ = false;
    uint64_t disconnects_ = 0;  // bumped on every disconnect, so waits can notice a drop
    int last_disconnect_reason_ = -1;
    std::map<int, int> acks_;                  // mid -> reason code
    std::map<int, std::vector<int>> subacks_;  // mid -> granted codes
    std::set<int> unsubacks_;
    std::deque<ReceivedMessage> messages_;
    std::string last_error_;
};

}  // namespace mqs::testing
