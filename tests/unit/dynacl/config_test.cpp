// Options of mosquitto_dynacl.so.
#include <gtest/gtest.h>

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
