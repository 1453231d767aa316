// libcurl transport; see transport.hpp.
// One easy handle per sink, reused for keep-alive; aborts promptly when the plugin stops.
#include "influx/transport.hpp"

#include <curl/curl.h>
#include <zlib.h>

#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace mqs::influx {
namespace {

std::string urlEncode(CURL* curl, const std::string& text) {
    char* e = curl_easy_escape(curl, text.c_str(), static_cast<int>(text.size()));
    std::string out = e ? e : "";
    curl_free(e);
    return out;
}

std::string trimmed(std::string_view s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    return std::string(s);
}

// InfluxDB answers {"error": "..."} (1.x) or {"code": ..., "message": "..."} (2.x).
std::string serverMessage(const std::string& body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object()) {
        for (const char* key : {"error", "message"}) {
            if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>().substr(0, 1000);
        }
    }
    return trimmed(body.substr(0, 1000));
}

class CurlTransport final : public Transport {
public:
    CurlTransport(const SinkConfig& sink, Precision precision, const std::atomic<bool>* abort)
        : sink_(sink), abort_(abort), url_(writeUrl(sink, precision)) {
        static std::once_flag once;
        std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
        curl_ = curl_easy_init();
        if (curl_ == nullptr) throw std::runtime_error("curl_easy_init failed");
        headers_ = curl_slist_append(headers_, "Content-Type: text/plain; charset=utf-8");
        if (sink.kind == SinkKind::V2 && !sink.token.empty()) {
            headers_ = curl_slist_append(headers_, ("Authorization: Token " + sink.token).c_str());
        }
        if (sink.gzip) headers_ = curl_slist_append(headers_, "Content-Encoding: gzip");
        headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip on large batches
        curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
        curl_easy_setopt(curl_, CURLOPT_POST, 1L);
        curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
        curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(sink.connect_timeout.count()));
        curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(sink.request_timeout.count()));
        curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &CurlTransport::onBody);
        curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
        curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &CurlTransport::onHeader);
        curl_easy_setopt(curl_, CURLOPT_HEADERDATA, this);
        curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, &CurlTransport::onProgress);
        curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, this);
        curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_buffer_);
        if (sink.kind == SinkKind::V1 && !sink.username.empty()) {
            curl_easy_setopt(curl_, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
            curl_easy_setopt(curl_, CURLOPT_USERNAME, sink.username.c_str());
            curl_easy_setopt(curl_, CURLOPT_PASSWORD, sink.password.c_str());
        }
        if (!sink.ca_file.empty()) {
            // Replace the system store, not add to it: Debian's libcurl also has CApath /etc/ssl/certs.
            curl_easy_setopt(curl_, CURLOPT_CAINFO, sink.ca_file.c_str());
            curl_easy_setopt(curl_, CURLOPT_CAPATH, nullptr);
        }
        curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, sink.tls_verify ? 1L : 0L);
        curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, sink.tls_verify ? 2L : 0L);
    }

    ~CurlTransport() override {
        curl_easy_cleanup(curl_);
        curl_slist_free_all(headers_);
    }

    HttpResponse post(std::string_view body) override {
        HttpResponse r;
        body_.clear();
        retry_after_.clear();
        error_buffer_[0] = '\0';
        std::string compressed;
        if (sink_.gzip) {
            compressed = gzipCompress(body);
            body = compressed;
        }
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        CURLcode rc = curl_easy_perform(curl_);
        if (rc != CURLE_OK) {
            r.error = error_buffer_[0] ? error_buffer_ : curl_easy_strerror(rc);
            return r;
        }
        curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
        if (r.status < 200 || r.status > 299) r.message = serverMessage(body_);
        if (!retry_after_.empty()) r.retry_after = parseRetryAfter(retry_after_, std::chrono::system_clock::now());
        return r;
    }

private:
    static size_t onBody(char* data, size_t size, size_t count, void* self) {
        auto* t = static_cast<CurlTransport*>(self);
        size_t n = size * count;
        if (t->body_.size() < 4096) t->body_.append(data, std::min(n, 4096 - t->body_.size()));
        return n;
    }
    static size_t onHeader(char* data, size_t size, size_t count, void* self) {
        auto* t = static_cast<CurlTransport*>(self);
        size_t n = size * count;
        std::string_view line(data, n);
        constexpr std::string_view kName = "retry-after:";
        if (line.size() > kName.size() && curl_strnequal(line.data(), kName.data(), kName.size())) {
            t->retry_after_ = trimmed(line.substr(kName.size()));
        }
        return n;
    }
    static int onProgress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
        auto* t = static_cast<CurlTransport*>(self);
        return t->abort_ && t->abort_->load(std::memory_order_relaxed) ? 1 : 0;
    }

    SinkConfig sink_;
    const std::atomic<bool>* abort_;
    std::string url_;
    CURL* curl_ = nullptr;
    curl_slist* headers_ = nullptr;
    std::string body_;
    std::string retry_after_;
    char error_buffer_[CURL_ERROR_SIZE];
};

}  // namespace

std::unique_ptr<Transport> makeCurlTransport(const SinkConfig& sink, Precision precision, const std::atomic<bool>* abort) {
    return std::make_unique<CurlTransport>(sink, precision, abort);
}

std::string writeUrl(const SinkConfig& sink, Precision precision) {
    CURL* curl = curl_easy_init();
    std::string url = sink.url;
    if (sink.kind == SinkKind::V1) {
        url += "/write?db=" + urlEncode(curl, sink.database);
        if (!sink.retention_policy.empty()) url += "&rp=" + urlEncode(curl, sink.retention_policy);
    } else {
        url += "/api/v2/write?bucket=" + urlEncode(curl, sink.bucket);
        if (!sink.org.empty()) url += "&org=" + urlEncode(curl, sink.org);
    }
    url += std::string("&precision=") + precisionName(precision);
    curl_easy_cleanup(curl);
    return url;
}

std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now) {
    std::string v = trimmed(value);
    if (v.empty()) return std::nullopt;
    if (v.find_first_not_of("0123456789") == std::string::npos) {
        if (v.size() > 9) return std::chrono::hours(24);
        return std::chrono::seconds(std::stoll(v));
    }
    time_t when = curl_getdate(v.c_str(), nullptr);
    if (when < 0) return std::nullopt;
    auto delta = std::chrono::system_clock::from_time_t(when) - now;
    if (delta.count() < 0) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(delta);
}

std::string gzipCompress(std::string_view data) {
    z_stream z{};
    if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw std::runtime_error("deflateInit2 failed");
    }
    std::string out;
    out.resize(deflateBound(&z, static_cast<uLong>(data.size())) + 32);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) throw std::runtime_error("gzip compression failed");
    return out;
}

}  // namespace mqs::influx
