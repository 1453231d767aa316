// Which Mosquitto line hosts the plugin (2.0 or 2.1), decided at run time, and what that changes for a
// plugin. Broker-free, so the decisions are unit-tested; the adapter skeleton applies them.
#pragma once

#include <functional>

namespace mqs::broker {

// Answer to mosquitto_plugin_version(): we speak plugin API version 5 (Mosquitto 2.0 and 2.1), or refuse.
inline int negotiatePluginVersion(int supported_version_count, const int* supported_versions) {
    for (int i = 0; i < supported_version_count; ++i) {
        if (supported_versions[i] == 5) return 5;
    }
    return -1;
}

enum class BrokerLine { V2_0, V2_1 };

// Looks a symbol up in the process (dlsym(RTLD_DEFAULT, name) in the plugin; a fake in tests).
using SymbolLookup = std::function<void*(const char* name)>;

// The symbol only 2.1 exports for plugins (src/linker.syms has it from 2.1 on, not in 2.0.x).
inline constexpr const char* kSetInfoSymbol = "mosquitto_plugin_set_info";

// Why a symbol and not the version list given to mosquitto_plugin_version(): that list is {5, 4, 3, 2}
// in 2.0.x (src/security.c, 2.0.11 to 2.0.20) and still {5, 4, 3, 2} in the 2.1 line's src/plugin_init.c, so it cannot
// tell the two apart (and keeping it would need a global, since it arrives before init). mosquitto_plugin_set_info is
// in 2.1's src/linker.syms and in no 2.0.x release's (2.0.11 to 2.0.21 export 34 to 89 mosquitto_* symbols, none of
// them this one), and the broker must export it for the plugins it asks to call it, so its presence is the broker's own
// answer.
inline BrokerLine detectBrokerLine(const SymbolLookup& lookup) {
    return lookup(kSetInfoSymbol) != nullptr ? BrokerLine::V2_1 : BrokerLine::V2_0;
}

enum class ReloadAnswer { Defer, Success };

// What a reload callback returns, whether the reload was applied or refused (the refusal is logged
// and the previous configuration kept, so for the broker the plugin is fine either way):
// - 2.0.x (2.0.11 and 2.0.21, src/security.c, security__init_single's loop over the reload callbacks):
//   any code other than MOSQ_ERR_PLUGIN_DEFER stops the loop, so the next plugin's reload does not run.
// - 2.1.2 (src/plugin_reload.c, called from src/signals.c): any non-zero code, DEFER included, is
//   "Plugin produced error on reload" and the broker exits; MOSQ_ERR_SUCCESS lets the next one run.
//   (Earlier 2.1 development snapshots, src/plugin_init.c, ignored the code: SUCCESS is right there too.)
inline ReloadAnswer reloadAnswerFor(BrokerLine line) {
    return line == BrokerLine::V2_1 ? ReloadAnswer::Success : ReloadAnswer::Defer;
}

// For a plugin that watches MOSQ_EVT_ACL_CHECK only to object now and then (validate's Will check), what
// it answers when it has no objection. It must look as if it were not there, and only 2.1 can say so:
// - 2.1 (src/plugin_acl_check.c): MOSQ_ERR_PLUGIN_IGNORE, "as if the plugin doesn't exist".
// - 2.0.x (src/security.c, mosquitto_acl_check, 2.0.11 to 2.0.21): no IGNORE; the first answer other than DEFER
//   ends the chain, and if every callback deferred the access is DENIED. So DEFER is right only when some
//   other ACL (acl_file, dynamic-security, an auth plugin) decides after us; with none, every publish,
//   subscription and delivery would be refused. ALLOW (SUCCESS) is right only when there is no other ACL,
//   since it ends the chain before any of them. The plugin cannot see which it is: the operator says.
enum class AclPass {
    Unregistered,  // do not register for ACL_CHECK at all
    Defer,
    Ignore,
    Allow,
};

// What the operator declared about the broker's other ACLs (validate's will_check option).
enum class AclNeighbours {
    Off,     // the feature is off: never register
    Auto,    // not declared: on 2.1 register, on 2.0 do not (neither answer is safe without knowing)
    Others,  // another ACL decides after this plugin
    None,    // no other ACL exists
};

inline AclPass aclPassFor(BrokerLine line, AclNeighbours neighbours) {
    if (neighbours == AclNeighbours::Off) return AclPass::Unregistered;
    if (line == BrokerLine::V2_1) return AclPass::Ignore;
    switch (neighbours) {
        case AclNeighbours::Others:
            return AclPass::Defer;
        case AclNeighbours::None:
            return AclPass::Allow;
        default:
            return AclPass::Unregistered;
    }
}

}  // namespace mqs::broker
