// Scripted loopback HTTP server for the delivery tests; see scripted_http_server.hpp.
// One connection at a time, which is all a single sink's sender thread ever opens.
#include "tests/unit/influx/scripted_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace mqs::influx::testing {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string gunzip(const std::string& in) {
    z_stream z{};
    inflateInit2(&z, 15 + 16);
    std::string out;
    char buf[65536];
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    int rc;
    do {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
    } while (rc == Z_OK);
    inflateEnd(&z);
    return out;
}

const char* reasonPhrase(int status) {
    switch (status) {
        case 200: return "OK";
        case 204: return "No Content";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 404: return "Not Found";
        case 413: return "Request Entity Too Large";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        default: return "Status";
    }
}

}  // namespace

std::string HttpRequest::header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
        if (k == lower(name)) return v;
    }
    return {};
}

ScriptedHttpServer::ScriptedHttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0) {
        throw std::runtime_error("scripted server: cannot listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
}

ScriptedHttpServer::~ScriptedHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
}

void ScriptedHttpServer::setHandler(Handler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
}

std::vector<HttpRequest> ScriptedHttpServer::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

size_t ScriptedHttpServer::requestCount() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
}

void ScriptedHttpServer::run() {
    while (!stop_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        serve(fd);
    }
}

void ScriptedHttpServer::serve(int fd) {
    std::string buffer;
    char chunk[65536];
    auto readMore = [&]() -> bool {
        while (!stop_) {
            pollfd p{fd, POLLIN, 0};
            int r = ::poll(&p, 1, 50);
            if (r == 0) continue;
            ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) return false;
            buffer.append(chunk, static_cast<size_t>(n));
            return true;
        }
        return false;
    };
    for (;;) {
        size_t head_end;
        while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
            if (!readMore()) {
                ::close(fd);
                return;
            }
        }
        HttpRequest req;
        std::string head = buffer.substr(0, head_end);
        size_t line_end = head.find("\r\n");
        std::string request_line = head.substr(0, line_end);
        size_t sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
        req.method = request_line.substr(0, sp1);
        req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
        size_t content_length = 0;
        size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
            size_t e = head.find("\r\n", pos);
            if (e == std::string::npos) e = head.size();
            std::string h = head.substr(pos, e - pos);
            size_t colon = h.find(':');
            if (colon != std::string::npos) {
                std::string name = lower(h.substr(0, colon));
                std::string value = h.substr(colon + 1);
                while (!value.empty() && value.front() == ' ') value.erase(0, 1);
                if (name == "content-length") content_length = std::stoul(value);
                req.headers.emplace_back(name, value);
            }
            pos = e + 2;
        }
        buffer.erase(0, head_end + 4);
        while (buffer.size() < content_length) {
            if (!readMore()) {
                ::close(fd);
                return;
            }
        }
        req.body = buffer.substr(0, content_length);
        buffer.erase(0, content_length);
        if (req.header("content-encoding") == "gzip") req.body = gunzip(req.body);

        Handler handler;
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(req);
            handler = handler_;
        }
        ScriptedResponse resp = handler(req);
        if (resp.delay.count() > 0) std::this_thread::sleep_for(resp.delay);
        if (resp.reset) {
            linger l{1, 0};  // RST on close
            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            ::close(fd);
            return;
        }
        std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + reasonPhrase(resp.status) + "\r\n";
        for (const auto& [k, v] : resp.headers) out += k + ": " + v + "\r\n";
        if (!resp.body.empty()) out += "Content-Type: application/json\r\n";
        out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n\r\n" + resp.body;
        size_t sent = 0;
        while (sent < out.size()) {
            ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                ::close(fd);
                return;
            }
            sent += static_cast<size_t>(n);
        }
    }
}

std::vector<std::string> bodyLines(const std::string& body) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < body.size()) {
        size_t e = body.find('\n', start);
        if (e == std::string::npos) e = body.size();
        if (e > start) out.push_back(body.substr(start, e - start));
        start = e + 1;
    }
    return out;
}

}  // namespace mqs::influx::testing
