#include "core/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace ssm {

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}

  Json ParseDocument() {
    Json v = ParseValue(0);
    SkipWs();
    if (i_ != s_.size()) Fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::invalid_argument("JSON: " + what + " at offset " + std::to_string(i_));
  }
  void SkipWs() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool Consume(char c) {
    SkipWs();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void Expect(char c) {
    if (!Consume(c)) Fail(std::string("expected '") + c + "'");
  }

  Json ParseValue(int depth) {
    if (depth > 64) Fail("nesting deeper than 64");
    SkipWs();
    if (i_ >= s_.size()) Fail("unexpected end");
    const char c = s_[i_];
    if (c == '{') {
      ++i_;
      Json o = Json::Object();
      if (Consume('}')) return o;
      do {
        SkipWs();
        std::string key = ParseString();
        Expect(':');
        o.obj_.emplace_back(std::move(key), ParseValue(depth + 1));
      } while (Consume(','));
      Expect('}');
      return o;
    }
    if (c == '[') {
      ++i_;
      Json a = Json::Array();
      if (Consume(']')) return a;
      do {
        a.arr_.push_back(ParseValue(depth + 1));
      } while (Consume(','));
      Expect(']');
      return a;
    }
    if (c == '"') return Json::Str(ParseString());
    if (s_.compare(i_, 4, "true") == 0) {
      i_ += 4;
      return Json::Bool(true);
    }
    if (s_.compare(i_, 5, "false") == 0) {
      i_ += 5;
      return Json::Bool(false);
    }
    if (s_.compare(i_, 4, "null") == 0) {
      i_ += 4;
      return Json();
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      const char* begin = s_.c_str() + i_;
      char* end = nullptr;
      const double v = std::strtod(begin, &end);
      if (end == begin) Fail("bad number");
      i_ += static_cast<std::size_t>(end - begin);
      return Json::Number(v);
    }
    Fail(std::string("unexpected character '") + c + "'");
  }

  std::string ParseString() {
    if (i_ >= s_.size() || s_[i_] != '"') Fail("expected a string");
    ++i_;
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) Fail("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (i_ + 4 > s_.size()) Fail("short \\u escape");
          const unsigned cp = static_cast<unsigned>(std::strtoul(s_.substr(i_, 4).c_str(), nullptr, 16));
          i_ += 4;
          // BMP only (surrogate pairs are passed through as two code points); enough for names and specs.
          if (cp < 0x80) {
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          }
          break;
        }
        default:
          Fail("bad escape");
      }
    }
    if (i_ >= s_.size()) Fail("unterminated string");
    ++i_;
    return out;
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

Json Json::Parse(const std::string& text) { return JsonParser(text).ParseDocument(); }

static void DumpString(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

static void DumpValue(const Json& j, std::string& out) {
  switch (j.type()) {
    case Json::Type::Null:
      out += "null";
      break;
    case Json::Type::Bool:
      out += j.boolean() ? "true" : "false";
      break;
    case Json::Type::Number: {
      const double v = j.num();
      char buf[32];
      if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
      } else {
        std::snprintf(buf, sizeof buf, "%.17g", v);
      }
      out += buf;
      break;
    }
    case Json::Type::String:
      DumpString(j.str(), out);
      break;
    case Json::Type::Array: {
      out += '[';
      bool first = true;
      for (const Json& v : j.arr()) {
        if (!first) out += ',';
        first = false;
        DumpValue(v, out);
      }
      out += ']';
      break;
    }
    case Json::Type::Object: {
      out += '{';
      bool first = true;
      for (const auto& kv : j.obj()) {
        if (!first) out += ',';
        first = false;
        DumpString(kv.first, out);
        out += ':';
        DumpValue(kv.second, out);
      }
      out += '}';
      break;
    }
  }
}

std::string Json::Dump() const {
  std::string out;
  DumpValue(*this, out);
  return out;
}

double Json::num() const {
  if (type_ != Type::Number) throw std::invalid_argument("JSON: expected a number");
  return num_;
}
const std::string& Json::str() const {
  if (type_ != Type::String) throw std::invalid_argument("JSON: expected a string");
  return str_;
}
bool Json::boolean() const {
  if (type_ != Type::Bool) throw std::invalid_argument("JSON: expected a boolean");
  return bool_;
}
const std::vector<Json>& Json::arr() const {
  if (type_ != Type::Array) throw std::invalid_argument("JSON: expected an array");
  return arr_;
}
const std::vector<std::pair<std::string, Json>>& Json::obj() const {
  if (type_ != Type::Object) throw std::invalid_argument("JSON: expected an object");
  return obj_;
}
bool Json::has(const std::string& key) const {
  if (type_ != Type::Object) return false;
  for (const auto& kv : obj_)
    if (kv.first == key) return true;
  return false;
}
const Json& Json::at(const std::string& key) const {
  for (const auto& kv : obj())
    if (kv.first == key) return kv.second;
  throw std::invalid_argument("JSON: missing key '" + key + "'");
}
double Json::num_or(const std::string& key, double def) const { return has(key) ? at(key).num() : def; }
std::string Json::str_or(const std::string& key, const std::string& def) const {
  return has(key) ? at(key).str() : def;
}
bool Json::bool_or(const std::string& key, bool def) const { return has(key) ? at(key).boolean() : def; }
void Json::set(const std::string& key, Json v) {
  for (auto& kv : obj_) {
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  }
  obj_.emplace_back(key, std::move(v));
}

}  // namespace ssm
