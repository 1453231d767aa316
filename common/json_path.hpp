// Field selectors into a JSON payload, shared by the plugins that read values out of messages:
// "temp", "sensors.temp", "values[0]", "a.b[2].c"; "$" (or "") selects the whole payload.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <simdjson.h>

namespace mqs {

// Immutable after parse; resolve() does not allocate.
class JsonPath {
public:
    // Throws std::invalid_argument naming the problem, e.g. "unclosed '[' in 'a[1'".
    static JsonPath parse(std::string_view text);

    std::optional<simdjson::dom::element> resolve(simdjson::dom::element root) const;
    const std::string& text() const { return text_; }
    bool isRoot() const { return steps_.empty(); }
    // The key when the path is one top-level member ("temp"), so a flat scan (flat_json.hpp) can answer it.
    const std::string* topLevelKey() const { return steps_.size() == 1 ? std::get_if<std::string>(&steps_[0]) : nullptr; }

private:
    std::string text_;
    std::vector<std::variant<std::string, size_t>> steps_;  // object key or array index
};

}  // namespace mqs
