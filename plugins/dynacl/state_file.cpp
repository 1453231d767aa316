// Loading and writing dynamic-security.json; see state_file.hpp.
#include "dynacl/state_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

namespace mqs::dynacl {
namespace {

using nlohmann::json;

std::optional<std::string> optionalString(const json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

int priorityOf(const json& object, int fallback) {
    auto it = object.find("priority");
    if (it == object.end() || !it->is_number_integer()) return fallback;
    return it->get<int>();
}

const json* arrayOf(const json& object, const char* key, const std::string& where) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return nullptr;
    if (!it->is_array()) throw StateFileError(where + "'" + key + "' must be an array");
    return &*it;
}

void loadRoles(const json& root, LoadedState& out) {
    const json* roles = arrayOf(root, "roles", "");
    if (!roles) return;
    for (const json& r : *roles) {
        auto name = r.is_object() ? optionalString(r, "rolename") : std::nullopt;
        if (!name) {
            out.warnings.push_back("a role without a rolename is skipped");
            continue;
        }
        if (out.state.roles.count(*name)) throw StateFileError("duplicate role '" + *name + "'");
        Role role;
        role.name = *name;
        role.textname = optionalString(r, "textname");
        role.textdescription = optionalString(r, "textdescription");
        if (const json* acls = arrayOf(r, "acls", "role '" + *name + "': ")) {
            for (const json& a : *acls) {
                if (!a.is_object()) continue;
                auto type_name = optionalString(a, "acltype");
                auto topic = optionalString(a, "topic");
                auto type = type_name ? parseAclType(*type_name) : std::nullopt;
                if (!type || !topic) {
                    out.warnings.push_back("role '" + *name +
                                           "': an ACL without a known acltype or a topic is skipped");
                    continue;
                }
                if (std::string problem = checkAclTopic(*topic); !problem.empty()) {
                    throw StateFileError("role '" + *name + "': invalid ACL topic '" + *topic + "': " + problem);
                }
                auto allow = a.find("allow");
                Acl acl{*type, priorityOf(a, 0), allow != a.end() && allow->is_boolean() && allow->get<bool>(),
                        AclFilter::parse(*topic)};
                if (auto cond = a.find("conditions"); cond != a.end()) {
                    try {
                        acl.conditions = parseConditions(*cond);
                    } catch (const ConditionError& e) {
                        throw StateFileError("role '" + *name + "': ACL " + *type_name + " '" + *topic +
                                             "': conditions: " + e.what());
                    }
                }
                role.addAcl(std::move(acl));
            }
        }
        out.state.roles.emplace(*name, std::move(role));
    }
}

std::optional<PasswordHash> loadPassword(const json& c, const std::string& username, LoadedState& out) {
    if (auto encoded = optionalString(c, "encoded_password")) {
        auto h = parseEncodedPassword(*encoded);
        if (!h) throw StateFileError("client '" + username + "': invalid encoded_password");
        if (!h->unsupported.empty()) {
            out.warnings.push_back("client '" + username + "': " + h->unsupported + "; its logins are refused");
        }
        return h;
    }
    auto password = optionalString(c, "password");
    auto salt = optionalString(c, "salt");
    auto iterations = c.find("iterations");
    if (!password || !salt || iterations == c.end() || !iterations->is_number_integer()) return std::nullopt;
    PasswordHash h;
    h.iterations = iterations->get<int>();
    auto salt_bytes = base64Decode(*salt);
    auto hash_bytes = base64Decode(*password);
    if (h.iterations < 1 || !salt_bytes || salt_bytes->empty() || !hash_bytes || hash_bytes->size() != kHashBytes) {
        throw StateFileError("client '" + username + "': invalid password, salt or iterations");
    }
    h.salt = std::move(*salt_bytes);
    h.hash = std::move(*hash_bytes);
    return h;
}

void loadLinks(const json& object, const char* key, const char* name_key, const std::string& where,
               std::vector<Link>& links, const std::function<bool(const std::string&)>& exists, LoadedState& out) {
    const json* list = arrayOf(object, key, where);
    if (!list) return;
    for (const json& l : *list) {
        auto name = l.is_object() ? optionalString(l, name_key) : std::nullopt;
        if (!name) continue;
        if (!exists(*name)) {
            out.warnings.push_back(where + "unknown " + std::string(name_key) + " '" + *name + "' is skipped");
            continue;
        }
        if (std::any_of(links.begin(), links.end(), [&](const Link& x) { return x.name == *name; })) continue;
        Link link{*name, priorityOf(l, -1)};
        try {
            link.window = parseWindow(l);
        } catch (const ConditionError& e) {
            throw StateFileError(where + std::string(name_key) + " '" + *name + "': " + e.what());
        }
        insertLink(links, std::move(link));
    }
}

}  // namespace

LoadedState parseState(const json& root) {
    LoadedState out;
    if (root.is_null()) return out;
    if (!root.is_object()) throw StateFileError("the top level must be a JSON object");
    State& s = out.state;
    if (auto d = root.find("defaultACLAccess"); d != root.end() && d->is_object()) {
        auto flag = [&](const char* key) {
            auto it = d->find(key);
            return it != d->end() && it->is_boolean() && it->get<bool>();
        };
        s.defaults.publish_client_send = flag("publishClientSend");
        s.defaults.publish_client_receive = flag("publishClientReceive");
        s.defaults.subscribe = flag("subscribe");
        s.defaults.unsubscribe = flag("unsubscribe");
    }
    loadRoles(root, out);
    auto role_exists = [&](const std::string& n) { return s.roles.count(n) > 0; };
    if (const json* clients = arrayOf(root, "clients", "")) {
        for (const json& c : *clients) {
            auto username = c.is_object() ? optionalString(c, "username") : std::nullopt;
            if (!username) {
                out.warnings.push_back("a client without a username is skipped");
                continue;
            }
            if (s.clients.count(*username)) throw StateFileError("duplicate client '" + *username + "'");
            Client client;
            client.username = *username;
            client.clientid = optionalString(c, "clientid");
            client.textname = optionalString(c, "textname");
            client.textdescription = optionalString(c, "textdescription");
            auto disabled = c.find("disabled");
            client.disabled = disabled != c.end() && disabled->is_boolean() && disabled->get<bool>();
            client.password = loadPassword(c, *username, out);
            loadLinks(c, "roles", "rolename", "client '" + *username + "': ", client.roles, role_exists, out);
            s.clients.emplace(*username, std::move(client));
        }
    }
    if (const json* groups = arrayOf(root, "groups", "")) {
        for (const json& g : *groups) {
            auto name = g.is_object() ? optionalString(g, "groupname") : std::nullopt;
            if (!name) {
                out.warnings.push_back("a group without a groupname is skipped");
                continue;
            }
            if (s.groups.count(*name)) throw StateFileError("duplicate group '" + *name + "'");
            Group group;
            group.name = *name;
            group.textname = optionalString(g, "textname");
            group.textdescription = optionalString(g, "textdescription");
            loadLinks(g, "roles", "rolename", "group '" + *name + "': ", group.roles, role_exists, out);
            if (const json* members = arrayOf(g, "clients", "group '" + *name + "': ")) {
                for (const json& m : *members) {
                    auto username = m.is_object() ? optionalString(m, "username") : std::nullopt;
                    if (!username) continue;
                    auto cit = s.clients.find(*username);
                    if (cit == s.clients.end()) {
                        out.warnings.push_back("group '" + *name + "': unknown client '" + *username + "' is skipped");
                        continue;
                    }
                    auto& links = cit->second.groups;
                    if (std::none_of(links.begin(), links.end(), [&](const Link& x) { return x.name == *name; })) {
                        insertLink(links, Link{*name, priorityOf(m, -1)});
                    }
                }
            }
            s.groups.emplace(*name, std::move(group));
        }
    }
    if (auto index = root.find("changeIndex"); index != root.end() && index->is_number_unsigned()) {
        s.change_index = index->get<uint64_t>();
    }
    if (auto anon = optionalString(root, "anonymousGroup")) {
        if (s.groups.count(*anon)) {
            s.anonymous_group = *anon;
        } else {
            out.warnings.push_back("anonymousGroup '" + *anon + "' does not exist and is ignored");
        }
    }
    return out;
}

LoadedState loadState(const StateStore& store) {
    const std::string text = store.load();
    try {
        if (text.find_first_not_of(" \t\r\n") == std::string::npos) return parseState(json());
        return parseState(json::parse(text));
    } catch (const json::exception& e) {
        throw StateFileError("'" + store.name() + "': " + e.what());
    } catch (const StateFileError& e) {
        throw StateFileError("'" + store.name() + "': " + e.what());
    }
}

LoadedState loadStateFile(const std::string& path) {
    return loadState(FileStateStore(path));
}

json stateToJson(const State& s) {
    json root = json::object();
    root["defaultACLAccess"] = {{"publishClientSend", s.defaults.publish_client_send},
                                {"publishClientReceive", s.defaults.publish_client_receive},
                                {"subscribe", s.defaults.subscribe},
                                {"unsubscribe", s.defaults.unsubscribe}};
    auto links = [](const std::vector<Link>& list, const char* key) {
        json out = json::array();
        for (const Link& l : list) {
            json j = {{key, l.name}};
            if (l.priority != -1) j["priority"] = l.priority;
            windowToJson(l.window, j);
            out.push_back(std::move(j));
        }
        return out;
    };
    auto text = [](json& j, const std::optional<std::string>& name, const std::optional<std::string>& description) {
        if (name) j["textname"] = *name;
        if (description) j["textdescription"] = *description;
    };
    json clients = json::array();
    for (const auto& [name, c] : s.clients) {
        json j = {{"username", name}};
        if (c.clientid) j["clientid"] = *c.clientid;
        text(j, c.textname, c.textdescription);
        if (c.disabled) j["disabled"] = true;
        j["roles"] = links(c.roles, "rolename");
        if (c.password && c.password->unsupported.empty()) {
            j["password"] = base64Encode(c.password->hash);
            j["salt"] = base64Encode(c.password->salt);
            j["iterations"] = c.password->iterations;
        }
        clients.push_back(std::move(j));
    }
    root["clients"] = std::move(clients);
    json groups = json::array();
    for (const auto& [name, g] : s.groups) {
        json j = {{"groupname", name}};
        text(j, g.textname, g.textdescription);
        j["roles"] = links(g.roles, "rolename");
        json members = json::array();
        for (const auto& [username, c] : s.clients) {
            for (const Link& l : c.groups) {
                if (l.name != name) continue;
                json m = {{"username", username}};
                if (l.priority != -1) m["priority"] = l.priority;
                members.push_back(std::move(m));
            }
        }
        j["clients"] = std::move(members);
        groups.push_back(std::move(j));
    }
    root["groups"] = std::move(groups);
    if (!s.anonymous_group.empty()) root["anonymousGroup"] = s.anonymous_group;
    json roles = json::array();
    for (const auto& [name, r] : s.roles) {
        json j = {{"rolename", name}};
        text(j, r.textname, r.textdescription);
        json acls = json::array();
        for (size_t t = 0; t < kAclTypeCount; ++t) {
            for (const Acl& a : r.acls[t]) {
                json acl = {{"acltype", aclTypeName(a.type)},
                            {"topic", a.filter.text()},
                            {"priority", a.priority},
                            {"allow", a.allow}};
                if (!a.conditions.empty()) acl["conditions"] = conditionsToJson(a.conditions);
                acls.push_back(std::move(acl));
            }
        }
        j["acls"] = std::move(acls);
        roles.push_back(std::move(j));
    }
    root["roles"] = std::move(roles);
    root["changeIndex"] = s.change_index;
    return root;
}

}  // namespace mqs::dynacl
