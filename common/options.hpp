// Declared plugin options: every plugin_opt_* key is declared once (type, default, description, check),
// and the same table parses the broker's options, rejects unknown/duplicate keys and renders the docs table.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mqs {

enum class OptionType { String, Path, Integer, Duration, Bool, Enum, Size };

// A bad option: `option()` names the key (without the plugin_opt_ prefix).
class ConfigError : public std::runtime_error {
public:
    ConfigError(std::string option, const std::string& problem)
        : std::runtime_error("plugin_opt_" + option + ": " + problem), option_(std::move(option)) {}
    const std::string& option() const { return option_; }

private:
    std::string option_;
};

struct OptionSpec {
    std::string key;
    OptionType type = OptionType::String;
    std::optional<std::string> default_value;  // nullopt with required=false: the option is simply absent
    std::string description;
    bool required = false;
    std::vector<std::string> choices;        // Enum
    int64_t min = INT64_MIN;                 // Integer, Size (bytes), Duration (milliseconds)
    int64_t max = INT64_MAX;
    // Extra check on the raw text; returns an error message, or empty when fine.
    std::function<std::string(const std::string&)> check;
};

using RawOptions = std::vector<std::pair<std::string, std::string>>;

// Parsed values, immutable once built. Getters throw std::logic_error for undeclared keys (a programming error).
class OptionValues {
public:
    bool has(const std::string& key) const;
    const std::string& string(const std::string& key) const;
    int64_t integer(const std::string& key) const;
    bool boolean(const std::string& key) const;
    std::chrono::milliseconds duration(const std::string& key) const;
    uint64_t bytes(const std::string& key) const;

private:
    friend class OptionTable;
    const std::string& raw(const std::string& key) const;
    std::map<std::string, std::string> values_;
    std::map<std::string, OptionType> types_;
};

class OptionTable {
public:
    OptionTable& add(OptionSpec spec);
    // Throws ConfigError naming the first bad option. Keys may carry the "plugin_opt_" prefix or not.
    OptionValues parse(const RawOptions& given) const;
    // Markdown table: option | type | default | description (docs are checked against it).
    std::string markdown() const;
    const std::vector<OptionSpec>& specs() const { return specs_; }

private:
    std::vector<OptionSpec> specs_;
};

// Options every plugin declares the same way: its metrics instance name (one topic level) and how
// often changed metrics are published. Their docs rows are therefore identical across plugins.
OptionSpec instanceOption(const std::string& plugin);
OptionSpec metricsIntervalOption();

// Value parsers, exposed for rules files that use the same notations. Return nullopt on bad text.
std::optional<int64_t> parseInteger(const std::string& text);
std::optional<bool> parseBool(const std::string& text);
std::optional<std::chrono::milliseconds> parseDuration(const std::string& text);  // "250ms", "10s", "5m", "1h", "30" (s)
std::optional<uint64_t> parseSize(const std::string& text);                        // "512", "64KiB", "10MB", "1MiB"

}  // namespace mqs
