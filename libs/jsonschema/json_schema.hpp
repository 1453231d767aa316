// JSON Schema (draft 4, 6, 7) validator for untrusted MQTT payloads: public interface.
// Schemas are compiled once at configuration load; validate() runs per message on simdjson DOM values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>
#include <nlohmann/json.hpp>

namespace mqs::jsonschema {

// One validation failure.
struct SchemaError {
    std::string pointer;  // RFC 6901 pointer into the INSTANCE, "" = root, e.g. "/temp" or "/items/3"
    std::string message;  // e.g. "45.2 is greater than the maximum 40"
    std::string keyword;  // the failing keyword, e.g. "maximum"
    std::string
        schemaLocation;  // where that keyword sits in the schema, e.g. "file:///x.json#/properties/temp/maximum"
};

// Thrown by SchemaStore and CompiledSchema::compile; the message names the file or schema location.
class SchemaLoadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class Draft { Draft4 = 4, Draft6 = 6, Draft7 = 7 };

struct CompileOptions {
    Draft defaultDraft = Draft::Draft7;  // used when the root schema has no "$schema"
    bool assertFormat = true;            // check the formats we know; false treats "format" as an annotation
    bool assertContent = true;           // draft 7 contentEncoding "base64" / contentMediaType "application/json"
    int64_t regexMaxMemory = 4 << 20;    // RE2 max_mem per pattern (bytes); bigger patterns fail to compile
};

// Holds schema documents by absolute URI so $ref can reach other files. Built once at config load
// (not on the hot path). The draft-04, draft-06 and draft-07 meta-schemas are always present.
class SchemaStore {
public:
    // A schema reachable by URI: a document root or a subschema with its own "$id"/"id".
    struct Resource {
        std::shared_ptr<const nlohmann::json> document;  // keeps `node` alive
        const nlohmann::json* node = nullptr;
        std::string documentUri;     // the URI the document was added under
        std::string pointer;         // JSON pointer of `node` inside the document
        std::string parentBase;      // base URI in force around `node` (its own $id not yet applied)
        std::optional<Draft> draft;  // from the document's "$schema", if any
    };

    SchemaStore();

    // Registers `document` under `uri` (fragment must be empty) and every "$id"/"id" found inside it.
    // A later add() under the same URI replaces the earlier document and the $ids it declared.
    void add(const std::string& uri, nlohmann::json document);

    // Adds every *.json below `dir` (recursive), URI = fileUri(absolute path).
    // Throws SchemaLoadError naming the file on unreadable files or bad JSON.
    void addDirectory(const std::filesystem::path& dir);

    // The schema registered under `uri` (a document or an embedded "$id"), or nullptr.
    const nlohmann::json* find(const std::string& uri) const;

    // Lookup used by the compiler; `uri` is absolute with an empty fragment stripped.
    const Resource* lookup(const std::string& uri) const;

    // "file://" URI for a path, made absolute and normalised, with unsafe bytes %-encoded.
    static std::string fileUri(const std::filesystem::path& path);

private:
    std::map<std::string, Resource, std::less<>> resources_;
};

// Immutable after compile; validate() is const and thread-compatible; never throws; no heap
// allocation on the success path for typical documents.
class CompiledSchema {
public:
    struct Impl;  // the compiled node tree, see json_schema_node.hpp

    // uri: the base URI of `root` (e.g. "file:///etc/x/warehouse.schema.json"); "$schema" selects
    // draft 4/6/7 (default options.defaultDraft); an unknown "$schema" is a SchemaLoadError.
    // Throws SchemaLoadError "<uri>#<pointer>: <problem>" for an invalid schema, an unresolvable $ref,
    // a $ref cycle that never consumes input, or a pattern RE2 cannot compile.
    // `root` and `store` are not referenced after compile() returns.
    static std::shared_ptr<const CompiledSchema> compile(const nlohmann::json& root, const std::string& uri,
                                                         const SchemaStore& store);
    static std::shared_ptr<const CompiledSchema> compile(const nlohmann::json& root, const std::string& uri,
                                                         const SchemaStore& store, const CompileOptions& options);

    // Returns true if valid. Appends at most max_errors errors (stops early once reached);
    // max_errors == 0 or errors == nullptr means just answer yes/no as fast as possible.
    bool validate(simdjson::dom::element instance, std::vector<SchemaError>* errors = nullptr,
                  size_t max_errors = 10) const;

    Draft draft() const;       // draft of the root schema
    size_t nodeCount() const;  // number of compiled schema nodes (diagnostics)

    ~CompiledSchema();
    CompiledSchema(const CompiledSchema&) = delete;
    CompiledSchema& operator=(const CompiledSchema&) = delete;

private:
    explicit CompiledSchema(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace mqs::jsonschema
