// One ACL topic of a role, parsed once: literal levels, '+', a final '#', and the identity-bound levels
// %u (username), %c (client id), %a (client address) and %CN (the common name of the client's TLS
// certificate), each standing for one whole topic level.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dynacl/identity.hpp"

namespace mqs::dynacl {

class AclFilter {
public:
    // Any text; callers check it is a valid subscription filter first (checkAclTopic).
    static AclFilter parse(std::string_view text);

    const std::string& text() const { return text_; }
    bool boundToIdentity() const { return bound_; }
    bool usesClientId() const { return uses_client_id_; }
    bool usesAddress() const { return uses_address_; }
    bool usesCommonName() const { return uses_common_name_; }

    // publishClientSend / publishClientReceive: does the filter match this topic name (MQTT matching:
    // '+' and '#' in the first level do not match a topic starting with '$')?
    bool matchesTopic(std::string_view topic, const Identity& who) const;
    // subscribePattern / unsubscribePattern: does the filter cover the requested filter? '+' covers any one
    // level including '+', '#' covers the rest including '#'; a requested '#' needs an ACL '#'.
    bool coversFilter(std::string_view requested, const Identity& who) const;
    // subscribeLiteral / unsubscribeLiteral: the same string, identity levels substituted.
    bool equalsFilter(std::string_view requested, const Identity& who) const;

private:
    enum class Kind : uint8_t { Literal, Plus, Hash, Username, ClientId, Address, CommonName };
    struct Level {
        Kind kind;
        std::string text;
    };
    // The identity a level stands for, or false if that identity is missing or unusable.
    static bool identityMatches(Kind kind, std::string_view level, const Identity& who);

    std::string text_;
    std::vector<Level> levels_;
    bool bound_ = false;
    bool uses_client_id_ = false;
    bool uses_address_ = false;
    bool uses_common_name_ = false;
};

// Empty when `topic` may be an ACL topic (a valid subscription filter in valid UTF-8), else why not.
std::string checkAclTopic(std::string_view topic);

}  // namespace mqs::dynacl
