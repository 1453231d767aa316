// Option table of mosquitto_validate.so; docs/validate.md's table is checked against it.
#include "validate/config.hpp"

namespace mqs::validate {

const OptionTable& optionTable() {
    static const OptionTable table = [] {
        OptionTable t;
        t.add({.key = "rules_file", .type = OptionType::Path, .default_value = std::nullopt,
               .description = "JSON rules file (see Rules file). Re-read on SIGHUP.", .required = true});
        t.add(instanceOption("validate"));
        t.add(metricsIntervalOption());
        t.add({.key = "max_json_bytes", .type = OptionType::Size, .default_value = "1MiB",
               .description = "Larger payloads on a rule that needs JSON fail without being parsed.", .min = 1,
               .max = 256ll * 1024 * 1024});
        t.add({.key = "max_json_depth", .type = OptionType::Integer, .default_value = "64",
               .description = "Deeper JSON nesting fails the `json` check (protects the broker's stack).", .min = 1,
               .max = 256});  // the schema engine's own nesting guard
        t.add({.key = "max_errors", .type = OptionType::Integer, .default_value = "10",
               .description = "Errors listed per failing rule in logs and dead letters.", .min = 1, .max = 1000});
        t.add({.key = "dead_letter_payload_limit", .type = OptionType::Size, .default_value = "1MiB",
               .description = "Bytes of the original payload copied into a dead letter; beyond it the copy is cut and `payload_truncated` is true.",
               .min = 0, .max = 256ll * 1024 * 1024});
        t.add({.key = "will_check", .type = OptionType::Enum, .default_value = "auto",
               .description = "Hold Wills to the rules (see Wills). `auto`: on Mosquitto 2.1, and on 2.0 not at all; on 2.0 say what else decides access: `acl_after` (an acl_file, dynamic-security or another ACL plugin loaded after validate) or `sole_acl` (nothing else); `off`: never. Read at start only.",
               .choices = {"auto", "acl_after", "sole_acl", "off"}});
        return t;
    }();
    return table;
}

namespace {

broker::AclNeighbours willCheckFrom(const std::string& value) {
    if (value == "acl_after") return broker::AclNeighbours::Others;
    if (value == "sole_acl") return broker::AclNeighbours::None;
    if (value == "off") return broker::AclNeighbours::Off;
    return broker::AclNeighbours::Auto;
}

}  // namespace

Config parseConfig(const RawOptions& options) {
    OptionValues v = optionTable().parse(options);
    return Config{
        .rules_file = v.string("rules_file"),
        .instance = v.string("instance"),
        .metrics_interval = v.duration("metrics_interval"),
        .max_json_bytes = v.bytes("max_json_bytes"),
        .max_json_depth = static_cast<size_t>(v.integer("max_json_depth")),
        .max_errors = static_cast<size_t>(v.integer("max_errors")),
        .dead_letter_payload_limit = v.bytes("dead_letter_payload_limit"),
        .will_check = willCheckFrom(v.string("will_check")),
    };
}

}  // namespace mqs::validate
