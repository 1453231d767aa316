// Fuzz target: plugin options (common/options.* and each plugin's parseConfig).
// Input: lines of key=value (the plugin_opt_ prefix optional), given to every plugin's option table
// and to a table declaring one option of each type; each value also goes through the value parsers.
#include "common/options.hpp"
#include "../plugins/alerts/config.hpp"
#include "../plugins/influx/config.hpp"
#include "../plugins/validate/config.hpp"
#include "fuzz/fuzz_support.hpp"

namespace {

const mqs::OptionTable& everyType() {
    using namespace mqs;
    static const OptionTable table = [] {
        OptionTable t;
        t.add({.key = "s", .type = OptionType::String, .default_value = "x", .description = "string"});
        t.add({.key = "p", .type = OptionType::Path, .description = "path"});
        t.add({.key = "i",
               .type = OptionType::Integer,
               .default_value = "5",
               .description = "integer",
               .min = -10,
               .max = 1000});
        t.add({.key = "d", .type = OptionType::Duration, .default_value = "1s", .description = "duration", .min = 0});
        t.add({.key = "b", .type = OptionType::Bool, .default_value = "false", .description = "bool"});
        t.add(
            {.key = "e", .type = OptionType::Enum, .default_value = "a", .description = "enum", .choices = {"a", "b"}});
        t.add({.key = "z", .type = OptionType::Size, .default_value = "1KiB", .description = "size", .min = 1});
        t.add({.key = "c", .type = OptionType::String, .description = "checked", .check = [](const std::string& v) {
                   return v.size() > 3 ? std::string("too long") : std::string();
               }});
        return t;
    }();
    return table;
}

template <typename F>
void expectConfigError(F&& parse) {
    try {
        parse();
    } catch (const mqs::ConfigError&) {
    } catch (const std::exception& e) {
        FUZZ_CHECK(!mqs::fuzz::strictErrors(), std::string("not a ConfigError: ") + e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace mqs;
    RawOptions options;
    std::string_view text = fuzz::asText(data, size);
    while (!text.empty() && options.size() < 64) {
        size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        size_t eq = line.find('=');
        std::string key(line.substr(0, eq));
        std::string value(eq == std::string_view::npos ? std::string_view() : line.substr(eq + 1));
        (void)parseInteger(value);
        (void)parseBool(value);
        (void)parseDuration(value);
        (void)parseSize(value);
        options.emplace_back(std::move(key), std::move(value));
    }

    expectConfigError([&] {
        OptionValues v = everyType().parse(options);
        (void)v.string("s");
        (void)v.integer("i");
        (void)v.duration("d");
        (void)v.boolean("b");
        (void)v.string("e");
        (void)v.bytes("z");
        if (v.has("p")) (void)v.string("p");
        if (v.has("c")) (void)v.string("c");
    });
    expectConfigError([&] { (void)validate::parseConfig(options); });
    expectConfigError([&] { (void)alerts::parseConfig(options); });
    expectConfigError([&] { (void)influx::parseConfig(options); });
    return 0;
}
