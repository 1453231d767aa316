// Option table parsing; see options.hpp.
#include "common/options.hpp"

#include <cctype>
#include <charconv>
#include <filesystem>
#include <set>

namespace mqs {
namespace {

const char* typeName(OptionType type) {
    switch (type) {
        case OptionType::String: return "string";
        case OptionType::Path: return "path";
        case OptionType::Integer: return "integer";
        case OptionType::Duration: return "duration";
        case OptionType::Bool: return "bool";
        case OptionType::Enum: return "enum";
        case OptionType::Size: return "size";
    }
    return "?";
}

std::string stripPrefix(const std::string& key) {
    static const std::string prefix = "plugin_opt_";
    return key.rfind(prefix, 0) == 0 ? key.substr(prefix.size()) : key;
}

std::string joinChoices(const std::vector<std::string>& choices) {
    std::string out;
    for (const auto& c : choices) out += (out.empty() ? "" : ", ") + c;
    return out;
}

// Checks one value against its spec; returns an error message or empty.
std::string checkValue(const OptionSpec& spec, const std::string& value) {
    auto outOfRange = [&](int64_t v) -> std::string {
        if (v < spec.min || v > spec.max) {
            return "'" + value + "' is out of range [" + std::to_string(spec.min) + ", " + std::to_string(spec.max) + "]";
        }
        return {};
    };
    switch (spec.type) {
        case OptionType::String:
            break;
        case OptionType::Path: {
            if (value.empty()) return "empty path";
            std::error_code ec;
            if (!std::filesystem::exists(value, ec)) return "cannot open '" + value + "': No such file or directory";
            break;
        }
        case OptionType::Integer: {
            auto v = parseInteger(value);
            if (!v) return "'" + value + "' is not an integer";
            if (auto e = outOfRange(*v); !e.empty()) return e;
            break;
        }
        case OptionType::Duration: {
            auto v = parseDuration(value);
            if (!v) return "'" + value + "' is not a duration (examples: 500ms, 10s, 5m, 1h)";
            if (auto e = outOfRange(v->count()); !e.empty()) return e + " milliseconds";
            break;
        }
        case OptionType::Bool:
            if (!parseBool(value)) return "'" + value + "' is not a boolean (true/false)";
            break;
        case OptionType::Enum: {
            bool known = false;
            for (const auto& c : spec.choices) known = known || c == value;
            if (!known) return "'" + value + "' is not one of: " + joinChoices(spec.choices);
            break;
        }
        case OptionType::Size: {
            auto v = parseSize(value);
            if (!v) return "'" + value + "' is not a size (examples: 4096, 64KiB, 10MB)";
            if (*v > static_cast<uint64_t>(INT64_MAX)) return "'" + value + "' is too large";
            if (auto e = outOfRange(static_cast<int64_t>(*v)); !e.empty()) return e + " bytes";
            break;
        }
    }
    if (spec.check) return spec.check(value);
    return {};
}

}  // namespace

OptionTable& OptionTable::add(OptionSpec spec) {
    specs_.push_back(std::move(spec));
    return *this;
}

OptionValues OptionTable::parse(const RawOptions& given) const {
    OptionValues out;
    std::set<std::string> seen;
    for (const auto& [raw_key, value] : given) {
        std::string key = stripPrefix(raw_key);
        const OptionSpec* spec = nullptr;
        for (const auto& s : specs_) {
            if (s.key == key) spec = &s;
        }
        if (spec == nullptr) {
            std::string known;
            for (const auto& s : specs_) known += (known.empty() ? "" : ", ") + s.key;
            throw ConfigError(key, "unknown option (known options: " + known + ")");
        }
        if (!seen.insert(key).second) throw ConfigError(key, "given more than once");
        if (auto problem = checkValue(*spec, value); !problem.empty()) throw ConfigError(key, problem);
        out.values_[key] = value;
    }
    for (const auto& spec : specs_) {
        out.types_[spec.key] = spec.type;
        if (out.values_.count(spec.key)) continue;
        if (spec.required) throw ConfigError(spec.key, "is required");
        if (spec.default_value) out.values_[spec.key] = *spec.default_value;
    }
    return out;
}

std::string OptionTable::markdown() const {
    std::string out = "| option | type | default | description |\n|---|---|---|---|\n";
    for (const auto& s : specs_) {
        std::string type = typeName(s.type);
        if (s.type == OptionType::Enum) type += " (" + joinChoices(s.choices) + ")";
        std::string def = s.required ? "required" : (s.default_value ? "`" + *s.default_value + "`" : "unset");
        out += "| `plugin_opt_" + s.key + "` | " + type + " | " + def + " | " + s.description + " |\n";
    }
    return out;
}

OptionSpec instanceOption(const std::string& plugin) {
    return {.key = "instance", .type = OptionType::String, .default_value = plugin,
            .description = "Name of this instance in metric topics `$SYS/plugins/" + plugin + "/<instance>/...`.",
            .check = [](const std::string& v) -> std::string {
                if (v.empty() || v.find_first_of("/+#") != std::string::npos) return "must be non-empty and contain no '/', '+' or '#'";
                return {};
            }};
}

OptionSpec metricsIntervalOption() {
    return {.key = "metrics_interval", .type = OptionType::Duration, .default_value = "10s",
            .description = "How often changed metrics are published; `0` disables them.", .min = 0};
}

bool OptionValues::has(const std::string& key) const { return values_.count(key) > 0; }

const std::string& OptionValues::raw(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) throw std::logic_error("option '" + key + "' has no value and no default");
    return it->second;
}

const std::string& OptionValues::string(const std::string& key) const { return raw(key); }
int64_t OptionValues::integer(const std::string& key) const { return *parseInteger(raw(key)); }
bool OptionValues::boolean(const std::string& key) const { return *parseBool(raw(key)); }
std::chrono::milliseconds OptionValues::duration(const std::string& key) const { return *parseDuration(raw(key)); }
uint64_t OptionValues::bytes(const std::string& key) const { return *parseSize(raw(key)); }

std::optional<int64_t> parseInteger(const std::string& text) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return v;
}

std::optional<bool> parseBool(const std::string& text) {
    if (text == "true" || text == "on" || text == "yes" || text == "1") return true;
    if (text == "false" || text == "off" || text == "no" || text == "0") return false;
    return std::nullopt;
}

namespace {
// Splits "10s" into 10 and "s"; the number must be a non-negative integer.
std::optional<std::pair<uint64_t, std::string>> splitNumberUnit(const std::string& text) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end == text.data()) return std::nullopt;
    std::string unit(end, text.data() + text.size());
    return std::make_pair(v, unit);
}
}  // namespace

std::optional<std::chrono::milliseconds> parseDuration(const std::string& text) {
    auto split = splitNumberUnit(text);
    if (!split) return std::nullopt;
    auto [v, unit] = *split;
    uint64_t factor;
    if (unit == "ms") factor = 1;
    else if (unit.empty() || unit == "s") factor = 1000;
    else if (unit == "m" || unit == "min") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else return std::nullopt;
    if (v > static_cast<uint64_t>(INT64_MAX) / factor) return std::nullopt;
    return std::chrono::milliseconds(static_cast<int64_t>(v * factor));
}

std::optional<uint64_t> parseSize(const std::string& text) {
    auto split = splitNumberUnit(text);
    if (!split) return std::nullopt;
    auto [v, unit] = *split;
    uint64_t factor;
    if (unit.empty() || unit == "B") factor = 1;
    else if (unit == "KB" || unit == "kB") factor = 1000;
    else if (unit == "KiB") factor = 1024;
    else if (unit == "MB") factor = 1000 * 1000;
    else if (unit == "MiB") factor = 1024 * 1024;
    else if (unit == "GB") factor = 1000ull * 1000 * 1000;
    else if (unit == "GiB") factor = 1024ull * 1024 * 1024;
    else return std::nullopt;
    if (v > UINT64_MAX / factor) return std::nullopt;
    return v * factor;
}

}  // namespace mqs
