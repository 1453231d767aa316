// Fuzz target: the validate rules file (plugins/validate/rules.*). loadRuleSet takes only a path, so
// each input is written to rules.json in a private temporary directory that also holds the sample
// schemas (conf/validate/schemas), as a real rules file sits next to its schema directory.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_support.hpp"
#include "validate/rules.hpp"

namespace {

// Removed when the process exits normally (after a crash it stays behind, with the input).
struct TempDir {
    std::filesystem::path path;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

const std::filesystem::path& workDir() {
    static const TempDir dir = [] {
        std::string pattern = (std::filesystem::temp_directory_path() / "mqs-fuzz-validate-XXXXXX").string();
        FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr, "mkdtemp");
        std::filesystem::path d(pattern);
        std::filesystem::create_directory(d / "schemas");
        for (const char* f : {"common.schema.json", "warehouse-telemetry.schema.json"}) {
            std::filesystem::copy_file(mqs::fuzz::sourcePath((std::string("conf/validate/schemas/") + f).c_str()),
                                       d / "schemas" / f);
        }
        return TempDir{d};
    }();
    return dir.path;
}

// Paths in a rules file are the administrator's: keep the fuzzer inside its directory, away from
// scanning the whole file system ("schema_dir": "/") or reading devices.
bool staysInside(const nlohmann::json& doc) {
    auto safe = [](const nlohmann::json& v) {
        if (!v.is_string()) return true;
        const auto& s = v.get_ref<const std::string&>();
        return s.find('/') == std::string::npos && s.find("..") == std::string::npos;
    };
    if (!doc.is_object()) return true;
    if (doc.contains("schema_dir") && !safe(doc["schema_dir"])) return false;
    auto rule_ok = [&](const nlohmann::json& r) {
        return !r.is_object() || !r.contains("schema") || safe(r["schema"]);
    };
    if (doc.contains("default_rule") && !rule_ok(doc["default_rule"])) return false;
    if (doc.contains("rules") && doc["rules"].is_array()) {
        for (const auto& r : doc["rules"]) {
            if (!rule_ok(r)) return false;
        }
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace mqs::validate;
    const std::string_view text = mqs::fuzz::asText(data, size);
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_discarded() && !staysInside(doc)) return 0;

    const std::filesystem::path file = workDir() / "rules.json";
    {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
    }
    try {
        RuleSet set = loadRuleSet(file);
        for (const auto& rule : set.rules) {
            for (const auto& t : rule.topics) (void)rule.matches(t.filter(), nullptr);
        }
    } catch (const RulesError&) {
    } catch (const std::exception& e) {
        FUZZ_CHECK(!mqs::fuzz::strictErrors(), std::string("not a RulesError: ") + e.what());
    }
    return 0;
}
