// The access-control state in dynamic-security's data model (clients, groups, roles with six ACL lists,
// the anonymous group, default access) and its two questions: may this login pass, may this client do
// this on this topic. A value type: copied, changed and swapped in whole. Not thread-safe; broker thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dynacl/acl_filter.hpp"
#include "dynacl/conditions.hpp"
#include "dynacl/identity.hpp"
#include "dynacl/password.hpp"

namespace mqs::dynacl {

class LoginCache;

enum class AclType : uint8_t {
    PublishClientSend,
    PublishClientReceive,
    SubscribeLiteral,
    SubscribePattern,
    UnsubscribeLiteral,
    UnsubscribePattern
};
inline constexpr size_t kAclTypeCount = 6;
const char* aclTypeName(AclType type);
// Case-insensitive, as dynamic-security.
std::optional<AclType> parseAclType(std::string_view name);

struct Acl {
    AclType type;
    int priority = 0;
    bool allow = false;
    AclFilter filter;
    Conditions conditions;  // empty: unconditioned (dynamic-security's ACL)
};

struct Role {
    std::string name;
    std::optional<std::string> textname, textdescription;
    // Per type, priority descending; equal priorities keep insertion order (dynsec's INORDER insert).
    std::array<std::vector<Acl>, kAclTypeCount> acls;
    void addAcl(Acl acl);
};

// A link to a role or group; priority -1 when not given. Lists are kept in evaluation order:
// priority descending, then name ascending (byte order).
struct Link {
    std::string name;
    int priority = -1;
    Window window;  // role links only: outside it the link is ignored (not deleted)
};
void insertLink(std::vector<Link>& links, Link link);

struct Client {
    std::string username;
    std::optional<std::string> clientid, textname, textdescription;
    bool disabled = false;
    std::optional<PasswordHash> password;
    std::vector<Link> roles;
    std::vector<Link> groups;  // the group priority is per client (addGroupClient ... priority)
};

struct Group {
    std::string name;
    std::optional<std::string> textname, textdescription;
    std::vector<Link> roles;
};

struct DefaultAccess {
    bool publish_client_send = false;
    bool publish_client_receive = false;
    bool subscribe = false;
    bool unsubscribe = false;
};

enum class Access : uint8_t { Read, Write, Subscribe, Unsubscribe };
enum class Decision : uint8_t { Allow, Deny, Defer };
enum class AuthResult : uint8_t { Success, Denied, Defer };

// Why check() decided as it did (for the explain command).
struct Explanation {
    std::string via;           // "client", "group <name>", "anonymous group <name>", "defaultACLAccess",
                               // "unknown username"
    std::string role;          // the deciding role, when an ACL decided
    const Acl* acl = nullptr;  // the deciding ACL, or nullptr
};

struct State {
    DefaultAccess defaults;
    // std::less<> lets the hot path look names up by string_view, without allocating.
    std::map<std::string, Client, std::less<>> clients;
    std::map<std::string, Group, std::less<>> groups;
    std::map<std::string, Role, std::less<>> roles;
    std::string anonymous_group;  // empty: none
    // Counts the requests that changed the state; kept in the file as "changeIndex" (dynamic-security
    // ignores the key). Lets two admins detect each other's changes (expectedChangeIndex).
    uint64_t change_index = 0;

    // dynamic-security's BASIC_AUTH rules (docs/design/dynsec-reference.md 2.3). With `logins`, a password
    // that passed before against the same stored hash is accepted without PBKDF2.
    AuthResult authenticate(std::string_view username, bool has_username, std::string_view password, bool has_password,
                            std::string_view client_id, LoginCache* logins = nullptr) const;
    // dynamic-security's ACL evaluation order and defaults (reference 3.2), with identity-bound levels, ACL
    // conditions and role-link windows evaluated against `facts`. An ACL whose conditions do not hold counts
    // as not matching. `*cacheable` turns false when the decision depended on per-message facts (QoS,
    // retain, size); decisions depending on time stay correct only until the next summarize().time_boundaries entry.
    Decision check(const Identity& who, Access access, std::string_view topic, const CheckFacts& facts,
                   Explanation* why = nullptr, bool* cacheable = nullptr) const;
    // Without facts: QoS 0, not retained, empty, at time 0 (tests and unconditioned states).
    Decision check(const Identity& who, Access access, std::string_view topic, Explanation* why = nullptr) const {
        return check(who, access, topic, CheckFacts{}, why);
    }
    // What the adapter derives from the state after each change.
    struct Summary {
        bool uses_address = false;      // an ACL uses %a or an address condition: the address is computed only then
        bool uses_client_id = false;    // an ACL uses %c: only then does a remembered decision depend on the id
        bool uses_common_name = false;  // an ACL uses %CN: the client certificate is read only then
        // Every notBefore/notAfter of ACL conditions and role links, sorted, unique: the instants at which a
        // decision may change without a change of the state.
        std::vector<int64_t> time_boundaries;
    };
    Summary summarize() const;

private:
    const Acl* checkRole(const std::string& rolename, const Identity& who, Access access, std::string_view topic,
                         const CheckFacts& facts, bool* cacheable) const;
};

}  // namespace mqs::dynacl
