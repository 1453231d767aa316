// Broker-thread forwarding; see forwarder.hpp.
// Runs on the broker thread only; the sinks' threads live in SinkPipeline.
#include "influx/forwarder.hpp"

namespace mqs::influx {
namespace {

bool sameSink(const SinkConfig& a, const SinkConfig& b) {
    return a.name == b.name && a.kind == b.kind && a.url == b.url && a.database == b.database &&
           a.retention_policy == b.retention_policy && a.username == b.username && a.password == b.password &&
           a.org == b.org && a.bucket == b.bucket && a.token == b.token && a.gzip == b.gzip &&
           a.connect_timeout == b.connect_timeout && a.request_timeout == b.request_timeout && a.ca_file == b.ca_file &&
           a.tls_verify == b.tls_verify;
}

}  // namespace

SinkTransportMaker curlTransportMaker() {
    return [](const SinkConfig& sink, Precision precision) -> TransportFactory {
        return [sink, precision](const std::atomic<bool>* abort) { return makeCurlTransport(sink, precision, abort); };
    };
}

Forwarder::Forwarder(const Config& config, std::shared_ptr<const Mapping> mapping, MetricsRegistry& metrics,
                     const Clock& clock, SinkTransportMaker maker)
    : config_(config), mapping_(std::move(mapping)), metrics_(metrics), clock_(clock) {
    mapper_ = std::make_unique<Mapper>(mapping_, config_.precision, config_.limits, metrics_);
    for (const auto& sink : mapping_->sinks) {
        PipelineOptions options = config_.pipeline;
        options.spool.dir = std::filesystem::path(config_.spool_dir) / sink.name;
        try {
            pipelines_.push_back(
                std::make_unique<SinkPipeline>(sink, options, maker(sink, config_.precision), metrics_, reports_, clock_));
        } catch (const SpoolError& e) {
            stop();  // the sinks already started
            throw ConfigError("spool_dir", e.what());
        }
        dropped_.push_back(&metrics_.get("sinks/" + sink.name + "/dropped_full"));
        refused_.push_back(&metrics_.get("sinks/" + sink.name + "/refused_full"));
    }
    for (auto& p : pipelines_) p->start();
}

Forwarder::~Forwarder() { stop(); }

void Forwarder::stop() {
    for (auto& p : pipelines_) p->stop();
}

std::vector<SinkPipeline*> Forwarder::pipelines() {
    std::vector<SinkPipeline*> out;
    for (auto& p : pipelines_) out.push_back(p.get());
    return out;
}

bool Forwarder::sameSinks(const Config& config, const Mapping& mapping) const {
    if (config.spool_dir != config_.spool_dir || config.precision != config_.precision) return false;
    const PipelineOptions &a = config.pipeline, &b = config_.pipeline;
    if (a.queue_lines != b.queue_lines || a.batch_lines != b.batch_lines || a.batch_bytes != b.batch_bytes ||
        a.flush_interval != b.flush_interval || a.memory_bytes != b.memory_bytes || a.spool.max_bytes != b.spool.max_bytes ||
        a.spool.segment_bytes != b.spool.segment_bytes || a.spool.fsync != b.spool.fsync || a.retry_initial != b.retry_initial ||
        a.retry_max != b.retry_max || a.quarantine_max_bytes != b.quarantine_max_bytes || a.journal != b.journal ||
        a.journal_bytes != b.journal_bytes || a.journal_sync != b.journal_sync) {
        return false;
    }
    if (mapping.sinks.size() != mapping_->sinks.size()) return false;
    for (size_t i = 0; i < mapping.sinks.size(); ++i) {
        if (!sameSink(mapping.sinks[i], mapping_->sinks[i])) return false;
    }
    return true;
}

void Forwarder::replaceMapper(const Config& config, std::shared_ptr<const Mapping> mapping) {
    auto next = std::make_unique<Mapper>(mapping, config.precision, config.limits, metrics_);
    mapper_ = std::move(next);
    mapping_ = std::move(mapping);
    config_.limits = config.limits;
    config_.spool_full_policy = config.spool_full_policy;
    config_.metrics_interval = config.metrics_interval;
    config_.rules_file = config.rules_file;
    config_.instance = config.instance;
}

Verdict Forwarder::onMessage(std::string_view topic, const void* payload, size_t length, std::string& warning) {
    if (mapper_->map(topic, payload, length, ReceiveTime(clock_), line_, warning) != MapResult::Mapped) return Verdict::Pass;
    bool refused = false;
    for (size_t i = 0; i < pipelines_.size(); ++i) {
        if (pipelines_[i]->offer(line_)) continue;
        if (config_.spool_full_policy == SpoolFullPolicy::Drop) {
            dropped_[i]->add();
            warning = "sink '" + pipelines_[i]->sink().name + "' is full (queue, memory and spool): point dropped";
        } else {
            refused_[i]->add();
            refused = true;
            warning = "sink '" + pipelines_[i]->sink().name + "' is full (queue, memory and spool): disconnecting the publisher so it resends";
        }
    }
    return refused ? Verdict::Disconnect : Verdict::Pass;
}

}  // namespace mqs::influx
