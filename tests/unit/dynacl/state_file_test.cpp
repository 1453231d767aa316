// Loading dynamic-security.json: the file mosquitto_ctrl dynsec init writes, 2.1's encoded_password,
// and refusals that name the problem.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "dynacl/state_file.hpp"

using namespace mqs::dynacl;
using nlohmann::json;

namespace {

std::string writeTemp(const std::string& content) {
    static int n = 0;
    auto path = std::filesystem::temp_directory_path() /
                ("dynacl_state_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".json");
    std::ofstream(path) << content;
    return path.string();
}

std::string errorOf(const std::string& content) {
    try {
        loadStateFile(writeTemp(content));
    } catch (const StateFileError& e) {
        return e.what();
    }
    return "";
}

TEST(StateFile, LoadsTheInitLayoutAndWritesItBack) {
    PasswordHash h = hashPassword("adminpw");
    json init = {
        {"defaultACLAccess",
         {{"publishClientSend", false}, {"publishClientReceive", true}, {"subscribe", false}, {"unsubscribe", true}}},
        {"clients",
         {{{"username", "admin"},
           {"textName", "Dynsec admin user"},
           {"password", base64Encode(h.hash)},
           {"salt", base64Encode(h.salt)},
           {"iterations", 101},
           {"roles", {{{"rolename", "admin"}}}}}}},
        {"roles",
         {{{"rolename", "admin"},
           {"acls",
            {{{"acltype", "publishClientSend"}, {"topic", "$CONTROL/dynamic-security/#"}, {"allow", true}},
             {{"acltype", "subscribePattern"}, {"topic", "#"}, {"allow", true}}}}}}}};
    LoadedState loaded = loadStateFile(writeTemp(init.dump(1, '\t')));
    const State& s = loaded.state;
    EXPECT_TRUE(loaded.warnings.empty());
    EXPECT_TRUE(s.defaults.publish_client_receive);
    EXPECT_FALSE(s.defaults.publish_client_send);
    EXPECT_EQ(s.authenticate("admin", true, "adminpw", true, "any"), AuthResult::Success);
    Identity admin{.username = "admin", .has_username = true, .client_id = "any"};
    EXPECT_EQ(s.check(admin, Access::Write, "$CONTROL/dynamic-security/v1"), Decision::Allow);
    EXPECT_EQ(s.check(admin, Access::Write, "other"), Decision::Defer);

    // Round trip through the writer.
    State again = parseState(stateToJson(s)).state;
    EXPECT_EQ(stateToJson(again), stateToJson(s));
    EXPECT_EQ(again.authenticate("admin", true, "adminpw", true, "any"), AuthResult::Success);
}

TEST(StateFile, AcceptsEncodedPassword) {
    PasswordHash h = hashPassword("pw", 2000);
    json j = {
        {"clients",
         {{{"username", "u"}, {"encoded_password", "$7$2000$" + base64Encode(h.salt) + "$" + base64Encode(h.hash)}}}}};
    State s = loadStateFile(writeTemp(j.dump())).state;
    EXPECT_EQ(s.authenticate("u", true, "pw", true, "x"), AuthResult::Success);
    EXPECT_EQ(s.authenticate("u", true, "px", true, "x"), AuthResult::Denied);
}

TEST(StateFile, EmptyFileIsAnEmptyStateThatAllowsNothing) {
    State s = loadStateFile(writeTemp("")).state;
    EXPECT_TRUE(s.clients.empty());
    Identity anon{.client_id = "x"};
    EXPECT_EQ(s.check(anon, Access::Write, "a"), Decision::Defer);
}

TEST(StateFile, RefusalsNameTheProblem) {
    EXPECT_NE(errorOf("{not json").find("dynacl_state_test_"), std::string::npos);
    EXPECT_NE(errorOf("[1,2]").find("object"), std::string::npos);
    EXPECT_NE(errorOf(R"({"clients":[{"username":"a"},{"username":"a"}]})").find("duplicate client 'a'"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"roles":[{"rolename":"r"},{"rolename":"r"}]})").find("duplicate role"), std::string::npos);
    EXPECT_NE(errorOf(R"({"roles":[{"rolename":"r","acls":[{"acltype":"publishClientSend","topic":"a/#/b"}]}]})")
                  .find("invalid ACL topic"),
              std::string::npos);
    EXPECT_NE(
        errorOf(R"({"clients":[{"username":"a","password":"xx","salt":"yy","iterations":101}]})").find("client 'a'"),
        std::string::npos);
    EXPECT_NE(errorOf(R"({"clients":{}})").find("clients"), std::string::npos);
    try {
        loadStateFile("/nonexistent/dir/dynamic-security.json");
        FAIL() << "a missing file must be refused";
    } catch (const StateFileError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/dynamic-security.json"), std::string::npos);
    }
}

TEST(StateFile, SkipsWhatDynsecSkips) {
    LoadedState l = parseState(json::parse(R"({
        "roles":[{"rolename":"r","acls":[{"acltype":"bogus","topic":"a"},{"acltype":"PUBLISHCLIENTSEND","topic":"a","allow":true}]}],
        "clients":[{"textname":"no name"},{"username":"u","roles":[{"rolename":"missing"},{"rolename":"r"}]}],
        "anonymousGroup":"nope"})"));
    EXPECT_EQ(l.state.clients.size(), 1u);
    EXPECT_EQ(l.state.clients.at("u").roles.size(), 1u);
    EXPECT_EQ(l.state.roles.at("r").acls[0].size(), 1u);  // acltype matched case-insensitively
    EXPECT_TRUE(l.state.anonymous_group.empty());
    EXPECT_EQ(l.warnings.size(), 4u);
}

}  // namespace
