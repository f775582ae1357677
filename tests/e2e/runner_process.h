// Running the `runner` executable from a test: through the shell, from the source root, with
// stdout and stderr captured in files of a test folder.
#pragma once

#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tlr::testing {

namespace fs = std::filesystem;

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::string shell_quote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

// Runs `command` (already quoted) through the shell with stdout and stderr captured in `dir`.
inline Outcome run_shell(const std::string& command, const fs::path& dir) {
  static std::atomic<int> counter{0};
  const int n = counter++;
  const fs::path out = dir / ("stdout_" + std::to_string(n) + ".txt");
  const fs::path err = dir / ("stderr_" + std::to_string(n) + ".txt");
  const std::string line =
      command + " >" + shell_quote(out.string()) + " 2>" + shell_quote(err.string());
  const int status = std::system(line.c_str());
  Outcome outcome;
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  outcome.out = read_file(out);
  outcome.err = read_file(err);
  return outcome;
}

// `runner ARGS...`, from the source root (experiments/ paths are relative to it).
inline Outcome runner(const std::vector<std::string>& args, const fs::path& dir) {
  std::string command = "cd " + shell_quote(TLR_SOURCE_DIR) + " && " + shell_quote(TLR_RUNNER);
  for (const auto& arg : args) command += " " + shell_quote(arg);
  return run_shell(command, dir);
}

inline std::string describe(const Outcome& o) {
  return "exit " + std::to_string(o.exit_code) + "\n--- stdout\n" + o.out + "\n--- stderr\n" +
         o.err;
}

}  // namespace tlr::testing
