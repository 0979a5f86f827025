#include "io/safetensors.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace ssm::io {

namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // 100 MB, the limit the reference implementation uses

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("checkpoint '" + path + "': " + what);
}

}  // namespace

void WriteSafetensors(const std::string& path, const std::vector<TensorEntry>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Json header = Json::Object();
  Json meta = Json::Object();
  for (const auto& kv : metadata) meta.set(kv.first, Json::Str(kv.second));
  header.set("__metadata__", meta);
  uint64_t offset = 0;
  for (const TensorEntry& t : tensors) {
    int64_t n = 1;
    Json shape = Json::Array();
    for (int64_t d : t.shape) n *= d, shape.push(Json::Number(static_cast<double>(d)));
    Json e = Json::Object();
    e.set("dtype", Json::Str("F32"));
    e.set("shape", shape);
    Json offs = Json::Array();
    offs.push(Json::Number(static_cast<double>(offset)));
    offs.push(Json::Number(static_cast<double>(offset + 4 * static_cast<uint64_t>(n))));
    e.set("data_offsets", offs);
    header.set(t.name, e);
    offset += 4 * static_cast<uint64_t>(n);
  }
  std::string text = header.Dump();
  while ((8 + text.size()) % 8 != 0) text += ' ';
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) Fail(path, std::string("cannot open for writing: ") + std::strerror(errno));
  unsigned char len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = static_cast<unsigned char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xFF);
  bool ok = std::fwrite(len, 1, 8, f) == 8 && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  for (const TensorEntry& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    // float32 little-endian: the in-memory layout on every platform we build for (x86-64, arm64).
    ok = ok && std::fwrite(t.data, sizeof(float), static_cast<std::size_t>(n), f) == static_cast<std::size_t>(n);
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    Fail(path, std::string("write failed: ") + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    Fail(path, std::string("cannot rename temporary file: ") + std::strerror(errno));
  }
}

SafetensorsFile ReadSafetensors(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) Fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  unsigned char len[8];
  if (size < 8 || std::fread(len, 1, 8, f) != 8) {
    std::fclose(f);
    Fail(path, "file is " + std::to_string(size) + " bytes, too short for a safetensors header");
  }
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  if (n > kMaxHeader || n > static_cast<uint64_t>(size) - 8) {
    std::fclose(f);
    Fail(path, "header length " + std::to_string(n) + " does not fit in a file of " + std::to_string(size) + " bytes");
  }
  std::string text(n, '\0');
  SafetensorsFile out;
  out.data.resize(static_cast<std::size_t>(size) - 8 - n);
  const bool read_ok =
      std::fread(text.data(), 1, n, f) == n && std::fread(out.data.data(), 1, out.data.size(), f) == out.data.size();
  std::fclose(f);
  if (!read_ok) Fail(path, "short read");
  Json header;
  try {
    header = Json::Parse(text);
  } catch (const std::exception& e) {
    Fail(path, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) Fail(path, "header is not a JSON object");
  for (const auto& kv : header.obj()) {
    if (kv.first == "__metadata__") {
      if (!kv.second.is_object()) Fail(path, "__metadata__ is not an object");
      for (const auto& m : kv.second.obj()) {
        if (!m.second.is_string()) Fail(path, "__metadata__ value '" + m.first + "' is not a string");
        out.metadata[m.first] = m.second.str();
      }
      continue;
    }
    const Json& e = kv.second;
    const std::string where = "tensor '" + kv.first + "'";
    if (!e.is_object() || !e.has("dtype") || !e.has("shape") || !e.has("data_offsets")) {
      Fail(path, where + " needs dtype, shape and data_offsets");
    }
    if (!e.at("dtype").is_string() || e.at("dtype").str() != "F32") {
      Fail(path, where + " has dtype " + (e.at("dtype").is_string() ? e.at("dtype").str() : "?") + ", expected F32");
    }
    SafetensorsFile::Info info;
    uint64_t count = 1;
    if (!e.at("shape").is_array()) Fail(path, where + " shape is not an array");
    for (const Json& d : e.at("shape").arr()) {
      if (!d.is_number() || d.num() < 0 || d.num() > 1e12 ||
          d.num() != static_cast<double>(static_cast<int64_t>(d.num()))) {
        Fail(path, where + " has a bad dimension");
      }
      info.shape.push_back(static_cast<int64_t>(d.num()));
      count *= static_cast<uint64_t>(d.num());
    }
    const Json& offs = e.at("data_offsets");
    if (!offs.is_array() || offs.arr().size() != 2 || !offs.arr()[0].is_number() || !offs.arr()[1].is_number()) {
      Fail(path, where + " data_offsets must be [begin, end]");
    }
    const double b = offs.arr()[0].num(), en = offs.arr()[1].num();
    if (b < 0 || en < b || en > static_cast<double>(out.data.size())) {
      Fail(path, where + " data_offsets [" + std::to_string(static_cast<int64_t>(b)) + ", " +
                     std::to_string(static_cast<int64_t>(en)) + "] fall outside the " +
                     std::to_string(out.data.size()) + "-byte data section (truncated file?)");
    }
    info.begin = static_cast<uint64_t>(b);
    info.end = static_cast<uint64_t>(en);
    if (info.end - info.begin != 4 * count) Fail(path, where + " byte size does not match its shape");
    if (info.begin % 4 != 0) Fail(path, where + " is not 4-byte aligned");
    out.tensors[kv.first] = info;
  }
  return out;
}

}  // namespace ssm::io
