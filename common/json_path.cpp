// JSON path parsing and lookup; see json_path.hpp.
#include "common/json_path.hpp"

#include <charconv>

namespace mqs {

JsonPath JsonPath::parse(std::string_view text) {
    JsonPath path;
    path.text_ = std::string(text);
    if (text.empty() || text == "$") return path;
    if (text.substr(0, 2) == "$.") text.remove_prefix(2);
    auto bad = [&](const std::string& why) { return std::invalid_argument(why + " in JSON path '" + path.text_ + "'"); };
    size_t i = 0;
    bool expect_key = true;
    while (i < text.size()) {
        if (text[i] == '[') {
            auto close = text.find(']', i);
            if (close == std::string_view::npos) throw bad("unclosed '['");
            size_t index = 0;
            auto digits = text.substr(i + 1, close - i - 1);
            auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
            if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
                throw bad("'[" + std::string(digits) + "]' is not an array index");
            }
            path.steps_.emplace_back(index);
            i = close + 1;
            expect_key = false;
        } else if (text[i] == '.') {
            if (expect_key) throw bad("empty key");
            ++i;
            expect_key = true;
        } else {
            if (!expect_key) throw bad("missing '.' before a key");
            auto end = text.find_first_of(".[", i);
            if (end == std::string_view::npos) end = text.size();
            path.steps_.emplace_back(std::string(text.substr(i, end - i)));
            i = end;
            expect_key = false;
        }
    }
    if (expect_key) throw bad("empty key");
    return path;
}

std::optional<simdjson::dom::element> JsonPath::resolve(simdjson::dom::element root) const {
    simdjson::dom::element current = root;
    for (const auto& step : steps_) {
        simdjson::simdjson_result<simdjson::dom::element> next;
        if (const auto* key = std::get_if<std::string>(&step)) {
            if (!current.is_object()) return std::nullopt;
            next = current.get_object().value_unsafe().at_key(*key);
        } else {
            if (!current.is_array()) return std::nullopt;
            next = current.get_array().value_unsafe().at(std::get<size_t>(step));
        }
        if (next.error() != simdjson::SUCCESS) return std::nullopt;
        current = next.value_unsafe();
    }
    return current;
}

}  // namespace mqs
