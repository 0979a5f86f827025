// Reading and writing safetensors files (https://github.com/huggingface/safetensors), float32 only.
//
// Layout:  [u64 little-endian N] [N bytes of JSON header, padded with spaces to a multiple of 8] [data]
// Header:  {"__metadata__": {"key": "string value", ...},
//           "<tensor name>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}
// Offsets are byte offsets into the data section, end - begin = 4 * prod(shape); tensors are stored
// row-major, little-endian.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"

namespace ssm::io {

struct TensorEntry {
  std::string name;
  std::vector<int64_t> shape;
  const float* data;  // prod(shape) floats
};

// Writes to `path` + ".tmp" and renames over `path`, so a crash never leaves a half-written checkpoint.
// Throws std::runtime_error with the path and errno text on I/O failure.
void WriteSafetensors(const std::string& path, const std::vector<TensorEntry>& tensors,
                      const std::map<std::string, std::string>& metadata);

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;
  struct Info {
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;  // into data
  };
  std::map<std::string, Info> tensors;
  std::vector<char> data;
  const float* f32(const Info& i) const { return reinterpret_cast<const float*>(data.data() + i.begin); }
};

// Reads and validates the container (header size, JSON, dtypes, offsets inside the file, sizes matching
// shapes). Throws std::runtime_error("checkpoint '<path>': <what is wrong>").
SafetensorsFile ReadSafetensors(const std::string& path);

}  // namespace ssm::io
