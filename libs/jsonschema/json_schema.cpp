// JSON Schema (draft 4, 6, 7) validator for untrusted MQTT payloads: schema store and compiler.
// Turns nlohmann::json schemas into the immutable node tree that json_schema_validate.cpp walks.
#include "jsonschema/json_schema.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <unordered_map>

#include "jsonschema/json_schema_format.hpp"
#include "jsonschema/json_schema_metaschemas.hpp"
#include "jsonschema/json_schema_node.hpp"
#include "jsonschema/json_schema_uri.hpp"

namespace mqs::jsonschema {

using detail::Node;
using detail::Number;
using nlohmann::json;

namespace {

using Registry = std::map<std::string, SchemaStore::Resource, std::less<>>;

// Schema objects nested deeper than this are refused instead of risking the stack at load time.
constexpr int kMaxSchemaDepth = 512;

std::optional<Draft> draftFromUri(std::string_view uri) {
    std::string s = detail::stripEmptyFragment(uri);
    if (s.rfind("https://", 0) == 0) s.erase(4, 1);
    if (s == "http://json-schema.org/draft-04/schema") return Draft::Draft4;
    if (s == "http://json-schema.org/draft-06/schema") return Draft::Draft6;
    if (s == "http://json-schema.org/draft-07/schema") return Draft::Draft7;
    return std::nullopt;
}

// The draft a document declares with "$schema", if it declares a known one.
std::optional<Draft> declaredDraft(const json& doc) {
    if (!doc.is_object()) return std::nullopt;
    auto it = doc.find("$schema");
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return draftFromUri(it->get_ref<const std::string&>());
}

// The identifier of a schema object: "id" in draft 4, "$id" later; either when the draft is unknown.
const json* idOf(const json& node, std::optional<Draft> draft) {
    if (!node.is_object() || node.contains("$ref")) return nullptr;  // $ref makes siblings, $id included, inert
    if (draft != Draft::Draft4) {
        auto it = node.find("$id");
        if (it != node.end()) return &*it;
    }
    if (!draft || draft == Draft::Draft4) {
        auto it = node.find("id");
        if (it != node.end()) return &*it;
    }
    return nullptr;
}

// Calls `visit(child, pointerSuffix)` for every subschema position of a schema object, so that enum
// values, defaults and property names are never mistaken for schemas.
void forEachSubschema(const json& node, const std::function<void(const json&, const std::string&)>& visit) {
    if (!node.is_object()) return;
    static constexpr const char* kSingle[] = {
        "additionalItems", "additionalProperties", "contains", "propertyNames", "not", "if", "then", "else", "items"};
    static constexpr const char* kArrays[] = {"items", "allOf", "anyOf", "oneOf"};
    static constexpr const char* kMaps[] = {"definitions", "properties", "patternProperties", "dependencies"};
    for (const char* key : kSingle) {
        auto it = node.find(key);
        if (it != node.end() && (it->is_object() || it->is_boolean())) visit(*it, std::string("/") + key);
    }
    for (const char* key : kArrays) {
        auto it = node.find(key);
        if (it == node.end() || !it->is_array()) continue;
        for (size_t i = 0; i < it->size(); ++i) visit((*it)[i], std::string("/") + key + "/" + std::to_string(i));
    }
    for (const char* key : kMaps) {
        auto it = node.find(key);
        if (it == node.end() || !it->is_object()) continue;
        for (auto member = it->begin(); member != it->end(); ++member) {
            if (member->is_object() || member->is_boolean()) {
                visit(*member, std::string("/") + key + "/" + detail::escapePointerToken(member.key()));
            }
        }
    }
}

void collectIds(Registry& out, const SchemaStore::Resource& document, const json& node, const std::string& parentBase,
                const std::string& pointer, int depth) {
    if (depth > kMaxSchemaDepth) {
        throw SchemaLoadError(document.documentUri + "#" + pointer + ": schema nested more than " +
                              std::to_string(kMaxSchemaDepth) + " levels deep");
    }
    std::string base = parentBase;
    if (const json* id = idOf(node, document.draft); id != nullptr && id->is_string()) {
        std::string resolved = detail::resolveUri(parentBase, id->get_ref<const std::string&>());
        SchemaStore::Resource resource = document;
        resource.node = &node;
        resource.pointer = pointer;
        resource.parentBase = parentBase;
        out[detail::stripEmptyFragment(resolved)] = resource;
        base = detail::splitFragment(resolved).first;
    }
    forEachSubschema(node, [&](const json& child, const std::string& suffix) {
        collectIds(out, document, child, base, pointer + suffix, depth + 1);
    });
}

// Registers a document under its URI and every "$id"/"id" inside it.
void registerDocument(Registry& out, std::shared_ptr<const json> document, const std::string& uri,
                      std::optional<Draft> draft) {
    SchemaStore::Resource root;
    root.node = document.get();
    root.document = std::move(document);
    root.documentUri = uri;
    root.parentBase = uri;
    root.draft = draft;
    out[uri] = root;
    collectIds(out, root, *root.node, uri, "", 0);
}

std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw SchemaLoadError(path.string() + ": cannot open file");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw SchemaLoadError(path.string() + ": cannot read file");
    return text.str();
}

// Walks one schema document and builds nodes. Nodes are cached by the address of their JSON so
// recursive $refs point back at the node under construction and compilation terminates.
class Compiler {
public:
    Compiler(const SchemaStore& store, const CompileOptions& options, CompiledSchema::Impl& out)
        : store_(store), options_(options), out_(out) {}

    void compileRoot(const json& root, const std::string& uri) {
        auto [documentUri, fragment] = detail::splitFragment(uri);
        if (!fragment.empty()) throw SchemaLoadError(uri + ": the base URI of a schema must not have a fragment");
        Draft draft = options_.defaultDraft;
        if (root.is_object()) {
            if (auto it = root.find("$schema"); it != root.end()) {
                if (!it->is_string()) fail(documentUri, "/$schema", "$schema must be a string");
                std::optional<Draft> declared = draftFromUri(it->get_ref<const std::string&>());
                if (!declared) {
                    fail(documentUri, "/$schema",
                         "unsupported $schema \"" + it->get<std::string>() +
                             "\" (supported: draft-04, draft-06, draft-07)");
                }
                draft = *declared;
            }
        }
        // Non-owning pointer: the registry lives only as long as this compile() call.
        registerDocument(local_, std::shared_ptr<const json>(std::shared_ptr<const json>(), &root), documentUri, draft);
        out_.draft = draft;
        out_.root = compile(root, documentUri, documentUri, "", draft, 0, false);
        rejectRefCycles();
        for (auto& node : out_.nodes) {
            // Collapse $ref chains so the validator makes a single hop; safe now that cycles are gone.
            if (node->ref != nullptr) {
                const Node* target = node->ref;
                while (target->ref != nullptr) target = target->ref;
                node->ref = target;
            }
            node->finalise();
        }
    }

private:
    // Everything a keyword reader needs to know about the schema object it sits in.
    struct Where {
        const json& schema;
        Node* node;
        std::string base;  // base URI inside this schema (its own $id applied)
        const std::string& documentUri;
        const std::string& pointer;
        Draft draft;
        int depth;
    };

    [[noreturn]] void fail(const std::string& documentUri, const std::string& pointer, const std::string& what) const {
        throw SchemaLoadError(documentUri + "#" + pointer + ": " + what);
    }
    [[noreturn]] void fail(const Where& w, const std::string& keyword, const std::string& what) const {
        fail(w.documentUri, w.pointer + "/" + detail::escapePointerToken(keyword), what);
    }

    const SchemaStore::Resource* lookup(const std::string& uri) const {
        auto it = local_.find(uri);
        if (it != local_.end()) return &it->second;
        return store_.lookup(uri);
    }

    Node* newNode(const std::string& documentUri, const std::string& pointer, Draft draft) {
        auto node = std::make_unique<Node>();
        node->location = documentUri + "#" + pointer;
        node->draft = draft;
        node->index = out_.nodes.size();
        out_.nodes.push_back(std::move(node));
        return out_.nodes.back().get();
    }

    // booleanOk: draft 4 only allows true/false for additionalItems and additionalProperties.
    Node* compile(const json& schema, const std::string& parentBase, const std::string& documentUri,
                  const std::string& pointer, Draft draft, int depth, bool booleanOk) {
        if (depth > kMaxSchemaDepth) {
            fail(documentUri, pointer, "schema nested more than " + std::to_string(kMaxSchemaDepth) + " levels deep");
        }
        if (auto it = compiled_.find(&schema); it != compiled_.end()) return it->second;
        if (schema.is_boolean()) {
            if (draft == Draft::Draft4 && !booleanOk) {
                fail(documentUri, pointer, "boolean schemas need draft 6 or later (this schema is draft 4)");
            }
        } else if (!schema.is_object()) {
            fail(documentUri, pointer,
                 std::string("a schema must be an object") + (draft == Draft::Draft4 ? "" : " or a boolean") +
                     ", got " + schema.type_name());
        }
        Node* node = newNode(documentUri, pointer, draft);
        compiled_[&schema] = node;
        if (schema.is_boolean()) {
            node->isFalse = !schema.get<bool>();
            return node;
        }
        if (auto ref = schema.find("$ref"); ref != schema.end()) {
            if (!ref->is_string()) fail(documentUri, pointer + "/$ref", "$ref must be a string");
            node->ref = compileRef(ref->get<std::string>(), parentBase, draft, documentUri, pointer + "/$ref", depth);
            return node;  // drafts 4-7: every keyword beside $ref is ignored
        }
        std::string base = parentBase;
        if (auto id = schema.find(draft == Draft::Draft4 ? "id" : "$id"); id != schema.end()) {
            if (!id->is_string()) fail(documentUri, pointer + "/" + id.key(), id.key() + " must be a string");
            base = detail::splitFragment(detail::resolveUri(parentBase, id->get_ref<const std::string&>())).first;
        }
        Where w{schema, node, base, documentUri, pointer, draft, depth};
        compileAnyType(w);
        compileNumber(w);
        compileString(w);
        compileArray(w);
        compileObject(w);
        return node;
    }

    const Node* subschema(const Where& w, const json& child, const std::string& suffix, bool booleanOk = false) {
        return compile(child, w.base, w.documentUri, w.pointer + suffix, w.draft, w.depth + 1, booleanOk);
    }

    const Node* compileRef(const std::string& ref, const std::string& base, Draft draft, const std::string& documentUri,
                           const std::string& refPointer, int depth) {
        std::string target = detail::resolveUri(base, ref);
        auto [targetDocument, rawFragment] = detail::splitFragment(target);
        std::string fragment = detail::percentDecode(rawFragment);
        auto unresolved = [&](const std::string& why) {
            fail(documentUri, refPointer, "cannot resolve $ref \"" + ref + "\" (" + target + "): " + why);
        };
        if (fragment.empty() || fragment[0] != '/') {
            // Whole document, or a plain-name fragment declared with "$id": "#name".
            const SchemaStore::Resource* resource = lookup(fragment.empty() ? targetDocument : target);
            if (resource == nullptr) unresolved("no schema with that URI is loaded");
            return compile(*resource->node, resource->parentBase, resource->documentUri, resource->pointer,
                           resource->draft.value_or(draft), depth + 1, false);
        }
        const SchemaStore::Resource* resource = lookup(targetDocument);
        if (resource == nullptr) unresolved("no schema with that URI is loaded");
        std::optional<std::vector<std::string>> tokens = detail::parsePointer(fragment);
        if (!tokens) unresolved("the fragment is not a valid JSON pointer");
        Draft targetDraft = resource->draft.value_or(draft);
        const json* current = resource->node;
        std::string currentBase = resource->parentBase;
        std::string pointer = resource->pointer;
        for (const std::string& token : *tokens) {
            // Leaving a schema with an $id moves the base URI for everything below it.
            if (const json* id = idOf(*current, targetDraft); id != nullptr && id->is_string()) {
                currentBase =
                    detail::splitFragment(detail::resolveUri(currentBase, id->get_ref<const std::string&>())).first;
            }
            if (current->is_object()) {
                auto child = current->find(token);
                if (child == current->end())
                    unresolved("there is no \"" + token + "\" at " + resource->documentUri + "#" + pointer);
                current = &*child;
            } else if (current->is_array()) {
                bool digits = !token.empty() && token.find_first_not_of("0123456789") == std::string::npos &&
                              (token.size() == 1 || token[0] != '0') && token.size() < 10;
                if (!digits || std::stoul(token) >= current->size()) {
                    unresolved("there is no item \"" + token + "\" at " + resource->documentUri + "#" + pointer);
                }
                current = &(*current)[std::stoul(token)];
            } else {
                unresolved("the pointer runs into a " + std::string(current->type_name()));
            }
            pointer += '/';  // not `"/" + token`: GCC 12 at -O3 warns falsely (-Wrestrict, GCC bug 105329)
            pointer += detail::escapePointerToken(token);
        }
        return compile(*current, currentBase, resource->documentUri, pointer, targetDraft, depth + 1, false);
    }

    // Reads a non-negative integer keyword (2.0 is accepted as 2).
    uint64_t readCount(const Where& w, const json& value, const std::string& keyword) const {
        if (value.is_number_unsigned()) return value.get<uint64_t>();
        if (value.is_number_integer() && value.get<int64_t>() >= 0) return static_cast<uint64_t>(value.get<int64_t>());
        if (value.is_number_float()) {
            double d = value.get<double>();
            if (d >= 0 && d < 1.8e19 && static_cast<double>(static_cast<uint64_t>(d)) == d)
                return static_cast<uint64_t>(d);
        }
        fail(w, keyword, keyword + " must be a non-negative integer, got " + value.dump());
    }

    Number readNumber(const Where& w, const json& value, const std::string& keyword) const {
        if (!value.is_number()) fail(w, keyword, keyword + " must be a number, got " + value.dump());
        return Number::fromJson(value);
    }

    std::vector<const Node*> readSchemaArray(const Where& w, const json& value, const std::string& keyword) {
        if (!value.is_array() || value.empty()) fail(w, keyword, keyword + " must be a non-empty array of schemas");
        std::vector<const Node*> nodes;
        for (size_t i = 0; i < value.size(); ++i)
            nodes.push_back(subschema(w, value[i], "/" + keyword + "/" + std::to_string(i)));
        return nodes;
    }

    std::shared_ptr<const RE2> regex(const Where& w, const std::string& source, const std::string& suffix,
                                     const std::string& keyword) {
        if (auto it = regexCache_.find(source); it != regexCache_.end()) return it->second;
        std::string error;
        std::unique_ptr<RE2> compiled = detail::compileRegex(source, options_.regexMaxMemory, &error);
        if (!compiled) {
            fail(w.documentUri, w.pointer + suffix,
                 keyword + " \"" + source + "\" cannot be used: RE2 rejects it: " + error);
        }
        std::shared_ptr<const RE2> shared = std::move(compiled);
        regexCache_[source] = shared;
        return shared;
    }

    const json* find(const Where& w, const char* keyword) const {
        auto it = w.schema.find(keyword);
        return it == w.schema.end() ? nullptr : &*it;
    }

    void compileAnyType(const Where& w) {
        Node& n = *w.node;
        if (const json* type = find(w, "type")) {
            auto bit = [&](const json& name) -> uint8_t {
                static constexpr std::pair<const char*, uint8_t> kNames[] = {
                    {"null", detail::kTypeNull},      {"boolean", detail::kTypeBoolean},
                    {"object", detail::kTypeObject},  {"array", detail::kTypeArray},
                    {"number", detail::kTypeNumber},  {"string", detail::kTypeString},
                    {"integer", detail::kTypeInteger}};
                if (name.is_string()) {
                    for (const auto& [text, value] : kNames) {
                        if (name.get_ref<const std::string&>() == text) return value;
                    }
                }
                fail(w, "type",
                     "unknown type " + name.dump() +
                         " (expected null, boolean, object, array, number, string or integer)");
            };
            if (type->is_array()) {
                if (type->empty()) fail(w, "type", "type must not be an empty array");
                for (const json& name : *type) n.types |= bit(name);
            } else {
                n.types = bit(*type);
            }
        }
        if (const json* values = find(w, "enum")) {
            if (!values->is_array()) fail(w, "enum", "enum must be an array");
            n.hasEnum = true;
            n.enumValues.assign(values->begin(), values->end());
        }
        if (const json* value = find(w, "const"); value != nullptr && w.draft != Draft::Draft4) {
            n.hasConst = true;
            n.constValue = *value;
            if (value->is_number()) n.constNumber = Number::fromJson(*value);
        }
        if (const json* v = find(w, "allOf")) n.allOf = readSchemaArray(w, *v, "allOf");
        if (const json* v = find(w, "anyOf")) n.anyOf = readSchemaArray(w, *v, "anyOf");
        if (const json* v = find(w, "oneOf")) n.oneOf = readSchemaArray(w, *v, "oneOf");
        if (const json* v = find(w, "not")) n.notSchema = subschema(w, *v, "/not");
        if (w.draft == Draft::Draft7) {
            const json* ifValue = find(w, "if");
            const json* thenValue = find(w, "then");
            const json* elseValue = find(w, "else");
            const Node* ifNode = ifValue ? subschema(w, *ifValue, "/if") : nullptr;
            const Node* thenNode = thenValue ? subschema(w, *thenValue, "/then") : nullptr;
            const Node* elseNode = elseValue ? subschema(w, *elseValue, "/else") : nullptr;
            if (ifNode != nullptr && (thenNode != nullptr || elseNode != nullptr)) {  // otherwise annotations only
                n.ifSchema = ifNode;
                n.thenSchema = thenNode;
                n.elseSchema = elseNode;
            }
        }
        if (const json* definitions = find(w, "definitions")) {
            // Compiled eagerly so mistakes in unused definitions still surface at load time.
            if (!definitions->is_object()) fail(w, "definitions", "definitions must be an object");
            for (auto it = definitions->begin(); it != definitions->end(); ++it) {
                subschema(w, *it, "/definitions/" + detail::escapePointerToken(it.key()));
            }
        }
    }

    void compileNumber(const Where& w) {
        Node& n = *w.node;
        if (const json* v = find(w, "multipleOf")) {
            n.multipleOf = readNumber(w, *v, "multipleOf");
            if (n.multipleOf->toDouble() <= 0) fail(w, "multipleOf", "multipleOf must be greater than 0");
        }
        if (const json* v = find(w, "maximum")) n.maximum = readNumber(w, *v, "maximum");
        if (const json* v = find(w, "minimum")) n.minimum = readNumber(w, *v, "minimum");
        auto exclusive = [&](const char* keyword, std::optional<Number>& bound, std::optional<Number>& out) {
            const json* v = find(w, keyword);
            if (v == nullptr) return;
            const std::string name = keyword;
            if (w.draft == Draft::Draft4) {
                if (!v->is_boolean()) {
                    fail(w, name,
                         "in draft 4 " + name + " is a boolean modifier of " +
                             (name == "exclusiveMaximum" ? "maximum" : "minimum") +
                             "; the numeric form needs draft 6 or 7");
                }
                if (!v->get<bool>()) return;
                if (!bound)
                    fail(w, name, name + ": true needs " + (name == "exclusiveMaximum" ? "maximum" : "minimum"));
                out = bound;
                bound.reset();
            } else {
                if (v->is_boolean()) {
                    fail(w, name,
                         "in draft 6/7 " + name +
                             " is a number; the boolean form is draft 4 (set \"$schema\": "
                             "\"http://json-schema.org/draft-04/schema#\")");
                }
                out = readNumber(w, *v, name);
            }
        };
        exclusive("exclusiveMaximum", n.maximum, n.exclusiveMaximum);
        exclusive("exclusiveMinimum", n.minimum, n.exclusiveMinimum);
    }

    void compileString(const Where& w) {
        Node& n = *w.node;
        if (const json* v = find(w, "maxLength")) n.maxLength = readCount(w, *v, "maxLength");
        if (const json* v = find(w, "minLength")) n.minLength = readCount(w, *v, "minLength");
        if (const json* v = find(w, "pattern")) {
            if (!v->is_string()) fail(w, "pattern", "pattern must be a string");
            n.patternSource = v->get<std::string>();
            n.pattern = regex(w, n.patternSource, "/pattern", "pattern");
        }
        if (const json* v = find(w, "format")) {
            if (!v->is_string()) fail(w, "format", "format must be a string");
            n.formatName = v->get<std::string>();
            // Unknown formats stay annotations, as the drafts require.
            n.format = options_.assertFormat ? detail::formatFromName(n.formatName) : detail::Format::None;
        }
        if (w.draft == Draft::Draft7 && options_.assertContent) {
            if (const json* v = find(w, "contentEncoding"); v != nullptr && v->is_string()) {
                n.contentBase64 = *v == "base64";
            }
            if (const json* v = find(w, "contentMediaType"); v != nullptr && v->is_string()) {
                n.contentJson = *v == "application/json";
            }
        }
    }

    void compileArray(const Where& w) {
        Node& n = *w.node;
        bool itemsIsArray = false;
        if (const json* v = find(w, "items")) {
            if (v->is_array()) {
                itemsIsArray = true;
                for (size_t i = 0; i < v->size(); ++i)
                    n.itemsArray.push_back(subschema(w, (*v)[i], "/items/" + std::to_string(i)));
            } else {
                n.items = subschema(w, *v, "/items");
            }
        }
        if (const json* v = find(w, "additionalItems")) {
            const Node* additional = subschema(w, *v, "/additionalItems", true);
            if (itemsIsArray) n.additionalItems = additional;  // ignored without the array form of items
        }
        if (const json* v = find(w, "maxItems")) n.maxItems = readCount(w, *v, "maxItems");
        if (const json* v = find(w, "minItems")) n.minItems = readCount(w, *v, "minItems");
        if (const json* v = find(w, "uniqueItems")) {
            if (!v->is_boolean()) fail(w, "uniqueItems", "uniqueItems must be a boolean");
            n.uniqueItems = v->get<bool>();
        }
        if (const json* v = find(w, "contains"); v != nullptr && w.draft != Draft::Draft4) {
            n.contains = subschema(w, *v, "/contains");
        }
    }

    std::vector<std::string> readStringArray(const Where& w, const json& value, const std::string& keyword) const {
        if (!value.is_array()) fail(w, keyword, keyword + " must be an array of strings");
        std::vector<std::string> names;
        for (const json& name : value) {
            if (!name.is_string()) fail(w, keyword, keyword + " must be an array of strings, found " + name.dump());
            names.push_back(name.get<std::string>());
        }
        return names;
    }

    void compileObject(const Where& w) {
        Node& n = *w.node;
        std::map<std::string, detail::PropertyEntry, std::less<>> entries;
        auto entry = [&](const std::string& name) -> detail::PropertyEntry& {
            detail::PropertyEntry& e = entries[name];
            e.name = name;
            return e;
        };
        if (const json* v = find(w, "maxProperties")) n.maxProperties = readCount(w, *v, "maxProperties");
        if (const json* v = find(w, "minProperties")) n.minProperties = readCount(w, *v, "minProperties");
        if (const json* v = find(w, "properties")) {
            if (!v->is_object()) fail(w, "properties", "properties must be an object");
            for (auto it = v->begin(); it != v->end(); ++it) {
                entry(it.key()).schema = subschema(w, *it, "/properties/" + detail::escapePointerToken(it.key()));
            }
        }
        if (const json* v = find(w, "required")) {
            for (const std::string& name : readStringArray(w, *v, "required")) {
                detail::PropertyEntry& e = entry(name);
                if (e.requiredSlot >= 0) continue;  // listed twice
                e.requiredSlot = static_cast<int>(n.required.size());
                n.required.push_back(name);
            }
        }
        if (const json* v = find(w, "patternProperties")) {
            if (!v->is_object()) fail(w, "patternProperties", "patternProperties must be an object");
            for (auto it = v->begin(); it != v->end(); ++it) {
                std::string suffix = "/patternProperties/" + detail::escapePointerToken(it.key());
                detail::PatternSchema p;
                p.source = it.key();
                p.regex = regex(w, it.key(), suffix, "patternProperties pattern");
                p.schema = subschema(w, *it, suffix);
                n.patternProperties.push_back(std::move(p));
            }
        }
        if (const json* v = find(w, "additionalProperties")) {
            n.additionalProperties = subschema(w, *v, "/additionalProperties", true);
        }
        if (const json* v = find(w, "dependencies")) {
            if (!v->is_object()) fail(w, "dependencies", "dependencies must be an object");
            for (auto it = v->begin(); it != v->end(); ++it) {
                detail::Dependency dependency;
                dependency.name = it.key();
                std::string suffix = "/dependencies/" + detail::escapePointerToken(it.key());
                if (it->is_array()) {
                    dependency.required =
                        readStringArray(w, *it, "dependencies/" + detail::escapePointerToken(it.key()));
                } else {
                    dependency.schema = subschema(w, *it, suffix);
                }
                entry(it.key()).dependency = static_cast<int>(n.dependencies.size());
                n.dependencies.push_back(std::move(dependency));
            }
        }
        if (const json* v = find(w, "propertyNames"); v != nullptr && w.draft != Draft::Draft4) {
            n.propertyNames = subschema(w, *v, "/propertyNames");
        }
        for (auto& [name, e] : entries) {  // std::map keeps them sorted
            e.prefix = Node::keyPrefix(e.name);
            n.properties.push_back(std::move(e));
        }
    }

    // A cycle of keywords that apply a schema to the same instance ($ref, allOf, anyOf, oneOf, not,
    // if/then/else, schema dependencies) would recurse forever, e.g. {"$ref": "#"} at the root.
    void rejectRefCycles() const {
        enum : uint8_t { kNew, kOnStack, kDone };
        std::vector<uint8_t> state(out_.nodes.size(), kNew);
        struct Frame {
            const Node* node;
            std::vector<const Node*> next;
            size_t position = 0;
        };
        auto sameInstanceChildren = [](const Node& n) {
            std::vector<const Node*> next;
            if (n.ref != nullptr) next.push_back(n.ref);
            next.insert(next.end(), n.allOf.begin(), n.allOf.end());
            next.insert(next.end(), n.anyOf.begin(), n.anyOf.end());
            next.insert(next.end(), n.oneOf.begin(), n.oneOf.end());
            for (const Node* child : {n.notSchema, n.ifSchema, n.thenSchema, n.elseSchema}) {
                if (child != nullptr) next.push_back(child);
            }
            for (const detail::Dependency& d : n.dependencies) {
                if (d.schema != nullptr) next.push_back(d.schema);
            }
            return next;
        };
        for (const auto& start : out_.nodes) {
            if (state[start->index] != kNew) continue;
            std::vector<Frame> stack;
            stack.push_back({start.get(), sameInstanceChildren(*start)});
            state[start->index] = kOnStack;
            while (!stack.empty()) {
                Frame& top = stack.back();
                if (top.position == top.next.size()) {
                    state[top.node->index] = kDone;
                    stack.pop_back();
                    continue;
                }
                const Node* child = top.next[top.position++];
                if (state[child->index] == kOnStack) {
                    std::string path;
                    bool inCycle = false;
                    for (const Frame& frame : stack) {
                        inCycle = inCycle || frame.node == child;
                        if (inCycle) path += frame.node->location + " -> ";
                    }
                    throw SchemaLoadError(child->location + ": $ref cycle that never moves into the instance (" + path +
                                          child->location + "); validating would recurse forever");
                }
                if (state[child->index] == kNew) {
                    state[child->index] = kOnStack;
                    stack.push_back({child, sameInstanceChildren(*child)});
                }
            }
        }
    }

    const SchemaStore& store_;
    const CompileOptions& options_;
    CompiledSchema::Impl& out_;
    Registry local_;  // the root document and its $ids, consulted before the store
    std::unordered_map<const json*, Node*> compiled_;
    std::map<std::string, std::shared_ptr<const RE2>> regexCache_;
};

}  // namespace

// ---- SchemaStore -------------------------------------------------------------------------------

SchemaStore::SchemaStore() {
    for (const detail::BundledSchema& schema : detail::bundledMetaschemas()) {
        add(std::string(schema.uri), json::parse(schema.text));
    }
}

void SchemaStore::add(const std::string& uri, json document) {
    auto [documentUri, fragment] = detail::splitFragment(uri);
    if (!fragment.empty()) throw SchemaLoadError(uri + ": a schema document URI must not have a fragment");
    // Replacing a document also forgets the $ids its previous version declared.
    for (auto it = resources_.begin(); it != resources_.end();) {
        it = it->second.documentUri == documentUri ? resources_.erase(it) : std::next(it);
    }
    std::optional<Draft> draft = declaredDraft(document);
    registerDocument(resources_, std::make_shared<const json>(std::move(document)), documentUri, draft);
}

void SchemaStore::addDirectory(const std::filesystem::path& dir) {
    std::error_code error;
    if (!std::filesystem::is_directory(dir, error)) throw SchemaLoadError(dir.string() + ": not a directory");
    std::vector<std::filesystem::path> files;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, error);
         !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
        if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
    }
    if (error) throw SchemaLoadError(dir.string() + ": " + error.message());
    std::sort(files.begin(), files.end());  // deterministic: later files win identical $ids the same way each time
    for (const std::filesystem::path& file : files) {
        json document;
        try {
            document = json::parse(readFile(file));
        } catch (const json::exception& e) {
            throw SchemaLoadError(file.string() + ": invalid JSON: " + e.what());
        }
        add(fileUri(file), std::move(document));
    }
}

const json* SchemaStore::find(const std::string& uri) const {
    const Resource* resource = lookup(detail::stripEmptyFragment(uri));
    return resource == nullptr ? nullptr : resource->node;
}

const SchemaStore::Resource* SchemaStore::lookup(const std::string& uri) const {
    auto it = resources_.find(uri);
    return it == resources_.end() ? nullptr : &it->second;
}

std::string SchemaStore::fileUri(const std::filesystem::path& path) {
    std::string text = std::filesystem::absolute(path).lexically_normal().generic_string();
    std::string out = "file://";
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (unsigned char c : text) {
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-._~/!$&'()*+,;=:@").find(static_cast<char>(c)) != std::string_view::npos;
        if (safe) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

// ---- CompiledSchema ----------------------------------------------------------------------------

CompiledSchema::CompiledSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompiledSchema::~CompiledSchema() = default;

std::shared_ptr<const CompiledSchema> CompiledSchema::compile(const json& root, const std::string& uri,
                                                              const SchemaStore& store) {
    return compile(root, uri, store, CompileOptions{});
}

std::shared_ptr<const CompiledSchema> CompiledSchema::compile(const json& root, const std::string& uri,
                                                              const SchemaStore& store, const CompileOptions& options) {
    auto impl = std::make_unique<Impl>();
    Compiler compiler(store, options, *impl);
    compiler.compileRoot(root, uri);
    return std::shared_ptr<const CompiledSchema>(new CompiledSchema(std::move(impl)));
}

bool CompiledSchema::validate(simdjson::dom::element instance, std::vector<SchemaError>* errors,
                              size_t max_errors) const {
    try {
        return detail::validateInstance(impl_->root, instance, errors, max_errors);
    } catch (...) {  // only std::bad_alloc while building error messages can get here
        return false;
    }
}

Draft CompiledSchema::draft() const {
    return impl_->draft;
}

size_t CompiledSchema::nodeCount() const {
    return impl_->nodes.size();
}

// ---- Node --------------------------------------------------------------------------------------

namespace detail {

void Node::finalise() {
    hasGeneric = hasEnum || hasConst || !allOf.empty() || !anyOf.empty() || !oneOf.empty() || notSchema != nullptr ||
                 ifSchema != nullptr;
    hasNumber = minimum || maximum || exclusiveMinimum || exclusiveMaximum || multipleOf;
    hasString = minLength || maxLength || pattern != nullptr || format != Format::None || contentBase64 || contentJson;
    hasArray = items != nullptr || !itemsArray.empty() || additionalItems != nullptr || minItems || maxItems ||
               uniqueItems || contains != nullptr;
    hasObject = !properties.empty() || !patternProperties.empty() || additionalProperties != nullptr ||
                propertyNames != nullptr || minProperties || maxProperties;
    trivial =
        !isFalse && ref == nullptr && types == 0 && !hasGeneric && !hasNumber && !hasString && !hasArray && !hasObject;
}

uint64_t Node::keyPrefix(std::string_view key) {
    uint64_t prefix = 0;
    std::memcpy(&prefix, key.data(), std::min<size_t>(key.size(), sizeof prefix));
    return prefix;
}

const PropertyEntry* Node::findProperty(std::string_view key) const {
    if (properties.size() <= 8) {  // a short linear scan beats binary search for typical payload schemas
        uint64_t prefix = keyPrefix(key);
        for (const PropertyEntry& entry : properties) {
            if (entry.prefix == prefix && entry.name.size() == key.size() &&
                (key.size() <= sizeof prefix ||
                 std::memcmp(entry.name.data() + sizeof prefix, key.data() + sizeof prefix,
                             key.size() - sizeof prefix) == 0)) {
                return &entry;
            }
        }
        return nullptr;
    }
    auto it = std::lower_bound(properties.begin(), properties.end(), key,
                               [](const PropertyEntry& entry, std::string_view k) { return entry.name < k; });
    return it != properties.end() && it->name == key ? &*it : nullptr;
}

}  // namespace detail

}  // namespace mqs::jsonschema
