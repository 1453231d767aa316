// Option table of mosquitto_influx.so; docs/influx.md's table is checked against it.
// Defaults live only here; config.hpp holds the parsed, immutable values.
#include "influx/config.hpp"

namespace mqs::influx {

const OptionTable& optionTable() {
    static const OptionTable table = [] {
        OptionTable t;
        t.add({.key = "rules_file", .type = OptionType::Path, .default_value = std::nullopt,
               .description = "JSON file with the sinks and the mapping rules (see Rules file). Re-read on SIGHUP.",
               .required = true});
        t.add({.key = "spool_dir", .type = OptionType::String, .default_value = "/var/lib/mosquitto/influx",
               .description = "Directory of the on-disk spools, one sub-directory per sink; created if missing.",
               .check = [](const std::string& v) -> std::string { return v.empty() ? "must not be empty" : ""; }});
        t.add(instanceOption("influx"));
        t.add({.key = "precision", .type = OptionType::Enum, .default_value = "ns",
               .description = "Timestamp precision of the lines and of the write URL. Checked here because InfluxDB 1.6.7 reads an unknown precision as `ns`.",
               .choices = {"ns", "us", "ms", "s"}});
        t.add({.key = "queue_size", .type = OptionType::Integer, .default_value = "100000",
               .description = "With `journal off`: points each sink's in-memory queue from the broker thread holds; when full the `spool_full_policy` applies (with the journal on, `journal_bytes` bounds the queue).",
               .min = 1, .max = 10'000'000});
        t.add({.key = "batch_size", .type = OptionType::Integer, .default_value = "5000",
               .description = "Points per write request (a batch is sent when it has this many, or `batch_bytes`, or after `flush_interval`).",
               .min = 1, .max = 1'000'000});
        t.add({.key = "batch_bytes", .type = OptionType::Size, .default_value = "1MiB",
               .description = "Bytes of line protocol per write request, before gzip.", .min = 1024, .max = 64ll << 20});
        t.add({.key = "flush_interval", .type = OptionType::Duration, .default_value = "200ms",
               .description = "Longest time a point waits for its batch to fill; timed by the plugin's own thread.",
               .min = 1, .max = 60'000});
        t.add({.key = "memory_limit", .type = OptionType::Size, .default_value = "64MiB",
               .description = "Batches each sink keeps in memory while the server is slow; beyond it they go to the spool.",
               .min = 0, .max = 16ll << 30});
        t.add({.key = "spool_max_bytes", .type = OptionType::Size, .default_value = "1GiB",
               .description = "Disk space each sink's spool may use; when full the `spool_full_policy` applies.",
               .min = 4096, .max = INT64_MAX});
        t.add({.key = "spool_segment_bytes", .type = OptionType::Size, .default_value = "16MiB",
               .description = "Size at which the spool starts a new segment file (acknowledged segments are deleted whole).",
               .min = 4096, .max = 1ll << 30});
        t.add({.key = "spool_fsync", .type = OptionType::Enum, .default_value = "batch",
               .description = "`batch`: fdatasync after every spooled batch (survives power loss); `never`: leave it to the kernel (survives a broker crash, not a power loss).",
               .choices = {"batch", "never"}});
        t.add({.key = "journal", .type = OptionType::Enum, .default_value = "on",
               .description = "`on`: the broker thread copies each accepted point into a memory-mapped file per sink (`<spool_dir>/<sink>/journal`) before the PUBACK, so a `kill -9` or crash of the broker loses none; `off`: an in-memory queue (a crash loses what it holds). A journal left with points in it is replayed either way.",
               .choices = {"on", "off"}});
        t.add({.key = "journal_bytes", .type = OptionType::Size, .default_value = "64MiB",
               .description = "Size of each sink's journal file, allocated at start; points not yet written or spooled fill it, and when full the `spool_full_policy` applies. Memory batches use at most a quarter of it.",
               .min = 64 << 10, .max = 64ll << 30});
        t.add({.key = "journal_sync_interval", .type = OptionType::Duration, .default_value = "0",
               .description = "`0`: the journal is left to the kernel (it survives a broker crash, not a power loss); otherwise msync it this often, so a power loss loses at most that much.",
               .min = 0, .max = 3'600'000});
        t.add({.key = "spool_full_policy", .type = OptionType::Enum, .default_value = "disconnect",
               .description = "When queue, memory and spool are all full: `disconnect` the publisher before its PUBACK (QoS 1/2 publishers resend), or `drop` the point with a counter.",
               .choices = {"disconnect", "drop"}});
        t.add({.key = "retry_initial", .type = OptionType::Duration, .default_value = "1s",
               .description = "First backoff delay after a failed write; doubled per attempt with jitter.", .min = 1,
               .max = 3'600'000});
        t.add({.key = "retry_max", .type = OptionType::Duration, .default_value = "60s",
               .description = "Longest backoff delay (a server's Retry-After may ask for longer, up to 1 h).", .min = 1,
               .max = 3'600'000});
        t.add({.key = "max_payload_bytes", .type = OptionType::Size, .default_value = "256KiB",
               .description = "Larger payloads are skipped unparsed (counted in `mapping/too_large`).", .min = 1,
               .max = 64ll << 20});
        t.add({.key = "max_fields", .type = OptionType::Integer, .default_value = "1000",
               .description = "Points with more fields are skipped (counted in `mapping/too_many_fields`).", .min = 1,
               .max = 100'000});
        t.add({.key = "max_line_bytes", .type = OptionType::Size, .default_value = "64KiB",
               .description = "Longer encoded lines are skipped (counted in `mapping/too_large`).", .min = 64,
               .max = 16ll << 20});
        t.add({.key = "quarantine_max_bytes", .type = OptionType::Size, .default_value = "64MiB",
               .description = "Size limit of each sink's `quarantine.lp` file of lines the server rejected.", .min = 0,
               .max = INT64_MAX});
        t.add(metricsIntervalOption());
        return t;
    }();
    return table;
}

Config parseConfig(const RawOptions& options) {
    OptionValues v = optionTable().parse(options);
    Config c;
    c.rules_file = v.string("rules_file");
    c.spool_dir = v.string("spool_dir");
    c.instance = v.string("instance");
    c.precision = *parsePrecision(v.string("precision"));
    c.spool_full_policy = v.string("spool_full_policy") == "drop" ? SpoolFullPolicy::Drop : SpoolFullPolicy::Disconnect;
    c.metrics_interval = v.duration("metrics_interval");
    c.pipeline.queue_lines = static_cast<size_t>(v.integer("queue_size"));
    c.pipeline.journal = v.string("journal") == "off" ? JournalMode::Off : JournalMode::On;
    c.pipeline.journal_bytes = v.bytes("journal_bytes");
    c.pipeline.journal_sync = v.duration("journal_sync_interval");
    c.pipeline.batch_lines = static_cast<size_t>(v.integer("batch_size"));
    c.pipeline.batch_bytes = v.bytes("batch_bytes");
    c.pipeline.flush_interval = v.duration("flush_interval");
    c.pipeline.memory_bytes = v.bytes("memory_limit");
    c.pipeline.spool.max_bytes = v.bytes("spool_max_bytes");
    c.pipeline.spool.segment_bytes = v.bytes("spool_segment_bytes");
    c.pipeline.spool.fsync = v.string("spool_fsync") == "never" ? FsyncPolicy::Never : FsyncPolicy::Batch;
    c.pipeline.retry_initial = v.duration("retry_initial");
    c.pipeline.retry_max = v.duration("retry_max");
    c.pipeline.quarantine_max_bytes = v.bytes("quarantine_max_bytes");
    c.limits.max_payload_bytes = v.bytes("max_payload_bytes");
    c.limits.max_fields = static_cast<size_t>(v.integer("max_fields"));
    c.limits.max_line_bytes = v.bytes("max_line_bytes");
    if (c.pipeline.journal_bytes < 4 * (c.limits.max_line_bytes + Journal::kRecordHeaderBytes)) {
        throw ConfigError("journal_bytes", "must be at least 4 x max_line_bytes (" +
                                               std::to_string(4 * c.limits.max_line_bytes) + " bytes)");
    }
    if (c.pipeline.retry_max < c.pipeline.retry_initial) throw ConfigError("retry_max", "must not be shorter than retry_initial");
    return c;
}

}  // namespace mqs::influx
