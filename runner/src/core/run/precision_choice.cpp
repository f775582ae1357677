#include "core/run/precision_choice.h"

#include "tlr/error.h"

namespace tlr {

Precision resolve_precision(const std::string& setting, torch::Device device, bool native_bf16) {
  if (setting == "fp32") return Precision::fp32;
  if (setting == "bf16") return Precision::bf16;
  if (setting == "auto") {
    return device.is_cpu() && native_bf16 ? Precision::bf16 : Precision::fp32;
  }
  throw Error("training.precision '" + setting + "': expected fp32, bf16 or auto");
}

Precision precision_of(const nlohmann::json& model, torch::Device device) {
  std::string setting = "fp32";
  const nlohmann::json::json_pointer at("/training/precision");
  if (model.contains(at) && model[at].is_string()) setting = model[at].get<std::string>();
  return resolve_precision(setting, device, cpu_has_native_bf16());
}

bool emulated_bf16(Precision precision, torch::Device device) {
  return precision == Precision::bf16 && device.is_cpu() && !cpu_has_native_bf16();
}

}  // namespace tlr
