// Rules-file reader shared by the plugins; see rules_reader.hpp for the message format.
#include "common/rules_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/log.hpp"
#include "common/options.hpp"

namespace mqs {
namespace {

using nlohmann::json;

std::string joinLocation(const std::string& file, const std::string& path, const std::string& problem) {
    return path.empty() ? file + ": " + problem : file + ": " + path + ": " + problem;
}

// How a value's type reads in "must be ... (not a string)".
const char* typeName(const json& v) {
    switch (v.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "an array";
        case json::value_t::string:
            return "a string";
        case json::value_t::boolean:
            return "true or false";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
            return "a whole number";
        case json::value_t::number_float:
            return "a number";
        default:
            return "something else";
    }
}

std::string joinNames(const std::vector<std::string_view>& names) {
    std::string list;
    for (auto n : names) {
        if (!list.empty()) list += ", ";
        list += n;
    }
    return list;
}

bool isPlainKey(std::string_view key) {
    if (key.empty()) return false;
    for (char c : key) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// "not valid JSON at line 3, column 7: <the parser's reason>"; the position is counted here from the byte offset.
std::string parseErrorText(std::string_view text, const json::parse_error& e) {
    size_t pos = e.byte > 0 ? std::min<size_t>(e.byte - 1, text.size()) : 0;
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < pos; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    std::string reason = e.what();
    // nlohmann's text is "[json.exception.parse_error.101] parse error at line 1, column 2: <reason>".
    if (auto column = reason.find(", column "); column != std::string::npos) {
        if (auto colon = reason.find(": ", column); colon != std::string::npos) reason = reason.substr(colon + 2);
    }
    return "not valid JSON at line " + std::to_string(line) + ", column " + std::to_string(pos - line_start + 1) +
           ": " + reason;
}

}  // namespace

RulesError::RulesError(std::string file, std::string path, std::string problem)
    : std::runtime_error(joinLocation(file, path, problem)),
      file_(std::move(file)),
      path_(std::move(path)),
      problem_(std::move(problem)) {}

RulesFile RulesFile::read(const std::filesystem::path& file) {
    const std::string name = file.string();
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(name.c_str(), "rb"), &std::fclose);
    if (!f) throw RulesError(name, "", std::string("cannot open: ") + std::strerror(errno));
    std::string text;
    char buf[16384];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) text.append(buf, n);
    // A directory opens but does not read (EISDIR).
    if (std::ferror(f.get())) throw RulesError(name, "", std::string("cannot read: ") + std::strerror(errno));
    return parse(text, name);
}

RulesFile RulesFile::parse(std::string_view text, std::string file) {
    try {
        return RulesFile(std::move(file), json::parse(text));
    } catch (const json::parse_error& e) {
        throw RulesError(std::move(file), "", parseErrorText(text, e));
    } catch (const json::exception& e) {
        // e.g. out_of_range.406 for a number like 1e999
        std::string reason = e.what();
        if (auto end = reason.find("] "); end != std::string::npos) reason = reason.substr(end + 2);
        throw RulesError(std::move(file), "", "not valid JSON: " + reason);
    }
}

RulesNode RulesFile::root() const {
    return RulesNode(&doc_, &file_, "");
}

const json& RulesNode::json() const {
    static const nlohmann::json absent;
    return value_ ? *value_ : absent;
}

void RulesNode::fail(std::string_view problem) const {
    throw RulesError(*file_, path_, std::string(problem));
}

RulesNode RulesNode::child(const nlohmann::json* value, std::string_view key) const {
    std::string path = path_;
    if (isPlainKey(key)) {
        if (!path.empty()) path += '.';
        path += key;
    } else {
        path += '[' + nlohmann::json(std::string(key)).dump() + ']';
    }
    return RulesNode(value, file_, std::move(path));
}

RulesNode RulesNode::get(std::string_view key) const {
    if (value_ && value_->is_object()) {
        auto it = value_->find(key);
        if (it != value_->end()) return child(&*it, key);
    }
    return child(nullptr, key);
}

std::optional<RulesNode> RulesNode::find(std::string_view key) const {
    RulesNode node = get(key);
    if (!node.present()) return std::nullopt;
    return node;
}

const json& RulesNode::expect(bool ok_type, std::string_view what) const {
    if (!value_) fail("is required (" + std::string(what) + ")");
    if (!ok_type) fail("must be " + std::string(what) + " (not " + typeName(*value_) + ")");
    return *value_;
}

void RulesNode::checkObject(const std::vector<std::string_view>& known) const {
    const auto& v = expect(json().is_object(), "an object");
    for (const auto& [key, value] : v.items()) {
        bool ok = false;
        for (auto k : known) ok = ok || k == key;
        if (!ok) child(&value, key).fail("unknown key (known: " + joinNames(known) + ")");
    }
}

std::vector<std::pair<std::string, RulesNode>> RulesNode::members() const {
    const auto& v = expect(json().is_object(), "an object");
    std::vector<std::pair<std::string, RulesNode>> out;
    for (auto it = v.begin(); it != v.end(); ++it) out.emplace_back(it.key(), child(&*it, it.key()));
    return out;
}

std::vector<RulesNode> RulesNode::elements() const {
    const auto& v = expect(json().is_array(), "an array");
    std::vector<RulesNode> out;
    for (size_t i = 0; i < v.size(); ++i) out.push_back(RulesNode(&v[i], file_, path_ + "[" + std::to_string(i) + "]"));
    return out;
}

std::string RulesNode::string() const {
    return expect(json().is_string(), "a string").get<std::string>();
}

bool RulesNode::boolean() const {
    return expect(json().is_boolean(), "true or false").get<bool>();
}

int64_t RulesNode::integer(int64_t min, int64_t max) const {
    const std::string what = "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    const auto& v = expect(json().is_number(), what);
    bool in_range = false;
    if (v.is_number_unsigned()) {
        uint64_t u = v.get<uint64_t>();
        in_range =
            u <= static_cast<uint64_t>(INT64_MAX) && static_cast<int64_t>(u) >= min && static_cast<int64_t>(u) <= max;
    } else if (v.is_number_integer()) {
        int64_t i = v.get<int64_t>();
        in_range = i >= min && i <= max;
    }
    if (!in_range) fail(v.dump() + " is not " + what);
    return v.get<int64_t>();
}

double RulesNode::number() const {
    double d = expect(json().is_number(), "a number").get<double>();
    if (!std::isfinite(d)) fail("must be a finite number");
    return d;
}

std::chrono::milliseconds RulesNode::duration() const {
    const auto& v = expect(json().is_string(), "a duration such as \"90s\" or \"5m\"");
    auto d = parseDuration(v.get<std::string>());
    if (!d) fail(quoteForLog(v.get<std::string>()) + " is not a duration such as 90s or 5m");
    return *d;
}

std::chrono::milliseconds RulesNode::positiveDuration() const {
    const auto& v = expect(json().is_string(), "a positive duration such as \"90s\" or \"5m\"");
    auto d = parseDuration(v.get<std::string>());
    if (!d || d->count() <= 0)
        fail(quoteForLog(v.get<std::string>()) + " is not a positive duration such as 90s or 5m");
    return *d;
}

uint64_t RulesNode::bytes() const {
    const auto& v = expect(json().is_number_unsigned() || json().is_string(), "a byte count such as 4096 or \"64KiB\"");
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    auto size = parseSize(v.get<std::string>());
    if (!size) fail(quoteForLog(v.get<std::string>()) + " is not a byte count such as 4096 or 64KiB");
    return *size;
}

size_t RulesNode::choiceIndex(const std::vector<std::string_view>& names) const {
    const std::string list = joinNames(names);
    const auto& v = expect(json().is_string(), "one of: " + list);
    const std::string& text = v.get_ref<const std::string&>();
    for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == text) return i;
    }
    fail(quoteForLog(text) + " is not one of: " + list);
}

std::string RulesNode::ruleName() const {
    std::string name = expect(json().is_string(), "a string").get<std::string>();
    if (name.empty()) fail("must not be empty");
    for (unsigned char c : name) {
        if (c == '/' || c == '+' || c == '#' || c < 0x20 || c == 0x7f) {
            fail(quoteForLog(name) + " must not contain '/', '+', '#' or control characters (it names metric topics)");
        }
    }
    return name;
}

std::string RulesNode::topicFilter() const {
    std::string filter = expect(json().is_string(), "a topic filter").get<std::string>();
    if (std::string problem = checkTopicFilter(filter); !problem.empty()) fail(problem);
    return filter;
}

TopicTemplate RulesNode::topicTemplate() const {
    const auto& v = expect(json().is_string(), "a topic filter or template");
    try {
        return TopicTemplate::parse(v.get_ref<const std::string&>());
    } catch (const std::invalid_argument& e) {
        fail(e.what());
    }
}

OutputTemplate RulesNode::outputTopic(const std::vector<std::string>& placeholders) const {
    const std::string& topic = expect(json().is_string(), "a topic").get_ref<const std::string&>();
    if (topic.empty() || topic.find_first_of("+#") != std::string::npos || topic[0] == '$') {
        fail(quoteForLog(topic) + " must be a non-empty topic without wildcards or a leading '$'");
    }
    return outputTemplate(placeholders);
}

OutputTemplate RulesNode::outputTemplate(const std::vector<std::string>& placeholders) const {
    const auto& v = expect(json().is_string(), "a string");
    try {
        return OutputTemplate::parse(v.get_ref<const std::string&>(), placeholders);
    } catch (const std::invalid_argument& e) {
        fail(e.what());
    }
}

JsonPath RulesNode::jsonPath() const {
    const auto& v = expect(json().is_string(), "a JSON path such as \"temp\"");
    try {
        return JsonPath::parse(v.get_ref<const std::string&>());
    } catch (const std::invalid_argument& e) {
        fail(e.what());
    }
}

}  // namespace mqs
