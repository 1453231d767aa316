// dynamic-security's authentication rules and ACL evaluation order and defaults, on hand-built states.
#include <gtest/gtest.h>

#include "dynacl/state.hpp"
#include "dynacl/state_file.hpp"

using namespace mqs::dynacl;
using nlohmann::json;

namespace {

State stateFrom(const json& j) {
    return parseState(j).state;
}

Identity user(std::string_view name, std::string_view id = "id") {
    return Identity{.username = name, .has_username = true, .client_id = id};
}

json role(const std::string& name, json acls) {
    return {{"rolename", name}, {"acls", std::move(acls)}};
}
json acl(const char* type, const char* topic, bool allow, int priority = 0) {
    return {{"acltype", type}, {"topic", topic}, {"allow", allow}, {"priority", priority}};
}

TEST(State, AuthenticationRules) {
    State s;
    Client c;
    c.username = "alice";
    c.password = hashPassword("pw");
    s.clients["alice"] = c;
    Client fixed = c;
    fixed.username = "fixed";
    fixed.clientid = "only-me";
    s.clients["fixed"] = fixed;
    Client nopw;
    nopw.username = "nopw";
    s.clients["nopw"] = nopw;
    Client off = c;
    off.username = "off";
    off.disabled = true;
    s.clients["off"] = off;

    EXPECT_EQ(s.authenticate("alice", true, "pw", true, "x"), AuthResult::Success);
    EXPECT_EQ(s.authenticate("alice", true, "bad", true, "x"), AuthResult::Denied);
    EXPECT_EQ(s.authenticate("alice", true, "", false, "x"), AuthResult::Defer);
    EXPECT_EQ(s.authenticate("", false, "pw", true, "x"), AuthResult::Defer);
    EXPECT_EQ(s.authenticate("bob", true, "pw", true, "x"), AuthResult::Defer);
    EXPECT_EQ(s.authenticate("fixed", true, "pw", true, "other"), AuthResult::Denied);
    EXPECT_EQ(s.authenticate("fixed", true, "pw", true, "only-me"), AuthResult::Success);
    EXPECT_EQ(s.authenticate("nopw", true, "pw", true, "x"), AuthResult::Defer);
    EXPECT_EQ(s.authenticate("off", true, "pw", true, "x"), AuthResult::Denied);
}

TEST(State, DefaultsAndUnknownClients) {
    State s = stateFrom({{"defaultACLAccess", {{"publishClientSend", true}, {"publishClientReceive", false}}},
                         {"clients", json::array({{{"username", "u"}}})}});
    EXPECT_EQ(s.check(user("u"), Access::Write, "a/b"), Decision::Allow);
    EXPECT_EQ(s.check(user("u"), Access::Read, "a/b"), Decision::Defer);
    EXPECT_EQ(s.check(user("u"), Access::Subscribe, "a/b"), Decision::Defer);
    // Defaults never open $CONTROL.
    EXPECT_EQ(s.check(user("u"), Access::Write, "$CONTROL/dynamic-security/v1"), Decision::Defer);
    // A username dynacl does not know: deferred, no defaults.
    EXPECT_EQ(s.check(user("stranger"), Access::Write, "a/b"), Decision::Defer);
    // Anonymous without an anonymous group: defaults.
    Identity anon{.client_id = "x"};
    EXPECT_EQ(s.check(anon, Access::Write, "a/b"), Decision::Allow);
    // An empty state allows nothing.
    State empty;
    EXPECT_EQ(empty.check(anon, Access::Write, "a/b"), Decision::Defer);
    EXPECT_EQ(empty.check(user("u"), Access::Read, "a/b"), Decision::Defer);
}

TEST(State, RoleOrderPriorityThenName) {
    // Both roles match; the higher link priority decides, ties go to the smaller rolename.
    json j = {
        {"roles",
         {role("a-deny", {acl("publishClientSend", "t/#", false)}),
          role("b-allow", {acl("publishClientSend", "t/#", true)})}},
        {"clients",
         {{{"username", "tie"}, {"roles", {{{"rolename", "b-allow"}}, {{"rolename", "a-deny"}}}}},
          {{"username", "prio"}, {"roles", {{{"rolename", "b-allow"}, {"priority", 5}}, {{"rolename", "a-deny"}}}}}}}};
    State s = stateFrom(j);
    EXPECT_EQ(s.check(user("tie"), Access::Write, "t/x"), Decision::Deny);
    EXPECT_EQ(s.check(user("prio"), Access::Write, "t/x"), Decision::Allow);
}

TEST(State, AclPriorityAndInsertionOrderInsideARole) {
    json j = {{"roles",
               {role("r", {acl("publishClientSend", "t/#", true), acl("publishClientSend", "t/secret", false),
                           acl("publishClientSend", "t/high", false, 1), acl("publishClientSend", "t/high", true)})}},
              {"clients", {{{"username", "u"}, {"roles", {{{"rolename", "r"}}}}}}}};
    State s = stateFrom(j);
    // Equal priority: file order, so the earlier allow on t/# wins over the later deny (deny is not sorted first).
    EXPECT_EQ(s.check(user("u"), Access::Write, "t/secret"), Decision::Allow);
    // Higher priority first.
    EXPECT_EQ(s.check(user("u"), Access::Write, "t/high"), Decision::Deny);
}

TEST(State, ClientRolesBeforeGroupRolesAndLiteralBeforePattern) {
    json j = {
        {"roles",
         {role("own", {acl("publishClientReceive", "x/#", false)}),
          role("grp", {acl("publishClientReceive", "x/#", true), acl("publishClientReceive", "y/#", true),
                       acl("subscribePattern", "y/#", false, 10), acl("subscribeLiteral", "y/+", true)})}},
        {"clients", {{{"username", "u"}, {"roles", {{{"rolename", "own"}}}}}}},
        {"groups", {{{"groupname", "g"}, {"roles", {{{"rolename", "grp"}}}}, {"clients", {{{"username", "u"}}}}}}}};
    State s = stateFrom(j);
    EXPECT_EQ(s.check(user("u"), Access::Read, "x/1"), Decision::Deny);
    EXPECT_EQ(s.check(user("u"), Access::Read, "y/1"), Decision::Allow);
    EXPECT_EQ(s.check(user("u"), Access::Subscribe, "y/+"), Decision::Allow);  // literal beats a higher pattern
    EXPECT_EQ(s.check(user("u"), Access::Subscribe, "y/1"), Decision::Deny);
}

TEST(State, AnonymousGroup) {
    json j = {{"roles", {role("anon", {acl("publishClientSend", "public/#", true)})}},
              {"groups", {{{"groupname", "anonymous"}, {"roles", {{{"rolename", "anon"}}}}}}},
              {"anonymousGroup", "anonymous"}};
    State s = stateFrom(j);
    Identity anon{.client_id = "x"};
    EXPECT_EQ(s.check(anon, Access::Write, "public/a"), Decision::Allow);
    EXPECT_EQ(s.check(anon, Access::Write, "private/a"), Decision::Defer);
}

TEST(State, IdentityBoundRuleSharedByAllAgents) {
    json j = {{"roles",
               {role("agent", {acl("publishClientSend", "ipwatch/device/%u/status", true),
                               acl("subscribeLiteral", "ipwatch/device/%u/command", true),
                               acl("publishClientReceive", "ipwatch/device/%u/command", true)})}},
              {"groups",
               {{{"groupname", "agents"},
                 {"roles", {{{"rolename", "agent"}}}},
                 {"clients", {{{"username", "10.0.0.100"}}, {{"username", "#"}}}}}}},
              {"clients", {{{"username", "10.0.0.100"}}, {{"username", "#"}}}}};
    State s = stateFrom(j);
    EXPECT_EQ(s.check(user("10.0.0.100"), Access::Write, "ipwatch/device/10.0.0.100/status"), Decision::Allow);
    EXPECT_EQ(s.check(user("10.0.0.100"), Access::Write, "ipwatch/device/10.0.0.7/status"), Decision::Defer);
    EXPECT_EQ(s.check(user("10.0.0.100"), Access::Subscribe, "ipwatch/device/10.0.0.100/command"), Decision::Allow);
    EXPECT_EQ(s.check(user("10.0.0.100"), Access::Subscribe, "ipwatch/device/+/command"), Decision::Defer);
    EXPECT_EQ(s.check(user("#"), Access::Subscribe, "ipwatch/device/#"), Decision::Defer);
    EXPECT_EQ(s.check(user("#"), Access::Read, "ipwatch/device/10.0.0.100/command"), Decision::Defer);
}

}  // namespace
