// Smoke tests of the integration harness itself against a bare mosquitto (no plugins):
// lifecycle, log capture, and pub/sub through MqttTestClient under MQTT 3.1.1 and 5.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <tuple>

#include "testing/broker_process.hpp"
#include "testing/mqtt_test_client.hpp"

namespace {

using mqs::testing::BrokerProcess;
using mqs::testing::MqttTestClient;
using mqs::testing::PublishProperties;
using Protocol = MqttTestClient::Protocol;
using namespace std::chrono_literals;

std::string protocolName(Protocol p) { return p == Protocol::V5 ? "V5" : "V311"; }

TEST(BrokerSmoke, StartsOnFreePortAndAcceptsClients) {
  BrokerProcess broker("");
  ASSERT_TRUE(broker.start()) << broker.log();
  EXPECT_GT(broker.port(), 0);
  EXPECT_GT(broker.pid(), 0);
  EXPECT_TRUE(broker.isRunning());
  // Ready means listening: start() checks the broker's own sockets, not its log wording.
  EXPECT_TRUE(mqs::testing::processListensOn(broker.pid(), broker.port()));
  EXPECT_FALSE(broker.log().empty()) << "the broker's log is captured";

  MqttTestClient client("smoke-connect");
  ASSERT_TRUE(client.connect(broker.port())) << client.lastError();
  EXPECT_TRUE(client.isConnected());
  EXPECT_EQ(client.connackReason(), 0);
  client.disconnect();
  EXPECT_FALSE(client.isConnected());
}

TEST(BrokerSmoke, StartPicksAnotherPortWhenItsPortWasTaken) {
  BrokerProcess broker("");
  const int original = broker.port();
  // Occupy the chosen port the way a parallel test might between freeTcpPort() and exec.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(original));
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);

  const bool started = broker.start();
  ::close(fd);
  ASSERT_TRUE(started) << broker.log();
  EXPECT_NE(broker.port(), original);
  MqttTestClient client("after-retry");
  EXPECT_TRUE(client.connect(broker.port()));
}

class RoundTrip : public ::testing::TestWithParam<std::tuple<Protocol, int>> {};

TEST_P(RoundTrip, PublishedMessageArrivesWithQos) {
  const auto [protocol, qos] = GetParam();
  BrokerProcess broker("");
  ASSERT_TRUE(broker.start()) << broker.log();

  MqttTestClient sub("sub-" + protocolName(protocol), protocol);
  MqttTestClient pub("pub-" + protocolName(protocol), protocol);
  ASSERT_TRUE(sub.connect(broker.port())) << sub.lastError();
  ASSERT_TRUE(pub.connect(broker.port())) << pub.lastError();
  int granted = -1;
  ASSERT_TRUE(sub.subscribe("smoke/#", qos, 5s, &granted));
  EXPECT_EQ(granted, qos);

  // Binary-safe: embedded NUL and high bytes must survive both directions.
  const std::string payload("hello\0world\xff", 12);
  int reason = -2;
  ASSERT_TRUE(pub.publish("smoke/a", payload, qos, false, &reason)) << pub.lastError();
  EXPECT_EQ(reason, 0);  // there is a matching subscriber, so no 0x10 under v5

  auto msg = sub.waitForMessage();
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->topic, "smoke/a");
  EXPECT_EQ(msg->payload, payload);
  EXPECT_EQ(msg->qos, qos);
  EXPECT_FALSE(msg->retain);
  EXPECT_TRUE(sub.drain(100ms).empty());
}

INSTANTIATE_TEST_SUITE_P(
    ProtocolsAndQos, RoundTrip,
    ::testing::Combine(::testing::Values(Protocol::V311, Protocol::V5), ::testing::Values(0, 1, 2)),
    [](const auto& param_info) {
      return protocolName(std::get<0>(param_info.param)) + "_Qos" + std::to_string(std::get<1>(param_info.param));
    });

TEST(BrokerSmoke, V5PubackReportsNoMatchingSubscribers) {
  BrokerProcess broker("");
  ASSERT_TRUE(broker.start()) << broker.log();
  MqttTestClient pub("pub-nomatch", Protocol::V5);
  ASSERT_TRUE(pub.connect(broker.port()));
  int reason = -2;
  ASSERT_TRUE(pub.publish("nobody/listens", "x", 1, false, &reason));
  EXPECT_EQ(reason, 0x10);
}

TEST(BrokerSmoke, V5PropertiesRoundTrip) {
  BrokerProcess broker("");
  ASSERT_TRUE(broker.start()) << broker.log();
  MqttTestClient sub("sub-props", Protocol::V5);
  MqttTestClient pub("pub-props", Protocol::V5);
  ASSERT_TRUE(sub.connect(broker.port()));
  ASSERT_TRUE(pub.connect(broker.port()));
  ASSERT_TRUE(sub.subscribe("props/#", 1));

  PublishProperties props;
  props.user_properties = {{"k", "v"}, {"k2", "v2"}};
  props.content_type = "application/json";
  props.correlation_data = std::string("\x01\x00\x02", 3);
  props.payload_format_indicator = 1;
  ASSERT_TRUE(pub.publishWithProperties("props/x", "{}", 1, false, props));

  auto msg = sub.waitForMessage();
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->userProperty("k2"), "v2");
  EXPECT_EQ(msg->user_properties.size(), 2u);
  EXPECT_EQ(msg->content_type, "application/json");
  EXPECT_EQ(msg->correlation_data, std::string("\x01\x00\x02", 3));
  EXPECT_EQ(msg->payload_format_indicator, 1);
}

TEST(BrokerSmoke, RetainedMessageSeenByLateSubscriber) {
  BrokerProcess broker("");
  ASSERT_TRUE(broker.start()) << broker.log();

  MqttTestClient pub("pub-retain");
  ASSERT_TRUE(pub.connect(broker.port()));
  // QoS 1 so the PUBACK proves the broker stored it before the subscriber arrives.
  ASSERT_TRUE(pub.publish("retained/t", "kept", 1, true));

  MqttTestClient late("late-sub", Protocol::V311);
  ASSERT_TRUE(late.connect(broker.port()));
  ASSERT_TRUE(late.subscribe("retained/#", 1));
  auto msg = late.waitForMessage();
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->topic, "retained/t");
  EXPECT_EQ(msg->payload, "kept");
  EXPECT_TRUE(msg->retain);
}

TEST(BrokerSmoke, PersistenceLivesInDirAndSurvivesRestart) {
  BrokerProcess broker("persistence true\n");
  ASSERT_TRUE(broker.start()) << broker.log();
  {
    MqttTestClient pub("pub-persist");
    ASSERT_TRUE(pub.connect(broker.port()));
    ASSERT_TRUE(pub.publish("persist/t", "durable", 1, true));
  }
  EXPECT_EQ(broker.stop(), 0);  // mosquitto writes its DB on clean exit
  EXPECT_TRUE(std::filesystem::exists(broker.dir() / "mosquitto.db"));
  ASSERT_TRUE(broker.restart()) << broker.log();

  MqttTestClient sub("sub-persist");
  ASSERT_TRUE(sub.connect(broker.port()));
  ASSERT_TRUE(sub.subscribe("persist/#", 1));
  auto msg = sub.waitForMessage();
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->payload, "durable");
  EXPECT_TRUE(msg->retain);
}

TEST(BrokerSmoke, WaitForMessageOnKeepsOtherMessagesQueued) {
  BrokerProcess broker("");
  ASSERT_TRUE(broker.start()) << broker.log();
  MqttTestClient client("filter-client");
  ASSERT_TRUE(client.connect(broker.port()));
  ASSERT_TRUE(client.subscribe("f/#", 1));
  ASSERT_TRUE(client.publish("f/one", "1", 1));
  ASSERT_TRUE(client.publish("f/two", "2", 1));

  auto two = client.waitForMessageOn("f/two");
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->payload, "2");
  auto one = client.waitForMessage();
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->topic, "f/one");
  EXPECT_FALSE(client.waitForMessageOn("f/none", 100ms).has_value());
}

TEST(BrokerSmoke, UnknownOptionFailsToStartAndLogNamesIt) {
  BrokerProcess broker("no_such_option_xyz true\n");
  EXPECT_FALSE(broker.start());
  EXPECT_FALSE(broker.isRunning());
  ASSERT_TRUE(broker.exitStatus().has_value());
  EXPECT_NE(*broker.exitStatus(), 0);
  EXPECT_NE(broker.log().find("no_such_option_xyz"), std::string::npos) << broker.log();
}

TEST(BrokerSmoke, SighupReloadAppliesTheNewConfig) {
  BrokerProcess broker("");
  ASSERT_TRUE(broker.start()) << broker.log();
  MqttTestClient before("anon-before", Protocol::V5);
  ASSERT_TRUE(before.connect(broker.port())) << before.lastError();
  before.disconnect();

  // What a reload did is seen in behaviour, not in the broker's wording of it.
  broker.updateConfig("allow_anonymous false\n");
  broker.reload();
  MqttTestClient after("anon-after", Protocol::V5);
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) {
    refused = !after.connect(broker.port()) && after.connackReason() == 0x87;
    if (!refused) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(refused) << "anonymous clients are refused once the reloaded config says so\n" << broker.log();
  broker.reload();
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(broker.isRunning());
}

TEST(BrokerSmoke, StopReturnsZero) {
  BrokerProcess broker("");
  ASSERT_TRUE(broker.start()) << broker.log();
  EXPECT_EQ(broker.stop(), 0);
  EXPECT_FALSE(broker.isRunning());
  EXPECT_EQ(broker.exitStatus(), 0);
}

TEST(BrokerSmoke, KillIsSeenByClientAndRestartKeepsPort) {
  BrokerProcess broker("");
  ASSERT_TRUE(broker.start()) << broker.log();
  const int port = broker.port();
  const pid_t first_pid = broker.pid();
  MqttTestClient client("crash-client", Protocol::V311);
  ASSERT_TRUE(client.connect(port));

  broker.kill9();
  EXPECT_EQ(broker.exitStatus(), 128 + 9);
  ASSERT_TRUE(client.waitForDisconnect(5s));
  EXPECT_FALSE(client.isConnected());

  ASSERT_TRUE(broker.restart()) << broker.log();
  EXPECT_EQ(broker.port(), port);
  EXPECT_NE(broker.pid(), first_pid) << "a new broker process";
  EXPECT_TRUE(broker.isRunning());
  // The client does not reconnect by itself; an explicit connect() does.
  EXPECT_FALSE(client.isConnected());
  ASSERT_TRUE(client.connect(port)) << client.lastError();
}

TEST(BrokerSmoke, SessionTakeoverIsSeenAsDisconnect) {
  BrokerProcess broker("");
  ASSERT_TRUE(broker.start()) << broker.log();
  MqttTestClient first("same-id", Protocol::V5);
  MqttTestClient second("same-id", Protocol::V5);
  ASSERT_TRUE(first.connect(broker.port()));
  ASSERT_TRUE(second.connect(broker.port()));
  ASSERT_TRUE(first.waitForDisconnect(5s));
  // 2.0.11 just closes the old socket, so libmosquitto reports MOSQ_ERR_CONN_LOST (7); since 2.0.21
  // the broker first sends DISCONNECT 0x8E "session taken over".
  EXPECT_TRUE(first.lastDisconnectReason() == 7 || first.lastDisconnectReason() == 0x8E)
      << first.lastDisconnectReason();
  EXPECT_TRUE(second.isConnected());
}

TEST(BrokerSmoke, RefusedConnectReportsConnackReason) {
  BrokerProcess broker("allow_anonymous false\n");
  ASSERT_TRUE(broker.start()) << broker.log();

  MqttTestClient v5("anon-v5", Protocol::V5);
  EXPECT_FALSE(v5.connect(broker.port()));
  EXPECT_EQ(v5.connackReason(), 0x87);  // not authorised
  EXPECT_FALSE(v5.isConnected());

  MqttTestClient v3("anon-v3", Protocol::V311);
  EXPECT_FALSE(v3.connect(broker.port()));
  EXPECT_EQ(v3.connackReason(), 5);  // 3.1.1 "not authorised"
}

TEST(BrokerSmoke, WillPublishedOnAbortButNotOnDisconnect) {
  BrokerProcess broker("");
  ASSERT_TRUE(broker.start()) << broker.log();
  MqttTestClient watcher("watcher");
  ASSERT_TRUE(watcher.connect(broker.port()));
  ASSERT_TRUE(watcher.subscribe("will/#", 1));

  MqttTestClient polite("polite");
  polite.setWill("will/polite", "gone", 1, false);
  ASSERT_TRUE(polite.connect(broker.port()));
  polite.disconnect();

  MqttTestClient rude("rude", Protocol::V311);
  rude.setWill("will/rude", "gone", 1, false);
  ASSERT_TRUE(rude.connect(broker.port()));
  rude.abortConnection();
  ASSERT_TRUE(rude.waitForDisconnect(5s));

  auto will = watcher.waitForMessage();
  ASSERT_TRUE(will.has_value());
  EXPECT_EQ(will->topic, "will/rude");
  // The polite client disconnected first, so its will would have arrived before this one.
  EXPECT_TRUE(watcher.drain(100ms).empty());
}

TEST(BrokerSmoke, ConfigAndFilesLiveInPrivateDir) {
  BrokerProcess broker("# a comment\nlog_dest stderr\nmax_keepalive 120\n", "files");
  broker.writeFile("sub/rules.txt", "abc");
  EXPECT_TRUE(std::filesystem::exists(broker.dir() / "sub" / "rules.txt"));
  ASSERT_TRUE(broker.start()) << broker.log();
  const std::string conf = [&] {
    std::ifstream in(broker.configPath());
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }();
  EXPECT_NE(conf.find("listener " + std::to_string(broker.port()) + " 127.0.0.1"), std::string::npos);
  EXPECT_NE(conf.find("# (log_dest replaced by the harness) log_dest stderr"), std::string::npos);
  EXPECT_NE(conf.find("max_keepalive 120"), std::string::npos);
  EXPECT_GT(broker.peakRssKb(), 0);
  EXPECT_GE(broker.cpuTime().count(), 0);
}

TEST(BrokerSmoke, BodyOptionsOverrideHarnessDefaults) {
  // per_listener_settings must precede the listener line; the harness hoists it.
  BrokerProcess broker("per_listener_settings true\nallow_anonymous false\nlog_type error\n");
  ASSERT_TRUE(broker.start()) << broker.log();
  MqttTestClient anon("anon", Protocol::V5);
  EXPECT_FALSE(anon.connect(broker.port()));
  EXPECT_EQ(anon.connackReason(), 0x87);
  // log_type error + the harness's "information": no debug lines such as "Sending CONNACK".
  EXPECT_EQ(broker.countInLog("Sending CONNACK"), 0u);
}

TEST(BrokerSmoke, TempDirRemovedAfterPassingTest) {
  if (std::getenv("MQS_KEEP_BROKER_DIRS") != nullptr) GTEST_SKIP() << "MQS_KEEP_BROKER_DIRS is set";
  std::filesystem::path dir;
  {
    BrokerProcess broker("");
    dir = broker.dir();
    ASSERT_TRUE(broker.start()) << broker.log();
    EXPECT_TRUE(std::filesystem::exists(dir / "broker.log"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
