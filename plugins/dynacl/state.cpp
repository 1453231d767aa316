// Authentication and ACL evaluation on the dynamic-security data model; see state.hpp.
#include "dynacl/state.hpp"

#include <strings.h>
#include <algorithm>

#include "dynacl/login_cache.hpp"

namespace mqs::dynacl {
namespace {

constexpr std::array<const char*, kAclTypeCount> kAclTypeNames = {"publishClientSend",  "publishClientReceive",
                                                                  "subscribeLiteral",   "subscribePattern",
                                                                  "unsubscribeLiteral", "unsubscribePattern"};

size_t index(AclType type) {
    return static_cast<size_t>(type);
}

}  // namespace

const char* aclTypeName(AclType type) {
    return kAclTypeNames[index(type)];
}

std::optional<AclType> parseAclType(std::string_view name) {
    for (size_t i = 0; i < kAclTypeCount; ++i) {
        const std::string_view known = kAclTypeNames[i];
        if (known.size() == name.size() && strncasecmp(known.data(), name.data(), name.size()) == 0) {
            return static_cast<AclType>(i);
        }
    }
    return std::nullopt;
}

void Role::addAcl(Acl acl) {
    auto& list = acls[index(acl.type)];
    auto at = std::find_if(list.begin(), list.end(), [&](const Acl& a) { return a.priority < acl.priority; });
    list.insert(at, std::move(acl));
}

void insertLink(std::vector<Link>& links, Link link) {
    auto at = std::find_if(links.begin(), links.end(), [&](const Link& l) {
        return l.priority < link.priority || (l.priority == link.priority && l.name > link.name);
    });
    links.insert(at, std::move(link));
}

AuthResult State::authenticate(std::string_view username, bool has_username, std::string_view password,
                               bool has_password, std::string_view client_id, LoginCache* logins) const {
    if (!has_username || !has_password) return AuthResult::Defer;
    auto it = clients.find(username);
    if (it == clients.end()) return AuthResult::Defer;
    const Client& c = it->second;
    if (c.disabled) return AuthResult::Denied;
    if (c.clientid && *c.clientid != client_id) return AuthResult::Denied;
    if (!c.password) return AuthResult::Defer;
    const bool ok = logins ? logins->verify(c.username, *c.password, password) : verifyPassword(*c.password, password);
    return ok ? AuthResult::Success : AuthResult::Denied;
}

const Acl* State::checkRole(const std::string& rolename, const Identity& who, Access access, std::string_view topic,
                            const CheckFacts& facts, bool* cacheable) const {
    auto it = roles.find(rolename);
    if (it == roles.end()) return nullptr;
    const Role& role = it->second;
    const bool message = access == Access::Write || access == Access::Read;
    const bool subscription = access == Access::Subscribe;
    // A matching ACL whose conditions do not hold is passed over, as if its topic did not match.
    auto holds = [&](const Acl& acl) {
        if (acl.conditions.empty()) [[likely]]
            return true;
        if (cacheable && acl.conditions.perMessage()) *cacheable = false;
        return acl.conditions.hold(facts, who.address, message, subscription);
    };
    switch (access) {
        case Access::Write:
        case Access::Read: {
            const auto type = access == Access::Write ? AclType::PublishClientSend : AclType::PublishClientReceive;
            for (const Acl& acl : role.acls[index(type)]) {
                if (acl.filter.matchesTopic(topic, who) && holds(acl)) return &acl;
            }
            return nullptr;
        }
        case Access::Subscribe:
        case Access::Unsubscribe: {
            const bool sub = access == Access::Subscribe;
            // A literal ACL of a role beats its pattern ACLs whatever their priorities (dynsec's order).
            for (const Acl& acl : role.acls[index(sub ? AclType::SubscribeLiteral : AclType::UnsubscribeLiteral)]) {
                if (acl.filter.equalsFilter(topic, who) && holds(acl)) return &acl;
            }
            for (const Acl& acl : role.acls[index(sub ? AclType::SubscribePattern : AclType::UnsubscribePattern)]) {
                if (acl.filter.coversFilter(topic, who) && holds(acl)) return &acl;
            }
            return nullptr;
        }
    }
    return nullptr;
}

Decision State::check(const Identity& who, Access access, std::string_view topic, const CheckFacts& facts,
                      Explanation* why, bool* cacheable) const {
    // Only explain() passes `why`; the hot path pays one branch per decision.
    auto decide = [&](const Acl* acl, const std::string& role, std::string_view via) {
        if (why) {
            why->acl = acl;
            why->role = role;
            why->via = std::string(via);
        }
        return acl->allow ? Decision::Allow : Decision::Deny;
    };
    if (who.has_username) {
        auto it = clients.find(who.username);
        if (it == clients.end()) {
            if (why) why->via = "unknown username";
            return Decision::Defer;  // not ours: no defaults, no anonymous group
        }
        const Client& client = it->second;
        for (const Link& r : client.roles) {
            if (!r.window.holds(facts.now)) continue;
            if (const Acl* a = checkRole(r.name, who, access, topic, facts, cacheable))
                return decide(a, r.name, "client");
        }
        for (const Link& g : client.groups) {
            auto git = groups.find(g.name);
            if (git == groups.end()) continue;
            for (const Link& r : git->second.roles) {
                if (!r.window.holds(facts.now)) continue;
                if (const Acl* a = checkRole(r.name, who, access, topic, facts, cacheable)) {
                    return decide(a, r.name, "group " + g.name);
                }
            }
        }
    } else if (!anonymous_group.empty()) {
        auto git = groups.find(anonymous_group);
        if (git != groups.end()) {
            for (const Link& r : git->second.roles) {
                if (!r.window.holds(facts.now)) continue;
                if (const Acl* a = checkRole(r.name, who, access, topic, facts, cacheable)) {
                    return decide(a, r.name, "anonymous group " + anonymous_group);
                }
            }
        }
    }
    if (why) why->via = "defaultACLAccess";
    bool allowed = false;
    switch (access) {
        case Access::Write:
            allowed = defaults.publish_client_send;
            break;
        case Access::Read:
            allowed = defaults.publish_client_receive;
            break;
        case Access::Subscribe:
            allowed = defaults.subscribe;
            break;
        case Access::Unsubscribe:
            allowed = defaults.unsubscribe;
            break;
    }
    // The defaults never open $CONTROL.
    if (!allowed || topic.starts_with("$CONTROL")) return Decision::Defer;
    return Decision::Allow;
}

State::Summary State::summarize() const {
    // One pass over every ACL and role link: the adapter needs all four after each change, and with 10 000
    // clients separate passes cost the broker thread several ms per change.
    Summary out;
    auto add = [&](const Window& w) {
        if (w.not_before) out.time_boundaries.push_back(*w.not_before);
        if (w.not_after) out.time_boundaries.push_back(*w.not_after);
    };
    for (const auto& [name, role] : roles) {
        for (const auto& list : role.acls) {
            for (const Acl& acl : list) {
                out.uses_address |= acl.filter.usesAddress() || acl.conditions.usesAddress();
                out.uses_client_id |= acl.filter.usesClientId();
                out.uses_common_name |= acl.filter.usesCommonName();
                add(acl.conditions.window);
            }
        }
    }
    for (const auto& [name, c] : clients) {
        for (const Link& l : c.roles) add(l.window);
    }
    for (const auto& [name, g] : groups) {
        for (const Link& l : g.roles) add(l.window);
    }
    std::sort(out.time_boundaries.begin(), out.time_boundaries.end());
    out.time_boundaries.erase(std::unique(out.time_boundaries.begin(), out.time_boundaries.end()),
                              out.time_boundaries.end());
    return out;
}

}  // namespace mqs::dynacl
