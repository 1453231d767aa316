// Integration-test harness: libmosquitto-backed test client. Callbacks run on libmosquitto's
// network thread and only record state under mutex_; the test thread waits on cv_.
#include "testing/mqtt_test_client.hpp"

#include <mosquitto.h>
// 2.1 moved the protocol constants under mosquitto/ and makes the old header emit #warning.
#if __has_include(<mosquitto/mqtt_protocol.h>)
#include <mosquitto/mqtt_protocol.h>
#else
#include <mqtt_protocol.h>
#endif
#include <sys/socket.h>

#include <csignal>
#include <cstdlib>
#include <mutex>
#include <ostream>

namespace mqs::testing {
namespace {

using Clock = std::chrono::steady_clock;

void libInitOnce() {
    static std::once_flag once;
    std::call_once(once, [] {
        mosquitto_lib_init();
        // libmosquitto writes TLS records with plain write(): a broker that closes the connection would
        // kill the test process with SIGPIPE instead of letting the test see the disconnect.
        std::signal(SIGPIPE, SIG_IGN);
    });
}

// Owns a property list built for one call.
class PropertyList {
public:
    PropertyList() = default;
    ~PropertyList() { mosquitto_property_free_all(&list_); }
    PropertyList(const PropertyList&) = delete;
    PropertyList& operator=(const PropertyList&) = delete;
    mosquitto_property** out() { return &list_; }
    const mosquitto_property* get() const { return list_; }

private:
    mosquitto_property* list_ = nullptr;
};

std::optional<std::string> readString(const mosquitto_property* props, int id) {
    char* value = nullptr;
    if (mosquitto_property_read_string(props, id, &value, false) == nullptr) return std::nullopt;
    std::string out = value != nullptr ? value : "";
    free(value);
    return out;
}

}  // namespace

std::optional<std::string> ReceivedMessage::userProperty(const std::string& name) const {
    for (const auto& [key, value] : user_properties) {
        if (key == name) return value;
    }
    return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, MqttTestClient::Protocol protocol) {
    return os << (protocol == MqttTestClient::Protocol::V5 ? "MQTT5" : "MQTT3.1.1");
}

MqttTestClient::MqttTestClient(std::string client_id, Protocol protocol)
    : client_id_(std::move(client_id)), protocol_(protocol) {
    libInitOnce();
}

MqttTestClient::~MqttTestClient() {
    shutdownSession();
}

void MqttTestClient::setCredentials(const std::string& user, const std::string& password) {
    credentials_ = std::make_pair(user, password);
}

void MqttTestClient::setWill(const std::string& topic, const std::string& payload, int qos, bool retain,
                             uint32_t delay_seconds) {
    will_ = Will{topic, payload, qos, retain, delay_seconds};
}

void MqttTestClient::setCleanSession(bool clean) {
    clean_session_ = clean;
}

void MqttTestClient::setSessionExpiryInterval(uint32_t seconds) {
    session_expiry_ = seconds;
}

void MqttTestClient::setTls(const std::string& cafile, const std::string& certfile, const std::string& keyfile) {
    tls_ = Tls{cafile, certfile, keyfile};
}

void MqttTestClient::setKeepAlive(int seconds) {
    keepalive_ = seconds;
}

void MqttTestClient::setError(const std::string& what, int rc) {
    std::lock_guard lock(mutex_);
    last_error_ = what + ": " + mosquitto_strerror(rc);
}

std::string MqttTestClient::lastError() const {
    std::lock_guard lock(mutex_);
    return last_error_;
}

void MqttTestClient::shutdownSession() {
    if (mosq_ == nullptr) return;
    // Sets the state to "disconnected" (so the loop thread exits instead of reconnecting) and
    // queues DISCONNECT if still connected; loop_stop wakes the thread, which flushes and exits.
    const bool was_connected = isConnected();
    mosquitto_disconnect(mosq_);
    if (loop_running_ && was_connected) {
        // libmosquitto reports the disconnect only once DISCONNECT is on the wire; stopping the
        // loop before that can close the socket first (seen with libmosquitto 2.1), and the
        // broker then publishes the Will of a client that meant to leave politely.
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, std::chrono::seconds(2), [&] { return !connected_; });
    }
    if (loop_running_) {
        mosquitto_loop_stop(mosq_, false);
        loop_running_ = false;
    }
    mosquitto_destroy(mosq_);
    mosq_ = nullptr;
    std::lock_guard lock(mutex_);
    connected_ = false;
}

bool MqttTestClient::connect(int port, std::chrono::milliseconds timeout) {
    shutdownSession();
    const char* id = client_id_.empty() ? nullptr : client_id_.c_str();
    mosq_ = mosquitto_new(id, clean_session_, this);
    if (mosq_ == nullptr) {
        std::lock_guard lock(mutex_);
        last_error_ = "mosquitto_new failed (clean_session=false needs a client id)";
        return false;
    }
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION,
                         protocol_ == Protocol::V5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_connect_v5_callback_set(mosq_, &MqttTestClient::onConnect);
    mosquitto_disconnect_v5_callback_set(mosq_, &MqttTestClient::onDisconnect);
    mosquitto_publish_v5_callback_set(mosq_, &MqttTestClient::onPublish);
    mosquitto_subscribe_v5_callback_set(mosq_, &MqttTestClient::onSubscribe);
    mosquitto_unsubscribe_v5_callback_set(mosq_, &MqttTestClient::onUnsubscribe);
    mosquitto_message_v5_callback_set(mosq_, &MqttTestClient::onMessage);

    int rc = MOSQ_ERR_SUCCESS;
    if (tls_) {
        rc = mosquitto_tls_set(mosq_, tls_->cafile.c_str(), nullptr, tls_->certfile.c_str(), tls_->keyfile.c_str(),
                               nullptr);
        if (rc != MOSQ_ERR_SUCCESS) {
            setError("mosquitto_tls_set", rc);
            return false;
        }
    }
    if (credentials_) {
        rc = mosquitto_username_pw_set(mosq_, credentials_->first.c_str(), credentials_->second.c_str());
        if (rc != MOSQ_ERR_SUCCESS) {
            setError("mosquitto_username_pw_set", rc);
            return false;
        }
    }
    if (will_) {
        mosquitto_property* will_props = nullptr;
        if (protocol_ == Protocol::V5 && will_->delay_seconds > 0) {
            mosquitto_property_add_int32(&will_props, MQTT_PROP_WILL_DELAY_INTERVAL, will_->delay_seconds);
        }
        // On success libmosquitto owns will_props; on failure they are ours to free.
        rc = mosquitto_will_set_v5(mosq_, will_->topic.c_str(), static_cast<int>(will_->payload.size()),
                                   will_->payload.data(), will_->qos, will_->retain, will_props);
        if (rc != MOSQ_ERR_SUCCESS) {
            mosquitto_property_free_all(&will_props);
            setError("mosquitto_will_set_v5", rc);
            return false;
        }
    }
    PropertyList props;
    if (protocol_ == Protocol::V5 && session_expiry_) {
        mosquitto_property_add_int32(props.out(), MQTT_PROP_SESSION_EXPIRY_INTERVAL, *session_expiry_);
    }

    uint64_t disconnects_before = 0;
    {
        std::lock_guard lock(mutex_);
        connected_ = false;
        connack_received_ = false;
        connack_reason_ = -1;
        session_present_ = false;
        disconnects_before = disconnects_;
    }
    // Blocking TCP connect + CONNECT write; the loop thread then reads the CONNACK.
    rc = mosquitto_connect_bind_v5(mosq_, "127.0.0.1", port, keepalive_, nullptr, props.get());
    if (rc != MOSQ_ERR_SUCCESS) {
        setError("mosquitto_connect", rc);
        return false;
    }
    rc = mosquitto_loop_start(mosq_);
    if (rc != MOSQ_ERR_SUCCESS) {
        setError("mosquitto_loop_start", rc);
        return false;
    }
    loop_running_ = true;

    std::unique_lock lock(mutex_);
    const bool done =
        cv_.wait_for(lock, timeout, [&] { return connack_received_ || disconnects_ != disconnects_before; });
    if (!done) last_error_ = "timed out waiting for CONNACK";
    return connected_;
}

void MqttTestClient::disconnect() {
    shutdownSession();
}

void MqttTestClient::abortConnection() {
    if (mosq_ == nullptr) return;
    const int fd = mosquitto_socket(mosq_);
    // shutdown (not close) keeps the fd valid for the loop thread, which then sees EOF.
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

bool MqttTestClient::isConnected() const {
    std::lock_guard lock(mutex_);
    return connected_;
}

int MqttTestClient::connackReason() const {
    std::lock_guard lock(mutex_);
    return connack_reason_;
}

bool MqttTestClient::sessionPresent() const {
    std::lock_guard lock(mutex_);
    return session_present_;
}

bool MqttTestClient::waitForDisconnect(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return !connected_; });
}

int MqttTestClient::lastDisconnectReason() const {
    std::lock_guard lock(mutex_);
    return last_disconnect_reason_;
}

bool MqttTestClient::subscribe(const std::string& filter, int qos, std::chrono::milliseconds timeout, int* granted) {
    if (mosq_ == nullptr) return false;
    int mid = 0;
    uint64_t disconnects_before = 0;
    {
        std::lock_guard lock(mutex_);
        disconnects_before = disconnects_;
    }
    const int rc = mosquitto_subscribe_v5(mosq_, &mid, filter.c_str(), qos, 0, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
        setError("mosquitto_subscribe", rc);
        return false;
    }
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return subacks_.count(mid) != 0 || disconnects_ != disconnects_before; });
    auto it = subacks_.find(mid);
    if (it == subacks_.end()) {
        last_error_ = "no SUBACK for " + filter;
        return false;
    }
    const int code = it->second.empty() ? 0x80 : it->second.front();
    subacks_.erase(it);
    if (granted != nullptr) *granted = code;
    return code < 0x80;
}

bool MqttTestClient::unsubscribe(const std::string& filter, std::chrono::milliseconds timeout) {
    if (mosq_ == nullptr) return false;
    int mid = 0;
    const int rc = mosquitto_unsubscribe_v5(mosq_, &mid, filter.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
        setError("mosquitto_unsubscribe", rc);
        return false;
    }
    std::unique_lock lock(mutex_);
    const bool ok = cv_.wait_for(lock, timeout, [&] { return unsubacks_.count(mid) != 0; });
    unsubacks_.erase(mid);
    return ok;
}

bool MqttTestClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain,
                             int* reason_code, std::chrono::milliseconds timeout) {
    return publishImpl(topic, payload, qos, retain, nullptr, reason_code, timeout);
}

bool MqttTestClient::publishWithProperties(const std::string& topic, const std::string& payload, int qos, bool retain,
                                           const PublishProperties& properties, int* reason_code,
                                           std::chrono::milliseconds timeout) {
    PropertyList props;
    for (const auto& [key, value] : properties.user_properties) {
        mosquitto_property_add_string_pair(props.out(), MQTT_PROP_USER_PROPERTY, key.c_str(), value.c_str());
    }
    if (properties.content_type) {
        mosquitto_property_add_string(props.out(), MQTT_PROP_CONTENT_TYPE, properties.content_type->c_str());
    }
    if (properties.response_topic) {
        mosquitto_property_add_string(props.out(), MQTT_PROP_RESPONSE_TOPIC, properties.response_topic->c_str());
    }
    if (properties.correlation_data) {
        mosquitto_property_add_binary(props.out(), MQTT_PROP_CORRELATION_DATA, properties.correlation_data->data(),
                                      static_cast<uint16_t>(properties.correlation_data->size()));
    }
    if (properties.payload_format_indicator) {
        mosquitto_property_add_byte(props.out(), MQTT_PROP_PAYLOAD_FORMAT_INDICATOR,
                                    *properties.payload_format_indicator);
    }
    if (properties.message_expiry_interval) {
        mosquitto_property_add_int32(props.out(), MQTT_PROP_MESSAGE_EXPIRY_INTERVAL,
                                     *properties.message_expiry_interval);
    }
    return publishImpl(topic, payload, qos, retain, props.get(), reason_code, timeout);
}

bool MqttTestClient::publishImpl(const std::string& topic, const std::string& payload, int qos, bool retain,
                                 const mosquitto_property* props, int* reason_code, std::chrono::milliseconds timeout) {
    if (reason_code != nullptr) *reason_code = -1;
    if (mosq_ == nullptr) return false;
    int mid = 0;
    uint64_t disconnects_before = 0;
    {
        std::lock_guard lock(mutex_);
        disconnects_before = disconnects_;
    }
    const int rc = mosquitto_publish_v5(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                                        qos, retain, props);
    if (rc != MOSQ_ERR_SUCCESS) {
        setError("mosquitto_publish", rc);
        return false;
    }
    // The ack may already have been recorded by the network thread; acks_ keeps it for us.
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return acks_.count(mid) != 0 || disconnects_ != disconnects_before; });
    auto it = acks_.find(mid);
    if (it == acks_.end()) {
        last_error_ = disconnects_ != disconnects_before ? "connection lost before ack" : "timed out waiting for ack";
        return false;
    }
    if (reason_code != nullptr) *reason_code = it->second;
    acks_.erase(it);
    return true;
}

std::optional<ReceivedMessage> MqttTestClient::waitForMessage(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [&] { return !messages_.empty(); })) return std::nullopt;
    ReceivedMessage msg = std::move(messages_.front());
    messages_.pop_front();
    return msg;
}

std::optional<ReceivedMessage> MqttTestClient::waitForMessageOn(const std::string& topic_filter,
                                                                std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::optional<ReceivedMessage> found;
    cv_.wait_for(lock, timeout, [&] {
        for (auto it = messages_.begin(); it != messages_.end(); ++it) {
            bool match = false;
            if (mosquitto_topic_matches_sub(topic_filter.c_str(), it->topic.c_str(), &match) == MOSQ_ERR_SUCCESS &&
                match) {
                found = std::move(*it);
                messages_.erase(it);
                return true;
            }
        }
        return false;
    });
    return found;
}

std::vector<ReceivedMessage> MqttTestClient::drain(std::chrono::milliseconds quiet) {
    std::vector<ReceivedMessage> out;
    while (auto msg = waitForMessage(quiet)) out.push_back(std::move(*msg));
    return out;
}

size_t MqttTestClient::queuedMessages() const {
    std::lock_guard lock(mutex_);
    return messages_.size();
}

// ---- callbacks (libmosquitto network thread) ----

void MqttTestClient::onConnect(struct mosquitto*, void* self, int rc, int flags, const mosquitto_property*) {
    auto* client = static_cast<MqttTestClient*>(self);
    {
        std::lock_guard lock(client->mutex_);
        client->connack_received_ = true;
        client->connack_reason_ = rc;
        client->session_present_ = (flags & 0x01) != 0;
        client->connected_ = (rc == 0);
    }
    client->cv_.notify_all();
}

void MqttTestClient::onDisconnect(struct mosquitto* mosq, void* self, int rc, const mosquitto_property*) {
    auto* client = static_cast<MqttTestClient*>(self);
    // Marks the handle "disconnected" so loop_forever stops instead of auto-reconnecting:
    // tests must see kicks and broker exits, not have them papered over.
    mosquitto_disconnect(mosq);
    {
        std::lock_guard lock(client->mutex_);
        client->connected_ = false;
        ++client->disconnects_;
        client->last_disconnect_reason_ = rc;
    }
    client->cv_.notify_all();
}

void MqttTestClient::onPublish(struct mosquitto*, void* self, int mid, int rc, const mosquitto_property*) {
    auto* client = static_cast<MqttTestClient*>(self);
    {
        std::lock_guard lock(client->mutex_);
        client->acks_[mid] = rc;
    }
    client->cv_.notify_all();
}

void MqttTestClient::onSubscribe(struct mosquitto*, void* self, int mid, int count, const int* granted,
                                 const mosquitto_property*) {
    auto* client = static_cast<MqttTestClient*>(self);
    {
        std::lock_guard lock(client->mutex_);
        client->subacks_[mid] = std::vector<int>(granted, granted + count);
    }
    client->cv_.notify_all();
}

void MqttTestClient::onUnsubscribe(struct mosquitto*, void* self, int mid, const mosquitto_property*) {
    auto* client = static_cast<MqttTestClient*>(self);
    {
        std::lock_guard lock(client->mutex_);
        client->unsubacks_.insert(mid);
    }
    client->cv_.notify_all();
}

void MqttTestClient::onMessage(struct mosquitto*, void* self, const struct mosquitto_message* msg,
                               const mosquitto_property* props) {
    auto* client = static_cast<MqttTestClient*>(self);
    ReceivedMessage received;
    received.topic = msg->topic != nullptr ? msg->topic : "";
    if (msg->payload != nullptr && msg->payloadlen > 0) {
        received.payload.assign(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
    }
    received.qos = msg->qos;
    received.retain = msg->retain;
    received.mid = msg->mid;
    if (props != nullptr) {
        char* name = nullptr;
        char* value = nullptr;
        for (const mosquitto_property* p =
                 mosquitto_property_read_string_pair(props, MQTT_PROP_USER_PROPERTY, &name, &value, false);
             p != nullptr; p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value, true)) {
            received.user_properties.emplace_back(name != nullptr ? name : "", value != nullptr ? value : "");
            free(name);
            free(value);
            name = nullptr;
            value = nullptr;
        }
        received.content_type = readString(props, MQTT_PROP_CONTENT_TYPE);
        received.response_topic = readString(props, MQTT_PROP_RESPONSE_TOPIC);
        void* data = nullptr;
        uint16_t len = 0;
        if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &data, &len, false) != nullptr) {
            received.correlation_data = std::string(static_cast<const char*>(data), len);
            free(data);
        }
        uint8_t format = 0;
        if (mosquitto_property_read_byte(props, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, &format, false) != nullptr) {
            received.payload_format_indicator = format;
        }
        uint32_t expiry = 0;
        if (mosquitto_property_read_int32(props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, &expiry, false) != nullptr) {
            received.message_expiry_interval = expiry;
        }
        uint32_t sub_id = 0;
        for (const mosquitto_property* p =
                 mosquitto_property_read_varint(props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, &sub_id, false);
             p != nullptr; p = mosquitto_property_read_varint(p, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, &sub_id, true)) {
            received.subscription_identifiers.push_back(sub_id);
        }
    }
    {
        std::lock_guard lock(client->mutex_);
        client->messages_.push_back(std::move(received));
    }
    client->cv_.notify_all();
}

}  // namespace mqs::testing
