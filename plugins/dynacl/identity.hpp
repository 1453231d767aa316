// Who is asking: the identity a client's check is made for, and the rules an identity must meet before it
// may stand in for a topic level (%u, %c, %a, %CN). Broker-free; used by the ACL matcher and its tests.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mqs::dynacl {

// Views into the broker's strings for the duration of one check. `address` is already canonical
// (canonicalAddress) or empty when unknown.
struct Identity {
    std::string_view username;
    bool has_username = false;
    std::string_view client_id;
    std::string_view address;
    // The CN of the client's TLS certificate (UTF-8), empty when there is none or no rule uses %CN.
    std::string_view common_name;
};

bool validUtf8(std::string_view text);

// An identity may fill one topic level only if it is non-empty, valid UTF-8 and holds no '+', '#', '/'
// or NUL: otherwise a username such as "#" or "a/b" would widen or shift the rule (wildcard injection).
bool usableAsTopicLevel(std::string_view identity);

// The client address as %a shows it: IPv4 dotted, IPv6 in RFC 5952 form, IPv4-mapped IPv6 as IPv4.
// nullopt for anything that is not a numeric IP address (a zone index, a host name, a socket path).
std::optional<std::string> canonicalAddress(std::string_view raw);

// The common name of a certificate (an OpenSSL X509*, as mosquitto_client_certificate returns it) as UTF-8;
// empty when it has none, several, or one that does not convert. Does not free the certificate.
std::string certificateCommonName(const void* x509);
// X509_free for the certificate mosquitto_client_certificate handed out (nullptr is fine).
void freeCertificate(void* x509);

}  // namespace mqs::dynacl
