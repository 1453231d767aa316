// mosquitto_influx.so writing over https to VictoriaMetrics with throwaway certificates: which sink TLS
// settings (ca_file, tls_verify) deliver, and that a refused certificate keeps every point until fixed.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/influx/influx_test_support.hpp"
#include "testing/mqtt_test_client.hpp"
#include "testing/tsdb_servers.hpp"
#include "tests/integration/influx/test_pki.hpp"

using namespace mqs::testing;
using namespace mqs::influx::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int kPoints = 20;
constexpr int64_t kFirstMs = 1732200000000;

enum class Ca { Signer, None, Other };  // what the sink's ca_file names (None: the system store)

struct TlsCase {
    std::string name;
    Ca ca;
    bool tls_verify;
    bool other_host_cert;  // the server presents a certificate for another host name
    bool refused;          // the plugin must refuse the server (libcurl's reason is its own wording)
};
std::ostream& operator<<(std::ostream& os, const TlsCase& c) { return os << c.name; }

class InfluxTls : public ::testing::TestWithParam<TlsCase> {
protected:
    static void SetUpTestSuite() {
        try {
            pki_ = std::make_unique<TestPki>();
        } catch (const std::exception& e) {
            pki_error_ = e.what();
        }
    }
    static void TearDownTestSuite() { pki_.reset(); }

    json sink(const std::string& url, Ca ca, bool tls_verify) const {
        json s = {{"name", "vm"}, {"type", "influxdb2"}, {"url", url}, {"org", "ares"}, {"bucket", "entrepot"},
                  {"connect_timeout", "1s"}, {"request_timeout", "2s"}};
        if (ca == Ca::Signer) s["ca_file"] = pki_->caFile();
        if (ca == Ca::Other) s["ca_file"] = pki_->otherCaFile();
        if (!tls_verify) s["tls_verify"] = false;  // omitted otherwise: verification is the default
        return s;
    }

    static inline std::unique_ptr<TestPki> pki_;
    static inline std::string pki_error_;
};

// Timestamps and values of the one temperature series, as exported.
std::vector<std::pair<int64_t, double>> samples(VictoriaProcess& vm) {
    std::vector<std::pair<int64_t, double>> out;
    for (const auto& series : vm.exportSeries("{__name__=\"entrepot_temp\"}")) {
        for (size_t i = 0; i < series["values"].size(); ++i) {
            out.emplace_back(series["timestamps"][i].get<int64_t>(), series["values"][i].get<double>());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::pair<int64_t, double>> published() {
    std::vector<std::pair<int64_t, double>> out;
    for (int i = 0; i < kPoints; ++i) out.emplace_back(kFirstMs + i * 1000, 20.0 + i);
    return out;
}

TEST_P(InfluxTls, HttpsSinkFollowsItsTlsSettings) {
    ASSERT_TRUE(pki_) << pki_error_;
    const TlsCase& c = GetParam();
    VictoriaProcess vm(ServerTls{c.other_host_cert ? pki_->otherHostCert() : pki_->serverCert(),
                                 c.other_host_cert ? pki_->otherHostKey() : pki_->serverKey(), pki_->caFile()});
    ASSERT_TRUE(vm.start()) << vm.log();
    ASSERT_EQ(vm.url().rfind("https://127.0.0.1:", 0), 0u);
    json rules = warehouseRules(sink(vm.url(), c.ca, c.tls_verify));
    auto broker = influxBroker(rules, "plugin_opt_precision ms\n");
    ASSERT_TRUE(broker->start()) << broker->log();
    Metrics metrics(broker->port());
    MqttTestClient pub("tls-sensor");
    ASSERT_TRUE(pub.connect(broker->port()));
    for (int i = 0; i < kPoints; ++i) ASSERT_TRUE(pub.publish("entrepot/sud/s1/v1", reading(kFirstMs + i * 1000, 20.0 + i), 1));

    std::vector<std::pair<int64_t, double>> got;
    if (!c.refused) {
        EXPECT_TRUE(waitFor([&] { return (got = samples(vm)) == published(); })) << got.size() << " samples\n" << broker->log();
        EXPECT_EQ(metrics.value("sinks/vm/failed"), 0);
        EXPECT_EQ(metrics.text("sinks/vm/last_error"), "");
        return;
    }

    // Refused: nothing reaches the server, every point waits in the spool, and the reason is named.
    ASSERT_TRUE(metrics.waitFor("sinks/vm/spooled_points_total", [](int64_t v) { return v == kPoints; }))
        << metrics.value("sinks/vm/spooled_points_total") << "\n" << broker->log();
    EXPECT_TRUE(metrics.waitFor("sinks/vm/retried", [](int64_t v) { return v >= 2; })) << broker->log();
    // Our part of the message is asserted; the reason after "no answer: " is libcurl's and OpenSSL's text.
    const std::string no_answer = "no answer: ";
    EXPECT_TRUE(metrics.waitForText("sinks/vm/last_error", [&](const std::string& t) {
        return t.rfind(no_answer, 0) == 0 && t.size() > no_answer.size();
    })) << "last_error: '" << metrics.text("sinks/vm/last_error") << "'";
    EXPECT_TRUE(broker->waitForLog("influx: sink 'vm': no answer: ")) << broker->log();
    EXPECT_TRUE(broker->waitForLog("; points are kept")) << broker->log();
    EXPECT_EQ(metrics.value("sinks/vm/written"), 0);
    EXPECT_TRUE(samples(vm).empty());

    // Fixing the trust setting by a reload delivers the kept points, once each.
    json fixed = sink(vm.url(), Ca::Signer, !c.other_host_cert);
    broker->writeFile("rules.json", warehouseRules(fixed).dump(2));
    broker->reload();
    ASSERT_TRUE(broker->waitForLog("influx: reloaded: forwarding")) << broker->log();
    EXPECT_TRUE(waitFor([&] { return (got = samples(vm)) == published(); })) << got.size() << " samples\n" << broker->log();
    EXPECT_TRUE(metrics.waitFor("sinks/vm/spooled_bytes", [](int64_t v) { return v == 0; }));
    EXPECT_TRUE(metrics.waitForText("sinks/vm/last_error", [](const std::string& t) { return t.empty(); }))
        << "a recovered sink clears last_error, got '" << metrics.text("sinks/vm/last_error") << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InfluxTls,
    ::testing::Values(
        TlsCase{"signer_ca_delivers", Ca::Signer, true, false, false},
        TlsCase{"system_store_refuses", Ca::None, true, false, true},
        TlsCase{"other_ca_refuses", Ca::Other, true, false, true},
        TlsCase{"host_mismatch_refuses", Ca::Signer, true, true, true},
        TlsCase{"verify_off_without_ca_delivers", Ca::None, false, false, false},
        TlsCase{"verify_off_host_mismatch_delivers", Ca::Other, false, true, false}),
    [](const auto& param_info) { return param_info.param.name; });

}  // namespace
