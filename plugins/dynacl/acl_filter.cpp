// Matching of one ACL topic against a topic name or a requested filter; see acl_filter.hpp.
#include "dynacl/acl_filter.hpp"

#include "common/topic.hpp"

namespace mqs::dynacl {
namespace {

// Splits off the next level of `rest`; `more` turns false after the last one.
std::string_view nextLevel(std::string_view& rest, bool& more) {
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) {
        more = false;
        return rest;
    }
    std::string_view level = rest.substr(0, slash);
    rest.remove_prefix(slash + 1);
    return level;
}

}  // namespace

AclFilter AclFilter::parse(std::string_view text) {
    AclFilter f;
    f.text_ = std::string(text);
    std::string_view rest = text;
    bool more = true;
    while (more) {
        std::string_view level = nextLevel(rest, more);
        Level l{Kind::Literal, std::string(level)};
        if (level == "+") {
            l.kind = Kind::Plus;
        } else if (level == "#") {
            l.kind = Kind::Hash;
        } else if (level == "%u") {
            l.kind = Kind::Username;
        } else if (level == "%c") {
            l.kind = Kind::ClientId;
        } else if (level == "%a") {
            l.kind = Kind::Address;
        } else if (level == "%CN") {
            l.kind = Kind::CommonName;
        }
        if (l.kind == Kind::Username || l.kind == Kind::ClientId || l.kind == Kind::Address ||
            l.kind == Kind::CommonName) {
            f.bound_ = true;
        }
        if (l.kind == Kind::ClientId) f.uses_client_id_ = true;
        if (l.kind == Kind::Address) f.uses_address_ = true;
        if (l.kind == Kind::CommonName) f.uses_common_name_ = true;
        f.levels_.push_back(std::move(l));
    }
    return f;
}

bool AclFilter::identityMatches(Kind kind, std::string_view level, const Identity& who) {
    std::string_view value;
    switch (kind) {
        case Kind::Username:
            if (!who.has_username) return false;
            value = who.username;
            break;
        case Kind::ClientId:
            value = who.client_id;
            break;
        case Kind::Address:
            value = who.address;
            break;
        case Kind::CommonName:
            value = who.common_name;
            break;
        default:
            return false;
    }
    return level == value && usableAsTopicLevel(value);
}

bool AclFilter::matchesTopic(std::string_view topic, const Identity& who) const {
    if (!topic.empty() && topic.front() == '$' &&
        (levels_.front().kind == Kind::Plus || levels_.front().kind == Kind::Hash)) {
        return false;
    }
    std::string_view rest = topic;
    bool more = true;
    for (const Level& l : levels_) {
        if (l.kind == Kind::Hash) return true;  // also matches the parent: "a/#" matches "a"
        if (!more) return false;
        std::string_view level = nextLevel(rest, more);
        switch (l.kind) {
            case Kind::Literal:
                if (level != l.text) return false;
                break;
            case Kind::Plus:
                break;
            default:
                if (!identityMatches(l.kind, level, who)) return false;
        }
    }
    return !more;
}

bool AclFilter::coversFilter(std::string_view requested, const Identity& who) const {
    std::string_view rest = requested;
    bool more = true;
    for (const Level& l : levels_) {
        if (l.kind == Kind::Hash) return true;
        if (!more) return false;
        std::string_view level = nextLevel(rest, more);
        if (level == "#") return false;
        switch (l.kind) {
            case Kind::Plus:
                break;
            case Kind::Literal:
                if (level != l.text) return false;
                break;
            default:
                if (!identityMatches(l.kind, level, who)) return false;
        }
    }
    return !more;
}

bool AclFilter::equalsFilter(std::string_view requested, const Identity& who) const {
    if (!bound_) return requested == text_;
    std::string_view rest = requested;
    bool more = true;
    for (const Level& l : levels_) {
        if (!more) return false;
        std::string_view level = nextLevel(rest, more);
        if (l.kind == Kind::Username || l.kind == Kind::ClientId || l.kind == Kind::Address ||
            l.kind == Kind::CommonName) {
            if (!identityMatches(l.kind, level, who)) return false;
        } else if (level != l.text) {
            return false;
        }
    }
    return !more;
}

std::string checkAclTopic(std::string_view topic) {
    if (!validUtf8(topic)) return "Topic not valid UTF-8";
    std::string problem = checkTopicFilter(topic);
    return problem;
}

}  // namespace mqs::dynacl
