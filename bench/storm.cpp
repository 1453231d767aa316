// Reconnect storm and $CONTROL cost against a running broker (docs/benchmarks.md, "dynacl").
//
// 1. An unrelated stream: one publisher sends a QoS 0 message every 1/--stream-rate s, one
//    subscriber records when each arrives (libmosquitto, threaded loops).
// 2. --clients password clients connect (warm-up), then all drop their sockets at once without
//    DISCONNECT, as after a network blip, and all reconnect: the storm. At most --concurrency
//    CONNECTs wait for their CONNACK at a time (the listen backlog would otherwise drop SYNs and
//    measure TCP's 1 s retransmission timer). Reported per round: seconds until every client has a
//    successful CONNACK, and the longest gap between two stream deliveries while it lasted.
// 3. With --control-changes K: an admin client sends K single-command $CONTROL requests
//    (addRoleACL then removeRoleACL on --control-role, alternately) one at a time, and for each the
//    CPU time the broker's main thread spent from just before the request to its reply
//    (/proc/<pid>/task/<pid>/schedstat): what the change cost the broker thread, during which no
//    other client is served.
//
// --hold: only connect the clients (keepalive 0) and keep them until killed; run_bench holds the
// idle part of a 10 000-client fleet this way (one descriptor per client, where a libmosquitto
// client takes three and the hard limit of open files may be 20 000).
//
// The storm clients are raw MQTT 3.1.1 CONNECTs on non-blocking sockets in this thread, so
// 1 000 of them cost no thread each. Output: one JSON line on stdout.
#include "bench/bench_common.hpp"

#include <mosquitto.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double secondsBetween(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

// CPU ns of one thread of a process; the main thread's tid is the pid.
long long threadCpuNs(int pid, int tid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/schedstat");
    long long ns = -1;
    in >> ns;
    return ns;
}

void putString(std::string& out, const std::string& s) {
    out += static_cast<char>((s.size() >> 8) & 0xff);
    out += static_cast<char>(s.size() & 0xff);
    out += s;
}

// keepalive 0 (--hold): the broker never times the silent connection out.
std::string connectPacket(const std::string& clientId, const std::string& username, const std::string& password,
                          int keepalive) {
    std::string body;
    putString(body, "MQTT");
    body += '\x04';  // protocol level 3.1.1
    body += '\xc2';  // username, password, clean session
    body += static_cast<char>((keepalive >> 8) & 0xff);
    body += static_cast<char>(keepalive & 0xff);
    putString(body, clientId);
    putString(body, username);
    putString(body, password);
    std::string packet(1, '\x10');
    size_t len = body.size();
    do {
        auto byte = static_cast<unsigned char>(len % 128);
        len /= 128;
        packet += static_cast<char>(len > 0 ? byte | 0x80 : byte);
    } while (len > 0);
    return packet + body;
}

struct StormClient {
    std::string id;
    int fd = -1;
    bool sent = false;
    bool done = false;
    std::string in;
};

// Connects every client (at most `concurrency` awaiting CONNACK at a time). Returns the number
// refused or failed; keeps the sockets open in clients[i].fd.
int connectAll(std::vector<StormClient>& clients, int port, const std::string& password, size_t concurrency,
               double timeoutS, std::string& error, int keepalive = 60) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    size_t next = 0;
    size_t pending = 0;
    size_t finished = 0;
    int failed = 0;
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(timeoutS * 1000));
    std::vector<pollfd> fds;
    std::vector<size_t> owners;
    while (finished < clients.size()) {
        while (pending < concurrency && next < clients.size()) {
            StormClient& c = clients[next++];
            c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            const int one = 1;
            setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            c.sent = false;
            c.done = false;
            c.in.clear();
            if (c.fd < 0 ||
                (::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS)) {
                error = std::string("connect: ") + std::strerror(errno);
                return -1;
            }
            ++pending;
        }
        fds.clear();
        owners.clear();
        for (size_t i = 0; i < next; ++i) {
            if (!clients[i].done && clients[i].fd >= 0) {
                fds.push_back({clients[i].fd, static_cast<short>(clients[i].sent ? POLLIN : POLLOUT), 0});
                owners.push_back(i);
            }
        }
        if (Clock::now() > deadline) {
            error = "timed out: " + std::to_string(finished) + " of " + std::to_string(clients.size()) + " connected";
            return -1;
        }
        if (poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) {
            error = std::string("poll: ") + std::strerror(errno);
            return -1;
        }
        for (size_t k = 0; k < fds.size(); ++k) {
            StormClient& c = clients[owners[k]];
            if (fds[k].revents == 0) {
                continue;
            }
            if (!c.sent) {
                const std::string packet = connectPacket(c.id, c.id, password, keepalive);
                if (send(c.fd, packet.data(), packet.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(packet.size())) {
                    c.done = true;
                    ++failed;
                } else {
                    c.sent = true;
                    continue;
                }
            } else {
                char buf[16];
                const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
                if (n > 0) {
                    c.in.append(buf, static_cast<size_t>(n));
                    if (c.in.size() < 4) {
                        continue;
                    }
                    failed += (c.in[0] == '\x20' && c.in[3] == '\0') ? 0 : 1;
                } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                    continue;
                } else {
                    ++failed;
                }
                c.done = true;
            }
            if (c.done) {
                --pending;
                ++finished;
            }
        }
    }
    return failed;
}

void closeAll(std::vector<StormClient>& clients) {
    for (auto& c : clients) {
        if (c.fd >= 0) {
            close(c.fd);
            c.fd = -1;
        }
    }
}

// The unrelated stream: arrival times of its messages.
struct Stream {
    std::mutex mutex;
    std::vector<Clock::time_point> arrivals;
    std::atomic<bool> subscribed{false};
};

struct Control {
    std::mutex mutex;
    std::condition_variable cv;
    int replies = 0;
    std::string last;
    bool subscribed = false;
};

mosquitto* newClient(const std::string& id, const std::string& user, const std::string& password, void* obj) {
    mosquitto* m = mosquitto_new(id.c_str(), true, obj);
    if (m != nullptr) {
        mosquitto_username_pw_set(m, user.c_str(), password.c_str());
        mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    }
    return m;
}

// The longest gap between consecutive arrivals that overlaps [from, to]; a stream stalled at
// `to` counts up to `to`.
double maxGapMs(const std::vector<Clock::time_point>& arrivals, Clock::time_point from, Clock::time_point to) {
    double worst = 0;
    for (size_t i = 1; i < arrivals.size(); ++i) {
        if (arrivals[i] >= from && arrivals[i - 1] <= to) {
            worst = std::max(worst, secondsBetween(arrivals[i - 1], arrivals[i]) * 1000);
        }
    }
    if (!arrivals.empty() && arrivals.back() < to) {
        worst = std::max(worst, secondsBetween(std::max(arrivals.back(), from), to) * 1000);
    }
    return worst;
}

}  // namespace

int main(int argc, char** argv) {
    mqs::bench::CliArgs args(
        "storm",
        "Reconnect storm of password clients against a running broker, with the worst delivery gap of an\n"
        "unrelated stream meanwhile; optionally the broker thread's CPU per $CONTROL change.",
        {
            {"port", "1883", "broker port (127.0.0.1)"},
            {"broker-pid", "0", "broker pid (for broker CPU and the $CONTROL cost)"},
            {"clients", "1000", "storm clients; client id = username = <prefix>-idle-<i>, i from 0"},
            {"prefix", "d", "client id prefix (as loadgen's --client-prefix)"},
            {"password", "", "password of every client"},
            {"concurrency", "100", "CONNECTs awaiting their CONNACK at most"},
            {"rounds", "3", "storms (each: drop all, reconnect all)"},
            {"stream-rate", "200", "messages/s of the unrelated stream"},
            {"stream-user", "", "stream publisher (client id and username; default <prefix>-pub-0)"},
            {"stream-sub-user", "", "stream subscriber (default <prefix>-sub-0)"},
            {"stream-topic", "", "stream topic (default devices/<stream-user>/status)"},
            {"control-user", "", "admin username for $CONTROL changes (empty: none)"},
            {"control-password", "", "admin password"},
            {"control-role", "scratch", "role that gets an ACL added and removed"},
            {"control-changes", "0", "number of single-command $CONTROL changes to time"},
            {"timeout", "120", "seconds allowed per storm"},
            {"hold", "", "only connect --clients (keepalive 0), print {\"ok\":true,...}, and hold them until killed",
             true},
        });
    if (!args.parse(argc, argv)) {
        return 1;
    }
    if (args.helpRequested()) {
        args.printUsage();
        return 0;
    }
    const int port = static_cast<int>(args.integer("port"));
    const int brokerPid = static_cast<int>(args.integer("broker-pid"));
    const std::string prefix = args.str("prefix");
    const std::string password = args.str("password");
    const std::string streamUser = args.str("stream-user").empty() ? prefix + "-pub-0" : args.str("stream-user");
    const std::string streamSub = args.str("stream-sub-user").empty() ? prefix + "-sub-0" : args.str("stream-sub-user");
    const std::string streamTopic =
        args.str("stream-topic").empty() ? "devices/" + streamUser + "/status" : args.str("stream-topic");
    json out = {{"tool", "storm"}, {"ok", false}};
    auto finish = [&out](const std::string& error) {
        if (!error.empty()) {
            out["error"] = error;
        }
        std::printf("%s\n", out.dump().c_str());
        return out["ok"].get<bool>() ? 0 : 2;
    };

    if (args.flag("hold")) {
        std::vector<StormClient> held(static_cast<size_t>(args.integer("clients")));
        for (size_t i = 0; i < held.size(); ++i) {
            held[i].id = prefix + "-idle-" + std::to_string(i);
        }
        std::string error;
        const auto start = Clock::now();
        const int refused =
            connectAll(held, port, password, static_cast<size_t>(std::max<long long>(1, args.integer("concurrency"))),
                       args.number("timeout"), error, 0);
        if (refused != 0) {
            return finish(refused < 0 ? error : std::to_string(refused) + " logins refused");
        }
        out["ok"] = true;
        out["held"] = held.size();
        out["connect_s"] = secondsBetween(start, Clock::now());
        finish("");
        std::fflush(stdout);
        while (true) {
            pause();
        }
    }
    mosquitto_lib_init();
    Stream stream;
    mosquitto* sub = newClient(streamSub, streamSub, password, &stream);
    mosquitto* pub = newClient(streamUser, streamUser, password, nullptr);
    mosquitto_subscribe_callback_set(sub, [](mosquitto*, void* obj, int, int count, const int* granted) {
        if (count > 0 && granted[0] < 0x80) {
            static_cast<Stream*>(obj)->subscribed = true;
        }
    });
    mosquitto_message_callback_set(sub, [](mosquitto*, void* obj, const mosquitto_message*) {
        auto* s = static_cast<Stream*>(obj);
        const std::lock_guard lock(s->mutex);
        s->arrivals.push_back(Clock::now());
    });
    if (mosquitto_connect(sub, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS ||
        mosquitto_connect(pub, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
        return finish("stream clients cannot connect");
    }
    mosquitto_subscribe(sub, nullptr, streamTopic.c_str(), 0);
    mosquitto_loop_start(sub);
    mosquitto_loop_start(pub);
    for (int i = 0; i < 100 && !stream.subscribed; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!stream.subscribed) {
        return finish("stream subscriber not subscribed (refused login or ACL?)");
    }
    std::atomic<bool> streaming{true};
    const auto period = std::chrono::nanoseconds(static_cast<long long>(1e9 / args.number("stream-rate")));
    std::thread publisher([&] {
        auto next = Clock::now();
        long seq = 0;
        while (streaming) {
            const std::string payload = std::to_string(seq++);
            mosquitto_publish(pub, nullptr, streamTopic.c_str(), static_cast<int>(payload.size()), payload.data(), 0,
                              false);
            next += period;
            std::this_thread::sleep_until(next);
        }
    });
    auto stopStream = [&] {
        if (streaming.exchange(false)) {
            publisher.join();
            mosquitto_disconnect(pub);
            mosquitto_disconnect(sub);
            mosquitto_loop_stop(pub, false);
            mosquitto_loop_stop(sub, false);
        }
    };

    std::vector<StormClient> clients(static_cast<size_t>(args.integer("clients")));
    for (size_t i = 0; i < clients.size(); ++i) {
        clients[i].id = prefix + "-idle-" + std::to_string(i);
    }
    const auto concurrency = static_cast<size_t>(std::max<long long>(1, args.integer("concurrency")));
    std::string error;
    std::this_thread::sleep_for(std::chrono::seconds(1));  // stream baseline
    const auto t0 = Clock::now();
    int failed = connectAll(clients, port, password, concurrency, args.number("timeout"), error);
    const double warmS = secondsBetween(t0, Clock::now());
    if (failed != 0) {
        stopStream();
        return finish(failed < 0 ? error : std::to_string(failed) + " warm-up logins refused");
    }
    json rounds = json::array();
    for (long long round = 0; round < args.integer("rounds"); ++round) {
        closeAll(clients);  // the blip: every socket gone, no DISCONNECT
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        const auto cpu0 = brokerPid > 0 ? mqs::bench::readProcSchedNs(brokerPid).value_or(0) : 0;
        const auto start = Clock::now();
        failed = connectAll(clients, port, password, concurrency, args.number("timeout"), error);
        const auto end = Clock::now();
        const auto cpu1 = brokerPid > 0 ? mqs::bench::readProcSchedNs(brokerPid).value_or(0) : 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        std::vector<Clock::time_point> arrivals;
        {
            const std::lock_guard lock(stream.mutex);
            arrivals = stream.arrivals;
        }
        const double baselineGap = maxGapMs(arrivals, t0 - std::chrono::seconds(1), t0);
        rounds.push_back({{"connect_all_s", secondsBetween(start, end)},
                          {"refused", failed},
                          {"stream_max_gap_ms", maxGapMs(arrivals, start, end)},
                          {"stream_baseline_gap_ms", baselineGap},
                          {"broker_cpu_s", static_cast<double>(cpu1 - cpu0) / 1e9}});
        if (failed != 0) {
            stopStream();
            out["rounds"] = rounds;
            return finish(failed < 0 ? error : std::to_string(failed) + " logins refused in the storm");
        }
    }
    stopStream();
    out["warm_connect_s"] = warmS;
    out["rounds"] = rounds;
    out["clients"] = clients.size();
    out["concurrency"] = concurrency;
    out["stream_rate"] = args.number("stream-rate");

    const long long changes = args.integer("control-changes");
    if (changes > 0 && !args.str("control-user").empty()) {
        Control control;
        mosquitto* admin =
            newClient(prefix + "-admin", args.str("control-user"), args.str("control-password"), &control);
        mosquitto_subscribe_callback_set(admin, [](mosquitto*, void* obj, int, int, const int*) {
            auto* c = static_cast<Control*>(obj);
            const std::lock_guard lock(c->mutex);
            c->subscribed = true;
            c->cv.notify_all();
        });
        mosquitto_message_callback_set(admin, [](mosquitto*, void* obj, const mosquitto_message* msg) {
            auto* c = static_cast<Control*>(obj);
            const std::lock_guard lock(c->mutex);
            c->last.assign(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
            ++c->replies;
            c->cv.notify_all();
        });
        if (mosquitto_connect(admin, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
            closeAll(clients);
            return finish("admin cannot connect");
        }
        mosquitto_subscribe(admin, nullptr, "$CONTROL/dynamic-security/v1/response", 0);
        mosquitto_loop_start(admin);
        {
            std::unique_lock lock(control.mutex);
            control.cv.wait_for(lock, std::chrono::seconds(10), [&] { return control.subscribed; });
        }
        json perChange = json::array();
        for (long long i = 0; i < changes; ++i) {
            const bool add = i % 2 == 0;
            const json request = {{"commands",
                                   {{{"command", add ? "addRoleACL" : "removeRoleACL"},
                                     {"rolename", args.str("control-role")},
                                     {"acltype", "publishClientSend"},
                                     {"topic", "bench/control/change"},
                                     {"priority", 0},
                                     {"allow", true}}}}};
            const std::string payload = request.dump();
            int repliesBefore = 0;
            {
                const std::lock_guard lock(control.mutex);  // written by libmosquitto's thread
                repliesBefore = control.replies;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(300));  // broker idle, pending writes done
            const long long cpu0 = threadCpuNs(brokerPid, brokerPid);
            const auto start = Clock::now();
            mosquitto_publish(admin, nullptr, "$CONTROL/dynamic-security/v1", static_cast<int>(payload.size()),
                              payload.data(), 1, false);
            std::unique_lock lock(control.mutex);
            const bool replied =
                control.cv.wait_for(lock, std::chrono::seconds(20), [&] { return control.replies > repliesBefore; });
            const auto end = Clock::now();
            const long long cpu1 = threadCpuNs(brokerPid, brokerPid);
            if (!replied || control.last.find("\"error\"") != std::string::npos) {
                out["control_error"] = replied ? control.last : "no reply";
                break;
            }
            perChange.push_back({{"broker_thread_cpu_ms", static_cast<double>(cpu1 - cpu0) / 1e6},
                                 {"reply_ms", secondsBetween(start, end) * 1000}});
        }
        mosquitto_disconnect(admin);
        mosquitto_loop_stop(admin, false);
        mosquitto_destroy(admin);
        out["control"] = perChange;
    }
    closeAll(clients);
    mosquitto_destroy(pub);
    mosquitto_destroy(sub);
    mosquitto_lib_cleanup();
    out["ok"] = true;
    return finish("");
}
