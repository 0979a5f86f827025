// A small JSON reader/writer for the model spec and the safetensors header. Objects keep key order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ssm {

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Json() = default;
  static Json Parse(const std::string& text);  // throws std::invalid_argument("JSON: ... at offset N")
  std::string Dump() const;

  static Json Number(double v) {
    Json j;
    j.type_ = Type::Number;
    j.num_ = v;
    return j;
  }
  static Json Str(std::string v) {
    Json j;
    j.type_ = Type::String;
    j.str_ = std::move(v);
    return j;
  }
  static Json Bool(bool v) {
    Json j;
    j.type_ = Type::Bool;
    j.bool_ = v;
    return j;
  }
  static Json Array() {
    Json j;
    j.type_ = Type::Array;
    return j;
  }
  static Json Object() {
    Json j;
    j.type_ = Type::Object;
    return j;
  }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }
  bool is_bool() const { return type_ == Type::Bool; }

  double num() const;              // throws if not a number
  const std::string& str() const;  // throws if not a string
  bool boolean() const;            // throws if not a bool
  const std::vector<Json>& arr() const;
  const std::vector<std::pair<std::string, Json>>& obj() const;

  bool has(const std::string& key) const;
  const Json& at(const std::string& key) const;  // throws "missing key 'k'"
  // Typed getters with defaults (used by the graph builder for optional layer options).
  double num_or(const std::string& key, double def) const;
  std::string str_or(const std::string& key, const std::string& def) const;
  bool bool_or(const std::string& key, bool def) const;

  void push(Json v) { arr_.push_back(std::move(v)); }
  void set(const std::string& key, Json v);

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  double num_ = 0;
  std::string str_;
  std::vector<Json> arr_;
  std::vector<std::pair<std::string, Json>> obj_;
  friend class JsonParser;
};

}  // namespace ssm
