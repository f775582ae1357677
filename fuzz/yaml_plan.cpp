// Fuzz target: an experiment file through `runner validate`'s reading steps (config::load, the
// schema checks, resolve() into a plan, plan_to_text) without plugins: the input is the YAML
// file; each of its lines "#!set PATH=VALUE" (a comment to YAML) is also given as a --set
// override. Problems must come back as diagnostics (or a tlr::Error), never as another exception.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "core/config/diagnostic.h"
#include "core/config/document.h"
#include "core/config/plan.h"
#include "fuzz_support.h"
#include "tlr/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("#!set ", 0) == 0) overrides.push_back(line.substr(6));
  }
  const std::string file = (tlr::fuzz::scratch_dir() / "experiment.yaml").string();
  tlr::fuzz::write_file(file, data, size);
  try {
    tlr::config::Document document = tlr::config::load(file, overrides, /*schema_file=*/"");
    if (!document.usable) {
      tlr::fuzz::note(tlr::config::format_diagnostics(document.diagnostics));
      return 0;
    }
    tlr::config::Resolution resolution = tlr::config::resolve(document, /*registry=*/nullptr);
    tlr::fuzz::note(tlr::config::format_diagnostics(resolution.diagnostics));
    if (resolution.diagnostics.empty()) {
      const tlr::config::Plan& plan = resolution.plan;
      (void)tlr::config::plan_to_text(plan);
      std::vector<std::string> names;
      for (const auto& cell : plan.models) {
        names.push_back(cell.name);
        (void)tlr::config::diagnostic_at(cell, "/training/epochs", "fuzz");
      }
      (void)tlr::config::with_publishers(plan, names);
      tlr::fuzz::note(std::to_string(plan.models.size()) + " cells");
    }
  } catch (const tlr::Error& e) {
    tlr::fuzz::note(e.what());
  }
  return 0;
}
