// The results database's schema as an ordered list of migrations. The schema is a public
// interface (users query results.db with sqlite3), so a change is always a new step appended
// here, never an edit of a released one.
#pragma once

#include <vector>

namespace tlr::store_detail {

struct Migration {
  int version;      // PRAGMA user_version after this step
  const char* sql;  // run inside one transaction together with the user_version bump
};

// Steps in order; migrations()[i].version == i + 1.
const std::vector<Migration>& migrations();

// The user_version this code writes: the last step's version.
int latest_schema_version();

}  // namespace tlr::store_detail
