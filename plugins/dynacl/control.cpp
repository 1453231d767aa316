// The dynamic-security command set on State; see control.hpp. Error texts are dynamic-security's
// (docs/design/dynsec-reference.md section 4); where it has none, ours say what is wrong.
#include "dynacl/control.hpp"

#include <strings.h>
#include <algorithm>
#include <chrono>
#include <functional>

#include <nlohmann/json.hpp>

#include "dynacl/connections.hpp"
#include "dynacl/denials.hpp"
#include "dynacl/state_file.hpp"

namespace mqs::dynacl {
namespace {

using nlohmann::json;

// A command failed: its dynamic-security error text.
struct CommandError {
    std::string text;
};

struct Context {
    const json& command;
    State& state;
    int iterations;
    json data;  // for get/list answers
    bool mutated = false;
    std::vector<std::string> fields;  // for the log line
    std::set<std::string>& kicks;
    bool& kick_anonymous;
    const ControlExtras& extras;

    void kickMembersOf(const std::string& group) {
        for (const auto& [name, cl] : state.clients) {
            for (const Link& l : cl.groups) {
                if (l.name == group) kicks.insert(name);
            }
        }
        if (state.anonymous_group == group) kick_anonymous = true;
    }
    void kickHoldersOf(const std::string& role) {
        for (const auto& [name, cl] : state.clients) {
            for (const Link& l : cl.roles) {
                if (l.name == role) kicks.insert(name);
            }
        }
        for (const auto& [gname, g] : state.groups) {
            for (const Link& l : g.roles) {
                if (l.name == role) kickMembersOf(gname);
            }
        }
    }
};

std::optional<std::string> optionalField(const json& cmd, const char* key, const char* invalid,
                                         const char* not_utf8 = nullptr) {
    auto it = cmd.find(key);
    if (it == cmd.end()) return std::nullopt;
    if (!it->is_string()) throw CommandError{invalid};
    std::string value = it->get<std::string>();
    if (not_utf8 && !validUtf8(value)) throw CommandError{not_utf8};
    return value;
}

std::string requiredField(const json& cmd, const char* key, const char* invalid, const char* not_utf8) {
    auto value = optionalField(cmd, key, invalid, not_utf8);
    if (!value) throw CommandError{invalid};
    return *value;
}

std::string username(Context& c) {
    auto v = requiredField(c.command, "username", "Invalid/missing username", "Username not valid UTF-8");
    c.fields.push_back("username=" + v);
    return v;
}
std::string groupname(Context& c) {
    auto v = requiredField(c.command, "groupname", "Invalid/missing groupname", "Group name not valid UTF-8");
    c.fields.push_back("groupname=" + v);
    return v;
}
std::string rolename(Context& c) {
    auto v = requiredField(c.command, "rolename", "Invalid/missing rolename", "Role name not valid UTF-8");
    c.fields.push_back("rolename=" + v);
    return v;
}
int priority(const json& cmd, int fallback) {
    auto it = cmd.find("priority");
    return it != cmd.end() && it->is_number_integer() ? it->get<int>() : fallback;
}

Client& findClient(State& s, const std::string& name) {
    auto it = s.clients.find(name);
    if (it == s.clients.end()) throw CommandError{"Client not found"};
    return it->second;
}
Group& findGroup(State& s, const std::string& name) {
    auto it = s.groups.find(name);
    if (it == s.groups.end()) throw CommandError{"Group not found"};
    return it->second;
}
Role& findRole(State& s, const std::string& name) {
    auto it = s.roles.find(name);
    if (it == s.roles.end()) throw CommandError{"Role not found"};
    return it->second;
}

bool hasLink(const std::vector<Link>& links, const std::string& name) {
    return std::any_of(links.begin(), links.end(), [&](const Link& l) { return l.name == name; });
}
bool removeLink(std::vector<Link>& links, const std::string& name) {
    auto it = std::find_if(links.begin(), links.end(), [&](const Link& l) { return l.name == name; });
    if (it == links.end()) return false;
    links.erase(it);
    return true;
}

void textFields(Context& c, std::optional<std::string>& textname, std::optional<std::string>& textdescription) {
    if (auto v = optionalField(c.command, "textname", "Invalid/missing textname")) textname = v;
    if (auto v = optionalField(c.command, "textdescription", "Invalid/missing textdescription")) textdescription = v;
}

// "roles":[{rolename, priority}] as createClient/createGroup/modify* take it.
std::optional<std::vector<Link>> roleLinks(Context& c) {
    auto it = c.command.find("roles");
    if (it == c.command.end()) return std::nullopt;
    const char* bad = "'roles' not an array or missing/invalid rolename";
    if (!it->is_array()) throw CommandError{bad};
    std::vector<Link> links;
    for (const json& r : *it) {
        auto name = r.is_object() && r.contains("rolename") && r["rolename"].is_string()
                        ? std::optional<std::string>(r["rolename"].get<std::string>())
                        : std::nullopt;
        if (!name) throw CommandError{bad};
        if (!c.state.roles.count(*name)) throw CommandError{"Role not found"};
        if (hasLink(links, *name)) continue;
        Link link{*name, priority(r, -1)};
        try {
            link.window = parseWindow(r);
        } catch (const ConditionError& e) {
            throw CommandError{std::string("Invalid validity window: ") + e.what()};
        }
        insertLink(links, std::move(link));
    }
    return links;
}

std::optional<std::vector<Link>> groupLinks(Context& c) {
    auto it = c.command.find("groups");
    if (it == c.command.end()) return std::nullopt;
    if (!it->is_array()) throw CommandError{"'groups' not an array"};
    std::vector<Link> links;
    for (const json& g : *it) {
        if (!g.is_object() || !g.contains("groupname") || !g["groupname"].is_string()) {
            throw CommandError{"'groups' contains an object with an invalid 'groupname'"};
        }
        std::string name = g["groupname"].get<std::string>();
        if (!c.state.groups.count(name)) throw CommandError{"Group not found"};
        if (!hasLink(links, name)) insertLink(links, Link{name, priority(g, -1)});
    }
    return links;
}

json linksJson(const std::vector<Link>& links, const char* key) {
    json out = json::array();
    for (const Link& l : links) {
        json j = {{key, l.name}};
        if (l.priority != -1) j["priority"] = l.priority;
        windowToJson(l.window, j);  // only when set: stock answers stay byte-identical
        out.push_back(std::move(j));
    }
    return out;
}

json clientJson(const Client& cl) {
    json j = {{"username", cl.username}};
    if (cl.clientid) j["clientid"] = *cl.clientid;
    if (cl.textname) j["textname"] = *cl.textname;
    if (cl.textdescription) j["textdescription"] = *cl.textdescription;
    if (cl.disabled) j["disabled"] = true;
    j["roles"] = linksJson(cl.roles, "rolename");
    j["groups"] = linksJson(cl.groups, "groupname");
    return j;
}

json groupJson(const State& s, const Group& g) {
    json j = {{"groupname", g.name}};
    if (g.textname) j["textname"] = *g.textname;
    if (g.textdescription) j["textdescription"] = *g.textdescription;
    json members = json::array();
    for (const auto& [name, cl] : s.clients) {
        if (hasLink(cl.groups, g.name)) members.push_back({{"username", name}});
    }
    j["clients"] = std::move(members);
    j["roles"] = linksJson(g.roles, "rolename");
    return j;
}

json aclJson(const Acl& a) {
    json j = {
        {"acltype", aclTypeName(a.type)}, {"topic", a.filter.text()}, {"priority", a.priority}, {"allow", a.allow}};
    if (!a.conditions.empty()) j["conditions"] = conditionsToJson(a.conditions);
    return j;
}

json roleJson(const Role& r) {
    json j = {{"rolename", r.name}};
    if (r.textname) j["textname"] = *r.textname;
    if (r.textdescription) j["textdescription"] = *r.textdescription;
    json acls = json::array();
    for (const auto& list : r.acls) {
        for (const Acl& a : list) acls.push_back(aclJson(a));
    }
    j["acls"] = std::move(acls);
    return j;
}

// listClients/listGroups/listRoles: sorted by name; dynamic-security's count/offset behaviour.
template <typename Map, typename ToJson>
json listOf(const json& cmd, const Map& map, ToJson&& full) {
    auto flag = cmd.find("verbose");
    const bool verbose = flag != cmd.end() && flag->is_boolean() && flag->get<bool>();
    auto c = cmd.find("count");
    int count = c != cmd.end() && c->is_number_integer() ? c->get<int>() : -1;
    auto o = cmd.find("offset");
    int offset = o != cmd.end() && o->is_number_integer() ? o->get<int>() : 0;
    json items = json::array();
    for (const auto& [name, value] : map) {
        if (offset > 0) {
            --offset;
            continue;
        }
        items.push_back(verbose ? full(value) : json(name));
        if (count >= 0 && --count <= 0) break;
    }
    return {{"totalCount", map.size()}, {"items", std::move(items)}};
}

std::optional<Acl> aclFromJson(const json& a, bool strict) {
    auto type_it = a.find("acltype");
    if (type_it == a.end() || !type_it->is_string()) {
        if (strict) throw CommandError{"Invalid/missing acltype"};
        return std::nullopt;
    }
    auto type = parseAclType(type_it->get<std::string>());
    if (!type) {
        if (strict) throw CommandError{"Unknown acltype"};
        return std::nullopt;
    }
    auto topic_it = a.find("topic");
    if (topic_it == a.end() || !topic_it->is_string()) {
        if (strict) throw CommandError{"Invalid/missing topic"};
        return std::nullopt;
    }
    std::string topic = topic_it->get<std::string>();
    if (!validUtf8(topic)) throw CommandError{"Topic not valid UTF-8"};
    if (!checkAclTopic(topic).empty()) throw CommandError{"Invalid ACL topic"};
    auto allow = a.find("allow");
    Acl acl{*type, priority(a, 0), allow != a.end() && allow->is_boolean() && allow->get<bool>(),
            AclFilter::parse(topic)};
    if (auto cond = a.find("conditions"); cond != a.end()) {
        try {
            acl.conditions = parseConditions(*cond);
        } catch (const ConditionError& e) {
            throw CommandError{std::string("Invalid conditions: ") + e.what()};
        }
    }
    return acl;
}

// notBefore/notAfter of addClientRole / addGroupRole.
Window linkWindow(Context& c) {
    try {
        Window w = parseWindow(c.command);
        if (w.not_before) c.fields.push_back("notBefore=" + formatUtcTime(*w.not_before));
        if (w.not_after) c.fields.push_back("notAfter=" + formatUtcTime(*w.not_after));
        return w;
    } catch (const ConditionError& e) {
        throw CommandError{std::string("Invalid validity window: ") + e.what()};
    }
}

void setAcls(Role& role, const json& list) {
    role.acls = {};
    for (const json& a : list) {
        if (!a.is_object()) continue;
        auto acl = aclFromJson(a, false);
        if (!acl) continue;
        auto& same = role.acls[static_cast<size_t>(acl->type)];
        if (std::any_of(same.begin(), same.end(),
                        [&](const Acl& x) { return x.filter.text() == acl->filter.text(); })) {
            continue;
        }
        role.addAcl(std::move(*acl));
    }
}

// ---- the commands ----

void setDefaultACLAccess(Context& c) {
    auto it = c.command.find("acls");
    if (it == c.command.end() || !it->is_array()) throw CommandError{"Missing/invalid actions array"};
    for (const json& a : *it) {
        if (!a.is_object() || !a.contains("acltype") || !a["acltype"].is_string()) continue;
        std::optional<bool> allow;
        if (a.contains("allow") && a["allow"].is_boolean()) allow = a["allow"].get<bool>();
        // mosquitto_ctrl 2.0.11 sends "access":"allow"|"deny" (fixed in 2.0.12 to "allow":bool).
        if (!allow && a.contains("access") && a["access"].is_string()) {
            if (a["access"] == "allow") allow = true;
            if (a["access"] == "deny") allow = false;
        }
        if (!allow) continue;
        const std::string type = a["acltype"].get<std::string>();
        bool* target = nullptr;
        if (type == "publishClientSend") target = &c.state.defaults.publish_client_send;
        if (type == "publishClientReceive") target = &c.state.defaults.publish_client_receive;
        if (type == "subscribe") target = &c.state.defaults.subscribe;
        if (type == "unsubscribe") target = &c.state.defaults.unsubscribe;
        if (!target) continue;
        *target = *allow;
        c.fields.push_back(type + "=" + (*allow ? "allow" : "deny"));
        c.mutated = true;
    }
}

void getDefaultACLAccess(Context& c) {
    const DefaultAccess& d = c.state.defaults;
    c.data = {{"acls",
               {{{"acltype", "publishClientSend"}, {"allow", d.publish_client_send}},
                {{"acltype", "publishClientReceive"}, {"allow", d.publish_client_receive}},
                {{"acltype", "subscribe"}, {"allow", d.subscribe}},
                {{"acltype", "unsubscribe"}, {"allow", d.unsubscribe}}}}};
}

void createClient(Context& c) {
    Client cl;
    cl.username = username(c);
    auto password = optionalField(c.command, "password", "Invalid/missing password");
    auto id = optionalField(c.command, "clientid", "Invalid/missing client id", "Client ID not valid UTF-8");
    if (id && !id->empty()) cl.clientid = id;
    textFields(c, cl.textname, cl.textdescription);
    if (c.state.clients.count(cl.username)) throw CommandError{"Client already exists"};
    if (auto roles = roleLinks(c)) cl.roles = std::move(*roles);
    if (auto groups = groupLinks(c)) cl.groups = std::move(*groups);
    if (password && !password->empty()) {
        cl.password = hashPassword(*password, c.iterations);
        c.fields.push_back("password=*****");
    }
    c.state.clients.emplace(cl.username, std::move(cl));
    c.mutated = true;
}

void deleteClient(Context& c) {
    const std::string name = username(c);
    findClient(c.state, name);
    c.state.clients.erase(name);
    c.kicks.insert(name);
    c.mutated = true;
}

void getClient(Context& c) {
    const std::string name = username(c);  // a named string: findClient returns a reference into the state
    const Client& cl = findClient(c.state, name);
    json client = clientJson(cl);
    // As Mosquitto 2.1's dynsec: the live connections logged in with this username (2.1's mosquitto_ctrl
    // prints them). dynamic-security gives only the address; the client id says which connection it is.
    client["connections"] = json::array();
    if (c.extras.connections) {
        for (const auto& conn : c.extras.connections->of(name))
            client["connections"].push_back({{"clientid", conn.client_id}, {"address", conn.address}});
    }
    c.data = {{"client", std::move(client)}};
}

void listClients(Context& c) {
    json l = listOf(c.command, c.state.clients, [&](const Client& cl) { return clientJson(cl); });
    c.data = {{"totalCount", l["totalCount"]}, {"clients", std::move(l["items"])}};
}

void modifyClient(Context& c) {
    Client& cl = findClient(c.state, username(c));
    auto id = optionalField(c.command, "clientid", "Invalid/missing client id", "Client ID not valid UTF-8");
    auto password = optionalField(c.command, "password", "Invalid/missing password");
    Client next = cl;
    if (id) next.clientid = id->empty() ? std::nullopt : id;
    if (password && !password->empty()) {
        next.password = hashPassword(*password, c.iterations);
        c.fields.push_back("password=*****");
    }
    textFields(c, next.textname, next.textdescription);
    if (auto roles = roleLinks(c)) next.roles = std::move(*roles);
    if (auto groups = groupLinks(c)) next.groups = std::move(*groups);
    cl = std::move(next);
    c.kicks.insert(cl.username);
    c.mutated = true;
}

void setClientPassword(Context& c) {
    const std::string name = username(c);
    auto password = optionalField(c.command, "password", "Invalid/missing password");
    if (!password) throw CommandError{"Invalid/missing password"};
    if (password->empty()) throw CommandError{"Empty password is not allowed"};
    Client& cl = findClient(c.state, name);
    cl.password = hashPassword(*password, c.iterations);
    c.fields.push_back("password=*****");
    c.kicks.insert(name);
    c.mutated = true;
}

void setClientId(Context& c) {
    const std::string name = username(c);
    auto id = optionalField(c.command, "clientid", "Invalid/missing client ID", "Client ID not valid UTF-8");
    Client& cl = findClient(c.state, name);
    cl.clientid = id && !id->empty() ? id : std::nullopt;
    if (id) c.fields.push_back("clientid=" + *id);
    c.kicks.insert(name);
    c.mutated = true;
}

void addClientRole(Context& c) {
    const std::string user = username(c);
    const std::string role = rolename(c);
    Client& cl = findClient(c.state, user);
    findRole(c.state, role);
    if (hasLink(cl.roles, role)) throw CommandError{"Client already has this role"};
    const int p = priority(c.command, -1);
    c.fields.push_back("priority=" + std::to_string(p));
    insertLink(cl.roles, Link{role, p, linkWindow(c)});
    c.kicks.insert(user);
    c.mutated = true;
}

void removeClientRole(Context& c) {
    const std::string user = username(c);
    const std::string role = rolename(c);
    Client& cl = findClient(c.state, user);
    findRole(c.state, role);
    if (!removeLink(cl.roles, role)) throw CommandError{"Client does not have this role"};
    c.kicks.insert(user);
    c.mutated = true;
}

void setDisabled(Context& c, bool disabled) {
    Client& cl = findClient(c.state, username(c));
    cl.disabled = disabled;
    if (disabled) c.kicks.insert(cl.username);
    c.mutated = true;
}
void enableClient(Context& c) {
    setDisabled(c, false);
}
void disableClient(Context& c) {
    setDisabled(c, true);
}

void createGroup(Context& c) {
    Group g;
    g.name = groupname(c);
    textFields(c, g.textname, g.textdescription);
    if (c.state.groups.count(g.name)) throw CommandError{"Group already exists"};
    if (auto roles = roleLinks(c)) g.roles = std::move(*roles);
    c.state.groups.emplace(g.name, std::move(g));
    c.mutated = true;
}

void deleteGroup(Context& c) {
    const std::string name = groupname(c);
    findGroup(c.state, name);
    if (c.state.anonymous_group == name) throw CommandError{"Deleting the anonymous group is forbidden"};
    c.kickMembersOf(name);
    for (auto& [u, cl] : c.state.clients) removeLink(cl.groups, name);
    c.state.groups.erase(name);
    c.mutated = true;
}

void getGroup(Context& c) {
    const std::string name = groupname(c);
    const Group& g = findGroup(c.state, name);
    c.data = {{"group", groupJson(c.state, g)}};
}

void listGroups(Context& c) {
    json l = listOf(c.command, c.state.groups, [&](const Group& g) { return groupJson(c.state, g); });
    c.data = {{"totalCount", l["totalCount"]}, {"groups", std::move(l["items"])}};
}

void modifyGroup(Context& c) {
    Group& g = findGroup(c.state, groupname(c));
    c.kickMembersOf(g.name);
    Group next = g;
    textFields(c, next.textname, next.textdescription);
    if (auto roles = roleLinks(c)) next.roles = std::move(*roles);
    auto members = c.command.find("clients");
    if (members != c.command.end()) {
        if (!members->is_array()) throw CommandError{"'clients' not an array"};
        std::vector<std::pair<std::string, int>> wanted;
        for (const json& m : *members) {
            if (!m.is_object() || !m.contains("username") || !m["username"].is_string()) {
                throw CommandError{"'clients' contains an object with an invalid 'username'"};
            }
            std::string u = m["username"].get<std::string>();
            if (!c.state.clients.count(u))
                throw CommandError{"'clients' contains an object with a 'username' that does not exist"};
            wanted.emplace_back(u, priority(m, -1));
        }
        for (auto& [u, cl] : c.state.clients) removeLink(cl.groups, next.name);
        for (const auto& [u, p] : wanted) {
            auto& links = c.state.clients.at(u).groups;
            if (!hasLink(links, next.name)) insertLink(links, Link{next.name, p});
        }
    }
    c.kickMembersOf(next.name);
    g = std::move(next);
    c.mutated = true;
}

void addGroupClient(Context& c) {
    const std::string user = username(c);
    const std::string group = groupname(c);
    Client& cl = findClient(c.state, user);
    findGroup(c.state, group);
    if (hasLink(cl.groups, group)) throw CommandError{"Client is already in this group"};
    insertLink(cl.groups, Link{group, priority(c.command, -1)});
    c.kicks.insert(user);
    c.mutated = true;
}

void removeGroupClient(Context& c) {
    const std::string user = username(c);
    const std::string group = groupname(c);
    Client& cl = findClient(c.state, user);
    findGroup(c.state, group);
    if (!removeLink(cl.groups, group)) throw CommandError{"Client is not in this group"};
    c.kicks.insert(user);
    c.mutated = true;
}

void addGroupRole(Context& c) {
    const std::string group = groupname(c);
    const std::string role = rolename(c);
    Group& g = findGroup(c.state, group);
    findRole(c.state, role);
    if (hasLink(g.roles, role)) throw CommandError{"Group is already in this role"};
    insertLink(g.roles, Link{role, priority(c.command, -1), linkWindow(c)});
    c.kickMembersOf(group);
    c.mutated = true;
}

void removeGroupRole(Context& c) {
    const std::string group = groupname(c);
    const std::string role = rolename(c);
    Group& g = findGroup(c.state, group);
    findRole(c.state, role);
    if (!removeLink(g.roles, role)) throw CommandError{"Group is not in this role"};
    c.kickMembersOf(group);
    c.mutated = true;
}

void setAnonymousGroup(Context& c) {
    const std::string group = groupname(c);
    findGroup(c.state, group);
    c.state.anonymous_group = group;
    c.kick_anonymous = true;
    c.mutated = true;
}

void getAnonymousGroup(Context& c) {
    c.data = {{"group", {{"groupname", c.state.anonymous_group}}}};
}

void createRole(Context& c) {
    Role r;
    r.name = rolename(c);
    textFields(c, r.textname, r.textdescription);
    if (c.state.roles.count(r.name)) throw CommandError{"Role already exists"};
    if (auto acls = c.command.find("acls"); acls != c.command.end() && acls->is_array()) setAcls(r, *acls);
    c.state.roles.emplace(r.name, std::move(r));
    c.mutated = true;
}

void getRole(Context& c) {
    c.data = {{"role", roleJson(findRole(c.state, rolename(c)))}};
}

void listRoles(Context& c) {
    json l = listOf(c.command, c.state.roles, [](const Role& r) { return roleJson(r); });
    c.data = {{"totalCount", l["totalCount"]}, {"roles", std::move(l["items"])}};
}

void modifyRole(Context& c) {
    auto it = c.state.roles.find(rolename(c));
    if (it == c.state.roles.end()) throw CommandError{"Role does not exist"};
    Role next = it->second;
    textFields(c, next.textname, next.textdescription);
    if (auto acls = c.command.find("acls"); acls != c.command.end() && acls->is_array()) setAcls(next, *acls);
    it->second = std::move(next);
    c.mutated = true;
}

void deleteRole(Context& c) {
    const std::string name = rolename(c);
    findRole(c.state, name);
    c.kickHoldersOf(name);
    for (auto& [u, cl] : c.state.clients) removeLink(cl.roles, name);
    for (auto& [n, g] : c.state.groups) removeLink(g.roles, name);
    c.state.roles.erase(name);
    c.mutated = true;
}

void addRoleACL(Context& c) {
    Role& r = findRole(c.state, rolename(c));
    auto acl = aclFromJson(c.command, true);
    auto& same = r.acls[static_cast<size_t>(acl->type)];
    if (std::any_of(same.begin(), same.end(), [&](const Acl& x) { return x.filter.text() == acl->filter.text(); })) {
        throw CommandError{"ACL with this topic already exists"};
    }
    c.fields.push_back(std::string("acltype=") + aclTypeName(acl->type));
    c.fields.push_back("topic=" + acl->filter.text());
    c.fields.push_back("priority=" + std::to_string(acl->priority));
    c.fields.push_back(std::string("allow=") + (acl->allow ? "true" : "false"));
    if (!acl->conditions.empty()) c.fields.push_back("conditions=" + conditionsToJson(acl->conditions).dump());
    r.addAcl(std::move(*acl));
    c.kickHoldersOf(r.name);
    c.mutated = true;
}

void removeRoleACL(Context& c) {
    Role& r = findRole(c.state, rolename(c));
    auto type_it = c.command.find("acltype");
    if (type_it == c.command.end() || !type_it->is_string()) throw CommandError{"Invalid/missing acltype"};
    auto type = parseAclType(type_it->get<std::string>());
    if (!type) throw CommandError{"Unknown acltype"};
    const std::string topic = requiredField(c.command, "topic", "Invalid/missing topic", "Topic not valid UTF-8");
    if (!checkAclTopic(topic).empty()) throw CommandError{"Invalid ACL topic"};
    auto& list = r.acls[static_cast<size_t>(*type)];
    auto it = std::find_if(list.begin(), list.end(), [&](const Acl& a) { return a.filter.text() == topic; });
    if (it == list.end()) throw CommandError{"ACL not found"};
    list.erase(it);
    c.fields.push_back(std::string("acltype=") + aclTypeName(*type));
    c.fields.push_back("topic=" + topic);
    c.kickHoldersOf(r.name);
    c.mutated = true;
}

// dynacl's own command: would this client be allowed, and which rule of which role decides?
// {"command":"explain","username"?,"clientid"?,"address"?,"access":"publish|receive|subscribe|unsubscribe","topic"}
void explain(Context& c) {
    Identity who;
    std::optional<std::string> user =
        optionalField(c.command, "username", "Invalid/missing username", "Username not valid UTF-8");
    std::string id =
        optionalField(c.command, "clientid", "Invalid/missing client id", "Client ID not valid UTF-8").value_or("");
    std::string raw_address = optionalField(c.command, "address", "Invalid/missing address").value_or("");
    std::string address;
    if (!raw_address.empty()) {
        auto canonical = canonicalAddress(raw_address);
        if (!canonical) throw CommandError{"Invalid address"};
        address = *canonical;
    }
    if (user) {
        who.username = *user;
        who.has_username = true;
    }
    who.client_id = id;
    who.address = address;
    const std::string access_name = requiredField(c.command, "access", "Invalid/missing access", nullptr);
    Access access;
    if (access_name == "publish") {
        access = Access::Write;
    } else if (access_name == "receive") {
        access = Access::Read;
    } else if (access_name == "subscribe") {
        access = Access::Subscribe;
    } else if (access_name == "unsubscribe") {
        access = Access::Unsubscribe;
    } else {
        throw CommandError{"Unknown access: use publish, receive, subscribe or unsubscribe"};
    }
    const std::string topic = requiredField(c.command, "topic", "Invalid/missing topic", "Topic not valid UTF-8");
    // The facts ACL conditions may look at; the time is now.
    CheckFacts facts;
    if (auto q = c.command.find("qos"); q != c.command.end()) {
        if (!q->is_number_integer() || q->get<int64_t>() < 0 || q->get<int64_t>() > 2)
            throw CommandError{"Invalid qos"};
        facts.qos = q->get<int>();
    }
    if (auto r = c.command.find("retain"); r != c.command.end()) {
        if (!r->is_boolean()) throw CommandError{"Invalid retain"};
        facts.retain = r->get<bool>();
    }
    if (auto p = c.command.find("payloadBytes"); p != c.command.end()) {
        if (!p->is_number_integer() || p->get<int64_t>() < 0) throw CommandError{"Invalid payloadBytes"};
        facts.payload_bytes = p->get<uint64_t>();
    }
    facts.now =
        c.extras.now
            ? *c.extras.now
            : std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                  .count();
    Explanation why;
    const Decision d = c.state.check(who, access, topic, facts, &why);
    json out = {{"decision", d == Decision::Allow  ? "allow"
                             : d == Decision::Deny ? "deny"
                                                   : "defer"},
                {"via", why.via}};
    if (why.acl) {
        out["rolename"] = why.role;
        out["acl"] = aclJson(*why.acl);
    }
    c.data = {{"explain", std::move(out)}};
}

// dynacl's own command: {"command":"importPasswordFile","content":"<a password_file's text>"}. `$7$`
// (PBKDF2-SHA512) lines become clients with that hash, or replace the hash of an existing client (its roles
// and groups stay); other lines are listed as skipped with the reason.
void importPasswordFile(Context& c) {
    const std::string content = requiredField(c.command, "content", "Invalid/missing content", nullptr);
    json imported = json::array(), skipped = json::array();
    size_t start = 0;
    while (start < content.size()) {
        size_t end = content.find('\n', start);
        if (end == std::string::npos) end = content.size();
        std::string line = content.substr(start, end - start);
        start = end + 1;
        auto trim = [](std::string& t) {
            const size_t a = t.find_first_not_of(" \t\r");
            const size_t b = t.find_last_not_of(" \t\r");
            t = a == std::string::npos ? std::string() : t.substr(a, b - a + 1);
        };
        trim(line);
        if (line.empty() || line[0] == '#') continue;
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string user = line.substr(0, colon), hash = line.substr(colon + 1);
        trim(user);
        trim(hash);
        if (user.empty() || !validUtf8(user)) {
            skipped.push_back({{"username", user}, {"reason", "Invalid username"}});
            continue;
        }
        if (hash.starts_with("$6$")) {
            skipped.push_back(
                {{"username", user}, {"reason", "SHA-512 ($6$) hashes cannot be imported: set a new password"}});
            continue;
        }
        auto parsed = hash.starts_with("$7$") ? parseEncodedPassword(hash) : std::nullopt;
        if (!parsed) {
            skipped.push_back({{"username", user}, {"reason", "Invalid password hash"}});
            continue;
        }
        auto it = c.state.clients.find(user);
        if (it == c.state.clients.end()) {
            Client cl;
            cl.username = user;
            it = c.state.clients.emplace(user, std::move(cl)).first;
        }
        it->second.password = std::move(*parsed);
        c.kicks.insert(user);
        imported.push_back(user);
        c.mutated = true;
    }
    c.fields.push_back("imported=" + std::to_string(imported.size()));
    c.fields.push_back("skipped=" + std::to_string(skipped.size()));
    c.data = {{"imported", std::move(imported)}, {"skipped", std::move(skipped)}};
}

// dynacl's own command: {"command":"importAclFile","content":"<an acl_file's text>"}, mapped as
// docs/dynacl.md says: per user a role acl-user-<name>, anonymous topic lines a group and role
// acl-anonymous (made the anonymous group if none is set), pattern lines a role acl-patterns given to
// every client. An invalid line fails the whole command.
void importAclFile(Context& c) {
    const std::string content = requiredField(c.command, "content", "Invalid/missing content", nullptr);
    struct Entry {
        std::string access;  // read, write, readwrite, deny
        std::string topic;
    };
    std::vector<std::pair<std::string, std::vector<Entry>>> users;  // file order
    std::vector<Entry> anonymous, patterns;
    json skipped = json::array();
    std::vector<Entry>* current = &anonymous;
    size_t start = 0, number = 0;
    auto trim = [](std::string t) {
        const size_t a = t.find_first_not_of(" \t\r");
        const size_t b = t.find_last_not_of(" \t\r");
        return a == std::string::npos ? std::string() : t.substr(a, b - a + 1);
    };
    while (start < content.size()) {
        size_t end = content.find('\n', start);
        if (end == std::string::npos) end = content.size();
        std::string line = content.substr(start, end - start);
        start = end + 1;
        ++number;
        if (!line.empty() && line[0] == '#') continue;
        line = trim(line);
        if (line.empty()) continue;
        const size_t space = line.find_first_of(" \t");
        const std::string keyword = line.substr(0, space);
        std::string rest = space == std::string::npos ? std::string() : trim(line.substr(space));
        const std::string where = "line " + std::to_string(number);
        if (keyword == "user") {
            if (rest.empty()) throw CommandError{"Invalid acl_file " + where + ": user without a name"};
            users.emplace_back(rest, std::vector<Entry>());
            current = &users.back().second;
            continue;
        }
        if (keyword != "topic" && keyword != "pattern") throw CommandError{"Invalid acl_file " + where};
        Entry e{"readwrite", rest};
        const size_t sp = rest.find_first_of(" \t");
        const std::string first = rest.substr(0, sp);
        if (sp != std::string::npos &&
            (first == "read" || first == "write" || first == "readwrite" || first == "deny")) {
            e.access = first;
            e.topic = trim(rest.substr(sp));
        }
        if (e.topic.empty() || !checkAclTopic(e.topic).empty()) {
            throw CommandError{"Invalid acl_file " + where + ": invalid topic"};
        }
        if (keyword == "pattern") {
            // dynacl substitutes whole levels only; acl_file also inside a level ("dev/%u-data").
            bool whole = true;
            size_t from = 0;
            while (from <= e.topic.size()) {
                size_t slash = e.topic.find('/', from);
                if (slash == std::string::npos) slash = e.topic.size();
                const std::string level = e.topic.substr(from, slash - from);
                if (level != "%u" && level != "%c" && level.find('%') != std::string::npos) whole = false;
                from = slash + 1;
            }
            if (!whole) {
                skipped.push_back({{"line", number}, {"reason", "%u/%c inside a topic level has no equivalent"}});
                continue;
            }
            patterns.push_back(e);
        } else {
            current->push_back(e);
        }
    }
    auto makeRole = [&](const std::string& name, const std::vector<Entry>& entries) {
        if (c.state.roles.count(name)) throw CommandError{"Role already exists: " + name};
        Role r;
        r.name = name;
        r.textdescription = "imported from acl_file";
        for (const Entry& e : entries) {
            const bool deny = e.access == "deny";
            // acl_file puts deny lines first: a higher priority does the same here.
            const int priority = deny ? 1 : 0;
            if (deny || e.access == "read" || e.access == "readwrite") {
                r.addAcl(Acl{AclType::PublishClientReceive, priority, !deny, AclFilter::parse(e.topic)});
            }
            if (deny || e.access == "write" || e.access == "readwrite") {
                r.addAcl(Acl{AclType::PublishClientSend, priority, !deny, AclFilter::parse(e.topic)});
            }
        }
        // acl_file never checks (un)subscriptions: only deliveries are limited.
        r.addAcl(Acl{AclType::SubscribePattern, 0, true, AclFilter::parse("#")});
        r.addAcl(Acl{AclType::UnsubscribePattern, 0, true, AclFilter::parse("#")});
        c.state.roles.emplace(name, std::move(r));
        c.kickHoldersOf(name);
    };
    json created = json::array();
    for (const auto& [user, entries] : users) {
        const std::string role = "acl-user-" + user;
        makeRole(role, entries);
        auto it = c.state.clients.find(user);
        if (it == c.state.clients.end()) {
            Client cl;
            cl.username = user;
            it = c.state.clients.emplace(user, std::move(cl)).first;
            created.push_back(user);
        }
        if (!hasLink(it->second.roles, role)) insertLink(it->second.roles, Link{role, -1});
        c.kicks.insert(user);
    }
    if (!anonymous.empty()) {
        makeRole("acl-anonymous", anonymous);
        if (c.state.groups.count("acl-anonymous")) throw CommandError{"Group already exists: acl-anonymous"};
        Group g;
        g.name = "acl-anonymous";
        insertLink(g.roles, Link{"acl-anonymous", -1});
        c.state.groups.emplace(g.name, std::move(g));
        if (c.state.anonymous_group.empty()) c.state.anonymous_group = "acl-anonymous";
        c.kick_anonymous = true;
    }
    if (!patterns.empty()) {
        makeRole("acl-patterns", patterns);
        for (auto& [name, cl] : c.state.clients) {
            // After the client's own roles, as acl_file checks patterns after a user's topics.
            if (!hasLink(cl.roles, "acl-patterns")) insertLink(cl.roles, Link{"acl-patterns", -2});
            c.kicks.insert(name);
        }
        if (!c.state.anonymous_group.empty()) {
            auto& g = c.state.groups.at(c.state.anonymous_group);
            if (!hasLink(g.roles, "acl-patterns")) insertLink(g.roles, Link{"acl-patterns", -2});
            c.kick_anonymous = true;
        }
    }
    c.mutated = true;
    c.fields.push_back("users=" + std::to_string(users.size()));
    c.data = {{"createdClients", std::move(created)}, {"skipped", std::move(skipped)}};
}

// dynacl's own command: the last denials and the denial counts of connected clients, by client id and/or
// username: {"command":"getClientDenials","clientid"?:"...","username"?:"..."}.
void getClientDenials(Context& c) {
    auto id = optionalField(c.command, "clientid", "Invalid/missing client id", "Client ID not valid UTF-8");
    auto user = optionalField(c.command, "username", "Invalid/missing username", "Username not valid UTF-8");
    if (!id && !user) throw CommandError{"Invalid/missing clientid or username"};
    json clients = json::array();
    if (c.extras.denials) {
        for (const ClientDenials* d : c.extras.denials->find(id ? &*id : nullptr, user ? &*user : nullptr)) {
            clients.push_back(denialsJson(*d));
        }
    }
    c.data = {{"clients", std::move(clients)}};
}

// dynacl's own command: the current change index, for a later expectedChangeIndex.
void getChangeIndex(Context& c) {
    c.data = {{"changeIndex", c.state.change_index}};
}

struct CommandSpec {
    const char* name;
    void (*run)(Context&);
};

constexpr CommandSpec kCommands[] = {
    {"setDefaultACLAccess", setDefaultACLAccess},
    {"getDefaultACLAccess", getDefaultACLAccess},
    {"createClient", createClient},
    {"deleteClient", deleteClient},
    {"getClient", getClient},
    {"listClients", listClients},
    {"modifyClient", modifyClient},
    {"setClientPassword", setClientPassword},
    {"setClientId", setClientId},
    {"addClientRole", addClientRole},
    {"removeClientRole", removeClientRole},
    {"enableClient", enableClient},
    {"disableClient", disableClient},
    {"createGroup", createGroup},
    {"deleteGroup", deleteGroup},
    {"getGroup", getGroup},
    {"listGroups", listGroups},
    {"modifyGroup", modifyGroup},
    {"addGroupClient", addGroupClient},
    {"removeGroupClient", removeGroupClient},
    {"addGroupRole", addGroupRole},
    {"removeGroupRole", removeGroupRole},
    {"setAnonymousGroup", setAnonymousGroup},
    {"getAnonymousGroup", getAnonymousGroup},
    {"createRole", createRole},
    {"getRole", getRole},
    {"listRoles", listRoles},
    {"modifyRole", modifyRole},
    {"deleteRole", deleteRole},
    {"addRoleACL", addRoleACL},
    {"removeRoleACL", removeRoleACL},
    {"explain", explain},                        // dynacl's own
    {"importPasswordFile", importPasswordFile},  // dynacl's own
    {"importAclFile", importAclFile},            // dynacl's own
    {"getChangeIndex", getChangeIndex},          // dynacl's own
    {"getClientDenials", getClientDenials},      // dynacl's own
};

const CommandSpec* findCommand(const std::string& name) {
    for (const auto& spec : kCommands) {
        if (strcasecmp(spec.name, name.c_str()) == 0) return &spec;
    }
    return nullptr;
}

json errorResponse(const std::string& command, const std::string& error) {
    return {{"command", command}, {"error", error}};
}

}  // namespace

ControlOutcome handleControl(const State& current, std::string_view payload, int password_iterations,
                             const ControlExtras& extras) {
    ControlOutcome out;
    json responses = json::array();
    auto finish = [&] {
        // The request parsed as JSON, so its strings are UTF-8; replace keeps dump() from ever throwing.
        out.reply = json{{"responses", std::move(responses)}}.dump(-1, ' ', false, json::error_handler_t::replace);
        return std::move(out);
    };
    if (payload.size() > kMaxRequestBytes) {
        responses.push_back(errorResponse("Unknown command", "Payload too large"));
        out.log.push_back("request refused: payload too large");
        return finish();
    }
    json request = json::parse(payload.begin(), payload.end(), nullptr, false);
    if (request.is_discarded()) {
        responses.push_back(errorResponse("Unknown command", "Payload not valid JSON"));
        out.log.push_back("request refused: payload not valid JSON");
        return finish();
    }
    auto commands = request.is_object() ? request.find("commands") : request.end();
    if (!request.is_object() || commands == request.end() || !commands->is_array()) {
        responses.push_back(errorResponse("Unknown command", "Invalid/missing commands"));
        out.log.push_back("request refused: invalid/missing commands");
        return finish();
    }

    // Optimistic concurrency: a request may name the change index it was prepared against.
    if (auto expected = request.find("expectedChangeIndex"); expected != request.end()) {
        if (!expected->is_number_unsigned() || expected->get<uint64_t>() != current.change_index) {
            responses.push_back(errorResponse(
                "Unknown command",
                "Change index is " + std::to_string(current.change_index) + ", not the expected " + expected->dump()));
            out.log.push_back("request refused: stale expectedChangeIndex");
            return finish();
        }
    }
    State next = current;
    bool failed = false, mutated = false;
    std::string failed_command;
    std::vector<size_t> applied;  // indexes of responses whose change is undone if the batch fails
    for (const json& cmd : *commands) {
        if (!cmd.is_object()) {
            responses.push_back(errorResponse("Unknown command", "Command not an object"));
            failed = true;
            continue;
        }
        auto name_it = cmd.find("command");
        if (name_it == cmd.end() || !name_it->is_string()) {
            responses.push_back(errorResponse("Unknown command", "Missing command"));
            failed = true;
            continue;
        }
        const std::string sent_name = name_it->get<std::string>();
        std::optional<std::string> correlation;
        if (auto corr = cmd.find("correlationData"); corr != cmd.end()) {
            if (!corr->is_string()) {
                responses.push_back(errorResponse(sent_name, "Invalid correlationData data type."));
                out.log.push_back(sent_name + ": Invalid correlationData data type.");
                failed = true;
                break;  // as dynamic-security: later commands get no response
            }
            correlation = corr->get<std::string>();
        }
        const CommandSpec* spec = findCommand(sent_name);
        json response;
        if (!spec) {
            response = errorResponse(sent_name, "Unknown command");
            out.log.push_back(sent_name + ": Unknown command");
            failed = true;
        } else {
            Context ctx{cmd,   next, password_iterations, json(), false, {}, out.kick_usernames, out.kick_anonymous,
                        extras};
            try {
                spec->run(ctx);
                const bool has_data = !ctx.data.is_null();
                response = {{"command", spec->name}};
                if (has_data) response["data"] = std::move(ctx.data);
                if (ctx.mutated) {
                    mutated = true;
                    applied.push_back(responses.size());
                }
                if (!has_data || ctx.mutated) {
                    std::string line = spec->name;
                    for (const auto& f : ctx.fields) line += " | " + f;
                    out.log.push_back(line);
                }
            } catch (const CommandError& e) {
                response = errorResponse(spec->name, e.text);
                out.log.push_back(std::string(spec->name) + ": " + e.text);
                if (!failed) failed_command = spec->name;
                failed = true;
            }
        }
        if (correlation) response["correlationData"] = *correlation;
        responses.push_back(std::move(response));
    }
    if (failed) {
        out.kick_usernames.clear();
        out.kick_anonymous = false;
        // All or nothing: what the other commands changed is not applied either, and their answers say so.
        for (size_t i : applied) {
            responses[i]["error"] =
                "Not applied: " + (failed_command.empty() ? std::string("another command") : failed_command) +
                " in the same request failed";
        }
    } else if (mutated) {
        ++next.change_index;
        out.next = std::move(next);
    }
    return finish();
}

}  // namespace mqs::dynacl
