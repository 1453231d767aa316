// Options of mosquitto_dynacl.so.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "dynacl/config.hpp"

using namespace mqs;
using namespace mqs::dynacl;

TEST(DynaclConfig, ConfigFileIsRequired) {
    const std::string existing = std::string(CONF_DIR) + "/mosquitto-warehouse.conf";
    EXPECT_EQ(parseConfig({{"config_file", existing}}).config_file, existing);
    // A missing file is refused by the option table already, naming the option.
    try {
        parseConfig({{"config_file", "/x/dynamic-security.json"}});
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.option(), "config_file");
    }
    EXPECT_THROW(parseConfig({}), ConfigError);
    EXPECT_THROW(parseConfig({{"config_file", "a"}, {"other", "b"}}), ConfigError);
}

TEST(DynaclConfig, DocsShowTheOptionTableAndTheSampleConfigs) {
    std::ifstream docs(std::string(CONF_DIR) + "/../docs/dynacl.md");
    ASSERT_TRUE(docs) << "docs/dynacl.md is missing";
    std::stringstream text;
    text << docs.rdbuf();
    EXPECT_NE(text.str().find(optionTable().markdown()), std::string::npos)
        << "docs/dynacl.md must contain the option table exactly as generated:\n"
        << optionTable().markdown();
    for (const char* sample : {"/dynacl/mosquitto-dynacl.conf", "/dynacl/ipwatch-dynamic-security.json",
                               "/dynacl/dht11-dynamic-security.json"}) {
        std::ifstream conf(std::string(CONF_DIR) + sample);
        ASSERT_TRUE(conf) << sample;
        std::stringstream conf_text;
        conf_text << conf.rdbuf();
        EXPECT_NE(text.str().find(conf_text.str()), std::string::npos)
            << "docs/dynacl.md must quote conf" << sample << " verbatim";
    }
}
