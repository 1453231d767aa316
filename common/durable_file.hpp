// Durable writes for state files: a crash at any moment leaves the old or the new content, never a mix, and
// an appended line is on disk when the call returns. Both block on the disk: worker threads and tests only.
#pragma once

#include <string>
#include <vector>

namespace mqs {

// Writes `content` as `path`: <path>.new, fsync, rename over <path>, fsync of the folder. Returns an empty
// string or why not (naming the file); a failed attempt removes its <path>.new.
std::string writeFileAtomically(const std::string& path, const std::string& content);

// Appends each line and a newline to `path` (created 0600 if missing), then fsyncs. Returns "" or why not.
std::string appendLinesDurably(const std::string& path, const std::vector<std::string>& lines);

}  // namespace mqs
