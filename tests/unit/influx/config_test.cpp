// Options of mosquitto_influx.so, and docs/influx.md kept in step with the option table and conf/influx.
// The docs test fails when the option table or a sample config changes without docs/influx.md.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "influx/config.hpp"

using namespace mqs;
using namespace mqs::influx;

TEST(InfluxConfig, DefaultsAndErrors) {
    std::string rules = std::string(CONF_DIR) + "/influx/warehouse-rules.json";
    Config c = parseConfig({{"rules_file", rules}});
    EXPECT_EQ(c.instance, "influx");
    EXPECT_EQ(c.precision, Precision::Ns);
    EXPECT_EQ(c.spool_full_policy, SpoolFullPolicy::Disconnect);
    EXPECT_EQ(c.pipeline.spool.fsync, FsyncPolicy::Batch);
    EXPECT_EQ(c.pipeline.batch_lines, 5000u);
    EXPECT_THROW(parseConfig({}), ConfigError);
    EXPECT_THROW(parseConfig({{"rules_file", rules}, {"precision", "n"}}), ConfigError);
    EXPECT_THROW(parseConfig({{"rules_file", rules}, {"precision", "seconds"}}), ConfigError);
    EXPECT_THROW(parseConfig({{"rules_file", rules}, {"spool_full_policy", "block"}}), ConfigError);
    EXPECT_THROW(parseConfig({{"rules_file", rules}, {"retry_initial", "10s"}, {"retry_max", "1s"}}), ConfigError);
    try {
        parseConfig({{"rules_file", rules}, {"precision", "n"}});
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.option(), "precision");
    }
}

TEST(InfluxConfig, DocsShowTheOptionTableAndTheSampleConfig) {
    std::ifstream docs(std::string(CONF_DIR) + "/../docs/influx.md");
    ASSERT_TRUE(docs) << "docs/influx.md is missing";
    std::stringstream text;
    text << docs.rdbuf();
    EXPECT_NE(text.str().find(optionTable().markdown()), std::string::npos)
        << "docs/influx.md must contain the option table exactly as generated:\n" << optionTable().markdown();
    for (const char* sample : {"/influx/warehouse-rules.json", "/influx/mosquitto-influx.conf"}) {
        std::ifstream conf(std::string(CONF_DIR) + sample);
        std::stringstream conf_text;
        conf_text << conf.rdbuf();
        ASSERT_FALSE(conf_text.str().empty()) << sample;
        EXPECT_NE(text.str().find(conf_text.str()), std::string::npos) << "docs/influx.md must quote conf" << sample << " verbatim";
    }
}
