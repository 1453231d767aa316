// The JSON envelope republished for a rejected message: where it came from, which rule failed,
// each error with a JSON pointer, and the original payload as text or base64.
#pragma once

#include <chrono>
#include <string>

#include "validate/message_checker.hpp"

namespace mqs::validate {

// payload_limit: bytes of the original payload copied in; beyond it the copy is cut and marked.
std::string buildDeadLetter(const Message& message, const Verdict& verdict, std::chrono::system_clock::time_point received,
                            size_t payload_limit);

std::string base64Encode(const void* data, size_t length);

}  // namespace mqs::validate
