// dynacl's per-ACL conditions, time-limited role links, last denials and %CN in the real broker: real
// clients, real sockets, a real TLS listener with certificates made by the openssl CLI.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "dynacl/conditions.hpp"
#include "dynacl/password.hpp"
#include "testing/broker_process.hpp"
#include "testing/child_process.hpp"
#include "testing/mqtt_test_client.hpp"

using namespace std::chrono_literals;
using mqs::testing::BrokerProcess;
using mqs::testing::MqttTestClient;
using nlohmann::json;

namespace {

constexpr int kNotAuthorized = 0x87;
constexpr const char* kControl = "$CONTROL/dynamic-security/v1";
constexpr const char* kResponse = "$CONTROL/dynamic-security/v1/response";

std::pair<int, std::string> run(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return {-1, ""};
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

json client(const std::string& username, const std::string& password, json roles) {
    auto h = mqs::dynacl::hashPassword(password);
    return {{"username", username},
            {"password", mqs::dynacl::base64Encode(h.hash)},
            {"salt", mqs::dynacl::base64Encode(h.salt)},
            {"iterations", h.iterations},
            {"roles", std::move(roles)}};
}

json acl(const char* type, const char* topic, json conditions = nullptr, bool allow = true) {
    json j = {{"acltype", type}, {"topic", topic}, {"allow", allow}, {"priority", 0}};
    if (!conditions.is_null()) j["conditions"] = std::move(conditions);
    return j;
}

// An admin allowed to use $CONTROL and read $SYS, and a device client "dev" with role "dev".
json baseState(json dev_acls, json dev_link = {{"rolename", "dev"}}) {
    json state;
    state["defaultACLAccess"] = {
        {"publishClientSend", false}, {"publishClientReceive", false}, {"subscribe", false}, {"unsubscribe", true}};
    state["roles"] = {{{"rolename", "admin"},
                       {"acls",
                        {acl("publishClientSend", "$CONTROL/dynamic-security/#"),
                         acl("publishClientReceive", "$CONTROL/dynamic-security/#"),
                         acl("subscribePattern", "$CONTROL/dynamic-security/#"), acl("publishClientReceive", "$SYS/#"),
                         acl("subscribePattern", "$SYS/#")}}},
                      {{"rolename", "dev"}, {"acls", std::move(dev_acls)}}};
    state["clients"] = {client("admin", "adminpw", {{{"rolename", "admin"}}}),
                        client("dev", "devpw", {std::move(dev_link)})};
    return state;
}

std::string body(const std::string& state_path, const std::string& extra = "") {
    return std::string("plugin ") + PLUGIN_PATH_MOSQUITTO_DYNACL + "\nplugin_opt_config_file " + state_path +
           "\nplugin_opt_metrics_interval 200ms\nallow_anonymous false\n" + extra;
}

struct Broker {
    explicit Broker(const json& state, const std::string& extra = "") : b("") {
        b.writeFile("dynamic-security.json", state.dump(1, '\t'));
        b.updateConfig(body(path(), extra));
    }
    std::string path() const { return (b.dir() / "dynamic-security.json").string(); }
    BrokerProcess b;
};

std::unique_ptr<MqttTestClient> connectAs(int port, const std::string& user, const std::string& password) {
    auto c = std::make_unique<MqttTestClient>("c-" + user);
    c->setCredentials(user, password);
    if (!c->connect(port)) return nullptr;
    return c;
}

int publishRc(MqttTestClient& c, const std::string& topic, const std::string& payload, int qos, bool retain = false) {
    int rc = -1;
    EXPECT_TRUE(c.publish(topic, payload, qos, retain, &rc)) << topic;
    return rc;
}

json control(MqttTestClient& admin, const json& commands) {
    EXPECT_TRUE(admin.publish(kControl, json{{"commands", commands}}.dump(), 1));
    auto reply = admin.waitForMessageOn(kResponse);
    if (!reply) return json();
    return json::parse(reply->payload)["responses"];
}

// A window boundary a few seconds ahead (room for a slow broker start on a busy machine), and a wait until
// it has passed.
struct Boundary {
    int64_t at = static_cast<int64_t>(std::time(nullptr)) + 6;
    std::string text() const { return mqs::dynacl::formatUtcTime(at); }
    bool ahead() const { return static_cast<int64_t>(std::time(nullptr)) < at; }
    void waitPast() const {
        while (static_cast<int64_t>(std::time(nullptr)) <= at) std::this_thread::sleep_for(100ms);
    }
};

// Allow from loopback only, QoS <= 1, not retained, at most 10 bytes; a rule for 10.0.0.0/8 never holds here.
TEST(DynaclConditions, AddressQosRetainAndSizeDecideEachMessageAndTheCacheStaysRight) {
    Broker br(baseState({acl("publishClientSend", "c/#",
                             {{"clientAddress", {"127.0.0.0/8", "::1"}},
                              {"maxQos", 1},
                              {"retainAllowed", false},
                              {"maxPayloadBytes", 10}}),
                         acl("publishClientSend", "far/#", {{"clientAddress", {"10.0.0.0/8"}}})}));
    ASSERT_TRUE(br.b.start()) << br.b.log();
    auto dev = connectAs(br.b.port(), "dev", "devpw");
    ASSERT_TRUE(dev);
    EXPECT_LT(publishRc(*dev, "c/x", "12345", 1), 0x80);
    EXPECT_LT(publishRc(*dev, "c/x", "12345", 1), 0x80);  // a second time: must not be answered from a cache...
    EXPECT_EQ(publishRc(*dev, "c/x", "12345", 2), kNotAuthorized);  // ...for QoS 2
    EXPECT_EQ(publishRc(*dev, "c/x", "12345", 1, true), kNotAuthorized);
    EXPECT_EQ(publishRc(*dev, "c/x", "12345678901", 1), kNotAuthorized);
    EXPECT_LT(publishRc(*dev, "c/x", "1234567890", 1), 0x80);
    EXPECT_EQ(publishRc(*dev, "far/x", "1", 1), kNotAuthorized);
    EXPECT_EQ(publishRc(*dev, "far/x", "1", 1), kNotAuthorized);
    EXPECT_TRUE(dev->isConnected());
}

TEST(DynaclConditions, InvalidConditionInTheFileStopsTheBrokerNamingFileRoleAndKey) {
    Broker br(baseState({acl("publishClientSend", "c/#", {{"maxQos", 3}})}));
    EXPECT_FALSE(br.b.start());
    ASSERT_TRUE(br.b.waitExit(10s));
    const std::string log = br.b.log();
    EXPECT_NE(log.find(br.path()), std::string::npos) << log;
    EXPECT_NE(log.find("'dev'"), std::string::npos) << log;
    EXPECT_NE(log.find("maxQos"), std::string::npos) << log;
}

TEST(DynaclConditions, ControlAddsConditionedAclsRefusesBadOnesAndGetRoleShowsThem) {
    Broker br(baseState(json::array()));
    ASSERT_TRUE(br.b.start()) << br.b.log();
    auto admin = connectAs(br.b.port(), "admin", "adminpw");
    auto dev = connectAs(br.b.port(), "dev", "devpw");
    ASSERT_TRUE(admin && dev);
    ASSERT_TRUE(admin->subscribe(kResponse));
    auto r = control(*admin, {{{"command", "addRoleACL"},
                               {"rolename", "dev"},
                               {"acltype", "publishClientSend"},
                               {"topic", "x/#"},
                               {"allow", true},
                               {"conditions", {{"maxQos", 0}, {"bogus", 1}}}}});
    ASSERT_EQ(r.size(), 1u);
    EXPECT_TRUE(r[0].contains("error")) << r;
    EXPECT_EQ(publishRc(*dev, "x/1", "a", 0), 0);  // QoS 0 cannot show the denial; QoS 1 does
    EXPECT_EQ(publishRc(*dev, "x/1", "a", 1), kNotAuthorized);
    r = control(*admin, {{{"command", "addRoleACL"},
                          {"rolename", "dev"},
                          {"acltype", "publishClientSend"},
                          {"topic", "x/#"},
                          {"allow", true},
                          {"conditions", {{"maxQos", 1}}}}});
    EXPECT_FALSE(r[0].contains("error")) << r;
    EXPECT_LT(publishRc(*dev, "x/1", "a", 1), 0x80);
    EXPECT_EQ(publishRc(*dev, "x/1", "a", 2), kNotAuthorized);
    r = control(*admin, {{{"command", "getRole"}, {"rolename", "dev"}}});
    EXPECT_EQ(r[0]["data"]["role"]["acls"][0]["conditions"], (json{{"maxQos", 1}})) << r;
    // The file keeps it.
    std::this_thread::sleep_for(200ms);
    auto [rc, text] = run("cat '" + br.path() + "'");
    EXPECT_NE(text.find("maxQos"), std::string::npos) << text;
}

// A window closes on an ACL and one opens on a role link while the client stays connected, nothing is
// changed, and the decision cache had the old answers.
TEST(DynaclConditions, ValidityWindowsOpenAndCloseWithoutAStateChange) {
    const Boundary boundary;
    json state = baseState({acl("publishClientSend", "closing/#", {{"notAfter", boundary.text()}})});
    state["roles"].push_back({{"rolename", "later"}, {"acls", {acl("publishClientSend", "opening/#")}}});
    state["clients"][1]["roles"].push_back({{"rolename", "later"}, {"notBefore", boundary.text()}});
    Broker br(state);
    ASSERT_TRUE(br.b.start()) << br.b.log();
    auto dev = connectAs(br.b.port(), "dev", "devpw");
    ASSERT_TRUE(dev);
    EXPECT_LT(publishRc(*dev, "closing/a", "1", 1), 0x80);
    EXPECT_LT(publishRc(*dev, "closing/a", "1", 1), 0x80);
    EXPECT_EQ(publishRc(*dev, "opening/a", "1", 1), kNotAuthorized);
    EXPECT_EQ(publishRc(*dev, "opening/a", "1", 1), kNotAuthorized);
    ASSERT_TRUE(boundary.ahead()) << "too slow: the checks before the boundary came after it";
    boundary.waitPast();
    EXPECT_EQ(publishRc(*dev, "closing/a", "1", 1), kNotAuthorized);
    EXPECT_LT(publishRc(*dev, "opening/a", "1", 1), 0x80);
    EXPECT_TRUE(dev->isConnected());
}

TEST(DynaclConditions, TimeLimitedRoleLinkThroughControlIsShownAndSaved) {
    Broker br(baseState({acl("publishClientSend", "d/#")}, {{"rolename", "admin"}}));
    ASSERT_TRUE(br.b.start()) << br.b.log();
    auto admin = connectAs(br.b.port(), "admin", "adminpw");
    auto dev = connectAs(br.b.port(), "dev", "devpw");
    ASSERT_TRUE(admin && dev);
    ASSERT_TRUE(admin->subscribe(kResponse));
    EXPECT_EQ(publishRc(*dev, "d/1", "a", 1), kNotAuthorized);
    const Boundary boundary;
    const std::string until = boundary.text();
    auto r = control(*admin,
                     {{{"command", "addClientRole"}, {"username", "dev"}, {"rolename", "dev"}, {"notAfter", until}}});
    EXPECT_FALSE(r[0].contains("error")) << r;
    EXPECT_LT(publishRc(*dev, "d/1", "a", 1), 0x80);
    r = control(*admin, {{{"command", "getClient"}, {"username", "dev"}}});
    bool shown = false;
    for (const auto& l : r[0]["data"]["client"]["roles"]) {
        if (l["rolename"] == "dev") shown = l.value("notAfter", "") == until;
        if (l["rolename"] == "admin") {
            EXPECT_FALSE(l.contains("notAfter")) << l;
        }
    }
    EXPECT_TRUE(shown) << r;
    ASSERT_TRUE(boundary.ahead()) << "too slow: the checks before the boundary came after it";
    boundary.waitPast();
    EXPECT_EQ(publishRc(*dev, "d/1", "a", 1), kNotAuthorized);
    auto [rc, text] = run("cat '" + br.path() + "'");
    EXPECT_NE(text.find(until), std::string::npos) << text;  // expired, not deleted
}

TEST(DynaclDenials, LastDenialsAndCountsOfAConnectedClientAndMetrics) {
    Broker br(baseState({acl("publishClientSend", "ok/#"), acl("publishClientSend", "secret/#", nullptr, false),
                         acl("subscribePattern", "secret/#", nullptr, false)}));
    ASSERT_TRUE(br.b.start()) << br.b.log();
    auto admin = connectAs(br.b.port(), "admin", "adminpw");
    auto dev = connectAs(br.b.port(), "dev", "devpw");
    ASSERT_TRUE(admin && dev);
    ASSERT_TRUE(admin->subscribe(kResponse));
    ASSERT_TRUE(admin->subscribe("$SYS/plugins/dynacl/dynacl/acl/+/denied"));
    ASSERT_TRUE(admin->subscribe("$SYS/plugins/dynacl/dynacl/denials/clients"));
    for (int i = 0; i < 12; ++i) EXPECT_EQ(publishRc(*dev, "secret/" + std::to_string(i), "x", 1), kNotAuthorized);
    EXPECT_FALSE(dev->subscribe("secret/#"));
    EXPECT_LT(publishRc(*dev, "ok/1", "x", 1), 0x80);
    auto r = control(*admin, {{{"command", "getClientDenials"}, {"clientid", "c-dev"}}});
    ASSERT_EQ(r[0]["data"]["clients"].size(), 1u) << r;
    const json& d = r[0]["data"]["clients"][0];
    EXPECT_EQ(d["username"], "dev");
    EXPECT_EQ(d["counts"]["publish"], 12);
    EXPECT_EQ(d["counts"]["subscribe"], 1);
    ASSERT_EQ(d["denials"].size(), 8u) << d;  // the last 8
    EXPECT_EQ(d["denials"][0]["access"], "subscribe");
    EXPECT_EQ(d["denials"][1]["topic"], "secret/11");
    EXPECT_EQ(d["denials"][1]["rolename"], "dev");
    EXPECT_EQ(d["denials"][1]["acl"]["topic"], "secret/#");
    // Totals per type in $SYS.
    bool publish_total = false;
    for (int i = 0; i < 20 && !publish_total; ++i) {
        auto m = admin->waitForMessageOn("$SYS/plugins/dynacl/dynacl/acl/publish/denied", 1s);
        if (m && m->payload == "12") publish_total = true;
    }
    EXPECT_TRUE(publish_total);
    bool tracked = false;
    for (int i = 0; i < 20 && !tracked; ++i) {
        auto m = admin->waitForMessageOn("$SYS/plugins/dynacl/dynacl/denials/clients", 1s);
        if (m && m->payload == "1") tracked = true;
    }
    EXPECT_TRUE(tracked);
    // Gone with the connection.
    dev->disconnect();
    std::this_thread::sleep_for(200ms);
    r = control(*admin, {{{"command", "getClientDenials"}, {"username", "dev"}}});
    EXPECT_TRUE(r[0]["data"]["clients"].empty()) << r;
}

// getClient lists the client's live connections, as Mosquitto 2.1's dynamic-security does: one per
// connected client that logged in with the username, gone at its disconnect.
TEST(DynaclConnections, GetClientListsTheLiveConnectionsOfTheUsername) {
    Broker br(baseState({acl("publishClientSend", "ok/#")}));
    ASSERT_TRUE(br.b.start()) << br.b.log();
    auto admin = connectAs(br.b.port(), "admin", "adminpw");
    ASSERT_TRUE(admin);
    ASSERT_TRUE(admin->subscribe(kResponse));
    auto r = control(*admin, {{{"command", "getClient"}, {"username", "dev"}}});
    EXPECT_TRUE(r[0]["data"]["client"]["connections"].empty()) << r;
    auto first = connectAs(br.b.port(), "dev", "devpw");
    auto second = std::make_unique<MqttTestClient>("c-dev-2");
    second->setCredentials("dev", "devpw");
    ASSERT_TRUE(first && second->connect(br.b.port()));
    auto refused = std::make_unique<MqttTestClient>("c-dev-3");
    refused->setCredentials("dev", "wrong");
    EXPECT_FALSE(refused->connect(br.b.port()));
    r = control(*admin, {{{"command", "getClient"}, {"username", "dev"}}});
    const json& conns = r[0]["data"]["client"]["connections"];
    ASSERT_EQ(conns.size(), 2u) << r;
    EXPECT_EQ(conns[0]["clientid"], "c-dev");
    EXPECT_EQ(conns[1]["clientid"], "c-dev-2");
    EXPECT_EQ(conns[0]["address"], "127.0.0.1");
    r = control(*admin, {{{"command", "getClient"}, {"username", "admin"}}});
    ASSERT_EQ(r[0]["data"]["client"]["connections"].size(), 1u) << r;
    first->disconnect();
    std::this_thread::sleep_for(200ms);
    r = control(*admin, {{{"command", "getClient"}, {"username", "dev"}}});
    ASSERT_EQ(r[0]["data"]["client"]["connections"].size(), 1u) << r;
    EXPECT_EQ(r[0]["data"]["client"]["connections"][0]["clientid"], "c-dev-2");
    second->disconnect();
    std::this_thread::sleep_for(200ms);
    r = control(*admin, {{{"command", "getClient"}, {"username", "dev"}}});
    EXPECT_TRUE(r[0]["data"]["client"]["connections"].empty()) << r;
}

// docs/dynacl.md's way to send what mosquitto_ctrl cannot: a JSON request with mosquitto_rr, answered on its
// MQTT v5 response topic.
TEST(DynaclConnections, JsonRequestWithMosquittoRr) {
    Broker br(baseState({acl("publishClientSend", "ok/#")}));
    ASSERT_TRUE(br.b.start()) << br.b.log();
    auto dev = connectAs(br.b.port(), "dev", "devpw");
    ASSERT_TRUE(dev);
    auto [rc, out] = run("mosquitto_rr -h 127.0.0.1 -p " + std::to_string(br.b.port()) +
                         " -u admin -P adminpw -W 10 -t '$CONTROL/dynamic-security/v1' "
                         "-e '$CONTROL/dynamic-security/v1/response' "
                         "-m '{\"commands\":[{\"command\":\"getClient\",\"username\":\"dev\"}]}'");
    ASSERT_EQ(rc, 0) << out;
    const json reply = json::parse(out, nullptr, false);
    ASSERT_TRUE(reply.is_object()) << out;
    const json& conns = reply["responses"][0]["data"]["client"]["connections"];
    ASSERT_EQ(conns.size(), 1u) << out;
    EXPECT_EQ(conns[0]["clientid"], "c-dev");
}

// %CN: the common name of the client certificate on a TLS listener with require_certificate.
TEST(DynaclCommonName, CertificateCommonNameBindsATopicLevel) {
    BrokerProcess probe("");  // only for a temp dir that is cleaned up
    const std::string dir = probe.dir().string();
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    const std::string script =
        "cd '" + dir + "' && printf 'subjectAltName=IP:127.0.0.1\\n' > server.ext && openssl req -x509" + ec +
        "-keyout ca.key -out ca.crt -days 2 -subj /CN=dynacl-test-ca && openssl req" + ec +
        "-keyout server.key -out server.csr -subj /CN=127.0.0.1 && openssl x509 -req -in server.csr -CA ca.crt "
        "-CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext && openssl req" +
        ec +
        "-keyout client.key -out client.csr -subj /CN=sensor-1 && openssl x509 -req -in client.csr -CA ca.crt "
        "-CAkey ca.key -CAcreateserial -out client.crt -days 2";
    auto [rc, out] = run(script);
    ASSERT_EQ(rc, 0) << out;
    const int tls_port = mqs::testing::freeTcpPort();
    Broker br(baseState({acl("publishClientSend", "cert/%CN/data")}),
              "listener " + std::to_string(tls_port) + " 127.0.0.1\ncafile " + dir + "/ca.crt\ncertfile " + dir +
                  "/server.crt\nkeyfile " + dir + "/server.key\nrequire_certificate true\n");
    ASSERT_TRUE(br.b.start()) << br.b.log();
    MqttTestClient tls("c-tls");
    tls.setCredentials("dev", "devpw");
    tls.setTls(dir + "/ca.crt", dir + "/client.crt", dir + "/client.key");
    ASSERT_TRUE(tls.connect(tls_port)) << tls.lastError() << br.b.log();
    EXPECT_LT(publishRc(tls, "cert/sensor-1/data", "21", 1), 0x80);
    EXPECT_EQ(publishRc(tls, "cert/sensor-2/data", "21", 1), kNotAuthorized);
    // The same user without a certificate (plain listener) has no CN: the rule never matches.
    auto plain = connectAs(br.b.port(), "dev", "devpw");
    ASSERT_TRUE(plain);
    EXPECT_EQ(publishRc(*plain, "cert/sensor-1/data", "21", 1), kNotAuthorized);
}

}  // namespace
