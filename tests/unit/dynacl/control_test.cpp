// The $CONTROL command set: dynamic-security's replies and errors, all-or-nothing batches.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dynacl/control.hpp"
#include "dynacl/state_file.hpp"

#include <set>
#include <string>

using namespace mqs::dynacl;
using nlohmann::json;

namespace {

json responsesOf(const ControlOutcome& out) {
    return json::parse(out.reply)["responses"];
}

ControlOutcome run(const State& s, const json& commands) {
    return handleControl(s, json{{"commands", commands}}.dump(), 1);
}

TEST(Control, WholePayloadErrors) {
    State s;
    auto r = responsesOf(handleControl(s, "{nope", 1));
    EXPECT_EQ(r[0], (json{{"command", "Unknown command"}, {"error", "Payload not valid JSON"}}));
    r = responsesOf(handleControl(s, R"({"x":1})", 1));
    EXPECT_EQ(r[0]["error"], "Invalid/missing commands");
    r = responsesOf(handleControl(s, std::string(kMaxRequestBytes + 1, ' '), 1));
    EXPECT_EQ(r[0]["error"], "Payload too large");
}

TEST(Control, PerCommandErrorsAndCaseInsensitiveNames) {
    State s;
    auto out = run(s, {1, {{"x", 1}}, {{"command", "frobnicate"}}, {{"command", "GETdefaultaclaccess"}}});
    auto r = responsesOf(out);
    EXPECT_EQ(r[0]["error"], "Command not an object");
    EXPECT_EQ(r[1]["error"], "Missing command");
    EXPECT_EQ(r[2], (json{{"command", "frobnicate"}, {"error", "Unknown command"}}));
    EXPECT_EQ(r[3]["command"], "getDefaultACLAccess");
    EXPECT_EQ(r[3]["data"]["acls"].size(), 4u);
    EXPECT_FALSE(out.next);
}

TEST(Control, CreateAndQueryWithCorrelationData) {
    State s;
    auto out = run(s, {{{"command", "createRole"}, {"rolename", "r"}},
                       {{"command", "addRoleACL"},
                        {"rolename", "r"},
                        {"acltype", "publishClientSend"},
                        {"topic", "a/%u"},
                        {"allow", true},
                        {"priority", 3}},
                       {{"command", "createClient"},
                        {"username", "u"},
                        {"password", "pw"},
                        {"roles", {{{"rolename", "r"}, {"priority", 2}}}},
                        {"correlationData", "abc"}},
                       {{"command", "getClient"}, {"username", "u"}}});
    auto r = responsesOf(out);
    ASSERT_TRUE(out.next) << out.reply;
    EXPECT_FALSE(r[2].contains("error"));
    EXPECT_EQ(r[2]["correlationData"], "abc");
    EXPECT_EQ(r[3]["data"]["client"]["roles"][0], (json{{"rolename", "r"}, {"priority", 2}}));
    EXPECT_EQ(out.next->authenticate("u", true, "pw", true, "x"), AuthResult::Success);
    Identity u{.username = "u", .has_username = true, .client_id = "x"};
    EXPECT_EQ(out.next->check(u, Access::Write, "a/u"), Decision::Allow);
    // The log line hides the password.
    bool hidden = false;
    for (const auto& line : out.log) {
        EXPECT_EQ(line.find("pw\""), std::string::npos);
        if (line.find("password=*****") != std::string::npos) hidden = true;
    }
    EXPECT_TRUE(hidden);
}

TEST(Control, ABatchAppliesWhollyOrNotAtAll) {
    State s;
    auto out = run(s, {{{"command", "createClient"}, {"username", "a"}},
                       {{"command", "addClientRole"}, {"username", "a"}, {"rolename", "missing"}}});
    auto r = responsesOf(out);
    EXPECT_FALSE(out.next);
    EXPECT_NE(r[0]["error"].get<std::string>().find("Not applied"), std::string::npos);
    EXPECT_EQ(r[1]["error"], "Role not found");
    EXPECT_TRUE(s.clients.empty());
}

TEST(Control, CorrelationDataOfTheWrongTypeStopsTheBatch) {
    State s;
    auto out = run(s, {{{"command", "createClient"}, {"username", "a"}, {"correlationData", 5}},
                       {{"command", "createClient"}, {"username", "b"}}});
    auto r = responsesOf(out);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0]["error"], "Invalid correlationData data type.");
    EXPECT_FALSE(out.next);
}

struct ErrorCase {
    json command;
    const char* error;
};

TEST(Control, DynamicSecurityErrorStrings) {
    State s =
        parseState(json::parse(
                       R"({"roles":[{"rolename":"r","acls":[{"acltype":"publishClientSend","topic":"t","allow":true}]}],
        "clients":[{"username":"c"}],"groups":[{"groupname":"g","clients":[{"username":"c"}]}]})"))
            .state;
    const ErrorCase cases[] = {
        {{{"command", "createClient"}}, "Invalid/missing username"},
        {{{"command", "createClient"}, {"username", "c"}}, "Client already exists"},
        {{{"command", "deleteClient"}, {"username", "x"}}, "Client not found"},
        {{{"command", "setClientPassword"}, {"username", "c"}}, "Invalid/missing password"},
        {{{"command", "setClientPassword"}, {"username", "c"}, {"password", ""}}, "Empty password is not allowed"},
        {{{"command", "addClientRole"}, {"username", "c"}}, "Invalid/missing rolename"},
        {{{"command", "addClientRole"}, {"username", "c"}, {"rolename", "x"}}, "Role not found"},
        {{{"command", "createGroup"}, {"groupname", "g"}}, "Group already exists"},
        {{{"command", "addGroupClient"}, {"groupname", "g"}, {"username", "c"}}, "Client is already in this group"},
        {{{"command", "getGroup"}, {"groupname", "x"}}, "Group not found"},
        {{{"command", "createRole"}, {"rolename", "r"}}, "Role already exists"},
        {{{"command", "modifyRole"}, {"rolename", "x"}}, "Role does not exist"},
        {{{"command", "addRoleACL"}, {"rolename", "r"}}, "Invalid/missing acltype"},
        {{{"command", "addRoleACL"}, {"rolename", "r"}, {"acltype", "bogus"}}, "Unknown acltype"},
        {{{"command", "addRoleACL"}, {"rolename", "r"}, {"acltype", "publishClientSend"}}, "Invalid/missing topic"},
        {{{"command", "addRoleACL"}, {"rolename", "r"}, {"acltype", "publishClientSend"}, {"topic", "a/#/b"}},
         "Invalid ACL topic"},
        {{{"command", "addRoleACL"}, {"rolename", "r"}, {"acltype", "publishClientSend"}, {"topic", "t"}},
         "ACL with this topic already exists"},
        {{{"command", "removeRoleACL"}, {"rolename", "r"}, {"acltype", "publishClientSend"}, {"topic", "u"}},
         "ACL not found"},
        {{{"command", "setDefaultACLAccess"}}, "Missing/invalid actions array"},
        {{{"command", "setAnonymousGroup"}, {"groupname", "x"}}, "Group not found"},
    };
    for (const auto& c : cases) {
        auto out = run(s, json::array({c.command}));
        auto r = responsesOf(out);
        EXPECT_EQ(r[0]["error"], c.error) << c.command.dump();
        EXPECT_FALSE(out.next) << c.command.dump();
    }
}

TEST(Control, ListCountAndOffset) {
    State s;
    for (const char* n : {"c", "a", "b"}) s.clients[n].username = n;
    auto r = responsesOf(run(s, {{{"command", "listClients"}}}));
    EXPECT_EQ(r[0]["data"], (json{{"totalCount", 3}, {"clients", {"a", "b", "c"}}}));
    r = responsesOf(run(s, {{{"command", "listClients"}, {"count", 1}, {"offset", 1}}}));
    EXPECT_EQ(r[0]["data"]["clients"], (json{"b"}));
    r = responsesOf(run(s, {{{"command", "listClients"}, {"verbose", true}, {"count", 2}}}));
    EXPECT_EQ(r[0]["data"]["clients"][1]["username"], "b");
}

TEST(Control, SetDefaultAccessAcceptsBothMosquittoCtrlForms) {
    State s;
    auto out = run(
        s,
        {{{"command", "setDefaultACLAccess"},
          {"acls",
           {{{"acltype", "publishClientSend"}, {"allow", true}}, {{"acltype", "subscribe"}, {"access", "allow"}}}}}});
    ASSERT_TRUE(out.next);
    EXPECT_TRUE(out.next->defaults.publish_client_send);
    EXPECT_TRUE(out.next->defaults.subscribe);
    EXPECT_FALSE(out.next->defaults.unsubscribe);
}

}  // namespace

namespace {

TEST(Control, ModifyCommandsReplaceWhatTheyName) {
    State s = parseState(json::parse(R"({"roles":[{"rolename":"a"},{"rolename":"b"}],
        "clients":[{"username":"c","roles":[{"rolename":"a"}]},{"username":"d"}],
        "groups":[{"groupname":"g","clients":[{"username":"c"}]},{"groupname":"h"}]})"))
                  .state;
    auto out = run(s, {{{"command", "modifyClient"},
                        {"username", "c"},
                        {"clientid", "cid"},
                        {"password", "pw"},
                        {"roles", {{{"rolename", "b"}, {"priority", 4}}}},
                        {"groups", {{{"groupname", "h"}}}}},
                       {{"command", "modifyGroup"},
                        {"groupname", "g"},
                        {"clients", {{{"username", "d"}}}},
                        {"roles", {{{"rolename", "a"}}}}},
                       {{"command", "modifyRole"},
                        {"rolename", "b"},
                        {"textname", "B"},
                        {"acls", {{{"acltype", "publishClientSend"}, {"topic", "x/#"}, {"allow", true}}}}}});
    ASSERT_TRUE(out.next) << out.reply;
    const State& n = *out.next;
    const Client& c = n.clients.at("c");
    EXPECT_EQ(c.clientid, "cid");
    ASSERT_EQ(c.roles.size(), 1u);
    EXPECT_EQ(c.roles[0].name, "b");
    EXPECT_EQ(c.roles[0].priority, 4);
    ASSERT_EQ(c.groups.size(), 1u);  // the old membership of g is gone (dynsec 2.0.11 left it)
    EXPECT_EQ(c.groups[0].name, "h");
    ASSERT_EQ(n.clients.at("d").groups.size(), 1u);
    EXPECT_EQ(n.clients.at("d").groups[0].name, "g");
    EXPECT_EQ(n.groups.at("g").roles[0].name, "a");
    EXPECT_EQ(n.roles.at("b").textname, "B");
    EXPECT_EQ(n.authenticate("c", true, "pw", true, "cid"), AuthResult::Success);
    Identity who{.username = "c", .has_username = true, .client_id = "cid"};
    EXPECT_EQ(n.check(who, Access::Write, "x/1"), Decision::Allow);
}

TEST(Control, PasswordIterationsAreTheConfiguredOnes) {
    State s;
    auto out = handleControl(s, R"({"commands":[{"command":"createClient","username":"u","password":"pw"}]})", 1234);
    ASSERT_TRUE(out.next);
    EXPECT_EQ(out.next->clients.at("u").password->iterations, 1234);
}

}  // namespace

namespace {

TEST(Control, ExplainNamesTheDecidingRuleOfTheDecidingRole) {
    State s = loadStateFile(std::string(CONF_DIR) + "/dynacl/ipwatch-dynamic-security.json").state;
    auto r =
        responsesOf(run(s, {{{"command", "explain"},
                             {"username", "10.0.0.100"},
                             {"access", "publish"},
                             {"topic", "ipwatch/device/10.0.0.100/status"}},
                            {{"command", "explain"},
                             {"username", "10.0.0.100"},
                             {"access", "publish"},
                             {"topic", "ipwatch/device/10.0.0.101/status"}},
                            {{"command", "explain"}, {"username", "stranger"}, {"access", "receive"}, {"topic", "x"}},
                            {{"command", "explain"}, {"username", "u"}, {"access", "read"}, {"topic", "x"}}}));
    EXPECT_EQ(r[0]["data"]["explain"]["decision"], "allow");
    EXPECT_EQ(r[0]["data"]["explain"]["via"], "group ipwatch-agents");
    EXPECT_EQ(r[0]["data"]["explain"]["rolename"], "ipwatch-agent");
    EXPECT_EQ(r[0]["data"]["explain"]["acl"]["topic"], "ipwatch/device/%u/status");
    EXPECT_EQ(r[1]["data"]["explain"]["decision"], "defer");
    EXPECT_EQ(r[1]["data"]["explain"]["via"], "defaultACLAccess");
    EXPECT_FALSE(r[1]["data"]["explain"].contains("acl"));
    EXPECT_EQ(r[2]["data"]["explain"]["via"], "unknown username");
    EXPECT_NE(r[3]["error"].get<std::string>().find("Unknown access"), std::string::npos);
}

}  // namespace

namespace {

TEST(Control, KicksAreWhomDynamicSecurityWouldDisconnect) {
    State s = parseState(json::parse(R"({"roles":[{"rolename":"r"},{"rolename":"q"}],
        "clients":[{"username":"direct","roles":[{"rolename":"r"}]},{"username":"member"},{"username":"other"}],
        "groups":[{"groupname":"g","roles":[{"rolename":"r"}],"clients":[{"username":"member"}]},
                  {"groupname":"anon","roles":[{"rolename":"r"}]}],
        "anonymousGroup":"anon"})"))
                  .state;
    auto out =
        run(s, {{{"command", "addRoleACL"}, {"rolename", "r"}, {"acltype", "publishClientSend"}, {"topic", "t"}}});
    EXPECT_EQ(out.kick_usernames, (std::set<std::string>{"direct", "member"}));
    EXPECT_TRUE(out.kick_anonymous);
    out = run(s, {{{"command", "addRoleACL"}, {"rolename", "q"}, {"acltype", "publishClientSend"}, {"topic", "t"}}});
    EXPECT_TRUE(out.kick_usernames.empty());
    EXPECT_FALSE(out.kick_anonymous);
    out = run(s, {{{"command", "setClientPassword"}, {"username", "other"}, {"password", "x"}}});
    EXPECT_EQ(out.kick_usernames, (std::set<std::string>{"other"}));
    out = run(s, {{{"command", "modifyRole"}, {"rolename", "r"}, {"textname", "x"}},
                  {{"command", "enableClient"}, {"username", "other"}}});
    EXPECT_TRUE(out.kick_usernames.empty());
    out = run(s, {{{"command", "removeGroupRole"}, {"groupname", "g"}, {"rolename", "r"}},
                  {{"command", "getClient"}, {"username", "nobody"}}});
    EXPECT_TRUE(out.kick_usernames.empty());  // the request failed: nothing applied, nobody kicked
}

}  // namespace

namespace {

TEST(Control, ImportPasswordFileKeepsPbkdf2HashesAndSaysWhatItSkipped) {
    State s = parseState(json::parse(R"({"roles":[{"rolename":"r"}],
        "clients":[{"username":"old","roles":[{"rolename":"r"}]}]})"))
                  .state;
    PasswordHash a = hashPassword("apw", 101), b = hashPassword("bpw", 2000);
    const std::string content =
        "# comment\n"
        "new:$7$101$" +
        base64Encode(a.salt) + "$" + base64Encode(a.hash) + "\n old : $7$2000$" + base64Encode(b.salt) + "$" +
        base64Encode(b.hash) + "\nlegacy:$6$c2FsdA==$aGFzaA==\nbroken:$7$x$y$z\nno colon line\n";
    auto out = run(s, {{{"command", "importPasswordFile"}, {"content", content}}});
    ASSERT_TRUE(out.next) << out.reply;
    auto data = responsesOf(out)[0]["data"];
    EXPECT_EQ(data["imported"], (json{"new", "old"}));
    ASSERT_EQ(data["skipped"].size(), 2u);
    EXPECT_EQ(data["skipped"][0]["username"], "legacy");
    EXPECT_EQ(data["skipped"][1]["reason"], "Invalid password hash");
    EXPECT_EQ(out.next->authenticate("new", true, "apw", true, "x"), AuthResult::Success);
    EXPECT_EQ(out.next->authenticate("old", true, "bpw", true, "x"), AuthResult::Success);
    EXPECT_EQ(out.next->clients.at("old").roles.size(), 1u);  // roles kept
}

}  // namespace

namespace {

TEST(Control, ImportAclFileMapsUsersAnonymousLinesAndPatterns) {
    State s;
    const std::string acl_file =
        "# anonymous clients\n"
        "topic read public/#\n"
        "\n"
        "user alice\n"
        "topic readwrite alice/#\n"
        "topic deny alice/secret\n"
        "user bob\n"
        "topic write bob/out\n"
        "pattern write devices/%u/status\n"
        "pattern read devices/%c/cmd\n"
        "pattern write bad/%u-x\n";
    auto out = run(s, {{{"command", "importAclFile"}, {"content", acl_file}}});
    ASSERT_TRUE(out.next) << out.reply;
    auto data = responsesOf(out)[0]["data"];
    EXPECT_EQ(data["createdClients"], (json{"alice", "bob"}));
    ASSERT_EQ(data["skipped"].size(), 1u);
    EXPECT_EQ(data["skipped"][0]["line"], 11);
    const State& n = *out.next;
    auto who = [](std::string_view u, std::string_view id = "id") {
        return Identity{.username = u, .has_username = true, .client_id = id};
    };
    EXPECT_EQ(n.check(who("alice"), Access::Write, "alice/x"), Decision::Allow);
    EXPECT_EQ(n.check(who("alice"), Access::Write, "alice/secret"), Decision::Deny);  // deny lines first
    EXPECT_EQ(n.check(who("alice"), Access::Read, "alice/secret"), Decision::Deny);
    EXPECT_EQ(n.check(who("alice"), Access::Subscribe, "anything/#"), Decision::Allow);  // acl_file: always
    EXPECT_EQ(n.check(who("bob"), Access::Write, "bob/out"), Decision::Allow);
    EXPECT_EQ(n.check(who("bob"), Access::Read, "bob/out"), Decision::Defer);
    EXPECT_EQ(n.check(who("bob"), Access::Write, "devices/bob/status"), Decision::Allow);
    EXPECT_EQ(n.check(who("alice"), Access::Write, "devices/bob/status"), Decision::Defer);
    EXPECT_EQ(n.check(who("bob", "dev7"), Access::Read, "devices/dev7/cmd"), Decision::Allow);
    Identity anonymous{.client_id = "x"};
    EXPECT_EQ(n.check(anonymous, Access::Read, "public/a"), Decision::Allow);
    EXPECT_EQ(n.check(anonymous, Access::Write, "public/a"), Decision::Defer);
    EXPECT_EQ(n.anonymous_group, "acl-anonymous");

    auto bad = run(s, {{{"command", "importAclFile"}, {"content", "user a\nfrobnicate x\n"}}});
    EXPECT_FALSE(bad.next);
    EXPECT_EQ(responsesOf(bad)[0]["error"], "Invalid acl_file line 2");
    auto twice = run(n, {{{"command", "importAclFile"}, {"content", "user alice\ntopic read x\n"}}});
    EXPECT_EQ(responsesOf(twice)[0]["error"], "Role already exists: acl-user-alice");
}

}  // namespace

namespace {

TEST(Control, ExpectedChangeIndexRefusesAStaleRequest) {
    State s;
    auto first = handleControl(s, R"({"commands":[{"command":"createRole","rolename":"a"}]})", 1);
    ASSERT_TRUE(first.next);
    EXPECT_EQ(first.next->change_index, 1u);
    const State& now = *first.next;
    auto r = responsesOf(handleControl(now, R"({"commands":[{"command":"getChangeIndex"}]})", 1));
    EXPECT_EQ(r[0]["data"]["changeIndex"], 1);
    auto stale =
        handleControl(now, R"({"expectedChangeIndex":0,"commands":[{"command":"createRole","rolename":"b"}]})", 1);
    EXPECT_FALSE(stale.next);
    EXPECT_NE(responsesOf(stale)[0]["error"].get<std::string>().find("Change index is 1"), std::string::npos);
    auto fresh =
        handleControl(now, R"({"expectedChangeIndex":1,"commands":[{"command":"createRole","rolename":"b"}]})", 1);
    ASSERT_TRUE(fresh.next);
    EXPECT_EQ(fresh.next->change_index, 2u);
    // Read-only requests do not move it; the file keeps it.
    auto read = handleControl(*fresh.next, R"({"commands":[{"command":"listRoles"}]})", 1);
    EXPECT_FALSE(read.next);
    EXPECT_EQ(parseState(stateToJson(*fresh.next)).state.change_index, 2u);
}

}  // namespace
