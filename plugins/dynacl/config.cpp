// Option table of mosquitto_dynacl.so; docs/dynacl.md's table is checked against it.
#include "dynacl/config.hpp"

namespace mqs::dynacl {

const OptionTable& optionTable() {
    static const OptionTable table = [] {
        OptionTable t;
        t.add({.key = "config_file",
               .type = OptionType::Path,
               .default_value = std::nullopt,
               .description = "The state file in dynamic-security's layout (`dynamic-security.json`, e.g. made by "
                              "`mosquitto_ctrl dynsec init`). Must exist; re-read on SIGHUP.",
               .required = true});
        t.add({.key = "cache_bytes_per_client",
               .type = OptionType::Size,
               .default_value = "16KiB",
               .description =
                   "Memory for remembered ACL decisions per connected client (32–64 bytes plus 1–2 × the "
                   "topic length per topic, see Decision cache); when full, that client's memo starts afresh. 0 "
                   "turns the cache off.",
               .min = 0,
               .max = 16ll * 1024 * 1024});
        t.add({.key = "cache_total_bytes",
               .type = OptionType::Size,
               .default_value = "64MiB",
               .description = "Memory for remembered decisions of all clients together; when reached, every memo "
                              "starts afresh.",
               .min = 0,
               .max = 16ll * 1024 * 1024 * 1024});
        t.add({.key = "password_iterations",
               .type = OptionType::Integer,
               .default_value = "101",
               .description = "PBKDF2-SHA512 iterations for passwords set through `$CONTROL` (createClient, "
                              "setClientPassword, modifyClient) and for hash upgrades. A login the login cache does "
                              "not know hashes on the broker thread: see Passwords for the cost per count.",
               .min = 1,
               .max = 10000000});
        t.add({.key = "login_cache_bytes",
               .type = OptionType::Size,
               .default_value = "4MiB",
               .description = "Memory for remembered successful logins (a keyed digest per username, about 200 "
                              "bytes, 330 for a 41-byte username): a client logging in again with the same password "
                              "against the same stored hash skips PBKDF2. Least recently used first out; 0 turns "
                              "it off. See Passwords.",
               .min = 0,
               .max = 1024ll * 1024 * 1024});
        t.add({.key = "upgrade_password_hashes",
               .type = OptionType::Bool,
               .default_value = "true",
               .description = "After a successful login against a hash with fewer than `password_iterations` "
                              "iterations, rehash the password at `password_iterations` in a child process and "
                              "save it like a `$CONTROL` change. See Passwords."});
        t.add({.key = "audit_file",
               .type = OptionType::String,
               .default_value = "",
               .description = "File to which every applied `$CONTROL` change is appended as one JSON line (who, "
                              "when, what, change index before and after), written and fsynced by the writer "
                              "process before the state. Empty: no audit log."});
        t.add({.key = "kick_like_dynsec",
               .type = OptionType::Bool,
               .default_value = "false",
               .description = "Compatibility switch: after a change, disconnect the clients dynamic-security would "
                              "disconnect (see Behaviour). Off: changes apply on the next check, nobody is "
                              "disconnected."});
        t.add(instanceOption("dynacl"));
        t.add(metricsIntervalOption());
        return t;
    }();
    return table;
}

Config parseConfig(const RawOptions& options) {
    OptionValues v = optionTable().parse(options);
    return Config{.config_file = v.string("config_file"),
                  .cache_bytes_per_client = v.bytes("cache_bytes_per_client"),
                  .cache_total_bytes = v.bytes("cache_total_bytes"),
                  .password_iterations = static_cast<int>(v.integer("password_iterations")),
                  .audit_file = v.string("audit_file"),
                  .kick_like_dynsec = v.boolean("kick_like_dynsec"),
                  .instance = v.string("instance"),
                  .metrics_interval = v.duration("metrics_interval"),
                  .login_cache_bytes = v.bytes("login_cache_bytes"),
                  .upgrade_password_hashes = v.boolean("upgrade_password_hashes")};
}

}  // namespace mqs::dynacl
