// Throwaway certificates for the https tests, made with the openssl CLI in a temp dir: a CA, a second
// CA that signed nothing the servers present, and server certificates for 127.0.0.1 and for another name.
#pragma once

#include <filesystem>
#include <string>

namespace mqs::influx::testing {

// Construction runs openssl (EC P-256 keys, valid two days) and throws std::runtime_error with its
// output when that fails; the destructor removes the directory.
class TestPki {
public:
    TestPki();
    ~TestPki();
    TestPki(const TestPki&) = delete;
    TestPki& operator=(const TestPki&) = delete;

    std::string caFile() const { return path("ca.pem"); }
    std::string otherCaFile() const { return path("other-ca.pem"); }
    // Signed by caFile(); subjectAltName IP:127.0.0.1, DNS:localhost.
    std::string serverCert() const { return path("server.pem"); }
    std::string serverKey() const { return path("server.key"); }
    // Signed by caFile(), but only for DNS:elsewhere.invalid: a host name mismatch at 127.0.0.1.
    std::string otherHostCert() const { return path("other-host.pem"); }
    std::string otherHostKey() const { return path("other-host.key"); }

private:
    std::string path(const char* name) const { return (dir_ / name).string(); }
    void openssl(const std::string& args);
    void makeCa(const std::string& name);
    void makeServerCert(const std::string& name, const std::string& subject_alt_names);
    std::filesystem::path dir_;
};

}  // namespace mqs::influx::testing
