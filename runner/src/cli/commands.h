// The runner's sub-commands. Each takes its own argv (without the command word) and returns the
// process exit status: 0 ok, 1 a run failed, 2 bad input (run: also 130 after Ctrl-C and 75
// after SIGTERM/SIGUSR1 with the running cells checkpointed, core/run/stop_signal.h).
#pragma once

#include <string>
#include <vector>

namespace tlr::cli {

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitBadInput = 2;

int run_command(const std::vector<std::string>& args);
int validate_command(const std::vector<std::string>& args);
int plugins_command(const std::vector<std::string>& args);
int status_command(const std::vector<std::string>& args);
int report_command(const std::vector<std::string>& args);
int preview_augment_command(const std::vector<std::string>& args);
int merge_command(const std::vector<std::string>& args);
int submit_command(const std::vector<std::string>& args);
int predict_command(const std::vector<std::string>& args);
int evaluate_command(const std::vector<std::string>& args);
int export_command(const std::vector<std::string>& args);

}  // namespace tlr::cli
