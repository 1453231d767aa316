// Options of mosquitto_alerts.so, and docs/alerts.md kept in step with the option table and conf/alerts.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "alerts/config.hpp"

using namespace mqs;
using namespace mqs::alerts;

TEST(AlertsConfig, DefaultsAndErrors) {
    std::string rules = std::string(CONF_DIR) + "/alerts/dht11-alerts.json";
    Config c = parseConfig({{"rules_file", rules}});
    EXPECT_EQ(c.instance, "alerts");
    EXPECT_EQ(c.state_file, "");
    EXPECT_EQ(c.state_interval, std::chrono::seconds(5));
    EXPECT_EQ(c.max_devices, 100000u);
    EXPECT_EQ(c.idle_expiry, std::chrono::hours(24));
    EXPECT_EQ(c.duplicate_window, std::chrono::seconds(2));
    EXPECT_THROW(parseConfig({}), ConfigError);
    EXPECT_THROW(parseConfig({{"rules_file", rules}, {"instance", "a/b"}}), ConfigError);
    EXPECT_THROW(parseConfig({{"rules_file", rules}, {"max_devices", "0"}}), ConfigError);
    EXPECT_THROW(parseConfig({{"rules_file", rules}, {"state_interval", "10ms"}}), ConfigError);
    EXPECT_THROW(parseConfig({{"rules_file", rules}, {"state_file", "/var/lib/"}}), ConfigError);
    try {
        parseConfig({{"rules_file", rules}, {"state_file", "/nonexistent/dir/alerts.state"}});
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), "plugin_opt_state_file: directory '/nonexistent/dir' is not writable: No such file or directory");
    }
    EXPECT_THROW(parseConfig({{"rules_file", rules}, {"colour", "red"}}), ConfigError);
}

TEST(AlertsConfig, DocsShowTheOptionTableAndTheSampleConfigs) {
    std::ifstream docs(std::string(CONF_DIR) + "/../docs/alerts.md");
    ASSERT_TRUE(docs) << "docs/alerts.md is missing";
    std::stringstream text;
    text << docs.rdbuf();
    EXPECT_NE(text.str().find(optionTable().markdown()), std::string::npos)
        << "docs/alerts.md must contain the option table exactly as generated:\n" << optionTable().markdown();
    for (const char* sample : {"/alerts/warehouse-alerts.json", "/alerts/dht11-alerts.json", "/alerts/mosquitto-dht11.conf",
                               "/alerts/mosquitto-warehouse-alerts.conf"}) {
        std::ifstream conf(std::string(CONF_DIR) + sample);
        ASSERT_TRUE(conf) << sample;
        std::stringstream conf_text;
        conf_text << conf.rdbuf();
        EXPECT_NE(text.str().find(conf_text.str()), std::string::npos) << "docs/alerts.md must quote conf" << sample << " verbatim";
    }
}
