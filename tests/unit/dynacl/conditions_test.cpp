// Per-ACL conditions (address ranges, QoS, retain, size, validity window), time-limited role links, the
// decision cache staying right across window boundaries (fake clock), the last denials and %CN.
#include <gtest/gtest.h>

#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "dynacl/conditions.hpp"
#include "dynacl/control.hpp"
#include "dynacl/decision_cache.hpp"
#include "dynacl/denials.hpp"
#include "dynacl/state.hpp"
#include "dynacl/state_file.hpp"

using namespace mqs::dynacl;
using nlohmann::json;

namespace {

constexpr int64_t kNoon = 1'796'558'400;  // 2026-12-06T12:00:00Z

Identity user(std::string_view name, std::string_view address = "") {
    return Identity{.username = name, .has_username = true, .client_id = "id", .address = address};
}

json acl(const char* type, const char* topic, bool allow, json conditions = nullptr, int priority = 0) {
    json j = {{"acltype", type}, {"topic", topic}, {"allow", allow}, {"priority", priority}};
    if (!conditions.is_null()) j["conditions"] = std::move(conditions);
    return j;
}

// Client "u" with role "r" holding `acls`.
json stateWith(json acls, json link = {{"rolename", "r"}}) {
    return {{"roles", {{{"rolename", "r"}, {"acls", std::move(acls)}}}},
            {"clients", {{{"username", "u"}, {"roles", {std::move(link)}}}}}};
}

std::vector<json> responses(const ControlOutcome& out) {
    return json::parse(out.reply)["responses"].get<std::vector<json>>();
}

ControlOutcome run(const State& s, const json& commands, ControlExtras extras = {.now = kNoon}) {
    return handleControl(s, json{{"commands", commands}}.dump(), 1, extras);
}

TEST(Cidr, ParsesAndMatchesIpv4Ipv6AndMappedAddresses) {
    auto net = CidrRange::parse("10.1.2.3/8");
    ASSERT_TRUE(net);
    EXPECT_EQ(net->text(), "10.0.0.0/8");
    EXPECT_TRUE(net->contains("10.200.0.1"));
    EXPECT_FALSE(net->contains("11.0.0.1"));
    EXPECT_FALSE(net->contains("::1"));
    EXPECT_FALSE(net->contains(""));
    EXPECT_FALSE(net->contains("not-an-address"));
    auto host = CidrRange::parse("127.0.0.1");
    ASSERT_TRUE(host);
    EXPECT_EQ(host->text(), "127.0.0.1/32");
    EXPECT_TRUE(host->contains("127.0.0.1"));
    EXPECT_TRUE(host->contains("::ffff:127.0.0.1"));  // IPv4-mapped counts as IPv4
    EXPECT_FALSE(host->contains("127.0.0.2"));
    auto v6 = CidrRange::parse("2001:db8::/33");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->contains("2001:db8:7fff::1"));
    EXPECT_FALSE(v6->contains("2001:db8:8000::1"));
    EXPECT_FALSE(v6->contains("10.0.0.1"));
    auto mapped = CidrRange::parse("::ffff:192.168.0.0/112");
    ASSERT_TRUE(mapped);
    EXPECT_EQ(mapped->text(), "192.168.0.0/16");
    EXPECT_TRUE(CidrRange::parse("0.0.0.0/0")->contains("8.8.8.8"));
    for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "::/129", "host/8", "10/8",
                            "fe80::1%eth0", "::ffff:10.0.0.0/64"}) {
        EXPECT_FALSE(CidrRange::parse(bad)) << bad;
    }
}

TEST(UtcTime, Rfc3339UtcOnly) {
    EXPECT_EQ(parseUtcTime("2026-12-06T12:00:00Z"), kNoon);
    EXPECT_EQ(formatUtcTime(kNoon), "2026-12-06T12:00:00Z");
    EXPECT_EQ(parseUtcTime("1970-01-01T00:00:00Z"), 0);
    for (const char* bad : {"2026-12-06 12:00:00Z", "2026-12-06T12:00:00+01:00", "2026-12-06T12:00:00",
                            "2026-02-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-06T24:00:00Z", "1796558400",
                            "2026-12-06T12:00:00.5Z", "x026-12-06T12:00:00Z"}) {
        EXPECT_FALSE(parseUtcTime(bad)) << bad;
    }
}

TEST(Conditions, InvalidValuesAndUnknownKeysAreRefused) {
    EXPECT_TRUE(parseConditions(json::object()).empty());
    for (const json& bad :
         {json{{"maxQos", 3}}, json{{"maxQos", "1"}}, json{{"retainAllowed", 0}}, json{{"maxPayloadBytes", -1}},
          json{{"maxPayloadBytes", 1.5}}, json{{"clientAddress", "10.0.0.0/8"}}, json{{"clientAddress", json::array()}},
          json{{"clientAddress", {"10.0.0.0/8", "nope"}}}, json{{"notBefore", 1796558400}},
          json{{"notAfter", "tomorrow"}},
          json{{"notBefore", "2026-12-06T12:00:00Z"}, {"notAfter", "2026-12-06T12:00:00Z"}},
          json{{"listenerPort", {1883}}}, json{{"maxqos", 1}}, json(5)}) {
        EXPECT_THROW(parseConditions(bad), ConditionError) << bad.dump();
    }
    try {
        parseConditions({{"listenerPort", {1883}}});
    } catch (const ConditionError& e) {
        EXPECT_NE(std::string(e.what()).find("listenerPort"), std::string::npos);
    }
    const json all = {{"clientAddress", {"10.0.0.0/8", "::1/128"}},
                      {"maxQos", 1},
                      {"retainAllowed", false},
                      {"maxPayloadBytes", 100},
                      {"notBefore", "2026-12-06T12:00:00Z"},
                      {"notAfter", "2026-12-07T12:00:00Z"}};
    EXPECT_EQ(conditionsToJson(parseConditions(all)), all);
}

TEST(Conditions, AnAclWhoseConditionFailsDoesNotMatchAndTheNextOneDecides) {
    // Allow from 10.0.0.0/8 at QoS <= 1, not retained, at most 10 bytes; below it a catch-all deny.
    State s = parseState(stateWith({acl("publishClientSend", "a/#", true,
                                        {{"clientAddress", {"10.0.0.0/8"}},
                                         {"maxQos", 1},
                                         {"retainAllowed", false},
                                         {"maxPayloadBytes", 10}},
                                        5),
                                    acl("publishClientSend", "#", false)}))
                  .state;
    const CheckFacts ok{.qos = 1, .retain = false, .payload_bytes = 10};
    EXPECT_EQ(s.check(user("u", "10.1.1.1"), Access::Write, "a/b", ok), Decision::Allow);
    EXPECT_EQ(s.check(user("u", "192.168.1.1"), Access::Write, "a/b", ok), Decision::Deny);
    EXPECT_EQ(s.check(user("u", ""), Access::Write, "a/b", ok), Decision::Deny);  // unknown address
    CheckFacts f = ok;
    f.qos = 2;
    EXPECT_EQ(s.check(user("u", "10.1.1.1"), Access::Write, "a/b", f), Decision::Deny);
    f = ok;
    f.retain = true;
    EXPECT_EQ(s.check(user("u", "10.1.1.1"), Access::Write, "a/b", f), Decision::Deny);
    f = ok;
    f.payload_bytes = 11;
    EXPECT_EQ(s.check(user("u", "10.1.1.1"), Access::Write, "a/b", f), Decision::Deny);
    // Without the catch-all, a failed condition leaves the decision to the defaults (defer).
    State only = parseState(stateWith({acl("publishClientSend", "a/#", true, {{"maxQos", 0}})})).state;
    EXPECT_EQ(only.check(user("u"), Access::Write, "a/b", ok), Decision::Defer);
    EXPECT_TRUE(s.summarize().uses_address);
    EXPECT_FALSE(only.summarize().uses_address);
}

TEST(Conditions, SubscriptionsSeeQosAndAddressButNotRetainOrSize) {
    State s = parseState(stateWith({acl("subscribePattern", "a/#", true,
                                        {{"maxQos", 0}, {"retainAllowed", false}, {"maxPayloadBytes", 0}}),
                                    acl("unsubscribePattern", "a/#", true, {{"clientAddress", {"::1"}}})}))
                  .state;
    EXPECT_EQ(s.check(user("u"), Access::Subscribe, "a/x", CheckFacts{.qos = 0, .retain = true, .payload_bytes = 9}),
              Decision::Allow);
    EXPECT_EQ(s.check(user("u"), Access::Subscribe, "a/x", CheckFacts{.qos = 1}), Decision::Defer);
    EXPECT_EQ(s.check(user("u", "::1"), Access::Unsubscribe, "a/x", CheckFacts{.qos = 2}), Decision::Allow);
    EXPECT_EQ(s.check(user("u", "::2"), Access::Unsubscribe, "a/x", CheckFacts{}), Decision::Defer);
}

TEST(Conditions, PerMessageConditionsMakeADecisionUncacheable) {
    State s = parseState(stateWith({acl("publishClientSend", "limited/#", true, {{"maxQos", 0}}),
                                    acl("publishClientSend", "ranged/#", true, {{"clientAddress", {"10.0.0.0/8"}}}),
                                    acl("publishClientSend", "plain/#", true)}))
                  .state;
    bool cacheable = true;
    s.check(user("u"), Access::Write, "limited/x", CheckFacts{}, nullptr, &cacheable);
    EXPECT_FALSE(cacheable);
    cacheable = true;
    s.check(user("u", "10.0.0.1"), Access::Write, "ranged/x", CheckFacts{}, nullptr, &cacheable);
    EXPECT_TRUE(cacheable);  // the address is part of the cache key
    cacheable = true;
    s.check(user("u"), Access::Write, "plain/x", CheckFacts{}, nullptr, &cacheable);
    EXPECT_TRUE(cacheable);
}

TEST(Conditions, ValidityWindowOfAnAcl) {
    State s =
        parseState(stateWith({acl("publishClientSend", "a", true,
                                  {{"notBefore", "2026-12-06T12:00:00Z"}, {"notAfter", "2026-12-06T13:00:00Z"}})}))
            .state;
    EXPECT_EQ(s.check(user("u"), Access::Write, "a", CheckFacts{.now = kNoon - 1}), Decision::Defer);
    EXPECT_EQ(s.check(user("u"), Access::Write, "a", CheckFacts{.now = kNoon}), Decision::Allow);
    EXPECT_EQ(s.check(user("u"), Access::Write, "a", CheckFacts{.now = kNoon + 3599}), Decision::Allow);
    EXPECT_EQ(s.check(user("u"), Access::Write, "a", CheckFacts{.now = kNoon + 3600}), Decision::Defer);
    EXPECT_EQ(s.summarize().time_boundaries, (std::vector<int64_t>{kNoon, kNoon + 3600}));
}

TEST(StateFileConditions, RoundTripAndAbsentMeansUnchanged) {
    const json conditioned =
        stateWith({acl("publishClientSend", "a", true, {{"clientAddress", {"10.0.0.0/8"}}, {"maxQos", 1}})},
                  {{"rolename", "r"}, {"notAfter", "2026-12-07T00:00:00Z"}});
    json out = stateToJson(parseState(conditioned).state);
    EXPECT_EQ(out["roles"][0]["acls"][0]["conditions"], conditioned["roles"][0]["acls"][0]["conditions"]);
    EXPECT_EQ(out["clients"][0]["roles"][0]["notAfter"], "2026-12-07T00:00:00Z");
    EXPECT_FALSE(out["clients"][0]["roles"][0].contains("notBefore"));
    // A dynamic-security file without conditions is written back without any new key.
    json plain = stateToJson(parseState(stateWith({acl("publishClientSend", "a", true)})).state);
    EXPECT_FALSE(plain["roles"][0]["acls"][0].contains("conditions"));
    EXPECT_EQ(plain["clients"][0]["roles"][0], (json{{"rolename", "r"}}));
}

TEST(StateFileConditions, InvalidConditionStopsTheLoadNamingRoleAndKey) {
    try {
        parseState(stateWith({acl("publishClientSend", "a/b", true, {{"maxQos", 7}})}));
        FAIL() << "loaded";
    } catch (const StateFileError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("role 'r'"), std::string::npos) << what;
        EXPECT_NE(what.find("a/b"), std::string::npos) << what;
        EXPECT_NE(what.find("maxQos"), std::string::npos) << what;
    }
    try {
        parseState(stateWith({acl("publishClientSend", "a", true)}, {{"rolename", "r"}, {"notBefore", "soon"}}));
        FAIL() << "loaded";
    } catch (const StateFileError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("client 'u'"), std::string::npos) << what;
        EXPECT_NE(what.find("notBefore"), std::string::npos) << what;
    }
}

TEST(ControlConditions, AddRoleAclWithConditionsAndGetRoleShowsThem) {
    State s = parseState(stateWith({})).state;
    const json cond = {{"clientAddress", {"10.0.0.0/8"}}, {"maxPayloadBytes", 5}};
    auto out = run(s, {{{"command", "addRoleACL"},
                        {"rolename", "r"},
                        {"acltype", "publishClientSend"},
                        {"topic", "x/#"},
                        {"allow", true},
                        {"conditions", cond}}});
    ASSERT_TRUE(out.next) << out.reply;
    auto role = responses(run(*out.next, {{{"command", "getRole"}, {"rolename", "r"}}}))[0]["data"]["role"];
    EXPECT_EQ(role["acls"][0]["conditions"], cond);
    // Invalid: an error, and nothing changed (not even the valid command before it).
    auto bad = run(s, {{{"command", "createRole"}, {"rolename", "other"}},
                       {{"command", "addRoleACL"},
                        {"rolename", "r"},
                        {"acltype", "publishClientSend"},
                        {"topic", "y"},
                        {"allow", true},
                        {"conditions", {{"maxQos", 5}}}}});
    EXPECT_FALSE(bad.next);
    auto r = responses(bad);
    EXPECT_NE(r[1]["error"].get<std::string>().find("maxQos"), std::string::npos) << r[1];
    // createRole's acls list refuses them too.
    auto created = run(s, {{{"command", "createRole"},
                            {"rolename", "c"},
                            {"acls", {acl("publishClientSend", "z", true, {{"clientAddress", {"300.0.0.1"}}})}}}});
    EXPECT_FALSE(created.next);
    // Without conditions the answer is dynamic-security's, no new key.
    auto plain = run(s, {{{"command", "addRoleACL"},
                          {"rolename", "r"},
                          {"acltype", "publishClientSend"},
                          {"topic", "p"},
                          {"allow", true}}});
    ASSERT_TRUE(plain.next);
    auto prole = responses(run(*plain.next, {{{"command", "getRole"}, {"rolename", "r"}}}))[0]["data"]["role"];
    EXPECT_FALSE(prole["acls"][0].contains("conditions"));
}

TEST(ControlConditions, ExplainUsesMessageFactsAndShowsTheConditions) {
    State s = parseState(stateWith({acl("publishClientSend", "a", true, {{"maxQos", 0}})})).state;
    auto explain = [&](json extra) {
        json cmd = {{"command", "explain"}, {"username", "u"}, {"access", "publish"}, {"topic", "a"}};
        cmd.update(extra);
        return responses(run(s, json::array({cmd})))[0];
    };
    EXPECT_EQ(explain(json::object())["data"]["explain"]["decision"], "allow");
    EXPECT_EQ(explain(json::object())["data"]["explain"]["acl"]["conditions"], (json{{"maxQos", 0}}));
    EXPECT_EQ(explain({{"qos", 1}})["data"]["explain"]["decision"], "defer");
    EXPECT_TRUE(explain({{"qos", 9}}).contains("error"));
}

TEST(RoleLinkWindows, AddClientRoleAndAddGroupRoleTakeAWindowShownOnlyWhenSet) {
    State s = parseState({{"roles", {{{"rolename", "r"}, {"acls", {acl("publishClientSend", "a", true)}}}}},
                          {"groups", {{{"groupname", "g"}}}},
                          {"clients", {{{"username", "u"}}, {{"username", "v"}}}}})
                  .state;
    auto out = run(
        s, {{{"command", "addClientRole"},
             {"username", "u"},
             {"rolename", "r"},
             {"notBefore", "2026-12-06T12:00:00Z"},
             {"notAfter", "2026-12-06T13:00:00Z"}},
            {{"command", "addGroupRole"}, {"groupname", "g"}, {"rolename", "r"}, {"notAfter", "2026-12-06T12:30:00Z"}},
            {{"command", "addGroupClient"}, {"groupname", "g"}, {"username", "v"}},
            {{"command", "addClientRole"}, {"username", "v"}, {"rolename", "r"}, {"priority", 3}}});
    ASSERT_TRUE(out.next) << out.reply;
    const State& n = *out.next;
    auto client = responses(run(n, {{{"command", "getClient"}, {"username", "u"}}}))[0]["data"]["client"];
    EXPECT_EQ(client["roles"][0],
              (json{{"rolename", "r"}, {"notBefore", "2026-12-06T12:00:00Z"}, {"notAfter", "2026-12-06T13:00:00Z"}}));
    auto plain = responses(run(n, {{{"command", "getClient"}, {"username", "v"}}}))[0]["data"]["client"];
    EXPECT_EQ(plain["roles"][0], (json{{"rolename", "r"}, {"priority", 3}}));
    auto group = responses(run(n, {{{"command", "getGroup"}, {"groupname", "g"}}}))[0]["data"]["group"];
    EXPECT_EQ(group["roles"][0], (json{{"rolename", "r"}, {"notAfter", "2026-12-06T12:30:00Z"}}));
    // Expired or not yet valid links are ignored, not deleted.
    EXPECT_EQ(n.check(user("u"), Access::Write, "a", CheckFacts{.now = kNoon - 1}), Decision::Defer);
    EXPECT_EQ(n.check(user("u"), Access::Write, "a", CheckFacts{.now = kNoon}), Decision::Allow);
    EXPECT_EQ(n.check(user("u"), Access::Write, "a", CheckFacts{.now = kNoon + 3600}), Decision::Defer);
    EXPECT_EQ(n.clients.at("u").roles.size(), 1u);
    // The file keeps them.
    json file = stateToJson(n);
    State back = parseState(file).state;
    EXPECT_EQ(back.check(user("u"), Access::Write, "a", CheckFacts{.now = kNoon + 3600}), Decision::Defer);
    EXPECT_EQ(back.summarize().time_boundaries, (std::vector<int64_t>{kNoon, kNoon + 1800, kNoon + 3600}));
    // Bad windows: an error, nothing changed.
    auto bad = run(s, {{{"command", "addClientRole"}, {"username", "u"}, {"rolename", "r"}, {"notAfter", 5}}});
    EXPECT_FALSE(bad.next);
    EXPECT_NE(responses(bad)[0]["error"].get<std::string>().find("notAfter"), std::string::npos);
}

// The adapter's loop on a fake clock: a window closes and the cached allow is not used any more, with no
// change of the state.
TEST(RoleLinkWindows, CachedDecisionsExpireAtTheBoundaryWithAFakeClock) {
    mqs::FakeClock clock;
    auto seconds = [&] {
        return std::chrono::duration_cast<std::chrono::seconds>(clock.wallNow().time_since_epoch()).count();
    };
    const int64_t start = seconds();
    json link = {{"rolename", "r"}, {"notAfter", formatUtcTime(start + 60)}};
    State s = parseState(stateWith({acl("publishClientSend", "a", true)}, link)).state;
    DecisionCache cache(16 * 1024, 1024 * 1024);
    BoundaryWatch watch;
    uint64_t generation = 1;
    watch.reset(s.summarize().time_boundaries, seconds());
    ASSERT_TRUE(watch.active());
    const int handle = 0;
    const CacheIdentity key{"u", "id", ""};
    auto checkViaCache = [&] {
        CheckFacts facts{.now = seconds()};
        if (watch.passed(facts.now)) ++generation;
        if (auto d = cache.find(&handle, generation, key, Access::Write, "a")) return *d;
        bool cacheable = true;
        const Decision d = s.check(user("u"), Access::Write, "a", facts, nullptr, &cacheable);
        if (cacheable) cache.store(&handle, generation, key, Access::Write, "a", d);
        return d;
    };
    EXPECT_EQ(checkViaCache(), Decision::Allow);
    clock.advance(std::chrono::seconds(59));
    EXPECT_EQ(checkViaCache(), Decision::Allow);  // from the cache
    clock.advance(std::chrono::seconds(1));
    EXPECT_EQ(checkViaCache(), Decision::Defer);
    clock.advance(std::chrono::hours(1));
    EXPECT_EQ(checkViaCache(), Decision::Defer);
    EXPECT_EQ(watch.next(), kNoBoundary);
}

TEST(Denials, LastNPerClientCountsPerTypeBoundedAndForgotten) {
    DenialLog log(3, 1024 * 1024);
    int a = 0, b = 0;
    for (int i = 0; i < 5; ++i) {
        log.record(&a, "dev-a", "alice", true,
                   Denial{.time_ms = 1000 * i,
                          .access = Access::Write,
                          .topic = "t/" + std::to_string(i),
                          .via = "client",
                          .rolename = "r",
                          .acltype = AclType::PublishClientSend,
                          .acl_topic = "#"});
    }
    log.record(&a, "dev-a", "alice", true, Denial{.access = Access::Subscribe, .topic = std::string(5000, 'x')});
    log.record(&b, "dev-b", "", false, Denial{.access = Access::Read, .topic = "r"});
    auto found = log.find(nullptr, nullptr);
    EXPECT_EQ(found.size(), 2u);
    const std::string alice_name = "alice", dev_b = "dev-b";
    auto alice = log.find(nullptr, &alice_name);
    ASSERT_EQ(alice.size(), 1u);
    EXPECT_EQ(alice[0]->counts[static_cast<size_t>(Access::Write)], 5u);
    EXPECT_EQ(alice[0]->counts[static_cast<size_t>(Access::Subscribe)], 1u);
    ASSERT_EQ(alice[0]->last.size(), 3u);
    EXPECT_EQ(alice[0]->last.back().topic.size(), DenialLog::kMaxTextBytes);  // cut
    json j = denialsJson(*alice[0]);
    EXPECT_EQ(j["counts"]["publish"], 5);
    EXPECT_EQ(j["denials"][0]["access"], "subscribe");  // newest first
    EXPECT_EQ(j["denials"][1]["topic"], "t/4");
    EXPECT_EQ(j["denials"][1]["rolename"], "r");
    EXPECT_TRUE(denialsJson(*log.find(&dev_b, nullptr)[0])["username"].is_null());
    const size_t before = log.bytes();
    log.forget(&a);
    EXPECT_LT(log.bytes(), before);
    EXPECT_EQ(log.clients(), 1u);
    log.forget(&b);
    EXPECT_EQ(log.bytes(), 0u);

    // A small total budget keeps counts and drops entries.
    DenialLog tiny(8, 600);
    for (int i = 0; i < 20; ++i) tiny.record(&a, "x", "y", true, Denial{.topic = std::string(200, 't')});
    EXPECT_LE(tiny.bytes(), 600u);
    EXPECT_EQ(tiny.find(nullptr, nullptr)[0]->counts[static_cast<size_t>(Access::Write)], 20u);
}

TEST(Denials, GetClientDenialsCommand) {
    DenialLog log;
    int a = 0;
    log.record(&a, "dev-a", "alice", true, Denial{.access = Access::Write, .topic = "x"});
    State s;
    auto r = responses(run(s, {{{"command", "getClientDenials"}, {"clientid", "dev-a"}}},
                           ControlExtras{.now = kNoon, .denials = &log}))[0];
    ASSERT_EQ(r["data"]["clients"].size(), 1u) << r;
    EXPECT_EQ(r["data"]["clients"][0]["counts"]["publish"], 1);
    r = responses(run(s, {{{"command", "getClientDenials"}, {"username", "bob"}}},
                      ControlExtras{.now = kNoon, .denials = &log}))[0];
    EXPECT_TRUE(r["data"]["clients"].empty());
    r = responses(run(s, {{{"command", "getClientDenials"}}}))[0];
    EXPECT_TRUE(r.contains("error"));
}

TEST(CommonName, PercentCnMatchesOneWholeLevelWithTheUsualGuards) {
    State s = parseState(stateWith({acl("publishClientSend", "cert/%CN/data", true)})).state;
    EXPECT_TRUE(s.summarize().uses_common_name);
    Identity who = user("u");
    who.common_name = "sensor-1";
    EXPECT_EQ(s.check(who, Access::Write, "cert/sensor-1/data"), Decision::Allow);
    EXPECT_EQ(s.check(who, Access::Write, "cert/sensor-2/data"), Decision::Defer);
    for (const char* bad : {"", "+", "#", "a/b", "a+b"}) {
        who.common_name = bad;
        EXPECT_EQ(s.check(who, Access::Write, std::string("cert/") + bad + "/data"), Decision::Defer) << bad;
    }
    const std::string nul("a\0b", 3);
    who.common_name = nul;
    EXPECT_EQ(s.check(who, Access::Write, "cert/" + nul + "/data"), Decision::Defer);
    who.common_name = "\xC0\xAF";
    EXPECT_EQ(s.check(who, Access::Write, "cert/\xC0\xAF/data"), Decision::Defer);
    EXPECT_FALSE(parseState(stateWith({acl("publishClientSend", "x/%u", true)})).state.summarize().uses_common_name);
}

TEST(CommonName, ReadFromACertificate) {
    EXPECT_EQ(certificateCommonName(nullptr), "");
    auto make = [](std::vector<std::string> cns) {
        X509* cert = X509_new();
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("org"), -1, -1, 0);
        for (const auto& cn : cns) {
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()),
                                       -1, -1, 0);
        }
        return cert;
    };
    X509* one = make({"sensor-\xC3\xA9"});
    EXPECT_EQ(certificateCommonName(one), "sensor-\xC3\xA9");
    freeCertificate(one);
    X509* none = make({});
    EXPECT_EQ(certificateCommonName(none), "");
    freeCertificate(none);
    X509* two = make({"a", "b"});
    EXPECT_EQ(certificateCommonName(two), "");  // ambiguous: matches nothing
    freeCertificate(two);
    freeCertificate(nullptr);
}

}  // namespace
