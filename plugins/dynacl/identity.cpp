// Identity checks for identity-bound topic levels; see identity.hpp.
#include "dynacl/identity.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <cstdint>
#include <cstring>

namespace mqs::dynacl {

bool validUtf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        size_t extra = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= text.size()) return false;
        for (size_t k = 1; k <= extra; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Overlong forms, surrogates and code points beyond Unicode are not UTF-8.
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return false;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += extra + 1;
    }
    return true;
}

bool usableAsTopicLevel(std::string_view identity) {
    if (identity.empty()) return false;
    for (char c : identity) {
        if (c == '+' || c == '#' || c == '/' || c == '\0') return false;
    }
    return validUtf8(identity);
}

std::optional<std::string> canonicalAddress(std::string_view raw) {
    if (raw.empty() || raw.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    char input[INET6_ADDRSTRLEN];
    std::memcpy(input, raw.data(), raw.size());
    input[raw.size()] = '\0';
    char out[INET6_ADDRSTRLEN];
    in_addr v4{};
    if (inet_pton(AF_INET, input, &v4) == 1) {
        if (inet_ntop(AF_INET, &v4, out, sizeof out) == nullptr) return std::nullopt;
        return std::string(out);
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, input, &v6) != 1) return std::nullopt;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        std::memcpy(&v4, &v6.s6_addr[12], 4);
        if (inet_ntop(AF_INET, &v4, out, sizeof out) == nullptr) return std::nullopt;
        return std::string(out);
    }
    if (inet_ntop(AF_INET6, &v6, out, sizeof out) == nullptr) return std::nullopt;
    return std::string(out);
}

std::string certificateCommonName(const void* x509) {
    if (x509 == nullptr) return {};
    X509_NAME* subject = X509_get_subject_name(static_cast<const X509*>(x509));
    if (subject == nullptr) return {};
    const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    // No CN, or two: nothing to stand for one identity.
    if (at < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, at) >= 0) return {};
    X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, at);
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (length < 0 || utf8 == nullptr) return {};
    std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
    OPENSSL_free(utf8);
    return out;
}

void freeCertificate(void* x509) {
    X509_free(static_cast<X509*>(x509));
}

}  // namespace mqs::dynacl
