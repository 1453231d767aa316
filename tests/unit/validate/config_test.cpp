// Options of mosquitto_validate.so, and docs/validate.md kept in step with the option table.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "validate/config.hpp"

using namespace mqs;
using namespace mqs::validate;

TEST(ValidateConfig, DefaultsAndErrors) {
    std::string rules = std::string(CONF_DIR) + "/validate/warehouse-rules.json";
    Config c = parseConfig({{"rules_file", rules}});
    EXPECT_EQ(c.instance, "validate");
    EXPECT_EQ(c.metrics_interval, std::chrono::seconds(10));
    EXPECT_EQ(c.max_json_depth, 64u);
    EXPECT_THROW(parseConfig({}), ConfigError);
    EXPECT_THROW(parseConfig({{"rules_file", rules}, {"instance", "a/b"}}), ConfigError);
    EXPECT_THROW(parseConfig({{"rules_file", rules}, {"max_json_depth", "100000"}}), ConfigError);
}

TEST(ValidateConfig, DocsShowTheOptionTableAndTheSampleConfig) {
    std::ifstream docs(std::string(CONF_DIR) + "/../docs/validate.md");
    ASSERT_TRUE(docs) << "docs/validate.md is missing";
    std::stringstream text;
    text << docs.rdbuf();
    EXPECT_NE(text.str().find(optionTable().markdown()), std::string::npos)
        << "docs/validate.md must contain the option table exactly as generated:\n" << optionTable().markdown();
    for (const char* sample : {"/validate/warehouse-rules.json", "/mosquitto-warehouse.conf"}) {
        std::ifstream conf(std::string(CONF_DIR) + sample);
        std::stringstream conf_text;
        conf_text << conf.rdbuf();
        EXPECT_NE(text.str().find(conf_text.str()), std::string::npos) << "docs/validate.md must quote conf" << sample << " verbatim";
    }
}
