// Metrics registry; see metrics.hpp.
#include "common/metrics.hpp"

namespace mqs {

std::string sysTopic(std::string_view plugin, std::string_view instance, std::string_view suffix) {
    std::string topic;
    topic.reserve(14 + plugin.size() + instance.size() + suffix.size());
    topic.append("$SYS/plugins/").append(plugin).append("/").append(instance).append("/").append(suffix);
    return topic;
}

Metric& MetricsRegistry::get(const std::string& name) {
    auto& slot = metrics_[name];
    if (!slot) slot = std::make_unique<Metric>();
    return *slot;
}

std::vector<std::pair<std::string, int64_t>> MetricsRegistry::takeChanged() {
    std::vector<std::pair<std::string, int64_t>> changed;
    for (const auto& [name, metric] : metrics_) {
        int64_t v = metric->value();
        auto [it, inserted] = last_published_.try_emplace(name, v);
        if (inserted || it->second != v) {
            it->second = v;
            changed.emplace_back(name, v);
        }
    }
    return changed;
}

std::vector<std::pair<std::string, int64_t>> MetricsRegistry::all() const {
    std::vector<std::pair<std::string, int64_t>> out;
    for (const auto& [name, metric] : metrics_) out.emplace_back(name, metric->value());
    return out;
}

}  // namespace mqs
