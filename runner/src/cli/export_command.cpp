// `runner export (--run ID | --experiment E --model M) --out FILE.pth`: a trained model for use
// outside tlr. FILE.pth is a PyTorch state dict (torch.load reads it) and FILE.json its
// description: classes, preprocessing, output, and the torch.nn layout that rebuilds the model in
// Python with the same names (engine/train/module_layout.h; README "Use a trained model" has the
// lines that do it, and tests/use/export_parity_test runs them).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/model_choice.h"
#include "engine/util/atomic_file.h"
#include "engine/weights/state_dict.h"
#include "tlr/error.h"

namespace tlr::cli {

namespace fs = std::filesystem;
using nlohmann::json;

int export_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "describe this command")(
      "out", po::value<std::string>(), "the state dict to write (FILE.pth; FILE.json beside it)")(
      "format", po::value<std::string>()->default_value("pth"),
      "pth: a torch.save state dict and its JSON description");
  add_model_choice_options(options);
  po::positional_options_description positional;
  po::variables_map vm;
  bool help = false;
  if (!parse(
          "export",
          std::string("usage: runner export (--run ID | --experiment E --model M) --out "
                      "FILE.pth\n\n"
                      "Writes a trained model as a PyTorch state dict (keys backbone.* and\n"
                      "head.*; the bundled VGG's backbone keys are torchvision's) and FILE.json:\n"
                      "the classes in label order, the preprocessing, the output (sigmoid or\n"
                      "softmax) and the torch.nn layout that rebuilds the model in Python\n"
                      "(README \"Use a trained model\"). Without a layout (a backbone made of\n"
                      "other modules, e.g. ResNet's residual blocks), FILE.pth holds every\n"
                      "tensor and FILE.json says why there is no layout.\n\n") +
              kModelChoiceHelp,
          options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  if (!vm.count("out")) {
    std::cerr << "runner export: error: --out FILE.pth is required\n";
    return kExitBadInput;
  }
  if (vm["format"].as<std::string>() != "pth") {
    std::cerr << "runner export: error: --format '" << vm["format"].as<std::string>()
              << "': expected pth (TorchScript cannot be produced from libtorch's C++ modules)\n";
    return kExitBadInput;
  }
  const fs::path out = vm["out"].as<std::string>();
  const fs::path sidecar = fs::path(out).replace_extension(".json");
  if (out.extension() == ".json") {
    std::cerr << out.string() << ": error: the state dict needs another name than its .json\n";
    return kExitBadInput;
  }
  std::optional<ChosenModel> chosen = choose_model("export", vm);
  if (!chosen) return kExitBadInput;
  const TrainedRun& run = chosen->run;
  try {
    json doc = read_model_description(run.description);
    if (sha256_of_file(run.weights) != run.weights_sha256) {
      throw Error(run.weights + ": error: changed since run " + std::to_string(run.run_id) +
                  " recorded it");
    }
    NamedTensors tensors = read_state_dict(run.weights);
    if (doc["layout"].is_object()) {
      // Only what the layout rebuilds: tensors of blocks a strategy cut off stay behind.
      const auto wanted = doc["layout_tensors"].get<std::set<std::string>>();
      NamedTensors kept;
      for (auto& item : tensors) {
        if (wanted.count(item.first)) kept.push_back(std::move(item));
      }
      if (kept.size() != wanted.size()) {
        throw Error(run.weights + ": error: holds " + std::to_string(kept.size()) + " of the " +
                    std::to_string(wanted.size()) + " tensors its description lists");
      }
      tensors = std::move(kept);
    }
    std::error_code ec;
    if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
    save_state_dict(out.string(), tensors);
    json keys = json::array();
    for (const auto& item : tensors) keys.push_back(item.first);
    doc.erase("tensors");
    doc.erase("buffers");
    doc.erase("layout_tensors");
    doc["state_dict"] = out.filename().string();
    doc["state_dict_keys"] = keys;
    doc["exported_from"] = {{"run", run.run_id},
                            {"experiment", run.experiment},
                            {"model", run.model},
                            {"database", chosen->store.path()},
                            {"weights_sha256", run.weights_sha256}};
    write_file_atomically(sidecar.string(), doc.dump(2) + "\n", "the model description");
    std::cout << "exported run " << run.run_id << " (" << run.experiment << " / " << run.model
              << "): " << out.string() << " (" << tensors.size() << " tensors), "
              << sidecar.string() << "\n";
    if (!doc["layout"].is_object()) {
      std::cerr << "runner export: warning: no torch.nn layout: "
                << doc.value("layout_problem", std::string("?")) << "\n";
    }
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace tlr::cli
