// Topic filter matching and templates; see topic.hpp.
#include "common/topic.hpp"

#include <simdjson.h>

#include <stdexcept>

namespace mqs {
namespace {

// Splits off the next level; returns false when `rest` is exhausted.
bool nextLevel(std::string_view& rest, std::string_view& level, bool& done) {
    if (done) return false;
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
        level = rest;
        done = true;
    } else {
        level = rest.substr(0, slash);
        rest.remove_prefix(slash + 1);
    }
    return true;
}

}  // namespace

bool topicMatchesFilter(std::string_view filter, std::string_view topic) {
    if (!topic.empty() && topic[0] == '$' && !filter.empty() && (filter[0] == '+' || filter[0] == '#')) {
        return false;
    }
    std::string_view f_rest = filter, t_rest = topic, f_level, t_level;
    bool f_done = false, t_done = false;
    while (nextLevel(f_rest, f_level, f_done)) {
        if (f_level == "#") return true;  // matches the parent level too: "a/#" matches "a"
        if (!nextLevel(t_rest, t_level, t_done)) return false;
        if (f_level != "+" && f_level != t_level) return false;
    }
    return t_done;
}

std::string checkTopicFilter(std::string_view filter) {
    if (filter.empty()) return "empty topic filter";
    std::string_view rest = filter, level;
    bool done = false;
    while (nextLevel(rest, level, done)) {
        if (level.find_first_of("+#") != std::string_view::npos && level.size() > 1) {
            return "wildcard '+' or '#' must occupy a whole level in '" + std::string(filter) + "'";
        }
        if (level == "#" && !done) return "'#' must be the last level in '" + std::string(filter) + "'";
    }
    return {};
}

std::string checkPublishTopic(std::string_view topic) {
    constexpr size_t kMaxTopicBytes = 65'535;
    if (topic.empty()) return "empty topic";
    if (topic.size() > kMaxTopicBytes) {
        return "topic of " + std::to_string(topic.size()) + " bytes is longer than MQTT's 65535";
    }
    if (!simdjson::validate_utf8(topic.data(), topic.size())) return "topic is not valid UTF-8";
    for (size_t i = 0; i < topic.size(); ++i) {
        const auto byte = static_cast<unsigned char>(topic[i]);
        if (byte == '+' || byte == '#') return "topic contains the wildcard '" + std::string(1, topic[i]) + "'";
        if (byte == 0) return "topic contains a NUL character";
        if (byte < 0x20 || byte == 0x7F) return "topic contains a control character";
        // C1 controls U+0080..U+009F are encoded as 0xC2 0x80..0x9F.
        if (byte == 0xC2 && i + 1 < topic.size() && static_cast<unsigned char>(topic[i + 1]) <= 0x9F) {
            return "topic contains a control character";
        }
    }
    return {};
}

void Captures::set(std::string_view name, std::string_view value) {
    for (auto& [n, v] : entries_) {
        if (n == name) {
            v.assign(value);
            return;
        }
    }
    entries_.emplace_back(std::string(name), std::string(value));
}

std::optional<std::string_view> Captures::get(std::string_view name) const {
    for (const auto& [n, v] : entries_) {
        if (n == name) return std::string_view(v);
    }
    return std::nullopt;
}

TopicTemplate TopicTemplate::parse(std::string_view text) {
    TopicTemplate t;
    t.text_ = std::string(text);
    if (text.empty()) throw std::invalid_argument("empty topic template");
    std::string_view rest = text, level;
    bool done = false;
    while (nextLevel(rest, level, done)) {
        Level l;
        if (level.size() >= 2 && level.front() == '{' && level.back() == '}') {
            l.kind = Level::Kind::Capture;
            l.text = std::string(level.substr(1, level.size() - 2));
            if (l.text.empty() || l.text.find_first_of("{}+#") != std::string::npos) {
                throw std::invalid_argument("bad capture '" + std::string(level) + "' in topic template '" + t.text_ + "'");
            }
            for (const auto& existing : t.capture_names_) {
                if (existing == l.text) {
                    throw std::invalid_argument("capture '{" + l.text + "}' used twice in topic template '" + t.text_ + "'");
                }
            }
            t.capture_names_.push_back(l.text);
        } else if (level == "+") {
            l.kind = Level::Kind::Plus;
        } else if (level == "#") {
            if (!done) throw std::invalid_argument("'#' must be the last level in topic template '" + t.text_ + "'");
            l.kind = Level::Kind::Hash;
        } else {
            if (level.find_first_of("{}+#") != std::string_view::npos) {
                throw std::invalid_argument("level '" + std::string(level) + "' in topic template '" + t.text_ +
                                            "' mixes text with a placeholder or wildcard; use a whole level");
            }
            l.kind = Level::Kind::Literal;
            l.text = std::string(level);
        }
        if (!t.filter_.empty() || !t.levels_.empty()) t.filter_ += '/';
        t.filter_ += l.kind == Level::Kind::Literal ? l.text : (l.kind == Level::Kind::Hash ? "#" : "+");
        t.levels_.push_back(std::move(l));
    }
    return t;
}

bool TopicTemplate::match(std::string_view topic, Captures* captures) const {
    if (!topic.empty() && topic[0] == '$' && !levels_.empty() && levels_[0].kind != Level::Kind::Literal) return false;
    std::string_view rest = topic, level;
    bool done = false;
    // First pass decides; captures are only written once the whole topic matched.
    for (const auto& l : levels_) {
        if (l.kind == Level::Kind::Hash) {
            done = true;
            rest = {};
            break;
        }
        if (!nextLevel(rest, level, done)) return false;
        if (l.kind == Level::Kind::Literal && l.text != level) return false;
    }
    if (!done) return false;
    if (captures != nullptr) {
        rest = topic;
        done = false;
        for (const auto& l : levels_) {
            if (l.kind == Level::Kind::Hash || !nextLevel(rest, level, done)) break;
            if (l.kind == Level::Kind::Capture) captures->set(l.text, level);
        }
    }
    return true;
}

OutputTemplate OutputTemplate::parse(std::string_view text, const std::vector<std::string>& allowed) {
    OutputTemplate t;
    t.text_ = std::string(text);
    size_t pos = 0;
    while (pos < text.size()) {
        auto open = text.find('{', pos);
        if (open == std::string_view::npos) {
            t.pieces_.push_back({false, std::string(text.substr(pos))});
            break;
        }
        if (open > pos) t.pieces_.push_back({false, std::string(text.substr(pos, open - pos))});
        auto close = text.find('}', open);
        if (close == std::string_view::npos) {
            throw std::invalid_argument("unclosed '{' in template '" + t.text_ + "'");
        }
        std::string name(text.substr(open + 1, close - open - 1));
        bool known = false;
        for (const auto& a : allowed) known = known || a == name;
        if (!known) {
            std::string list;
            for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + ("{" + a + "}");
            throw std::invalid_argument("unknown placeholder '{" + name + "}' in template '" + t.text_ +
                                        "' (available: " + list + ")");
        }
        t.pieces_.push_back({true, std::move(name)});
        pos = close + 1;
    }
    return t;
}

std::string OutputTemplate::render(const Captures& values) const {
    std::string out;
    for (const auto& p : pieces_) {
        if (!p.is_name) {
            out += p.text;
        } else if (auto v = values.get(p.text)) {
            out += *v;
        }
    }
    return out;
}

}  // namespace mqs
