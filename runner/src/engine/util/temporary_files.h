// Names of temporary files and the removal of those a dead process left behind.
//
// Every file tlr writes whole (engine/util/atomic_file.h, the image cache) is first written as
// "<path>.tmp.<host>-<pid>.<n>" in the same folder and renamed into place. A process killed
// before the rename (kill -9, power loss) leaves that file; the next `runner run` on the same
// host removes the ones whose process is gone. The host is in the name because a results folder
// may be shared by the nodes of a cluster, where another host's pids say nothing.
//
// Thread safety: temporary_name() may be called from any thread.
#pragma once

#include <cstddef>
#include <string>

namespace tlr {

// A name next to `path` that no other writer uses at the same time (host, pid, a count).
std::string temporary_name(const std::string& path);

// Removes, under `dir` (recursively), the temporary files of processes of this host that are no
// longer running. Returns how many it removed; a folder that does not exist holds none.
std::size_t remove_stale_temporaries(const std::string& dir);

}  // namespace tlr
