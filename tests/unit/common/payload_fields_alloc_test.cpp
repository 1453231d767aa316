// PayloadFields on the hot path allocates nothing once warm: the flat path never, the DOM path after
// its first message of a size (the parser keeps its buffers). Own binary: it replaces operator new.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "common/payload_fields.hpp"
#include "testing/count_allocations.hpp"


using namespace mqs;

TEST(PayloadFieldsAllocations, NoneOnceWarm) {
    PayloadFields fields;
    const JsonPath ts = JsonPath::parse("timestamp"), temp = JsonPath::parse("temp"), nested = JsonPath::parse("a.v");
    const std::string flat = R"({"timestamp":1732200000000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1})";
    const std::string deep = R"({"timestamp":1732200000001,"a":{"v":2.5},"id":"s1"})";
    const JsonPath root = JsonPath::parse("$");
    auto readAll = [&] {
        double sum = 0;
        for (const std::string* p : {&flat, &deep}) {
            fields.reset(p->data(), p->size());
            sum += fields.number(temp).value_or(0) + fields.number(nested).value_or(0);
            sum += static_cast<double>(fields.hash(ts, 1).value_or(0) & 1) + (fields.string(root) ? 1 : 0);
        }
        return sum;
    };
    readAll();  // warm: the DOM parser allocates its buffers once
    const long before = mqs::testing::allocations.load();
    double sum = 0;
    for (int i = 0; i < 100; ++i) sum += readAll();
    EXPECT_EQ(mqs::testing::allocations.load() - before, 0);
    EXPECT_GT(sum, 0);
}
