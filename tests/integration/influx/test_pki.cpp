// Throwaway PKI for the https tests; see test_pki.hpp. Everything is regenerated per test suite run,
// so nothing secret or expiring is checked in.
#include "tests/integration/influx/test_pki.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mqs::influx::testing {

TestPki::TestPki() {
    char tmpl[] = "/tmp/mqs-influx-pki-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    makeCa("ca");
    makeCa("other-ca");
    makeServerCert("server", "IP:127.0.0.1,DNS:localhost");
    makeServerCert("other-host", "DNS:elsewhere.invalid");
}

TestPki::~TestPki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

void TestPki::openssl(const std::string& args) {
    const std::string log = path("openssl.log");
    const std::string command = "cd '" + dir_.string() + "' && /usr/bin/openssl " + args + " >>'" + log + "' 2>&1";
    if (std::system(command.c_str()) != 0) {
        std::ifstream in(log);
        std::stringstream text;
        text << in.rdbuf();
        throw std::runtime_error("openssl " + args + " failed:\n" + text.str());
    }
}

void TestPki::makeCa(const std::string& name) {
    openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout " + name + ".key -out " +
            name + ".pem -subj '/CN=mqs influx test " + name + "'");
}

void TestPki::makeServerCert(const std::string& name, const std::string& subject_alt_names) {
    std::ofstream(dir_ / (name + ".ext")) << "subjectAltName=" << subject_alt_names << "\n"
                                          << "basicConstraints=CA:FALSE\n"
                                          << "keyUsage=digitalSignature\n"
                                          << "extendedKeyUsage=serverAuth\n";
    openssl("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name + ".key -out " + name +
            ".csr -subj '/CN=" + name + "'");
    openssl("x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile " + name +
            ".ext -out " + name + ".pem");
}

}  // namespace mqs::influx::testing
