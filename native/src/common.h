// Shared plumbing of the CPU bindings: the baton/worker pattern, typed-array arguments without
// copies, and a small thread pool helper.
//
// Pattern (after lovell/sharp's stats.cc): every binding parses its JS arguments into a plain
// C++ baton on the JS thread, keeping persistent references to the input typed arrays; an
// AsyncWorker runs Baton::Execute() on a libuv worker thread (no JS values touched there), and
// OnOK() turns the baton into the JS result that resolves the returned Promise. Errors thrown
// in Execute() (std::exception) reject the Promise with one Error.
#pragma once

#include <napi.h>

#include "cpu.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <cstdlib>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifdef __linux__
#include <sched.h>
#endif

namespace modelopt {

// Input/output error raised while executing a kernel; becomes a rejected Promise.
struct KernelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Non-owning view of a typed array's elements (data stays alive through Baton::refs).
template <typename T>
struct View {
  T* data = nullptr;
  size_t size = 0;
  const T& operator[](size_t i) const { return data[i]; }
};

struct Baton {
  virtual ~Baton() = default;
  // Runs on a worker thread. Must not touch any JS value.
  virtual void Execute() = 0;
  // Runs on the JS thread after Execute() succeeded.
  virtual Napi::Value Result(Napi::Env env) = 0;
  // References that keep the argument typed arrays (and pre-allocated outputs) alive.
  std::vector<Napi::ObjectReference> refs;
};

class BatonWorker : public Napi::AsyncWorker {
 public:
  BatonWorker(Napi::Env env, std::unique_ptr<Baton> baton)
      : Napi::AsyncWorker(env, "modelopt_native"), deferred_(Napi::Promise::Deferred::New(env)),
        baton_(std::move(baton)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override {
    try {
      baton_->Execute();
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("unknown native error");
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    try {
      deferred_.Resolve(baton_->Result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred_.Reject(Napi::Error::New(env, e.what()).Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    Napi::HandleScope scope(Env());
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<Baton> baton_;
};

// Queues the baton and returns the Promise of its result.
inline Napi::Value Queue(Napi::Env env, std::unique_ptr<Baton> baton) {
  auto* w = new BatonWorker(env, std::move(baton));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---------------------------------------------------------------------------------------------
// argument parsing (JS thread)

inline const char* TypedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_int32_array: return "Int32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    default: return "typed array";
  }
}

template <typename T>
napi_typedarray_type TypedArrayTypeOf();
template <> inline napi_typedarray_type TypedArrayTypeOf<float>() { return napi_float32_array; }
template <> inline napi_typedarray_type TypedArrayTypeOf<double>() { return napi_float64_array; }
template <> inline napi_typedarray_type TypedArrayTypeOf<int8_t>() { return napi_int8_array; }
template <> inline napi_typedarray_type TypedArrayTypeOf<uint8_t>() { return napi_uint8_array; }
template <> inline napi_typedarray_type TypedArrayTypeOf<int32_t>() { return napi_int32_array; }

// Borrow a typed array argument without copying; the baton keeps it alive.
template <typename T>
View<T> Borrow(Baton& b, const Napi::Value& v, const char* name) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a " + TypedArrayName(TypedArrayTypeOf<T>()));
  auto ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != TypedArrayTypeOf<T>()) {
    throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a " + TypedArrayName(TypedArrayTypeOf<T>()) + ", got " +
                                            TypedArrayName(ta.TypedArrayType()));
  }
  auto typed = v.As<Napi::TypedArrayOf<T>>();
  b.refs.emplace_back(Napi::Persistent(v.As<Napi::Object>()));
  return View<T>{typed.Data(), typed.ElementLength()};
}

// Allocate an output typed array on the JS thread; Execute() writes into it in place.
template <typename T>
View<T> Allocate(Baton& b, Napi::Env env, size_t n, Napi::ObjectReference& out) {
  auto ta = Napi::TypedArrayOf<T>::New(env, n);
  out = Napi::Persistent(static_cast<Napi::Object>(ta));
  return View<T>{ta.Data(), n};
}

// Copy a typed array argument (used for small state such as histogram counts).
template <typename T>
std::vector<T> CopyArray(const Napi::Value& v, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != TypedArrayTypeOf<T>()) {
    throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a " + TypedArrayName(TypedArrayTypeOf<T>()));
  }
  auto ta = v.As<Napi::TypedArrayOf<T>>();
  return std::vector<T>(ta.Data(), ta.Data() + ta.ElementLength());
}

template <typename T>
Napi::Value ToTyped(Napi::Env env, const std::vector<T>& v) {
  auto ta = Napi::TypedArrayOf<T>::New(env, v.size());
  if (!v.empty()) std::memcpy(ta.Data(), v.data(), v.size() * sizeof(T));
  return ta;
}

inline double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double d = NumberArg(info, i, name);
  if (!(d == std::floor(d)) || std::fabs(d) > 9007199254740992.0) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer");
  }
  return static_cast<int64_t>(d);
}

inline bool BoolArg(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

inline std::vector<int64_t> IntArrayArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an array of integers");
  auto a = info[i].As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an array of integers");
    out[k] = static_cast<int64_t>(v.As<Napi::Number>().DoubleValue());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// threading

// Worker threads per kernel: MODELOPT_NATIVE_THREADS when set, else the CPUs this process may run
// on (sched_getaffinity, so cpusets / taskset are honoured), at most 64.
inline int DefaultThreads() {
  static const int n = [] {
    if (const char* env = std::getenv("MODELOPT_NATIVE_THREADS")) {
      const int v = std::atoi(env);
      if (v > 0) return std::min(v, 64);
    }
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
      const int c = CPU_COUNT(&set);
      if (c > 0) return std::min(c, 64);
    }
#endif
    const unsigned h = std::thread::hardware_concurrency();
    return h == 0 ? 1 : static_cast<int>(std::min(h, 64u));
  }();
  return n;
}

// Process-wide worker threads (DefaultThreads() - 1 of them) that ParallelFor hands its ranges to.
// Starting std::threads per call cost ~0.2 ms each on the 2-vCPU machine measured, as much as a 1M-value
// histogram pass itself. Never destroyed: the workers are detached and sleep on the queue.
class WorkerPool {
 public:
  static WorkerPool& Instance() {
    static WorkerPool* pool = new WorkerPool(std::max(0, DefaultThreads() - 1));
    return *pool;
  }

  void Submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

  // Runs one queued task on the calling thread; false when the queue is empty.
  bool RunOne() {
    std::function<void()> task;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queue_.empty()) return false;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
    return true;
  }

 private:
  explicit WorkerPool(int workers) {
    for (int i = 0; i < workers; i++) std::thread([this] { Loop(); }).detach();
  }

  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
};

// Runs fn(begin, end, worker) over [0, n) split into at most `threads` contiguous ranges, each
// at least `minChunk` long. The calling thread takes the first range, the pool's workers the rest;
// while waiting, the caller runs queued ranges itself (so nested or concurrent calls cannot starve).
template <typename Fn>
void ParallelFor(size_t n, size_t minChunk, int threads, Fn&& fn) {
  if (threads <= 0) threads = DefaultThreads();
  size_t maxParts = minChunk == 0 ? n : std::max<size_t>(1, n / minChunk);
  size_t parts = std::min<size_t>(static_cast<size_t>(threads), std::max<size_t>(1, maxParts));
  if (parts <= 1 || n == 0) {
    fn(static_cast<size_t>(0), n, 0);
    return;
  }
  struct Join {
    std::mutex mutex;
    std::condition_variable done;
    size_t left = 0;
  };
  std::vector<std::exception_ptr> errors(parts);
  const size_t chunk = (n + parts - 1) / parts;
  const size_t ranges = (n + chunk - 1) / chunk;  // <= parts; every range non-empty
  auto join = std::make_shared<Join>();
  join->left = ranges - 1;
  WorkerPool& pool = WorkerPool::Instance();
  for (size_t p = 1; p < ranges; p++) {
    const size_t b = p * chunk, e = std::min(n, b + chunk);
    pool.Submit([&fn, &errors, join, b, e, p]() {
      try {
        fn(b, e, static_cast<int>(p));
      } catch (...) {
        errors[p] = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(join->mutex);
      if (--join->left == 0) join->done.notify_all();
    });
  }
  try {
    fn(static_cast<size_t>(0), std::min(n, chunk), 0);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(join->mutex);
      if (join->left == 0) break;
    }
    if (pool.RunOne()) continue;
    // the queue is empty: every range of ours is running on a worker
    std::unique_lock<std::mutex> lock(join->mutex);
    join->done.wait(lock, [&] { return join->left == 0; });
    break;
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace modelopt
