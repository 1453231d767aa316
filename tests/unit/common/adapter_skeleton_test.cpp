// The broker-version decisions and naming of the adapter skeleton (common/broker), tested with what each
// broker line gives a plugin: its supported plugin-API versions and the symbols it exports.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/broker/broker_version.hpp"
#include "common/broker/error_text.hpp"
#include "common/metrics.hpp"
#include "common/broker/mosquitto_api.hpp"

namespace mqs::broker {
namespace {

// What mosquitto_plugin_version() is offered: src/security.c in 2.0.11 and 2.0.21, src/plugin_init.c
// in the 2.1 line. The lists are the same, which is why the broker line is told by a symbol instead.
const std::vector<int> kOffered20 = {5, 4, 3, 2};
const std::vector<int> kOffered21 = {5, 4, 3, 2};

// A process whose broker exports exactly `symbols`.
SymbolLookup exporting(std::vector<std::string> symbols) {
    static int some_function;
    return [symbols](const char* name) -> void* {
        for (const auto& s : symbols) {
            if (s == name) return &some_function;
        }
        return nullptr;
    };
}

TEST(PluginVersion, BothBrokerLinesGetApiVersion5) {
    EXPECT_EQ(negotiatePluginVersion(static_cast<int>(kOffered20.size()), kOffered20.data()), 5);
    EXPECT_EQ(negotiatePluginVersion(static_cast<int>(kOffered21.size()), kOffered21.data()), 5);
    const int only_old[] = {4, 3, 2};
    EXPECT_EQ(negotiatePluginVersion(3, only_old), -1);
    EXPECT_EQ(negotiatePluginVersion(0, nullptr), -1);
}

TEST(BrokerLine, TheOfferedVersionsCannotTellTheLinesApart) {
    EXPECT_EQ(kOffered20, kOffered21);
}

TEST(BrokerLine, Broker20WithoutSetInfoIs20) {
    // 2.0.11 exports client-library functions too; none of them is mosquitto_plugin_set_info.
    EXPECT_EQ(
        detectBrokerLine(exporting({"mosquitto_log_printf", "mosquitto_broker_publish_copy", "mosquitto_strerror"})),
        BrokerLine::V2_0);
    EXPECT_EQ(detectBrokerLine(exporting({})), BrokerLine::V2_0);
}

TEST(BrokerLine, BrokerExportingSetInfoIs21) {
    EXPECT_EQ(detectBrokerLine(exporting({"mosquitto_log_printf", "mosquitto_plugin_set_info"})), BrokerLine::V2_1);
}

TEST(BrokerLine, LooksUpTheSetInfoSymbolByName) {
    std::vector<std::string> asked;
    detectBrokerLine([&](const char* name) -> void* {
        asked.emplace_back(name);
        return nullptr;
    });
    EXPECT_EQ(asked, std::vector<std::string>{"mosquitto_plugin_set_info"});
}

TEST(ReloadAnswer, DeferOn20SoTheNextPluginsReloadRuns) {
    EXPECT_EQ(reloadAnswerFor(BrokerLine::V2_0), ReloadAnswer::Defer);
}

TEST(ReloadAnswer, SuccessOn21WhereAnyOtherCodeStopsTheBroker) {
    EXPECT_EQ(reloadAnswerFor(BrokerLine::V2_1), ReloadAnswer::Success);
}

// An ACL_CHECK watcher that only objects (validate's Will check) must be invisible otherwise: 2.1 can ignore;
// 2.0 can only defer (denied if nobody else decides) or allow (ends the chain), so the operator chooses.
TEST(AclPass, IgnoreOn21WhateverTheOperatorDeclared) {
    for (auto n : {AclNeighbours::Auto, AclNeighbours::Others, AclNeighbours::None}) {
        EXPECT_EQ(aclPassFor(BrokerLine::V2_1, n), AclPass::Ignore);
    }
}

TEST(AclPass, On20OnlyWhatTheOperatorDeclared) {
    EXPECT_EQ(aclPassFor(BrokerLine::V2_0, AclNeighbours::Others), AclPass::Defer);
    EXPECT_EQ(aclPassFor(BrokerLine::V2_0, AclNeighbours::None), AclPass::Allow);
    EXPECT_EQ(aclPassFor(BrokerLine::V2_0, AclNeighbours::Auto), AclPass::Unregistered);
}

TEST(AclPass, OffNeverRegisters) {
    EXPECT_EQ(aclPassFor(BrokerLine::V2_0, AclNeighbours::Off), AclPass::Unregistered);
    EXPECT_EQ(aclPassFor(BrokerLine::V2_1, AclNeighbours::Off), AclPass::Unregistered);
}

TEST(ErrorText, NamesTheCodesPluginsGetBack) {
    EXPECT_STREQ(errorText(MOSQ_ERR_SUCCESS), "success");
    EXPECT_STREQ(errorText(MOSQ_ERR_NOMEM), "out of memory");
    EXPECT_STREQ(errorText(MOSQ_ERR_INVAL), "invalid argument");
    EXPECT_STREQ(errorText(MOSQ_ERR_ACL_DENIED), "access denied");
}

TEST(ErrorText, UnknownCodesStillGiveText) {
    EXPECT_STREQ(errorText(-12345), "unknown error");
    EXPECT_STREQ(errorText(10'000), "unknown error");
}

TEST(SysTopic, BuildsThePluginsTopicTree) {
    EXPECT_EQ(sysTopic("validate", "main", "messages/checked"), "$SYS/plugins/validate/main/messages/checked");
    EXPECT_EQ(sysTopic("influx", "default", "sinks/db/last_error"), "$SYS/plugins/influx/default/sinks/db/last_error");
}

}  // namespace
}  // namespace mqs::broker
