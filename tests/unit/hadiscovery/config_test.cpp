// Options of mosquitto_hadiscovery.so, and docs/hadiscovery.md kept in step with the option table and conf/.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "hadiscovery/config.hpp"

using namespace mqs;
using namespace mqs::hadiscovery;

TEST(HaDiscoveryConfig, DefaultsAndErrors) {
    const std::string rules = std::string(CONF_DIR) + "/hadiscovery/ipwatch-rules.json";
    Config c = parseConfig({{"rules_file", rules}});
    EXPECT_EQ(c.instance, "hadiscovery");
    EXPECT_EQ(c.discovery_prefix, "homeassistant");
    EXPECT_EQ(c.discovery_mode, DiscoveryForm::Device);
    EXPECT_EQ(c.birth_topic, "homeassistant/status");
    EXPECT_EQ(c.birth_payload, "online");
    EXPECT_EQ(c.device_idle_timeout.count(), 0);
    EXPECT_FALSE(c.dry_run);
    EXPECT_EQ(parseConfig({{"rules_file", rules}, {"discovery_mode", "entity"}}).discovery_mode, DiscoveryForm::Entity);
    EXPECT_THROW(parseConfig({}), ConfigError);
    for (const auto& [key, value] :
         std::vector<std::pair<std::string, std::string>>{{"discovery_prefix", "home/+"},
                                                          {"discovery_prefix", "ha/"},
                                                          {"discovery_prefix", "$SYS"},
                                                          {"discovery_mode", "both"},
                                                          {"birth_topic", "#"},
                                                          {"max_new_devices", "0"},
                                                          {"state_file", "/nonexistent/dir/x.state"},
                                                          {"colour", "red"}}) {
        try {
            parseConfig({{"rules_file", rules}, {key, value}});
            ADD_FAILURE() << key << "=" << value << " accepted";
        } catch (const ConfigError& e) {
            EXPECT_EQ(e.option(), key);
        }
    }
}

TEST(HaDiscoveryConfig, DocsShowTheOptionTableAndTheSampleConfigs) {
    std::ifstream docs(std::string(DOCS_DIR) + "/hadiscovery.md");
    ASSERT_TRUE(docs) << "docs/hadiscovery.md is missing";
    std::stringstream text;
    text << docs.rdbuf();
    EXPECT_NE(text.str().find(optionTable().markdown()), std::string::npos)
        << "docs/hadiscovery.md must contain the option table exactly as generated:\n"
        << optionTable().markdown();
    for (const char* sample : {"/hadiscovery/mosquitto-hadiscovery.conf", "/hadiscovery/ipwatch-rules.json",
                               "/hadiscovery/warehouse-rules.json", "/hadiscovery/dht11-rules.json"}) {
        std::ifstream conf(std::string(CONF_DIR) + sample);
        ASSERT_TRUE(conf) << sample;
        std::stringstream conf_text;
        conf_text << conf.rdbuf();
        EXPECT_NE(text.str().find(conf_text.str()), std::string::npos)
            << "docs/hadiscovery.md must quote conf" << sample;
    }
}
