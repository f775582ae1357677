// How a failure inside a model reads: one line naming the component and the phase, not libtorch's
// bare text ("head 'dense' during training: Expected more than 1 value per channel when
// training, got input size [1, 256]").
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include "tlr/error.h"

namespace tlr {

// Thrown from a cell's services when a stop signal arrived (stop_signal.h). `checkpointed`: the
// fit in progress saved its state at a batch boundary, so a rerun loses nothing.
struct Interrupted : std::runtime_error {
  explicit Interrupted(bool checkpointed_ = false)
      : std::runtime_error("interrupted"), checkpointed(checkpointed_) {}
  bool checkpointed;
};

// The first line of `text` (libtorch appends a C++ backtrace after it).
std::string first_line(const std::string& text);

// Runs `body`. A tlr::Error (already written for the user) and Interrupted pass unchanged; any
// other exception becomes tlr::Error("<what> during <phase>: <its first line>").
template <class Body>
auto in_phase(const std::string& what, const char* phase, Body&& body) -> decltype(body()) {
  try {
    return std::forward<Body>(body)();
  } catch (const Error&) {
    throw;
  } catch (const Interrupted&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(what + " during " + phase + ": " + first_line(e.what()));
  }
}

}  // namespace tlr
