// The one way into Mosquitto's plugin API: every plugin.cpp and common/broker file includes this header
// and never the broker's own, so the choice between the 2.0 and the 2.1 header layout is made here once.
#pragma once

// 2.1 moved the API to include/mosquitto/*.h behind one <mosquitto.h>; its old top-level headers
// (mosquitto_broker.h, mosquitto_plugin.h, mqtt_protocol.h) only forward there with a #warning,
// which -Werror turns into a failed build. 2.0 (Debian 12's 2.0.11, Debian 13's 2.0.21) has no
// include/mosquitto/ folder and declares the broker API in the top-level headers.
#if __has_include(<mosquitto/broker.h>)
#include <mosquitto.h>
#else
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#endif
