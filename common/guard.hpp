// Keeps C++ exceptions from crossing a C callback: run the body, and on any exception log one line
// naming the callback and return the code that is safe for that event.
#pragma once

#include <exception>
#include <string>

#include "common/log.hpp"

namespace mqs {

template <typename Body>
int guardCallback(const Logger& logger, const char* callback, int safe_rc, Body&& body) noexcept {
    try {
        return body();
    } catch (const std::exception& e) {
        try {
            logger.error(std::string("internal error in ") + callback + ": " + e.what());
        } catch (...) {
        }
    } catch (...) {
        try {
            logger.error(std::string("internal error in ") + callback + ": unknown exception");
        } catch (...) {
        }
    }
    return safe_rc;
}

}  // namespace mqs
