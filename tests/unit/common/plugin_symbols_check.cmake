# Fails if a plugin module needs a mosquitto_* symbol the broker does not export for plugins.
# The allow-list is the plugin API of Mosquitto 2.0.21 (its src/linker.syms: mosquitto_broker.h's
# functions plus the memory and property helpers). 2.0.11's broker exports more (client-library
# functions such as mosquitto_strerror), so a plugin that uses one loads on Debian 12 and fails on
# Debian 13 with "undefined symbol". Run: cmake -DNM=<nm> -DMODULES=<a.so:b.so> -P <this file>
cmake_minimum_required(VERSION 3.25)
set(allowed
  mosquitto_broker_publish mosquitto_broker_publish_copy mosquitto_callback_register mosquitto_callback_unregister
  mosquitto_calloc mosquitto_client_address mosquitto_client_certificate mosquitto_client_clean_session
  mosquitto_client_id mosquitto_client_keepalive mosquitto_client_protocol mosquitto_client_protocol_version
  mosquitto_client_sub_count mosquitto_client_username mosquitto_free mosquitto_kick_client_by_clientid
  mosquitto_kick_client_by_username mosquitto_log_printf mosquitto_malloc mosquitto_property_add_binary
  mosquitto_property_add_byte mosquitto_property_add_int16 mosquitto_property_add_int32
  mosquitto_property_add_string mosquitto_property_add_string_pair mosquitto_property_add_varint
  mosquitto_property_free_all mosquitto_pub_topic_check mosquitto_realloc mosquitto_set_username mosquitto_strdup
  mosquitto_sub_topic_check mosquitto_topic_matches_sub mosquitto_validate_utf8)

if(NOT NM OR NOT MODULES)
  message(FATAL_ERROR "plugin_symbols_check: pass -DNM=<nm> -DMODULES=<modules>")
endif()
string(REPLACE ":" ";" MODULES "${MODULES}")
set(failed FALSE)
foreach(module IN LISTS MODULES)
  execute_process(COMMAND ${NM} -D --undefined-only ${module} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(SEND_ERROR "${module}: ${NM} failed (${rc})")
    set(failed TRUE)
    continue()
  endif()
  string(REGEX MATCHALL "mosquitto_[A-Za-z0-9_]+" used "${out}")
  list(REMOVE_DUPLICATES used)
  list(LENGTH used count)
  foreach(symbol IN LISTS used)
    if(NOT symbol IN_LIST allowed)
      message(SEND_ERROR "${module}: needs ${symbol}, which Mosquitto 2.0.21's broker does not export for plugins")
      set(failed TRUE)
    endif()
  endforeach()
  message(STATUS "${module}: ${count} mosquitto_* symbol(s) needed")
endforeach()
if(failed)
  message(FATAL_ERROR "a plugin module needs a symbol outside the broker's plugin API")
endif()
